"""Calling hours: when a person may be dialled. Pure: no Airflow, no I/O, no clock of its own.

A window such as ``08:00-19:00`` in local time (India time unless the connection's
``extra.timezone`` says otherwise), the weekdays allowed, and dates to skip (holidays). RBI's rule
for calls about overdue loans is 08:00-19:00; ``DEFAULT_CALLING_HOURS`` is that, every day. A
person's preferred times (``call_after`` / ``call_before``) narrow the window for that person only.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from exotel_provider.errors import ExotelOutsideCallingHoursError, ExotelValidationError

DEFAULT_CALLING_HOURS = "08:00-19:00"
"""The documented default of the example reminder DAGs (``EXOTEL_CALLING_HOURS``): 08:00-19:00, every day."""
WEEKDAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
EVERY_DAY = frozenset(range(7))
END_OF_DAY = datetime.time.max
"""``24:00``: a window open until midnight."""
DAYS_LOOKED_AHEAD = 400
"""How far :meth:`CallingHours.next_opening` looks (a year of holidays and a few weeks more)."""
PREFERRED_TIME_FIELDS = ("call_after", "call_before")
"""A person's optional preferred times (``HH:MM`` local time), which narrow their window."""
DIAL_MARGIN_SECONDS = 10.0
"""No request starts in a window's last seconds: one under way still reaches Exotel before it closes."""
DEFER, RECORD = "defer", "record"
OUTSIDE_CALLING_HOURS_POLICIES = (DEFER, RECORD)
"""What a campaign does at its window's end: wait for the window to open again (a deferral, no
worker slot held) and go on, or record everyone not reached as "not called: outside calling hours"."""
FIX = 'Give calling hours as "08:00-19:00" (optionally "08:00-19:00 mon-sat"), or CallingHours(...).'


@dataclass(frozen=True)
class CallingHours:
    """When calls may be dialled: ``opens`` until (not including) ``closes``, local time, on
    ``weekdays`` (0 = Monday) except ``skip_dates``."""

    opens: datetime.time
    closes: datetime.time
    weekdays: frozenset[int] = EVERY_DAY
    skip_dates: frozenset[datetime.date] = frozenset()

    def __post_init__(self) -> None:
        if self.opens >= self.closes:
            raise ExotelValidationError(
                "calling_hours",
                f"{self.describe()} closes before it opens",
                "Give an opening before the closing.",
            )
        if not self.weekdays or not self.weekdays <= EVERY_DAY:
            raise ExotelValidationError(
                "calling_hours", f"weekdays {sorted(self.weekdays)}", "Allow days 0-6."
            )

    @classmethod
    def parse(cls, value: Any) -> CallingHours | None:
        """Calling hours from what a DAG gives: None or "" (no window: any hour), ``"08:00-19:00"``
        (optionally followed by weekdays, ``"mon-sat"`` or ``"mon,wed"``), ``("08:00", "19:00")``, a
        dict (``window`` or ``opens``/``closes``, ``weekdays``, ``skip_dates``), or CallingHours."""
        if value is None or isinstance(value, CallingHours):
            return value
        if isinstance(value, str):
            return _from_text(value) if value.strip() else None
        if isinstance(value, Mapping):
            return _from_mapping(value)
        if isinstance(value, (tuple, list)) and len(value) == 2:
            return cls(parse_clock_time(value[0]), parse_clock_time(value[1]))
        raise ExotelValidationError("calling_hours", f"got {type(value).__name__}", FIX)

    def is_open(self, moment: datetime.datetime) -> bool:
        """Whether ``moment`` (aware, in the window's zone) is inside the window."""
        return self._day_allowed(moment.date()) and self.opens <= moment.time() < self.closes

    def next_opening(self, moment: datetime.datetime) -> datetime.datetime:
        """``moment`` if open, else the next time the window opens (same zone as ``moment``)."""
        if self.is_open(moment):
            return moment
        zone = moment.tzinfo
        day = moment.date()
        if moment.time() >= self.opens:
            day += datetime.timedelta(days=1)
        for _ in range(DAYS_LOOKED_AHEAD):
            if self._day_allowed(day):
                return datetime.datetime.combine(day, self.opens, tzinfo=zone)
            day += datetime.timedelta(days=1)
        raise ExotelValidationError(
            "calling_hours", f"{self.describe()} never opens in the next {DAYS_LOOKED_AHEAD} days", FIX
        )

    def closing(self, moment: datetime.datetime) -> datetime.datetime:
        """When the window open at ``moment`` closes (``moment`` itself when it is closed)."""
        if not self.is_open(moment):
            return moment
        if self.closes == END_OF_DAY:
            return datetime.datetime.combine(
                moment.date() + datetime.timedelta(days=1), datetime.time(), moment.tzinfo
            )
        return datetime.datetime.combine(moment.date(), self.closes, tzinfo=moment.tzinfo)

    def narrowed(self, after: datetime.time | None, before: datetime.time | None) -> CallingHours | None:
        """The window for a person who asked to be called only after / before these times (None: the
        two never overlap, so that person cannot be called within these hours)."""
        opens = max(self.opens, after) if after is not None else self.opens
        closes = min(self.closes, before) if before is not None else self.closes
        if opens >= closes:
            return None
        return CallingHours(opens, closes, self.weekdays, self.skip_dates)

    def describe(self) -> str:
        """E.g. ``08:00-19:00 every day`` or ``09:00-18:00 mon-sat, 2 dates skipped``."""
        days = (
            "every day"
            if self.weekdays == EVERY_DAY
            else ",".join(WEEKDAY_NAMES[d] for d in sorted(self.weekdays))
        )
        skipped = f", {len(self.skip_dates)} dates skipped" if self.skip_dates else ""
        return f"{_clock_text(self.opens)}-{_clock_text(self.closes)} {days}{skipped}"

    def _day_allowed(self, day: datetime.date) -> bool:
        return day.weekday() in self.weekdays and day not in self.skip_dates


