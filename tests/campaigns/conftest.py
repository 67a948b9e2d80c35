"""Fixtures for campaign tests: the simulator as ``exotel_default``, with a request budget to match."""

from __future__ import annotations

import json

import pytest

FAST_BUDGET = 6000
"""Requests a minute: the simulator (not Exotel) is the other end, so the budget may exceed 200."""


@pytest.fixture
def campaign_connection(exotel_simulator, monkeypatch):
    """``exotel_default`` pointing at the simulator, with a caller ID and a large request budget."""
    connection = exotel_simulator.connection()
    connection["extra"].update(caller_id="08047112345", requests_per_minute=FAST_BUDGET)
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(connection))
    return exotel_simulator


@pytest.fixture(scope="session")
def postgres_server():
    """One PostgreSQL server for the session (skipped, saying why, where none can be started)."""
    from tests.support.ledger_databases import postgres_unavailable, start_postgres

    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    yield from start_postgres()


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_db(request, tmp_path, monkeypatch):
    """The common-sql hook of an empty database, ``exotel_reminders_db``: SQLite, then PostgreSQL."""
    from tests.support.ledger_databases import hook_for, postgres_database, sqlite_database

    if request.param == "sqlite":
        connection = sqlite_database(tmp_path / "ledger.db")
    else:
        connection = postgres_database(request.getfixturevalue("postgres_server"))
    return hook_for("exotel_reminders_db", connection, monkeypatch)


@pytest.fixture
def book(tmp_path, monkeypatch):
    """The SMS follow-up's book of the day (``reminder_sms``) in a fresh SQLite reminders database."""
    from tests.support.sms_books import sms_book

    yield from sms_book(tmp_path, monkeypatch)
