"""Simulated time: a clock that runs faster than the wall clock and can jump forward."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime
from zoneinfo import ZoneInfo

INDIA_TIME = ZoneInfo("Asia/Kolkata")
EXOTEL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class SimulatedClock:
    """Simulated epoch seconds = start + real elapsed seconds * ``time_scale`` + every ``advance()``.

    ``time_scale=60`` makes one real second a simulated minute; ``time_scale=0`` freezes the clock so
    that only :meth:`advance` moves it (deterministic tests).
    """

    def __init__(self, time_scale: float = 1.0, *, start: float | None = None) -> None:
        if time_scale < 0:
            raise ValueError(f"time_scale must be >= 0, got {time_scale}")
        self._time_scale = float(time_scale)
        self._start = time.time() if start is None else float(start)
        self._real_start = time.monotonic()
        self._skipped = 0.0
        self._lock = threading.Lock()

    @property
    def time_scale(self) -> float:
        return self._time_scale

    def now(self) -> float:
        """The simulated time, in epoch seconds."""
        with self._lock:
            elapsed = time.monotonic() - self._real_start
            return self._start + elapsed * self._time_scale + self._skipped

    def advance(self, seconds: float) -> float:
        """Jump forward by ``seconds`` simulated seconds; returns the new simulated time."""
        if seconds < 0:
            raise ValueError(f"the simulated clock only moves forward, got {seconds}")
        with self._lock:
            self._skipped += seconds
        return self.now()

    def wall_seconds(self) -> float:
        """Real seconds since the clock started plus every :meth:`advance` jump: what a wall-clock
        rate limit counts (a jump forward lets time pass for it too)."""
        with self._lock:
            return time.monotonic() - self._real_start + self._skipped

    def real_seconds(self, simulated_seconds: float) -> float:
        """Wall-clock seconds that ``simulated_seconds`` take to pass (as is when the clock is frozen)."""
        if self._time_scale == 0:
            return simulated_seconds
        return simulated_seconds / self._time_scale


def format_exotel_time(epoch_seconds: float) -> str:
    """Exotel's ``YYYY-MM-DD HH:mm:ss`` in India time, without a zone (as Indian accounts see it)."""
    return datetime.fromtimestamp(int(epoch_seconds), INDIA_TIME).strftime(EXOTEL_TIME_FORMAT)


def parse_exotel_time(text: str) -> float:
    """Inverse of :func:`format_exotel_time`; raises ValueError for any other shape."""
    naive = datetime.strptime(text.strip(), EXOTEL_TIME_FORMAT)
    return naive.replace(tzinfo=INDIA_TIME).timestamp()


class CompressedClock:
    """Compressed time for asyncio code (the ``Clock`` the provider's call watchers use): simulated
    epoch seconds that pass ``time_scale`` times faster than real ones, from ``start``.

    Give it the simulator's time scale and current simulated time to make watchers, budgets and
    deadlines run on the simulator's clock (benchmarks, fast tests).
    """

    def __init__(self, time_scale: float, *, start: float | None = None) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be > 0, got {time_scale}")
        self.time_scale = float(time_scale)
        self._start = time.time() if start is None else float(start)
        self._real_start = time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._real_start) * self.time_scale

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / self.time_scale)