def outside_calling_hours_policy(value: str) -> str:
    """``value`` checked (when the DAG is parsed)."""
    if value not in OUTSIDE_CALLING_HOURS_POLICIES:
        raise ExotelValidationError(
            "outside_calling_hours", f"{value!r} is not a policy",
            "Use 'defer' (wait for the window to open, then go on) or 'record' (report them not called).",
        )  # fmt: skip
    return value


def parse_clock_time(value: Any) -> datetime.time:
    """``"08:00"`` (or a ``datetime.time``) as a time of day; ``"24:00"`` is the end of the day."""
    if isinstance(value, datetime.time):
        return value
    text = str(value).strip()
    if text in ("24:00", "24:00:00"):
        return END_OF_DAY
    try:
        return datetime.time.fromisoformat(text)
    except ValueError:
        raise ExotelValidationError("calling_hours", f"{text!r} is not a time of day (HH:MM)", FIX) from None


def parse_weekdays(value: Any) -> frozenset[int]:
    """``"mon-sat"``, ``"mon,wed,fri"``, or day numbers (0 = Monday), as day numbers."""
    if isinstance(value, str):
        days: set[int] = set()
        for part in value.lower().replace(" ", "").split(","):
            first, _, last = part.partition("-")
            start, end = _weekday(first), _weekday(last or first)
            days.update(range(start, end + 1) if start <= end else [*range(start, 7), *range(end + 1)])
        return frozenset(days)
    return frozenset(_weekday(day) for day in value)


def preferred_times(call: Mapping[str, Any]) -> dict[str, str]:
    """An entry's preferred times, checked (``HH:MM``); empty values left out."""
    found = {
        name: str(call[name]).strip() for name in PREFERRED_TIME_FIELDS if call.get(name) not in (None, "")
    }
    for name, value in found.items():
        try:
            parse_clock_time(value)
        except ExotelValidationError:
            raise ExotelValidationError(
                name, f"{value!r} is not a time of day", "Give HH:MM, e.g. 17:30."
            ) from None
    return found


def _weekday(value: Any) -> int:
    if isinstance(value, int) and 0 <= value < 7:
        return value
    name = str(value).strip().lower()[:3]
    if name in WEEKDAY_NAMES:
        return WEEKDAY_NAMES.index(name)
    raise ExotelValidationError("calling_hours", f"{value!r} is not a weekday", "Use mon ... sun, or 0-6.")


