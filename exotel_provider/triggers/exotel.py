"""ExotelCallTrigger: wait in the triggerer until a call is final and priced, without a worker slot.

Every trigger in a triggerer process that watches calls of the same connection joins one shared
:class:`~exotel_provider.watching.watcher.CallWatcher`, which asks Exotel about all of them in
batches within the account's request budget. Each outcome is exactly one small event:

- ``{"status": "final", "call_sid", "message", "call": {...}, "priced", "ended_seen_at", "assessed_at"}``
- ``{"status": "timeout", "call_sid", "message", "call": {...} or None}``
- ``{"status": "error", "call_sid", "message", "error_type", "status_code", "cause"}``

:func:`assessment_from_event` is what ``execute_complete`` uses to turn an event back into the same
:class:`~exotel_provider.calls.progress.Assessment` (or typed error) the polling path produces.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import TriggerEvent

from exotel_provider import errors
from exotel_provider.calls.model import Call
from exotel_provider.calls.progress import (
    DEFAULT_POLL_INTERVAL_SECONDS,
    DEFAULT_PRICING_GRACE_SECONDS,
    DEFAULT_WAIT_TIMEOUT_SECONDS,
    Assessment,
    assess_call,
)
from exotel_provider.triggers.watching import CallWatchingTrigger

log = logging.getLogger(__name__)

DEFERRAL_TIMEOUT_MARGIN_SECONDS = 300.0
"""Airflow's own deferral timeout comes this long after the trigger's deadline, as a backstop only:
the trigger's timeout event is what gives a clear message (a deferral timeout skips execute_complete)."""
FINAL, TIMEOUT, ERROR = "final", "timeout", "error"

_REBUILDABLE_ERRORS: dict[str, type[errors.ExotelError]] = {
    cls.__name__: cls
    for cls in (
        errors.ExotelAPIError,
        errors.ExotelBadRequestError,
        errors.ExotelAuthenticationError,
        errors.ExotelPaymentRequiredError,
        errors.ExotelForbiddenError,
        errors.ExotelNotFoundError,
        errors.ExotelConflictError,
        errors.ExotelRateLimitError,
        errors.ExotelServerError,
        errors.ExotelTransportError,
        errors.ExotelUnreachableError,
        errors.ExotelResponseError,
        errors.ExotelConfigurationError,
        errors.ExotelWatchError,
    )
}


class ExotelCallTrigger(CallWatchingTrigger):
    """Fires once the call is final (ended and priced, or ended and the pricing grace period over),
    at ``deadline``, or when watching it failed.

    :param call_sid: the call to wait for.
    :param exotel_conn_id: the Exotel connection (read asynchronously in the triggerer).
    :param deadline: wall-clock time (epoch seconds) after which a ``timeout`` event is sent; by
        default ``DEFAULT_WAIT_TIMEOUT_SECONDS`` (6 hours) from when the trigger is created.
    :param poll_interval: how often, at most, to ask about the call while it may change.
    :param pricing_grace_seconds: how long after the call was first seen ended to wait for its price.
    :param time_limit: the call's ``TimeLimit`` if known: after it (plus ringing) the call must have
        ended, so a call the listing still doesn't show is looked up on its own (unknown Sids fail fast).
    """

    def __init__(
        self,
        call_sid: str,
        *,
        deadline: float | None = None,
        exotel_conn_id: str = "exotel_default",
        poll_interval: float = DEFAULT_POLL_INTERVAL_SECONDS,
        pricing_grace_seconds: float = DEFAULT_PRICING_GRACE_SECONDS,
        time_limit: int | None = None,
    ) -> None:
        super().__init__(
            deadline=deadline if deadline is not None else time.time() + DEFAULT_WAIT_TIMEOUT_SECONDS,
            exotel_conn_id=exotel_conn_id,
            poll_interval=poll_interval,
            pricing_grace_seconds=pricing_grace_seconds,
            time_limit=time_limit,
        )
        self.call_sid = str(call_sid)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The trigger's class path and kwargs (no secrets)."""
        return self.serialized(call_sid=self.call_sid)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # The shared watcher is released before the event is yielded, whatever the triggerer does next.
        """Watch the call through the shared watcher; one event: final, timeout or error."""
        yield TriggerEvent(await self._outcome())

    async def _outcome(self) -> dict[str, Any]:
        try:
            async with self.shared_watcher() as watcher:
                watch = self.watch(watcher, self.call_sid)
                try:
                    assessment = await watcher.wait(watch, deadline=self.deadline)
                except errors.ExotelWaitTimeout as err:
                    last = watcher.last_known(self.call_sid)
                    return timeout_event(self.call_sid, str(err), last.to_dict() if last else None)
                finally:
                    watcher.unwatch(watch)
        except errors.ExotelError as err:
            return error_event(self.call_sid, err)
        except Exception as err:
            log.exception("Exotel: watching call %s failed unexpectedly", self.call_sid)
            return error_event(self.call_sid, err)
        return final_event(assessment, ended_seen_at=watch.ended_seen_at, assessed_at=watch.assessed_at)


