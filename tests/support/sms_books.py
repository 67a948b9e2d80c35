"""The SMS follow-up's book for tests: the day's ``reminder_sms`` in a fresh SQLite database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from exotel_provider.campaigns import sms_follow_up as follow_up
from tests.support.ledger_databases import hook_for, sqlite_database

SMS_FOLLOW_UP_DAY = "2026-08-03"
"""The day the SMS follow-up tests send for."""


def sms_book(tmp_path, monkeypatch: pytest.MonkeyPatch) -> Iterator[follow_up.SqlSmsBook]:
    """``exotel_reminders_db`` as a fresh SQLite file, and the SMS book of :data:`SMS_FOLLOW_UP_DAY` in it."""
    db = hook_for("exotel_reminders_db", sqlite_database(tmp_path / "r.db"), monkeypatch)
    book = follow_up.SqlSmsBook(db, day=SMS_FOLLOW_UP_DAY)
    yield book
    book.close()
