"""ExotelCallSensor: wait until a call has its final status and its price."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue

from exotel_provider.airflow_compat import AirflowSensorTimeout, conf
from exotel_provider.calls.progress import (
    DEFAULT_PRICING_GRACE_SECONDS,
    DEFAULT_WAIT_TIMEOUT_SECONDS,
    Assessment,
    assess_call,
    call_ended_at,
    is_successful,
    positive_seconds,
)
from exotel_provider.calls.reference import with_reference
from exotel_provider.calls.status import DEFAULT_SUCCESS_STATUSES, coerce_statuses
from exotel_provider.errors import ExotelConfigurationError, ExotelWaitTimeout
from exotel_provider.hooks.exotel import ExotelHook
from exotel_provider.placement.task_memory import TaskMemory
from exotel_provider.task_errors import CallNotSuccessful, InvalidCallRequest, InvalidExotelConnection

ENDED_SEEN_AT_KEY = "exotel_call_ended_seen_at"
"""task_state_store key: when this sensor first saw the call ended (for the pricing grace period)."""


class ExotelCallSensor(BaseSensorOperator):
    """Wait until an Exotel call has a terminal status **and** its Price, Duration and EndTime.

    Exotel fills in pricing minutes after a call ends; calls that never connected may never be
    priced, so after ``pricing_grace_seconds`` (counted from the call's own ``EndTime``, or from when
    it was first seen ended if earlier) the sensor stops waiting for pricing and logs a warning.
    Without ``timeout`` it gives up after ``DEFAULT_WAIT_TIMEOUT_SECONDS`` (6 hours). A status
    Exotel does not document counts as ended, and as success only if listed in ``success_statuses``. The final call details (Exotel's field names, ``Price`` a number) are the sensor's
    XCom return value. A call ending in a status outside ``success_statuses`` (default:
    ``completed``) raises :class:`~exotel_provider.task_errors.CallNotSuccessful`, with its details
    also in XCom under the key ``call``; pass ``success_statuses=TERMINAL_STATUSES`` to accept any.

    Works in ``poke`` and ``reschedule`` modes, and deferrable: with ``deferrable=True`` (default:
    ``[operators] default_deferrable``) the wait happens in the triggerer, where all calls of a
    connection are watched together in batches within the connection's request budget. Both ways
    give the same result for the same call.

    :param call_sid: the call's Sid, e.g. ``"{{ ti.xcom_pull(task_ids='place_call') }}"``.
    :param reference: your own key for the call (e.g. the operator's ``reference``), added as
        ``reference`` to the details in XCom.
    :param exotel_conn_id: the Exotel connection.
    :param pricing_grace_seconds: how long after the call ended to wait for its price.
    :param success_statuses: terminal statuses that count as success.
    :param deferrable: wait in the triggerer instead of a worker slot.
    """

    template_fields: Sequence[str] = ("call_sid", "exotel_conn_id", "reference")
    ui_color = "#e8f4ff"

    def __init__(
        self,
        *,
        call_sid: str,
        reference: str | None = None,
        exotel_conn_id: str = ExotelHook.default_conn_name,
        pricing_grace_seconds: float = DEFAULT_PRICING_GRACE_SECONDS,
        success_statuses: Iterable[str] | str = DEFAULT_SUCCESS_STATUSES,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        kwargs["poke_interval"] = positive_seconds("poke_interval", kwargs.get("poke_interval", 30))
        kwargs["timeout"] = positive_seconds("timeout", kwargs.get("timeout", DEFAULT_WAIT_TIMEOUT_SECONDS))
        super().__init__(**kwargs)
        self.deferrable = deferrable
        self.call_sid = call_sid
        self.reference = reference
        self.exotel_conn_id = exotel_conn_id
        self.pricing_grace_seconds = positive_seconds(
            "pricing_grace_seconds",
            pricing_grace_seconds,
            zero_allowed=True,  # 0: do not wait for the price
        )
        self.success_statuses: frozenset[str] = coerce_statuses(success_statuses)
        self._ended_seen_at: float | None = None

    @cached_property
    def hook(self) -> ExotelHook:
        return ExotelHook(self.exotel_conn_id)

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        from exotel_provider.triggers.exotel import DEFERRAL_TIMEOUT_MARGIN_SECONDS, ExotelCallTrigger

        self.defer(
            trigger=ExotelCallTrigger(
                self._sid(),
                exotel_conn_id=self.exotel_conn_id,
                deadline=time.time() + self.timeout,
                poll_interval=self.poke_interval,
                pricing_grace_seconds=self.pricing_grace_seconds,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout + DEFERRAL_TIMEOUT_MARGIN_SECONDS),
        )

    def execute_complete(self, context: Context, event: Any = None) -> dict[str, Any]:
        """Resume after the trigger: the same XCom value or typed error as the poking path."""
        from exotel_provider.triggers.exotel import assessment_from_event

        try:
            assessment = assessment_from_event(
                event, call_sid=self._sid(), pricing_grace_seconds=self.pricing_grace_seconds
            )
        except ExotelWaitTimeout as err:
            raise AirflowSensorTimeout(f"Sensor has timed out: {err}") from None
        except ExotelConfigurationError as err:
            raise InvalidExotelConnection(f"Connection {self.exotel_conn_id!r}: {err}") from None
        return self.finish(context, assessment)

    def _sid(self) -> str:
        sid = str(self.call_sid or "").strip()
        if not sid or sid == "None":
            raise InvalidCallRequest(
                "call_sid",
                "no call Sid given (it rendered empty)",
                "Pass the Sid pushed by ExotelConnectOperator, e.g. "
                "\"{{ ti.xcom_pull(task_ids='place_call', key='call_sid') }}\".",
            )
        return sid

    def poke(self, context: Context) -> PokeReturnValue:
        sid = self._sid()
        try:
            call = self.hook.get_call(sid)
        except ExotelConfigurationError as err:
            raise InvalidExotelConnection(f"Connection {self.exotel_conn_id!r}: {err}") from None
        assessment = assess_call(
            call,
            ended_seen_at=self._remember_end(context, call.sid) if call.is_terminal else None,
            now=time.time(),
            pricing_grace_seconds=self.pricing_grace_seconds,
            ended_at=call_ended_at(call),
        )
        if not assessment.is_final:
            self.log.info("Exotel: %s", assessment.message)
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(is_done=True, xcom_value=self.finish(context, assessment))

    def finish(self, context: Context, assessment: Assessment) -> dict[str, Any]:
        """The final details for XCom, or :class:`CallNotSuccessful` for an unsuccessful outcome."""
        if not assessment.priced:
            self.log.warning("Exotel: %s", assessment.message)
        details = with_reference(assessment.call.to_dict(), self.reference)
        if not is_successful(assessment.call, self.success_statuses):
            context["ti"].xcom_push(key="call", value=details)
            raise CallNotSuccessful(
                f"Call {assessment.call.sid} ended {assessment.call.raw_status}; success means "
                f"{', '.join(sorted(self.success_statuses))}. Details are in XCom under 'call'.",
                call=details,
            )
        self.log.info(
            "Exotel: call %s ended %s (duration %s s, price %s)",
            assessment.call.sid,
            assessment.call.raw_status,
            assessment.call.duration,
            assessment.call.price,
        )
        return details

    def _remember_end(self, context: Context, sid: str) -> float:
        """When this call was first seen ended: kept on the instance (poke mode) and in the task
        state store (reschedule mode, Airflow 3.3+) so the pricing grace period survives reschedules."""
        if self._ended_seen_at is None:
            memory = TaskMemory(context)
            stored = memory.get(ENDED_SEEN_AT_KEY)
            if isinstance(stored, dict) and stored.get("sid") == sid:
                self._ended_seen_at = float(stored["at"])
            else:
                self._ended_seen_at = time.time()
                memory.set(ENDED_SEEN_AT_KEY, {"sid": sid, "at": self._ended_seen_at})
        return self._ended_seen_at
