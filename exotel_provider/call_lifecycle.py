"""What an Airflow task does with one call, shared by the operator and the sensor.

The steps (as in the Databricks provider's lifecycle helper): submit the call through the
never-call-twice guard (:func:`guard_for_task`, :func:`submit`), push the Sid once it exists
(:func:`push_sid`), wait in the worker or defer to :class:`~exotel_provider.triggers.exotel.ExotelCallTrigger`
(:func:`defer_until_final`), resume from its event (:func:`resume_from_event`), and finish
(:func:`finish`): the final details to XCom, or :class:`CallNotSuccessful`. The XCom keys are here,
and so is the one mapping of a bad connection to :class:`InvalidExotelConnection`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from exotel_provider.calls.progress import Assessment, is_successful
from exotel_provider.calls.reference import REFERENCE_KEY, rendered_reference, with_reference
from exotel_provider.errors import (
    ExotelCallOutcomePendingError,
    ExotelCallOutcomeUnknownError,
    ExotelConfigurationError,
    ExotelDoNotCallError,
    ExotelError,
    ExotelOutsideCallingHoursError,
)
from exotel_provider.task_errors import (
    CallNotSuccessful,
    CallOutcomeUnknown,
    InvalidExotelConnection,
    NumberOnDoNotCallList,
    OutsideCallingHours,
)

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator

    from exotel_provider.calls.connect_request import ConnectRequest
    from exotel_provider.calls.model import Call
    from exotel_provider.hooks.exotel import ExotelHook
    from exotel_provider.placement.guard import GuardPolicy, PlacementGuard

CALL_SID_KEY = "call_sid"
"""XCom key of the placed call's Sid (also the operator's return value)."""
CALL_DETAILS_KEY = "call"
"""XCom key of the final call details (Exotel's field names, plus ``reference``)."""
RETURN_VALUE_KEY = "return_value"
"""Airflow's XCom key for a task's return value."""
REFERENCE_XCOM_KEY = REFERENCE_KEY
"""XCom key of the user's own reference for the call (the same name as its field in the details)."""


def earlier_tries_since(context: Mapping[str, Any]) -> float | None:
    """On a later try (a retry or a clear), the earliest an earlier try can have sent a request: the
    DAG run's start. None on a first try."""
    ti = context.get("ti")
    if int(getattr(ti, "try_number", 1) or 1) <= 1:
        return None
    dag_run = context.get("dag_run")
    started = getattr(dag_run, "start_date", None) or getattr(ti, "start_date", None)
    return started.timestamp() if started is not None else time.time()


def guard_for_task(
    context: Mapping[str, Any],
    hook: ExotelHook,
    policy: GuardPolicy,
    *,
    exotel_conn_id: str,
    log: Any,
    carried: tuple[float, float | None] | None = None,
) -> PlacementGuard:
    """The never-call-twice guard for this task instance's one call, its try begun.

    ``carried``: the window (sent_at, settled_at) of a request whose outcome is unknown, carried by
    the task across its own deferral: the guard's memory where the task has no state store."""
    from exotel_provider.placement.guard import PlacementGuard
    from exotel_provider.placement.state_store import CarriedStateStore, StateStore
    from exotel_provider.placement.task_memory import TaskMemory

    memory = TaskMemory(context)
    with connection_errors(exotel_conn_id):
        time_zone = hook.time_zone
    store: StateStore | None = memory if memory.available else None
    if store is None and carried is not None:
        store = CarriedStateStore(carried)
    elif not memory.available:
        log.warning(
            "This Airflow has no task_state_store (added in Airflow 3.3): a retry cannot know "
            "whether an earlier try placed the call, so it dials only once no call from an earlier "
            "try can be unlisted, and otherwise fails safe. Prefer retries=0 on call-placing tasks here."
        )
    guard = PlacementGuard(
        store,
        hook,
        policy=policy,
        time_zone=time_zone,
        earlier_tries_since=earlier_tries_since(context),
        show_number=hook.display_number,
        logger=log,
    )
    guard.begin()
    return guard


def submit(guard: PlacementGuard, request: ConnectRequest, *, search: bool = True) -> Call:
    """Place the call through the guard; an unknown outcome fails the task without retry.

    ``search=False``: an outcome the listing cannot decide yet raises
    :class:`~exotel_provider.errors.ExotelCallOutcomePendingError` (when a look can decide) instead
    of being looked for here; the task waits for it without a worker."""
    try:
        return guard.place(request, search=search).call
    except ExotelCallOutcomePendingError:
        raise
    except ExotelCallOutcomeUnknownError as err:
        raise CallOutcomeUnknown(str(err), candidate_sids=err.candidate_sids) from None
    except ExotelDoNotCallError as err:  # retrying cannot help: fail the task at once
        raise NumberOnDoNotCallList(str(err), reason=err.reason) from None
    except ExotelOutsideCallingHoursError as err:  # nor a retry minutes later: the message says when
        raise OutsideCallingHours(str(err), opens_at=err.opens_at) from None


@contextmanager
def connection_errors(exotel_conn_id: str) -> Iterator[None]:
    """Turn a connection that cannot be used into :class:`InvalidExotelConnection` (no retry helps)."""
    try:
        yield
    except ExotelConfigurationError as err:
        raise InvalidExotelConnection(f"Connection {exotel_conn_id!r}: {err}") from None


def push_sid(ti: Any, sid: str, reference: object) -> None:
    """The placed call's Sid to XCom (under ``call_sid`` and as the return value), and the reference."""
    try:
        ti.xcom_push(key=CALL_SID_KEY, value=sid)
        ti.xcom_push(key=RETURN_VALUE_KEY, value=sid)
    except Exception as err:
        raise ExotelError(
            f"Call {sid} was placed, but its Sid could not be pushed to XCom ({type(err).__name__}); "
            "a retry reuses the call."
        ) from err
    text = rendered_reference(reference)
    if text is not None:
        ti.xcom_push(key=REFERENCE_XCOM_KEY, value=text)


@dataclass(frozen=True)
class CallOutcome:
    """How a task judges and reports its call's final state."""

    exotel_conn_id: str
    success_statuses: frozenset[str]
    pricing_grace_seconds: float
    reference: object = None
    details_are_return_value: bool = False
    """The sensor returns the details (XCom pushes them once): they go under ``call`` only when
    the task fails. The operator returns the Sid: the details always go under ``call``."""

    @classmethod
    def of(cls, task: CallTask, *, details_are_return_value: bool = False) -> CallOutcome:
        """The outcome settings of an operator or sensor about one call."""
        return cls(
            exotel_conn_id=task.exotel_conn_id,
            success_statuses=task.success_statuses,
            pricing_grace_seconds=task.pricing_grace_seconds,
            reference=task.reference,
            details_are_return_value=details_are_return_value,
        )


class CallTask(Protocol):
    """What :meth:`CallOutcome.of` reads from a task."""

    exotel_conn_id: str
    success_statuses: frozenset[str]
    pricing_grace_seconds: float
    reference: str | None


def finish(
    ti: Any, outcome: CallOutcome, assessment: Assessment, log: logging.Logger | Any
) -> dict[str, Any]:
    """The final details (pushed under ``call`` as the outcome says), or :class:`CallNotSuccessful`."""
    call = assessment.call
    if not assessment.priced:
        log.warning("Exotel: %s", assessment.message)
    details = with_reference(call.to_dict(), outcome.reference)
    successful = is_successful(call, outcome.success_statuses)
    if not (successful and outcome.details_are_return_value):
        ti.xcom_push(key=CALL_DETAILS_KEY, value=details)
    if not successful:
        raise CallNotSuccessful(
            f"Call {call.sid} ended {call.raw_status}; success means "
            f"{', '.join(sorted(outcome.success_statuses))}. Details are in XCom under '{CALL_DETAILS_KEY}'.",
            call=details,
        )
    log.info(
        "Exotel: call %s ended %s (duration %s s, price %s)",
        call.sid,
        call.raw_status,
        call.duration,
        call.price,
    )
    return details


def defer_until_final(
    task: BaseOperator,
    sid: str,
    outcome: CallOutcome,
    *,
    wait_seconds: float,
    poll_interval: float,
    time_limit: int | None = None,
    resume_kwargs: Mapping[str, Any] | None = None,
) -> NoReturn:
    """Hand the wait to the triggerer; Airflow resumes the task in ``execute_complete``."""
    from exotel_provider.triggers.exotel import DEFERRAL_TIMEOUT_MARGIN_SECONDS, ExotelCallTrigger

    task.defer(
        trigger=ExotelCallTrigger(
            sid,
            exotel_conn_id=outcome.exotel_conn_id,
            deadline=time.time() + wait_seconds,
            poll_interval=poll_interval,
            pricing_grace_seconds=outcome.pricing_grace_seconds,
            time_limit=time_limit,
        ),
        method_name="execute_complete",
        kwargs=dict(resume_kwargs) if resume_kwargs is not None else None,
        timeout=timedelta(seconds=wait_seconds + DEFERRAL_TIMEOUT_MARGIN_SECONDS),
    )


def resume_from_event(event: Any, sid: str, outcome: CallOutcome) -> Assessment:
    """The trigger's event as the same :class:`Assessment` (or typed error) the worker's wait gives."""
    from exotel_provider.triggers.exotel import assessment_from_event

    with connection_errors(outcome.exotel_conn_id):
        return assessment_from_event(event, call_sid=sid, pricing_grace_seconds=outcome.pricing_grace_seconds)


def sid_in_event(event: Any) -> str:
    """The call Sid a trigger event names ("" when it names none)."""
    return str(event.get(CALL_SID_KEY) or "") if isinstance(event, dict) else ""
