"""The Exotel domain: calls, statuses, answer parsing and request validation. No Airflow, no I/O."""

from exotel_provider.calls.model import CALL_FIELDS, Call
from exotel_provider.calls.numbers import mask_number, normalise_number
from exotel_provider.calls.parsing import CallPage, ErrorBody, parse_call, parse_call_page, parse_error_body
from exotel_provider.calls.progress import (
    DEFAULT_PRICING_GRACE_SECONDS,
    Assessment,
    CallStage,
    assess_call,
    is_successful,
)
from exotel_provider.calls.requests import ConnectRequest, build_connect_request, flow_url
from exotel_provider.calls.status import (
    DEFAULT_SUCCESS_STATUSES,
    TERMINAL_STATUSES,
    UNANSWERED_STATUSES,
    CallStatus,
    coerce_statuses,
    parse_status,
)

__all__ = [
    "CALL_FIELDS",
    "DEFAULT_PRICING_GRACE_SECONDS",
    "DEFAULT_SUCCESS_STATUSES",
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
    "normalise_number",
    "parse_call",
    "parse_call_page",
    "parse_error_body",
    "parse_status",
]
