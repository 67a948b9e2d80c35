"""One request budget per Exotel account and process, asked by the sync and async clients alike, and
fed by what Exotel's answers say (429 ``Retry-After``, ``X-RateLimit-*``)."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from exotel_provider.client.rate_limit_headers import RateLimitHint, read_rate_limit_headers
from exotel_provider.client.request_budget import RequestBudget, account_budget
from exotel_provider.client.retry_policy import MAX_RETRY_AFTER_SECONDS
from exotel_provider.client.settings import ExotelSettings
from exotel_provider.client.sync_client import ExotelClient
from exotel_provider.hooks.exotel import ExotelHook, settings_for_connection
from exotel_provider.simulator.server import ExotelSimulator
from exotel_provider.watching.registry import shared_call_watcher


def settings_for(simulator: ExotelSimulator | None = None, **extra: Any) -> ExotelSettings:
    connection = simulator.connection() if simulator else {"login": "k", "password": "t", "host": None}
    return ExotelSettings.from_connection(
        login=connection["login"],
        password=connection["password"],
        host=connection["host"],
        extra={**(connection.get("extra") or {"account_sid": "acme"}), **extra},
    )


class SteppedClock:
    """Time moves only when someone sleeps; sleeping also moves a (frozen) simulator's clock."""

    def __init__(self, simulator: ExotelSimulator | None = None) -> None:
        self.simulator = simulator
        self.time = 1_000_000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep_now(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.time += seconds
        if self.simulator is not None:
            self.simulator.advance(seconds)

    async def sleep(self, seconds: float) -> None:
        self.sleep_now(seconds)


def test_two_connections_to_one_account_share_one_budget_and_the_smaller_limit_holds():
    generous = settings_for(requests_per_minute=150, timeout=10)
    strict = settings_for(requests_per_minute=60)

    budget = account_budget(generous)
    assert account_budget(strict) is budget
    assert account_budget(generous) is budget
    assert budget.requests_per_minute == 60  # never raised again by the generous connection


def test_other_accounts_and_hosts_have_budgets_of_their_own():
    budget = account_budget(settings_for(account_sid="acme-one"))
    assert account_budget(settings_for(account_sid="acme-two")) is not budget
    assert account_budget(settings_for(account_sid="acme-one", region="mumbai")) is not budget


async def test_the_hook_in_a_worker_and_the_watcher_in_a_triggerer_ask_one_budget(exotel_connection_env):
    hook = ExotelHook()
    async with shared_call_watcher(
        "exotel_default", functools.partial(settings_for_connection, "exotel_default")
    ) as watcher:
        assert watcher.client.budget is hook.client.budget
    assert hook.client.budget is account_budget(hook.settings)


@pytest.mark.exotel_simulator(time_scale=0)
def test_every_request_of_the_sync_client_waits_for_the_budget(exotel_simulator):
    clock = SteppedClock()
    budget = RequestBudget(6, clock=clock, burst=1)  # one now, then one every 10 s
    client = ExotelClient(settings_for(exotel_simulator), budget=budget, sleep=clock.sleep_now)

    for _ in range(4):
        client.list_calls(page_size=1)

    assert len(exotel_simulator.requests) == 4
    assert sum(clock.slept) == pytest.approx(3 * 10.0)
    assert budget.granted == 4


@pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=5, send_rate_limit_headers=True)
def test_x_ratelimit_headers_keep_the_client_under_exotels_limit(exotel_simulator):
    clock = SteppedClock(exotel_simulator)
    budget = RequestBudget(150, clock=clock)  # more than Exotel allows: only the headers stop it
    client = ExotelClient(settings_for(exotel_simulator), budget=budget, sleep=clock.sleep_now)

    for _ in range(8):
        client.list_calls(page_size=1)

    assert [r.status_code for r in exotel_simulator.requests] == [200] * 8  # no 429 at all
    assert sum(clock.slept) >= 59  # it waited for the window Exotel announced


@pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=1)
def test_a_429_in_a_worker_pauses_the_accounts_budget(exotel_simulator):
    clock = SteppedClock(exotel_simulator)
    budget = RequestBudget(150, clock=clock)
    client = ExotelClient(settings_for(exotel_simulator), budget=budget, sleep=clock.sleep_now)

    client.list_calls(page_size=1)
    client.list_calls(page_size=1)  # 429, Retry-After 60, then accepted

    assert [r.status_code for r in exotel_simulator.requests] == [200, 429, 200]
    assert budget.paused_until >= clock.now() - 1  # the pause lasted until the retry


def test_a_pause_never_exceeds_the_documented_ceiling():
    clock = SteppedClock()
    budget = RequestBudget(150, clock=clock)
    budget.pause(86_400)
    assert budget.paused_until == clock.now() + MAX_RETRY_AFTER_SECONDS
    assert budget.reserve() == pytest.approx(MAX_RETRY_AFTER_SECONDS)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({}, None),
        ({"Content-Type": "application/json"}, None),
        (
            {"X-RateLimit-Limit": "200", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "17"},
            RateLimitHint(200, 0, 17.0),
        ),
        ({"x-ratelimit-remaining": "3"}, RateLimitHint(None, 3, None)),
        ({"X-RateLimit-Reset": "1700000030", "X-RateLimit-Remaining": "0"}, RateLimitHint(None, 0, 30.0)),
        ({"X-RateLimit-Remaining": "lots", "X-RateLimit-Reset": "-4"}, RateLimitHint(None, None, None)),
        ({"X-RateLimit-Remaining": "1.5", "X-RateLimit-Reset": "nan"}, RateLimitHint(None, None, None)),
    ],
)
def test_rate_limit_headers_are_read_defensively(headers, expected):
    assert read_rate_limit_headers(headers, now=1_700_000_000.0) == expected


def test_no_remaining_requests_pauses_until_the_announced_reset():
    clock = SteppedClock()
    budget = RequestBudget(150, clock=clock)
    budget.observe({"X-RateLimit-Remaining": "2", "X-RateLimit-Reset": "40"})
    assert budget.reserve() == 0.0
    budget.observe({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "40"})
    assert budget.reserve() == pytest.approx(40.0)
