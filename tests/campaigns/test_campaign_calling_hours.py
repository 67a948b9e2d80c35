"""A campaign within calling hours, run as the scheduler runs it (execute, defer, the triggerer
firing at its moment, resume) on the simulator's clock: nobody is dialled outside the window, the
campaign stops at its end and goes on when it opens, or records who it did not reach."""

from __future__ import annotations

import datetime
import json

import pytest

try:
    from airflow.sdk.exceptions import TaskDeferred
except ImportError:  # Airflow 3.1
    from airflow.exceptions import TaskDeferred  # type: ignore[no-redef]

from exotel_provider.campaigns.ledger_sql import SqlCallLedger
from exotel_provider.campaigns.not_called import count_not_called
from exotel_provider.operators.campaign import PLACEMENTS_KEY, ExotelCampaignOperator
from exotel_provider.operators.campaign_window import RESUME_METHOD
from tests.support.campaign_runs import context, number, posts
from tests.support.simulated_day import india_time, inside, next_india_time, provider_on_simulator_time
from tests.support.task_doubles import DictStateStore

pytestmark = pytest.mark.exotel_simulator(time_scale=0)

DAY = "2026-08-03"


@pytest.fixture
def exotel_at_200_a_minute(exotel_simulator, monkeypatch):
    """``exotel_default`` on the simulator with Exotel's own budget, 200 requests a minute."""
    connection = exotel_simulator.connection()
    connection["extra"].update(caller_id="08047112345", requests_per_minute=200)
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(connection))
    return exotel_simulator


def campaign(calls, **kwargs) -> ExotelCampaignOperator:
    kwargs.setdefault("calling_hours", "08:00-19:00")
    kwargs.setdefault("poll_interval", 5)
    return ExotelCampaignOperator(task_id="call", calls=calls, app_id=926, time_limit=60, **kwargs)


def entries(count: int) -> list[dict[str, str]]:
    return [{"key": f"R{i}", "from_number": number(i)} for i in range(count)]


def deferred(step) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as deferral:
        step()
    return deferral.value


def test_a_campaign_stops_at_the_windows_end_and_goes_on_when_it_opens(exotel_at_200_a_minute, monkeypatch):
    sim = exotel_at_200_a_minute
    clock = provider_on_simulator_time(monkeypatch, sim)
    # 2,000 calls at 190 a minute (200 less watching's share) take 10.5 minutes: from 18:50 the window
    # ends with about 1,900 placed.
    clock.move_to(next_india_time(sim, "18:50"))
    operator, ctx = campaign(entries(2000)), context(DictStateStore())  # at most 500 in flight

    evening = deferred(lambda: operator.execute(ctx))

    assert evening.method_name == RESUME_METHOD  # waits for the window, holding no worker slot
    opens = evening.trigger.opens_at
    assert (india_time(opens).time(), india_time(opens).date() - india_time(sim.now()).date()) == (
        datetime.time(8, 0), datetime.timedelta(days=1),
    )  # fmt: skip
    first_part = [r for r in posts(sim)]
    assert 1500 < len(first_part) < 2000  # 190 a minute for the last ten minutes
    assert india_time(first_part[-1].sim_time).time() >= datetime.time(18, 59)
    assert len(ctx["ti"].xcom["placed_calls"]) == len(first_part)  # pushed before waiting

    clock.move_to(opens)  # the triggerer fires at its moment; the task resumes
    event = {"status": "open", "opens_at": opens, "now": opens}  # what CallingWindowTrigger yields
    morning = deferred(lambda: getattr(operator, evening.method_name)(ctx, event=event))

    assert morning.method_name == "execute_complete"  # now waiting for the calls themselves
    assert all(inside(r.sim_time) for r in posts(sim))  # the simulator's own log: none outside the window
    assert min(r.sim_time for r in posts(sim)[len(first_part) :]) >= opens
    assert len(posts(sim)) == 2000 and all(len(sim.placed_calls(number(i))) == 1 for i in range(2000))
    assert len(ctx["ti"].xcom["placed_calls"]) == 2000


