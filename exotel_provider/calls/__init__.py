"""The Exotel domain: calls, statuses, answer parsing and request validation. No Airflow, no I/O.

Names are imported on first use: DAG files that only need statuses do not load phone-number or
XML libraries.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exotel_provider.calls.connect_request import ConnectRequest, build_connect_request, flow_url
    from exotel_provider.calls.model import CALL_FIELDS, Call
    from exotel_provider.calls.numbers import mask_number, national_form, normalise_number, same_number
    from exotel_provider.calls.parsing import (
        CallPage,
        ErrorBody,
        parse_call,
        parse_call_page,
        parse_error_body,
    )
    from exotel_provider.calls.progress import (
        DEFAULT_PRICING_GRACE_SECONDS,
        Assessment,
        CallStage,
        assess_call,
        is_successful,
    )
    from exotel_provider.calls.reference import REFERENCE_KEY, with_reference
    from exotel_provider.calls.status import (
        DEFAULT_SUCCESS_STATUSES,
        TERMINAL_STATUSES,
        UNANSWERED_STATUSES,
        CallStatus,
        coerce_statuses,
        parse_status,
    )

_MODULE_OF = {
    "CALL_FIELDS": "model",
    "Call": "model",
    "mask_number": "numbers",
    "normalise_number": "numbers",
    "national_form": "numbers",
    "same_number": "numbers",
    "REFERENCE_KEY": "reference",
    "with_reference": "reference",
    "CallPage": "parsing",
    "ErrorBody": "parsing",
    "parse_call": "parsing",
    "parse_call_page": "parsing",
    "parse_error_body": "parsing",
    "DEFAULT_PRICING_GRACE_SECONDS": "progress",
    "Assessment": "progress",
    "CallStage": "progress",
    "assess_call": "progress",
    "is_successful": "progress",
    "ConnectRequest": "connect_request",
    "build_connect_request": "connect_request",
    "flow_url": "connect_request",
    "DEFAULT_SUCCESS_STATUSES": "status",
    "TERMINAL_STATUSES": "status",
    "UNANSWERED_STATUSES": "status",
    "CallStatus": "status",
    "coerce_statuses": "status",
    "parse_status": "status",
}

__all__ = [
    "CALL_FIELDS",
    "DEFAULT_PRICING_GRACE_SECONDS",
    "DEFAULT_SUCCESS_STATUSES",
    "REFERENCE_KEY",
    "TERMINAL_STATUSES",
    "UNANSWERED_STATUSES",
    "Assessment",
    "Call",
    "CallPage",
    "CallStage",
    "CallStatus",
    "ConnectRequest",
    "ErrorBody",
    "assess_call",
    "build_connect_request",
    "coerce_statuses",
    "flow_url",
    "is_successful",
    "mask_number",
    "national_form",
    "normalise_number",
    "parse_call",
    "parse_call_page",
    "parse_error_body",
    "parse_status",
    "same_number",
    "with_reference",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
