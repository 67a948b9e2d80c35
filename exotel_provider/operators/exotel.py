"""ExotelConnectOperator: place one call (to a call flow, or between two numbers) and push its Sid."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow.sdk import BaseOperator, Context

from exotel_provider.airflow_compat import conf
from exotel_provider.call_lifecycle import (
    CALL_SID_KEY,
    CallOutcome,
    connection_errors,
    defer_until_final,
    finish,
    guard_for_task,
    push_sid,
    resume_from_event,
    sid_in_event,
    submit,
)
from exotel_provider.calls.calling_hours import CallingHours, CallingWindow
from exotel_provider.calls.durations import optional_positive_seconds, positive_seconds
from exotel_provider.calls.progress import (
    DEFAULT_POLL_INTERVAL_SECONDS,
    DEFAULT_PRICING_GRACE_SECONDS,
    DEFAULT_WAIT_TIMEOUT_SECONDS,
)
from exotel_provider.calls.status import DEFAULT_SUCCESS_STATUSES, coerce_statuses
from exotel_provider.errors import (
    ExotelError,
    ExotelValidationError,
    ExotelWaitTimeout,
    naming_sid,
)
from exotel_provider.hooks.exotel import ExotelHook
from exotel_provider.operators.campaign_rules import DO_NOT_CALL_TABLE
from exotel_provider.task_errors import CallOutcomeUnknown, InvalidCallRequest

if TYPE_CHECKING:
    from exotel_provider.calls.connect_request import ConnectRequest
    from exotel_provider.calls.model import Call
    from exotel_provider.errors import ExotelCallOutcomePendingError
    from exotel_provider.placement.guard import CallSource, PlacementGuard

PLACED_CALL_KEY: str
"""task_state_store key holding the Sid of the call this task instance placed (kept across retries)."""
PENDING_PLACEMENT_KEY: str
"""task_state_store key set just before the call-placing request is sent and removed once its
outcome is known: a retry that finds it knows a call may exist and looks for it instead of dialling."""
UNKNOWN_OUTCOME_POLICIES = ("reconcile", "fail")
"""The ``unknown_outcome`` values, checked when the DAG is parsed: the placement guard's own
(``placement.guard.UNKNOWN_OUTCOME_POLICIES``; a test keeps them equal), which loads only at execute time."""
DEFAULT_RECONCILE_TIMEOUT = 600.0
UNKNOWN_WINDOW_KEY = "unknown_window"
"""The deferral kwarg carrying a lost answer's window (sent_at, settled_at) and the wait's deadline."""
DEFAULT_DEFERRED_WAIT_SECONDS = DEFAULT_WAIT_TIMEOUT_SECONDS
"""Waiting without ``wait_timeout`` (deferred or not) ends after the one default wait timeout."""


def __getattr__(name: str) -> str:
    """The task_state_store keys, read from the placement package on first use (a DAG file that only
    defines tasks never loads the placement guard)."""
    if name in ("PLACED_CALL_KEY", "PENDING_PLACEMENT_KEY"):
        from exotel_provider.placement.state_store import DEFAULT_KEY_PREFIX, PlacementRecord

        keys = PlacementRecord(None, DEFAULT_KEY_PREFIX)
        return keys.sid_key if name == "PLACED_CALL_KEY" else keys.pending_key
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    :param redial_on_retry: on a retry, place a new call if the earlier one is worth a redial
        (it ended busy or no-answer: :data:`~exotel_provider.calls.status.REDIAL_STATUSES`, the
        same rule as a campaign's). Default False: a retry never dials again.
    :param unknown_outcome: what to do when the call-placing request was sent but its outcome is
        unknown (no answer, a 5xx other than 503, an unreadable answer, or a worker that died right
        after sending it). ``"reconcile"`` (default): look for the call in Exotel's listing every
        ``poll_interval`` seconds for up to ``reconcile_timeout`` seconds, and adopt it once it is
        the only call that can match (see :mod:`exotel_provider.placement.reconciliation`);
        otherwise fail without retry, naming what is known. ``"fail"``: look once, then fail so.
        The person is never dialled again while a call may exist.
    :param reconcile_timeout: how long ``"reconcile"`` keeps looking (seconds). Exotel lists a call
        only once it has ended; set ``time_limit`` to bound how long that can take.
    :param calling_hours: dial only inside these hours (e.g. ``"08:00-19:00"``, ``"09:00-18:00 mon-sat"``,
        a ``CallingHours``), in the connection's time zone (India by default): outside them the task
        fails before anything is sent, with :class:`~exotel_provider.errors.ExotelOutsideCallingHoursError`
        saying when the window opens. None (default): any hour, as an on-call notifier needs.
    :param do_not_call_conn_id: a common-sql connection (e.g. the reminders database,
        ``exotel_reminders_db``) whose do-not-call table is read right before the call is placed: a
        listed number fails the task without retry and without dialling
        (:class:`~exotel_provider.errors.ExotelDoNotCallError`), and a number Exotel refuses as DND
        is added to it. None (default): no list is read.
    :param do_not_call_table: that table (``do_not_call``: ``phone``, ``reason``, ``added_at``,
        created if missing), the one the campaign operator reads.
    :param deferrable: with ``wait_for_completion``, wait in the triggerer instead of a worker slot
        (default: ``[operators] default_deferrable``); the result is the same. With ``"reconcile"``,
        a lost placing answer (this try's, or an earlier try's kept in the task state store) is
        waited for deferred too: no worker is held and the listing is not read until every call the
        request can have created is listed (or ``reconcile_timeout`` has passed); then one look over
        the window that began when the request was sent adopts the call, or dials once none was
        placed, or fails safe naming what is known.
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
        poll_interval: float = DEFAULT_POLL_INTERVAL_SECONDS,
        pricing_grace_seconds: float = DEFAULT_PRICING_GRACE_SECONDS,
        success_statuses: Iterable[str] | str = DEFAULT_SUCCESS_STATUSES,
        wait_timeout: float | None = None,
        redial_on_retry: bool = False,
        unknown_outcome: str = "reconcile",
        reconcile_timeout: float = DEFAULT_RECONCILE_TIMEOUT,
        calling_hours: Any = None,
        do_not_call_conn_id: str | None = None,
        do_not_call_table: str = DO_NOT_CALL_TABLE,
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
        self.calling_hours = CallingHours.parse(calling_hours)
        self.do_not_call_conn_id, self.do_not_call_table = do_not_call_conn_id or None, do_not_call_table
        self.deferrable = deferrable

    @cached_property
    def hook(self) -> ExotelHook:
        """A hook for the operator's connection."""
        return ExotelHook(self.exotel_conn_id)

    @property
    def outcome(self) -> CallOutcome:
        """How this task judges and reports its call once final (shared with the sensor)."""
        return CallOutcome.of(self)

    def execute(self, context: Context) -> str:
        """Place the call through the guard, push its Sid, and optionally wait for its outcome."""
        guard = self.placement_guard(context)
        request = self.build_request()
        call = self._submit(guard, request)
        push_sid(context["ti"], call.sid, self.reference)
        if not self.wait_for_completion:
            return call.sid
        if self.deferrable:
            self._defer_wait(call.sid, request.time_limit)  # ends this run; execute_complete resumes
        else:
            self._wait(context, call.sid)
        return call.sid

    def execute_complete(self, context: Context, event: Any = None, call_sid: str | None = None) -> str:
        """Resume after the trigger: the same XCom and result (or typed error) as waiting in the worker."""
        assessment = resume_from_event(event, call_sid or sid_in_event(event), self.outcome)
        finish(context["ti"], self.outcome, assessment, self.log)
        return assessment.call.sid

    def build_request(self) -> ConnectRequest:
        """Validate the rendered parameters; fails the task (no retry) on bad input. No network."""
        try:
            with connection_errors(self.exotel_conn_id):
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

    # --- steps -----------------------------------------------------------------------------------

    def placement_guard(self, context: Context) -> PlacementGuard:
        """The never-call-twice guard for this task instance's one call (its try has begun)."""
        from exotel_provider.placement.guard import GuardPolicy

        policy = GuardPolicy(
            unknown_outcome=self.unknown_outcome,
            reconcile_timeout=self.reconcile_timeout,
            poll_interval=self.poll_interval,
            redial_on_retry=self.redial_on_retry,
        )
        carried = getattr(self, "_unknown_window", None)
        guard = guard_for_task(
            context, self.hook, policy, exotel_conn_id=self.exotel_conn_id, log=self.log,
            carried=(carried["sent_at"], carried["settled_at"]) if carried else None,
        )  # fmt: skip
        if self.calling_hours is not None:  # checked right before the request, whoever asks for the call
            from exotel_provider.placement.calling_hours_gate import WithinCallingHours

            window = CallingWindow(self.calling_hours, guard.time_zone)
            guard.calls = WithinCallingHours(guard.calls, window, show_number=self.hook.display_number)
        if self.do_not_call_conn_id:  # read right before the request, after the window's check
            guard.calls = self._off_do_not_call_list(guard.calls)
        return guard

    def _off_do_not_call_list(self, calls: CallSource) -> CallSource:
        """``calls`` that never dial a number on the do-not-call list of ``do_not_call_conn_id``."""
        from airflow.sdk import BaseHook

        from exotel_provider.campaigns.do_not_call import OffDoNotCallList, SqlDoNotCallList

        db = BaseHook.get_connection(str(self.do_not_call_conn_id)).get_hook()
        listed = SqlDoNotCallList(db, table=self.do_not_call_table)
        return OffDoNotCallList(calls, listed, show_number=self.hook.display_number)

    def _submit(self, guard: PlacementGuard, request: ConnectRequest) -> Call:
        """Place the call through the guard. Deferrable and ``reconcile``: a request whose outcome is
        unknown is decided by one look at the listing once every call it can have created is listed;
        until then the task waits deferred (no worker held), for at most ``reconcile_timeout``."""
        if self.unknown_outcome != "reconcile" or not self.deferrable:
            return submit(guard, request)  # looks in the worker (``fail``: once)
        from exotel_provider.errors import ExotelCallOutcomePendingError

        try:
            return submit(guard, request, search=False)
        except ExotelCallOutcomePendingError as pending:
            self._defer_until_decidable(pending, now=guard.clock.now())

    def _defer_until_decidable(self, pending: ExotelCallOutcomePendingError, *, now: float) -> NoReturn:
        """Wait in the triggerer until one look can decide (or ``reconcile_timeout`` has passed since
        this try first met the unknown outcome); then fail safe, naming what is known."""
        from datetime import UTC, datetime

        from airflow.providers.standard.triggers.temporal import DateTimeTrigger

        carried = getattr(self, "_unknown_window", None)
        deadline = float(carried["deadline"]) if carried else now + self.reconcile_timeout
        if now >= deadline:
            raise CallOutcomeUnknown(
                f"{pending} Still undecided after reconcile_timeout ({self.reconcile_timeout:g} s).",
                candidate_sids=pending.candidate_sids,
            ) from None
        moment = min(pending.complete_at, deadline)
        window = {"sent_at": pending.sent_at, "settled_at": pending.settled_at, "deadline": deadline}
        self.log.warning(
            "Exotel: the outcome of the call-placing request is unknown; waiting deferred until %s, when "
            "one look at Exotel's listing decides it (nobody is dialled meanwhile)",
            datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds"),
        )
        self.defer(
            trigger=DateTimeTrigger(moment=datetime.fromtimestamp(moment, UTC)),
            method_name="execute_after_window",
            kwargs={UNKNOWN_WINDOW_KEY: window},
        )

    def execute_after_window(
        self, context: Context, event: Any = None, unknown_window: dict[str, float] | None = None
    ) -> str:
        """Resume after waiting for a lost answer's window: the same try, from the start, with the
        window it waited for (the guard's memory where the task has no state store)."""
        self._unknown_window = unknown_window
        return self.execute(context)

    def _defer_wait(self, sid: str, time_limit: int | None) -> NoReturn:
        """Wait in the triggerer (for ``wait_timeout``, or the one default wait timeout)."""
        defer_until_final(
            self,
            sid,
            self.outcome,
            wait_seconds=self.wait_timeout
            if self.wait_timeout is not None
            else DEFAULT_DEFERRED_WAIT_SECONDS,
            poll_interval=self.poll_interval,
            time_limit=time_limit,
            resume_kwargs={CALL_SID_KEY: sid},
        )

    def _wait(self, context: Context, sid: str) -> None:
        """Wait in the worker, then finish; an Exotel error names the call (its Sid is in XCom)."""
        try:
            assessment = self.hook.wait_for_call(
                sid,
                poll_interval=self.poll_interval,
                pricing_grace_seconds=self.pricing_grace_seconds,
                timeout=self.wait_timeout,
            )
        except ExotelWaitTimeout:
            raise
        except ExotelError as err:
            naming_sid(err, sid)
            raise
        finish(context["ti"], self.outcome, assessment, self.log)
