"""An SMS after unanswered reminder calls: whom, what text, and a durable record so nobody gets two.

A reminder whose calls of the day all ended unanswered (busy or no answer after its redial, or a
call that failed or was canceled) gets one SMS, a DLT template filled with the reminder's fields.
Each SMS is a row of ``reminder_sms`` in the reminders database, written *before* the request goes
out (``sending``) and completed after (``sent`` with its Sid, or ``failed``, or ``unknown`` when the
answer was lost). A later run of the day reads the table first: a row ``sending``/``unknown`` is never
sent again (Exotel documents no SMS listing to find it in), ``sent``/``failed`` are done, and only
``not sent`` (outside calling hours, or a request that certainly never reached Exotel) is tried again.
No Airflow imports.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from exotel_provider.calls.calling_hours import CallingWindow
from exotel_provider.calls.numbers import mask_number
from exotel_provider.calls.status import UNANSWERED_STATUSES, CallStatus
from exotel_provider.campaigns.ledger import ENDED, LedgerRow, normalise_key, phone_key
from exotel_provider.campaigns.ledger_sql import Database
from exotel_provider.errors import (
    ExotelError,
    ExotelRateLimitError,
    ExotelSmsOutcomeUnknownError,
    ExotelTransportError,
    ExotelUnreachableError,
)
from exotel_provider.sms.bulk import MAX_BULK_MESSAGES, BulkSmsResult, shared_parameters
from exotel_provider.sms.model import SmsMessage, SmsStatus, parse_sms_status
from exotel_provider.sms.send_request import SmsRequest, build_sms_request

SMS_TABLE = "reminder_sms"
SMS_COLUMNS: dict[str, str] = {
    "reminder_id": "TEXT NOT NULL",
    "due_date": "TEXT NOT NULL",
    "state": "TEXT NOT NULL",
    "phone": "TEXT",
    "sms_sid": "TEXT",
    "status": "TEXT",
    "price": "REAL",
    "sent_at": "DOUBLE PRECISION",
    "error": "TEXT",
}
"""The columns of ``reminder_sms``: one row per reminder and day."""

SENDING = "sending"
"""The request is about to go out (or went out and no answer came yet): never sent again."""
SENT = "sent"
"""Exotel accepted it: ``sms_sid``; ``status`` and ``price`` once final."""
UNKNOWN = "unknown"
"""The request went out and its answer was lost: it may have been sent, so it is not sent again."""
FAILED = "failed"
"""Refused (invalid, or by Exotel): not sent again that day."""
NOT_SENT = "not sent"
"""Certainly not sent (outside calling hours, Exotel unreachable or busy): a later run may send it."""
DONE_STATES = frozenset({SENDING, SENT, UNKNOWN, FAILED})
"""A reminder with a row in one of these states gets no SMS from this run."""
FOLLOW_UP_STATUSES = frozenset({*UNANSWERED_STATUSES, CallStatus.FAILED})
"""How a reminder's last call ended for it to earn an SMS (never ``completed``: they answered)."""
DEFAULT_BODY = (
    "Dear {customer}, we could not reach you about your payment due on {due_date} "
    "(ref {reminder_id}). Please pay on time or call us back. - EXOTEL"
)
"""An example DLT template body; ``{field}`` is a column of the reminder."""


@dataclass(frozen=True)
class SmsRow:
    """One reminder's SMS of one day, as ``reminder_sms`` keeps it."""

    key: str
    day: str
    state: str
    phone: str | None = None
    sms_sid: str | None = None
    status: str | None = None
    price: float | None = None
    sent_at: float | None = None
    error: str | None = None

    def as_record(self) -> dict[str, Any]:
        """The row under the table's column names."""
        values = dataclasses.astuple(self)
        return dict(zip(SMS_COLUMNS, values, strict=True))

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> SmsRow:
        """A row read from the table."""
        price = record.get("price")
        return cls(
            key=str(record["reminder_id"]), day=str(record["due_date"]), state=str(record["state"]),
            phone=record.get("phone"), sms_sid=record.get("sms_sid"), status=record.get("status"),
            price=None if price is None else float(price), sent_at=record.get("sent_at"),
            error=record.get("error"),
        )  # fmt: skip


