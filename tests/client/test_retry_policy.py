"""Which failures are retried (reads vs placing a call), and how long tenacity waits between tries."""

from __future__ import annotations

import pytest
import tenacity

from exotel_provider.client.retry_policy import (
    RetryPolicy,
    is_retryable_placement_error,
    is_retryable_read_error,
    placement_outcome_unknown,
    retrying_kwargs,
)
from exotel_provider.errors import (
    ExotelAuthenticationError,
    ExotelBadRequestError,
    ExotelCallOutcomeUnknownError,
    ExotelConfigurationError,
    ExotelForbiddenError,
    ExotelNotFoundError,
    ExotelPaymentRequiredError,
    ExotelRateLimitError,
    ExotelResponseError,
    ExotelServerError,
    ExotelTransportError,
    ExotelUnreachableError,
    ExotelValidationError,
)


def rate_limited(retry_after: float | None = None) -> ExotelRateLimitError:
    return ExotelRateLimitError("HTTP 429", retry_after=retry_after)


def server_error(status: int = 503) -> ExotelServerError:
    return ExotelServerError(f"HTTP {status}", status_code=status)


NEVER_RETRIED = [
    pytest.param(ExotelBadRequestError("x", status_code=400), id="400"),
    pytest.param(ExotelAuthenticationError("x", status_code=401), id="401"),
    pytest.param(ExotelPaymentRequiredError("x", status_code=402), id="402"),
    pytest.param(ExotelForbiddenError("x", status_code=403), id="403"),
    pytest.param(ExotelNotFoundError("x", status_code=404), id="404"),
    pytest.param(ExotelValidationError("From", "bad", "fix"), id="validation"),
    pytest.param(ExotelConfigurationError("no sid"), id="configuration"),
    pytest.param(ValueError("bug"), id="foreign-error"),
]


# --- classification ----------------------------------------------------------------------------


def test_429_is_retried_for_reads_and_placement():
    assert is_retryable_read_error(rate_limited())
    assert is_retryable_placement_error(rate_limited())


@pytest.mark.parametrize("status", [500, 502, 504])
def test_5xx_is_retried_for_reads_only(status):
    assert is_retryable_read_error(server_error(status))
    assert not is_retryable_placement_error(server_error(status))
    assert placement_outcome_unknown(server_error(status))


def test_503_after_the_post_was_sent_is_an_unknown_outcome_never_retried_for_placement():
    assert is_retryable_read_error(server_error(503))
    assert not is_retryable_placement_error(server_error(503))
    assert placement_outcome_unknown(server_error(503))


def test_unreadable_answer_is_retried_for_reads_only():
    assert is_retryable_read_error(ExotelResponseError("garbage"))
    assert not is_retryable_placement_error(ExotelResponseError("garbage"))


def test_transport_error_is_retried_for_reads_only():
    error = ExotelTransportError("no answer")
    assert is_retryable_read_error(error)
    assert not is_retryable_placement_error(error)


@pytest.mark.parametrize("cause", ["refused", "dns", "timeout", "connect"])
def test_a_connection_never_made_is_retried_for_reads_and_placement(cause):
    error = ExotelUnreachableError("never connected", cause=cause)
    assert is_retryable_read_error(error)
    assert is_retryable_placement_error(error)


def test_a_failed_tls_handshake_is_set_up_not_luck_and_never_retried():
    error = ExotelUnreachableError("TLS handshake failed", cause="tls")
    assert not is_retryable_read_error(error)
    assert not is_retryable_placement_error(error)


def test_outcome_unknown_is_never_retried_for_placement():
    assert not is_retryable_placement_error(ExotelCallOutcomeUnknownError("read timed out after sending"))


@pytest.mark.parametrize("error", NEVER_RETRIED)
def test_client_and_local_errors_are_never_retried(error):
    assert not is_retryable_read_error(error)
    assert not is_retryable_placement_error(error)


# --- tenacity waits --------------------------------------------------------------------------------


class FakeSleep:
    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def run(policy: RetryPolicy, should_retry, failures: list[BaseException], before_sleep=None):
    """Call a function that raises ``failures`` one by one, then returns "ok"; return (result, waits, calls)."""
    sleep = FakeSleep()
    pending = list(failures)
    calls = []

    def attempt() -> str:
        calls.append(1)
        if pending:
            raise pending.pop(0)
        return "ok"

    retrying = tenacity.Retrying(sleep=sleep, **retrying_kwargs(policy, should_retry, before_sleep))
    result = retrying(attempt)
    return result, sleep.waits, len(calls)


def test_waits_equal_retry_after_when_given():
    result, waits, calls = run(
        RetryPolicy(max_attempts=5), is_retryable_read_error, [rate_limited(7.0), rate_limited(2.5)]
    )
    assert result == "ok"
    assert waits == [7.0, 2.5]
    assert calls == 3


def test_retry_after_beyond_our_backoff_ceiling_is_honoured_up_to_max_retry_after():
    _, waits, _ = run(RetryPolicy(max_wait=10.0), is_retryable_placement_error, [rate_limited(120.0)])
    assert waits == [120.0]
    _, waits, _ = run(RetryPolicy(max_retry_after=30.0), is_retryable_read_error, [rate_limited(120.0)])
    assert waits == [30.0]


def test_zero_retry_after_means_no_wait():
    _, waits, _ = run(RetryPolicy(), is_retryable_read_error, [rate_limited(0.0)])
    assert waits == [0.0]


def test_without_retry_after_backoff_is_exponential_and_bounded():
    policy = RetryPolicy(max_attempts=6, initial_wait=1.0, max_wait=8.0)
    _, waits, _ = run(policy, is_retryable_read_error, [server_error()] * 5)
    assert len(waits) == 5
    for attempt, wait in enumerate(waits, start=1):
        assert 0.0 <= wait <= min(8.0, 1.0 * 2**attempt)


def test_gives_up_after_max_attempts_and_reraises_the_last_error():
    last = server_error(504)
    with pytest.raises(ExotelServerError) as raised:
        run(
            RetryPolicy(max_attempts=3, max_wait=0.01),
            is_retryable_read_error,
            [server_error(), server_error(), last],
        )
    assert raised.value is last


def test_non_retryable_error_is_raised_at_once():
    error = ExotelCallOutcomeUnknownError("lost answer")
    sleep = FakeSleep()
    calls = []

    def attempt():
        calls.append(1)
        raise error

    retrying = tenacity.Retrying(
        sleep=sleep, **retrying_kwargs(RetryPolicy(), is_retryable_placement_error, None)
    )
    with pytest.raises(ExotelCallOutcomeUnknownError):
        retrying(attempt)
    assert calls == [1]
    assert sleep.waits == []


def test_placement_does_not_retry_a_5xx_that_may_have_placed_the_call():
    with pytest.raises(ExotelServerError):
        run(RetryPolicy(), is_retryable_placement_error, [server_error(502)])


def test_placement_does_not_retry_a_503():
    with pytest.raises(ExotelServerError):
        run(RetryPolicy(), is_retryable_placement_error, [server_error(503)])


def test_before_sleep_hook_sees_each_retry():
    seen: list[int] = []
    run(
        RetryPolicy(),
        is_retryable_read_error,
        [rate_limited(1.0), rate_limited(1.0)],
        before_sleep=lambda state: seen.append(state.attempt_number),
    )
    assert seen == [1, 2]


def test_no_before_sleep_key_without_a_hook():
    assert "before_sleep" not in retrying_kwargs(RetryPolicy(), is_retryable_read_error, None)
