"""A campaign within calling hours: which entries may be dialled now, and what happens to the others.

The campaign's window (its ``calling_hours`` in the connection's time zone), narrowed for each person
by their preferred times (``call_after`` / ``call_before``), is checked on the provider's clock right
before each call-placing request. An entry outside its window is not dialled: it is held, recorded
in the ledger as "not called: outside calling hours" (so a later run dials it), and the campaign
either defers until the earliest window opens and goes on (``"defer"``), or reports it "not called"
(``"record"``). No Airflow imports.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from exotel_provider.calls.calling_hours import (
    DEFER,
    END_OF_DAY,
    PREFERRED_TIME_FIELDS,
    CallingHours,
    CallingWindow,
    parse_clock_time,
)
from exotel_provider.campaigns.ledger import CampaignBook
from exotel_provider.campaigns.not_called import OUTSIDE_CALLING_HOURS, not_called_error, reason_not_called
from exotel_provider.campaigns.outcomes import CampaignEntry
from exotel_provider.placement import guard as guard_module

HELD_ERROR = not_called_error(OUTSIDE_CALLING_HOURS)
"""The error of an entry held back by its calling window (its ledger row and outcome say it)."""
ANY_HOUR = CallingHours(datetime.time(0, 0), END_OF_DAY)
"""The whole day: the window of a person with preferred times in a campaign given no calling hours."""


class CampaignWindow:
    """Whether each entry may be dialled now, on the provider's clock (``placement.guard.DEFAULT_CLOCK``
    unless given one): the campaign's calling hours, narrowed by the entry's preferred times."""

    def __init__(
        self, hours: CallingHours | None, time_zone: datetime.tzinfo, clock: Callable[[], float] | None = None
    ) -> None:
        self.window = CallingWindow(hours, time_zone) if hours is not None else None
        self._any_hour = CallingWindow(ANY_HOUR, time_zone)
        self._clock = clock

    @property
    def limits(self) -> bool:
        """Whether the campaign has calling hours at all (without, every entry may be dialled now)."""
        return self.window is not None

    def now(self) -> float:
        """Epoch seconds on the clock the window is judged by (the placement clock by default)."""
        return self._clock() if self._clock is not None else guard_module.DEFAULT_CLOCK.now()

    def for_entry(self, entry: CampaignEntry) -> CallingWindow | None:
        """The entry's window (None: its preferred times never meet the calling hours)."""
        base = self.window or self._any_hour
        after, before = (entry.preferred_times.get(name) for name in PREFERRED_TIME_FIELDS)
        if after is None and before is None:
            return base
        return base.narrowed(_time_or_none(after), _time_or_none(before))

    def holds(self, entry: CampaignEntry) -> bool:
        """True when ``entry`` must not be dialled now (checked right before its request)."""
        if self.window is None and not entry.preferred_times:
            return False
        now = self.now()
        if self.window is not None and not self.window.may_dial(now):
            return True
        window = self.for_entry(entry)
        return window is None or not window.may_dial(now)

    def next_opening(self, entries: Iterable[CampaignEntry]) -> float | None:
        """The earliest moment one of ``entries`` may be dialled (None: none ever may)."""
        now = self.now()
        windows = [w for w in (self.for_entry(e) for e in entries) if w is not None]
        return min((w.next_opening(now) for w in windows), default=None)

    def describe(self) -> str:
        """The campaign's calling hours for people ("any hour" without a window)."""
        return self.window.describe() if self.window is not None else "any hour"

    def local_text(self, at: float) -> str:
        """``at`` as local time in the campaign's zone, e.g. ``2026-08-04 08:00 (Asia/Kolkata)``."""
        return self._any_hour.local_text(at)


def record_held(book: CampaignBook | None, key: str) -> None:
    """The entry's ledger row: not called, outside calling hours (not a refusal: a later run dials it)."""
    if book is not None:
        book.write(book.new_row(key).not_placed(HELD_ERROR))


def held_entries(
    entries: Sequence[CampaignEntry], outcomes: Sequence[Mapping[str, Any]]
) -> list[CampaignEntry]:
    """The entries whose outcome says they were held back by their calling window."""
    keys = {o["key"] for o in outcomes if reason_not_called(o) == OUTSIDE_CALLING_HOURS}
    return [entry for entry in entries if entry.key in keys]


def resume_at(
    window: CampaignWindow,
    policy: str,
    entries: Sequence[CampaignEntry],
    outcomes: Sequence[Mapping[str, Any]],
) -> float | None:
    """When the campaign must go on placing (``"defer"`` and some entry held that a window will
    admit), else None: every outcome is final as it stands."""
    if policy != DEFER or (not window.limits and not any(e.preferred_times for e in entries)):
        return None
    return window.next_opening(held_entries(entries, outcomes))


def _time_or_none(value: str | None) -> datetime.time | None:
    return parse_clock_time(value) if value else None
