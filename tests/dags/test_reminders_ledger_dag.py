"""exotel_scheduled_reminders across runs of one day, with ``dag.test()`` as the scheduler runs it (no
conf), against the simulator on compressed time and a SQLite reminders database: the call ledger
(``reminder_calls``) is read first by every run, so nobody is called twice whatever the earlier run
went through, and the report counts every call placed."""

from __future__ import annotations

import json
import sqlite3
import time

import pendulum
import pytest

from exotel_provider.operators import campaign as campaign_module
from exotel_provider.placement import guard as guard_module
from exotel_provider.simulator.faults import CONNECT_PATH, Fault
from tests.support.airflow_runs import load_dag, run_dag, task_states, xcom_values
from tests.support.clock import VirtualClock, watchers_on
from tests.support.ledger_databases import OLD_REMINDER_CALLS
from tools import reminders_db

pytestmark = pytest.mark.exotel_simulator(time_scale=600, rate_limit_per_minute=6000)

DAY = "2026-08-03"
TEN_AM_INDIA = pendulum.datetime(2026, 8, 3, 10, tz="Asia/Kolkata")
NUMBERS = [f"+9198765001{i:02d}" for i in range(1, 6)]
"""The phones of the five sample reminders due on DAY (R-1001 ... R-1005)."""