@dataclass(frozen=True)
class SmsTemplate:
    """The follow-up SMS: sender, DLT ids and the registered template's text (``{field}`` placeholders)."""

    sender: str | None
    dlt_entity_id: str | None
    dlt_template_id: str | None
    body: str = DEFAULT_BODY
    sms_type: str = "transactional"

    def request_for(self, reminder: Mapping[str, Any]) -> SmsRequest:
        """The validated request for one reminder (raises :class:`ExotelValidationError`)."""
        fields = {name: "" if value is None else str(value) for name, value in reminder.items()}
        return build_sms_request(
            to_number=str(reminder.get("phone") or ""),
            from_number=self.sender,
            body=self.body.format_map(_Blank(fields)),
            dlt_entity_id=self.dlt_entity_id,
            dlt_template_id=self.dlt_template_id,
            sms_type=self.sms_type,
            custom_field=normalise_key(reminder.get("reminder_id")),
        )


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


class SqlSmsBook:
    """``reminder_sms`` of one day in the reminders database; each write committed on return."""

    def __init__(self, db: Database, *, day: str, table: str = SMS_TABLE) -> None:
        self.db, self.day, self.table = db, str(day), table
        self._connection: Any = None
        self._ready = False

    def __repr__(self) -> str:
        return f"SqlSmsBook(table={self.table!r}, day={self.day!r})"

    def ensure_table(self) -> None:
        """Create the table if needed (once per book)."""
        if self._ready:
            return
        columns = ", ".join(f"{name} {kind}" for name, kind in SMS_COLUMNS.items())
        self.db.run(
            f"CREATE TABLE IF NOT EXISTS {self.table} ({columns}, PRIMARY KEY (reminder_id, due_date))",
            autocommit=True,
        )
        self._ready = True

    def rows(self) -> dict[str, SmsRow]:
        """The day's rows by reminder."""
        self.ensure_table()
        records = self.db.get_records(
            f"SELECT {', '.join(SMS_COLUMNS)} FROM {self.table} WHERE due_date = {self.db.placeholder}",
            parameters=(self.day,),
        )
        rows = [SmsRow.from_record(dict(zip(SMS_COLUMNS, r, strict=True))) for r in records]
        return {row.key: row for row in rows}

    def write(self, row: SmsRow) -> None:
        """Insert or replace the row of its reminder and day (on a connection of its own: the hook's
        ``run`` would log the parameters, a phone number among them)."""
        self.ensure_table()
        mark = self.db.placeholder
        record = row.as_record()
        changing = [name for name in SMS_COLUMNS if name not in ("reminder_id", "due_date")]
        if self._connection is None:
            self._connection = self.db.get_conn()
        cursor = self._connection.cursor()
        try:
            cursor.execute(
                f"UPDATE {self.table} SET {', '.join(f'{n} = {mark}' for n in changing)} "
                f"WHERE reminder_id = {mark} AND due_date = {mark}",
                (*(record[n] for n in changing), row.key, row.day),
            )
            if cursor.rowcount == 0:
                cursor.execute(
                    f"INSERT INTO {self.table} ({', '.join(SMS_COLUMNS)}) "
                    f"VALUES ({', '.join([mark] * len(SMS_COLUMNS))})",
                    tuple(record.values()),
                )
            self._connection.commit()
        except Exception:
            self._connection.rollback()
            raise
        finally:
            cursor.close()

    def close(self) -> None:
        """Close the connection the writes opened."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def unanswered_reminders(
    reminders: Iterable[Mapping[str, Any]], recorded: Iterable[Mapping[str, Any]]
) -> list[Mapping[str, Any]]:
    """The reminders whose calls of the day all ended and none was answered: the last one busy or
    not answered after its redial, or one that failed (or was canceled) and is not redialled."""
    by_key: dict[str, dict[int, LedgerRow]] = {}
    for record in recorded:
        row = LedgerRow.from_record(record)
        by_key.setdefault(row.key, {})[row.attempt] = row
    chosen = []
    for reminder in reminders:
        attempts = by_key.get(normalise_key(reminder["reminder_id"]), {})
        if not attempts or any(r.state != ENDED for r in attempts.values()):
            continue
        if any(r.status == CallStatus.COMPLETED for r in attempts.values()):
            continue
        last = attempts[max(attempts)]
        redial_due = last.attempt == 1 and last.status in (CallStatus.BUSY, CallStatus.NO_ANSWER)
        if last.status in FOLLOW_UP_STATUSES and not redial_due:
            chosen.append(reminder)
    return chosen


def send_follow_ups(
    book: SqlSmsBook,
    reminders: Iterable[Mapping[str, Any]],
    *,
    template: SmsTemplate,
    send: Callable[[SmsRequest], SmsMessage],
    send_bulk: Callable[[Sequence[SmsRequest]], list[BulkSmsResult]] | None = None,
    window: CallingWindow | None = None,
    clock: Callable[[], float] = time.time,
    log: Callable[[str], None] = print,
) -> dict[str, int]:
    """Send one SMS to each of ``reminders`` that has none today; counts of the rows by state after it.

    With ``send_bulk``, messages sharing DLT ids and type go out up to 100 in one ``Sms/bulksend``
    request (a lone message by ``send``). A row ``sending`` left by a run that stopped mid-request
    becomes ``unknown``: never resent. A phone due on two reminders gets one SMS.
    """
    done = book.rows()
    due: list[tuple[SmsRow, SmsRequest]] = []
    for reminder in reminders:
        key = normalise_key(reminder["reminder_id"])
        earlier = done.get(key)
        if earlier is not None and earlier.state in DONE_STATES:
            if earlier.state == SENDING:
                book.write(dataclasses.replace(earlier, state=UNKNOWN, error="the run stopped mid-request"))
            continue
        texted = {phone_key(r.phone) for r in done.values() if r.state in DONE_STATES}
        if phone_key(reminder.get("phone")) in texted:
            continue  # one phone due twice today: one SMS
        prepared = _prepare(book, key, reminder, template, window, clock(), log)
        if isinstance(prepared, SmsRow):
            done[key] = prepared
            continue
        done[key] = dataclasses.replace(prepared[0], state=SENDING)  # its phone is taken from here on
        due.append(prepared)
    for chunk in _batches(due, bulk=send_bulk is not None):
        if send_bulk is not None and len(chunk) > 1:
            _send_batch(book, chunk, send_bulk, log)
        else:
            for row, request in chunk:
                _send_one(book, row, request, send, log)
    states: dict[str, int] = {}
    for row in book.rows().values():
        states[row.state] = states.get(row.state, 0) + 1
    return states


def _prepare(
    book: SqlSmsBook,
    key: str,
    reminder: Mapping[str, Any],
    template: SmsTemplate,
    window: CallingWindow | None,
    now: float,
    log: Callable[[str], None],
) -> SmsRow | tuple[SmsRow, SmsRequest]:
    """The row and validated request of one reminder's SMS, or the row recorded when none may go out."""
    masked = mask_number(str(reminder.get("phone") or ""))
    row = SmsRow(key, book.day, NOT_SENT, phone=str(reminder.get("phone") or ""), sent_at=now)
    if window is not None and not window.may_dial(now):
        reason = f"outside calling hours {window.describe()} at {window.local_text(now)}"
        return _record(
            book, dataclasses.replace(row, error=reason), log, f"SMS to {masked} not sent: {reason}"
        )
    try:
        return row, template.request_for(reminder)
    except ExotelError as err:
        return _record(
            book, dataclasses.replace(row, state=FAILED, error=str(err)), log, f"SMS to {masked}: {err}"
        )


