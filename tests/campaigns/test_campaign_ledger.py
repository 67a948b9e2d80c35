"""ExotelCampaignOperator with a call ledger, against the simulator: a day that stopped part-way run
again calls each person once and its report counts every billed call; a lost answer is resolved in
the run's own deferral, or by the next run from the moment its request was sent; one phone is called once a day; and the smaller
limits (calls reused count against the cap, a persistent 429 ends, an entry without a phone)."""

from __future__ import annotations

import time

import pytest

try:
    from airflow.sdk.exceptions import TaskDeferred
except ImportError:  # Airflow 3.1
    from airflow.exceptions import TaskDeferred  # type: ignore[no-redef]

from exotel_provider.campaigns import run as run_module
from exotel_provider.campaigns import summarise_attempts
from exotel_provider.campaigns.ledger import settle_placed
from exotel_provider.campaigns.ledger_sql import SqlCallLedger
from exotel_provider.errors import ExotelAuthenticationError, ExotelPaymentRequiredError, ExotelRateLimitError
from exotel_provider.hooks.exotel import ExotelHook
from exotel_provider.operators.campaign import ExotelCampaignOperator
from exotel_provider.placement import guard as guard_module
from exotel_provider.simulator.faults import CONNECT_PATH, Fault
from exotel_provider.task_errors import InvalidCallRequest
from tests.support.campaign_runs import context, number, posts, run_to_end, run_try
from tests.support.task_doubles import DictStateStore

pytestmark = pytest.mark.exotel_simulator(time_scale=600)

DAY = "2026-08-03"
LEDGER = {"conn_id": "exotel_reminders_db", "day": DAY, "attempt": 1}


def campaign(calls, **kwargs) -> ExotelCampaignOperator:
    kwargs.setdefault("poll_interval", 5)
    kwargs.setdefault("pricing_grace_seconds", 600)
    kwargs.setdefault("ledger", LEDGER)
    return ExotelCampaignOperator(task_id="call", calls=calls, app_id=926, **kwargs)


def entries(count: int) -> list[dict[str, str]]:
    return [{"key": f"R{i}", "from_number": number(i)} for i in range(count)]


def ledger_rows(db, attempt: int = 1):
    return {
        row.key: row for row in SqlCallLedger(db, day=DAY, attempt=attempt).rows() if row.attempt == attempt
    }


def answered(sim):
    return [r for r in posts(sim) if r.status_code == 200]


@pytest.mark.parametrize(
    ("refusal", "error"),
    [
        (Fault(kind="status", status=402, path=CONNECT_PATH, times=None, skip=3), ExotelPaymentRequiredError),
        (
            Fault(kind="credentials_rejected", path=CONNECT_PATH, times=None, skip=3),
            ExotelAuthenticationError,
        ),
    ],
    ids=["402", "401"],
)
def test_a_red_day_run_again_calls_each_person_once_and_the_report_counts_every_billed_call(
    campaign_connection, ledger_db, refusal, error
):
    sim = campaign_connection
    sim.inject_fault(refusal)  # the balance runs out (or the token is revoked) after 3 calls
    calls = entries(8)
    with pytest.raises(error):
        run_try(campaign(calls), context(None), sim)  # no task state store: only the ledger knows
    rows = ledger_rows(ledger_db)
    first_sids = {row.call_sid for row in rows.values() if row.call_sid}
    assert first_sids == {call.sid for call in sim.placed_calls()} and len(first_sids) == 3
    assert {row.state for row in rows.values()} <= {"placed", "not placed"}

    sim.advance(3600)  # the red day's report, an hour later: every billed call counted and priced
    ledger = SqlCallLedger(ledger_db, day=DAY)
    assert settle_placed(ledger, ExotelHook().get_ended_calls) == 3
    red = summarise_attempts(row.as_record() for row in ledger.rows())
    billed = [ExotelHook().get_call(sid).price for sid in first_sids]
    assert (red["calls"], red["total_cost"]) == (3, pytest.approx(sum(billed))) and red["total_cost"] > 0

    sim.clear_faults()
    outcomes = run_try(campaign(calls), context(None), sim)  # the day run again: a new run

    assert {number(i): len(sim.placed_calls(number(i))) for i in range(8)} == dict.fromkeys(
        [number(i) for i in range(8)], 1
    )
    assert len(answered(sim)) == 8
    assert [o["status"] for o in outcomes] == ["completed"] * 8
    rows = ledger_rows(ledger_db)
    assert {row.state for row in rows.values()} == {"ended"}
    assert {row.call_sid for row in rows.values()} == {call.sid for call in sim.placed_calls()}
    assert summarise_attempts(row.as_record() for row in rows.values())["calls"] == 8


def test_a_lost_answer_is_resolved_in_the_runs_own_deferral_and_recorded(
    campaign_connection, ledger_db, monkeypatch
):
    sim = campaign_connection
    # The windows are judged on the simulator's clock (the trigger waits until they are complete).
    monkeypatch.setattr(guard_module, "DEFAULT_CLOCK", guard_module.FunctionClock(sim.now, time.sleep))
    sim.inject_fault(Fault(kind="drop", path=CONNECT_PATH, skip=1))  # R1's call is placed, its answer lost

    outcomes = run_to_end(
        campaign(entries(3), time_limit=60, time_out=30, placing_threads=1), context(None), sim
    )

    [call] = sim.placed_calls(number(1))
    assert {o["key"]: o["sid"] for o in outcomes}["R1"] == call.sid
    assert [o["status"] for o in outcomes] == ["completed"] * 3 and len(posts(sim)) == 3
    assert (ledger_rows(ledger_db)["R1"].state, ledger_rows(ledger_db)["R1"].call_sid) == ("ended", call.sid)


