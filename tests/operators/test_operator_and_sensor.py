"""ExotelConnectOperator and ExotelCallSensor against the simulator over real HTTP.

These call ``execute``/``poke`` with a small context (a recording task instance and a dict-backed
task_state_store), so a retry can be simulated precisely. Full DAG runs are in tests/dags/.
"""

from __future__ import annotations

import pytest

from exotel_provider.calls import TERMINAL_STATUSES
from exotel_provider.errors import CallUnsuccessfulError, ExotelValidationError
from exotel_provider.operators.exotel import PLACED_CALL_KEY
from exotel_provider.sensors.exotel import ExotelCallSensor
from exotel_provider.task_errors import CallNotSuccessful, InvalidCallRequest
from tests.support.clock import VirtualClock
from tests.support.operator_runs import CUSTOMER, context, operator, poke_until_done
from tests.support.task_doubles import DictStateStore

FROZEN_CLOCK = pytest.mark.exotel_simulator(time_scale=0)  # only advance() moves simulated time

def test_operator_pushes_sid_as_return_value_and_call_sid(exotel_connection_env):
    ctx = context(DictStateStore())
    sid = operator().execute(ctx)
    assert ctx["ti"].xcom == {"call_sid": sid, "return_value": sid}
    assert ctx["task_state_store"].values[PLACED_CALL_KEY] == sid
    assert [c.sid for c in exotel_connection_env.placed_calls(CUSTOMER)] == [sid]


@FROZEN_CLOCK
def test_retry_reconnects_to_the_call_instead_of_calling_again(exotel_connection_env):
    store = DictStateStore()
    first_sid = operator().execute(context(store))
    exotel_connection_env.advance(20)  # the call is in progress when the retry comes

    retry_ctx = context(store)
    second_sid = operator().execute(retry_ctx)

    assert second_sid == first_sid
    assert retry_ctx["ti"].xcom["call_sid"] == first_sid
    assert len(exotel_connection_env.placed_calls(CUSTOMER)) == 1


def test_retry_after_unanswered_call_does_not_redial_by_default(exotel_connection_env):
    exotel_connection_env.script(CUSTOMER, outcome="busy")
    store = DictStateStore()
    operator().execute(context(store))
    exotel_connection_env.advance(60)
    operator().execute(context(store))
    assert len(exotel_connection_env.placed_calls(CUSTOMER)) == 1


def test_redial_on_retry_places_a_new_call_after_a_busy_one(exotel_connection_env):
    exotel_connection_env.script(CUSTOMER, outcome="busy")
    store = DictStateStore()
    first = operator(redial_on_retry=True).execute(context(store))
    exotel_connection_env.advance(60)
    second = operator(redial_on_retry=True).execute(context(store))
    assert first != second
    assert len(exotel_connection_env.placed_calls(CUSTOMER)) == 2


def test_invalid_number_fails_before_any_request(exotel_connection_env):
    with pytest.raises(InvalidCallRequest) as caught:
        operator(from_number="12345").execute(context())
    assert caught.value.field == "From"
    assert isinstance(caught.value, ExotelValidationError)
    assert exotel_connection_env.requests == []


def test_time_limit_over_four_hours_is_rejected_before_any_request(exotel_connection_env):
    with pytest.raises(InvalidCallRequest, match="TimeLimit"):
        operator(time_limit=14401).execute(context())
    assert exotel_connection_env.requests == []


def test_unknown_success_status_is_rejected_when_the_dag_is_parsed():
    with pytest.raises(ExotelValidationError, match="answered"):
        operator(success_statuses=["answered"])


def test_wait_for_completion_pushes_final_details(exotel_connection_env):
    ctx = context(DictStateStore())
    sid = operator(wait_for_completion=True, poll_interval=0.5).execute(ctx)
    details = ctx["ti"].xcom["call"]
    assert details["Sid"] == sid
    assert details["Status"] == "completed"
    assert isinstance(details["Price"], float)
    assert details["Duration"] is not None and details["EndTime"] is not None


