"""How fast a campaign sends requests: evenly spaced within the connection's request budget.

Placing a call counts against Exotel's 200 requests a minute per account together with watching, so
a campaign paces itself below ``requests_per_minute`` and leaves a share for the watchers. A 429
pauses it. Pure timing; the clock and the sleep are parameters.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

WATCHING_SHARE = 0.05
"""The share of the request budget a campaign leaves to watching while it places calls."""
DEFAULT_PAUSE_AFTER_429_SECONDS = 5.0
"""How long to hold placing after a 429 that carried no ``Retry-After``."""


def watching_reserve(requests_per_minute: int) -> int:
    """Requests a minute left to watching: 5 % of the budget, at least one (none of a budget of 1)."""
    if requests_per_minute <= 1:
        return 0
    return max(1, math.ceil(requests_per_minute * WATCHING_SHARE))


class RequestPacer:
    """Lets at most ``rate_per_minute`` requests through in any minute, evenly spaced.

    ``wait_turn()`` before each request; ``back_off(seconds)`` after a 429 holds every later
    request until that much time has passed. Thread-safe: threads placing calls side by side share
    one pacer, and each is given its own slot.
    """

    def __init__(
        self,
        rate_per_minute: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_minute <= 0:
            raise ValueError(f"rate_per_minute must be > 0, got {rate_per_minute}")
        self.rate_per_minute = float(rate_per_minute)
        self.interval = 60.0 / self.rate_per_minute
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_at = clock()
        self.granted = 0
        self.waited_seconds = 0.0

    @classmethod
    def for_budget(
        cls,
        requests_per_minute: int,
        *,
        reserve: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RequestPacer:
        """A pacer for the part of an account's budget that watching does not need."""
        reserve = watching_reserve(requests_per_minute) if reserve is None else reserve
        return cls(max(requests_per_minute - reserve, 1), clock=clock, sleep=sleep)

    def wait_turn(self) -> None:
        """Sleep until this request's slot, and count it."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next_at)
            self._next_at = slot + self.interval
            self.granted += 1
            self.waited_seconds += slot - now
        if slot > now:
            self._sleep(slot - now)

    def back_off(self, seconds: float | None) -> None:
        """Hold the next request for ``seconds`` (a 429's ``Retry-After``; a default when None)."""
        wait = DEFAULT_PAUSE_AFTER_429_SECONDS if seconds is None else max(0.0, seconds)
        with self._lock:
            self._next_at = max(self._next_at, self._clock() + wait)

    def sleep(self, seconds: float) -> None:
        """Sleep on this pacer's clock (while waiting for room among the calls in flight)."""
        self._sleep(max(0.0, seconds))
