"""Exotel errors as Airflow tasks raise them: the same typed errors, marked "retrying cannot help".

Each class is both an :class:`~exotel_provider.errors.ExotelError` subclass (catch it as such) and
an ``AirflowFailException``, so Airflow fails the task at once instead of burning its retries.
"""

from __future__ import annotations

from typing import Any

from exotel_provider.airflow_compat import AirflowFailException
from exotel_provider.errors import (
    CallUnsuccessfulError,
    ExotelCallOutcomeUnknownError,
    ExotelConfigurationError,
    ExotelDoNotCallError,
    ExotelOutsideCallingHoursError,
    ExotelSmsOutcomeUnknownError,
    ExotelValidationError,
    SmsUnsuccessfulError,
)


class InvalidCallRequest(ExotelValidationError, AirflowFailException):
    """A call parameter is invalid (``field`` names it); nothing was sent to Exotel."""

    @classmethod
    def from_error(cls, error: ExotelValidationError) -> InvalidCallRequest:
        """The same validation error, failing the task without retries."""
        return cls(error.field, error.problem, error.fix)


class InvalidExotelConnection(ExotelConfigurationError, AirflowFailException):
    """The Exotel connection is incomplete or wrong; nothing was sent to Exotel."""


class CallNotSuccessful(CallUnsuccessfulError, AirflowFailException):
    """The call ended in a status the task does not count as success (``call`` holds its details)."""

    def __init__(self, message: str, *, call: dict[str, Any]) -> None:
        CallUnsuccessfulError.__init__(self, message, call=call)


class CallOutcomeUnknown(ExotelCallOutcomeUnknownError, AirflowFailException):
    """A call-placing request went out but its answer was lost; the call may exist."""


class NumberOnDoNotCallList(ExotelDoNotCallError, AirflowFailException):
    """The number is on the do-not-call list (``reason`` says why); it was not dialled."""


class OutsideCallingHours(ExotelOutsideCallingHoursError, AirflowFailException):
    """The call was asked for outside its calling hours (``opens_at`` says when they open); not dialled."""


class InvalidSmsRequest(ExotelValidationError, AirflowFailException):
    """An SMS parameter is invalid (``field`` names it in Exotel's spelling); nothing was sent."""

    @classmethod
    def from_error(cls, error: ExotelValidationError) -> InvalidSmsRequest:
        """The same validation failure (field, problem, fix), as a task failure that is not retried."""
        return cls(error.field, error.problem, error.fix)


class SmsOutcomeUnknown(ExotelSmsOutcomeUnknownError, AirflowFailException):
    """An SMS-sending request went out but its answer was lost; the SMS may have been sent."""


class SmsNotSent(SmsUnsuccessfulError, AirflowFailException):
    """The SMS ended ``failed`` (``sms`` holds its details)."""

    def __init__(self, message: str, *, sms: dict[str, Any]) -> None:
        SmsUnsuccessfulError.__init__(self, message, sms=sms)
