"""Reminder calls kept in a SQL database: the table contract, which reminders to call, what to record.

The reminders are read from ``reminders`` (read-only); every call placed is recorded in
``reminder_calls`` (created if missing), which is also what stops a second run of the same day from
calling anyone again. ``db`` is any common-sql ``DbApiHook`` (SQLite by default); this module imports
no Airflow.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from exotel_provider.campaigns.outcomes import NOT_PLACED, OUTCOME_UNKNOWN
from exotel_provider.campaigns.summary import REDIAL_STATUSES, Attempt

REMINDERS_CONN_ID = "exotel_reminders_db"
INDIA = ZoneInfo("Asia/Kolkata")
REMINDER_FIELDS = ("reminder_id", "phone", "flow_app_id", "due_date", "customer")
CALL_FIELDS = (
    "reminder_id", "due_date", "attempt", "call_sid", "status", "price", "duration", "placed_at", "ended_at",
)  # fmt: skip
CREATE_REMINDER_CALLS = """
CREATE TABLE IF NOT EXISTS reminder_calls (
    reminder_id TEXT NOT NULL,
    due_date TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    call_sid TEXT,
    status TEXT,
    price REAL,
    duration INTEGER,
    placed_at TEXT,
    ended_at TEXT,
    PRIMARY KEY (reminder_id, due_date, attempt)
)"""
CREATE_REMINDERS = """
CREATE TABLE IF NOT EXISTS reminders (
    reminder_id TEXT PRIMARY KEY,
    phone TEXT,
    flow_app_id TEXT,
    due_date TEXT,
    customer TEXT
)"""
"""The table the DAG reads (it never writes it): for seeding a demo or a test database."""


class Database(Protocol):
    """The part of common-sql's ``DbApiHook`` used here."""

    placeholder: str

    def get_records(self, sql: str, parameters: Any = None) -> Any: ...

    def run(self, sql: str, autocommit: bool = False, parameters: Any = None) -> Any: ...

    def insert_rows(self, table: str, rows: Any, target_fields: Any = None, **kwargs: Any) -> None: ...


def india_day(override: str | None, logical_date: datetime.datetime | None, run_after: Any) -> str:
    """A run's day: ``override`` (``YYYY-MM-DD``, e.g. a param), else the run's logical date (or
    ``run_after``) in India time. Takes plain datetimes (the 3.3 task context) and pendulum ones alike."""
    if override:
        return datetime.date.fromisoformat(str(override)).isoformat()
    moment = logical_date or run_after
    if not isinstance(moment, datetime.datetime):
        raise ValueError("The run has neither a logical date nor run_after: pass due_date.")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(INDIA).date().isoformat()


def due_reminders(db: Database, day: str) -> list[dict[str, str]]:
    """The reminders due on ``day``, by id."""
    rows = db.get_records(
        f"SELECT {', '.join(REMINDER_FIELDS)} FROM reminders WHERE due_date = {db.placeholder} "
        "ORDER BY reminder_id",
        parameters=(day,),
    )
    return [{name: _text(value) for name, value in zip(REMINDER_FIELDS, row, strict=True)} for row in rows]


def ensure_calls_table(db: Database) -> None:
    db.run(CREATE_REMINDER_CALLS, autocommit=True)


def recorded_calls(db: Database, day: str) -> list[dict[str, Any]]:
    """Every call recorded for ``day``, by reminder and attempt."""
    rows = db.get_records(
        f"SELECT {', '.join(CALL_FIELDS)} FROM reminder_calls WHERE due_date = {db.placeholder} "
        "ORDER BY reminder_id, attempt",
        parameters=(day,),
    )
    return [dict(zip(CALL_FIELDS, row, strict=True)) for row in rows]


