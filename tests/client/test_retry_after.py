"""``Retry-After`` above a minute, in seconds or as an HTTP date: honoured up to a documented ceiling,
by the retry policy and in ``ExotelRateLimitError.retry_after``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from exotel_provider.client import ExotelClient
from exotel_provider.client.error_mapping import error_for_answer
from exotel_provider.client.retry_policy import MAX_RETRY_AFTER_SECONDS, RetryPolicy
from exotel_provider.client.settings import ExotelSettings
from exotel_provider.errors import ExotelRateLimitError
from exotel_provider.simulator import LISTING_PATH


def rate_limit_error(retry_after: str) -> ExotelRateLimitError:
    error = error_for_answer(
        status_code=429, body=b"", headers={"Retry-After": retry_after}, host="h", action="listing calls"
    )
    assert isinstance(error, ExotelRateLimitError)
    return error


def http_date(seconds_from_now: float) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds_from_now), usegmt=True)


def simulator_settings(simulator) -> ExotelSettings:
    return ExotelSettings(
        account_sid=simulator.account_sid,
        api_key=simulator.api_key,
        api_token=simulator.api_token,
        base_url=simulator.base_url,
    )


def test_the_ceiling_is_five_minutes():
    assert MAX_RETRY_AFTER_SECONDS == 300.0


@pytest.mark.parametrize(("header", "expected"), [("120", 120.0), ("299.5", 299.5), ("86400", 300.0)])
def test_retry_after_in_seconds_is_kept_up_to_the_ceiling(header, expected):
    assert rate_limit_error(header).retry_after == expected


@pytest.mark.parametrize(("ahead", "expected"), [(150, 150.0), (3600, 300.0), (-30, 0.0)])
def test_retry_after_as_an_http_date_is_seconds_from_now(ahead, expected):
    retry_after = rate_limit_error(http_date(ahead)).retry_after
    assert retry_after is not None and abs(retry_after - expected) <= 2.0


@pytest.mark.exotel_simulator(time_scale=60)
def test_the_client_waits_what_exotel_asks_even_above_a_minute(exotel_simulator):
    exotel_simulator.inject_fault("status", status=429, retry_after=150, method="GET", path=LISTING_PATH)
    waits: list[float] = []
    settings = simulator_settings(exotel_simulator)
    with ExotelClient(settings, retry_policy=RetryPolicy(max_attempts=2), sleep=waits.append) as client:
        client.list_calls(page_size=1)

    assert waits == [150.0]
    assert [request.method for request in exotel_simulator.requests] == ["GET", "GET"]


@pytest.mark.exotel_simulator(time_scale=60)
def test_a_retry_after_beyond_the_ceiling_is_cut_to_it(exotel_simulator):
    exotel_simulator.inject_fault(
        "status", status=429, retry_after=7200, method="GET", path=LISTING_PATH, times=2
    )
    waits: list[float] = []
    settings = simulator_settings(exotel_simulator)
    client = ExotelClient(settings, retry_policy=RetryPolicy(max_attempts=2), sleep=waits.append)
    with client, pytest.raises(ExotelRateLimitError) as caught:
        client.list_calls(page_size=1)

    assert waits == [MAX_RETRY_AFTER_SECONDS]
    assert caught.value.retry_after == MAX_RETRY_AFTER_SECONDS