@pytest.fixture
def database(exotel_simulator, tmp_path, monkeypatch):
    """The simulator as exotel_default, an empty reminders database (the test seeds it), reports in
    tmp_path, fast polling, a quick redial and quick retries. Returns the database path."""
    connection = exotel_simulator.connection()
    connection["extra"]["requests_per_minute"] = 6000  # the budget counts the triggers' compressed minutes
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(connection))
    path = tmp_path / "reminders.db"
    sqlite3.connect(path).close()
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_REMINDERS_DB", reminders_db.connection_json(path))
    monkeypatch.setenv("EXOTEL_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("EXOTEL_POLL_SECONDS", "1")
    monkeypatch.setenv("EXOTEL_REDIAL_AFTER_MINUTES", "0.02")
    monkeypatch.setenv("EXOTEL_RETRY_DELAY_SECONDS", "0.1")
    monkeypatch.setenv("EXOTEL_RECONCILE_SECONDS", "1")
    # Triggers watch on the simulator's compressed clock, ahead of the wall-clock deadline.
    monkeypatch.setattr(campaign_module, "DEFAULT_DEFERRED_WAIT_SECONDS", 10 * 86400.0)
    return path


def run_day(simulator, **kwargs):
    """A run of DAY as the scheduler makes it (no conf); triggers on the simulator's clock."""
    dag = load_dag("exotel_scheduled_reminders")
    with watchers_on(VirtualClock(simulator.state.clock.time_scale, start=simulator.now())):
        dag_run = run_dag(dag, logical_date=TEN_AM_INDIA, **kwargs)
    return dag_run, xcom_values(dag.dag_id, dag_run.run_id, "report").get(-1)


def calls_to(simulator, numbers):
    return {n: len(simulator.placed_calls(n)) for n in numbers}


def ledger(path):
    return reminders_db.recorded_calls(path)


def red(dag_run) -> bool:
    return str(dag_run.state) in ("failed", "DagRunState.FAILED")


@pytest.mark.parametrize(
    "refusal",
    [Fault(kind="status", status=402, path=CONNECT_PATH, times=None, skip=3),
     Fault(kind="credentials_rejected", path=CONNECT_PATH, times=None, skip=3)],
    ids=["402", "401"],
)  # fmt: skip
def test_a_red_day_run_again_calls_each_person_once_and_reports_every_billed_call(
    exotel_simulator, database, refusal
):
    sim = exotel_simulator
    reminders_db.seed(database, reminders_db.sample_reminders())
    sim.inject_fault(refusal)  # after 3 calls the balance runs out (or the token is revoked)

    dag_run, summary = run_day(sim)

    assert red(dag_run) and task_states(dag_run)[("call", -1)] == "failed"
    assert sum(calls_to(sim, NUMBERS).values()) == 3
    assert (summary["calls"], summary["not_attempted"]) == (3, 2)
    billed = [call.sid for call in sim.placed_calls()]
    assert summary["total_cost"] > 0 and {
        row["call_sid"] for row in ledger(database) if row["call_sid"]
    } == set(billed)

    sim.clear_faults()  # the balance topped up: the day is run again
    dag_run, summary = run_day(sim)

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    assert calls_to(sim, NUMBERS) == dict.fromkeys(NUMBERS, 1)
    rows = ledger(database)
    assert [(r["reminder_id"], r["attempt"], r["state"]) for r in rows] == [
        (f"R-100{i}", 1, "ended") for i in range(1, 6)
    ]
    assert {r["call_sid"] for r in rows} == {c.sid for c in sim.placed_calls()}
    assert (summary["entries"], summary["calls"], summary["answered"]) == (5, 5, 5)
    assert summary["total_cost"] == pytest.approx(sum(r["price"] for r in rows))


def test_a_reminder_id_with_spaces_is_called_once_across_runs_and_redialled(exotel_simulator, database):
    sim = exotel_simulator
    reminders_db.seed(database, [
        {"reminder_id": "R-2001 ", "phone": "+919876500201", "flow_app_id": "926", "due_date": DAY, "customer": "A"},
        {"reminder_id": " R-2002", "phone": "+919876500202", "flow_app_id": "926", "due_date": DAY, "customer": "B"},
    ])  # fmt: skip
    sim.script("+919876500202", outcome="busy")

    run_day(sim)
    dag_run, summary = run_day(sim)

    assert set(task_states(dag_run).values()) == {"success"}
    assert calls_to(sim, ["+919876500201", "+919876500202"]) == {"+919876500201": 1, "+919876500202": 2}
    assert [(r["reminder_id"], r["attempt"]) for r in ledger(database)] == [
        ("R-2001", 1), ("R-2002", 1), ("R-2002", 2),
    ]  # fmt: skip
    assert (summary["entries"], summary["calls"], summary["redialled"]) == (2, 3, 1)


def test_a_lost_answer_is_adopted_in_its_run_and_the_run_cleared_the_next_day_calls_nobody_again(
    exotel_simulator, database, monkeypatch
):
    sim = exotel_simulator
    # The windows of lost answers are judged on the simulator's clock.
    monkeypatch.setattr(guard_module, "DEFAULT_CLOCK", guard_module.FunctionClock(sim.now, time.sleep))
    reminders_db.seed(database, reminders_db.sample_reminders())
    sim.inject_fault(Fault(kind="drop", path=CONNECT_PATH, skip=2))  # the third call placed, its answer lost

    dag_run, summary = run_day(sim)

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    assert calls_to(sim, NUMBERS) == dict.fromkeys(NUMBERS, 1)
    assert {r["state"] for r in ledger(database)} == {"ended"}  # the lost answer's call adopted
    assert (summary["calls"], summary["not_attempted"]) == (5, 0)
    first = {r["reminder_id"]: r["call_sid"] for r in ledger(database)}

    sim.advance(86400)  # the next day, the finished run is run again (its start date is today's)
    dag_run, summary = run_day(sim)

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    assert calls_to(sim, NUMBERS) == dict.fromkeys(NUMBERS, 1)
    assert {r["reminder_id"]: r["call_sid"] for r in ledger(database)} == first
    assert (summary["calls"], summary["answered"], summary["not_attempted"]) == (5, 5, 0)


def test_the_same_phone_due_twice_on_a_day_is_called_once_and_redialled_once(exotel_simulator, database):
    sim = exotel_simulator
    reminders_db.seed(database, [
        {"reminder_id": "R-3001", "phone": "+919876500301", "flow_app_id": "926", "due_date": DAY, "customer": "A"},
        {"reminder_id": "R-3002", "phone": "09876500301", "flow_app_id": "926", "due_date": DAY, "customer": "A"},
    ])  # fmt: skip
    sim.script("+919876500301", outcome="busy")

    dag_run, summary = run_day(sim)

    assert set(task_states(dag_run).values()) == {"success"}
    assert len(sim.placed_calls("+919876500301")) == 2  # the first call and one redial, not four
    rows = ledger(database)
    assert [(r["reminder_id"], r["attempt"], r["status"]) for r in rows] == [
        ("R-3001", 1, "busy"), ("R-3001", 2, "busy"), ("R-3002", 1, "busy"), ("R-3002", 2, "busy"),
    ]  # fmt: skip
    assert rows[0]["call_sid"] == rows[2]["call_sid"] and rows[1]["call_sid"] == rows[3]["call_sid"]
    assert (summary["entries"], summary["calls"]) == (2, 2)


def test_an_earlier_reminder_calls_table_is_migrated_and_its_calls_are_not_made_again(
    exotel_simulator, database
):
    sim = exotel_simulator
    with sqlite3.connect(database) as db:
        db.execute(OLD_REMINDER_CALLS)
        db.execute("INSERT INTO reminder_calls VALUES ('R-1001', ?, 1, 'CA-OLD', 'completed', 0.5, 40, "
                   "'2026-08-03 10:00:05', '2026-08-03 10:01:00')", (DAY,))  # fmt: skip
    reminders_db.seed(database, reminders_db.sample_reminders())

    dag_run, summary = run_day(sim)

    assert set(task_states(dag_run).values()) == {"success"}
    assert calls_to(sim, NUMBERS) == {NUMBERS[0]: 0} | dict.fromkeys(NUMBERS[1:], 1)
    rows = ledger(database)
    assert rows[0]["call_sid"] == "CA-OLD" and rows[0]["state"] == "ended" and len(rows) == 5
    assert (summary["entries"], summary["calls"]) == (5, 5)


def test_redials_are_read_from_the_reminders_after_the_wait():
    dag = load_dag("exotel_scheduled_reminders")
    # a reminder deleted or re-numbered while busy people finish their call is read as it is then
    assert "wait_before_redial" in dag.get_task("pick_redials").upstream_task_ids
    assert dag.get_task("redial").upstream_task_ids >= {"pick_redials", "read_due_reminders"}
