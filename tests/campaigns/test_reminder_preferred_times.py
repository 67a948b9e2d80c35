"""The ``reminders`` contract's optional ``call_after`` / ``call_before`` columns: read when the table
has them and handed to the campaign with each call; a table without them reads as before."""

from __future__ import annotations

import sqlite3

import pytest

from exotel_provider.campaigns import reminders as store
from exotel_provider.campaigns.outcomes import parse_entries
from exotel_provider.errors import ExotelValidationError
from tools import reminders_db

OLD_REMINDERS = """CREATE TABLE reminders (
    reminder_id TEXT PRIMARY KEY, phone TEXT, flow_app_id TEXT, due_date TEXT, customer TEXT
)"""


def sqlite_hook(path, monkeypatch):
    from airflow.providers.sqlite.hooks.sqlite import SqliteHook

    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_REMINDERS_DB", reminders_db.connection_json(path))
    return SqliteHook(sqlite_conn_id=store.REMINDERS_CONN_ID)


def test_preferred_times_travel_from_the_reminders_table_to_the_campaign_entry(tmp_path, monkeypatch):
    path = reminders_db.seed(tmp_path / "r.db", reminders_db.sample_reminders())
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE reminders SET call_after = '17:30' WHERE reminder_id = 'R-1001'")
    db = sqlite_hook(path, monkeypatch)

    calls = store.first_calls(store.due_reminders(db, reminders_db.SAMPLE_DAY), [])

    assert calls[0]["call_after"] == "17:30" and "call_before" not in calls[0]
    assert all("call_after" not in call for call in calls[1:])
    [entry] = parse_entries(calls[:1])
    assert entry.preferred_times == {"call_after": "17:30"}
    assert "call_after" not in entry.parameters  # not an argument of the call itself


def test_a_reminders_table_without_the_optional_columns_reads_as_before(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.execute(OLD_REMINDERS)
        connection.execute("INSERT INTO reminders VALUES ('R-1', '+919876500101', '926', '2026-08-03', 'A')")
    due = store.due_reminders(sqlite_hook(path, monkeypatch), "2026-08-03")
    assert due == [
        {
            "reminder_id": "R-1",
            "phone": "+919876500101",
            "flow_app_id": "926",
            "due_date": "2026-08-03",
            "customer": "A",
        }
    ]


def test_a_preferred_time_that_is_not_a_time_of_day_fails_before_any_call():
    with pytest.raises(ExotelValidationError, match="call_before"):
        parse_entries([{"key": "R1", "from_number": "+919876500101", "call_before": "evening"}])
