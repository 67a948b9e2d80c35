"""Which failed reads the watcher asks again about later, and which end a watch: one rule for the
call listing, single-call lookups and SMS reads."""

from __future__ import annotations

from exotel_provider.client.retry_policy import is_retryable_read_error
from exotel_provider.errors import ExotelAPIError, ExotelError, ExotelRateLimitError, ExotelResponseError

MAX_UNREADABLE_LOOKUPS = 3
"""How many times in a row a call's details (or an SMS) may be unreadable before its watch ends in an error."""


def is_transient(error: ExotelError) -> bool:
    """Worth asking again later: no answer, 429, 5xx, or an unreadable answer."""
    return is_retryable_read_error(error) or isinstance(error, ExotelResponseError)


def is_refusal(error: ExotelError) -> bool:
    """A 4xx other than 429: about the request (maybe one bad Sid), so each call is asked on its own."""
    return (
        isinstance(error, ExotelAPIError)
        and not isinstance(error, ExotelRateLimitError)
        and (400 <= error.status_code < 500)
    )
