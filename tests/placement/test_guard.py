"""Every dial-or-not decision of the guard, without Airflow and without HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from placement_doubles import T0, DictStore, FakeExotel, StepClock, connect_request, listed_call, lost_answer

from exotel_provider.errors import (
    ExotelAuthenticationError,
    ExotelCallOutcomeUnknownError,
    ExotelPlacedCallNotFoundError,
    ExotelPlacementNotSavedError,
    ExotelRateLimitError,
    ExotelServerError,
    ExotelTransportError,
)
from exotel_provider.placement import GuardPolicy, Origin, PlacementGuard
from exotel_provider.placement.task_memory import NEVER_EXPIRE, TaskMemory

REQUEST = connect_request(time_limit=300, time_out=30)
COMPLETE_AFTER = 300 + 900 + 30 + 300 + 600  # skew, queue, ring, TimeLimit, listing delay


def guard(store: Any, exotel: FakeExotel, **kwargs: Any) -> PlacementGuard:
    policy = kwargs.pop("policy", GuardPolicy(reconcile_timeout=4000, poll_interval=60))
    return PlacementGuard(store, exotel, policy=policy, clock=exotel.clock, **kwargs)


@pytest.fixture
def exotel() -> FakeExotel:
    return FakeExotel(StepClock())


def test_a_first_try_marks_pending_dials_and_saves_the_sid_which_supersedes_the_mark(exotel):
    store = DictStore()
    exotel.placing.append(listed_call("new", T0))

    placement = guard(store, exotel).place(REQUEST)

    assert (placement.call.sid, placement.origin, exotel.posts) == ("new", Origin.PLACED, 1)
    assert store.writes == ["exotel_guarded", "exotel_pending_placement", "exotel_placed_call_sid"]
    assert store.values["exotel_placed_call_sid"] == "new"  # a later try reads it first (see below)
    assert "exotel_pending_placement" in store.values  # not deleted: one state-store round trip fewer


def test_a_remembered_sid_is_reused_and_never_dialled_again(exotel):
    store = DictStore()
    exotel.add(listed_call("first", T0), listed_at=T0)
    store.set("exotel_placed_call_sid", "first")

    placement = guard(store, exotel, earlier_tries_since=T0).place(REQUEST)

    assert (placement.call.sid, placement.origin, exotel.posts) == ("first", Origin.REUSED, 0)


def test_a_remembered_sid_that_reads_404_is_never_a_reason_to_dial(exotel):
    store = DictStore()
    store.set("exotel_placed_call_sid", "gone")

    with pytest.raises(ExotelPlacedCallNotFoundError) as caught:
        guard(store, exotel, earlier_tries_since=T0).place(REQUEST)

    assert exotel.posts == 0
    assert caught.value.call_sid == "gone"
    assert "gone" in str(caught.value) and "account_sid and region" in str(caught.value)


def test_a_remembered_sid_that_reads_again_after_a_404_is_reused(exotel):
    store = DictStore()
    exotel.add(listed_call("first", T0), listed_at=T0)
    exotel.not_found_reads = 2
    store.set("exotel_placed_call_sid", "first")

    placement = guard(store, exotel, earlier_tries_since=T0).place(REQUEST)

    assert (placement.origin, exotel.posts, len(exotel.clock.slept)) == (Origin.REUSED, 0, 2)


def test_a_lost_answer_adopts_the_one_call_once_the_window_is_complete(exotel):
    store = DictStore()
    exotel.placing.append(lost_answer())
    exotel.add(listed_call("ours", T0 + 1), listed_at=T0 + 400)

    placement = guard(store, exotel).place(REQUEST)

    assert (placement.call.sid, placement.origin, exotel.posts) == ("ours", Origin.ADOPTED, 1)
    assert exotel.clock.now() >= T0 + COMPLETE_AFTER
    assert store.values["exotel_placed_call_sid"] == "ours"  # read first by any later try


def test_a_sibling_listed_while_ours_may_still_ring_is_not_adopted(exotel):
    exotel.placing.append(lost_answer())
    exotel.add(listed_call("sibling", T0 + 2), listed_at=T0 + 60)  # ended first; ours never listed
    short = GuardPolicy(reconcile_timeout=600, poll_interval=60)

    with pytest.raises(ExotelCallOutcomeUnknownError) as caught:
        guard(DictStore(), exotel, policy=short).place(REQUEST)

    assert caught.value.candidate_sids == ("sibling",)
    assert "not adopting it" in str(caught.value) and exotel.posts == 1


def test_two_candidates_fail_safe_naming_both(exotel):
    exotel.placing.append(lost_answer())
    exotel.add(listed_call("sibling", T0 - 10), listed_at=T0 + 60)
    exotel.add(listed_call("ours", T0 + 1), listed_at=T0 + 120)

    with pytest.raises(ExotelCallOutcomeUnknownError) as caught:
        guard(DictStore(), exotel).place(REQUEST)

    assert set(caught.value.candidate_sids) == {"sibling", "ours"}
    assert "sibling" in str(caught.value) and "ours" in str(caught.value) and exotel.posts == 1


def test_siblings_outside_the_window_are_ignored(exotel):
    exotel.placing.append(lost_answer())
    exotel.add(listed_call("before", T0 - 3600), listed_at=T0 - 3000)
    exotel.add(listed_call("ours", T0 + 1), listed_at=T0 + 500)
    exotel.add(listed_call("after", T0 + 1800), listed_at=T0 + 1900)

    assert guard(DictStore(), exotel).place(REQUEST).call.sid == "ours"


def test_a_lost_answer_proven_to_have_placed_nothing_dials_again(exotel):
    exotel.placing.extend([lost_answer(), listed_call("second", T0 + 3000)])

    placement = guard(DictStore(), exotel).place(REQUEST)

    assert (placement.call.sid, placement.origin, exotel.posts) == ("second", Origin.PLACED, 2)


def test_a_pending_mark_from_an_earlier_try_is_resolved_before_dialling(exotel):
    store = DictStore()
    store.set("exotel_guarded", {"since": T0 - 100})
    store.set("exotel_pending_placement", {"sent_at": T0 - 100})
    exotel.add(listed_call("ours", T0 - 99), listed_at=T0 + 200)

    placement = guard(store, exotel, earlier_tries_since=T0 - 500).place(REQUEST)

    assert (placement.call.sid, placement.origin, exotel.posts) == ("ours", Origin.ADOPTED, 0)


def test_an_earlier_try_that_left_no_pending_mark_lets_the_retry_dial(exotel):
    store = DictStore()
    store.set("exotel_guarded", {"since": T0 - 100})  # e.g. its request was refused with a 401
    exotel.placing.append(listed_call("new", T0))

    assert guard(store, exotel, earlier_tries_since=T0 - 500).place(REQUEST).origin is Origin.PLACED


@pytest.mark.parametrize("store", [None, DictStore()], ids=["no-store", "emptied-store"])
def test_a_later_try_that_knows_nothing_never_dials_while_an_earlier_call_may_be_unlisted(exotel, store):
    run_start = T0 - 2 * 3600  # the earlier try may have sent its request at any time since
    short = GuardPolicy(reconcile_timeout=600, poll_interval=60)

    with pytest.raises(ExotelCallOutcomeUnknownError) as caught:
        guard(store, exotel, policy=short, earlier_tries_since=run_start).place(REQUEST)

    assert exotel.posts == 0 and "may have been placed" in str(caught.value)


def test_a_later_try_that_knows_nothing_dials_once_no_earlier_call_can_be_unlisted(exotel):
    exotel.placing.append(listed_call("new", T0 + COMPLETE_AFTER))

    placement = guard(None, exotel, earlier_tries_since=T0 - 7200).place(REQUEST)

    assert (placement.origin, exotel.posts) == (Origin.PLACED, 1)
    assert exotel.clock.now() >= T0 + COMPLETE_AFTER


def test_a_later_try_that_knows_nothing_names_the_call_listed_for_this_run(exotel):
    exotel.add(listed_call("earlier", T0 - 3000), listed_at=T0 - 2000)
    short = GuardPolicy(reconcile_timeout=600, poll_interval=60)

    with pytest.raises(ExotelCallOutcomeUnknownError) as caught:
        guard(DictStore(), exotel, policy=short, earlier_tries_since=T0 - 7200).place(REQUEST)

    assert caught.value.candidate_sids == ("earlier",) and exotel.posts == 0


@pytest.mark.parametrize(
    "failure",
    [
        ExotelRateLimitError("429", retry_after=5),
        ExotelServerError("502", status_code=502),
        ExotelTransportError("timed out"),
    ],
    ids=["429", "5xx", "timeout"],
)
def test_failed_listing_reads_mean_not_listed_yet(exotel, failure):
    exotel.placing.append(lost_answer())
    exotel.listing_errors.extend([failure] * 5)
    exotel.add(listed_call("ours", T0 + 1), listed_at=T0 + 100)

    placement = guard(DictStore(), exotel).place(REQUEST)

    assert (placement.call.sid, placement.origin) == ("ours", Origin.ADOPTED)
    assert exotel.listing_reads > 5


def test_listing_reads_failing_to_the_end_give_the_unknown_outcome_error(exotel):
    exotel.placing.append(lost_answer())
    exotel.listing_errors.extend([ExotelRateLimitError("429")] * 100)

    with pytest.raises(ExotelCallOutcomeUnknownError) as caught:
        guard(DictStore(), exotel).place(REQUEST)

    assert "listing reads failed (last: ExotelRateLimitError)" in str(caught.value)


def test_rejected_credentials_while_looking_stop_the_search_at_once(exotel):
    exotel.placing.append(lost_answer())
    exotel.listing_errors.append(ExotelAuthenticationError("401", status_code=401))

    with pytest.raises(ExotelCallOutcomeUnknownError) as caught:
        guard(DictStore(), exotel).place(REQUEST)

    assert exotel.listing_reads == 1 and "ExotelAuthenticationError" in str(caught.value)


def test_many_calls_in_one_store_each_have_their_own_keys(exotel):
    store = DictStore()
    exotel.placing.extend([listed_call("a", T0), listed_call("b", T0)])
    first = guard(store, exotel, key_prefix="exotel_campaign_1_").place(REQUEST)
    second = guard(store, exotel, key_prefix="exotel_campaign_2_").place(
        connect_request(from_number="+919811111111")
    )

    again = guard(store, exotel, key_prefix="exotel_campaign_1_", earlier_tries_since=T0)
    exotel.add(first.call, listed_at=T0)

    assert (first.call.sid, second.call.sid) == ("a", "b")
    assert store.values["exotel_campaign_1_placed_call_sid"] == "a"
    assert store.values["exotel_campaign_2_placed_call_sid"] == "b"
    assert again.place(REQUEST).origin is Origin.REUSED and exotel.posts == 2


def test_a_store_that_refuses_the_sid_gives_an_error_naming_it(exotel):
    class RefusingStore(DictStore):
        def set(self, key: str, value: Any) -> None:
            if key.endswith("placed_call_sid"):
                raise OSError("store unavailable")
            super().set(key, value)

    store = RefusingStore()
    exotel.placing.append(listed_call("new", T0))

    with pytest.raises(ExotelPlacementNotSavedError) as caught:
        guard(store, exotel).place(REQUEST)

    assert caught.value.call_sid == "new" and "new" in str(caught.value)
    assert "exotel_pending_placement" in store.values  # a retry looks for the call, never dials blind


def test_task_memory_writes_keys_that_never_expire():
    class RetentionStore(DictStore):
        retention: list[Any] = []

        def set(self, key: str, value: Any, *, retention: timedelta | None = None) -> None:
            self.retention.append(retention)
            super().set(key, value)

    store = RetentionStore()
    TaskMemory({"task_state_store": store}).set("k", "v")

    assert store.retention == [NEVER_EXPIRE] and NEVER_EXPIRE is timedelta.max


def test_a_call_misread_in_the_wrong_zone_is_never_taken_for_no_call(exotel):
    exotel.placing.extend([lost_answer(), listed_call("second", T0)])
    exotel.add(listed_call("ours", T0 + 1, zone=ZoneInfo("UTC")), listed_at=T0 + 100)  # Exotel in UTC

    with pytest.raises(ExotelCallOutcomeUnknownError) as caught:
        guard(DictStore(), exotel).place(REQUEST)  # the guard reads India time

    assert exotel.posts == 1 and caught.value.candidate_sids == ("ours",)
    assert "extra.timezone" in str(caught.value)


def test_a_raw_store_that_takes_a_retention_gets_keys_that_never_expire(exotel):
    class RetentionStore(DictStore):
        def __init__(self) -> None:
            super().__init__()
            self.retention: dict[str, Any] = {}

        def set(self, key: str, value: Any, *, retention: timedelta | None = None) -> None:
            self.retention[key] = retention
            super().set(key, value)

    store = RetentionStore()
    exotel.placing.append(listed_call("new", T0))

    guard(store, exotel).place(REQUEST)

    assert store.retention == dict.fromkeys(
        ["exotel_guarded", "exotel_pending_placement", "exotel_placed_call_sid"], NEVER_EXPIRE
    )


def test_after_failing_safe_on_an_emptied_store_a_later_clear_still_does_not_dial(exotel):
    store = DictStore()
    short = GuardPolicy(reconcile_timeout=600, poll_interval=60)
    for _ in range(2):  # the emptied-state try, then another clear of the same task
        with pytest.raises(ExotelCallOutcomeUnknownError):
            guard(store, exotel, policy=short, earlier_tries_since=T0 - 7200).place(REQUEST)

    assert exotel.posts == 0
    assert store.values["exotel_pending_placement"]["sent_at"] == T0 - 7200


def test_where_a_retry_may_redial_past_the_sid_its_pending_mark_is_cleared(exotel):
    store = DictStore()
    exotel.placing.append(listed_call("first", T0))
    policy = GuardPolicy(reconcile_timeout=4000, poll_interval=60, redial_on_retry=True)

    guard(store, exotel, policy=policy).place(REQUEST)

    assert store.values["exotel_placed_call_sid"] == "first"
    assert "exotel_pending_placement" not in store.values  # a redial must not take it for a lost request
