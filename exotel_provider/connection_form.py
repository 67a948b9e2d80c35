"""The Exotel connection form, declared once and served to every Airflow 3 version.

Airflow 3.2+ reads ``conn-fields`` / ``ui-field-behaviour`` from the provider info; older 3.x asks
the hook's ``get_connection_form_widgets`` / ``get_ui_field_behaviour``, which build from these.
"""

from __future__ import annotations

from typing import Any

from exotel_provider.client.settings import (
    DEFAULT_REQUESTS_PER_MINUTE,
    DEFAULT_TIME_ZONE,
    DEFAULT_TIMEOUT_SECONDS,
    REGION_HOSTS,
)

CONN_FIELDS: dict[str, dict[str, Any]] = {
    "account_sid": {
        "label": "Account SID",
        "schema": {"type": ["string", "null"]},
        "description": "Your Exotel account SID (Dashboard, API settings). Required.",
    },
    "region": {
        "label": "Region",
        "schema": {"type": ["string", "null"], "enum": sorted(REGION_HOSTS), "default": "singapore"},
        "description": "singapore = api.exotel.com (default); mumbai = api.in.exotel.com (Indian accounts).",
    },
    "caller_id": {
        "label": "Default caller ID (ExoPhone)",
        "schema": {"type": ["string", "null"]},
        "description": "Used when an operator does not pass caller_id.",
    },
    "timeout": {
        "label": "Request timeout (seconds)",
        "schema": {"type": ["number", "null"], "default": DEFAULT_TIMEOUT_SECONDS},
        "description": "Timeout of each HTTP request to Exotel.",
    },
    "requests_per_minute": {
        "label": "Request budget per minute",
        "schema": {"type": ["integer", "null"], "default": DEFAULT_REQUESTS_PER_MINUTE},
        "description": "Most requests per minute the deferred watcher sends for this account (Exotel allows 200).",
    },
    "timezone": {
        "label": "Exotel time zone",
        "schema": {"type": ["string", "null"], "default": DEFAULT_TIME_ZONE},
        "description": (
            "IANA zone Exotel gives DateCreated and other times in (default Asia/Kolkata, India time). "
            "Finding a call whose placing answer was lost compares them with our clock."
        ),
    },
    "mask_phone_numbers": {
        "label": "Mask phone numbers in logs",
        "schema": {"type": ["boolean", "null"], "default": True},
        "description": "Show only the country code and last four digits of numbers in logs (default on).",
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {"login": "API key", "password": "API token", "host": "Base URL override (optional)"},
    "placeholders": {
        "login": "API key from Exotel's dashboard",
        "password": "API token from Exotel's dashboard",
        "host": "leave empty to use the region; e.g. http://127.0.0.1:8765 for the local simulator",
        "account_sid": "your-account-sid",
        "region": "singapore",
        "caller_id": "08047112345",
        "timezone": DEFAULT_TIME_ZONE,
    },
}


def legacy_ui_field_behaviour() -> dict[str, Any]:
    """``get_ui_field_behaviour`` for Airflow < 3.2: the same keys, Python-style names."""
    return {
        "hidden_fields": list(UI_FIELD_BEHAVIOUR["hidden-fields"]),
        "relabeling": dict(UI_FIELD_BEHAVIOUR["relabeling"]),
        "placeholders": dict(UI_FIELD_BEHAVIOUR["placeholders"]),
    }


def legacy_connection_form_widgets() -> dict[str, Any]:
    """``get_connection_form_widgets`` for Airflow < 3.2 (wtforms), with the same field names."""
    from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import BooleanField, IntegerField, StringField
    from wtforms.validators import Optional

    widgets: dict[str, Any] = {}
    for name, spec in CONN_FIELDS.items():
        types = spec["schema"]["type"]
        label, default = lazy_gettext(spec["label"]), spec["schema"].get("default")
        if "boolean" in types:  # a checkbox: wtforms' own widget, not a text box
            widgets[name] = BooleanField(label, description=spec["description"], default=default)
            continue
        field_class = IntegerField if "integer" in types else StringField
        widgets[name] = field_class(
            label,
            widget=BS3TextFieldWidget(),
            description=spec["description"],
            validators=[Optional()],
            default=default,
        )
    return widgets
