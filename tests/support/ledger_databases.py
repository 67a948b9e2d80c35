"""Databases for the call ledger's tests: a SQLite file, and a throwaway PostgreSQL server started
from Debian's packages (as the end-to-end layer starts one), through common-sql hooks."""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

OLD_REMINDER_CALLS = """
CREATE TABLE reminder_calls (
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
"""``reminder_calls`` as releases before the ledger created it: one row per placed call, no state."""


def postgres_unavailable() -> str | None:
    """Why no PostgreSQL server can be started here (None: it can)."""
    try:
        import psycopg2  # noqa: F401

        from tools.local_services import postgres_bin_dir

        postgres_bin_dir()
    except (ImportError, RuntimeError) as err:
        return f"PostgreSQL is not installed here ({err}): apt-get install postgresql, pip install psycopg2-binary"
    return None


def start_postgres() -> Iterator[Any]:
    """A PostgreSQL server in a folder of its own for the session; yields it, stops it after.

    The folder is outside pytest's (which only its owner may enter): under root, the server runs as
    Debian's ``postgres`` user."""
    from tools.local_airflow import free_port
    from tools.local_services import LocalPostgres

    folder = Path(tempfile.mkdtemp(prefix="exotel-ledger-postgres-"))
    folder.chmod(0o755)
    server = LocalPostgres(name="postgres", log_path=folder / "postgres.log", data_dir=folder / "data",
                           port=free_port(), databases=("airflow",))  # fmt: skip
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def postgres_database(server: Any) -> dict[str, Any]:
    """A fresh database on ``server``; its Airflow connection (a dict)."""
    import psycopg2

    name = f"ledger_{uuid.uuid4().hex[:10]}"
    connection = psycopg2.connect(server.url("airflow", driver="postgresql"))
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    connection.close()
    return {
        "conn_type": "postgres",
        "host": "127.0.0.1",
        "port": server.port,
        "login": "airflow",
        "schema": name,
    }


def sqlite_database(path: Path) -> dict[str, Any]:
    sqlite3.connect(path).close()
    return {"conn_type": "sqlite", "host": str(path)}


def hook_for(conn_id: str, connection: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Any:
    """The common-sql hook of ``connection``, registered as ``conn_id`` in the environment."""
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(connection))
    if connection["conn_type"] == "sqlite":
        from airflow.providers.sqlite.hooks.sqlite import SqliteHook

        return SqliteHook(sqlite_conn_id=conn_id)
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    return PostgresHook(postgres_conn_id=conn_id)
