"""The cap on a campaign's calls in flight, shared by the threads that place them.

A call counts from the moment a thread is given room to place it until Exotel lists it as ended, so
threads placing side by side never overshoot the cap. Room is made by asking Exotel which calls
ended (one thread asks at a time, through ``find_ended``), never by guessing: the oldest calls
first, one listing's worth at a time, until one has ended. The oldest are the likeliest to have
ended, so one request usually frees many places. No Airflow imports.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable


class CallsInFlight:
    """Placed calls not yet ended, plus the placements under way, kept below ``cap``."""

    def __init__(
        self,
        cap: int,
        *,
        find_ended: Callable[[list[str]], Iterable[str]],
        poll_interval: float,
        listing_size: int = 100,
    ) -> None:
        if cap < 1:
            raise ValueError(f"cap must be >= 1, got {cap}")
        self.cap = cap
        self.poll_interval = poll_interval
        self.listing_size = listing_size
        """Calls asked about in one go (one listing request: Exotel lists at most 100 Sids)."""
        self._find_ended = find_ended
        self._changed = threading.Condition()
        self._one_asker = threading.Lock()
        self._placing = 0
        self._sids: dict[str, None] = {}

    def __len__(self) -> int:
        with self._changed:
            return self._placing + len(self._sids)

    def take_room(self) -> None:
        """Wait until one more call fits under the cap, and hold that room for it."""
        with self._one_asker:
            while not self._try_take():
                with self._changed:
                    sids = list(self._sids)  # oldest first
                for start in range(0, len(sids), self.listing_size):
                    ended = set(self._find_ended(sids[start : start + self.listing_size]))
                    with self._changed:
                        for sid in ended:
                            self._sids.pop(sid, None)
                        if self._fits():
                            break
                with self._changed:
                    if self._fits():
                        continue
                    # nothing ended yet (or every place is a placement under way): wait a while, or
                    # until a placement gives its room back
                    self._changed.wait(self.poll_interval if sids else None)

    def placed(self, sid: str | None) -> None:
        """The placement holding room ended: its call (if any) is now in flight until it ends."""
        with self._changed:
            self._placing -= 1
            if sid:
                self._sids[sid] = None
            self._changed.notify_all()

    def reused(self, sid: str) -> None:
        """A call an earlier try or run placed, not ended yet as far as we know: it counts as well."""
        with self._changed:
            self._sids[sid] = None

    def _try_take(self) -> bool:
        with self._changed:
            if not self._fits():
                return False
            self._placing += 1
            return True

    def _fits(self) -> bool:
        return self._placing + len(self._sids) < self.cap
