"""What each SMS request is, and when sending one may be retried: shared by the sync and async clients.

A bulk send (``Sms/bulksend``, up to 100 messages) is one request: it counts once against the
budget, is retried under the same rule, and a lost answer makes every message of it unknown.

Sending shares the transport, the account's request budget, redaction and the error mapper with
calls (:mod:`exotel_provider.client.api_requests`). Like placing a call, sending an SMS is retried
only when nothing can have been sent: a 429, a connection never established, or Exotel's documented
503 for platform limits (its own ``RestException`` body). Anything else after the request went out
(no answer, another 5xx, an unreadable 200) is :class:`ExotelSmsOutcomeUnknownError`.
"""

from __future__ import annotations

from urllib.parse import quote

from exotel_provider.client.api_requests import ApiRequest, read_answer
from exotel_provider.client.settings import ExotelSettings
from exotel_provider.errors import (
    ExotelError,
    ExotelRateLimitError,
    ExotelResponseError,
    ExotelServerError,
    ExotelSmsOutcomeUnknownError,
    ExotelTransportError,
    ExotelUnreachableError,
)
from exotel_provider.sms.bulk import BulkSmsResult, SmsBatch, parse_bulk_answer
from exotel_provider.sms.model import SmsMessage
from exotel_provider.sms.parsing import parse_sms
from exotel_provider.sms.send_request import SmsRequest

PLATFORM_LIMITS_STATUS = 503
"""Exotel's documented answer to an SMS request when its platform limits are hit (SMS only)."""
_NOT_RESENT = "It is not sent again automatically, so that nobody gets the same message twice."


def send_request(settings: ExotelSettings, request: SmsRequest, *, json: bool = True) -> ApiRequest:
    """The ``Sms/send`` POST for a validated request (JSON answer unless ``json`` is False)."""
    return ApiRequest(
        "POST", settings.account_url("Sms/send", json=json), "sending an SMS", data=request.form()
    )


def bulk_send_request(settings: ExotelSettings, batch: SmsBatch, *, json: bool = True) -> ApiRequest:
    """The ``Sms/bulksend`` POST for a validated batch (JSON answer unless ``json`` is False)."""
    return ApiRequest(
        "POST", settings.account_url("Sms/bulksend", json=json), "sending SMS in bulk", data=batch.form()
    )


def message_request(settings: ExotelSettings, sms_sid: str, *, json: bool = True) -> ApiRequest:
    """The GET of one SMS by its Sid (``SMS/Messages/<SmsSid>``), the Sid URL-quoted."""
    path = f"SMS/Messages/{quote(sms_sid, safe='')}"
    return ApiRequest("GET", settings.account_url(path, json=json), f"reading SMS {sms_sid}")


def is_platform_limits_refusal(error: BaseException) -> bool:
    """A 503 carrying Exotel's own RestException: platform limits hit, the SMS refused (not sent).
    A 503 without it (a gateway's page) may come after Exotel accepted the request."""
    return (
        isinstance(error, ExotelServerError)
        and error.status_code == PLATFORM_LIMITS_STATUS
        and error.exotel_message is not None
    )


def is_retryable_send_error(error: BaseException) -> bool:
    """An SMS-sending POST that failed this way certainly sent nothing."""
    if isinstance(error, ExotelRateLimitError) or is_platform_limits_refusal(error):
        return True
    return isinstance(error, ExotelUnreachableError) and error.cause != "tls"


def sending_error(
    settings: ExotelSettings, request: SmsRequest | SmsBatch, error: ExotelError
) -> ExotelError:
    """``error`` as a failed send reports it: :class:`ExotelSmsOutcomeUnknownError` when the SMS may
    nevertheless have been sent (no answer, a 5xx other than the platform-limits refusal)."""
    if isinstance(error, ExotelUnreachableError) or is_platform_limits_refusal(error):
        return error
    if isinstance(error, (ExotelTransportError, ExotelServerError)):
        return ExotelSmsOutcomeUnknownError(
            f"{error} The {request.describe(mask=settings.mask_phone_numbers)} may nevertheless have "
            f"been sent. {_NOT_RESENT}"
        )
    return error


def parse_sent_sms(
    settings: ExotelSettings, request: SmsRequest, *, status_code: int, body: bytes
) -> SmsMessage:
    """The SMSMessage in an accepted answer; an unreadable one means the Sid is unknown."""
    try:
        return read_answer(settings, parse_sms, body)
    except ExotelResponseError as err:
        raise ExotelSmsOutcomeUnknownError(
            f"{settings.host} accepted the {request.describe(mask=settings.mask_phone_numbers)} "
            f"(HTTP {status_code}) but its answer could not be read ({err}): it was probably sent and "
            f"its Sid is unknown. {_NOT_RESENT}"
        ) from None


def parse_bulk_sent(
    settings: ExotelSettings, batch: SmsBatch, *, status_code: int, body: bytes
) -> list[BulkSmsResult]:
    """One result per message of an accepted bulk send; an unreadable answer means every Sid is unknown."""
    try:
        return read_answer(settings, lambda answer: parse_bulk_answer(answer, batch), body)
    except ExotelResponseError as err:
        raise ExotelSmsOutcomeUnknownError(
            f"{settings.host} accepted the {batch.describe(mask=settings.mask_phone_numbers)} "
            f"(HTTP {status_code}) but its answer could not be read ({err}): they were probably sent and "
            f"their Sids are unknown. {_NOT_RESENT}"
        ) from None
