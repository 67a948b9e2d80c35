"""Pacing and progress of a campaign: pure timing, on a fake clock."""

from __future__ import annotations

import itertools

import pytest

from exotel_provider.campaigns.pacing import RequestPacer, watching_reserve
from exotel_provider.campaigns.progress import CampaignProgress


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def sent_at(pacer: RequestPacer, clock: FakeClock, requests: int) -> list[float]:
    times = []
    for _ in range(requests):
        pacer.wait_turn()
        times.append(clock.now)
    return times


def test_requests_are_evenly_spaced_and_never_exceed_the_rate_in_any_minute():
    clock = FakeClock()
    pacer = RequestPacer(120, clock=clock, sleep=clock.sleep)
    times = sent_at(pacer, clock, 300)
    assert all(b - a == pytest.approx(0.5) for a, b in itertools.pairwise(times))
    assert max(sum(start <= t < start + 60 for t in times) for start in times) == 120


def test_placing_leaves_part_of_the_budget_to_watching():
    pacer = RequestPacer.for_budget(150)
    assert pacer.rate_per_minute == 150 - watching_reserve(150) == 142
    assert RequestPacer.for_budget(200, reserve=50).rate_per_minute == 150
    assert RequestPacer.for_budget(1).rate_per_minute == 1


def test_a_429_holds_the_next_request_for_retry_after():
    clock = FakeClock()
    pacer = RequestPacer(600, clock=clock, sleep=clock.sleep)
    pacer.wait_turn()
    pacer.back_off(7.0)
    before = clock.now
    pacer.wait_turn()
    assert clock.now - before == pytest.approx(7.0)
    pacer.back_off(None)  # no Retry-After: a default pause
    before = clock.now
    pacer.wait_turn()
    assert clock.now - before >= 1.0


def test_a_slow_sender_is_not_made_to_wait():
    clock = FakeClock()
    pacer = RequestPacer(60, clock=clock, sleep=clock.sleep)
    pacer.wait_turn()
    clock.now += 5  # the request itself took longer than the spacing
    pacer.wait_turn()
    assert clock.slept == []


def test_progress_line_is_due_every_30_seconds_and_counts_outcomes():
    clock = FakeClock()
    progress = CampaignProgress(1500, clock=clock)
    progress.count("placed", 118)
    progress.count("not placed", 2)
    assert not progress.due()
    clock.now += 30
    assert progress.due() and not progress.due()
    assert (
        progress.line("placed or settled")
        == "120/1500 calls placed or settled after 30 s: not placed 2, placed 118"
    )
