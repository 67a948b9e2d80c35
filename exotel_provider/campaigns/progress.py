"""Counting a campaign as it goes, for a line in the task log at least every ``every`` seconds."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable

PROGRESS_LOG_SECONDS = 30.0
"""A progress line is due at least this often while a campaign runs."""


class CampaignProgress:
    """Counts of what happened to a campaign's calls so far, and when the next log line is due."""

    def __init__(
        self,
        total: int,
        *,
        every: float = PROGRESS_LOG_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total = total
        self.every = every
        self._clock = clock
        self.counts: Counter[str] = Counter()
        self._started = clock()
        self._next_line_at = self._started + every

    def count(self, what: str, n: int = 1) -> None:
        """Count ``n`` entries as ``what`` (placed, not placed...)."""
        self.counts[what] += n

    @property
    def done(self) -> int:
        """How many entries are placed or settled so far."""
        return sum(self.counts.values())

    def due(self) -> bool:
        """True when a progress line should be logged now (then not again for ``every`` seconds)."""
        now = self._clock()
        if now < self._next_line_at:
            return False
        self._next_line_at = now + self.every
        return True

    def line(self, verb: str = "handled") -> str:
        """``"120/1500 calls handled after 31 s: placed 118, not placed 2"``."""
        parts = ", ".join(f"{what} {n}" for what, n in sorted(self.counts.items()))
        elapsed = self._clock() - self._started
        return f"{self.done}/{self.total} calls {verb} after {elapsed:.0f} s" + (
            f": {parts}" if parts else ""
        )
