"""The request budget when the wall clock is set back (NTP, a VM resumed): it goes on refilling from
the new time instead of waiting for the clock to catch up, and still lets through no more than the
bucket and its refill."""

from __future__ import annotations

from exotel_provider.client.request_budget import RequestBudget


class SteppedClock:
    def __init__(self, now: float) -> None:
        self.at = now

    def now(self) -> float:
        return self.at

    async def sleep(self, seconds: float) -> None:
        self.at += seconds


def test_a_clock_set_back_an_hour_does_not_stall_the_budget():
    clock = SteppedClock(10_000.0)
    budget = RequestBudget(150, clock=clock)  # burst 3, refill 147 a minute
    assert [budget.reserve() for _ in range(budget.burst)] == [0.0] * budget.burst
    clock.at -= 3600  # the clock is set back an hour
    wait = budget.reserve()
    assert 0 < wait <= 60 / 147 + 1e-9  # one refill's wait, not an hour
    clock.at += wait
    assert budget.reserve() == 0.0


def test_after_the_step_back_no_more_than_the_refill_gets_through():
    clock = SteppedClock(10_000.0)
    budget = RequestBudget(150, clock=clock)
    clock.at -= 3600
    granted = 0
    for _ in range(1000):  # a try every 0.06 s for 60 s
        granted += budget.reserve() == 0.0
        clock.at += 0.06
    assert granted <= budget.burst + 147
