"""ExotelConnectOperator: place one call (to a call flow, or between two numbers) and push its Sid."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, Context

from exotel_provider.airflow_compat import conf
from exotel_provider.calls.durations import optional_positive_seconds, positive_seconds
from exotel_provider.calls.model import Call
from exotel_provider.calls.progress import (
    DEFAULT_PRICING_GRACE_SECONDS,
    DEFAULT_WAIT_TIMEOUT_SECONDS,
    Assessment,
    is_successful,
)
from exotel_provider.calls.reference import REFERENCE_KEY, rendered_reference, with_reference
from exotel_provider.calls.status import DEFAULT_SUCCESS_STATUSES, coerce_statuses
from exotel_provider.errors import (
    ExotelCallOutcomeUnknownError,
    ExotelConfigurationError,
    ExotelError,
    ExotelValidationError,
    ExotelWaitTimeout,
    naming_sid,
)
from exotel_provider.hooks.exotel import ExotelHook
from exotel_provider.placement.guard import UNKNOWN_OUTCOME_POLICIES
from exotel_provider.placement.state_store import DEFAULT_KEY_PREFIX, PlacementRecord
from exotel_provider.placement.task_memory import TaskMemory
from exotel_provider.task_errors import (
    CallNotSuccessful,
    CallOutcomeUnknown,
    InvalidCallRequest,
    InvalidExotelConnection,
)

if TYPE_CHECKING:
    from exotel_provider.calls.connect_request import ConnectRequest
    from exotel_provider.placement.guard import PlacementGuard

_KEYS = PlacementRecord(None, DEFAULT_KEY_PREFIX)
PLACED_CALL_KEY = _KEYS.sid_key
"""task_state_store key holding the Sid of the call this task instance placed (kept across retries)."""
PENDING_PLACEMENT_KEY = _KEYS.pending_key
"""task_state_store key set just before the call-placing request is sent and removed once its
outcome is known: a retry that finds it knows a call may exist and looks for it instead of dialling."""

DEFAULT_RECONCILE_TIMEOUT = 600.0
DEFAULT_DEFERRED_WAIT_SECONDS = DEFAULT_WAIT_TIMEOUT_SECONDS
"""Waiting without ``wait_timeout`` (deferred or not) ends after the one default wait timeout."""


class ExotelConnectOperator(BaseOperator):
    """Place a call through Exotel's ``Calls/connect`` API and push the call Sid to XCom.

    Calls ``from_number`` and, once picked up, connects it to a call flow (``app_id`` or ``url``),
    or to ``to_number``. Every parameter is validated before anything is sent. The Sid is pushed
    as the return value and under the XCom key ``call_sid`` as soon as Exotel accepts the call.

    A retry of the same task instance never calls the person again: the decision is
    :class:`~exotel_provider.placement.PlacementGuard`'s. On Airflow 3.3+ the Sid is kept in the
    task's ``task_state_store`` (before XCom) and a retry reconnects to that call. Airflow 3.1/3.2
    have no such store: a retry dials only once no earlier call can be unlisted, and otherwise fails
    safe; there, give this task ``retries=0`` and wait in a separate sensor task.

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
    :param wait_timeout: give up waiting after this many seconds (the Sid stays in XCom); by default
        ``DEFAULT_WAIT_TIMEOUT_SECONDS`` (6 hours), as for the sensor and the trigger.
    :param redial_on_retry: on a retry, place a new call if the earlier one ended unanswered
        (busy, no-answer, failed, canceled). Default False: a retry never dials again.
    :param unknown_outcome: what to do when the call-placing request was sent but its outcome is
        unknown (no answer, a 5xx other than 503, an unreadable answer, or a worker that died right
        after sending it). ``"reconcile"`` (default): look for the call in Exotel's listing every
        ``poll_interval`` seconds for up to ``reconcile_timeout`` seconds, and adopt it once it is
        the only call that can match (see :mod:`exotel_provider.placement.reconciliation`);
        otherwise fail without retry, naming what is known. ``"fail"``: look once, then fail so.
        The person is never dialled again while a call may exist.
    :param reconcile_timeout: how long ``"reconcile"`` keeps looking (seconds). Exotel lists a call
        only once it has ended; set ``time_limit`` to bound how long that can take.
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
        self.poll_interval = positive_seconds("poll_interval", poll_interval)
        self.pricing_grace_seconds = positive_seconds("pricing_grace_seconds", pricing_grace_seconds)
        self.success_statuses: frozenset[str] = coerce_statuses(success_statuses)
        self.wait_timeout = optional_positive_seconds("wait_timeout", wait_timeout)
        self.redial_on_retry = redial_on_retry
        self.unknown_outcome = unknown_outcome
        self.reconcile_timeout = positive_seconds("reconcile_timeout", reconcile_timeout)
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> ExotelHook:
        return ExotelHook(self.exotel_conn_id)

    def execute(self, context: Context) -> str:
        guard = self.placement_guard(context)
        request = self.build_request()
        call = self._place(guard, request)
        self._push_sid(context, call.sid)
        if self.wait_for_completion:
            if self.deferrable:
                self._defer_wait(call.sid, request.time_limit)
            try:
                self._wait(context, call.sid)
            except (CallNotSuccessful, ExotelWaitTimeout):
                raise
            except ExotelError as err:
                naming_sid(err, call.sid)
                raise
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

    def placement_guard(self, context: Context) -> PlacementGuard:
        """The never-call-twice guard for this task instance's one call (its try has begun)."""
        from zoneinfo import ZoneInfo

        from exotel_provider.placement.guard import GuardPolicy, PlacementGuard

        memory = TaskMemory(context)
        try:
            time_zone = ZoneInfo(self.hook.settings.time_zone)
        except ExotelConfigurationError as err:
            raise InvalidExotelConnection(f"Connection {self.exotel_conn_id!r}: {err}") from None
        if not memory.available:
            self.log.warning(
                "This Airflow has no task_state_store (added in Airflow 3.3): a retry cannot know "
                "whether an earlier try placed the call, so it dials only once no call from an earlier "
                "try can be unlisted, and otherwise fails safe. Prefer retries=0 on call-placing tasks here."
            )
        guard = PlacementGuard(
            memory if memory.available else None,
            self.hook,
            policy=GuardPolicy(
                unknown_outcome=self.unknown_outcome,
                reconcile_timeout=self.reconcile_timeout,
                poll_interval=self.poll_interval,
                redial_on_retry=self.redial_on_retry,
            ),
            time_zone=time_zone,
            earlier_tries_since=earlier_tries_since(context),
            show_number=self.hook.display_number,
            logger=self.log,
        )
        guard.begin()
        return guard

    def _place(self, guard: PlacementGuard, request: ConnectRequest) -> Call:
        """The guard's call; its unknown outcome fails the task without retry (a retry cannot help)."""
        try:
            return guard.place(request).call
        except ExotelCallOutcomeUnknownError as err:
            raise CallOutcomeUnknown(str(err), candidate_sids=err.candidate_sids) from None

    def _push_sid(self, context: Context, sid: str) -> None:
        """XCom, after the guard saved the Sid in the task's state store."""
        ti = context["ti"]
        try:
            ti.xcom_push(key="call_sid", value=sid)
            ti.xcom_push(key="return_value", value=sid)
        except Exception as err:
            raise ExotelError(
                f"Call {sid} was placed, but its Sid could not be pushed to XCom ({type(err).__name__}); "
                "a retry reuses the call."
            ) from err
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


def earlier_tries_since(context: Context | dict[str, Any]) -> float | None:
    """On a later try (a retry or a clear), the earliest an earlier try can have sent a request: the
    DAG run's start. None on a first try."""
    ti = context.get("ti")
    if int(getattr(ti, "try_number", 1) or 1) <= 1:
        return None
    dag_run = context.get("dag_run")
    started = getattr(dag_run, "start_date", None) or getattr(ti, "start_date", None)
    return started.timestamp() if started is not None else time.time()
