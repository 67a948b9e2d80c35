"""When a request is retried, and how long to wait: built on tenacity.

Reads (GET) are safe to repeat: they retry on transport errors, 429, 5xx and unreadable answers
with exponential backoff and jitter, honouring ``Retry-After`` (up to
:data:`MAX_RETRY_AFTER_SECONDS`) when Exotel sends it. Placing a call is retried only when no call
can exist: a 429, or a connection that was never established. Every 5xx (503 included: a proxy may
answer it after Exotel received the request) and any other failure after the request was sent
leaves its outcome unknown (see :func:`placement_outcome_unknown`). A failed TLS handshake is a
configuration problem and is never retried.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import tenacity

from exotel_provider.errors import (
    ExotelAPIError,
    ExotelRateLimitError,
    ExotelResponseError,
    ExotelServerError,
    ExotelTransportError,
    ExotelUnreachableError,
)

PLACEMENT_NOT_PROCESSED_STATUSES = frozenset({429})
"""Error statuses that mean the call-placing request was refused before it took effect."""
MAX_RETRY_AFTER_SECONDS = 300.0
"""The longest ``Retry-After`` honoured (seconds, or an HTTP date): a longer one is cut to this."""


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff settings shared by the sync and async clients."""

    max_attempts: int = 5
    initial_wait: float = 1.0
    max_wait: float = 60.0
    """The longest wait of our own exponential backoff."""
    jitter: float = 1.0
    max_retry_after: float = MAX_RETRY_AFTER_SECONDS
    """The longest wait Exotel's ``Retry-After`` can ask for (longer ones are cut to this)."""


def is_retryable_read_error(error: BaseException) -> bool:
    """A GET that failed this way may simply be sent again (not a failed TLS handshake: that is set-up)."""
    if isinstance(error, ExotelUnreachableError) and error.cause == "tls":
        return False
    return isinstance(
        error, (ExotelTransportError, ExotelRateLimitError, ExotelServerError, ExotelResponseError)
    )


def is_retryable_placement_error(error: BaseException) -> bool:
    """A call-placing POST that failed this way certainly placed no call: a 429, or never connected."""
    if isinstance(error, ExotelAPIError):
        return error.status_code in PLACEMENT_NOT_PROCESSED_STATUSES
    return isinstance(error, ExotelUnreachableError) and error.cause != "tls"


def placement_outcome_unknown(error: ExotelAPIError) -> bool:
    """An error answer to a call-placing POST after which the call may nevertheless exist.

    Every 5xx (503 included) can come from Exotel or a gateway in front of it after Exotel created
    the call; a 4xx answer means the request was refused.
    """
    return error.status_code >= 500


class _WaitHonouringRetryAfter(tenacity.wait.wait_base):
    """Exponential backoff with jitter, unless the failure carried a Retry-After."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._backoff = tenacity.wait_random_exponential(multiplier=policy.initial_wait, max=policy.max_wait)
        self._max_retry_after = policy.max_retry_after

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, ExotelRateLimitError) and error.retry_after is not None:
            # Exotel's own instruction beats our backoff ceiling, up to max_retry_after.
            return min(max(error.retry_after, 0.0), self._max_retry_after)
        return float(self._backoff(retry_state))


def retrying_kwargs(
    policy: RetryPolicy,
    should_retry: Callable[[BaseException], bool],
    before_sleep: Callable[..., Any] | None,
) -> dict[str, Any]:
    """Arguments for ``tenacity.Retrying`` / ``AsyncRetrying`` under this policy."""
    kwargs: dict[str, Any] = {
        "retry": tenacity.retry_if_exception(should_retry),
        "wait": _WaitHonouringRetryAfter(policy),
        "stop": tenacity.stop_after_attempt(policy.max_attempts),
        "reraise": True,
    }
    if before_sleep is not None:
        kwargs["before_sleep"] = before_sleep
    return kwargs


def retry_logger(log: logging.Logger) -> Callable[[tenacity.RetryCallState], None]:
    """A tenacity ``before_sleep`` hook that logs the error and the wait at WARNING."""

    def log_retry(retry_state: tenacity.RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        wait = retry_state.next_action.sleep if retry_state.next_action else 0.0
        log.warning("Exotel: %s; retrying in %.1f s (attempt %d)", error, wait, retry_state.attempt_number)

    return log_retry
