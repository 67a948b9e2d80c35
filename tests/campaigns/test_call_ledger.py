"""The call ledger in SQLite and PostgreSQL (common-sql hooks): one row per intent, written before the
request and completed after, read back by any later run; an earlier ``reminder_calls`` migrated in
place. And the pure rules over it: keys compared one way, one phone compared one way."""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from exotel_provider.campaigns import reminders as store
from exotel_provider.campaigns import summarise_attempts
from exotel_provider.campaigns.ledger import CampaignBook, LedgerRow, normalise_key, phone_key
from exotel_provider.campaigns.ledger_sql import LEDGER_COLUMNS, SqlCallLedger, ensure_ledger_table
from exotel_provider.campaigns.run import record_final_outcomes
from tests.support.ledger_databases import OLD_REMINDER_CALLS

DAY = "2026-08-03"
SENT_AT = 1_785_731_400.0  # 2026-08-03 10:00:00 India time


def test_each_intent_is_one_row_from_placing_to_ended(ledger_db):
    ledger = SqlCallLedger(ledger_db, day=DAY, attempt=1)
    placing = LedgerRow("R-1", DAY, 1).placing("+919876500101", SENT_AT)
    ledger.write(placing)
    assert ledger.rows() == [placing]  # durable before the request goes out

    ledger.write(placing.with_sid("CA1"))
    ended = placing.with_sid("CA1").with_final_call(
        {
            "sid": "CA1",
            "status": "completed",
            "price": 0.75,
            "duration": 42,
            "end_time": "2026-08-03 10:01:00",
        }
    )
    ledger.write(ended)
    SqlCallLedger(ledger_db, day=DAY, attempt=2).write(
        LedgerRow("R-1", DAY, 2).placing("+919876500101", SENT_AT + 60)
    )
    SqlCallLedger(ledger_db, day="2026-08-04", attempt=1).write(LedgerRow("R-9", "2026-08-04", 1))

    rows = SqlCallLedger(ledger_db, day=DAY, attempt=1).rows()  # a later run reads the whole day
    assert [(r.key, r.attempt, r.state, r.call_sid) for r in rows] == [
        ("R-1", 1, "ended", "CA1"), ("R-1", 2, "placing", None),
    ]  # fmt: skip
    assert rows[0] == ended and rows[0].placed_at == "2026-08-03 10:00:00" and rows[0].sent_at == SENT_AT


def test_an_unknown_outcome_keeps_its_window_and_candidates(ledger_db):
    ledger = SqlCallLedger(ledger_db, day=DAY)
    row = LedgerRow("R-2", DAY, 1).placing("+919876500102", SENT_AT, SENT_AT + 5)
    ledger.write(row.with_unknown(SENT_AT + 5, ("CA7", "CA8"), "no answer to the placing request"))
    [read] = ledger.rows()
    assert (read.state, read.sent_at, read.window_end, read.candidate_sids) == (
        "unknown", SENT_AT, SENT_AT + 5, ("CA7", "CA8"),
    )  # fmt: skip
    assert read.unresolved and read.phone == "+919876500102"


def test_an_earlier_reminder_calls_table_is_migrated_in_place_and_no_row_is_lost(ledger_db):
    ledger_db.run(OLD_REMINDER_CALLS, autocommit=True)
    ledger_db.insert_rows(
        "reminder_calls",
        [("R-1", DAY, 1, "CA1", "busy", 0.0, 0, "2026-08-03 10:00:05", "2026-08-03 10:00:30"),
         ("R-1", DAY, 2, "CA2", "completed", 0.5, 40, "2026-08-03 10:40:05", "2026-08-03 10:41:00"),
         ("R-2", DAY, 1, "CA3", "completed", 1.0, 80, "2026-08-03 10:00:06", "2026-08-03 10:01:30")],
        target_fields=list(LEDGER_COLUMNS)[:9],
    )  # fmt: skip

    added = ensure_ledger_table(ledger_db)

    assert added == ["state", "phone", "sent_at", "window_end", "candidate_sids", "error"]
    assert ensure_ledger_table(ledger_db) == []  # once only
    rows = SqlCallLedger(ledger_db, day=DAY).rows()
    assert [(r.key, r.attempt, r.call_sid, r.status, r.state) for r in rows] == [
        ("R-1", 1, "CA1", "busy", "ended"), ("R-1", 2, "CA2", "completed", "ended"),
        ("R-2", 1, "CA3", "completed", "ended"),
    ]  # fmt: skip
    SqlCallLedger(ledger_db, day=DAY).write(LedgerRow("R-3", DAY, 1).placing("+919876500103", SENT_AT))
    assert len(SqlCallLedger(ledger_db, day=DAY).rows()) == 4
    summary = summarise_attempts(store.recorded_calls(ledger_db, DAY))
    assert (summary["calls"], summary["total_cost"], summary["answered"]) == (3, 1.5, 2)


