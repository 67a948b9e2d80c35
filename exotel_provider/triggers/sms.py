"""ExotelSmsTrigger: wait in the triggerer until an SMS is final (sent, failed, failed_dnd).

One small event per outcome, in the call trigger's shape:

- ``{"status": "final", "sms_sid", "message", "sms": {...}}``
- ``{"status": "timeout", "sms_sid", "message", "sms": {...} or None}``
- ``{"status": "error", "sms_sid", "message", "error_type", "status_code", "cause"}``

It joins the connection's shared watcher in this triggerer process, the one that also watches the
account's calls (:class:`~exotel_provider.watching.watcher.CallWatcher`): the SMS is read by its Sid
through the watcher's client and request budget, at once and then no more often than
``poll_interval``. It sends nothing (triggers may run more than once).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from exotel_provider import errors
from exotel_provider.sms.model import DEFAULT_SMS_POLL_INTERVAL_SECONDS, SmsMessage
from exotel_provider.triggers.exotel import ERROR, FINAL, TIMEOUT, error_from_event
from exotel_provider.triggers.watching import shared_watcher_for

log = logging.getLogger(__name__)


class ExotelSmsTrigger(BaseTrigger):
    """Fires once the SMS is final, at ``deadline`` (epoch seconds), or when reading it failed."""

    def __init__(
        self,
        sms_sid: str,
        *,
        deadline: float,
        exotel_conn_id: str = "exotel_default",
        poll_interval: float = DEFAULT_SMS_POLL_INTERVAL_SECONDS,
    ) -> None:
        super().__init__()
        self.sms_sid = str(sms_sid)
        self.deadline = float(deadline)
        self.exotel_conn_id = str(exotel_conn_id)
        self.poll_interval = float(poll_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The trigger's class path and kwargs (no secrets)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "sms_sid": self.sms_sid,
                "deadline": self.deadline,
                "exotel_conn_id": self.exotel_conn_id,
                "poll_interval": self.poll_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # The shared watcher is released before the event is yielded, whatever the triggerer does next.
        """Wait for the SMS through the shared watcher; one event: final, timeout or error."""
        yield TriggerEvent(await self._outcome())

    async def _outcome(self) -> dict[str, Any]:
        try:
            async with shared_watcher_for(self.exotel_conn_id) as watcher:
                watch = watcher.watch_sms(self.sms_sid, poll_interval=self.poll_interval)
                try:
                    message = await watcher.wait_sms(watch, deadline=self.deadline)
                except errors.ExotelWaitTimeout as err:
                    return self._event(TIMEOUT, str(err), watcher.last_known_sms(self.sms_sid))
                finally:
                    watcher.unwatch(watch)
        except errors.ExotelError as err:
            return self._error(err)
        except Exception as err:
            log.exception("Exotel: waiting for SMS %s failed unexpectedly", self.sms_sid)
            return self._error(err)
        return self._event(FINAL, f"SMS {self.sms_sid} is {message.raw_status}", message)

    def _event(self, status: str, message: str, sms: SmsMessage | None) -> dict[str, Any]:
        return {
            "status": status,
            "sms_sid": self.sms_sid,
            "message": message,
            "sms": sms.to_dict() if sms else None,
        }

    def _error(self, error: BaseException) -> dict[str, Any]:
        return {
            "status": ERROR,
            "sms_sid": self.sms_sid,
            "message": str(error) or type(error).__name__,
            "error_type": type(error).__name__,
            "status_code": getattr(error, "status_code", None),
            "cause": getattr(error, "cause", None),
        }


def sms_from_event(event: Any, *, sms_sid: str) -> SmsMessage:
    """The final SMS an event reports; the typed error for an error event,
    :class:`~exotel_provider.errors.ExotelWaitTimeout` for a timeout, and
    :class:`~exotel_provider.errors.ExotelWatchError` for an event this trigger never sends."""
    if not isinstance(event, dict) or event.get("sms_sid") != sms_sid:
        raise errors.ExotelWatchError(
            f"Expected an event from ExotelSmsTrigger for SMS {sms_sid}, got {_describe(event)}"
        )
    status, text = event.get("status"), str(event.get("message") or "")
    if status == TIMEOUT:
        raise errors.ExotelWaitTimeout(
            text or f"SMS {sms_sid} was not final by the deadline.", call_sid=sms_sid
        )
    if status == ERROR:
        raise error_from_event({**event, "call_sid": sms_sid})
    try:
        message = SmsMessage.from_dict(event["sms"]) if status == FINAL else None
    except (KeyError, errors.ExotelResponseError) as err:
        raise errors.ExotelWatchError(
            f"The trigger's final event for SMS {sms_sid} is malformed: {err}"
        ) from None
    if message is None or message.sid != sms_sid or not message.is_final:
        raise errors.ExotelWatchError(
            f"The trigger's event for SMS {sms_sid} does not report it final ({_describe(event)})"
        )
    return message


def _describe(event: Any) -> str:
    """What an unexpected event is, without its contents (they may hold a phone number)."""
    if isinstance(event, dict):
        return f"an event with status {event.get('status')!r} about SMS {event.get('sms_sid')!r}"
    return type(event).__name__
