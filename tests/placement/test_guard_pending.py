"""The guard without searching (``place(search=False)``): a lost answer is kept with its window and
the moment one look can decide it, never looked for over time; a later look over the window that
began at ``sent_at`` adopts the call, proves none was placed and dials, or waits again."""

from __future__ import annotations

from typing import Any

import pytest
from placement_doubles import T0, DictStore, FakeExotel, StepClock, connect_request, listed_call, lost_answer

from exotel_provider.errors import ExotelCallOutcomePendingError, ExotelCallOutcomeUnknownError
from exotel_provider.placement import GuardPolicy, Origin, PlacementGuard
from exotel_provider.placement.reconciliation import PlacementAttempt
from exotel_provider.placement.state_store import CarriedStateStore, PlacementRecord

REQUEST = connect_request(time_limit=300, time_out=30)
PENDING = "exotel_pending_placement"


def guard(store: Any, exotel: FakeExotel, **kwargs: Any) -> PlacementGuard:
    policy = GuardPolicy(reconcile_timeout=4000, poll_interval=60)
    return PlacementGuard(store, exotel, policy=policy, clock=exotel.clock, **kwargs)


@pytest.fixture
def exotel() -> FakeExotel:
    return FakeExotel(StepClock())


def lost_at_t0(exotel: FakeExotel, store: Any) -> ExotelCallOutcomePendingError:
    exotel.placing.append(lost_answer())
    with pytest.raises(ExotelCallOutcomePendingError) as caught:
        guard(store, exotel).place(REQUEST, search=False)
    return caught.value


def test_a_lost_answer_is_kept_with_its_window_and_never_looked_for_over_time(exotel):
    store = DictStore()

    pending = lost_at_t0(exotel, store)

    assert (exotel.posts, exotel.listing_reads, exotel.clock.slept) == (1, 0, [])  # no search, no sleep
    assert store.values[PENDING] == {"sent_at": T0, "settled_at": T0}
    assert (pending.sent_at, pending.settled_at) == (T0, T0)
    assert pending.complete_at == PlacementAttempt(REQUEST, T0, T0).certainly_listed_by()
    assert isinstance(pending, ExotelCallOutcomeUnknownError)  # whoever does not wait fails safe


def test_one_look_once_the_window_is_complete_adopts_the_call_and_never_dials(exotel):
    store = DictStore()
    pending = lost_at_t0(exotel, store)
    exotel.add(listed_call("ours", T0 + 1), listed_at=T0 + 400)
    exotel.clock.time = pending.complete_at

    placement = guard(store, exotel).place(REQUEST, search=False)

    assert (placement.call.sid, placement.origin, exotel.posts, exotel.listing_reads) == (
        "ours",
        Origin.ADOPTED,
        1,
        1,
    )
    assert store.values["exotel_placed_call_sid"] == "ours"


def test_one_look_proving_no_call_was_placed_dials_once(exotel):
    store = DictStore()
    pending = lost_at_t0(exotel, store)
    exotel.clock.time = pending.complete_at
    exotel.placing.append(listed_call("second", pending.complete_at))

    placement = guard(store, exotel).place(REQUEST, search=False)

    assert (placement.call.sid, placement.origin, exotel.posts) == ("second", Origin.PLACED, 2)


def test_a_look_before_the_window_is_complete_dials_nobody_and_keeps_the_same_window(exotel):
    store = DictStore()
    pending = lost_at_t0(exotel, store)
    exotel.add(listed_call("sibling", T0 + 2), listed_at=T0 + 60)  # listed while ours may still ring
    exotel.clock.time = T0 + 600

    with pytest.raises(ExotelCallOutcomePendingError) as caught:
        guard(store, exotel, earlier_tries_since=T0 - 60).place(REQUEST, search=False)

    assert (exotel.posts, exotel.listing_reads) == (1, 1)
    assert (caught.value.sent_at, caught.value.settled_at, caught.value.complete_at) == (
        T0, T0, pending.complete_at,
    )  # fmt: skip
    assert caught.value.candidate_sids == ("sibling",)
    assert store.values[PENDING] == {"sent_at": T0, "settled_at": T0}


def test_two_candidates_fail_safe_at_once_without_waiting_for_the_window(exotel):
    store = DictStore()
    lost_at_t0(exotel, store)
    exotel.add(listed_call("sibling", T0 - 10), listed_at=T0 + 60)
    exotel.add(listed_call("ours", T0 + 1), listed_at=T0 + 120)
    exotel.clock.time = T0 + 600

    with pytest.raises(ExotelCallOutcomeUnknownError) as caught:
        guard(store, exotel).place(REQUEST, search=False)

    assert not isinstance(caught.value, ExotelCallOutcomePendingError)
    assert set(caught.value.candidate_sids) == {"sibling", "ours"} and exotel.posts == 1


def test_a_crashed_try_s_open_mark_is_closed_at_first_sight_so_waiting_can_end(exotel):
    store = DictStore()
    store.set("exotel_guarded", {"since": T0})
    store.set(PENDING, {"sent_at": T0})  # the worker died after sending: no answer recorded
    exotel.clock.time = T0 + 100

    with pytest.raises(ExotelCallOutcomePendingError) as caught:
        guard(store, exotel, earlier_tries_since=T0 - 60).place(REQUEST, search=False)

    assert store.values[PENDING] == {"sent_at": T0, "settled_at": T0 + 100}
    assert caught.value.complete_at == PlacementAttempt(REQUEST, T0, T0 + 100).certainly_listed_by()
    assert exotel.posts == 0


def test_a_carried_window_is_the_memory_of_a_task_without_a_state_store(exotel):
    pending = lost_at_t0(exotel, None)  # Airflow 3.1/3.2: nothing kept but what the task carries
    exotel.add(listed_call("ours", T0 + 1), listed_at=T0 + 400)
    exotel.clock.time = pending.complete_at
    carried = CarriedStateStore((pending.sent_at, pending.settled_at))

    placement = guard(carried, exotel).place(REQUEST, search=False)

    assert (placement.call.sid, placement.origin, exotel.posts) == ("ours", Origin.ADOPTED, 1)
    assert PlacementRecord(carried).sid() == "ours"
