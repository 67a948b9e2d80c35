"""Reminder calls kept in a SQL database: the table contract, which reminders to call, what to report.

The reminders are read from ``reminders`` (read-only); every call is recorded in ``reminder_calls``,
the call ledger (:mod:`exotel_provider.campaigns.ledger`; created, or migrated from its earlier shape,
if needed), which is also what stops a later run of the same day from calling anyone again.
``db`` is any common-sql ``DbApiHook`` (SQLite by default); this module imports no Airflow.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Mapping
from typing import Any
from zoneinfo import ZoneInfo

from exotel_provider.calls.calling_hours import PREFERRED_TIME_FIELDS
from exotel_provider.calls.status import REDIAL_STATUSES
from exotel_provider.campaigns.ledger import ENDED, FINAL_STATES, PLACED, LedgerRow, normalise_key
from exotel_provider.campaigns.ledger_sql import (
    LEDGER_COLUMNS,
    Database,
    column_names,
    create_ledger_sql,
    ensure_ledger_table,
    read_ledger,
)
from exotel_provider.campaigns.not_called import reason_not_called
from exotel_provider.campaigns.summary import Attempt

__all__ = ["Database"]

REMINDERS_CONN_ID = "exotel_reminders_db"
INDIA = ZoneInfo("Asia/Kolkata")
REMINDER_FIELDS = ("reminder_id", "phone", "flow_app_id", "due_date", "customer")
OPTIONAL_REMINDER_FIELDS = PREFERRED_TIME_FIELDS
"""Columns a ``reminders`` table may have: ``call_after`` / ``call_before`` (``HH:MM``, India time),
the times a person asked to be called within (they narrow the calling hours for that person)."""
CALL_FIELDS = tuple(LEDGER_COLUMNS)
"""The columns of ``reminder_calls`` (the call ledger)."""
CREATE_REMINDER_CALLS = create_ledger_sql()
CREATE_REMINDERS = """
CREATE TABLE IF NOT EXISTS reminders (
    reminder_id TEXT PRIMARY KEY,
    phone TEXT,
    flow_app_id TEXT,
    due_date TEXT,
    customer TEXT,
    call_after TEXT,
    call_before TEXT
)"""
"""The table the DAG reads (it never writes it): for seeding a demo or a test database."""


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
    """The reminders due on ``day``, by id (ids without surrounding spaces, as the ledger keys them),
    with the optional columns the table has."""
    present = {name.lower() for name in column_names(db, "reminders")}
    fields = (*REMINDER_FIELDS, *(name for name in OPTIONAL_REMINDER_FIELDS if name in present))
    rows = db.get_records(
        f"SELECT {', '.join(fields)} FROM reminders WHERE due_date = {db.placeholder} ORDER BY reminder_id",
        parameters=(day,),
    )
    reminders = [{name: _text(value) for name, value in zip(fields, row, strict=True)} for row in rows]
    return [{**r, "reminder_id": normalise_key(r["reminder_id"])} for r in reminders]


def ensure_calls_table(db: Database) -> list[str]:
    """Create ``reminder_calls`` or migrate it to the ledger's shape; returns the columns added."""
    return ensure_ledger_table(db)


def recorded_calls(db: Database, day: str) -> list[dict[str, Any]]:
    """Every ledger row of ``day``, by reminder and attempt, under the table's column names."""
    return [row.as_record() for row in read_ledger(db, day)]


def call_entry(reminder: Mapping[str, str]) -> dict[str, str]:
    """The campaign entry calling one reminder's person to its call flow."""
    key = normalise_key(reminder["reminder_id"])
    preferred = {name: reminder[name] for name in OPTIONAL_REMINDER_FIELDS if reminder.get(name)}
    return {
        "key": key,
        "from_number": reminder["phone"],
        "app_id": reminder["flow_app_id"],
        "custom_field": key,
        **preferred,
    }


def first_calls(reminders: Iterable[Mapping[str, str]], recorded: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Entries for the reminders whose first call is not settled: never placed (dialled), placed but
    never seen to end (watched), or of unknown outcome (resolved from the listing before anything)."""
    settled = {r.key for r in _rows(recorded) if r.attempt == 1 and r.state in FINAL_STATES}
    return [call_entry(r) for r in reminders if normalise_key(r["reminder_id"]) not in settled]


def redial_calls(reminders: Iterable[Mapping[str, str]], recorded: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Entries for the reminders whose first call ended busy or unanswered and whose redial is not
    settled. ``reminders`` as they are now: one deleted since is not redialled, a new number is used."""
    rows = {(r.key, r.attempt): r for r in _rows(recorded)}
    due = []
    for reminder in reminders:
        key = normalise_key(reminder["reminder_id"])
        first, again = rows.get((key, 1)), rows.get((key, 2))
        if first is None or first.state != ENDED or first.status not in REDIAL_STATUSES:
            continue
        if again is None or again.state not in FINAL_STATES:
            due.append(call_entry(reminder))
    return due


def day_attempts(
    reminders: Iterable[Mapping[str, str]], recorded: Iterable[Mapping[str, Any]]
) -> list[Attempt]:
    """Every attempt of the day for the summary, from the ledger: each call (placed, ended, of unknown
    outcome), each refusal, and each reminder due that no run attempted (``not attempted``)."""
    labels = {
        normalise_key(
            r["reminder_id"]
        ): f"{normalise_key(r['reminder_id'])} {r.get('customer') or ''}".strip()
        for r in reminders
    }
    rows = _rows(recorded)
    attempts = [Attempt.from_record(row.as_record(), label=labels.get(row.key, row.key)) for row in rows]
    seen = {row.key for row in rows}
    phones = {normalise_key(r["reminder_id"]): _text(r.get("phone")) for r in reminders}
    attempts += [
        Attempt(key, None, 1, label, "not attempted", phones[key])
        for key, label in labels.items()
        if key not in seen
    ]
    return attempts


def not_reached(reminders: Iterable[Mapping[str, str]], recorded: Iterable[Mapping[str, Any]]) -> list[str]:
    """The reminders due that no call of the day reached (never placed, refused, or of unknown
    outcome): what makes a day red. A reminder a calling rule kept back (do-not-call, a cap, not a
    mobile, outside calling hours) is not among them: not calling it was the rule, not a failure."""
    rows = _rows(recorded)
    called = {r.key for r in rows if r.call_sid and r.state in (PLACED, ENDED)}
    kept_back = {r.key for r in rows if reason_not_called({"error": r.error})}
    return [
        key
        for key in (normalise_key(r["reminder_id"]) for r in reminders)
        if key not in called and key not in kept_back
    ]


def _rows(recorded: Iterable[Mapping[str, Any] | LedgerRow]) -> list[LedgerRow]:
    return [r if isinstance(r, LedgerRow) else LedgerRow.from_record(r) for r in recorded]


def _text(value: Any) -> str:
    return "" if value is None else str(value)
