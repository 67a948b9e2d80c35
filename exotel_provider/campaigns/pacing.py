"""How fast a campaign sends requests: within the connection's request budget, a missed slot made up.

Placing a call counts against Exotel's 200 requests a minute per account together with watching, so
a campaign whose budget is shared with the watchers (through Redis) paces itself below
``requests_per_minute`` and leaves them a share; a budget of its own process it uses whole. A slot a
placing thread missed (it was busy writing the ledger, or the machine was) may still be used for a
short while, so placing keeps its rate on a busy machine; never more than the pacer's rate in any
60 s. A 429 pauses it. Pure timing; the clock and the sleep are parameters.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

WATCHING_SHARE = 0.05
"""The share of a shared request budget a campaign leaves to watching while it places calls."""
DEFAULT_PAUSE_AFTER_429_SECONDS = 5.0
"""How long to hold placing after a 429 that carried no ``Retry-After``."""
MAKE_UP_SECONDS = 0.5
"""How far back a late request may still use the slots it missed (at least 2 slots)."""
PACING_WINDOW_SECONDS = 60.0


def watching_reserve(requests_per_minute: int, *, shared: bool = True) -> int:
    """Requests a minute a campaign leaves to watching: 5 % of a budget ``shared`` with the watchers
    (through Redis), at least one (none of a budget of 1); none of a budget of the campaign's own
    process, which no watcher asks (the triggerer's watchers count in their own process)."""
    if not shared or requests_per_minute <= 1:
        return 0
    return max(1, math.ceil(requests_per_minute * WATCHING_SHARE))


def make_up_slots(rate_per_minute: float) -> int:
    """Slots a late request may make up: those of the last :data:`MAKE_UP_SECONDS`, at least 2
    (1 below a rate of 2 a minute: no make-up)."""
    if rate_per_minute < 2:
        return 1
    return max(2, math.ceil(rate_per_minute * MAKE_UP_SECONDS / PACING_WINDOW_SECONDS))


class RequestPacer:
    """Lets at most ``rate_per_minute`` requests through in any 60 s, spaced, missed slots made up.

    ``wait_turn()`` before each request. A slot nobody was ready for is not lost: a request that
    comes late goes at once, up to ``burst`` requests back to back (a virtual-scheduling GCRA), and
    the spacing leaves room for that burst, so any 60 s still hold at most ``rate_per_minute``
    (``room_for_burst=False``: spaced at the full rate, the window kept by the request budget below).
    ``back_off(seconds)`` after a 429 holds every later request until that much time has passed,
    and no slot before its end is made up. Thread-safe: threads placing calls side by side share
    one pacer, and each is given its own slot.
    """

    def __init__(
        self,
        rate_per_minute: float,
        *,
        burst: int | None = None,
        room_for_burst: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_minute <= 0:
            raise ValueError(f"rate_per_minute must be > 0, got {rate_per_minute}")
        self.rate_per_minute = float(rate_per_minute)
        self.burst = make_up_slots(self.rate_per_minute) if burst is None else burst
        if not 1 <= self.burst <= max(1.0, self.rate_per_minute):
            raise ValueError(f"burst must be from 1 to {rate_per_minute:g}, got {self.burst}")
        # with room for the burst (burst - 1 requests on top of the spacing), any 60 s hold at most
        # rate_per_minute; without it, the request budget below keeps the 60 s window
        spaced_per_minute = self.rate_per_minute - self.burst + 1 if room_for_burst else self.rate_per_minute
        self.interval = PACING_WINDOW_SECONDS / max(spaced_per_minute, 1.0)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._next_at = clock()
        self._resume_at = self._next_at
        self.granted = 0
        self.waited_seconds = 0.0

    @classmethod
    def for_budget(
        cls,
        requests_per_minute: int,
        *,
        reserve: int | None = None,
        shared: bool = True,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> RequestPacer:
        """A pacer for the part of an account's budget that watching does not need (``reserve``;
        None: :func:`watching_reserve` of a budget ``shared`` with the watchers or not). With a
        reserve, its spacing keeps any 60 s within its rate, so the reserve stays free; without one,
        it spaces at the whole budget, and the budget's own window keeps any 60 s within it."""
        reserve = watching_reserve(requests_per_minute, shared=shared) if reserve is None else reserve
        return cls(
            max(requests_per_minute - reserve, 1), room_for_burst=reserve > 0, clock=clock, sleep=sleep
        )

    def wait_turn(self) -> None:
        """Sleep until this request's slot (at once if it missed slots it may make up), and count it."""
        with self._lock:
            now = self._clock()
            earliest = max(now - (self.burst - 1) * self.interval, self._resume_at)
            slot = max(now, self._next_at, earliest)
            self._next_at = max(self._next_at, earliest) + self.interval
            self.granted += 1
            self.waited_seconds += slot - now
        if slot > now:
            self._sleep(slot - now)

    def back_off(self, seconds: float | None) -> None:
        """Hold the next request for ``seconds`` (a 429's ``Retry-After``; a default when None)."""
        wait = DEFAULT_PAUSE_AFTER_429_SECONDS if seconds is None else max(0.0, seconds)
        with self._lock:
            self._resume_at = max(self._resume_at, self._clock() + wait)
            self._next_at = max(self._next_at, self._resume_at)

    def sleep(self, seconds: float) -> None:
        """Sleep on this pacer's clock (while waiting for room among the calls in flight)."""
        self._sleep(max(0.0, seconds))