def test_a_lost_answer_is_unknown_in_the_ledger_and_the_next_run_adopts_its_call(
    campaign_connection, ledger_db, monkeypatch
):
    sim = campaign_connection
    monkeypatch.setattr(guard_module, "DEFAULT_CLOCK", guard_module.FunctionClock(sim.now, time.sleep))
    sim.inject_fault(Fault(kind="drop", path=CONNECT_PATH, skip=1))  # R1's call is placed, its answer lost
    calls = entries(3)

    with pytest.raises(TaskDeferred):  # the run is lost while it waits: nothing resolves R1 there
        campaign(calls, time_limit=60, time_out=30, placing_threads=1).execute(context(None))

    lost = ledger_rows(ledger_db)["R1"]
    assert (lost.state, lost.call_sid) == ("unknown", None)
    assert lost.sent_at is not None and lost.window_end >= lost.sent_at
    [call] = sim.placed_calls(number(1))

    sim.advance(86400)  # the next day: the window that began at its sent_at is long complete
    # (the wait's deadline is on our clock, the watchers on the simulator's, now a day ahead)
    again = run_try(campaign(calls, time_limit=60, time_out=30, wait_timeout=4 * 86400), context(None), sim)

    assert len(sim.placed_calls(number(1))) == 1 and len(posts(sim)) == 3
    assert {o["key"]: o["sid"] for o in again}["R1"] == call.sid
    assert (ledger_rows(ledger_db)["R1"].state, ledger_rows(ledger_db)["R1"].call_sid) == ("ended", call.sid)


def test_the_same_phone_due_twice_is_called_once_and_both_get_its_outcome(campaign_connection, ledger_db):
    sim = campaign_connection
    national = "0" + number(1).removeprefix("+91")
    calls = [{"key": "R1", "from_number": number(1)}, {"key": "R2", "from_number": national},
             {"key": "R3", "from_number": number(3)}]  # fmt: skip

    outcomes = run_try(campaign(calls), context(None), sim)

    [call] = sim.placed_calls(number(1))
    by_key = {o["key"]: o for o in outcomes}
    assert by_key["R1"]["sid"] == by_key["R2"]["sid"] == call.sid
    assert by_key["R1"]["status"] == by_key["R2"]["status"] == "completed"
    rows = ledger_rows(ledger_db)
    assert rows["R1"].call_sid == rows["R2"].call_sid == call.sid
    assert summarise_attempts(outcomes)["calls"] == 2  # one call per phone, priced once

    later = run_try(
        campaign([{"key": "R4", "from_number": number(1)}]), context(None), sim
    )  # due later that day
    assert later[0]["sid"] == call.sid and len(sim.placed_calls(number(1))) == 1


def test_a_resumed_campaign_counts_the_calls_it_reuses_against_the_cap(campaign_connection, ledger_db):
    sim = campaign_connection
    for i in range(2):
        sim.script(number(i), talk_seconds=1200)  # the first two calls go on for a while
    sim.inject_fault(Fault(kind="status", status=402, path=CONNECT_PATH, times=1, skip=2))
    calls = entries(4)
    with pytest.raises(ExotelPaymentRequiredError):
        run_try(campaign(calls, placing_threads=1), context(None), sim)
    reused = sim.placed_calls()
    assert len(reused) == 2

    run_try(campaign(calls, placing_threads=1, max_calls_in_flight=2, poll_interval=0.05), context(None), sim)

    new = [c for c in sim.placed_calls() if c.sid not in {r.sid for r in reused}]
    assert len(new) == 2
    first_end = min(c.timeline.ended_at for c in reused)
    assert all(c.created_at >= first_end for c in new)  # no room until a reused call ended


def test_a_persistent_429_while_placing_ends_in_a_typed_error(campaign_connection, ledger_db, monkeypatch):
    sim = campaign_connection
    monkeypatch.setattr(run_module, "MAX_RATE_LIMITED_SENDS", 3)
    sim.inject_fault(
        Fault(kind="status", status=429, path=CONNECT_PATH, times=None, skip=1, retry_after=0.01)
    )

    with pytest.raises(ExotelRateLimitError, match="429 to 3 requests in a row placing call 'R1'"):
        run_try(campaign(entries(3), placing_threads=1), context(DictStateStore()), sim)

    rows = ledger_rows(ledger_db)
    assert rows["R0"].state == "placed" and rows["R1"].state == "not placed" and "R2" not in rows
    assert len(sim.placed_calls()) == 1


def test_a_call_without_a_phone_fails_that_call_naming_its_key_and_the_field(campaign_connection):
    sim = campaign_connection
    calls = [{"key": "R0", "from_number": number(0)}, {"key": "R-7", "custom_field": "x"}]

    outcomes = run_try(campaign(calls, ledger=None), context(DictStateStore()), sim)

    assert [o["status"] for o in outcomes] == ["completed", "not placed"]
    assert "'R-7'" in outcomes[1]["error"] and "from_number" in outcomes[1]["error"]
    assert "required keyword-only" not in outcomes[1]["error"]
    assert len(posts(sim)) == 1


def test_a_ledger_spec_without_a_day_fails_before_any_request(campaign_connection, ledger_db):
    with pytest.raises(InvalidCallRequest, match="ledger: no day"):
        campaign(entries(2), ledger={"conn_id": "exotel_reminders_db", "day": ""}).execute(context(None))
    assert campaign_connection.requests == []
