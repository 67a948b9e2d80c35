"""Never connected versus connected-then-failed, for both clients, on real sockets.

Only the first proves that no call was placed; the second is an unknown outcome for a placing request.
"""

from __future__ import annotations

import socket

import pytest

from exotel_provider.calls.connect_request import build_connect_request
from exotel_provider.client import ExotelClient
from exotel_provider.client.async_client import ExotelAsyncClient
from exotel_provider.client.retry_policy import RetryPolicy
from exotel_provider.client.settings import ExotelSettings
from exotel_provider.errors import ExotelCallOutcomeUnknownError, ExotelError, ExotelUnreachableError
from exotel_provider.simulator import CONNECT_PATH

pytestmark = pytest.mark.exotel_simulator(time_scale=60)

REQUEST = build_connect_request(
    account_sid="exotel_sim", from_number="+919876543210", caller_id="08047112345", app_id=926
)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def settings_for(base_url: str) -> ExotelSettings:
    return ExotelSettings(
        account_sid="exotel_sim", api_key="sim-key", api_token="sim-token", base_url=base_url, timeout=5
    )


async def place_with_both(base_url: str) -> list[BaseException]:
    """The error each client raises placing a call at ``base_url`` (one attempt each)."""
    settings, policy = settings_for(base_url), RetryPolicy(max_attempts=1)
    errors: list[BaseException] = []
    with ExotelClient(settings, retry_policy=policy) as client, pytest.raises(ExotelError) as sync_error:
        client.place_call(REQUEST)
    errors.append(sync_error.value)
    async with ExotelAsyncClient(settings, retry_policy=policy) as async_client:
        with pytest.raises(ExotelError) as async_error:
            await async_client.place_call(REQUEST)
    errors.append(async_error.value)
    return errors


@pytest.mark.parametrize(
    ("where", "cause"),
    [
        ("http://127.0.0.1:{closed}", "refused"),
        ("http://localhost:{closed}", "refused"),
        ("https://{simulator}", "tls"),
        ("https://no-such-host.invalid", "dns"),
    ],
    ids=["refused", "refused-localhost", "https-to-plain-http", "dns"],
)
async def test_a_connection_never_established_is_unreachable_not_unknown(exotel_simulator, where, cause):
    base_url = where.format(closed=closed_port(), simulator=exotel_simulator.base_url.split("://")[1])

    for error in await place_with_both(base_url):
        assert type(error) is ExotelUnreachableError, error
        assert error.cause == cause
        assert "never reached Exotel, so no call was placed" in str(error)
    assert exotel_simulator.requests == []


async def test_a_request_sent_then_cut_off_is_an_unknown_outcome_for_both_clients(exotel_simulator):
    exotel_simulator.inject_fault("drop", method="POST", path=CONNECT_PATH, times=2)

    for error in await place_with_both(exotel_simulator.base_url):
        assert isinstance(error, ExotelCallOutcomeUnknownError), error
        assert "may have been placed" in str(error)
    assert len(exotel_simulator.placed_calls()) == 2  # each request reached Exotel and placed its call
