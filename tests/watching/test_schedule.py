"""When the watcher asks about a call again."""

from __future__ import annotations

from exotel_provider.watching.schedule import WatchSchedule

SCHEDULE = WatchSchedule()


def test_a_new_call_is_first_checked_one_poll_interval_later():
    assert SCHEDULE.first_check_at(1000.0, 30.0) == 1030.0


def test_calls_in_flight_are_checked_less_often_the_longer_they_run():
    assert SCHEDULE.next_check_in_flight(1060.0, 1000.0, 30.0) == 1090.0  # young: every poll interval
    assert SCHEDULE.next_check_in_flight(1400.0, 1000.0, 30.0) == 1500.0  # a quarter of its age
    assert SCHEDULE.next_check_in_flight(9000.0, 1000.0, 30.0) == 9120.0  # capped


def test_the_price_is_not_looked_for_before_it_can_be_expected():
    assert SCHEDULE.next_check_ended(1000.0, 1000.0, 30.0, 600.0) == 1060.0
    assert SCHEDULE.next_check_ended(1070.0, 1000.0, 30.0, 600.0) == 1100.0
    assert SCHEDULE.next_check_ended(1000.0, 1000.0, 1.0, 600.0) == 1002.0  # short poll interval: low latency


def test_the_grace_period_end_is_never_overslept():
    assert SCHEDULE.next_check_ended(1000.0, 1000.0, 30.0, 45.0) == 1045.0


def test_unlisted_calls_are_looked_up_once_they_must_have_ended():
    assert SCHEDULE.first_lookup_at(1000.0, 60) == 1000.0 + 60 + 180
    assert SCHEDULE.first_lookup_at(1000.0, None) == 1000.0 + 900
    assert SCHEDULE.first_lookup_at(1000.0, 14400) == 1000.0 + 900


def test_later_lookups_double_their_spacing_up_to_an_hour():
    assert SCHEDULE.next_lookup_at(0.0, 1) == 900.0
    assert SCHEDULE.next_lookup_at(0.0, 2) == 1800.0
    assert SCHEDULE.next_lookup_at(0.0, 5) == 3600.0
