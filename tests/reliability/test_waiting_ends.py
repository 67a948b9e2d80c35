"""Nothing waits for ever: an undocumented status ends the wait, waiting has a finite default, and the
pricing grace period runs out in reschedule mode without a task state store.

Through the sensor and the hook's wait against the simulator, judged from its request log.
"""

from __future__ import annotations

import time
import types
from typing import Any

import pytest

from exotel_provider.calls.progress import DEFAULT_WAIT_TIMEOUT_SECONDS
from exotel_provider.errors import ExotelWaitTimeout
from exotel_provider.hooks.exotel import ExotelHook
from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors import exotel as sensor_module
from exotel_provider.sensors.exotel import ExotelCallSensor
from exotel_provider.simulator import CALL_PATH
from exotel_provider.task_errors import CallNotSuccessful
from exotel_provider.triggers.exotel import ExotelCallTrigger
from tests.support.simulated_tasks import COUNTS, CUSTOMER, EXOPHONE, DictStateStore, context

pytestmark = [pytest.mark.exotel_simulator(time_scale=0), pytest.mark.usefixtures("fast_retries")]


def place(**overrides: Any) -> str:
    params: dict[str, Any] = {"task_id": "place_call", "from_number": CUSTOMER, "app_id": 926}
    params.update(caller_id=EXOPHONE, **overrides)
    return str(ExotelConnectOperator(**params).execute(context(DictStateStore())))


def reads(simulator) -> int:
    return sum(1 for request in simulator.requests if request.method == "GET")


@pytest.fixture
def simulated_wall_clock(exotel_simulator, monkeypatch):
    """The sensor's wall clock is the simulator's clock (the call's timestamps are on it)."""
    monkeypatch.setattr(sensor_module, "time", types.SimpleNamespace(time=exotel_simulator.now))
    return exotel_simulator


def test_an_undocumented_status_ends_the_wait_and_is_not_success(exotel_connection_env):
    sid = place()
    exotel_connection_env.advance(3600)  # ended and priced
    exotel_connection_env.inject_fault(
        "undocumented_status", method="GET", path=CALL_PATH, call_status="voicemail", times=None
    )

    with pytest.raises(CallNotSuccessful) as caught:
        ExotelCallSensor(task_id="wait", call_sid=sid).poke(context(DictStateStore()))

    assert "voicemail" in str(caught.value)
    assert caught.value.call["Status"] == "voicemail"
    assert reads(exotel_connection_env) == 1
    COUNTS["scenarios run"] += 1


def test_an_undocumented_status_the_user_lists_is_success(exotel_connection_env):
    sid = place()
    exotel_connection_env.advance(3600)  # ended and priced
    exotel_connection_env.inject_fault(
        "undocumented_status", method="GET", path=CALL_PATH, call_status="voicemail", times=None
    )
    sensor = ExotelCallSensor(task_id="wait", call_sid=sid, success_statuses=["completed", "Voicemail"])

    result = sensor.poke(context(DictStateStore()))

    assert result.is_done and result.xcom_value["Status"] == "voicemail"
    assert reads(exotel_connection_env) == 1
    COUNTS["scenarios run"] += 1


def test_waiting_without_a_timeout_ends_at_the_documented_default(exotel_connection_env):
    sid = place()  # the simulated clock stands still: the call stays queued for ever
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds
        if now[0] > 10 * DEFAULT_WAIT_TIMEOUT_SECONDS:
            raise AssertionError("still waiting long after the default wait timeout")

    with pytest.raises(ExotelWaitTimeout) as caught:
        ExotelHook().wait_for_call(sid, poll_interval=1800, sleep=sleep, clock=lambda: now[0])

    assert caught.value.call_sid == sid
    assert now[0] <= DEFAULT_WAIT_TIMEOUT_SECONDS
    assert reads(exotel_connection_env) == DEFAULT_WAIT_TIMEOUT_SECONDS // 1800 + 1
    COUNTS["scenarios run"] += 1


def test_the_sensor_and_the_trigger_share_the_default_wait_timeout():
    sensor = ExotelCallSensor(task_id="wait", call_sid="a" * 32)
    trigger = ExotelCallTrigger("a" * 32)

    assert sensor.timeout == DEFAULT_WAIT_TIMEOUT_SECONDS == 6 * 3600
    _, kwargs = trigger.serialize()
    assert abs(kwargs["deadline"] - (time.time() + DEFAULT_WAIT_TIMEOUT_SECONDS)) < 60


def test_reschedule_without_a_state_store_lets_the_pricing_grace_period_run_out(
    exotel_connection_env, simulated_wall_clock, capfd
):
    exotel_connection_env.script(CUSTOMER, outcome="busy", never_priced=True)
    sid = place()
    exotel_connection_env.advance(120)  # ended (busy), never priced
    results = []
    for _ in range(12):  # each reschedule is a new sensor instance and no task_state_store
        sensor = ExotelCallSensor(
            task_id="wait", call_sid=sid, mode="reschedule", pricing_grace_seconds=600, poke_interval=120
        )
        try:
            results.append(sensor.poke(context(None)).is_done)
        except CallNotSuccessful as err:
            results.append(err.call["Status"])
            break
        exotel_connection_env.advance(120)

    assert results[-1] == "busy", results
    assert len(results) <= 7  # ended within the first 2 minutes; grace 600 s; pokes every 120 s
    assert "has not filled in Price" in capfd.readouterr().out
    COUNTS["scenarios run"] += 1
