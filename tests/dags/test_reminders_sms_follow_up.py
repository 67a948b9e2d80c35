"""exotel_scheduled_reminders sends one SMS to each reminder whose calls ended unanswered after the
redial, run as the scheduler runs it (no conf) against the simulator: none to anyone who answered,
and a second run of the day sends none (``reminder_sms`` is read first); one not delivered because
the number is on DND is counted in the day's report."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.dags.test_reminders_ledger_dag import DAY, NUMBERS, database, run_day  # noqa: F401
from tests.support.airflow_runs import task_states
from tools import reminders_db

pytestmark = pytest.mark.exotel_simulator(time_scale=600, rate_limit_per_minute=6000)


def sms_rows(path):
    with sqlite3.connect(path) as db:
        return db.execute(
            "SELECT reminder_id, state, sms_sid, price FROM reminder_sms ORDER BY reminder_id"
        ).fetchall()


def do_not_call_rows(path):
    with sqlite3.connect(path) as db:
        if not db.execute("SELECT name FROM sqlite_master WHERE name = 'do_not_call'").fetchall():
            return []
        return db.execute("SELECT phone, reason FROM do_not_call").fetchall()


def test_one_sms_to_each_unanswered_reminder_none_to_who_answered_and_none_on_a_second_run(
    exotel_simulator,
    database,  # noqa: F811
):
    sim = exotel_simulator
    reminders_db.seed(database, reminders_db.sample_reminders())
    sim.script(NUMBERS[1], outcome="busy")
    sim.script(NUMBERS[3], outcome="no-answer")
    sim.script_sms(NUMBERS[3], "failed_dnd")  # the SMS to this one is not delivered: DND

    dag_run, summary = run_day(sim)

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    assert {n: len(sim.sent_sms(n)) for n in NUMBERS} == {
        n: int(n in (NUMBERS[1], NUMBERS[3])) for n in NUMBERS
    }
    [bulk] = [r for r in sim.requests if r.is_sms_send]  # both in one request
    assert "/Sms/bulksend" in bulk.path
    sent = sim.sent_sms(NUMBERS[1])[0]
    assert sent.request.form["DltTemplateId"] == ["1107161234567890123"] and "R-1002" in sent.request.body
    rows = sms_rows(database)
    assert [(r[0], r[1]) for r in rows] == [("R-1002", "sent"), ("R-1004", "sent")]
    assert {r[2] for r in rows} == {m.sid for m in sim.sent_sms()}
    assert summary["sms_sent"] == 2 and summary["sms_cost"] == pytest.approx(sum(r[3] for r in rows))
    assert summary["sms_cost"] > 0
    page = Path(summary["report_path"].removeprefix("file://")).read_text(encoding="utf-8")
    assert "SMS sent: <b>2</b>" in page
    # DND for SMS is reported, not a calling rule: the number stays off the do-not-call list.
    assert summary["sms_failed_dnd"] == 1 and "<b>1</b> not delivered (number on DND)" in page
    assert do_not_call_rows(database) == []

    dag_run, summary = run_day(sim)

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    assert len(sim.sent_sms()) == 2 and len([r for r in sim.requests if r.is_sms_send]) == 1
    assert sms_rows(database) == rows and summary["sms_sent"] == 2
