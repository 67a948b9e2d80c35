"""The never-twice guard for one SMS, across retries of one task. No Airflow, no I/O of its own.

::

    guard = SmsGuard(task_state_store, hook, earlier_try=try_number > 1)
    sent = guard.send(request)         # sends, or reuses the SMS an earlier try sent
    sent.message.sid, sent.reused

The decision, in order:

1. A Sid in the store: that SMS is read and reused, never sent again.
2. A pending mark (an earlier send went out and its answer was lost): the SMS may exist and Exotel
   documents no SMS listing to find it in, so the guard fails safe with
   :class:`ExotelSmsOutcomeUnknownError`, naming the request (masked number, time, template).
3. A later try with no store at all (Airflow 3.1/3.2): an earlier try may have sent it; the same
   safe failure.
4. Otherwise: mark pending, send, save the Sid before anything else, clear the mark. A send that
   provably sent nothing (refused, never connected) clears the mark; a lost answer keeps it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from exotel_provider.errors import (
    ExotelError,
    ExotelSmsOutcomeUnknownError,
    ExotelTransportError,
    ExotelUnreachableError,
)
from exotel_provider.sms.model import SmsMessage
from exotel_provider.sms.send_request import SmsRequest

DEFAULT_SMS_KEY_PREFIX = "exotel_sms_"
"""Keys ``exotel_sms_sid`` and ``exotel_sms_pending`` in the task's state store."""


class Store(Protocol):
    """A key/value store surviving the retries of one task (Airflow 3.3's task_state_store)."""

    def get(self, key: str) -> Any:
        """The value stored under ``key``, or None."""
        ...

    def set(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key``, for every later try of the task to read."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``."""
        ...


class SmsSender(Protocol):
    """What the guard needs from Exotel (the sync client and the hook have it)."""

    def send_sms(self, request: SmsRequest) -> SmsMessage:
        """Send ``request``; raises :class:`ExotelSmsOutcomeUnknownError` if its answer was lost."""
        ...

    def get_sms(self, sms_sid: str) -> SmsMessage:
        """Read the SMS with Sid ``sms_sid``."""
        ...


@dataclass(frozen=True)
class SentSms:
    """What :meth:`SmsGuard.send` gives back: the SMS, and whether an earlier try had sent it."""

    message: SmsMessage
    reused: bool
    """An earlier try sent it; this one only read it back."""


class SmsGuard:
    """Sends one SMS at most once per task instance, whatever its retries."""

    def __init__(
        self,
        store: Store | None,
        sender: SmsSender,
        *,
        earlier_try: bool = False,
        key_prefix: str = DEFAULT_SMS_KEY_PREFIX,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.sender = sender
        self.earlier_try = earlier_try
        self.sid_key = f"{key_prefix}sid"
        self.pending_key = f"{key_prefix}pending"
        self._clock = clock

    def send(self, request: SmsRequest) -> SentSms:
        """Send ``request``, or reuse the SMS an earlier try sent; fails safe when that is unknown."""
        sid = self._get(self.sid_key)
        if sid:
            return SentSms(self.sender.get_sms(str(sid)), reused=True)
        pending = self._get(self.pending_key)
        if isinstance(pending, dict) and pending.get("sent_at") is not None:
            raise self._lost_answer(request, float(pending["sent_at"]))
        if self.earlier_try and self.store is None:
            raise self._unknown_earlier_try(request)
        return SentSms(self._send_now(request), reused=False)

    def _send_now(self, request: SmsRequest) -> SmsMessage:
        now = self._clock()
        self._set(self.pending_key, {"sent_at": now, "to": request.describe()})
        try:
            message = self.sender.send_sms(request)
        except ExotelSmsOutcomeUnknownError:
            raise  # the mark stays: a retry must not send it again
        except ExotelTransportError as err:
            if isinstance(err, ExotelUnreachableError):
                self._delete(self.pending_key)  # never reached Exotel: nothing was sent
            raise
        except ExotelError:
            self._delete(self.pending_key)  # refused (4xx, validation): nothing was sent
            raise
        self._set(self.sid_key, message.sid)
        self._delete(self.pending_key)
        return message

    def _lost_answer(self, request: SmsRequest, sent_at: float) -> ExotelSmsOutcomeUnknownError:
        when = datetime.fromtimestamp(sent_at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return ExotelSmsOutcomeUnknownError(
            f"An earlier try sent the {request.describe()} at {when} and its answer was lost: it may have "
            "been sent. Exotel documents no SMS listing to look it up in, so it is not sent again. Check "
            "the SMS log in Exotel's dashboard for that number and time; to send it anyway, delete the "
            f"task state key {self.pending_key!r} (or clear the task state) and retry."
        )

    def _unknown_earlier_try(self, request: SmsRequest) -> ExotelSmsOutcomeUnknownError:
        return ExotelSmsOutcomeUnknownError(
            f"This is a retry and this Airflow keeps no task state, so an earlier try may already have "
            f"sent the {request.describe()}. It is not sent again. Check the SMS log in Exotel's "
            "dashboard; Airflow 3.3+ keeps the task state that makes such retries safe (or use retries=0)."
        )

    def _get(self, key: str) -> Any:
        return None if self.store is None else self.store.get(key)

    def _set(self, key: str, value: Any) -> None:
        if self.store is not None:
            self.store.set(key, value)

    def _delete(self, key: str) -> None:
        if self.store is not None:
            self.store.delete(key)
