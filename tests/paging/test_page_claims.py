"""Claims on a shared store: exactly one winner among racing callbacks, cooldowns, and giving back."""

from __future__ import annotations

import threading
import time

import pytest

from exotel_provider.paging.incidents import (
    Claim,
    Incident,
    claim,
    claim_keys,
    claim_page,
    new_token,
)


class RacyStore:
    """A last-writer-wins store like Airflow Variables, with a network round trip on every read."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        self.writes = 0

    def read(self, key: str) -> str | None:
        value = self.values.get(key)  # what the server had when the request reached it
        time.sleep(0.02)  # ... reaches the caller a little later
        return value

    def write(self, key: str, value: str) -> None:
        self.writes += 1
        self.values[key] = value

    def remove(self, key: str) -> None:
        self.values.pop(key, None)


def _race(store: RacyStore, claimants: int, *, settle: float) -> list[bool]:
    barrier = threading.Barrier(claimants)
    results: list[bool] = [False] * claimants

    def run(index: int) -> None:
        barrier.wait()
        results[index] = claim(store, "k", new_token(), settle_seconds=settle)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(claimants)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_racing_claimants_that_all_found_the_key_empty_elect_exactly_one():
    store = RacyStore()
    results = _race(store, 8, settle=0.3)
    assert results.count(True) == 1
    assert store.writes >= 2  # several really raced: they all wrote, one token survived


def test_a_later_claimant_sees_the_live_claim_and_does_not_write():
    store = RacyStore()
    assert claim(store, "k", "first", settle_seconds=0)
    writes = store.writes
    assert not claim(store, "k", "second", settle_seconds=0)
    assert store.writes == writes


def test_a_cooldown_claim_expires_after_its_interval():
    store, now = RacyStore(), [1000.0]
    assert claim(store, "k", "a", live_for=60, settle_seconds=0, clock=lambda: now[0])
    now[0] += 59
    assert not claim(store, "k", "b", live_for=60, settle_seconds=0, clock=lambda: now[0])
    now[0] += 2
    assert claim(store, "k", "c", live_for=60, settle_seconds=0, clock=lambda: now[0])


def test_keys_per_run_per_task_and_every():
    task_a, task_b = Incident("d", "run1", "a"), Incident("d", "run1", "b")
    per_run = claim_keys(task_a, per="run", with_cooldown=False)
    assert per_run == claim_keys(task_b, per="run", with_cooldown=False)
    assert per_run != claim_keys(Incident("d", "run2", "a"), per="run", with_cooldown=False)
    assert claim_keys(task_a, per="task", with_cooldown=True) != claim_keys(
        task_b, per="task", with_cooldown=True
    )
    every = claim_keys(task_a, per="every", with_cooldown=False)
    assert every.incident is None and every.cooldown is None
    assert (
        len(claim_keys(Incident("d" * 250, "r" * 250), per="run", with_cooldown=False).incident or "") < 100
    )
    with pytest.raises(ValueError, match="per must be one of"):
        claim_keys(task_a, per="hourly", with_cooldown=False)  # type: ignore[arg-type]


def test_claim_page_dedups_the_run_and_applies_the_cooldown_across_runs():
    store = RacyStore()
    first = claim_page(store, Incident("d", "run1", "a"), per="run", min_interval=3600, settle_seconds=0)
    same_run = claim_page(store, Incident("d", "run1", "b"), per="run", min_interval=3600, settle_seconds=0)
    next_run = claim_page(store, Incident("d", "run2", "a"), per="run", min_interval=3600, settle_seconds=0)
    assert first.won and not same_run.won and not next_run.won
    assert "another callback pages about d/a (run run1)" in same_run.reason
    assert next_run.reason.startswith("cooldown after a page about d/a (run run1)")


def test_a_released_page_lets_the_next_callback_try_again():
    store = RacyStore()
    page = claim_page(store, Incident("d", "run1"), per="run", min_interval=60, settle_seconds=0)
    page.release()
    assert store.values == {}
    assert claim_page(store, Incident("d", "run1"), per="run", min_interval=60, settle_seconds=0).won


def test_an_unknown_run_is_paged_rather_than_silenced_for_ever():
    store = RacyStore()
    assert claim_page(store, Incident("d", ""), per="run", min_interval=None, settle_seconds=0).won
    assert claim_page(store, Incident("d", ""), per="run", min_interval=None, settle_seconds=0).won
    assert claim_page(store, None, per="run", min_interval=None, settle_seconds=0).won


def test_unreadable_stored_values_are_no_claim():
    assert Claim.loads(None) is None
    assert Claim.loads("not json") is None
    assert Claim.loads('{"token": "t"}') is None
