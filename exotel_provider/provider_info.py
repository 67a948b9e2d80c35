"""What Airflow's providers manager reads about this package (entry point ``apache_airflow_provider``)."""

from __future__ import annotations

from typing import Any

from exotel_provider import __version__
from exotel_provider.connection_form import CONN_FIELDS, UI_FIELD_BEHAVIOUR


def get_provider_info() -> dict[str, Any]:
    """What Airflow learns about this provider: its connection type, hook, operators, sensor, triggers,
    notifier."""
    return {
        "package-name": "airflow-provider-exotel",
        "name": "Exotel",
        "description": "Place phone calls and send SMS through Exotel (Indian cloud telephony) and wait for their outcome and price.",
        "versions": [__version__],
        "connection-types": [
            {
                "connection-type": "exotel",
                "hook-class-name": "exotel_provider.hooks.exotel.ExotelHook",
                "hook-name": "Exotel",
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONN_FIELDS,
            }
        ],
        "hooks": [
            {"integration-name": "Exotel", "python-modules": ["exotel_provider.hooks.exotel"]},
        ],
        "operators": [
            {
                "integration-name": "Exotel",
                "python-modules": ["exotel_provider.operators.exotel", "exotel_provider.operators.sms"],
            },
        ],
        "sensors": [
            {"integration-name": "Exotel", "python-modules": ["exotel_provider.sensors.exotel"]},
        ],
        "triggers": [
            {
                "integration-name": "Exotel",
                "python-modules": [
                    "exotel_provider.triggers.exotel",
                    "exotel_provider.triggers.sms",
                    "exotel_provider.triggers.calling_window",
                    "exotel_provider.triggers.campaign",
                ],
            },
        ],
        "integrations": [
            {
                "integration-name": "Exotel",
                "external-doc-url": "https://developer.exotel.com/api/",
                "tags": ["service"],
            }
        ],
        "notifications": [
            "exotel_provider.notifications.exotel.ExotelCallNotifier",
            "exotel_provider.notifications.sms.ExotelSmsNotifier",
        ],
    }
