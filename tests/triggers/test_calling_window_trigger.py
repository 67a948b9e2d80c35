"""CallingWindowTrigger: waits on the placement clock in bounded steps, follows a clock that runs fast
or is moved on by hand, and fires only once that clock reads the window's opening (fake clocks: no
real sleeps)."""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Callable

import pytest

from exotel_provider.placement import guard
from exotel_provider.triggers import calling_window
from exotel_provider.triggers.calling_window import (
    CHECK_SECONDS,
    SETTLE_SECONDS,
    CallingWindowTrigger,
    next_check,
)

EVENING = 1_785_000_000.0  # any moment: the trigger knows nothing of days
NIGHT = 13 * 3600.0  # 19:00 to 08:00


class FakeTime:
    """Real seconds that pass only when the trigger sleeps, and a placement clock running ``speed``
    times as fast, which a test may move on by hand at a given real moment."""

    def __init__(self, speed: float = 1.0) -> None:
        self.real = 0.0
        self.speed = speed
        self.jumps = 0.0
        self.sleeps: list[float] = []
        self.readings: list[float] = []
        self.at_real: list[tuple[float, Callable[[], None]]] = []

    def placement(self) -> float:
        now = EVENING + self.real * self.speed + self.jumps
        self.readings.append(now)
        return now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.real += seconds
        due = [action for moment, action in self.at_real if moment <= self.real]
        self.at_real = [(moment, action) for moment, action in self.at_real if moment > self.real]
        for action in due:
            action()


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], FakeTime]:
    def install(speed: float) -> FakeTime:
        fake = FakeTime(speed)
        monkeypatch.setattr(guard, "DEFAULT_CLOCK", guard.FunctionClock(fake.placement, time.sleep))
        monkeypatch.setattr(calling_window, "_sleep", fake.sleep)
        monkeypatch.setattr(calling_window, "_real_seconds", lambda: fake.real)
        return fake

    return install


async def run_to_event(trigger: CallingWindowTrigger) -> dict:
    [event] = [event async for event in trigger.run()]
    return event.payload


def test_serialised_kwargs_are_json_and_rebuild_the_same_trigger():
    trigger = CallingWindowTrigger(EVENING + NIGHT, window="08:00-19:00 every day (Asia/Kolkata)")
    classpath, kwargs = trigger.serialize()
    assert classpath == "exotel_provider.triggers.calling_window.CallingWindowTrigger"
    assert CallingWindowTrigger(**json.loads(json.dumps(kwargs))).serialize() == (classpath, kwargs)


async def test_a_window_already_open_fires_once_the_deferral_has_settled(fake_time):
    fake = fake_time(1.0)
    payload = await run_to_event(CallingWindowTrigger(EVENING - 60))
    assert payload == {"status": "open", "opens_at": EVENING - 60, "now": EVENING + SETTLE_SECONDS}
    assert fake.sleeps == [SETTLE_SECONDS]  # no sooner: Airflow could fail a task resumed that fast


async def test_on_the_machines_clock_a_night_passes_in_steps_of_at_most_a_minute(fake_time):
    fake = fake_time(1.0)
    payload = await run_to_event(CallingWindowTrigger(EVENING + NIGHT))
    assert payload["now"] == pytest.approx(EVENING + NIGHT)  # fires on time, not before
    assert payload["now"] >= EVENING + NIGHT
    assert max(fake.sleeps) == CHECK_SECONDS
    assert len(fake.sleeps) == pytest.approx(NIGHT / CHECK_SECONDS, abs=3)  # no busy loop


async def test_a_clock_running_120_times_faster_is_followed(fake_time):
    fake = fake_time(120.0)
    payload = await run_to_event(CallingWindowTrigger(EVENING + NIGHT))
    assert EVENING + NIGHT <= payload["now"] < EVENING + NIGHT + 1
    assert fake.real == pytest.approx(NIGHT / 120, abs=1.5)  # the night passes at the clock's speed
    between = [later - earlier for earlier, later in itertools.pairwise(fake.readings[1:])]
    assert max(between) <= CHECK_SECONDS + 1e-6  # after the first step, a minute of that clock at most


async def test_a_clock_moved_on_by_hand_to_just_before_the_opening_is_followed(fake_time):
    fake = fake_time(1.0)
    moved_at = 600.0  # ten minutes into the night, the clock jumps to two minutes before 08:00

    def move_on() -> None:
        fake.jumps = NIGHT - 120 - fake.real

    fake.at_real.append((moved_at, move_on))
    payload = await run_to_event(CallingWindowTrigger(EVENING + NIGHT))
    assert payload["now"] >= EVENING + NIGHT
    assert fake.real - moved_at <= CHECK_SECONDS + 120 + 1  # noticed within one step, not at 08:00 real


@pytest.mark.parametrize(
    ("remaining", "speed", "expected"),
    [
        (3600.0, None, 1.0),  # speed unknown: read again after a second
        (3600.0, 1.0, 60.0),
        (30.0, 1.0, 30.0),  # shorter near the end
        (3600.0, 120.0, 0.5),  # a minute of a clock 120 times faster
        (3600.0, 1e6, 0.05),  # a jump: read again soon, never in a busy loop
        (3600.0, -5.0, 60.0),  # a clock read back: as the machine's
    ],
)
def test_the_next_reading_comes_within_a_minute_of_real_and_of_clock_time(remaining, speed, expected):
    assert next_check(remaining, speed) == pytest.approx(expected)
