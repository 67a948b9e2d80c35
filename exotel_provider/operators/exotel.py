"""ExotelConnectOperator: place one call (to a call flow, or between two numbers) and push its Sid."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, Context

from exotel_provider.airflow_compat import conf
from exotel_provider.calls.model import Call
from exotel_provider.calls.progress import DEFAULT_PRICING_GRACE_SECONDS, Assessment, is_successful
from exotel_provider.calls.reference import REFERENCE_KEY, rendered_reference, with_reference
from exotel_provider.calls.status import DEFAULT_SUCCESS_STATUSES, CallStatus, coerce_statuses
from exotel_provider.errors import (
    ExotelAPIError,
    ExotelCallOutcomeUnknownError,
    ExotelConfigurationError,
    ExotelNotFoundError,
    ExotelTransportError,
    ExotelValidationError,
)
from exotel_provider.hooks.exotel import ExotelHook
from exotel_provider.placement.task_memory import TaskMemory
from exotel_provider.task_errors import (
    CallNotSuccessful,
    CallOutcomeUnknown,
    InvalidCallRequest,
    InvalidExotelConnection,
)

if TYPE_CHECKING:
    from exotel_provider.calls.connect_request import ConnectRequest
    from exotel_provider.placement.reconciliation import PlacementAttempt

PLACED_CALL_KEY = "exotel_placed_call_sid"
"""task_state_store key holding the Sid of the call this task instance placed (kept across retries)."""
PENDING_PLACEMENT_KEY = "exotel_pending_placement"
"""task_state_store key set just before the call-placing request is sent and removed once its
outcome is known: a retry that finds it knows a call may exist and looks for it instead of dialling."""

UNKNOWN_OUTCOME_POLICIES = ("reconcile", "fail")
DEFAULT_RECONCILE_TIMEOUT = 600.0
DEFAULT_DEFERRED_WAIT_SECONDS = 24 * 3600.0
"""Deferred waiting without ``wait_timeout`` ends after a day: far beyond Exotel's 4-hour call limit
plus pricing, so only a call Exotel never reports ends this way."""


class ExotelConnectOperator(BaseOperator):
    """Place a call through Exotel's ``Calls/connect`` API and push the call Sid to XCom.

    Calls ``from_number`` and, once picked up, connects it to a call flow (``app_id`` or ``url``),
    or to ``to_number``. Every parameter is validated before anything is sent. The Sid is pushed
    as the return value and under the XCom key ``call_sid`` as soon as Exotel accepts the call.

    A retry of the same task instance never calls the person again: on Airflow 3.3+ the Sid is kept
    in the task's ``task_state_store`` and the retry reconnects to that call. (Airflow 3.1/3.2 have
    no such store; there, give this task ``retries=0`` and wait in a separate sensor task.)

    :param from_number: number called first (E.164, or Indian national form with 0 / STD code).
    :param app_id: id of the call flow (applet) to connect to; the flow URL is built from it.
    :param url: the flow URL itself (``http://my.exotel.com/<sid>/exoml/start_voice/<app_id>``).
    :param to_number: connect two numbers instead of a flow.
    :param caller_id: the ExoPhone to call from; defaults to the connection's ``extra.caller_id``.
    :param call_type: ``trans`` for transactional calls.
    :param time_limit: cut the call after this many seconds (1-14400).
    :param time_out: ring each leg this many seconds (1-60).
    :param status_callback: URL Exotel POSTs to when the call ends.
    :param status_callback_events: ``terminal`` and/or ``answered``.
    :param status_callback_content_type: ``multipart/form-data`` or ``application/json``.
    :param custom_field: up to 128 characters passed to Passthru/Greeting applets.
    :param record: record a two-number call; ``recording_channels`` (single/dual),
        ``recording_format`` (mp3/mp3-hq) and ``wait_url`` also apply to two-number calls only.
    :param reference: your own key for this call (a customer or invoice id), never sent to Exotel:
        pushed to XCom under ``reference`` next to ``call_sid``, and added as ``reference`` to the
        final details under ``call``, so results can be joined to your records without map indexes.
    :param exotel_conn_id: the Exotel connection.
    :param wait_for_completion: also wait until the call is final and priced; the final details
        are pushed under the XCom key ``call``. Unsuccessful outcomes raise :class:`CallNotSuccessful`.
    :param poll_interval: seconds between checks while waiting.
    :param pricing_grace_seconds: how long after the call ended to wait for its price.
    :param success_statuses: terminal statuses that count as success when waiting (default completed).
    :param wait_timeout: give up waiting after this many seconds (the Sid stays in XCom).
    :param redial_on_retry: on a retry, place a new call if the earlier one ended unanswered
        (busy, no-answer, failed, canceled). Default False: a retry never dials again.
    :param unknown_outcome: what to do when the call-placing request was sent but its outcome is
        unknown (no answer, a 5xx other than 503, an unreadable answer, or a worker that died right
        after sending it). ``"reconcile"`` (default): look for the call in Exotel's listing every
        ``poll_interval`` seconds for up to ``reconcile_timeout`` seconds and adopt it if exactly one
        matches; otherwise fail without retry, saying the call may have been placed. ``"fail"``:
        fail without retry at once (after a single look when a retry finds an earlier try's
        unresolved attempt). The person is never dialled again while a call may exist.
    :param reconcile_timeout: how long ``"reconcile"`` keeps looking. Exotel lists a call only
        once it has ended, so an answered call is found when it ends.
    :param deferrable: with ``wait_for_completion``, wait in the triggerer instead of a worker slot
        (default: ``[operators] default_deferrable``); the result is the same.
    """

    template_fields: Sequence[str] = (
        "exotel_conn_id",
        "from_number",
        "to_number",
        "caller_id",
        "app_id",
        "url",
        "call_type",
        "time_limit",
        "time_out",
        "status_callback",
        "status_callback_events",
        "status_callback_content_type",
        "custom_field",
        "record",
        "recording_channels",
        "recording_format",
        "wait_url",
        "reference",
    )
    ui_color = "#e8f4ff"

    def __init__(
        self,
        *,
        from_number: str,
        app_id: str | int | None = None,
        url: str | None = None,
        to_number: str | None = None,
        caller_id: str | None = None,
        call_type: str | None = None,
        time_limit: int | str | None = None,
        time_out: int | str | None = None,
        status_callback: str | None = None,
        status_callback_events: Iterable[str] | str | None = None,
        status_callback_content_type: str | None = None,
        custom_field: str | None = None,
        record: bool | None = None,
        recording_channels: str | None = None,
        recording_format: str | None = None,
        wait_url: str | None = None,
        reference: str | None = None,
        exotel_conn_id: str = ExotelHook.default_conn_name,
        wait_for_completion: bool = False,
        poll_interval: float = 30.0,
        pricing_grace_seconds: float = DEFAULT_PRICING_GRACE_SECONDS,
        success_statuses: Iterable[str] | str = DEFAULT_SUCCESS_STATUSES,
        wait_timeout: float | None = None,
        redial_on_retry: bool = False,
        unknown_outcome: str = "reconcile",
        reconcile_timeout: float = DEFAULT_RECONCILE_TIMEOUT,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if unknown_outcome not in UNKNOWN_OUTCOME_POLICIES:
            raise ExotelValidationError(
                "unknown_outcome",
                f"{unknown_outcome!r} is not a policy",
                "Use 'reconcile' (look for the call, the default) or 'fail'.",
            )
        self.from_number = from_number
        self.app_id = app_id
        self.url = url
        self.to_number = to_number
        self.caller_id = caller_id
        self.call_type = call_type
        self.time_limit = time_limit
        self.time_out = time_out
        self.status_callback = status_callback
        self.status_callback_events = status_callback_events
        self.status_callback_content_type = status_callback_content_type
        self.custom_field = custom_field
        self.record = record
        self.recording_channels = recording_channels
        self.recording_format = recording_format
        self.wait_url = wait_url
        self.reference = reference
        self.exotel_conn_id = exotel_conn_id
        self.wait_for_completion = wait_for_completion
        self.poll_interval = poll_interval
        self.pricing_grace_seconds = pricing_grace_seconds
        self.success_statuses: frozenset[CallStatus] = coerce_statuses(success_statuses)
        self.wait_timeout = wait_timeout
        self.redial_on_retry = redial_on_retry
        self.unknown_outcome = unknown_outcome
        self.reconcile_timeout = reconcile_timeout
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> ExotelHook:
        return ExotelHook(self.exotel_conn_id)

    def execute(self, context: Context) -> str:
        request = self.build_request()
        memory = TaskMemory(context)
        call = self._call_from_earlier_try(memory) or self._call_from_unresolved_attempt(
            context, memory, request
        )
        if call is None:
            call = self._place(request, memory)
        self._remember(context, memory, call)
        if self.wait_for_completion:
            if self.deferrable:
                self._defer_wait(call.sid, request.time_limit)
            self._wait(context, call.sid)
        return call.sid

    def execute_complete(self, context: Context, event: Any = None, call_sid: str | None = None) -> str:
        """Resume after the trigger: the same XCom and result (or typed error) as waiting in the worker."""
        from exotel_provider.triggers.exotel import assessment_from_event

        sid = call_sid or (str(event.get("call_sid") or "") if isinstance(event, dict) else "")
        try:
            assessment = assessment_from_event(
                event, call_sid=sid, pricing_grace_seconds=self.pricing_grace_seconds
            )
        except ExotelConfigurationError as err:
            raise InvalidExotelConnection(f"Connection {self.exotel_conn_id!r}: {err}") from None
        self._finish(context, assessment)
        return assessment.call.sid

    def build_request(self) -> ConnectRequest:
        """Validate the rendered parameters; fails the task (no retry) on bad input. No network."""
        try:
            return self.hook.build_connect_request(
                from_number=self.from_number,
                to_number=self.to_number or None,
                caller_id=self.caller_id or None,
                app_id=self.app_id,
                url=self.url,
                call_type=self.call_type or None,
                time_limit=self.time_limit,
                time_out=self.time_out,
                status_callback=self.status_callback or None,
                status_callback_events=self.status_callback_events,
                status_callback_content_type=self.status_callback_content_type or None,
                custom_field=self.custom_field,
                record=self.record,
                recording_channels=self.recording_channels or None,
                recording_format=self.recording_format or None,
                wait_url=self.wait_url or None,
            )
        except ExotelValidationError as err:
            raise InvalidCallRequest.from_error(err) from None
        except ExotelConfigurationError as err:
            raise InvalidExotelConnection(f"Connection {self.exotel_conn_id!r}: {err}") from None

    # --- steps -----------------------------------------------------------------------------------

    def _call_from_earlier_try(self, memory: TaskMemory) -> Call | None:
        """The call an earlier try of this task instance placed, if it must be reused."""
        sid = memory.get(PLACED_CALL_KEY)
        if not sid:
            return None
        try:
            call = self.hook.get_call(str(sid))
        except ExotelNotFoundError:
            self.log.warning("Call %s placed by an earlier try is unknown to Exotel; placing a new call", sid)
            return None
        if self.redial_on_retry and call.is_terminal and call.status is not CallStatus.COMPLETED:
            self.log.info(
                "Call %s from an earlier try ended %s; redialling as redial_on_retry asks",
                call.sid,
                call.raw_status,
            )
            return None
        self.log.info(
            "Reusing call %s (%s) placed by an earlier try: not calling again", call.sid, call.raw_status
        )
        return call

    def _call_from_unresolved_attempt(
        self, context: Context, memory: TaskMemory, request: ConnectRequest
    ) -> Call | None:
        """When an earlier try may have placed a call without recording it, find it (or fail).

        On Airflow 3.3+ an earlier try left ``PENDING_PLACEMENT_KEY``; on 3.1/3.2 (no
        task_state_store) every retry is treated so, with the DAG run's start as the earliest time.
        Returns None only when dialling is safe: no earlier attempt, or one that provably placed
        nothing.
        """
        from exotel_provider.placement.reconciliation import PlacementAttempt, format_exotel_time

        sent_at = self._unresolved_attempt_time(context, memory)
        if sent_at is None:
            return None
        attempt = PlacementAttempt(request, sent_at)
        self.log.warning(
            "An earlier try sent a request to call %s at %s (Exotel time) and its outcome is unknown: "
            "looking for that call before anything else",
            self.hook.display_number(request.from_number),
            format_exotel_time(sent_at),
        )
        known = [memory.get(PLACED_CALL_KEY) or ""]
        timeout = self.reconcile_timeout if self.unknown_outcome == "reconcile" else 0.0
        found = self.hook.reconcile_placement(
            attempt, timeout=timeout, poll_interval=self.poll_interval, exclude=known
        )
        if not found and time.time() >= attempt.certainly_listed_by():
            self.log.warning(
                "No call from %s created since %s is listed, and any such call would have ended and "
                "been listed by now: the earlier request placed no call; placing it now",
                self.hook.display_number(request.from_number),
                format_exotel_time(sent_at),
            )
            memory.delete(PENDING_PLACEMENT_KEY)
            return None
        return self._adopt(attempt, found, "An earlier try of this task sent a call-placing request")

    def _unresolved_attempt_time(self, context: Context, memory: TaskMemory) -> float | None:
        if memory.available:
            pending = memory.get(PENDING_PLACEMENT_KEY)
            if isinstance(pending, dict) and pending.get("sent_at") is not None:
                return float(pending["sent_at"])
            return None
        ti = context.get("ti")
        if int(getattr(ti, "try_number", 1) or 1) <= 1:
            self.log.warning(
                "This Airflow has no task_state_store (added in Airflow 3.3): should this try die after "
                "placing the call, a retry can only look for the call, not know it. Prefer retries=0 "
                "on call-placing tasks here."
            )
            return None
        dag_run = context.get("dag_run")
        started = getattr(dag_run, "start_date", None) or getattr(ti, "start_date", None)
        return started.timestamp() if started is not None else time.time()

    def _place(self, request: ConnectRequest, memory: TaskMemory) -> Call:
        """Send the request; the pending mark is kept whenever a call may exist without its Sid."""
        from exotel_provider.placement.reconciliation import PlacementAttempt

        sent_at = time.time()
        memory.set(PENDING_PLACEMENT_KEY, {"sent_at": sent_at})
        try:
            return self.hook.place_call(request)
        except ExotelCallOutcomeUnknownError as err:
            return self._resolve_unknown_outcome(PlacementAttempt(request, sent_at), str(err))
        except (ExotelAPIError, ExotelTransportError):
            memory.delete(PENDING_PLACEMENT_KEY)  # refused, or never reached Exotel: no call exists
            raise

    def _resolve_unknown_outcome(self, attempt: PlacementAttempt, reason: str) -> Call:
        if self.unknown_outcome == "fail":
            raise CallOutcomeUnknown(f"{reason} {self._unknown_advice(attempt)}")
        self.log.warning(
            "Exotel: %s Looking for the call in Exotel's listing for up to %.0f s (unknown_outcome="
            "'reconcile').",
            reason,
            self.reconcile_timeout,
        )
        found = self.hook.reconcile_placement(
            attempt, timeout=self.reconcile_timeout, poll_interval=self.poll_interval
        )
        return self._adopt(attempt, found, reason)

    def _adopt(self, attempt: PlacementAttempt, found: list[Call], reason: str) -> Call:
        """The one call found for an attempt, or a no-retry failure that says what is known."""
        from exotel_provider.placement.reconciliation import format_exotel_time

        if len(found) == 1:
            [call] = found
            self.log.warning(
                "Exotel: adopting call %s (%s), the call the earlier request placed: not calling again",
                call.sid,
                call.raw_status,
            )
            return call
        number = self.hook.display_number(attempt.request.from_number)
        if found:
            sids = ", ".join(call.sid for call in found)
            raise CallOutcomeUnknown(
                f"{reason} Several calls from {number} since {format_exotel_time(attempt.sent_at)} "
                f"could be the one it placed ({sids}); not choosing one and not calling again."
            )
        raise CallOutcomeUnknown(f"{reason} {self._unknown_advice(attempt)}")

    def _unknown_advice(self, attempt: PlacementAttempt) -> str:
        from exotel_provider.placement.reconciliation import format_exotel_time

        number = self.hook.display_number(attempt.request.from_number)
        return (
            f"The call to {number} may have been placed and its Sid is unknown: Exotel lists no call "
            f"from this number created since {format_exotel_time(attempt.sent_at)} (Exotel time), but "
            "it lists calls only once they have ended. Check Exotel's call logs before calling again. "
            "Clearing this task looks again and adopts the call once Exotel lists it; it dials only "
            f"when no call can exist (after {format_exotel_time(attempt.certainly_listed_by())})."
        )

    def _remember(self, context: Context, memory: TaskMemory, call: Call) -> None:
        """XCom first (the user's handle on the call), then the retry memory."""
        self._push_sid(context, call.sid)
        memory.set(PLACED_CALL_KEY, call.sid)
        memory.delete(PENDING_PLACEMENT_KEY)

    def _push_sid(self, context: Context, sid: str) -> None:
        ti = context["ti"]
        ti.xcom_push(key="call_sid", value=sid)
        ti.xcom_push(key="return_value", value=sid)
        reference = rendered_reference(self.reference)
        if reference is not None:
            ti.xcom_push(key=REFERENCE_KEY, value=reference)

    def _defer_wait(self, sid: str, time_limit: int | None) -> None:
        from exotel_provider.triggers.exotel import DEFERRAL_TIMEOUT_MARGIN_SECONDS, ExotelCallTrigger

        wait = self.wait_timeout if self.wait_timeout is not None else DEFAULT_DEFERRED_WAIT_SECONDS
        self.defer(
            trigger=ExotelCallTrigger(
                sid,
                exotel_conn_id=self.exotel_conn_id,
                deadline=time.time() + wait,
                poll_interval=self.poll_interval,
                pricing_grace_seconds=self.pricing_grace_seconds,
                time_limit=time_limit,
            ),
            method_name="execute_complete",
            kwargs={"call_sid": sid},
            timeout=timedelta(seconds=wait + DEFERRAL_TIMEOUT_MARGIN_SECONDS),
        )

    def _wait(self, context: Context, sid: str) -> None:
        assessment = self.hook.wait_for_call(
            sid,
            poll_interval=self.poll_interval,
            pricing_grace_seconds=self.pricing_grace_seconds,
            timeout=self.wait_timeout,
        )
        self._finish(context, assessment)

    def _finish(self, context: Context, assessment: Assessment) -> None:
        """Push the final details under ``call``; an unsuccessful outcome raises CallNotSuccessful."""
        sid = assessment.call.sid
        if not assessment.priced:
            self.log.warning("Exotel: %s", assessment.message)
        details = with_reference(assessment.call.to_dict(), self.reference)
        context["ti"].xcom_push(key="call", value=details)
        if not is_successful(assessment.call, self.success_statuses):
            raise CallNotSuccessful(
                f"Call {sid} ended {assessment.call.raw_status}; success means "
                f"{', '.join(sorted(self.success_statuses))}. Details are in XCom under 'call'.",
                call=details,
            )
        self.log.info(
            "Exotel: call %s ended %s (duration %s s, price %s)",
            sid,
            assessment.call.raw_status,
            assessment.call.duration,
            assessment.call.price,
        )
