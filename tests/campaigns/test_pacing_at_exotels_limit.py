"""The campaign's pacer over real HTTP against the simulator's rate limit of 200 requests a minute.

The simulator's clock is frozen and moved only by the pacer's and the budget's sleeps, so a run of
minutes takes a second or two, and the simulator's sliding 60 s window sees the same time the pacer
does (its wall clock plus every ``advance``).
"""

from __future__ import annotations

import pytest

from exotel_provider.calls.connect_request import build_connect_request
from exotel_provider.campaigns.pacing import RequestPacer, watching_reserve
from exotel_provider.client.request_budget import RequestBudget
from exotel_provider.client.settings import ExotelSettings
from exotel_provider.client.sync_client import ExotelClient
from exotel_provider.simulator.rate_limit import busiest_window
from exotel_provider.simulator.server import ExotelSimulator

EXOTELS_LIMIT = 200
CALLS = 600  # three minutes of placing at the limit


class SimulatorWallClock:
    """The simulator's rate-limit clock, as the budget's clock; sleeping moves it."""

    def __init__(self, simulator: ExotelSimulator) -> None:
        self.simulator = simulator

    def now(self) -> float:
        return self.simulator.state.clock.wall_seconds()

    async def sleep(self, seconds: float) -> None:
        self.simulator.advance(max(0.0, seconds))


def place_with_late_threads(
    exotel_simulator: ExotelSimulator, *, shared: bool
) -> tuple[list[float], list[float]]:
    """Place CALLS calls paced by a campaign's pacer within a budget of Exotel's limit, every 7th thread
    a slot late; when each request reached the simulator, and what the budget made anyone wait."""
    clock = SimulatorWallClock(exotel_simulator)
    budget_waits: list[float] = []

    def budget_sleep(seconds: float) -> None:
        budget_waits.append(seconds)
        exotel_simulator.advance(seconds)

    pacer = RequestPacer.for_budget(
        EXOTELS_LIMIT, shared=shared, clock=clock.now, sleep=exotel_simulator.advance
    )
    settings = ExotelSettings(
        account_sid=exotel_simulator.account_sid,
        api_key=exotel_simulator.api_key,
        api_token=exotel_simulator.api_token,
        base_url=exotel_simulator.base_url,
        requests_per_minute=EXOTELS_LIMIT,
    )
    sent: list[float] = []
    with ExotelClient(
        settings, budget=RequestBudget(EXOTELS_LIMIT, clock=clock), sleep=budget_sleep
    ) as client:
        for i in range(CALLS):
            if i % 7 == 0:
                exotel_simulator.advance(0.3)  # the placing thread was busy (a ledger write): a slot late
            pacer.wait_turn()
            request = build_connect_request(
                account_sid=exotel_simulator.account_sid, from_number=f"+9198765{i:05d}",
                caller_id="08047112345", app_id="926",
            )  # fmt: skip
            client.place_call(request, announce=False)
            sent.append(clock.now())  # when the simulator took it (its clock moves only in sleeps)
    return sent, budget_waits


@pytest.mark.exotel_simulator(rate_limit_per_minute=EXOTELS_LIMIT, time_scale=0)
def test_placing_at_exotels_limit_with_late_threads_draws_no_429_and_makes_up_missed_slots(
    exotel_simulator,
):
    sent, budget_waits = place_with_late_threads(exotel_simulator, shared=True)

    statuses = [r.status_code for r in exotel_simulator.requests]
    assert statuses == [200] * CALLS  # not one 429 from the simulator's sliding window
    assert busiest_window(sent) <= EXOTELS_LIMIT - watching_reserve(EXOTELS_LIMIT)  # the reserve left
    assert budget_waits == []  # the pacer alone kept placing within the budget
    assert 60 * (CALLS - 1) / (sent[-1] - sent[0]) >= 186  # the late slots were made up (190 at most)


@pytest.mark.exotel_simulator(rate_limit_per_minute=EXOTELS_LIMIT, time_scale=0)
def test_a_budget_of_its_own_is_used_whole_without_a_429(exotel_simulator):
    sent, _ = place_with_late_threads(exotel_simulator, shared=False)

    statuses = [r.status_code for r in exotel_simulator.requests]
    assert statuses == [200] * CALLS  # not one 429 from the simulator's sliding window
    assert busiest_window(sent) <= EXOTELS_LIMIT
    assert 60 * (CALLS - 1) / (sent[-1] - sent[0]) >= 199  # nothing kept back (197.3 with a 2 % bucket)
