"""The call ledger in a SQL table of the user's database (``reminder_calls`` by default).

``db`` is any common-sql ``DbApiHook`` (SQLite, PostgreSQL ...): rows are read with
``get_records`` and written on DB-API connections of its own (one per placing thread, each write
committed before it returns), so a row is durable before the request it announces goes out. On a
server database the threads commit side by side; on SQLite one at a time, and the database is put in
WAL journal mode with ``synchronous=FULL``: each commit is one flush of the log, still durable, instead
of the rollback journal's several. Final outcomes are written many rows to a commit. A table
of the earlier shape (one row per placed call, no ``state``) is migrated in place: the missing
columns are added and no row is lost. No Airflow imports.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable
from typing import Any, Protocol

from exotel_provider.campaigns.ledger import ENDED, NOT_PLACED, LedgerRow

LEDGER_TABLE = "reminder_calls"
LEDGER_COLUMNS: dict[str, str] = {
    "reminder_id": "TEXT NOT NULL",
    "due_date": "TEXT NOT NULL",
    "attempt": "INTEGER NOT NULL",
    "call_sid": "TEXT",
    "status": "TEXT",
    "price": "REAL",
    "duration": "INTEGER",
    "placed_at": "TEXT",
    "ended_at": "TEXT",
    "state": "TEXT",
    "phone": "TEXT",
    "sent_at": "DOUBLE PRECISION",
    "window_end": "DOUBLE PRECISION",
    "candidate_sids": "TEXT",
    "error": "TEXT",
}
"""Every column of the ledger and its type; the first nine are the earlier ``reminder_calls``."""
IDENTITY = ("reminder_id", "due_date", "attempt")
CHANGING = tuple(name for name in LEDGER_COLUMNS if name not in IDENTITY)


def create_ledger_sql(table: str = LEDGER_TABLE) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for the ledger table, with its primary key."""
    columns = ",\n    ".join(f"{name} {kind}" for name, kind in LEDGER_COLUMNS.items())
    return f"CREATE TABLE IF NOT EXISTS {table} (\n    {columns},\n    PRIMARY KEY ({', '.join(IDENTITY)})\n)"


class Database(Protocol):
    """The part of common-sql's ``DbApiHook`` used here."""

    placeholder: str

    def get_records(self, sql: str, parameters: Any = None) -> Any:
        """Rows of a query."""

    def run(self, sql: str, autocommit: bool = False, parameters: Any = None, handler: Any = None) -> Any:
        """Run a statement."""

    def insert_rows(self, table: str, rows: Any, target_fields: Any = None, **kwargs: Any) -> None:
        """Insert rows into ``table``."""

    def get_conn(self) -> Any:
        """A DB-API connection."""


def ensure_ledger_table(db: Database, table: str = LEDGER_TABLE) -> list[str]:
    """Create the ledger table, or add the columns an earlier shape lacks; returns the columns added.

    Rows written before the ledger kept ``state`` get one: ``ended`` (they have a Sid: the earlier
    table recorded calls once they had ended) or ``not placed``.
    """
    db.run(create_ledger_sql(table), autocommit=True)
    present = {name.lower() for name in column_names(db, table)}
    added = [name for name in LEDGER_COLUMNS if name not in present]
    for name in added:
        db.run(f"ALTER TABLE {table} ADD COLUMN {name} {LEDGER_COLUMNS[name].replace(' NOT NULL', '')}",
               autocommit=True)  # fmt: skip
    db.run(
        f"CREATE INDEX IF NOT EXISTS {table.replace('.', '_')}_by_phone ON {table} (phone, sent_at)",
        autocommit=True,
    )  # the per-person caps count a phone's calls over a few days
    if added:
        db.run(
            f"UPDATE {table} SET state = CASE WHEN call_sid IS NULL THEN '{NOT_PLACED}' ELSE '{ENDED}' END "
            "WHERE state IS NULL",
            autocommit=True,
        )
    return added


def read_ledger(db: Database, day: str, table: str = LEDGER_TABLE) -> list[LedgerRow]:
    """Every row of ``day``, by key and attempt."""
    records = db.get_records(
        f"SELECT {', '.join(LEDGER_COLUMNS)} FROM {table} WHERE due_date = {db.placeholder} "
        "ORDER BY reminder_id, attempt",
        parameters=(day,),
    )
    return [LedgerRow.from_record(dict(zip(LEDGER_COLUMNS, record, strict=True))) for record in records]


