"""exotel_scheduled_reminders end to end with ``dag.test()``, as the scheduler runs it (no conf),
against the simulator on compressed time and a SQLite reminders database."""

from __future__ import annotations

import json
from pathlib import Path

import pendulum
import pytest

from exotel_provider.operators import campaign as campaign_module
from exotel_provider.simulator.scripts import CallScript
from tests.support.airflow_runs import load_dag, run_dag, task_states, xcom_values
from tests.support.clock import VirtualClock, watchers_on
from tools import reminders_db

pytestmark = pytest.mark.exotel_simulator(
    time_scale=600, rate_limit_per_minute=6000
)  # scaled with the budget

DAY = "2026-08-03"
TEN_AM_INDIA = pendulum.datetime(2026, 8, 3, 10, tz="Asia/Kolkata")
"""The logical date the scheduler gives the 10:00 run of DAY (no conf)."""


@pytest.fixture
def reminders(exotel_simulator, tmp_path, monkeypatch):
    """The simulator as exotel_default (budget scaled with its clock), a seeded reminders database,
    reports in tmp_path, fast polling and a redial after a moment. Returns the database path."""
    connection = exotel_simulator.connection()
    connection["extra"]["requests_per_minute"] = 6000  # the budget counts the triggers' compressed minutes
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(connection))
    database = reminders_db.seed(tmp_path / "reminders.db", reminders_db.sample_reminders())
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_REMINDERS_DB", reminders_db.connection_json(database))
    monkeypatch.setenv("EXOTEL_REPORTS_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("EXOTEL_POLL_SECONDS", "1")
    monkeypatch.setenv("EXOTEL_REDIAL_AFTER_MINUTES", "0.02")
    # Triggers watch on the simulator's compressed clock, which runs hours ahead of the wall-clock
    # deadline a campaign sets while placing a big day: give the wait ten (simulated) days.
    monkeypatch.setattr(campaign_module, "DEFAULT_DEFERRED_WAIT_SECONDS", 10 * 86400.0)
    return database


def scheduled_run(simulator, **kwargs):
    """A run as the scheduler makes it: no conf, the 10:00 India logical date; triggers on the
    simulator's compressed clock."""
    dag = load_dag("exotel_scheduled_reminders")
    with watchers_on(VirtualClock(simulator.state.clock.time_scale, start=simulator.now())):
        return dag, run_dag(dag, logical_date=kwargs.pop("logical_date", TEN_AM_INDIA), **kwargs)


def placed(simulator, numbers):
    return {n: len(simulator.placed_calls(n)) for n in numbers}


SAMPLE_NUMBERS = [f"+9198765001{i:02d}" for i in range(1, 8)]


def test_a_scheduled_run_calls_the_days_reminders_redials_busy_and_unanswered_once_and_reports(
    exotel_simulator, reminders
):
    sim = exotel_simulator
    sim.script("+919876500102", outcome="busy")
    sim.script("+919876500103", outcome="no-answer")
    sim.script("+919876500104", outcome="failed")

    dag, dag_run = scheduled_run(sim)

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    # Answered and failed: once; busy and unanswered: twice; other days' reminders: never.
    assert placed(sim, SAMPLE_NUMBERS) == dict(zip(SAMPLE_NUMBERS, [1, 2, 2, 1, 1, 0, 0], strict=True))
    rows = reminders_db.recorded_calls(reminders)
    assert [(r["reminder_id"], r["attempt"], r["status"]) for r in rows] == [
        ("R-1001", 1, "completed"), ("R-1002", 1, "busy"), ("R-1002", 2, "busy"),
        ("R-1003", 1, "no-answer"), ("R-1003", 2, "no-answer"), ("R-1004", 1, "failed"),
        ("R-1005", 1, "completed"),
    ]  # fmt: skip
    assert {r["call_sid"] for r in rows} == {c.sid for c in sim.placed_calls()}
    assert all(r["due_date"] == DAY and r["placed_at"] and r["price"] is not None for r in rows)
    summary = xcom_values(dag.dag_id, dag_run.run_id, "report")[-1]
    assert {k: summary[k] for k in ("day", "entries", "calls", "redialled", "answered", "not_answered", "failed")} == {
        "day": DAY, "entries": 5, "calls": 7, "redialled": 2, "answered": 2, "not_answered": 2, "failed": 1,
    }  # fmt: skip
    assert summary["total_cost"] == pytest.approx(sum(r["price"] for r in rows))
    assert "per_call" not in summary  # a row per call is the page's, not every reader's of the XCom
    page, chart = (
        Path(summary["report_path"].removeprefix("file://")),
        Path(summary["chart_path"].removeprefix("file://")),
    )
    assert f"Reminder calls, {DAY}" in page.read_text() and "R-1005 Meera Iyer" in page.read_text()
    assert chart.read_bytes().startswith(b"\x89PNG") and chart.name in page.read_text()


def test_a_second_run_of_the_same_day_calls_nobody(exotel_simulator, reminders):
    sim = exotel_simulator
    sim.script("+919876500102", outcome="busy")
    scheduled_run(sim)
    calls_after_first_run = len(sim.placed_calls())

    dag, dag_run = scheduled_run(sim, run_conf={"due_date": DAY})

    assert set(task_states(dag_run).values()) == {"success"}
    assert len(sim.placed_calls()) == calls_after_first_run == 6
    assert xcom_values(dag.dag_id, dag_run.run_id, "call")[-1] == []


def test_a_reminder_exotel_refuses_makes_the_run_red_after_the_report(exotel_simulator, reminders):
    sim = exotel_simulator
    sim.script("+919876500105", CallScript(reject_status=403, reject_message="Number is on the DND list"))

    dag, dag_run = scheduled_run(sim)

    states = task_states(dag_run)
    assert states.pop(("check_day", -1)) == "failed"
    assert set(states.values()) == {"success"}, states  # everyone else called, recorded, reported
    assert str(dag_run.state) in ("failed", "DagRunState.FAILED")
    assert placed(sim, SAMPLE_NUMBERS[:5]) == dict.fromkeys(SAMPLE_NUMBERS[:5], 1) | {"+919876500105": 0}
    summary = xcom_values(dag.dag_id, dag_run.run_id, "report")[-1]
    assert (summary["not_attempted"], summary["failed"], summary["answered"]) == (1, 1, 4)
    assert Path(summary["report_path"].removeprefix("file://")).exists()


def test_without_the_reminders_connection_the_run_is_red_and_says_how_to_create_it(
    exotel_simulator, reminders, monkeypatch, capfd
):
    monkeypatch.delenv("AIRFLOW_CONN_EXOTEL_REMINDERS_DB")

    _dag, dag_run = scheduled_run(exotel_simulator)

    states = task_states(dag_run)
    assert states[("read_due_reminders", -1)] == "failed"
    assert states[("report", -1)] == "success"  # the report still says what happened
    assert str(dag_run.state) in ("failed", "DagRunState.FAILED")
    assert exotel_simulator.requests == []
    printed = capfd.readouterr()
    assert "airflow connections add exotel_reminders_db" in printed.out + printed.err


# The end-to-end layer (make test-e2e): a volume run of 1,520 calls, minutes of CPU on two cores; the
# tests above prove the same DAG's behaviour on a few reminders in seconds.
@pytest.mark.e2e
@pytest.mark.exotel_simulator(time_scale=120, rate_limit_per_minute=6000)  # 24 h of simulated time is 12 min
def test_a_day_of_1500_reminders_passes_above_the_mapping_ceiling(exotel_simulator, reminders):
    sim = exotel_simulator
    reminders_db.seed(reminders, reminders_db.generated_reminders(DAY, 1500))
    for i in range(0, 1500, 100):
        sim.script(f"+91987{i:07d}", outcome="busy")

    dag, dag_run = scheduled_run(sim)

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    rows = reminders_db.recorded_calls(reminders)
    assert len(sim.placed_calls()) == len(rows) == 1505 + 15  # 1,500 + 5 samples, 15 busy redialled
    assert len({r["call_sid"] for r in rows}) == len(rows)
    summary = xcom_values(dag.dag_id, dag_run.run_id, "report")[-1]
    assert (summary["entries"], summary["answered"], summary["not_answered"]) == (1505, 1490, 15)
