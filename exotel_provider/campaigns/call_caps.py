"""Not calling anyone persistently: at most so many calls to one phone a day and in a rolling week,
counted from the call ledger across every reminder, run and attempt. Pure: no Airflow, no I/O beyond
the ledger's one query; light to import (an operator validates its caps when its DAG file is parsed).

A call counts once it may exist: a row with a Sid (one call shared by two reminders counts once), or
a request sent whose outcome is not known yet. Rows of entries never dialled (refused, not placed,
not called) do not count. Days are calendar days in India time; the week is today and the six days
before it.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from exotel_provider.errors import ExotelValidationError

if TYPE_CHECKING:
    from exotel_provider.campaigns.ledger import CallLedger, LedgerRow

INDIA = ZoneInfo("Asia/Kolkata")

DEFAULT_MAX_CALLS_PER_PERSON = 2
"""Calls to one phone a day: the first call and one redial."""
DEFAULT_MAX_CALLS_PER_WEEK = 6
"""Calls to one phone over today and the six days before: three days of a first call and a redial,
so that a person with a payment overdue all week is not called twice every day."""
WEEK_DAYS = 7


@dataclass(frozen=True)
class CallCaps:
    """At most ``per_day`` calls to one phone a day and ``per_week`` over 7 days (None: no such cap)."""

    per_day: int | None = DEFAULT_MAX_CALLS_PER_PERSON
    per_week: int | None = DEFAULT_MAX_CALLS_PER_WEEK

    def __post_init__(self) -> None:
        for field, value in (("max_calls_per_person", self.per_day), ("max_calls_per_week", self.per_week)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
                raise ExotelValidationError(
                    field, f"{value!r} is not a positive whole number", "Give at least 1, or None for no cap."
                )

    @property
    def active(self) -> bool:
        """Whether any cap is set: with none, the ledger is not queried at all."""
        return self.per_day is not None or self.per_week is not None

    def reached(self, ledger: CallLedger, phone: str, now: float, time_zone: Any = INDIA) -> bool:
        """Whether one more call to ``phone`` (E.164) at ``now`` would go over a cap."""
        if not self.active:
            return False
        today, tomorrow = day_bounds(now, time_zone)
        week_start = today - datetime.timedelta(days=WEEK_DAYS - 1)
        rows = ledger.calls_to(phone, week_start.timestamp(), tomorrow.timestamp())
        today_rows = [row for row in rows if row.sent_at is not None and row.sent_at >= today.timestamp()]
        return _over(self.per_day, count_calls(today_rows)) or _over(self.per_week, count_calls(rows))


def day_bounds(now: float, time_zone: Any = INDIA) -> tuple[datetime.datetime, datetime.datetime]:
    """The start of ``now``'s day in ``time_zone`` and the start of the next."""
    start = datetime.datetime.fromtimestamp(now, time_zone).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + datetime.timedelta(days=1)


def count_calls(rows: Iterable[LedgerRow]) -> int:
    """The calls these rows record: distinct Sids, plus requests whose call may exist unseen."""
    from exotel_provider.campaigns.ledger import UNRESOLVED_STATES

    sids = {row.call_sid for row in rows if row.call_sid}
    unseen = {row.identity for row in rows if not row.call_sid and row.state in UNRESOLVED_STATES}
    return len(sids) + len(unseen)


def _over(cap: int | None, calls: int) -> bool:
    return cap is not None and calls >= cap
