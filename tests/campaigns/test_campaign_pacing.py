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


def max_in_any_minute(times: list[float]) -> int:
    return max(sum(start <= t < start + 60 for t in times) for start in times)


def test_requests_are_evenly_spaced_and_never_exceed_the_rate_in_any_minute():
    clock = FakeClock()
    pacer = RequestPacer(120, clock=clock, sleep=clock.sleep)
    times = sent_at(pacer, clock, 300)
    assert pacer.burst == 2
    assert all(b - a == pytest.approx(60 / 119) for a, b in itertools.pairwise(times[1:]))
    assert max_in_any_minute(times) == 120


def test_a_late_request_makes_up_the_slots_it_missed_but_never_more_than_the_burst():
    clock = FakeClock()
    pacer = RequestPacer(600, burst=4, clock=clock, sleep=clock.sleep)  # a slot every 60/597 s
    sent_at(pacer, clock, 10)
    clock.now += 3.0  # the placing threads were busy (a ledger write): about 30 slots went by
    clock.slept.clear()
    times = sent_at(pacer, clock, 8)
    assert len(clock.slept) == 4  # the late requests go at once: 4 back to back ...
    assert times[:4] == [times[0]] * 4
    assert all(b - a == pytest.approx(60 / 597) for a, b in itertools.pairwise(times[3:]))  # ... then spaced


def test_made_up_slots_keep_every_minute_within_the_rate():
    clock = FakeClock()
    pacer = RequestPacer(190, clock=clock, sleep=clock.sleep)
    times = []
    for i in range(1000):
        if i % 7 == 0:
            clock.now += 0.3  # late now and then, by about a slot
        pacer.wait_turn()
        times.append(clock.now)
    assert max_in_any_minute(times) <= 190
    assert 60 * len(times) / (times[-1] - times[0]) >= 188  # the missed slots were made up


def test_after_a_429_no_slot_before_the_pause_is_made_up():
    clock = FakeClock()
    pacer = RequestPacer(600, burst=4, clock=clock, sleep=clock.sleep)
    pacer.wait_turn()
    pacer.back_off(10.0)
    clock.now += 12.0  # 2 s of slots after the pause went by, 20 missed: the burst at most
    times = sent_at(pacer, clock, 6)
    assert times[:4] == [times[0]] * 4 and times[4] > times[0]
    clock2 = FakeClock()
    paused = RequestPacer(600, burst=4, clock=clock2, sleep=clock2.sleep)
    paused.wait_turn()
    paused.back_off(10.0)
    clock2.now += 10.0  # arriving just as the pause ends: nothing missed, nothing made up
    times = sent_at(paused, clock2, 3)
    assert times[1] - times[0] == pytest.approx(60 / 597)


def test_burst_is_at_least_two_slots_and_at_most_the_rate():
    assert RequestPacer(190).burst == 2
    assert RequestPacer(1140).burst == 10  # the slots of half a second
    assert RequestPacer(1).burst == 1
    with pytest.raises(ValueError):
        RequestPacer(10, burst=11)


def test_placing_leaves_part_of_a_shared_budget_to_watching():
    pacer = RequestPacer.for_budget(150)
    assert pacer.rate_per_minute == 150 - watching_reserve(150) == 142
    assert RequestPacer.for_budget(200, reserve=50).rate_per_minute == 150
    assert RequestPacer.for_budget(1).rate_per_minute == 1


def test_a_budget_no_watcher_shares_is_left_whole_to_placing():
    assert watching_reserve(150, shared=False) == 0
    pacer = RequestPacer.for_budget(150, shared=False)
    assert pacer.rate_per_minute == 150
    assert pacer.interval == pytest.approx(60 / 150)  # spaced at the whole budget: its window is the budget's
    assert RequestPacer.for_budget(150).interval == pytest.approx(60 / (142 - pacer.burst + 1))


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
