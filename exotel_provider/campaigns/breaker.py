"""A circuit breaker for placing: a sustained 5xx or an unreachable Exotel stops new calls.

Each placing request that fails in a way that says "Exotel is not well" (a 5xx, a connection that
failed or timed out, an answer lost after the request was sent) counts; any sane answer (a placed
call, a refusal of that one call such as a 403 DND) resets the count. After ``threshold`` such
failures in a row the breaker opens: no new placing request is sent, and the campaign stops with
:class:`~exotel_provider.errors.ExotelPlacingHaltedError`. Whatever was placed keeps its Sid, and
every request whose answer was lost is recorded as unknown, so who was called is exactly known.
Thread-safe: the placing threads share one breaker. No Airflow imports.
"""

from __future__ import annotations

import threading

from exotel_provider.errors import (
    ExotelCallOutcomeUnknownError,
    ExotelPlacingHaltedError,
    ExotelServerError,
    ExotelTransportError,
)

DEFAULT_FAILURES_TO_TRIP = 5
"""Failures in a row that stop placing: a blip passes, an outage costs a handful of requests."""


def signals_an_outage(error: BaseException) -> bool:
    """A failure that says Exotel (or the way to it) is unwell, not that one call was refused."""
    return isinstance(error, (ExotelServerError, ExotelTransportError, ExotelCallOutcomeUnknownError))


class PlacingBreaker:
    """Counts consecutive outage failures of placing requests; open after ``threshold`` of them."""

    def __init__(self, threshold: int = DEFAULT_FAILURES_TO_TRIP) -> None:
        if threshold < 1:
            raise ValueError(f"threshold must be >= 1, got {threshold}")
        self.threshold = threshold
        self._lock = threading.Lock()
        self._in_a_row = 0
        self._last: BaseException | None = None

    @property
    def open(self) -> bool:
        """True once ``threshold`` placing failures in a row have stopped the campaign's placing."""
        with self._lock:
            return self._in_a_row >= self.threshold

    def succeeded(self) -> None:
        """Exotel answered sanely (a call placed, or one call refused): the count starts again."""
        with self._lock:
            if self._in_a_row < self.threshold:
                self._in_a_row = 0

    def failed(self, error: BaseException) -> None:
        """Count ``error`` if it signals an outage (see :func:`signals_an_outage`)."""
        if not signals_an_outage(error):
            return
        with self._lock:
            self._in_a_row += 1
            self._last = error

    def check(self) -> None:
        """Raise :class:`ExotelPlacingHaltedError` if the breaker is open: send nothing more."""
        with self._lock:
            if self._in_a_row < self.threshold:
                return
            failures, last = self._in_a_row, self._last
        raise ExotelPlacingHaltedError(
            f"Exotel failed {failures} call-placing requests in a row (last: {type(last).__name__}: "
            f"{last}). Placing stopped so as not to send more into an outage: the calls placed so far "
            "kept their Sids and each request whose answer was lost is recorded as unknown. Check "
            "Exotel's status page and the network, then retry: nobody placed is called again.",
            failures=failures,
        )