# --- the event contract ----------------------------------------------------------------------------


def final_event(
    assessment: Assessment, *, ended_seen_at: float | None, assessed_at: float | None = None
) -> dict[str, Any]:
    """The ``final`` event: the call's details and how it was judged."""
    return {
        "status": FINAL,
        "call_sid": assessment.call.sid,
        "message": assessment.message,
        "call": assessment.call.to_dict(),
        "priced": assessment.priced,
        "ended_seen_at": ended_seen_at,
        "assessed_at": assessed_at if assessed_at is not None else time.time(),
    }


def timeout_event(call_sid: str, message: str, call: dict[str, Any] | None = None) -> dict[str, Any]:
    """The ``timeout`` event: the deadline passed before the call was final."""
    return {"status": TIMEOUT, "call_sid": call_sid, "message": message, "call": call}


def error_event(call_sid: str, error: BaseException) -> dict[str, Any]:
    """The ``error`` event: the error's type and message, rebuilt as a typed error by the task."""
    return {
        "status": ERROR,
        "call_sid": call_sid,
        "message": str(error) or type(error).__name__,
        "error_type": type(error).__name__,
        "status_code": getattr(error, "status_code", None),
        "cause": getattr(error, "cause", None),
    }


def assessment_from_event(event: Any, *, call_sid: str, pricing_grace_seconds: float) -> Assessment:
    """The final assessment an event reports, checked with the same :func:`assess_call` the polling
    path uses. Raises :class:`~exotel_provider.errors.ExotelWaitTimeout` for a timeout, the typed
    Exotel error for an error event, and :class:`~exotel_provider.errors.ExotelWatchError` for an
    event this trigger would never send."""
    if not isinstance(event, dict):
        raise errors.ExotelWatchError(
            f"Expected an event from ExotelCallTrigger for call {call_sid}, got {type(event).__name__}."
        )
    status, message = event.get("status"), str(event.get("message") or "")
    if event.get("call_sid") != call_sid:
        raise errors.ExotelWatchError(
            f"The trigger's event is about call {event.get('call_sid')!r}, not {call_sid!r}."
        )
    if status == TIMEOUT:
        raise errors.ExotelWaitTimeout(
            message or f"Call {call_sid} was not final by the deadline.", call_sid=call_sid
        )
    if status == ERROR:
        raise error_from_event(event)
    if status != FINAL:
        raise errors.ExotelWatchError(
            f"Unknown status {status!r} in the trigger's event for call {call_sid}."
        )
    try:
        call = Call.from_dict(event["call"])
        assessment = assess_call(
            call,
            ended_seen_at=_optional_float(event.get("ended_seen_at")),
            now=float(event["assessed_at"]),
            pricing_grace_seconds=pricing_grace_seconds,
        )
    except (KeyError, TypeError, ValueError, errors.ExotelResponseError) as err:
        raise errors.ExotelWatchError(
            f"The trigger's final event for call {call_sid} is malformed: {err}"
        ) from None
    if call.sid != call_sid or not assessment.is_final:
        raise errors.ExotelWatchError(
            f"The trigger reported call {call_sid} final, but its details say otherwise: {assessment.message}."
        )
    return assessment


def error_from_event(event: dict[str, Any]) -> errors.ExotelError:
    """The typed error an error event describes (unexpected ones become ExotelWatchError)."""
    message = str(event.get("message") or "")
    error_class = _REBUILDABLE_ERRORS.get(str(event.get("error_type")))
    status_code = event.get("status_code")
    if error_class is None:
        return errors.ExotelWatchError(
            f"Waiting for call {event.get('call_sid')} in the triggerer failed: "
            f"{event.get('error_type')}: {message}"
        )
    if issubclass(error_class, errors.ExotelUnreachableError):
        return error_class(message, cause=str(event.get("cause") or "connect"))
    if issubclass(error_class, errors.ExotelRateLimitError):
        return error_class(message, status_code=int(status_code or 429))
    if issubclass(error_class, errors.ExotelAPIError):
        return error_class(message, status_code=int(status_code or 0))
    return error_class(message)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)
