"""The request budget: never more than N requests in any 60 s, and a pause after a 429."""

from __future__ import annotations

import itertools
from collections import deque

import pytest

from exotel_provider.client.request_budget import DEFAULT_PAUSE_AFTER_429_SECONDS, RequestBudget
from tests.support.clock import VirtualClock


async def send(limiter: RequestBudget) -> None:
    """One request let through by the budget, its answer back at once."""
    await limiter.arelease(await limiter.acquire())


def max_in_any_window(times: list[float], window: float = 60.0) -> int:
    recent: deque[float] = deque()
    peak = 0
    for t in times:
        recent.append(t)
        while recent[0] <= t - window:
            recent.popleft()
        peak = max(peak, len(recent))
    return peak


@pytest.mark.parametrize("budget", [1, 7, 150, 200])
async def test_never_more_than_the_budget_in_any_minute(budget):
    clock = VirtualClock(start=1_000_000.0)
    limiter = RequestBudget(budget, clock=clock)
    granted = []
    for _ in range(budget * 4):
        await send(limiter)
        granted.append(clock.now())
    assert max_in_any_window(granted) <= budget
    assert limiter.granted == budget * 4


async def test_a_steady_sender_gets_the_whole_budget():
    clock = VirtualClock(start=1_000_000.0)
    limiter = RequestBudget(150, clock=clock)
    start = clock.now()
    granted = []
    for _ in range(150 * 5):
        await send(limiter)
        granted.append(clock.now())
    assert clock.now() - start < 5 * 60  # 5 minutes' worth in 5 minutes (98 %: 305 s)
    assert max_in_any_window(granted) == 150


async def test_requests_stay_spaced_beyond_the_burst():
    clock = VirtualClock(start=1_000_000.0)
    limiter = RequestBudget(150, clock=clock)  # burst 3
    granted = []
    for _ in range(10):
        await send(limiter)
        granted.append(clock.now() - 1_000_000.0)
    assert granted[:3] == [0.0, 0.0, 0.0]
    gaps = [later - earlier for earlier, later in itertools.pairwise(granted[2:])]
    assert all(gap == pytest.approx(60 / 150) for gap in gaps)


async def test_a_lowered_budget_counts_the_requests_already_sent():
    clock = VirtualClock(start=1_000_000.0)
    limiter = RequestBudget(150, clock=clock)
    for _ in range(100):
        await send(limiter)
    assert clock.now() < 1_000_000.0 + 40
    limiter.limit_to(100)
    await send(limiter)
    assert clock.now() >= 1_000_000.0 + 60  # the window of the last 100 is full until the first is 60 s old


async def test_pause_holds_every_request_for_retry_after():
    clock = VirtualClock(start=1_000_000.0)
    limiter = RequestBudget(150, clock=clock)
    await send(limiter)
    limiter.pause(42.0)
    paused_at = clock.now()
    await send(limiter)
    assert clock.now() >= paused_at + 42.0


async def test_pause_without_retry_after_uses_the_default():
    clock = VirtualClock(start=1_000_000.0)
    limiter = RequestBudget(150, clock=clock)
    limiter.pause(None)
    assert limiter.paused_until == clock.now() + DEFAULT_PAUSE_AFTER_429_SECONDS


def test_budget_must_be_positive():
    with pytest.raises(ValueError):
        RequestBudget(0)


async def test_a_request_counts_until_60_s_after_its_answer_came_back():
    clock = VirtualClock(start=1_000_000.0)
    limiter = RequestBudget(2, clock=clock, burst=2)
    first, second = await limiter.acquire(), await limiter.acquire()  # both let through at once
    clock.advance(10.0)
    limiter.release(first)  # a slow answer: this request may have reached Exotel just now
    clock.advance(20.0)
    limiter.release(second)
    await send(limiter)
    assert clock.now() == pytest.approx(1_000_000.0 + 70.0)  # 60 s after the first answer, not the send


async def test_requests_awaiting_their_answers_hold_their_slots():
    clock = VirtualClock(start=1_000_000.0)
    limiter = RequestBudget(2, clock=clock, burst=2)
    await limiter.acquire()
    await limiter.acquire()
    clock.advance(300.0)
    assert limiter.reserve_slot() == (pytest.approx(0.05), None)  # asked again shortly, nothing taken