def _from_text(text: str) -> CallingHours:
    window, _, days = text.strip().partition(" ")
    opens, dash, closes = window.partition("-")
    if not dash:
        raise ExotelValidationError("calling_hours", f"{text!r} has no '-'", FIX)
    weekdays = parse_weekdays(days) if days.strip() else EVERY_DAY
    return CallingHours(parse_clock_time(opens), parse_clock_time(closes), weekdays)


def _from_mapping(value: Mapping[str, Any]) -> CallingHours:
    unknown = sorted(set(value) - {"window", "opens", "closes", "weekdays", "skip_dates"})
    if unknown:
        raise ExotelValidationError("calling_hours", f"unknown fields {unknown}", FIX)
    base = _from_text(str(value["window"])) if value.get("window") else None
    opens = parse_clock_time(value["opens"]) if value.get("opens") else (base.opens if base else None)
    closes = parse_clock_time(value["closes"]) if value.get("closes") else (base.closes if base else None)
    if opens is None or closes is None:
        raise ExotelValidationError("calling_hours", "no window", FIX)
    weekdays = (
        parse_weekdays(value["weekdays"]) if value.get("weekdays") else (base.weekdays if base else EVERY_DAY)
    )
    return CallingHours(opens, closes, weekdays, _dates(value.get("skip_dates") or ()))


def _dates(values: Iterable[Any]) -> frozenset[datetime.date]:
    try:
        return frozenset(
            v if isinstance(v, datetime.date) else datetime.date.fromisoformat(str(v)) for v in values
        )
    except ValueError as err:
        raise ExotelValidationError(
            "calling_hours", f"skip_dates: {err}", "Give dates as YYYY-MM-DD."
        ) from None


def _clock_text(value: datetime.time) -> str:
    return "24:00" if value == END_OF_DAY else value.strftime("%H:%M")


@dataclass(frozen=True)
class CallingWindow:
    """Calling hours in one time zone, on epoch seconds (the clock a placer reads)."""

    hours: CallingHours
    time_zone: datetime.tzinfo

    def is_open(self, at: float) -> bool:
        """Whether calls may be dialled at epoch second ``at`` (its local time in the window's zone)."""
        return self.hours.is_open(self._local(at))

    def may_dial(self, at: float) -> bool:
        """Open at ``at`` and still open :data:`DIAL_MARGIN_SECONDS` later (the request arrives in time)."""
        return self.is_open(at) and self.is_open(at + DIAL_MARGIN_SECONDS)

    def next_opening(self, at: float) -> float:
        """``at`` if a call may be dialled then, else when the window next opens."""
        if self.may_dial(at):
            return at
        local = self._local(at)
        if self.hours.is_open(local):  # in its last seconds: the next window
            local = self.hours.closing(local)
        return self.hours.next_opening(local).timestamp()

    def closing(self, at: float) -> float:
        """When the window open at ``at`` closes (``at`` when closed)."""
        return self.hours.closing(self._local(at)).timestamp()

    def narrowed(self, after: datetime.time | None, before: datetime.time | None) -> CallingWindow | None:
        """This window for a person's preferred times (None: no overlap)."""
        hours = self.hours.narrowed(after, before)
        return CallingWindow(hours, self.time_zone) if hours is not None else None

    def describe(self) -> str:
        """The window for people, e.g. ``08:00-19:00 (Asia/Kolkata)``."""
        return f"{self.hours.describe()} ({self.time_zone})"

    def local_text(self, at: float) -> str:
        """E.g. ``2026-08-04 08:00 (Asia/Kolkata)``."""
        return f"{self._local(at):%Y-%m-%d %H:%M} ({self.time_zone})"

    def check(self, at: float, number: str = "the call") -> None:
        """Raise :class:`ExotelOutsideCallingHoursError` (saying when it opens) unless open at ``at``."""
        if self.may_dial(at):
            return
        opens_at = self.next_opening(at)
        raise ExotelOutsideCallingHoursError(
            f"Not dialling {number}: it is {self.local_text(at)}, outside the calling hours "
            f"{self.describe()}. The window opens at {self.local_text(opens_at)}; run the task again "
            "then, or change calling_hours.",
            opens_at=opens_at,
        )

    def _local(self, at: float) -> datetime.datetime:
        return datetime.datetime.fromtimestamp(at, self.time_zone)
