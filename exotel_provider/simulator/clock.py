"""Simulated time: a clock that runs faster than the wall clock and can jump forward."""

from __future__ import annotations

import threading
import time
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

DEFAULT_TIME_ZONE = "Asia/Kolkata"
INDIA_TIME = ZoneInfo(DEFAULT_TIME_ZONE)
EXOTEL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class SimulatedClock:
    """Simulated epoch seconds = start + real elapsed seconds * ``time_scale`` + every ``advance()``.

    ``time_scale=60`` makes one real second a simulated minute; ``time_scale=0`` freezes the clock so
    that only :meth:`advance` moves it (deterministic tests).
    """

    def __init__(
        self, time_scale: float = 1.0, *, start: float | None = None, time_zone: str = DEFAULT_TIME_ZONE
    ) -> None:
        if time_scale < 0:
            raise ValueError(f"time_scale must be >= 0, got {time_scale}")
        self.time_zone_name = time_zone
        self.time_zone: tzinfo = ZoneInfo(time_zone)
        """The zone of the timestamps the simulator gives (``DateCreated`` ...): India time by default."""
        self._time_scale = float(time_scale)
        self._start = time.time() if start is None else float(start)
        self._real_start = time.monotonic()
        self._skipped = 0.0
        self._lock = threading.Lock()

    @property
    def time_scale(self) -> float:
        """Simulated seconds per real second."""
        return self._time_scale

    def now(self) -> float:
        """The simulated time, in epoch seconds."""
        with self._lock:
            elapsed = time.monotonic() - self._real_start
            return self._start + elapsed * self._time_scale + self._skipped

    def wall_seconds(self) -> float:
        """Real seconds elapsed (whatever the time scale) plus every ``advance()``: the clock of
        wall-clock rules such as Exotel's rate limit, which a test may still step with ``advance``."""
        with self._lock:
            return time.monotonic() - self._real_start + self._skipped

    def advance(self, seconds: float) -> float:
        """Jump forward by ``seconds`` simulated seconds; returns the new simulated time."""
        if seconds < 0:
            raise ValueError(f"the simulated clock only moves forward, got {seconds}")
        with self._lock:
            self._skipped += seconds
        return self.now()

    def real_seconds(self, simulated_seconds: float) -> float:
        """Wall-clock seconds that ``simulated_seconds`` take to pass (as is when the clock is frozen)."""
        if self._time_scale == 0:
            return simulated_seconds
        return simulated_seconds / self._time_scale


def format_exotel_time(epoch_seconds: float, time_zone: tzinfo = INDIA_TIME) -> str:
    """Exotel's ``YYYY-MM-DD HH:mm:ss`` without a zone, in ``time_zone`` (India time by default,
    as Indian accounts see it)."""
    return datetime.fromtimestamp(int(epoch_seconds), time_zone).strftime(EXOTEL_TIME_FORMAT)


def parse_exotel_time(text: str, time_zone: tzinfo = INDIA_TIME) -> float:
    """Inverse of :func:`format_exotel_time`; raises ValueError for any other shape."""
    naive = datetime.strptime(text.strip(), EXOTEL_TIME_FORMAT)
    return naive.replace(tzinfo=time_zone).timestamp()

