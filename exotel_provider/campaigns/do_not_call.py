"""The do-not-call list: numbers never to dial, each with why and since when. No Airflow imports.

:class:`DoNotCallList` is the protocol (two methods); :class:`SqlDoNotCallList` keeps it in a SQL table
of the reminders database (``do_not_call``: ``phone``, ``reason``, ``added_at``), created if missing.
Numbers are stored in E.164 (``+919876543210``) and compared that way; a row typed by hand in an
Indian national form (``09876543210`` or ``9876543210``, or ``919876543210``) matches too.
A number Exotel refuses as DND (HTTP 403 naming DND or NDNC) is added with the reason ``DND``.

:class:`OffDoNotCallList` applies the list to single calls (``ExotelConnectOperator``'s
``do_not_call_conn_id``) the way the campaign's dial rules apply it to each reminder.
"""

from __future__ import annotations

import contextlib
import datetime
import re
import threading
from collections.abc import Callable, Iterable
from typing import Any, Protocol

from exotel_provider.calls.connect_request import ConnectRequest
from exotel_provider.calls.model import Call
from exotel_provider.calls.numbers import mask_number
from exotel_provider.campaigns.ledger import INDIA, phone_key
from exotel_provider.campaigns.ledger_sql import Database
from exotel_provider.errors import ExotelAPIError, ExotelDoNotCallError
from exotel_provider.placement.guard import CallSource

DO_NOT_CALL_TABLE = "do_not_call"
DND_REASON = "DND"
"""The reason recorded for a number Exotel refused as registered on India's DND list (NCPR)."""
_DND_MESSAGE = re.compile(r"\bN?DNC\b|\bDND\b|\bNCPR\b", re.IGNORECASE)


class DoNotCallList(Protocol):
    """Numbers never to dial: read before each dial, added to when Exotel refuses a DND number."""

    def reason(self, phone: str) -> str | None:
        """Why ``phone`` is listed, or None if it may be dialled."""
        ...

    def add(self, phone: str, reason: str) -> None:
        """List ``phone`` (kept as it is if it is listed already). Durable on return."""
        ...


def is_dnd_refusal(error: BaseException) -> bool:
    """Whether Exotel refused a call because the number is on the DND list: a 403 whose message from
    Exotel says so (a 403 about the account's access to a resource is not about the number)."""
    if not isinstance(error, ExotelAPIError) or error.status_code != 403:
        return False
    return bool(_DND_MESSAGE.search(error.exotel_message or ""))


def stored_forms(phone: str) -> tuple[str, ...]:
    """The forms a listed number may be written in: E.164 first, then Indian national forms."""
    e164 = phone_key(phone)
    if not e164.startswith("+91") or len(e164) != 13:
        return (e164,)
    national = e164[3:]
    return (e164, e164[1:], f"0{national}", national)


class SqlDoNotCallList:
    """:class:`DoNotCallList` in a SQL table of the user's database (any common-sql hook).

    ``SqlDoNotCallList(hook)``; the table is created on first use. Each dial reads it once (one
    lookup by primary key), so a number listed while a campaign runs is not dialled from then on.
    Lookups and inserts go through DB-API connections of their own: the hook's ``run`` would log
    every statement's parameters, the full phone numbers.
    """

    def __init__(self, db: Database, *, table: str = DO_NOT_CALL_TABLE) -> None:
        self.db, self.table = db, table
        self._ready = False
        self._lock = threading.Lock()
        marks = ", ".join([db.placeholder] * 4)
        self._lookup = f"SELECT phone, reason FROM {table} WHERE phone IN ({marks})"

    def __repr__(self) -> str:
        return f"SqlDoNotCallList(table={self.table!r})"

    def ensure_table(self) -> None:
        """Create the table if it is missing, once per instance (called before every read and write)."""
        with self._lock:  # one CREATE at a time: PostgreSQL's IF NOT EXISTS races with itself
            if not self._ready:
                self.db.run(
                    f"CREATE TABLE IF NOT EXISTS {self.table} (\n    phone TEXT PRIMARY KEY,\n"
                    "    reason TEXT,\n    added_at TEXT\n)",
                    autocommit=True,
                )
                self._ready = True

    def reason(self, phone: str) -> str | None:
        """Why ``phone`` is listed (``"listed"`` if no reason is given), or None; any stored form matches."""
        self.ensure_table()
        forms = stored_forms(phone)
        records = self._execute(self._lookup, (*forms, *(forms[0],) * (4 - len(forms))))
        return str(records[0][1] or "listed") if records else None

    def add(self, phone: str, reason: str) -> None:
        """List ``phone`` in E.164 with ``reason``; a number listed already (in any form) is kept as it is."""
        self.ensure_table()
        if self.reason(phone) is not None:
            return
        mark = self.db.placeholder
        try:
            self._execute(
                f"INSERT INTO {self.table} (phone, reason, added_at) VALUES ({mark}, {mark}, {mark})",
                (phone_key(phone), reason, _now_india()),
            )
        except Exception:
            if self.reason(phone) is None:  # not another writer listing it first: a real failure
                raise

    def numbers(self) -> dict[str, Any]:
        """Every listed number (as written) and its reason: for a report or a check by hand."""
        self.ensure_table()
        records = self._execute(f"SELECT phone, reason FROM {self.table} ORDER BY phone", ())
        return {str(phone): reason for phone, reason in records}

    def _execute(self, sql: str, parameters: tuple[Any, ...]) -> list[Any]:
        """Run one statement on a connection of its own, committed; the rows it returned."""
        with contextlib.closing(self.db.get_conn()) as connection:
            cursor = connection.cursor()
            try:
                cursor.execute(sql, parameters)
                rows = list(cursor.fetchall()) if cursor.description else []
                connection.commit()
                return rows
            except Exception:
                connection.rollback()
                raise
            finally:
                cursor.close()


class OffDoNotCallList:
    """A :class:`~exotel_provider.placement.guard.CallSource` that never dials a listed number.

    Each call-placing request reads the list for the number Exotel rings first (``From``) right
    before it would be sent, and a listed number fails with
    :class:`~exotel_provider.errors.ExotelDoNotCallError` without touching the network. A number
    Exotel refuses as DND is added to the list (reason ``DND``) before the refusal is raised, so the
    next run does not try it again. Reading a call or the listing is never refused.
    """

    def __init__(
        self,
        calls: CallSource,
        listed: DoNotCallList,
        *,
        show_number: Callable[[str | None], str] = mask_number,
    ) -> None:
        self._calls, self.listed, self._show_number = calls, listed, show_number

    def place_call(self, request: ConnectRequest, **options: Any) -> Call:
        """Place the call unless its number is listed; list a number Exotel refuses as DND."""
        phone = request.from_number
        reason = self.listed.reason(phone)
        if reason is not None:
            raise ExotelDoNotCallError(
                f"{self._show_number(phone)} is on the do-not-call list (reason: {reason}): not dialled. "
                "Remove it from the list only if the customer has asked to be called again.",
                reason=reason,
            )
        try:
            return self._calls.place_call(request, **options)
        except ExotelAPIError as error:
            if is_dnd_refusal(error):
                self.listed.add(phone, DND_REASON)
            raise

    def get_call(self, call_sid: str) -> Call:
        """Read a call (never refused)."""
        return self._calls.get_call(call_sid)

    def iter_calls(self, **filters: Any) -> Iterable[Call]:
        """List calls (never refused)."""
        return self._calls.iter_calls(**filters)


def _now_india() -> str:
    return datetime.datetime.now(INDIA).strftime("%Y-%m-%d %H:%M:%S")
