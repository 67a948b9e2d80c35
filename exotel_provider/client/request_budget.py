"""The request budget: at most N requests per minute to one Exotel account, and a pause after a 429.

Exotel allows 200 requests per minute per account. The async client asks its :class:`RequestBudget`
before every attempt, so batched watching, single-call lookups and retries all count. Time comes
from a :class:`Clock`, so the same code runs on the wall clock or on a simulator's faster clock.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

BUDGET_WINDOW_SECONDS = 60.0
DEFAULT_PAUSE_AFTER_429_SECONDS = 5.0
"""How long to hold every request after a 429 that carried no ``Retry-After``."""
_EPSILON = 1e-9
_MIN_SLEEP_SECONDS = 0.001


class Clock(Protocol):
    """Where the async machinery reads the time (epoch seconds) and sleeps."""

    def now(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class WallClock:
    """The real clock: ``time.time()`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))


class RequestBudget:
    """A token bucket that never lets more than ``requests_per_minute`` requests through in any 60 s.

    The bucket holds up to ``burst`` tokens and refills at ``(requests_per_minute - burst) / 60`` per
    second, so a full bucket plus a minute of refill is exactly the budget. :meth:`pause` (after a
    429) holds every request until the given time has passed and empties the bucket.
    """

    def __init__(
        self, requests_per_minute: int, *, clock: Clock | None = None, burst: int | None = None
    ) -> None:
        if requests_per_minute < 1:
            raise ValueError(f"requests_per_minute must be >= 1, got {requests_per_minute}")
        self.requests_per_minute = requests_per_minute
        self.clock: Clock = clock or WallClock()
        self.burst = burst if burst is not None else max(1, requests_per_minute // 10)
        if not 1 <= self.burst <= requests_per_minute:
            raise ValueError(f"burst must be from 1 to {requests_per_minute}, got {self.burst}")
        refill_per_window = max(requests_per_minute - self.burst, 1)
        self._rate = refill_per_window / BUDGET_WINDOW_SECONDS
        self._tokens = float(self.burst)
        self._updated_at = self.clock.now()
        self._paused_until = 0.0
        self.granted = 0
        """Requests let through so far (for logs and benchmarks)."""

    def __repr__(self) -> str:
        return f"RequestBudget(requests_per_minute={self.requests_per_minute}, burst={self.burst})"

    async def acquire(self) -> None:
        """Wait until a request may be sent, and count it."""
        while True:
            now = self.clock.now()
            if now < self._paused_until:
                await self.clock.sleep(self._paused_until - now)
                continue
            self._refill(now)
            if self._tokens >= 1.0 - _EPSILON:
                self._tokens = max(0.0, self._tokens - 1.0)
                self.granted += 1
                return
            await self.clock.sleep(max((1.0 - self._tokens) / self._rate, _MIN_SLEEP_SECONDS))

    def pause(self, seconds: float | None) -> None:
        """Hold every request for ``seconds`` (a 429's ``Retry-After``; a default when None)."""
        wait = DEFAULT_PAUSE_AFTER_429_SECONDS if seconds is None else max(0.0, seconds)
        now = self.clock.now()
        self._refill(now)
        self._tokens = 0.0
        self._paused_until = max(self._paused_until, now + wait)
        self._updated_at = max(self._updated_at, self._paused_until)

    @property
    def paused_until(self) -> float:
        return self._paused_until

    def _refill(self, now: float) -> None:
        if now > self._updated_at:
            self._tokens = min(float(self.burst), self._tokens + (now - self._updated_at) * self._rate)
            self._updated_at = now
