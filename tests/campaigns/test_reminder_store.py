"""The reminders contract over a real SQLite database (common-sql's SqliteHook), and the pure planning
rules: who is called first, who is redialled, what the summary counts."""

from __future__ import annotations

import datetime

import pendulum
import pytest

from exotel_provider.campaigns import reminders as store
from exotel_provider.campaigns import summarise_attempts
from exotel_provider.campaigns.ledger import LedgerRow
from exotel_provider.campaigns.ledger_sql import SqlCallLedger
from exotel_provider.campaigns.report_files import hourly_figures, render_chart_png, write_report
from tools import reminders_db


@pytest.fixture
def db(tmp_path, monkeypatch):
    from airflow.providers.sqlite.hooks.sqlite import SqliteHook

    path = reminders_db.seed(tmp_path / "r.db", reminders_db.sample_reminders())
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_REMINDERS_DB", reminders_db.connection_json(path))
    return SqliteHook(sqlite_conn_id=store.REMINDERS_CONN_ID)


PLACED_AT = pendulum.datetime(2026, 8, 3, 10, 10, tz="Asia/Kolkata").timestamp()


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


def ledger_row(key, attempt, sid, status, state="ended"):
    return LedgerRow(key, reminders_db.SAMPLE_DAY, attempt, state=state, call_sid=sid, status=status,
                     price=0.5, duration=30, sent_at=PLACED_AT, placed_at="2026-08-03 10:10:00")  # fmt: skip


def test_due_reminders_are_read_and_each_settled_call_is_left_out(db):
    day = reminders_db.SAMPLE_DAY
    store.ensure_calls_table(db)
    due = store.due_reminders(db, day)
    assert [r["reminder_id"] for r in due] == ["R-1001", "R-1002", "R-1003", "R-1004", "R-1005"]
    assert store.first_calls(due, [])[0] == {
        "key": "R-1001", "from_number": "+919876500101", "app_id": "926", "custom_field": "R-1001",
    }  # fmt: skip

    ledger = SqlCallLedger(db, day=day, attempt=1)
    ledger.write(ledger_row("R-1001", 1, "s1", "completed"))
    ledger.write(ledger_row("R-1002", 1, "s2", "busy"))
    ledger.write(LedgerRow("R-1003", day, 1).not_placed("403 DND", refused=True))
    ledger.write(ledger_row("R-1004", 1, "s4", None, state="placed"))  # placed, never seen to end
    ledger.write(ledger_row("R-1002", 1, "s2", "busy"))  # written twice: still one row
    rows = store.recorded_calls(db, day)
    assert [(r["reminder_id"], r["attempt"], r["call_sid"], r["state"]) for r in rows] == [
        ("R-1001", 1, "s1", "ended"), ("R-1002", 1, "s2", "ended"), ("R-1003", 1, None, "refused"),
        ("R-1004", 1, "s4", "placed"),
    ]  # fmt: skip
    assert rows[0]["placed_at"] == "2026-08-03 10:10:00"  # India time, as Exotel writes times
    # R-1004 is handed to the campaign again: it watches its Sid, never dials
    assert [c["key"] for c in store.first_calls(due, rows)] == ["R-1004", "R-1005"]
    assert [c["key"] for c in store.redial_calls(due, rows)] == ["R-1002"]

    SqlCallLedger(db, day=day, attempt=2).write(ledger_row("R-1002", 2, "s3", "no-answer"))
    rows = store.recorded_calls(db, day)
    assert store.redial_calls(due, rows) == []  # redialled once, never again


def test_nobody_who_answered_or_failed_is_redialled():
    due = reminders_db.sample_reminders(reminders_db.SAMPLE_DAY)
    rows = [{"reminder_id": r["reminder_id"], "attempt": 1, "status": s, "call_sid": f"s{i}"}
            for i, (r, s) in enumerate(zip(due, ["completed", "failed", "canceled", "busy", "no-answer"], strict=True))]  # fmt: skip
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
    refused = {"reminder_id": "R-1003", "attempt": 1, "state": "refused", "error": "403 DND"}
    attempts = store.day_attempts(due[:3], [*rows, refused])
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
