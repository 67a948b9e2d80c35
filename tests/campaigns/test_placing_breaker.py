"""The placing circuit breaker: consecutive outage failures open it; a sane answer resets the count."""

from __future__ import annotations

import threading

import pytest

from exotel_provider.campaigns.breaker import PlacingBreaker
from exotel_provider.errors import (
    ExotelCallOutcomeUnknownError,
    ExotelError,
    ExotelForbiddenError,
    ExotelPlacingHaltedError,
    ExotelServerError,
    ExotelUnreachableError,
)


def server_error() -> ExotelServerError:
    return ExotelServerError("503 from Exotel", status_code=503)


def test_it_opens_after_threshold_outage_failures_in_a_row_with_a_typed_error():
    breaker = PlacingBreaker(3)
    breaker.failed(server_error())
    breaker.failed(ExotelUnreachableError("refused", cause="refused"))
    breaker.check()  # two: still closed
    breaker.failed(ExotelCallOutcomeUnknownError("no answer"))

    with pytest.raises(ExotelPlacingHaltedError) as raised:
        breaker.check()

    assert isinstance(raised.value, ExotelError) and raised.value.failures == 3
    assert "ExotelCallOutcomeUnknownError" in str(raised.value) and "retry" in str(raised.value)


def test_a_sane_answer_between_failures_resets_the_count():
    breaker = PlacingBreaker(2)
    breaker.failed(server_error())
    breaker.succeeded()
    breaker.failed(server_error())
    breaker.check()
    assert not breaker.open


def test_a_refusal_of_one_call_is_not_an_outage():
    breaker = PlacingBreaker(1)
    breaker.failed(ExotelForbiddenError("403 DND", status_code=403))
    breaker.check()
    assert not breaker.open


def test_once_open_it_stays_open_for_every_thread():
    breaker = PlacingBreaker(2)
    threads = [threading.Thread(target=breaker.failed, args=(server_error(),)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    breaker.succeeded()  # a late success of a request sent before the outage does not close it
    assert breaker.open
    with pytest.raises(ExotelPlacingHaltedError, match="8 call-placing requests in a row"):
        breaker.check()


def test_threshold_must_be_positive():
    with pytest.raises(ValueError, match="threshold"):
        PlacingBreaker(0)
