"""A campaign's day on the simulator's clock: the provider reads the (frozen) simulator's time, and
every wait it makes (pacing, room for calls in flight) moves that clock on instead of sleeping, so a
whole evening passes in seconds and the simulator's request log shows when each request arrived.
The account's request budget (200 a minute) counts on the same clock."""

from __future__ import annotations

import datetime
import threading
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from exotel_provider.campaigns import pacing
from exotel_provider.client import request_budget
from exotel_provider.placement import guard

INDIA = ZoneInfo("Asia/Kolkata")


class SimulatorTime:
    """``now()`` and ``sleep()`` on a frozen simulator: a sleep moves the simulator on to the moment the
    sleeper waits for (threads waiting side by side each reach their own moment; waits never add up)."""

    def __init__(self, simulator: Any) -> None:
        self.simulator = simulator
        self._lock = threading.Lock()

    def now(self) -> float:
        return float(self.simulator.now())

    def sleep(self, seconds: float) -> None:
        with self._lock:
            until = self.now() + max(0.0, seconds)
        self.move_to(until)

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)

    def move_to(self, moment: float) -> None:
        with self._lock:
            ahead = moment - self.now()
            if ahead > 0:
                self.simulator.advance(ahead)


def provider_on_simulator_time(monkeypatch: pytest.MonkeyPatch, simulator: Any) -> SimulatorTime:
    """The provider's clock (``placement.guard.DEFAULT_CLOCK``) and every campaign's pacer on the
    simulator's time."""
    clock = SimulatorTime(simulator)
    monkeypatch.setattr(guard, "DEFAULT_CLOCK", guard.FunctionClock(clock.now, clock.sleep))
    for_budget = pacing.RequestPacer.for_budget.__func__  # type: ignore[attr-defined]

    def on_simulator_time(cls: Any, budget: int, **kwargs: Any) -> pacing.RequestPacer:
        return for_budget(cls, budget, **{**kwargs, "clock": clock.now, "sleep": clock.sleep})

    monkeypatch.setattr(pacing.RequestPacer, "for_budget", classmethod(on_simulator_time))
    budget_clock = SimpleNamespace(now=clock.now, sleep=clock.asleep)
    monkeypatch.setattr(request_budget, "_WALL_CLOCK", budget_clock)  # the account's budget, on this clock
    acquire = request_budget.AccountBudget.acquire_blocking

    def acquire_on_simulator_time(self: Any, sleep: Any = None) -> Any:
        return acquire(self, clock.sleep)  # a wait for the budget moves the simulator on too

    monkeypatch.setattr(request_budget.AccountBudget, "acquire_blocking", acquire_on_simulator_time)
    return clock


def next_india_time(simulator: Any, hh_mm: str) -> float:
    """The next moment (from the simulator's now) that is ``hh_mm`` in India."""
    now = datetime.datetime.fromtimestamp(simulator.now(), INDIA)
    moment = datetime.datetime.combine(now.date(), datetime.time.fromisoformat(hh_mm), INDIA)
    if moment <= now:
        moment += datetime.timedelta(days=1)
    return moment.timestamp()


def india_time(epoch: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(epoch, INDIA)


def inside(epoch: float, opens: str = "08:00", closes: str = "19:00") -> bool:
    """Whether ``epoch`` is inside the window in India time."""
    local = india_time(epoch).time()
    return datetime.time.fromisoformat(opens) <= local < datetime.time.fromisoformat(closes)
