"""Calling hours as a value: parsing what a DAG gives, open or not at a moment, the next opening."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

import pytest

from exotel_provider.calls.calling_hours import CallingHours, CallingWindow
from exotel_provider.errors import ExotelOutsideCallingHoursError, ExotelValidationError

INDIA = ZoneInfo("Asia/Kolkata")


def at(day: int, hour: int, minute: int = 0, zone: datetime.tzinfo = INDIA) -> datetime.datetime:
    """A moment in August 2026 (the 3rd is a Monday)."""
    return datetime.datetime(2026, 8, day, hour, minute, tzinfo=zone)


def test_a_window_is_open_from_its_opening_until_just_before_its_closing():
    hours = CallingHours.parse("08:00-19:00")
    assert hours is not None
    assert not hours.is_open(at(3, 7, 59))
    assert hours.is_open(at(3, 8, 0)) and hours.is_open(at(3, 18, 59))
    assert not hours.is_open(at(3, 19, 0))


def test_after_the_window_closes_it_next_opens_the_following_morning():
    hours = CallingHours.parse("08:00-19:00")
    assert hours is not None
    assert hours.next_opening(at(3, 19, 0)) == at(4, 8)
    assert hours.next_opening(at(3, 6, 30)) == at(3, 8)
    assert hours.next_opening(at(3, 12)) == at(3, 12)  # open: now
    assert hours.closing(at(3, 12)) == at(3, 19)


def test_weekdays_and_skipped_dates_are_never_open():
    hours = CallingHours.parse(
        {"window": "09:00-18:00", "weekdays": "mon-fri", "skip_dates": ["2026-08-10", "2026-08-11"]}
    )
    assert hours is not None
    assert not hours.is_open(at(8, 10))  # a Saturday
    assert hours.next_opening(at(7, 18, 30)) == at(12, 9)  # Friday evening → Wednesday (Mon, Tue skipped)
    assert hours.describe() == "09:00-18:00 mon,tue,wed,thu,fri, 2 dates skipped"


def test_each_accepted_spelling_gives_the_same_window():
    expected = CallingHours(datetime.time(8), datetime.time(19), frozenset({0, 1, 2, 3, 4, 5}))
    assert CallingHours.parse("08:00-19:00 mon-sat") == expected
    assert (
        CallingHours.parse({"opens": "08:00", "closes": "19:00", "weekdays": [0, 1, 2, 3, 4, 5]}) == expected
    )
    assert CallingHours.parse(("08:00", "19:00")) == CallingHours(datetime.time(8), datetime.time(19))
    assert CallingHours.parse("08:00-19:00 fri-mon").weekdays == {4, 5, 6, 0}  # across the week's end
    assert CallingHours.parse(None) is None and CallingHours.parse("") is None  # no window: any hour


def test_a_window_until_24_00_is_open_until_midnight():
    hours = CallingHours.parse("00:00-24:00")
    assert hours is not None and hours.is_open(at(3, 23, 59)) and hours.is_open(at(3, 0, 0))
    assert hours.describe() == "00:00-24:00 every day"


@pytest.mark.parametrize(
    "value", ["19:00-08:00", "8-19", "08:00", "25:00-26:00", "08:00-19:00 someday", {"window": "x"}, 42]
)
def test_a_window_that_cannot_be_read_fails_when_the_dag_is_parsed(value):
    with pytest.raises(ExotelValidationError, match="calling_hours"):
        CallingHours.parse(value)


def test_preferred_times_narrow_the_window_for_that_person_only():
    hours = CallingHours.parse("08:00-19:00")
    assert hours is not None
    assert hours.narrowed(datetime.time(17, 30), None) == CallingHours(
        datetime.time(17, 30), datetime.time(19)
    )
    assert hours.narrowed(None, datetime.time(10)) == CallingHours(datetime.time(8), datetime.time(10))
    assert hours.narrowed(datetime.time(20), None) is None  # never inside the calling hours


def test_the_window_is_read_in_the_connections_time_zone():
    window = CallingWindow(CallingHours.parse("08:00-19:00"), ZoneInfo("UTC"))  # type: ignore[arg-type]
    ten_past_seven_utc = at(3, 7, 10, zone=ZoneInfo("UTC")).timestamp()  # 12:40 in India
    assert not window.is_open(ten_past_seven_utc)
    assert window.next_opening(ten_past_seven_utc) == at(3, 8, zone=ZoneInfo("UTC")).timestamp()


def test_a_check_outside_the_window_says_when_it_opens():
    window = CallingWindow(CallingHours.parse("08:00-19:00"), INDIA)  # type: ignore[arg-type]
    with pytest.raises(
        ExotelOutsideCallingHoursError, match=r"opens at 2026-08-04 08:00 \(Asia/Kolkata\)"
    ) as err:
        window.check(at(3, 21, 15).timestamp(), "+91 98765 XXXXX")
    assert err.value.opens_at == at(4, 8).timestamp()
    window.check(at(3, 9).timestamp())  # open: no error