def test_wait_for_completion_raises_typed_error_for_busy(exotel_connection_env):
    exotel_connection_env.script(CUSTOMER, outcome="busy")
    ctx = context(DictStateStore())
    with pytest.raises(CallNotSuccessful) as caught:
        operator(wait_for_completion=True, poll_interval=0.5).execute(ctx)
    assert isinstance(caught.value, CallUnsuccessfulError)
    assert caught.value.call["Status"] == "busy"
    assert ctx["ti"].xcom["call"]["Status"] == "busy"


@FROZEN_CLOCK
def test_sensor_waits_for_terminal_status_and_price(exotel_connection_env):
    sid = operator().execute(context())
    sensor = ExotelCallSensor(task_id="wait", call_sid=sid)
    ctx = context(DictStateStore())
    assert sensor.poke(ctx).is_done is False  # still ringing
    details = poke_until_done(sensor, ctx, exotel_connection_env)
    assert details["Status"] == "completed"
    assert details["Price"] is not None and details["Duration"] is not None and details["EndTime"]


@FROZEN_CLOCK
def test_sensor_is_not_done_between_end_and_pricing(exotel_connection_env):
    sid = operator().execute(context())
    exotel_connection_env.advance(60)  # ended, not yet priced
    sensor = ExotelCallSensor(task_id="wait", call_sid=sid)
    assert sensor.poke(context(DictStateStore())).is_done is False


def test_sensor_stops_waiting_for_price_after_grace_period(exotel_connection_env, capsys):
    exotel_connection_env.script(CUSTOMER, outcome="failed", never_priced=True)
    sid = operator().execute(context())
    exotel_connection_env.advance(60)
    sensor = ExotelCallSensor(
        task_id="wait", call_sid=sid, pricing_grace_seconds=0, success_statuses=TERMINAL_STATUSES
    )
    result = sensor.poke(context(DictStateStore()))
    assert result.is_done
    assert result.xcom_value["Status"] == "failed"
    assert result.xcom_value["Price"] is None
    assert "has not filled in Price, Duration, EndTime" in capsys.readouterr().out  # task logs


def test_sensor_grace_period_survives_reschedules_through_the_state_store(exotel_connection_env, monkeypatch):
    exotel_connection_env.script(CUSTOMER, outcome="no-answer", never_priced=True)
    sid = operator().execute(context())
    exotel_connection_env.advance(60)
    store = DictStateStore()
    import exotel_provider.sensors.exotel as sensor_module

    clock = VirtualClock(start=1000.0)
    monkeypatch.setattr(sensor_module.time, "time", clock.now)

    def make() -> ExotelCallSensor:
        return ExotelCallSensor(
            task_id="wait", call_sid=sid, pricing_grace_seconds=300, success_statuses=TERMINAL_STATUSES
        )

    assert make().poke(context(store)).is_done is False  # first sees it ended at t=1000
    clock.advance(200)
    assert make().poke(context(store)).is_done is False  # a fresh instance (reschedule): 200 s < 300 s
    clock.advance(101)
    assert make().poke(context(store)).is_done is True


def test_sensor_raises_typed_error_for_unsuccessful_status(exotel_connection_env):
    exotel_connection_env.script(CUSTOMER, outcome="no-answer")
    sid = operator().execute(context())
    sensor = ExotelCallSensor(task_id="wait", call_sid=sid)
    ctx = context(DictStateStore())
    with pytest.raises(CallNotSuccessful) as caught:
        poke_until_done(sensor, ctx, exotel_connection_env)
    assert caught.value.call["Status"] == "no-answer"
    assert ctx["ti"].xcom["call"]["Status"] == "no-answer"


def test_sensor_rejects_empty_sid_without_any_request(exotel_connection_env):
    sensor = ExotelCallSensor(task_id="wait", call_sid="None")
    with pytest.raises(InvalidCallRequest, match="call_sid"):
        sensor.poke(context())
    assert exotel_connection_env.requests == []
