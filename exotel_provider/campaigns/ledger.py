"""The call ledger: one durable row per intent to call (a campaign key, a day, an attempt).

A campaign writes its row *before* the call-placing request (``placing``, with ``sent_at``), adds the
Sid the moment Exotel answers (``placed``), the final status, price and duration once known
(``ended``), or ``unknown`` (the window the call may have been created in and its candidates), or
``not placed`` / ``refused`` with the reason. Every run, try and redial reads it first: a Sid is
watched, never dialled; a ``placing`` or ``unknown`` row is resolved from Exotel's listing over the
window that began at its ``sent_at``; a key with no row (or ``not placed``) is dialled.

:class:`CallLedger` is the protocol (two methods); :class:`~exotel_provider.campaigns.ledger_sql.SqlCallLedger`
keeps it in a SQL table (``reminder_calls``). :class:`CampaignBook` is one campaign's view of it,
shared by the placing threads. No Airflow imports.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from exotel_provider.calls.model import Call

PLACING = "placing"
"""A call-placing request is about to go out (or went out and no answer came yet)."""
PLACED = "placed"
"""Exotel answered with the call's Sid; its final outcome is not known yet."""
ENDED = "ended"
"""The call ended: status, price, duration and end time are Exotel's."""
UNKNOWN = "unknown"
"""The request was sent, no answer came, and the listing could not prove which call (if any) it
placed: ``sent_at``..``window_end`` is when it may have been created, ``candidate_sids`` what matched."""
NOT_PLACED = "not placed"
"""Certainly no call: the request never reached Exotel, or Exotel refused the whole account (401,
402, 429 ...). The next run dials it."""
REFUSED = "refused"
"""Exotel refused this one call (e.g. 403, a DND-registered number) or it was invalid: not dialled again
that day."""
STATES = (PLACING, PLACED, ENDED, UNKNOWN, NOT_PLACED, REFUSED)
UNRESOLVED_STATES = frozenset({PLACING, UNKNOWN})
"""A call may exist whose Sid is not known: resolved from the listing before anything is dialled."""
FINAL_STATES = frozenset({ENDED, REFUSED})
"""Nothing more to do for the intent (a redial is a new intent: the next attempt)."""
INDIA = ZoneInfo("Asia/Kolkata")


def normalise_key(key: object) -> str:
    """A campaign key as every part of the ledger compares it: surrounding spaces stripped."""
    return "" if key is None else str(key).strip()


def phone_key(number: object) -> str:
    """A phone number as the ledger compares it: E.164 when it parses, else the stripped text."""
    from exotel_provider.calls.numbers import normalise_number
    from exotel_provider.errors import ExotelValidationError

    text = "" if number is None else str(number).strip()
    try:
        return normalise_number(text) if text else ""
    except ExotelValidationError:
        return text


