"""Reading Exotel's SMS answers, JSON (``{"SMSMessage": {...}}``) or XML (``<TwilioResponse><SMSMessage>``).

As defensive as the call parsing it shares its document reader with: any body either parses or raises
:class:`~exotel_provider.errors.ExotelResponseError`.
"""

from __future__ import annotations

from typing import Any

from exotel_provider.calls.parsing import _as_float, _as_str, _guarded, _unwrap
from exotel_provider.errors import ExotelResponseError
from exotel_provider.sms.model import SmsMessage, parse_sms_status


def parse_sms(body: bytes | str) -> SmsMessage:
    """The SMSMessage in an answer to ``Sms/send`` or ``SMS/Messages/<SmsSid>``."""
    return _guarded(body, _sms_from_document)


def sms_from_fields(fields: Any) -> SmsMessage:
    """Build a message from a mapping with Exotel's field names."""
    if not isinstance(fields, dict):
        raise ExotelResponseError(f"expected an SMSMessage object, got {type(fields).__name__}")
    sid = _as_str(fields.get("Sid"))
    if not sid:
        raise ExotelResponseError("the SMSMessage in Exotel's answer has no Sid")
    raw_status = _as_str(fields.get("Status"))
    return SmsMessage(
        sid=sid,
        status=parse_sms_status(raw_status),
        raw_status=raw_status,
        detailed_status=_as_str(fields.get("DetailedStatus")),
        detailed_status_code=_as_str(fields.get("DetailedStatusCode")),
        date_sent=_as_str(fields.get("DateSent")),
        price=_as_float(fields.get("Price"), "Price"),
        from_=_as_str(fields.get("From")),
        to=_as_str(fields.get("To")),
        body=_as_str(fields.get("Body")),
    )


def _sms_from_document(document: Any) -> SmsMessage:
    document = _unwrap(document)
    if not isinstance(document, dict) or "SMSMessage" not in document:
        raise ExotelResponseError("Exotel's answer holds no SMSMessage")
    message = document["SMSMessage"]
    if isinstance(message, list):
        if len(message) != 1:
            raise ExotelResponseError(f"Exotel's answer holds {len(message)} SMSMessages where one was sent")
        message = message[0]
    return sms_from_fields(message)
