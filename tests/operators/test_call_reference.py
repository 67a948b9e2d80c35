"""The user's ``reference`` comes back with the call: in XCom next to the Sid and in the final details."""

from __future__ import annotations

from typing import Any

import pytest

from exotel_provider.calls import TERMINAL_STATUSES, with_reference
from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor
from exotel_provider.task_errors import CallNotSuccessful
from tests.support.task_doubles import DictStateStore, RecordingTaskInstance

FROZEN_CLOCK = pytest.mark.exotel_simulator(time_scale=0)
CUSTOMER = "+919876543210"


def context() -> dict[str, Any]:
    return {"ti": RecordingTaskInstance(), "task_state_store": DictStateStore()}


def operator(**overrides: Any) -> ExotelConnectOperator:
    params: dict[str, Any] = {"task_id": "place_call", "from_number": CUSTOMER, "app_id": 926}
    params["caller_id"] = "08047112345"
    return ExotelConnectOperator(**{**params, **overrides})


def test_reference_is_pushed_next_to_the_sid_and_never_sent_to_exotel(exotel_connection_env):
    ctx = context()
    sid = operator(reference="customer-42").execute(ctx)

    assert ctx["ti"].xcom == {"call_sid": sid, "return_value": sid, "reference": "customer-42"}
    [request] = [r for r in exotel_connection_env.requests if r.method == "POST"]
    assert "customer-42" not in str(request.form) and "customer-42" not in str(request.query)


def test_no_reference_pushes_no_reference_key(exotel_connection_env):
    ctx = context()
    operator(reference="None").execute(ctx)  # a template that rendered None
    assert "reference" not in ctx["ti"].xcom


@pytest.mark.exotel_simulator(time_scale=600)
def test_final_details_carry_the_reference_also_for_an_unsuccessful_call(exotel_connection_env):
    exotel_connection_env.script(CUSTOMER, outcome="busy")
    ctx = context()
    with pytest.raises(CallNotSuccessful):
        operator(reference="invoice-7", wait_for_completion=True, poll_interval=0.5).execute(ctx)
    assert ctx["ti"].xcom["call"]["reference"] == "invoice-7"
    assert ctx["ti"].xcom["call"]["Status"] == "busy"


@FROZEN_CLOCK
def test_sensor_result_carries_the_reference(exotel_connection_env):
    sid = operator().execute(context())
    sensor = ExotelCallSensor(
        task_id="wait", call_sid=sid, reference="customer-42", success_statuses=TERMINAL_STATUSES
    )
    ctx = context()
    for _ in range(40):
        result = sensor.poke(ctx)
        if result.is_done:
            break
        exotel_connection_env.advance(30)
    assert result.xcom_value["Sid"] == sid
    assert result.xcom_value["reference"] == "customer-42"
    assert result.xcom_value["Price"] is not None


def test_with_reference_leaves_details_untouched_without_one():
    details = {"Sid": "abc", "Status": "completed"}
    assert with_reference(details, None) is details
    assert with_reference(details, " ") is details
    assert with_reference(details, 42) == {**details, "reference": "42"}