class SqlCallLedger:
    """:class:`~exotel_provider.campaigns.ledger.CallLedger` in a SQL table (``reminder_calls``).

    ``SqlCallLedger(hook, day="2026-08-03", attempt=1)``: ``hook`` is a common-sql hook of the
    database (``BaseHook.get_connection("exotel_reminders_db").get_hook()``). The table is created,
    or migrated, on first use.
    """

    def __init__(self, db: Database, *, day: str, attempt: int = 1, table: str = LEDGER_TABLE) -> None:
        self.db, self.day, self.attempt, self.table = db, str(day), int(attempt), table
        self._local = threading.local()
        self._connections: list[Any] = []
        self._ready = False
        self._lock = threading.Lock()
        marks = ", ".join([db.placeholder] * len(LEDGER_COLUMNS))
        self._insert = f"INSERT INTO {table} ({', '.join(LEDGER_COLUMNS)}) VALUES ({marks})"
        self._calls_to = (
            f"SELECT {', '.join(LEDGER_COLUMNS)} FROM {table} WHERE phone = {db.placeholder} "
            f"AND sent_at >= {db.placeholder} AND sent_at < {db.placeholder}"
        )
        self._update = (
            f"UPDATE {table} SET {', '.join(f'{name} = {db.placeholder}' for name in CHANGING)} "
            f"WHERE {' AND '.join(f'{name} = {db.placeholder}' for name in IDENTITY)}"
        )

    def __repr__(self) -> str:
        return f"SqlCallLedger(table={self.table!r}, day={self.day!r}, attempt={self.attempt})"

    def ensure_table(self) -> None:
        """Create or migrate the table once per ledger object."""
        with self._lock:
            if not self._ready:
                ensure_ledger_table(self.db, self.table)
                self._ready = True

    def rows(self) -> list[LedgerRow]:
        """Every row of this ledger's day."""
        self.ensure_table()
        return read_ledger(self.db, self.day, self.table)

    def calls_to(self, phone: str, since: float, until: float) -> list[LedgerRow]:
        """One indexed query (phone, sent_at), on this thread's connection: the hook's
        ``get_records`` would log its parameters, the full phone number."""
        self.ensure_table()
        connection = self._connection()
        cursor = connection.cursor()
        try:
            cursor.execute(self._calls_to, (phone, float(since), float(until)))
            records = cursor.fetchall()
            connection.commit()  # ends the read's transaction
        finally:
            cursor.close()
        return [LedgerRow.from_record(dict(zip(LEDGER_COLUMNS, record, strict=True))) for record in records]

    @property
    def concurrent_writes(self) -> bool:
        """Several threads may write at once (each on its own connection): not on SQLite, which takes
        one writer at a time (its other writers would wait in its busy handler)."""
        return str(getattr(self.db, "conn_type", "") or "sqlite") != "sqlite"

    def write(self, row: LedgerRow) -> None:
        """Update the row of its key, day and attempt, or insert it; committed on return."""
        self.write_many((row,))

    def write_many(self, rows: Iterable[LedgerRow]) -> None:
        """Update or insert every row in one transaction; committed on return."""
        self.ensure_table()
        connection = self._connection()
        cursor = connection.cursor()
        try:
            for row in rows:
                record = row.as_record()
                identity = [record[name] for name in IDENTITY]
                cursor.execute(self._update, (*[record[name] for name in CHANGING], *identity))
                if cursor.rowcount == 0:
                    cursor.execute(self._insert, tuple(record[name] for name in LEDGER_COLUMNS))
            connection.commit()
        except Exception:
            connection.rollback()
            raise
        finally:
            cursor.close()

    def close(self) -> None:
        """Close the connections the writes opened."""
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(Exception):  # SQLite: only its own thread may close it
                    connection.close()
            self._connections.clear()

    def _connection(self) -> Any:
        connection = getattr(self._local, "connection", None)
        if connection is None:
            connection = self._local.connection = self.db.get_conn()
            if isinstance(connection, sqlite3.Connection):
                _one_flush_per_commit(connection)
            with self._lock:
                self._connections.append(connection)
        return connection


def column_names(db: Database, table: str) -> list[str]:
    """The columns ``table`` has (read from an empty query's description)."""
    return [str(name) for name in db.run(f"SELECT * FROM {table} WHERE 1 = 0", handler=_column_names) or []]


def _one_flush_per_commit(connection: sqlite3.Connection) -> None:
    """SQLite in WAL journal mode, every commit flushed (``synchronous=FULL``): durable, one fsync a
    commit. The journal mode stays with the file; a database another process holds keeps its mode."""
    with contextlib.suppress(sqlite3.OperationalError):
        connection.execute("PRAGMA journal_mode=WAL").fetchall()
    connection.execute("PRAGMA synchronous=FULL")


def _column_names(cursor: Any) -> list[str]:
    return [column[0] for column in cursor.description or ()]
