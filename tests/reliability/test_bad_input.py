"""Bad input, through the operator and sensor against the simulator: each case fails with a typed
error naming the field and the fix, and nothing invalid ever reaches the network.

Pure validation details (every parameter's edge values) are in tests/calls; this suite proves
the same rejections hold end to end, before any request.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from exotel_provider.errors import (
    ExotelConfigurationError,
    ExotelNotFoundError,
    ExotelResponseError,
    ExotelServerError,
    ExotelValidationError,
)
from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor
from exotel_provider.simulator import CALL_PATH
from exotel_provider.task_errors import InvalidCallRequest, InvalidExotelConnection
from tests.support.operator_runs import CUSTOMER, EXOPHONE
from tests.support.simulated_tasks import COUNTS, DictStateStore, context

pytestmark = [pytest.mark.exotel_simulator(time_scale=600), pytest.mark.usefixtures("fast_retries")]

FLOW = "http://my.exotel.com/exotel_sim/exoml/start_voice/926"
TWO_NUMBERS = {"app_id": None, "to_number": "+919812345678"}

# (id, operator parameters, the field the error must name)
INVALID_REQUESTS: list[tuple[str, dict[str, Any], str]] = [
    ("from-too-short", {"from_number": "98765"}, "From"),
    ("from-letters", {"from_number": "call me maybe"}, "From"),
    ("from-empty", {"from_number": ""}, "From"),
    ("from-masked-copy", {"from_number": "0XXXXX30240"}, "From"),
    ("from-plus-zero", {"from_number": "+0123456789"}, "From"),
    ("from-india-9-digits", {"from_number": "+91987654321"}, "From"),
    ("from-india-too-long", {"from_number": "+9198765432101"}, "From"),
    ("from-unknown-prefix", {"from_number": "5555555555"}, "From"),
    ("from-invalid-foreign", {"from_number": "+1 555 0100"}, "From"),
    ("from-way-too-long", {"from_number": "9" * 40}, "From"),
    ("to-invalid", {**TWO_NUMBERS, "to_number": "12345"}, "To"),
    ("caller-id-missing-no-default", {"caller_id": None}, "CallerId"),
    ("caller-id-invalid", {"caller_id": "12"}, "CallerId"),
    ("both-app-id-and-url", {"url": FLOW}, "Url"),
    ("neither-app-id-nor-url", {"app_id": None}, "Url"),
    ("app-id-not-numeric", {"app_id": "landing"}, "app_id"),
    ("flow-url-wrong-host", {"app_id": None, "url": "http://example.com/exoml/start_voice/926"}, "Url"),
    ("flow-url-wrong-path", {"app_id": None, "url": "http://my.exotel.com/exotel_sim/flows/926"}, "Url"),
    ("flow-url-ftp", {"app_id": None, "url": "ftp://my.exotel.com/exotel_sim/exoml/start_voice/926"}, "Url"),
    ("to-and-flow", {"to_number": "+919812345678"}, "To"),
    ("time-limit-zero", {"time_limit": 0}, "TimeLimit"),
    ("time-limit-over-4h", {"time_limit": 14401}, "TimeLimit"),
    ("time-limit-not-a-number", {"time_limit": "ten"}, "TimeLimit"),
    ("time-out-zero", {"time_out": 0}, "TimeOut"),
    ("time-out-over-60", {"time_out": 61}, "TimeOut"),
    ("custom-field-129-chars", {"custom_field": "x" * 129}, "CustomField"),
    ("status-callback-ftp", {"status_callback": "ftp://hooks.example.com/x"}, "StatusCallback"),
    ("status-callback-relative", {"status_callback": "/hooks/exotel"}, "StatusCallback"),
    ("status-callback-event-unknown", {"status_callback_events": ["ringing"]}, "StatusCallbackEvents"),
    (
        "status-callback-content-type",
        {"status_callback_content_type": "text/xml"},
        "StatusCallbackContentType",
    ),
    ("call-type-promo", {"call_type": "promo"}, "CallType"),
    ("record-on-flow-call", {"record": True}, "Record"),
    ("recording-format-wav", {**TWO_NUMBERS, "recording_format": "wav"}, "RecordingFormat"),
    ("wait-url-not-http", {**TWO_NUMBERS, "wait_url": "file:///tmp/music.mp3"}, "WaitUrl"),
]

# (id, connection changes, words the message must contain)
INVALID_CONNECTIONS: list[tuple[str, dict[str, Any], str]] = [
    ("unknown-region", {"extra": {"region": "delhi"}}, "region"),
    ("missing-account-sid", {"extra": {"account_sid": ""}}, "account_sid"),
    ("empty-api-key", {"login": ""}, "login"),
    ("empty-api-token", {"password": ""}, "password"),
    ("host-with-credentials", {"host": "https://key:secret@api.exotel.com"}, "host"),
    ("negative-timeout", {"extra": {"timeout": -1}}, "timeout"),
    (
        "budget-over-exotel-limit",
        {"host": "https://api.exotel.com", "extra": {"requests_per_minute": 500}},
        "requests_per_minute",
    ),  # Exotel's own host: a local simulator may be given a larger budget
]

ACCEPTED_NUMBER_FORMS = [
    ("09876543210", "+919876543210"),
    ("9876543210", "+919876543210"),
    ("0 98765 43210", "+919876543210"),
    ("+91 98765 43210", "+919876543210"),
    ("00919876543210", "+919876543210"),
    ("08041234567", "+918041234567"),
    ("080-4123-4567", "+918041234567"),
    ("022 2345 6789", "+912223456789"),
]


def operator(**overrides: Any) -> ExotelConnectOperator:
    params: dict[str, Any] = {"task_id": "place_call", "from_number": CUSTOMER, "app_id": 926}
    params["caller_id"] = EXOPHONE
    params.update(overrides)
    return ExotelConnectOperator(**params)


def set_connection(monkeypatch, simulator, changes: dict[str, Any]) -> None:
    connection = simulator.connection()
    for key, value in changes.items():
        if key == "extra":
            connection["extra"].update(value)
        else:
            connection[key] = value
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(connection))


@pytest.mark.parametrize(
    ("params", "field"), [c[1:] for c in INVALID_REQUESTS], ids=[c[0] for c in INVALID_REQUESTS]
)
def test_invalid_request_fails_naming_the_field_and_the_fix_without_any_request(
    exotel_connection_env, params, field
):
    with pytest.raises(InvalidCallRequest) as caught:
        operator(**params).execute(context(DictStateStore()))

    error = caught.value
    assert isinstance(error, ExotelValidationError)
    assert error.field == field
    assert error.fix and str(error) == f"{field}: {error.problem}. {error.fix}"
    assert exotel_connection_env.requests == []
    COUNTS["bad input cases"] += 1


@pytest.mark.parametrize(
    ("changes", "words"), [c[1:] for c in INVALID_CONNECTIONS], ids=[c[0] for c in INVALID_CONNECTIONS]
)
def test_invalid_connection_fails_saying_what_to_fix_without_any_request(
    exotel_simulator, monkeypatch, changes, words
):
    set_connection(monkeypatch, exotel_simulator, changes)

    with pytest.raises(InvalidExotelConnection) as caught:
        operator().execute(context(DictStateStore()))

    assert isinstance(caught.value, ExotelConfigurationError)
    assert words in str(caught.value)
    assert "secret" not in str(caught.value)
    assert exotel_simulator.requests == []
    COUNTS["bad input cases"] += 1


def test_invalid_unknown_outcome_policy_is_rejected_when_the_dag_is_parsed():
    with pytest.raises(ExotelValidationError) as caught:
        operator(unknown_outcome="redial")
    assert caught.value.field == "unknown_outcome"
    assert "reconcile" in caught.value.fix
    COUNTS["bad input cases"] += 1


def test_sensor_without_a_sid_fails_without_any_request(exotel_connection_env):
    with pytest.raises(InvalidCallRequest) as caught:
        ExotelCallSensor(task_id="wait", call_sid="").poke(context(DictStateStore()))
    assert caught.value.field == "call_sid"
    assert exotel_connection_env.requests == []
    COUNTS["bad input cases"] += 1


@pytest.mark.parametrize(("typed", "sent"), ACCEPTED_NUMBER_FORMS)
def test_indian_national_forms_and_std_codes_are_accepted_and_sent_as_e164(
    exotel_connection_env, typed, sent
):
    operator(from_number=typed).execute(context(DictStateStore()))

    [request] = exotel_connection_env.requests
    assert request.form["From"] == [sent]
    COUNTS["bad input cases"] += 1


def test_a_sid_that_does_not_exist_is_a_typed_not_found_error(exotel_connection_env):
    sensor = ExotelCallSensor(task_id="wait", call_sid="0123456789abcdef0123456789abcdef")

    with pytest.raises(ExotelNotFoundError) as caught:
        sensor.poke(context(DictStateStore()))

    assert "0123456789abcdef0123456789abcdef" in str(caught.value)
    assert "check the call Sid" in str(caught.value)
    assert len(exotel_connection_env.requests) == 1  # a 404 is not retried
    COUNTS["bad input cases"] += 1


@pytest.mark.parametrize(
    ("kind", "fields", "error"),
    [
        ("malformed_json", {}, ExotelResponseError),
        ("html_page", {"status": 200}, ExotelResponseError),
        ("html_page", {}, ExotelServerError),
        ("empty_body", {}, ExotelResponseError),
        ("xml_instead_of_json", {}, None),
    ],
    ids=["malformed-json", "html-200", "html-502", "empty-body", "xml-for-json"],
)
def test_malformed_answers_are_typed_errors_after_the_read_retries(
    exotel_connection_env, kind, fields, error
):
    sid = operator().execute(context(DictStateStore()))
    exotel_connection_env.inject_fault(kind, method="GET", path=CALL_PATH, times=None, **fields)
    sensor = ExotelCallSensor(task_id="wait", call_sid=sid)

    if error is None:
        assert sensor.poke(context(DictStateStore())).is_done in (True, False)  # XML reads fine
    else:
        with pytest.raises(error) as caught:
            sensor.poke(context(DictStateStore()))
        assert "Exotel" in str(caught.value) or "HTTP" in str(caught.value)
    assert len(exotel_connection_env.placed_calls()) == 1
    COUNTS["bad input cases"] += 1
