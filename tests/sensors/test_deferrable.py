"""Deferrable ExotelCallSensor and ExotelConnectOperator: they defer with a secret-free trigger, and
``execute_complete`` gives the same XCom value or typed error as the polling path."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from exotel_provider.airflow_compat import AirflowSensorTimeout
from exotel_provider.errors import ExotelNotFoundError, ExotelWaitTimeout, ExotelWatchError
from exotel_provider.sensors.exotel import ExotelCallSensor
from exotel_provider.task_errors import CallNotSuccessful
from exotel_provider.triggers.exotel import ExotelCallTrigger, error_event, timeout_event
from tests.support.clock import VirtualClock, watchers_on
from tests.support.operator_runs import CUSTOMER, context, operator, poke_until_done
from tests.support.task_doubles import DictStateStore
from tests.support.trigger_helpers import first_event

try:
    from airflow.sdk.exceptions import TaskDeferred
except ImportError:  # Airflow 3.1
    from airflow.exceptions import TaskDeferred  # type: ignore[no-redef]

pytestmark = pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=None)


def run_trigger(trigger: ExotelCallTrigger) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        clock = VirtualClock(1000)
        with watchers_on(clock):
            trigger.deadline = clock.now() + 3600
            return await first_event(trigger)

    return asyncio.run(run())


def deferred(task: Any, ctx: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as caught:
        task.execute(ctx)
    return caught.value


def test_deferrable_sensor_defers_with_a_secret_free_trigger(exotel_connection_env):
    sensor = ExotelCallSensor(task_id="wait", call_sid="abc", deferrable=True, poke_interval=20, timeout=600)
    deferral = deferred(sensor, context())
    assert deferral.method_name == "execute_complete"
    classpath, kwargs = deferral.trigger.serialize()
    assert classpath == "exotel_provider.triggers.exotel.ExotelCallTrigger"
    assert kwargs["call_sid"] == "abc" and kwargs["poll_interval"] == 20.0
    assert exotel_connection_env.api_token not in json.dumps(kwargs)
    assert deferral.timeout is not None and deferral.timeout.total_seconds() >= 600
    assert exotel_connection_env.requests == []  # deferring sends nothing


@pytest.mark.parametrize(
    ("outcome", "success"),
    [("completed", True), ("busy", False), ("no-answer", False), ("failed", False), ("canceled", False)],
)
def test_deferred_sensor_gives_the_same_result_as_poking(exotel_connection_env, outcome, success):
    exotel_connection_env.script(CUSTOMER, outcome=outcome)
    sid = operator().execute(context())
    exotel_connection_env.advance(1000)
    sensor = ExotelCallSensor(task_id="wait", call_sid=sid, deferrable=True)

    poke_ctx, deferred_ctx = context(DictStateStore()), context(DictStateStore())
    event = run_trigger(deferred(sensor, deferred_ctx).trigger)
    if success:
        assert sensor.execute_complete(deferred_ctx, event) == poke_until_done(
            sensor, poke_ctx, exotel_connection_env
        )
        return
    with pytest.raises(CallNotSuccessful) as from_event:
        sensor.execute_complete(deferred_ctx, event)
    with pytest.raises(CallNotSuccessful) as from_poking:
        poke_until_done(sensor, poke_ctx, exotel_connection_env)
    assert from_event.value.call == from_poking.value.call
    assert str(from_event.value) == str(from_poking.value)
    assert deferred_ctx["ti"].xcom["call"]["Status"] == outcome


def test_sensor_timeout_event_raises_sensor_timeout():
    sensor = ExotelCallSensor(task_id="wait", call_sid="abc", deferrable=True)
    with pytest.raises(AirflowSensorTimeout, match="not final"):
        sensor.execute_complete(context(), timeout_event("abc", "Call abc was not final by the deadline."))


def test_sensor_error_event_raises_the_typed_error():
    sensor = ExotelCallSensor(task_id="wait", call_sid="abc", deferrable=True)
    error = ExotelNotFoundError("HTTP 404: Call abc not found.", status_code=404)
    with pytest.raises(ExotelNotFoundError, match="not found") as caught:
        sensor.execute_complete(context(), error_event("abc", error))
    assert caught.value.status_code == 404


@pytest.mark.parametrize(
    "event",
    [
        None,
        "final",
        {"status": "final", "call_sid": "other"},
        {"status": "odd", "call_sid": "abc"},
        {
            "status": "final",
            "call_sid": "abc",
            "call": {"Sid": "abc", "Status": "in-progress"},
            "assessed_at": 1.0,
        },
    ],
    ids=["none", "not-a-dict", "other-call", "unknown-status", "not-final"],
)
def test_events_the_trigger_never_sends_are_rejected(event):
    sensor = ExotelCallSensor(task_id="wait", call_sid="abc", deferrable=True)
    with pytest.raises(ExotelWatchError):
        sensor.execute_complete(context(), event)


def test_deferrable_operator_places_one_call_then_defers(exotel_connection_env):
    ctx = context(DictStateStore())
    task = operator(wait_for_completion=True, deferrable=True, time_limit=120, poll_interval=10)
    deferral = deferred(task, ctx)
    [call] = exotel_connection_env.placed_calls(CUSTOMER)
    assert ctx["ti"].xcom == {"call_sid": call.sid, "return_value": call.sid}
    assert deferral.kwargs == {"call_sid": call.sid}
    _, kwargs = deferral.trigger.serialize()
    assert kwargs["time_limit"] == 120 and kwargs["poll_interval"] == 10.0

    exotel_connection_env.advance(1000)
    event = run_trigger(deferral.trigger)
    assert task.execute_complete(ctx, event, **deferral.kwargs) == call.sid
    assert ctx["ti"].xcom["call"]["Status"] == "completed"
    assert isinstance(ctx["ti"].xcom["call"]["Price"], float)
    assert len(exotel_connection_env.placed_calls(CUSTOMER)) == 1


def test_deferrable_operator_raises_the_same_errors_as_waiting_in_the_worker(exotel_connection_env):
    exotel_connection_env.script(CUSTOMER, outcome="busy")
    ctx = context(DictStateStore())
    task = operator(wait_for_completion=True, deferrable=True)
    deferral = deferred(task, ctx)
    exotel_connection_env.advance(1000)
    with pytest.raises(CallNotSuccessful) as caught:
        task.execute_complete(ctx, run_trigger(deferral.trigger), **deferral.kwargs)
    assert caught.value.call["Status"] == "busy"
    with pytest.raises(ExotelWaitTimeout) as timed_out:
        task.execute_complete(
            ctx, timeout_event("abc", "Call abc was not final by the deadline."), call_sid="abc"
        )
    assert timed_out.value.call_sid == "abc"