def record_calls(db: Database, day: str, attempt: int, outcomes: Iterable[Mapping[str, Any]]) -> int:
    """One ``reminder_calls`` row per placed call (a rerun replaces its own rows); returns how many."""
    rows = [_call_row(day, attempt, outcome) for outcome in outcomes if outcome.get("sid")]
    if rows:
        db.insert_rows(
            "reminder_calls", rows, target_fields=list(CALL_FIELDS), replace=True,
            replace_index=["reminder_id", "due_date", "attempt"],
        )  # fmt: skip
    return len(rows)


def call_entry(reminder: Mapping[str, str]) -> dict[str, str]:
    """The campaign entry calling one reminder's person to its call flow."""
    return {
        "key": reminder["reminder_id"],
        "from_number": reminder["phone"],
        "app_id": reminder["flow_app_id"],
        "custom_field": reminder["reminder_id"],
    }


def first_calls(reminders: Iterable[Mapping[str, str]], recorded: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Entries for the reminders nobody has been called about yet on their day."""
    called = {row["reminder_id"] for row in recorded}
    return [call_entry(r) for r in reminders if r["reminder_id"] not in called]


def redial_calls(reminders: Iterable[Mapping[str, str]], recorded: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Entries for the reminders whose first call was busy or unanswered and not redialled yet."""
    attempts: dict[str, dict[int, str]] = {}
    for row in recorded:
        attempts.setdefault(row["reminder_id"], {})[int(row["attempt"])] = str(row["status"])
    return [
        call_entry(r)
        for r in reminders
        if attempts.get(r["reminder_id"], {}).get(1) in REDIAL_STATUSES
        and 2 not in attempts.get(r["reminder_id"], {})
    ]


def day_attempts(
    reminders: Iterable[Mapping[str, str]],
    recorded: Iterable[Mapping[str, Any]],
    outcomes: Iterable[Mapping[str, Any]] = (),
) -> list[Attempt]:
    """Every attempt of the day for the summary: recorded calls, plus this run's entries that could not
    be attempted (refused by Exotel, invalid, or of unknown outcome), which have no row."""
    labels = {r["reminder_id"]: f"{r['reminder_id']} {r.get('customer') or ''}".strip() for r in reminders}
    attempts = [
        Attempt.of(row["reminder_id"], _call_fields(row), attempt=int(row["attempt"]),
                   label=labels.get(row["reminder_id"], row["reminder_id"]))
        for row in recorded
    ]  # fmt: skip
    recorded_keys = {(a.key, a.attempt) for a in attempts}
    for attempt_number, outcome in outcomes_by_attempt(outcomes):
        key = str(outcome["key"])
        if (
            outcome.get("status") in (NOT_PLACED, OUTCOME_UNKNOWN)
            and (key, attempt_number) not in recorded_keys
        ):
            attempts.append(Attempt(key, None, attempt_number, labels.get(key, key)))
    return attempts


def outcomes_by_attempt(outcomes: Iterable[Mapping[str, Any]]) -> list[tuple[int, Mapping[str, Any]]]:
    """``(attempt, outcome)`` pairs; an outcome carries its attempt number under ``attempt`` (default 1)."""
    return [(int(outcome.get("attempt") or 1), outcome) for outcome in outcomes]


def _call_row(day: str, attempt: int, outcome: Mapping[str, Any]) -> tuple[Any, ...]:
    return (
        outcome["key"], day, attempt, outcome["sid"], outcome.get("status"), outcome.get("price"),
        outcome.get("duration"), _placed_at(outcome.get("placed_at")), outcome.get("end_time"),
    )  # fmt: skip


def _call_fields(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "Sid": row["call_sid"], "Status": row["status"], "Price": row["price"], "Duration": row["duration"],
        "EndTime": row["ended_at"], "StartTime": row["placed_at"],
    }  # fmt: skip


def _placed_at(epoch: Any) -> str | None:
    """Exotel's time format (India time) for an epoch; what a person reads in the table."""
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(float(epoch), INDIA).strftime("%Y-%m-%d %H:%M:%S")


def _text(value: Any) -> str:
    return "" if value is None else str(value)
