"""SMS: the message, its statuses, answer parsing and request validation (DLT included). No Airflow, no I/O.

Names are imported on first use, as in :mod:`exotel_provider.calls`.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from exotel_provider.sms.bulk import BulkSmsResult, SmsBatch, build_sms_batch
    from exotel_provider.sms.model import FINAL_SMS_STATUSES, SmsMessage, SmsStatus
    from exotel_provider.sms.parsing import parse_sms
    from exotel_provider.sms.send_request import SmsRequest, build_sms_request

_MODULE_OF = {
    "BulkSmsResult": "bulk",
    "SmsBatch": "bulk",
    "build_sms_batch": "bulk",
    "FINAL_SMS_STATUSES": "model",
    "SmsMessage": "model",
    "SmsStatus": "model",
    "parse_sms": "parsing",
    "SmsRequest": "send_request",
    "build_sms_request": "send_request",
}

__all__ = [
    "FINAL_SMS_STATUSES",
    "BulkSmsResult",
    "SmsBatch",
    "SmsMessage",
    "SmsRequest",
    "SmsStatus",
    "build_sms_batch",
    "build_sms_request",
    "parse_sms",
]


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{module}"), name)
