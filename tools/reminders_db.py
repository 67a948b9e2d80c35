"""A SQLite reminders database for the demo, the local Airflow and the tests: the contract's tables,
seeded with sample reminders (``dags/data/due_reminders.csv``) or generated ones."""

from __future__ import annotations

import csv
import datetime
import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path

from exotel_provider.campaigns.reminders import (
    CREATE_REMINDER_CALLS,
    CREATE_REMINDERS,
    INDIA,
    OPTIONAL_REMINDER_FIELDS,
    REMINDER_FIELDS,
)

SAMPLE_CSV = Path(__file__).resolve().parents[1] / "dags" / "data" / "due_reminders.csv"
SAMPLE_DAY = "2026-08-03"


def sample_reminders(day: str | None = None) -> list[dict[str, str]]:
    """The sample reminders; with ``day``, those due on the sample day moved to ``day``."""
    with SAMPLE_CSV.open(newline="") as source:
        rows = [{name: row[name] for name in REMINDER_FIELDS} for row in csv.DictReader(source)]
    if day is not None:
        rows = [{**row, "due_date": day} for row in rows if row["due_date"] == SAMPLE_DAY]
    return rows


def generated_reminders(day: str, count: int, *, first_number: int = 0) -> list[dict[str, str]]:
    """``count`` reminders due on ``day`` to numbers +9198765NNNNN (the simulator answers them)."""
    return [
        {
            "reminder_id": f"G-{i:06d}",
            "phone": f"+91987{i:07d}",
            "flow_app_id": "926",
            "due_date": day,
            "customer": f"Customer {i}",
        }
        for i in range(first_number, first_number + count)
    ]


def seed(path: Path, reminders: Iterable[Mapping[str, str]]) -> Path:
    """Create the tables (if missing) and add or replace ``reminders``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.execute(CREATE_REMINDERS)
        db.execute(CREATE_REMINDER_CALLS)
        present = {row[1] for row in db.execute("PRAGMA table_info(reminders)")}
        for name in OPTIONAL_REMINDER_FIELDS:
            if name not in present:  # a database seeded before the contract had them
                db.execute(f"ALTER TABLE reminders ADD COLUMN {name} TEXT")
        fields = (*REMINDER_FIELDS, *OPTIONAL_REMINDER_FIELDS)  # preferred times: empty unless given
        db.executemany(
            f"INSERT OR REPLACE INTO reminders ({', '.join(fields)}) VALUES ({', '.join('?' for _ in fields)})",
            [tuple(r[name] for name in REMINDER_FIELDS) + tuple(r.get(name) for name in OPTIONAL_REMINDER_FIELDS)
             for r in reminders],
        )  # fmt: skip
    return path


def seed_demo(path: Path) -> Path:
    """The sample reminders on their own day, and again on yesterday, today and tomorrow (India time),
    so that the runs the scheduler makes have reminders to call."""
    today = datetime.datetime.now(INDIA).date()
    days = [today + datetime.timedelta(days=offset) for offset in (-1, 0, 1)]
    rows = sample_reminders()
    for day in days:
        rows += [
            {**r, "reminder_id": f"{r['reminder_id']}-{day:%m%d}"} for r in sample_reminders(day.isoformat())
        ]
    return seed(path, rows)


def connection_json(path: Path) -> str:
    """The ``exotel_reminders_db`` connection for this file (``AIRFLOW_CONN_EXOTEL_REMINDERS_DB``)."""
    return json.dumps({"conn_type": "sqlite", "host": str(path)})


def recorded_calls(path: Path) -> list[dict[str, object]]:
    """Every ``reminder_calls`` row (for tests and the benchmark)."""
    with sqlite3.connect(path) as db:
        db.row_factory = sqlite3.Row
        return [dict(row) for row in db.execute("SELECT * FROM reminder_calls ORDER BY reminder_id, attempt")]
