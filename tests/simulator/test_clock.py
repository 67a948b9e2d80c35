"""The simulated clock and Exotel's India-time timestamps."""

from __future__ import annotations

import time

import pytest

from exotel_provider.simulator.clock import SimulatedClock, format_exotel_time, parse_exotel_time


def test_timestamps_are_india_time_without_zone() -> None:
    assert format_exotel_time(0) == "1970-01-01 05:30:00"
    assert parse_exotel_time("1970-01-01 05:30:00") == 0


def test_timestamps_round_trip_to_the_second() -> None:
    now = time.time()
    assert parse_exotel_time(format_exotel_time(now)) == int(now)


def test_frozen_clock_moves_only_when_advanced() -> None:
    clock = SimulatedClock(0, start=1000.0)
    time.sleep(0.01)
    assert clock.now() == 1000.0
    assert clock.advance(60) == 1060.0


def test_scaled_clock_runs_faster_than_the_wall_clock() -> None:
    clock = SimulatedClock(1000, start=0.0)
    time.sleep(0.02)
    assert clock.now() >= 20
    assert clock.real_seconds(60) == pytest.approx(0.06)


def test_clock_never_goes_back() -> None:
    with pytest.raises(ValueError):
        SimulatedClock(1).advance(-1)
    with pytest.raises(ValueError):
        SimulatedClock(-1)
