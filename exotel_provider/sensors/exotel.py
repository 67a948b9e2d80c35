"""ExotelCallSensor: wait until a call has its final status and its price."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from functools import cached_property
from typing import Any

from airflow.sdk import BaseSensorOperator, Context, PokeReturnValue

from exotel_provider.airflow_compat import AirflowSensorTimeout, conf
from exotel_provider.call_lifecycle import (
    CALL_SID_KEY,
    CallOutcome,
    connection_errors,
    defer_until_final,
    finish,
    resume_from_event,
)
from exotel_provider.calls.progress import (
    DEFAULT_POLL_INTERVAL_SECONDS,
    DEFAULT_PRICING_GRACE_SECONDS,
    DEFAULT_WAIT_TIMEOUT_SECONDS,
    assess_call,
    call_ended_at,
    positive_seconds,
)
from exotel_provider.calls.status import DEFAULT_SUCCESS_STATUSES, coerce_statuses
from exotel_provider.errors import ExotelWaitTimeout
from exotel_provider.hooks.exotel import ExotelHook
from exotel_provider.task_errors import InvalidCallRequest

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
        kwargs["poke_interval"] = positive_seconds("poke_interval", kwargs.get("poke_interval", DEFAULT_POLL_INTERVAL_SECONDS))
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
        """A hook for the sensor's connection."""
        return ExotelHook(self.exotel_conn_id)

    @property
    def outcome(self) -> CallOutcome:
        """How this task judges and reports its call once final (shared with the operator)."""
        return CallOutcome.of(self, details_are_return_value=True)

    def execute(self, context: Context) -> Any:
        """Wait for the call: poke or reschedule, or defer to the triggerer when ``deferrable``."""
        if not self.deferrable:
            return super().execute(context)
        defer_until_final(
            self, self._sid(), self.outcome, wait_seconds=self.timeout, poll_interval=self.poke_interval
        )

    def execute_complete(self, context: Context, event: Any = None) -> dict[str, Any]:
        """Resume after the trigger: the same XCom value or typed error as the poking path."""
        try:
            assessment = resume_from_event(event, self._sid(), self.outcome)
        except ExotelWaitTimeout as err:
            raise AirflowSensorTimeout(f"Sensor has timed out: {err}") from None
        return finish(context["ti"], self.outcome, assessment, self.log)

    def _sid(self) -> str:
        sid = str(self.call_sid or "").strip()
        if not sid or sid == "None":
            raise InvalidCallRequest(
                "call_sid",
                "no call Sid given (it rendered empty)",
                "Pass the Sid pushed by ExotelConnectOperator, e.g. "
                "\"{{ ti.xcom_pull(task_ids='place_call', key='" + CALL_SID_KEY + "') }}\".",
            )
        return sid

    def poke(self, context: Context) -> PokeReturnValue:
        """Read the call once; done when it is final and priced (its details are the return value)."""
        sid = self._sid()
        with connection_errors(self.exotel_conn_id):
            call = self.hook.get_call(sid)
            time_zone = self.hook.time_zone
        assessment = assess_call(
            call,
            ended_seen_at=self._remember_end(context, call.sid) if call.is_terminal else None,
            now=time.time(),
            pricing_grace_seconds=self.pricing_grace_seconds,
            ended_at=call_ended_at(call, time_zone),
        )
        if not assessment.is_final:
            self.log.info("Exotel: %s", assessment.message)
            return PokeReturnValue(is_done=False)
        return PokeReturnValue(is_done=True, xcom_value=finish(context["ti"], self.outcome, assessment, self.log))

    def _remember_end(self, context: Context, sid: str) -> float:
        """When this call was first seen ended: kept on the instance (poke mode) and in the task
        state store (reschedule mode, Airflow 3.3+) so the pricing grace period survives reschedules."""
        if self._ended_seen_at is None:
            from exotel_provider.placement.task_memory import TaskMemory

            memory = TaskMemory(context)
            stored = memory.get(ENDED_SEEN_AT_KEY)
            if isinstance(stored, dict) and stored.get("sid") == sid:
                self._ended_seen_at = float(stored["at"])
            else:
                self._ended_seen_at = time.time()
                memory.set(ENDED_SEEN_AT_KEY, {"sid": sid, "at": self._ended_seen_at})
        return self._ended_seen_at
