"""The reminders contract over a real SQLite database (common-sql's SqliteHook), and the pure planning
rules: who is called first, who is redialled, what the summary counts."""

from __future__ import annotations

import datetime

import pendulum
import pytest

from exotel_provider.campaigns import reminders as store
from exotel_provider.campaigns import summarise_attempts
from exotel_provider.campaigns.outcomes import not_placed_outcome
from exotel_provider.campaigns.report_files import hourly_figures, render_chart_png, write_report
from tools import reminders_db


@pytest.fixture
def db(tmp_path, monkeypatch):
    from airflow.providers.sqlite.hooks.sqlite import SqliteHook

    path = reminders_db.seed(tmp_path / "r.db", reminders_db.sample_reminders())
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_REMINDERS_DB", reminders_db.connection_json(path))
    return SqliteHook(sqlite_conn_id=store.REMINDERS_CONN_ID)


PLACED_AT = pendulum.datetime(2026, 8, 3, 10, 10, tz="Asia/Kolkata").timestamp()


def outcome(key, sid, status, price=0.5):
    return {"key": key, "sid": sid, "status": status, "price": price, "duration": 30, "placed_at": PLACED_AT,
            "end_time": "2026-08-03 10:01:00"}  # fmt: skip


@pytest.mark.parametrize(
    "moment",
    [
        datetime.datetime(2026, 8, 2, 22, 0, tzinfo=datetime.UTC),  # plain, as the 3.3 task context gives it
        pendulum.datetime(2026, 8, 2, 22, 0, tz="UTC"),
        datetime.datetime(2026, 8, 3, 3, 30, tzinfo=pendulum.timezone("Asia/Kolkata")),
    ],
)
def test_the_day_is_the_runs_date_in_india_time(moment):
    assert store.india_day(None, moment, None) == "2026-08-03"
    assert store.india_day(None, None, moment) == "2026-08-03"
    assert store.india_day("2026-09-01", moment, None) == "2026-09-01"


def test_due_reminders_are_read_and_calls_recorded_once_per_attempt(db):
    day = reminders_db.SAMPLE_DAY
    store.ensure_calls_table(db)
    due = store.due_reminders(db, day)
    assert [r["reminder_id"] for r in due] == ["R-1001", "R-1002", "R-1003", "R-1004", "R-1005"]
    assert store.first_calls(due, [])[0] == {
        "key": "R-1001", "from_number": "+919876500101", "app_id": "926", "custom_field": "R-1001",
    }  # fmt: skip

    outcomes = [outcome("R-1001", "s1", "completed"), outcome("R-1002", "s2", "busy"),
                not_placed_outcome("R-1003", "403 DND")]  # fmt: skip
    assert store.record_calls(db, day, 1, outcomes) == 2
    assert store.record_calls(db, day, 1, outcomes) == 2  # a rerun replaces its rows
    rows = store.recorded_calls(db, day)
    assert [(r["reminder_id"], r["attempt"], r["call_sid"], r["status"]) for r in rows] == [
        ("R-1001", 1, "s1", "completed"), ("R-1002", 1, "s2", "busy"),
    ]  # fmt: skip
    assert rows[0]["placed_at"] == "2026-08-03 10:10:00"  # India time, as Exotel writes times
    assert [c["key"] for c in store.first_calls(due, rows)] == ["R-1003", "R-1004", "R-1005"]
    assert [c["key"] for c in store.redial_calls(due, rows)] == ["R-1002"]

    store.record_calls(db, day, 2, [outcome("R-1002", "s3", "no-answer")])
    rows = store.recorded_calls(db, day)
    assert store.redial_calls(due, rows) == []  # redialled once, never again


def test_nobody_who_answered_or_failed_is_redialled():
    due = reminders_db.sample_reminders(reminders_db.SAMPLE_DAY)
    rows = [{"reminder_id": r["reminder_id"], "attempt": 1, "status": s}
            for r, s in zip(due, ["completed", "failed", "canceled", "busy", "no-answer"], strict=True)]  # fmt: skip
    assert [c["key"] for c in store.redial_calls(due, rows)] == ["R-1004", "R-1005"]


def test_the_summary_counts_refused_reminders_as_failed_and_the_report_has_a_chart(tmp_path):
    due = reminders_db.sample_reminders(reminders_db.SAMPLE_DAY)
    rows = [
        {"reminder_id": "R-1001", "attempt": 1, "call_sid": "s1", "status": "completed", "price": 1.0,
         "duration": 40, "placed_at": "2026-08-03 10:00:05", "ended_at": "2026-08-03 10:01:00"},
        {"reminder_id": "R-1002", "attempt": 1, "call_sid": "s2", "status": "busy", "price": 0.0,
         "duration": 0, "placed_at": "2026-08-03 10:00:06", "ended_at": "2026-08-03 10:00:20"},
        {"reminder_id": "R-1002", "attempt": 2, "call_sid": "s3", "status": "completed", "price": 0.5,
         "duration": 20, "placed_at": "2026-08-03 11:00:06", "ended_at": "2026-08-03 11:00:40"},
    ]  # fmt: skip
    attempts = store.day_attempts(due, rows, [not_placed_outcome("R-1003", "403 DND")])
    summary = summarise_attempts(attempts)
    assert {k: summary[k] for k in ("entries", "calls", "answered", "failed", "redialled")} == {
        "entries": 3, "calls": 3, "answered": 2, "failed": 1, "redialled": 1,
    }  # fmt: skip
    assert hourly_figures(rows) == [
        {"hour": "10:00", "answered": 1, "not answered": 1, "cost": 1.0},
        {"hour": "11:00", "answered": 1, "cost": 0.5},
    ]
    assert render_chart_png(hourly_figures(rows), title="t").startswith(b"\x89PNG")
    page, chart = write_report(tmp_path / "out", "day", summary, rows, title="Reminder calls, 2026-08-03")
    assert 'src="day.png"' in page.read_text() and "R-1003 Fatima Sheikh" in page.read_text()
    assert chart.read_bytes().startswith(b"\x89PNG")
