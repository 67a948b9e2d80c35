"""ExotelAsyncClient against the simulator: same answers and errors as the sync client, budget and 429."""

from __future__ import annotations

import dataclasses

import pytest

from exotel_provider.client.async_client import ExotelAsyncClient
from exotel_provider.client.request_budget import RequestBudget
from exotel_provider.client.sync_client import ExotelClient
from exotel_provider.errors import ExotelAuthenticationError, ExotelNotFoundError
from tests.support.clock import VirtualClock
from tests.support.trigger_helpers import number, place_calls, simulator_settings

pytestmark = pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=None)


async def test_reads_parse_like_the_sync_client(exotel_simulator):
    sids = place_calls(exotel_simulator, [number(i) for i in range(3)])
    exotel_simulator.advance(1000)
    settings = simulator_settings(exotel_simulator)
    async with ExotelAsyncClient(settings) as client:
        one = await client.get_call(sids[0])
        ended = await client.get_ended_calls([*sids, sids[0]])
    with ExotelClient(settings) as sync_client:
        assert one == sync_client.get_call(sids[0])
        assert ended.found == sync_client.get_ended_calls(sids) and not ended.unreadable


async def test_errors_are_the_same_typed_errors(exotel_simulator):
    settings = simulator_settings(exotel_simulator)
    async with ExotelAsyncClient(settings) as client:
        with pytest.raises(ExotelNotFoundError, match="check the call Sid"):
            await client.get_call("unknown")
    wrong = dataclasses.replace(simulator_settings(exotel_simulator), api_token="not-the-token")
    async with ExotelAsyncClient(wrong) as client:
        with pytest.raises(ExotelAuthenticationError) as caught:
            await client.list_calls(page_size=1)
    assert "not-the-token" not in str(caught.value)


@pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=1)
async def test_429_pauses_the_budget_for_retry_after_and_the_request_succeeds(exotel_simulator):
    clock = VirtualClock(follows=exotel_simulator)  # a Retry-After wait passes on the simulator too
    budget = RequestBudget(150, clock=clock)
    async with ExotelAsyncClient(simulator_settings(exotel_simulator), budget=budget) as client:
        await client.list_calls(page_size=1)  # uses the simulated minute's only request
        await client.list_calls(page_size=1)  # 429 with Retry-After, then accepted

    log = exotel_simulator.requests
    assert [r.status_code for r in log] == [200, 429, 200]
    assert log[2].sim_time - log[1].sim_time >= 60 - 1  # Retry-After (60 s, rounded) was honoured
    assert budget.paused_until >= log[1].sim_time + 59