@dataclass(frozen=True)
class LedgerRow:
    """One intent to call: the campaign's ``key`` on ``day``, ``attempt`` 1 (2 for a redial ...)."""

    key: str
    day: str
    attempt: int
    state: str = PLACING
    phone: str | None = None
    call_sid: str | None = None
    status: str | None = None
    price: float | None = None
    duration: int | None = None
    placed_at: str | None = None
    """When the request went out, India time as Exotel writes times (``YYYY-MM-DD HH:MM:SS``)."""
    ended_at: str | None = None
    sent_at: float | None = None
    """Epoch seconds just before the request was sent: where the search for a lost answer begins."""
    window_end: float | None = None
    """Epoch seconds when the request's outcome became unknown (the latest it can have been sent)."""
    candidate_sids: tuple[str, ...] = ()
    error: str | None = None

    @property
    def identity(self) -> tuple[str, str, int]:
        """``(key, day, attempt)``: the primary key of the row."""
        return (self.key, self.day, self.attempt)

    @property
    def unresolved(self) -> bool:
        """True for a ``placing`` or ``unknown`` row without a Sid: whether a call exists is not known yet."""
        return self.state in UNRESOLVED_STATES and not self.call_sid

    def placing(self, phone: str | None, sent_at: float, window_end: float | None = None) -> LedgerRow:
        """The row of a request about to go out (or whose answer was lost, with ``window_end``)."""
        return dataclasses.replace(
            self, state=PLACING, phone=phone or self.phone, call_sid=None, sent_at=sent_at,
            window_end=window_end, placed_at=india_time(sent_at), candidate_sids=(), error=None,
        )  # fmt: skip

    def with_sid(self, sid: str) -> LedgerRow:
        """Placed: Exotel answered with ``sid`` (candidates and error cleared)."""
        return dataclasses.replace(self, state=PLACED, call_sid=sid, candidate_sids=(), error=None)

    def with_final_call(self, call: Call | Mapping[str, Any]) -> LedgerRow:
        """Ended, with Exotel's final details (a :class:`Call` or a campaign outcome dict)."""
        if isinstance(call, Call):
            status, price, duration, end = call.raw_status, call.price, call.duration, call.end_time
            sid = call.sid
        else:
            status, price, duration, end = (call.get(k) for k in ("status", "price", "duration", "end_time"))
            sid = str(call.get("sid") or self.call_sid or "")
        return dataclasses.replace(
            self, state=ENDED, call_sid=sid, status=status, price=price, duration=duration, ended_at=end,
        )  # fmt: skip

    def with_unknown(self, window_end: float | None, candidates: Iterable[str], error: str) -> LedgerRow:
        """Unknown: the answer was lost; ``candidates`` are the listed calls that may be the one placed."""
        return dataclasses.replace(
            self, state=UNKNOWN, window_end=window_end if window_end is not None else self.window_end,
            candidate_sids=tuple(candidates), error=error,
        )  # fmt: skip

    def not_placed(self, error: str, *, refused: bool = False) -> LedgerRow:
        """Certainly no call: ``not placed`` (dialled by a later run), or ``refused`` for this call (not that
        day)."""
        return dataclasses.replace(
            self, state=REFUSED if refused else NOT_PLACED, call_sid=None, window_end=None,
            candidate_sids=(), error=error,
        )  # fmt: skip

    def for_key(self, key: str) -> LedgerRow:
        """The same call recorded for another key (two reminders to one phone on one day)."""
        return dataclasses.replace(self, key=key)

    def as_record(self) -> dict[str, Any]:
        """The row under the table's column names (``reminder_id`` ... ``error``)."""
        return {
            "reminder_id": self.key, "due_date": self.day, "attempt": self.attempt, "state": self.state,
            "phone": self.phone, "call_sid": self.call_sid, "status": self.status, "price": self.price,
            "duration": self.duration, "placed_at": self.placed_at, "ended_at": self.ended_at,
            "sent_at": self.sent_at, "window_end": self.window_end,
            "candidate_sids": ",".join(self.candidate_sids) or None, "error": self.error,
        }  # fmt: skip

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> LedgerRow:
        """A row from its table columns; rows written before the ledger had ``state`` read as
        ``ended`` (a Sid) or ``not placed`` (none)."""
        sid = record.get("call_sid") or None
        state = record.get("state") or (ENDED if sid else NOT_PLACED)
        candidates = tuple(s for s in str(record.get("candidate_sids") or "").split(",") if s)
        return cls(
            key=normalise_key(record.get("reminder_id", record.get("key"))),
            day=str(record.get("due_date", record.get("day"))), attempt=int(record.get("attempt") or 1),
            state=str(state), phone=record.get("phone"), call_sid=sid, status=record.get("status"),
            price=_number(record.get("price"), float), duration=_number(record.get("duration"), int),
            placed_at=record.get("placed_at"), ended_at=record.get("ended_at"),
            sent_at=_number(record.get("sent_at"), float), window_end=_number(record.get("window_end"), float),
            candidate_sids=candidates, error=record.get("error"),
        )  # fmt: skip


class CallLedger(Protocol):
    """Where a campaign's intents to call are kept, durable across tries, runs and days.

    One ledger is bound to one ``day`` and one ``attempt`` (what a campaign task places); it reads
    every attempt of its day, so that a redial knows the first call and one phone is called once.
    """

    day: str
    attempt: int

    def rows(self) -> list[LedgerRow]:
        """Every row of the ledger's day, all attempts."""
        ...

    def write(self, row: LedgerRow) -> None:
        """Insert ``row``, or replace the row with the same key, day and attempt. Durable on return."""
        ...

    def calls_to(self, phone: str, since: float, until: float) -> list[LedgerRow]:
        """Every row, of any day and attempt, whose request to ``phone`` (E.164) was sent between the
        epochs ``since`` (included) and ``until``: what the per-person caps count."""
        ...


def write_rows(ledger: CallLedger, rows: Sequence[LedgerRow]) -> None:
    """Write ``rows`` in one go where the ledger can (a ``write_many`` method: one commit for all),
    else one by one. For rows nothing is waiting on (final outcomes), not for a ``placing`` row."""
    write_many = getattr(ledger, "write_many", None)
    if write_many is not None:
        write_many(rows)
        return
    for row in rows:
        ledger.write(row)