class MemoryLedger:
    """A CallLedger in a dict: what a user's own implementation needs to do."""

    def __init__(self, day: str, attempt: int, rows: list[LedgerRow] = ()) -> None:  # type: ignore[assignment]
        self.day, self.attempt = day, attempt
        self.saved = {row.identity: row for row in rows}

    def rows(self) -> list[LedgerRow]:
        return [row for row in self.saved.values() if row.day == self.day]

    def write(self, row: LedgerRow) -> None:
        self.saved[row.identity] = row

    def calls_to(self, phone: str, since: float, until: float) -> list[LedgerRow]:
        return [r for r in self.saved.values() if r.phone == phone and since <= (r.sent_at or -1) < until]


def test_keys_and_phones_are_compared_one_way_everywhere():
    assert normalise_key(" R-2001 ") == "R-2001"
    assert phone_key("09876500101") == phone_key("+91 98765 00101") == "+919876500101"
    book = CampaignBook(MemoryLedger(DAY, 1, [LedgerRow("R-2001", DAY, 1, state="ended", call_sid="CA1",
                                                        phone="+919876500101")]))  # fmt: skip
    assert book.row("R-2001 ") is not None
    assert book.same_phone("R-2002", "+919876500101").call_sid == "CA1"
    assert book.known_sids(besides="R-2001") == set()  # a row's own Sid is never excluded from itself
    reminders = [{"reminder_id": "R-2001 ", "phone": "+919876500101", "flow_app_id": "926"}]
    recorded = [row.as_record() for row in book.ledger.rows()]
    assert store.first_calls(reminders, recorded) == []
    assert store.call_entry(reminders[0])["key"] == "R-2001"


def test_a_redial_reads_the_reminders_as_they_are_now():
    first = [LedgerRow("R-1", DAY, 1, state="ended", call_sid="CA1", status="busy").as_record(),
             LedgerRow("R-2", DAY, 1, state="ended", call_sid="CA2", status="no-answer").as_record()]  # fmt: skip
    now = [
        {"reminder_id": "R-2", "phone": "+919876500199", "flow_app_id": "926"}
    ]  # R-1 deleted, R-2 renumbered
    assert store.redial_calls(now, first) == [
        {"key": "R-2", "from_number": "+919876500199", "app_id": "926", "custom_field": "R-2"}
    ]


def test_the_rows_a_resolver_settles_carry_what_it_needs():
    placing = LedgerRow("R-1", DAY, 1).placing("+919876500101", SENT_AT)
    unknown = (
        LedgerRow("R-2", DAY, 1)
        .placing("+919876500102", SENT_AT, SENT_AT + 3)
        .with_unknown(None, ("CA5",), "no answer")
    )
    placed = LedgerRow("R-3", DAY, 1).placing("+919876500103", SENT_AT).with_sid("CA6")
    redial = LedgerRow("R-4", DAY, 2).placing("+919876500104", SENT_AT)
    book = CampaignBook(MemoryLedger(DAY, 1, [placing, unknown, placed, redial]))
    assert book.unresolved() == [placing, unknown]
    assert (unknown.phone, unknown.sent_at, unknown.window_end, unknown.candidate_sids) == (
        "+919876500102", SENT_AT, SENT_AT + 3, ("CA5",),
    )  # fmt: skip


