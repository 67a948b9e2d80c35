"""Bad input before the network, for the request fields that slipped through and the sensor's own
waiting parameters: each case fails (or is accepted in the right form) with an empty request log."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest

from exotel_provider.errors import ExotelValidationError
from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor
from exotel_provider.task_errors import InvalidCallRequest
from tests.support.simulated_tasks import COUNTS, CUSTOMER, EXOPHONE, DictStateStore, context

pytestmark = [pytest.mark.exotel_simulator(time_scale=600), pytest.mark.usefixtures("fast_retries")]

AGENT = "+919812345678"
FOREIGN_EXOPHONE = "+6562345678"

INVALID_REQUESTS: list[tuple[str, dict[str, Any], str]] = [
    ("record-yes", {"to_number": AGENT, "app_id": None, "record": "yes"}, "Record"),
    ("record-no", {"to_number": AGENT, "app_id": None, "record": "no"}, "Record"),
    ("record-maybe", {"to_number": AGENT, "app_id": None, "record": "maybe"}, "Record"),
    ("record-one", {"to_number": AGENT, "app_id": None, "record": 1}, "Record"),
    ("time-limit-fraction", {"time_limit": "600.5"}, "TimeLimit"),
    ("time-limit-nan", {"time_limit": "nan"}, "TimeLimit"),
    (
        "flow-url-of-another-account",
        {"app_id": None, "url": "http://my.exotel.com/someone_else/exoml/start_voice/926"},
        "Url",
    ),
]

INVALID_SENSOR_PARAMETERS: list[tuple[str, dict[str, Any], str]] = [
    ("poke-interval-zero", {"poke_interval": 0}, "poke_interval"),
    ("poke-interval-negative", {"poke_interval": -5}, "poke_interval"),
    ("poke-interval-text", {"poke_interval": "30"}, "poke_interval"),
    ("poke-interval-bool", {"poke_interval": True}, "poke_interval"),
    ("poke-interval-nan", {"poke_interval": math.nan}, "poke_interval"),
    ("grace-negative", {"pricing_grace_seconds": -1}, "pricing_grace_seconds"),
    ("grace-text", {"pricing_grace_seconds": "600"}, "pricing_grace_seconds"),
    ("grace-none", {"pricing_grace_seconds": None}, "pricing_grace_seconds"),
    ("timeout-zero", {"timeout": 0}, "timeout"),
    ("timeout-negative-timedelta", {"timeout": timedelta(seconds=-1)}, "timeout"),
    ("timeout-text", {"timeout": "1h"}, "timeout"),
    ("timeout-infinite", {"timeout": math.inf}, "timeout"),
]


def operator(**overrides: Any) -> ExotelConnectOperator:
    params: dict[str, Any] = {"task_id": "place_call", "from_number": CUSTOMER, "app_id": 926}
    params["caller_id"] = EXOPHONE
    params.update(overrides)
    return ExotelConnectOperator(**params)


@pytest.mark.parametrize(
    ("params", "field"), [c[1:] for c in INVALID_REQUESTS], ids=[c[0] for c in INVALID_REQUESTS]
)
def test_invalid_field_fails_naming_it_without_any_request(exotel_connection_env, params, field):
    with pytest.raises(InvalidCallRequest) as caught:
        operator(**params).execute(context(DictStateStore()))

    assert caught.value.field == field and caught.value.fix
    assert exotel_connection_env.requests == []
    COUNTS["bad input cases"] += 1


def test_a_flow_of_another_account_names_both_accounts(exotel_connection_env):
    url = "http://my.exotel.com/someone_else/exoml/start_voice/926"
    with pytest.raises(InvalidCallRequest) as caught:
        operator(app_id=None, url=url).execute(context(DictStateStore()))

    assert "'someone_else'" in str(caught.value) and repr(exotel_connection_env.account_sid) in str(
        caught.value
    )
    assert exotel_connection_env.requests == []
    COUNTS["bad input cases"] += 1


@pytest.mark.parametrize(
    ("params", "field"),
    [c[1:] for c in INVALID_SENSOR_PARAMETERS],
    ids=[c[0] for c in INVALID_SENSOR_PARAMETERS],
)
def test_invalid_sensor_parameter_fails_when_the_dag_is_parsed(exotel_connection_env, params, field):
    with pytest.raises(ExotelValidationError) as caught:
        ExotelCallSensor(task_id="wait", call_sid="a" * 32, **params)

    assert caught.value.field == field
    assert "seconds" in caught.value.fix
    assert exotel_connection_env.requests == []
    COUNTS["bad input cases"] += 1


@pytest.mark.parametrize("time_limit", ["600.0", 600.0, " 600 "])
def test_a_time_limit_written_as_a_float_is_sent_as_whole_seconds(exotel_connection_env, time_limit):
    operator(time_limit=time_limit).execute(context(DictStateStore()))

    [request] = exotel_connection_env.requests
    assert request.form["TimeLimit"] == ["600"]
    COUNTS["bad input cases"] += 1


@pytest.mark.parametrize(("record", "sent"), [(True, "true"), ("false", "false"), ("TRUE", "true")])
def test_record_is_a_real_boolean(exotel_connection_env, record, sent):
    operator(to_number=AGENT, app_id=None, record=record).execute(context(DictStateStore()))

    [request] = exotel_connection_env.requests
    assert request.form["Record"] == [sent]
    COUNTS["bad input cases"] += 1


def test_a_foreign_exophone_is_sent_in_e164_not_mangled_into_a_national_form(exotel_connection_env):
    operator(caller_id=FOREIGN_EXOPHONE).execute(context(DictStateStore()))

    [request] = exotel_connection_env.requests
    assert request.form["CallerId"] == [FOREIGN_EXOPHONE]
    assert exotel_connection_env.placed_calls(CUSTOMER)[0].request.caller_id == FOREIGN_EXOPHONE
    COUNTS["bad input cases"] += 1


def test_an_indian_exophone_keeps_the_national_form_exotel_shows(exotel_connection_env):
    operator(caller_id="+918047112345").execute(context(DictStateStore()))

    [request] = exotel_connection_env.requests
    assert request.form["CallerId"] == ["08047112345"]
    COUNTS["bad input cases"] += 1


def test_sensor_accepts_timedeltas_and_numbers(exotel_connection_env):
    sensor = ExotelCallSensor(
        task_id="wait",
        call_sid="a" * 32,
        poke_interval=timedelta(seconds=45),
        timeout=3600,
        pricing_grace_seconds=1,
    )
    assert (sensor.poke_interval, sensor.timeout, sensor.pricing_grace_seconds) == (45.0, 3600.0, 1.0)
    assert exotel_connection_env.requests == []
