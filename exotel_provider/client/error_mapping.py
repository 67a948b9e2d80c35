"""The one error mapper: an HTTP error answer from Exotel becomes a typed, actionable exception."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from exotel_provider.calls.parsing import body_excerpt, parse_error_body
from exotel_provider.client.redaction import scrub_text
from exotel_provider.client.retry_policy import MAX_RETRY_AFTER_SECONDS
from exotel_provider.errors import (
    ExotelAPIError,
    ExotelAuthenticationError,
    ExotelBadRequestError,
    ExotelConflictError,
    ExotelForbiddenError,
    ExotelNotFoundError,
    ExotelPaymentRequiredError,
    ExotelRateLimitError,
    ExotelServerError,
)

_BY_STATUS: dict[int, type[ExotelAPIError]] = {
    400: ExotelBadRequestError,
    401: ExotelAuthenticationError,
    402: ExotelPaymentRequiredError,
    403: ExotelForbiddenError,
    404: ExotelNotFoundError,
    409: ExotelConflictError,
    429: ExotelRateLimitError,
}


_SMS_ADVICE: dict[type[ExotelAPIError], str] = {
    ExotelBadRequestError: (
        "Exotel refused the SMS: check From (an ExoPhone or approved sender ID) and, for an Indian "
        "number, DltEntityId, DltTemplateId and that Body matches the registered DLT template exactly."
    ),
    ExotelForbiddenError: (
        "The API key has no access to SMS on this account, or the message is blocked by TRAI's DLT or "
        "NDNC/DND rules: check the sender ID, the DLT template and the SmsType."
    ),
}
"""Advice that replaces a class's own (which speaks of calls) when the request sent or read an SMS."""


def error_for_answer(
    *,
    status_code: int,
    body: bytes | str,
    headers: Mapping[str, str],
    host: str,
    action: str,
    secrets: tuple[str, ...] = (),
    mask_numbers: bool = False,
) -> ExotelAPIError:
    """The exception for an HTTP error answer to ``action`` (e.g. "placing a call").

    The message names the status, Exotel's own message (or a body excerpt) and what to do.
    Any of ``secrets`` found in Exotel's text is blanked out (before any excerpt can cut one in
    two); with ``mask_numbers``, phone numbers in it are masked.
    """
    error_class = _BY_STATUS.get(status_code)
    if error_class is None:
        error_class = ExotelServerError if status_code >= 500 else ExotelAPIError
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = scrub_text(text, secrets, mask_numbers=False)
    parsed = parse_error_body(text)
    exotel_message = parsed.message if parsed and parsed.message else None
    if exotel_message is not None:
        exotel_message = scrub_text(exotel_message, secrets, mask_numbers=mask_numbers)
    said = exotel_message or (scrub_text(body_excerpt(text), (), mask_numbers=mask_numbers) if text else "")
    message = f"HTTP {status_code} from {host} while {action}"
    if said:
        message += f": {said}"
    advice = _SMS_ADVICE.get(error_class) if "SMS" in action else None
    message += f". {advice or error_class.advice}"
    if error_class is ExotelRateLimitError:
        retry_after = retry_after_seconds(headers)
        return ExotelRateLimitError(
            message, status_code=status_code, exotel_message=exotel_message, retry_after=retry_after
        )
    return error_class(message, status_code=status_code, exotel_message=exotel_message)


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date), capped; None if absent."""
    value = _header(headers, "Retry-After")
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value