def test_final_outcomes_are_written_in_one_commit_and_read_back(ledger_db):
    ledger = SqlCallLedger(ledger_db, day=DAY)
    book = CampaignBook(ledger)
    for i in range(3):
        book.write(LedgerRow(f"R-{i}", DAY, 1).placing(f"+91987650010{i}", SENT_AT).with_sid(f"CA{i}"))
    commits = CountingCommits.around(ledger)
    outcomes = [{"key": f"R-{i}", "sid": f"CA{i}", "status": "completed", "price": 0.5, "duration": 30,
                 "end_time": "2026-08-03 10:01:00"} for i in range(3)]  # fmt: skip
    outcomes.append({"key": "R-9", "sid": None, "error": "refused"})  # no call: nothing to complete

    assert record_final_outcomes(book, outcomes) == 3

    assert commits.count == 1
    rows = SqlCallLedger(ledger_db, day=DAY).rows()
    assert [(r.key, r.state, r.status, r.price) for r in rows] == [
        (f"R-{i}", "ended", "completed", 0.5) for i in range(3)
    ]
    assert book.row("R-1") == rows[1]


def test_a_ledger_without_write_many_gets_its_final_outcomes_one_by_one():
    rows = [LedgerRow(f"R-{i}", DAY, 1, state="placed", call_sid=f"CA{i}") for i in range(2)]
    ledger = MemoryLedger(DAY, 1, rows)
    book = CampaignBook(ledger)
    book.write_many([row.with_final_call({"sid": row.call_sid, "status": "busy"}) for row in rows])
    assert [(r.state, r.status) for r in ledger.rows()] == [("ended", "busy"), ("ended", "busy")]


def test_sqlite_ledger_commits_through_a_write_ahead_log_and_one_writer_at_a_time(tmp_path, monkeypatch):
    from tests.support.ledger_databases import hook_for, sqlite_database

    db = hook_for("exotel_reminders_db", sqlite_database(tmp_path / "ledger.db"), monkeypatch)
    ledger = SqlCallLedger(db, day=DAY)
    ledger.write(LedgerRow("R-1", DAY, 1).placing("+919876500101", SENT_AT))
    ledger.close()
    with sqlite3.connect(tmp_path / "ledger.db") as reader:
        assert reader.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert reader.execute("SELECT state FROM reminder_calls").fetchall() == [("placing",)]
    assert CampaignBook(ledger)._write_lock is not None and not ledger.concurrent_writes


def test_a_server_database_ledger_takes_writes_from_several_threads(ledger_db):
    ledger = SqlCallLedger(ledger_db, day=DAY)
    book = CampaignBook(ledger)
    assert ledger.concurrent_writes is (ledger_db.conn_type != "sqlite")

    def place(i: int) -> None:
        book.write(LedgerRow(f"R-{i}", DAY, 1).placing(f"+9198765001{i:02d}", SENT_AT))
        book.write(book.new_row(f"R-{i}").with_sid(f"CA{i}"))

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(place, range(20)))
    ledger.close()
    rows = SqlCallLedger(ledger_db, day=DAY).rows()
    assert sorted((r.key, r.state, r.call_sid) for r in rows) == [
        (f"R-{i}", "placed", f"CA{i}") for i in sorted(range(20), key=lambda i: f"R-{i}")
    ]


class CountingCommits:
    """Counts the commits of the connections a SQL ledger opens from now on."""

    def __init__(self) -> None:
        self.count = 0

    @classmethod
    def around(cls, ledger: SqlCallLedger) -> CountingCommits:
        counter = cls()
        opened = ledger._connection

        def counted() -> Any:
            connection = opened()
            return _CountedConnection(connection, counter)

        ledger._connection = counted  # type: ignore[method-assign]
        return counter


class _CountedConnection:
    def __init__(self, connection: Any, counter: CountingCommits) -> None:
        self._connection, self._counter = connection, counter

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def commit(self) -> None:
        self._counter.count += 1
        self._connection.commit()