def test_a_redial_asked_for_after_the_window_closed_waits_for_the_next_window(
    exotel_at_200_a_minute, monkeypatch
):
    sim = exotel_at_200_a_minute
    clock = provider_on_simulator_time(monkeypatch, sim)
    clock.move_to(next_india_time(sim, "19:05"))  # the first calls ended late: the redial is due now
    redial, ctx = campaign(entries(3)), context(DictStateStore())

    evening = deferred(lambda: redial.execute(ctx))

    assert posts(sim) == [] and india_time(evening.trigger.opens_at).time() == datetime.time(8)
    clock.move_to(evening.trigger.opens_at)
    deferred(lambda: redial.resume_placing(ctx))
    assert len(posts(sim)) == 3 and all(inside(r.sim_time) for r in posts(sim))


def test_record_keeps_whoever_the_window_left_out_as_not_called_and_the_next_run_dials_them(
    exotel_at_200_a_minute, ledger_db, monkeypatch
):
    sim = exotel_at_200_a_minute
    clock = provider_on_simulator_time(monkeypatch, sim)
    clock.move_to(next_india_time(sim, "18:59:30"))
    ledger = {"conn_id": "exotel_reminders_db", "day": DAY, "attempt": 1}
    operator, ctx = campaign(entries(200), ledger=ledger, outside_calling_hours="record"), context(None)

    placing = deferred(lambda: operator.execute(ctx))  # waits for the calls placed only

    assert placing.method_name == "execute_complete"
    outcomes = {o["key"]: o for o in ctx["ti"].xcom[PLACEMENTS_KEY]}
    rows = {row.key: row for row in SqlCallLedger(ledger_db, day=DAY, attempt=1).rows()}
    held = {key for key, row in rows.items() if row.error == "not called: outside calling hours"}
    placed = {key for key, row in rows.items() if row.call_sid}
    assert len(placed) == len(posts(sim)) and 50 < len(placed) < 200  # 30 s at 190 a minute, less the margin
    assert held == {f"R{i}" for i in range(200)} - placed and {rows[k].state for k in held} == {"not placed"}
    assert count_not_called(row.as_record() for row in rows.values()) == {"outside calling hours": len(held)}
    assert {key for key, o in outcomes.items() if o["status"] == "not called"} == held

    clock.move_to(next_india_time(sim, "08:00"))  # the next run, in the morning, dials only them
    deferred(lambda: campaign(entries(200), ledger=ledger).execute(context(None)))
    assert len(posts(sim)) == 200 and all(len(sim.placed_calls(number(i))) == 1 for i in range(200))


def test_preferred_times_narrow_the_window_for_that_person(exotel_at_200_a_minute, monkeypatch):
    sim = exotel_at_200_a_minute
    clock = provider_on_simulator_time(monkeypatch, sim)
    clock.move_to(next_india_time(sim, "09:00"))
    calls = [
        {"key": "early", "from_number": number(1), "call_before": "10:00"},
        {"key": "evening", "from_number": number(2), "call_after": "17:30"},
        {"key": "any", "from_number": number(3)},
    ]
    operator, ctx = campaign(calls), context(DictStateStore())

    morning = deferred(lambda: operator.execute(ctx))

    # "evening" waits; the others are placed side by side, in either order
    assert sorted(r.form["From"][0] for r in posts(sim)) == sorted([number(1), number(3)])
    assert india_time(morning.trigger.opens_at).time() == datetime.time(17, 30)
    clock.move_to(morning.trigger.opens_at)
    deferred(lambda: operator.resume_placing(ctx))
    evening_post = posts(sim)[-1]
    assert evening_post.form["From"][0] == number(2)
    assert india_time(evening_post.sim_time).time() >= datetime.time(17, 30)


def test_a_person_whose_preferred_times_miss_the_window_is_recorded_not_called(
    exotel_at_200_a_minute, monkeypatch
):
    sim = exotel_at_200_a_minute
    clock = provider_on_simulator_time(monkeypatch, sim)
    clock.move_to(next_india_time(sim, "10:00"))
    calls = [{"key": "night", "from_number": number(1), "call_after": "21:00"}, *entries(1)]

    ctx = context(DictStateStore())

    waiting = deferred(lambda: campaign(calls).execute(ctx))  # for R0's call only: no window wait

    assert waiting.method_name == "execute_complete"
    assert [r.form["From"][0] for r in posts(sim)] == [number(0)]
    night = next(o for o in ctx["ti"].xcom[PLACEMENTS_KEY] if o["key"] == "night")
    assert (night["status"], night["reason"]) == ("not called", "outside calling hours")
