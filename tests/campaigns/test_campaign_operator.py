"""ExotelCampaignOperator against the simulator: each person called once, outcomes for everyone,
refusals reported (not raised), and a killed try resumed by the next without a second call."""

from __future__ import annotations

import time

import pytest

from exotel_provider.campaigns.placing import call_prefix
from exotel_provider.operators.campaign import ExotelCampaignOperator
from exotel_provider.placement import guard as guard_module
from exotel_provider.placement.state_store import PlacementRecord
from exotel_provider.task_errors import InvalidCallRequest
from tests.support.campaign_runs import context, number, posts, run_try
from tests.support.task_doubles import DictStateStore

pytestmark = pytest.mark.exotel_simulator(time_scale=600)


def campaign(calls, **kwargs) -> ExotelCampaignOperator:
    kwargs.setdefault("poll_interval", 5)
    kwargs.setdefault("pricing_grace_seconds", 600)
    return ExotelCampaignOperator(task_id="call", calls=calls, app_id=926, **kwargs)


def entries(count: int, start: int = 0) -> list[dict[str, str]]:
    return [{"key": f"R{i}", "from_number": number(i)} for i in range(start, start + count)]


def test_every_call_is_placed_once_and_its_final_outcome_returned(campaign_connection):
    sim = campaign_connection
    sim.script(number(1), outcome="busy")
    sim.script(number(2), outcome="no-answer")
    sim.script(number(3), reject_status=403)  # DND-registered: Exotel refuses the call
    calls = [*entries(4), {"key": "R9", "from_number": "12345"}]  # R9: not a phone number
    ctx = context(DictStateStore())

    outcomes = run_try(campaign(calls), ctx, sim)

    by_key = {outcome["key"]: outcome for outcome in outcomes}
    assert [o["key"] for o in outcomes] == ["R0", "R1", "R2", "R3", "R9"]
    assert {k: o["status"] for k, o in by_key.items()} == {
        "R0": "completed", "R1": "busy", "R2": "no-answer", "R3": "not placed", "R9": "not placed",
    }  # fmt: skip
    assert "DND" in by_key["R3"]["error"] and by_key["R9"]["error"]
    assert by_key["R0"]["price"] > 0 and by_key["R0"]["duration"] > 0 and by_key["R0"]["end_time"]
    assert len(posts(sim)) == 4  # the invalid number never reached Exotel
    assert {c.sid for c in sim.placed_calls()} == {by_key[k]["sid"] for k in ("R0", "R1", "R2")}
    assert ctx["ti"].xcom["placed_calls"] == {k: by_key[k]["sid"] for k in ("R0", "R1", "R2")}


def test_a_malformed_call_list_fails_before_any_request(campaign_connection):
    with pytest.raises(InvalidCallRequest, match="key"):
        campaign([{"from_number": number(1)}]).execute(context(DictStateStore()))
    with pytest.raises(InvalidCallRequest, match="repeats"):
        campaign([*entries(2), *entries(1)]).execute(context(DictStateStore()))
    assert campaign_connection.requests == []


def test_an_empty_campaign_places_nothing_and_does_not_defer(campaign_connection):
    assert campaign([]).execute(context(DictStateStore())) == []
    assert campaign_connection.requests == []


class WorkerKilled(BaseException):
    """Stands for the worker process dying (not an Exception: nothing in the task may catch it)."""


def kill_between_calls(store: DictStateStore, placements: int) -> None:
    """Make the worker die after ``placements`` calls were placed and recorded, before the next one."""
    real_set, recorded = store.set, []

    def set_value(key, value, **kwargs):
        if key.endswith("pending_placement") and len(recorded) >= placements:
            raise WorkerKilled
        if key.endswith("placed_call_sid"):
            recorded.append(value)
        real_set(key, value, **kwargs)

    store.set = set_value  # type: ignore[method-assign]


def kill_during_post(operator: ExotelCampaignOperator, placements: int) -> None:
    """Make the worker die while the call after ``placements`` is placed: it exists, its Sid is lost."""
    real_place_call, placed = operator.hook.place_call, []

    def place_call(request):
        call = real_place_call(request)
        placed.append(call.sid)
        if len(placed) > placements:
            raise WorkerKilled
        return call

    operator.hook.place_call = place_call  # type: ignore[method-assign]


def test_a_retry_after_the_worker_died_resumes_without_calling_anyone_twice(campaign_connection):
    sim, store = campaign_connection, DictStateStore()
    calls = entries(12)
    dying_store = DictStateStore()
    kill_between_calls(dying_store, 5)
    with pytest.raises(WorkerKilled):
        run_try(campaign(calls), context(dying_store), sim)
    store.values = dying_store.values  # what the task_state_store kept of the killed try
    placed_by_first = {c.sid for c in sim.placed_calls()}
    assert len(placed_by_first) >= 5  # placements already under way in other threads may finish

    outcomes = run_try(campaign(calls), context(store, try_number=2), sim)

    assert len(posts(sim)) == 12  # 5 by the killed try, 7 by the retry
    for i in range(12):
        assert len(sim.placed_calls(number(i))) == 1, number(i)
    assert {o["sid"] for o in outcomes} == {c.sid for c in sim.placed_calls()}
    assert placed_by_first <= {o["sid"] for o in outcomes}  # no Sid of the killed try is lost
    assert all(o["status"] == "completed" for o in outcomes)


def test_a_call_whose_answer_died_with_the_worker_is_found_and_adopted(campaign_connection, monkeypatch):
    sim, store = campaign_connection, DictStateStore()
    # The guard judges Exotel's listing on the simulator's clock (adoption waits for a complete window).
    monkeypatch.setattr(guard_module, "DEFAULT_CLOCK", guard_module.FunctionClock(sim.now, time.sleep))
    calls = entries(6)
    first = campaign(calls, time_limit=60, time_out=30)
    kill_during_post(first, 3)  # the 4th call is placed, its Sid never recorded
    with pytest.raises(WorkerKilled):
        run_try(first, context(store), sim)
    assert PlacementRecord(store, call_prefix("R3")).pending() is not None
    lost_sid = sim.placed_calls(number(3))[0].sid

    # The search ran the simulator's clock 10 h ahead of ours: the wait's deadline must allow for it.
    retry = campaign(
        calls, time_limit=60, time_out=30, poll_interval=60, reconcile_timeout=36000, wait_timeout=86400
    )
    outcomes = run_try(retry, context(store, 2), sim)

    assert len(sim.placed_calls(number(3))) == 1
    assert {o["key"]: o["sid"] for o in outcomes}["R3"] == lost_sid
    assert len(posts(sim)) == 6 and all(o["status"] == "completed" for o in outcomes)


def test_a_cleared_campaign_that_succeeded_calls_nobody_again(campaign_connection):
    sim, store, calls = campaign_connection, DictStateStore(), entries(4)
    first = run_try(campaign(calls), context(store), sim)
    again = run_try(campaign(calls), context(store, try_number=2), sim)
    assert len(posts(sim)) == 4
    assert [o["sid"] for o in again] == [o["sid"] for o in first]


def test_refusals_are_remembered_across_tries(campaign_connection):
    sim, store = campaign_connection, DictStateStore()
    sim.script(number(0), reject_status=403)
    first = run_try(campaign(entries(2)), context(store), sim)
    again = run_try(campaign(entries(2)), context(store, try_number=2), sim)
    assert [o["status"] for o in first] == [o["status"] for o in again] == ["not placed", "completed"]
    assert len(posts(sim)) == 2
