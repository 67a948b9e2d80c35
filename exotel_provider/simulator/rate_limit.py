"""A sliding-window request limit in real (wall-clock) seconds, as Exotel's is, at any time scale."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

WINDOW_SECONDS = 60.0


class SlidingWindowLimiter:
    """At most ``limit`` admitted requests per key in any ``window_seconds`` (None: unlimited).

    Refused requests are not counted, so a client that backs off recovers as soon as the oldest
    admitted request leaves the window. Not thread-safe: the caller holds the state's lock.
    """

    def __init__(self, limit: int | None, window_seconds: float = WINDOW_SECONDS) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be >= 1 or None, got {limit}")
        self.limit = limit
        self.window_seconds = window_seconds
        self._admitted: dict[str, deque[float]] = {}

    def try_admit(self, key: str, now: float) -> float | None:
        """Admit and count a request at real time ``now`` (None), or return the real seconds until a
        slot frees."""
        if self.limit is None:
            return None
        admitted = self._admitted.setdefault(key, deque())
        while admitted and admitted[0] <= now - self.window_seconds:
            admitted.popleft()
        if len(admitted) >= self.limit:
            return admitted[0] + self.window_seconds - now
        admitted.append(now)
        return None

    def headroom(self, key: str, now: float) -> tuple[int, float]:
        """Requests still allowed in the window, and the seconds until its oldest request leaves it."""
        admitted = self._admitted.get(key) or deque()
        while admitted and admitted[0] <= now - self.window_seconds:
            admitted.popleft()
        reset_in = admitted[0] + self.window_seconds - now if admitted else 0.0
        return max(0, (self.limit or 0) - len(admitted)), reset_in

    def clear(self) -> None:
        """Forget every request counted."""
        self._admitted.clear()


def busiest_window(times: Iterable[float], window_seconds: float = WINDOW_SECONDS) -> int:
    """The most requests (timestamps in seconds) that fall within any ``window_seconds``."""
    ordered = sorted(times)
    busiest, start = 0, 0
    for end, time in enumerate(ordered):
        while time - ordered[start] >= window_seconds:
            start += 1
        busiest = max(busiest, end - start + 1)
    return busiest