def _batches(
    due: list[tuple[SmsRow, SmsRequest]], *, bulk: bool
) -> Iterator[list[tuple[SmsRow, SmsRequest]]]:
    """``due`` in groups of up to 100 that may share one bulk request (equal request-level
    parameters), as few requests as possible of even sizes; one by one without bulk sending."""
    if not bulk:
        yield from ([item] for item in due)
        return
    groups: dict[tuple[tuple[str, str], ...], list[tuple[SmsRow, SmsRequest]]] = {}
    for item in due:
        groups.setdefault(shared_parameters(item[1]), []).append(item)
    for group in groups.values():
        requests = math.ceil(len(group) / MAX_BULK_MESSAGES)
        size = math.ceil(len(group) / requests)  # 101 go as 51 + 50, never 100 + a lone one
        for start in range(0, len(group), size):
            yield group[start : start + size]


def _send_one(
    book: SqlSmsBook,
    row: SmsRow,
    request: SmsRequest,
    send: Callable[[SmsRequest], SmsMessage],
    log: Callable[[str], None],
) -> SmsRow:
    masked = mask_number(row.phone)
    book.write(dataclasses.replace(row, state=SENDING))  # durable before the request goes out
    try:
        message = send(request)
    except ExotelError as err:
        failed = _failed_request(row, err)
        return _record(book, failed, log, f"SMS to {masked}: {_STATE_LINE[failed.state]}: {err}")
    sent = dataclasses.replace(
        row, state=SENT, sms_sid=message.sid, status=message.raw_status, price=message.price
    )
    return _record(book, sent, log, f"SMS {message.sid} to {masked}: {message.raw_status}")