class CampaignBook:
    """One campaign's view of its ledger: read once when the campaign starts, each write passed on at
    once, the rows kept in step. Writes go one thread at a time unless the ledger says it takes
    writes from several threads at once (``concurrent_writes = True``, as :class:`SqlCallLedger` on
    a server database does: each thread commits on its own connection)."""

    def __init__(self, ledger: CallLedger) -> None:
        self.ledger = ledger
        self.day, self.attempt = ledger.day, int(ledger.attempt)
        self._lock = threading.Lock()
        self._rows: dict[tuple[str, int], LedgerRow] = {(row.key, row.attempt): row for row in ledger.rows()}
        self._write_lock = threading.Lock() if not getattr(ledger, "concurrent_writes", False) else None

    def row(self, key: str) -> LedgerRow | None:
        """This attempt's row of ``key`` (None: nothing recorded, dial)."""
        with self._lock:
            return self._rows.get((normalise_key(key), self.attempt))

    def new_row(self, key: str) -> LedgerRow:
        """The row of ``key`` for this attempt: the one recorded, or a new, empty one."""
        return self.row(key) or LedgerRow(normalise_key(key), self.day, self.attempt)

    def write(self, row: LedgerRow) -> None:
        """Write ``row`` to the ledger (durable on return) and keep it in this book."""
        if self._write_lock is None:
            self.ledger.write(row)
        else:
            with self._write_lock:
                self.ledger.write(row)
        with self._lock:
            self._rows[(row.key, row.attempt)] = row

    def write_many(self, rows: Sequence[LedgerRow]) -> None:
        """Rows nothing waits on (final outcomes) written together: one commit where the ledger can."""
        with self._write_lock or contextlib.nullcontext():
            write_rows(self.ledger, rows)
        with self._lock:
            self._rows.update({(row.key, row.attempt): row for row in rows})

    def known_sids(self, *, besides: str | None = None) -> set[str]:
        """Every Sid of the day (a lost answer is never resolved to another intent's call)."""
        with self._lock:
            return {
                row.call_sid for (key, attempt), row in self._rows.items()
                if row.call_sid and not (key == besides and attempt == self.attempt)
            }  # fmt: skip

    def close(self) -> None:
        """Let the ledger close what its writes opened (a ledger with a ``close`` method)."""
        close = getattr(self.ledger, "close", None)
        if close is not None:
            close()

    def unresolved(self) -> list[LedgerRow]:
        """This attempt's rows whose call may exist with no Sid known (``placing``, ``unknown``): what
        one listing pass can settle for the whole campaign before anything is placed."""
        with self._lock:
            return unresolved_rows(row for (_, attempt), row in self._rows.items() if attempt == self.attempt)

    def same_phone(self, key: str, phone: str) -> LedgerRow | None:
        """Another key's row of this attempt whose call went to ``phone`` (one person, one call a day)."""
        with self._lock:
            for (other, attempt), row in self._rows.items():
                if attempt == self.attempt and other != key and row.call_sid and row.phone == phone:
                    return row
        return None


def unresolved_rows(rows: Iterable[LedgerRow]) -> list[LedgerRow]:
    """The rows whose request may have placed a call whose Sid is unknown: each carries its key,
    phone, ``sent_at``, ``window_end`` (None: still open) and candidate Sids."""
    return [row for row in rows if row.unresolved]


def india_time(epoch: float | None) -> str | None:
    """Exotel's time format, India time, for an epoch (what a person reads in the table)."""
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(float(epoch), INDIA).strftime("%Y-%m-%d %H:%M:%S")


def _number(value: Any, kind: type) -> Any:
    if value is None or value == "":
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None


def settle_placed(ledger: CallLedger, find_ended: Callable[[list[str]], Mapping[str, Call]]) -> int:
    """Complete the rows of calls placed but never seen to end (a run that stopped before its wait)
    with Exotel's final details, so the day's report counts and prices them; returns how many.

    ``find_ended``: Sids → the ended calls among them (e.g. ``ExotelHook.get_ended_calls``).
    """
    placed = [row for row in ledger.rows() if row.state == PLACED and row.call_sid]
    if not placed:
        return 0
    ended = find_ended([str(row.call_sid) for row in placed])
    settled = [row.with_final_call(ended[str(row.call_sid)]) for row in placed if str(row.call_sid) in ended]
    write_rows(ledger, settled)
    return len(settled)
