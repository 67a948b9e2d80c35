"""Unknown outcomes are resolved, not abandoned: a lost answer holds no placing thread and is decided
after the deferral; a retry with no record makes one listing pass; a sustained 5xx trips the breaker."""

from __future__ import annotations

import types
from datetime import UTC, datetime
from typing import Any

import pytest

from exotel_provider.campaigns.placing import call_prefix
from exotel_provider.errors import ExotelPlacingHaltedError
from exotel_provider.operators.campaign import ExotelCampaignOperator
from exotel_provider.placement import guard as guard_module
from exotel_provider.placement.state_store import PlacementRecord
from exotel_provider.simulator.faults import CONNECT_PATH, Fault
from tests.support.campaign_runs import context, number, posts, run_to_end
from tests.support.task_doubles import DictStateStore

pytestmark = pytest.mark.exotel_simulator(time_scale=600)


def campaign(calls, **kwargs) -> ExotelCampaignOperator:
    kwargs.setdefault("poll_interval", 5)
    kwargs.setdefault("pricing_grace_seconds", 600)
    kwargs.setdefault("time_limit", 300)
    kwargs.setdefault("time_out", 30)
    return ExotelCampaignOperator(task_id="call", calls=calls, app_id=926, **kwargs)


def entries(count: int) -> list[dict[str, str]]:
    return [{"key": f"R{i}", "from_number": number(i)} for i in range(count)]


@pytest.fixture
def no_waiting_while_placing(campaign_connection, monkeypatch):
    """Decisions on the simulator's clock; any wait of a placing thread for the listing fails the test."""

    def sleep(seconds: float) -> None:
        raise AssertionError(f"a placing thread waited {seconds} s for a lost call")

    monkeypatch.setattr(
        guard_module, "DEFAULT_CLOCK", guard_module.FunctionClock(campaign_connection.now, sleep)
    )
    return campaign_connection


def resolution_passes(simulator: Any) -> list[Any]:
    """Listing requests over a DateCreated range: the searches for lost calls (watching asks by Sid)."""
    return [r for r in simulator.requests if r.method == "GET" and "DateCreated" in r.query]


def test_a_lost_answer_with_the_default_reconcile_timeout_is_adopted_without_holding_a_thread(
    no_waiting_while_placing,
):
    sim = no_waiting_while_placing
    sim.inject_fault(Fault(kind="drop", path=CONNECT_PATH, skip=1))  # R1's call is placed, its answer lost

    outcomes = run_to_end(campaign(entries(3), placing_threads=1), context(DictStateStore()), sim)

    by_key = {o["key"]: o for o in outcomes}
    lost = sim.placed_calls(number(1))
    assert len(lost) == 1 and by_key["R1"]["sid"] == lost[0].sid
    assert by_key["R1"]["status"] == "completed" and by_key["R1"]["adopted"]
    assert len(posts(sim)) == 3 and len(resolution_passes(sim)) == 1


def test_a_5xx_that_placed_nothing_is_proven_not_placed_and_dialled_once(no_waiting_while_placing):
    sim = no_waiting_while_placing
    sim.inject_fault(
        Fault(kind="status", status=500, path=CONNECT_PATH, skip=1)
    )  # R1: refused, unknown to us

    outcomes = run_to_end(campaign(entries(3), placing_threads=1), context(DictStateStore()), sim)

    by_key = {o["key"]: o for o in outcomes}
    assert [len(sim.placed_calls(number(i))) for i in range(3)] == [1, 1, 1]
    assert by_key["R1"]["sid"] == sim.placed_calls(number(1))[0].sid and by_key["R1"]["status"] == "completed"
    assert len(resolution_passes(sim)) == 1


@pytest.mark.exotel_simulator(time_scale=600, rate_limit_per_minute=100_000)  # not a 429 test
def test_a_retry_with_no_record_makes_one_listing_pass_and_calls_nobody_twice(
    campaign_connection, monkeypatch
):
    """Airflow 3.1/3.2: no task_state_store; try 1 placed 60 of 200 calls, then its worker died."""
    sim = campaign_connection
    monkeypatch.setattr(guard_module, "DEFAULT_CLOCK", guard_module.FunctionClock(sim.now, lambda s: None))
    run_started = datetime.fromtimestamp(sim.now() - 1, UTC)
    calls = entries(200)
    first = campaign(calls, placing_threads=1)
    real_place_call, placed = first.hook.place_call, []

    def place_then_die(request, **kwargs):
        if len(placed) == 60:
            raise KeyboardInterrupt  # the worker dies (nothing in the task catches it)
        placed.append(real_place_call(request, **kwargs))
        return placed[-1]

    first.hook.place_call = place_then_die  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        first.execute(context(None))
    ctx = context(None, try_number=2)
    ctx["dag_run"] = types.SimpleNamespace(start_date=run_started)

    outcomes = run_to_end(campaign(calls, placing_threads=4), ctx, sim)

    assert all(len(sim.placed_calls(number(i))) == 1 for i in range(200))
    assert len(posts(sim)) == 200
    assert all(o["status"] == "completed" for o in outcomes)
    assert {o["sid"] for o in outcomes} == {c.sid for c in sim.placed_calls()}
    assert sum(bool(o.get("adopted")) for o in outcomes) == 60
    assert len(resolution_passes(sim)) == 1  # one page: 60 calls listed in the range


def test_a_sustained_5xx_trips_the_breaker_and_every_placed_sid_is_kept(no_waiting_while_placing):
    sim, store = no_waiting_while_placing, DictStateStore()
    sim.inject_fault(Fault(kind="status", status=503, path=CONNECT_PATH, skip=4, times=None))

    with pytest.raises(ExotelPlacingHaltedError, match="5 call-placing requests in a row"):
        run_to_end(campaign(entries(40), placing_threads=1), context(store), sim)

    assert len(posts(sim)) == 4 + 5  # stopped after the 5th 503: 31 people never tried
    placed = sim.placed_calls()
    saved = {PlacementRecord(store, call_prefix(f"R{i}")).sid() for i in range(40)} - {None}
    assert saved == {call.sid for call in placed} and len(placed) == 4
    records = [PlacementRecord(store, call_prefix(f"R{i}")) for i in range(40)]
    unknown = [f"R{i}" for i, record in enumerate(records) if record.pending() and not record.sid()]
    assert unknown == [f"R{i}" for i in range(4, 9)]  # each 503 kept its window for a later pass
