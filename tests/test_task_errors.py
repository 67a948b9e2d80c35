"""Task errors are the provider's typed errors and, at once, Airflow's "do not retry" failures."""

from __future__ import annotations

import pytest

from exotel_provider.airflow_compat import AirflowFailException
from exotel_provider.errors import (
    CallUnsuccessfulError,
    ExotelCallOutcomeUnknownError,
    ExotelConfigurationError,
    ExotelError,
    ExotelTransportError,
    ExotelValidationError,
)
from exotel_provider.task_errors import (
    CallNotSuccessful,
    CallOutcomeUnknown,
    InvalidCallRequest,
    InvalidExotelConnection,
)


def test_invalid_call_request_is_validation_error_and_airflow_fail():
    error = InvalidCallRequest("TimeLimit", "0 s is out of range", "Use 1 to 14400 seconds.")
    assert isinstance(error, ExotelValidationError)
    assert isinstance(error, ExotelError)
    assert isinstance(error, AirflowFailException)
    assert error.field == "TimeLimit"
    assert str(error) == "TimeLimit: 0 s is out of range. Use 1 to 14400 seconds."


def test_invalid_call_request_from_validation_error_keeps_field_problem_and_fix():
    original = ExotelValidationError("From", "'98765' is not a phone number", "Give an E.164 number.")
    error = InvalidCallRequest.from_error(original)
    assert (error.field, error.problem, error.fix) == (original.field, original.problem, original.fix)
    assert str(error) == str(original)


def test_invalid_call_request_is_caught_as_validation_error():
    with pytest.raises(ExotelValidationError) as raised:
        raise InvalidCallRequest("CallerId", "no caller id (ExoPhone) given", "Pass caller_id=.")
    assert raised.value.field == "CallerId"


def test_invalid_connection_is_configuration_error_and_airflow_fail():
    error = InvalidExotelConnection("no account_sid")
    assert isinstance(error, ExotelConfigurationError)
    assert isinstance(error, AirflowFailException)
    assert str(error) == "no account_sid"


def test_call_not_successful_keeps_the_call():
    call = {"Sid": "CA1", "Status": "busy"}
    error = CallNotSuccessful("call CA1 ended busy", call=call)
    assert isinstance(error, CallUnsuccessfulError)
    assert isinstance(error, AirflowFailException)
    assert error.call == call
    assert str(error) == "call CA1 ended busy"


def test_call_outcome_unknown_is_transport_error_and_airflow_fail():
    error = CallOutcomeUnknown("answer lost")
    assert isinstance(error, ExotelCallOutcomeUnknownError)
    assert isinstance(error, ExotelTransportError)
    assert isinstance(error, AirflowFailException)