def _send_batch(
    book: SqlSmsBook,
    chunk: list[tuple[SmsRow, SmsRequest]],
    send_bulk: Callable[[Sequence[SmsRequest]], list[BulkSmsResult]],
    log: Callable[[str], None],
) -> None:
    """One ``Sms/bulksend`` request for ``chunk``: every row ``sending`` first, then each completed
    from its own entry of the answer (a Sid, a refusal, or unknown); a lost answer makes all unknown."""
    for row, _ in chunk:
        book.write(dataclasses.replace(row, state=SENDING))  # durable before the request goes out
    try:
        # CustomField is documented for single sends only: a bulk request carries none.
        results = send_bulk([dataclasses.replace(request, custom_field=None) for _, request in chunk])
    except ExotelError as err:
        for row, _ in chunk:
            failed = _failed_request(row, err)
            _record(book, failed, log, f"SMS to {mask_number(row.phone)}: {_STATE_LINE[failed.state]}: {err}")
        return
    log(f"Bulk SMS: {len(chunk)} messages in one request")
    for (row, _), result in zip(chunk, results, strict=True):
        _record_result(book, row, result, log)


def _record_result(book: SqlSmsBook, row: SmsRow, result: BulkSmsResult, log: Callable[[str], None]) -> None:
    masked = mask_number(row.phone)
    if result.message is not None:
        message = result.message
        sent = dataclasses.replace(
            row, state=SENT, sms_sid=message.sid, status=message.raw_status, price=message.price
        )
        _record(book, sent, log, f"SMS {message.sid} to {masked}: {message.raw_status}")
    elif result.error is not None:
        _record(
            book,
            dataclasses.replace(row, state=FAILED, error=result.error),
            log,
            f"SMS to {masked}: {result.error}",
        )
    else:
        lost = dataclasses.replace(row, state=UNKNOWN, error="the bulk answer said nothing readable about it")
        _record(
            book, lost, log, f"SMS to {masked}: {_STATE_LINE[UNKNOWN]}: no readable entry in the bulk answer"
        )


_STATE_LINE = {NOT_SENT: "not sent", UNKNOWN: "answer lost, not sent again", FAILED: "refused"}


def _failed_request(row: SmsRow, err: ExotelError) -> SmsRow:
    """The row after a request that raised ``err``: not sent (certainly nothing went out: a later run
    may send it), unknown (it may have been sent: never again), or failed (refused)."""
    if isinstance(err, (ExotelRateLimitError, ExotelUnreachableError)):
        return dataclasses.replace(row, error=str(err))
    if isinstance(err, (ExotelSmsOutcomeUnknownError, ExotelTransportError)):
        return dataclasses.replace(row, state=UNKNOWN, error=str(err))
    return dataclasses.replace(row, state=FAILED, error=str(err))


def _record(book: SqlSmsBook, row: SmsRow, log: Callable[[str], None], line: str) -> SmsRow:
    book.write(row)
    log(line)
    return row


def settle_sms(book: SqlSmsBook, get_sms: Callable[[str], SmsMessage]) -> None:
    """Read the final status and price of the day's sent SMS not yet final (for the report)."""
    for row in book.rows().values():
        if row.state == SENT and row.sms_sid and row.price is None:
            message = get_sms(row.sms_sid)
            book.write(dataclasses.replace(row, status=message.raw_status, price=message.price))


def sms_summary(rows: Iterable[SmsRow]) -> dict[str, Any]:
    """``sms_sent`` (accepted by Exotel), ``sms_cost`` (their prices so far), ``sms_unknown``, and
    ``sms_failed_dnd``: accepted, then not delivered because the number is on India's DND registry.
    Only reported: DND for SMS is not the calling rule, so the number stays callable."""
    rows = list(rows)
    sent = [r for r in rows if r.state == SENT]
    return {
        "sms_sent": len(sent),
        "sms_cost": round(sum(r.price or 0.0 for r in sent), 4),
        "sms_unknown": sum(1 for r in rows if r.state in (SENDING, UNKNOWN)),
        "sms_failed_dnd": sum(1 for r in sent if parse_sms_status(r.status) is SmsStatus.FAILED_DND),
    }
