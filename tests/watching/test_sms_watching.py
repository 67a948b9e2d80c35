"""One watcher, one client: SMS and calls watched together against the simulator over real HTTP.

The simulator's clock is frozen and the watcher's clock follows it: only the watcher's own sleeps
(and its client's retry waits) move time, so every read happens at the simulated second its
schedule says, and the simulator's request log shows each one.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest

from exotel_provider.client.async_client import ExotelAsyncClient
from exotel_provider.client.request_budget import account_budget
from exotel_provider.errors import (
    ExotelForbiddenError,
    ExotelNotFoundError,
    ExotelResponseError,
    ExotelWaitTimeout,
)
from exotel_provider.simulator import SMS_PATH
from exotel_provider.simulator.server import ExotelSimulator
from exotel_provider.watching.read_errors import MAX_UNREADABLE_LOOKUPS
from exotel_provider.watching.watcher import CallWatcher
from tests.support.clock import VirtualClock
from tests.support.trigger_helpers import (
    listing_requests,
    number,
    place_calls,
    send_sms,
    sids_in,
    simulator_settings,
    sms_reads,
)

pytestmark = pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=None)


@pytest.fixture
async def watcher(exotel_simulator: ExotelSimulator) -> AsyncIterator[CallWatcher]:
    """The account's watcher as the registry builds it: one client, the account's budget, on a clock
    that follows the frozen simulator."""
    clock = VirtualClock(follows=exotel_simulator)
    settings = simulator_settings(exotel_simulator)
    budget = account_budget(settings, clock)
    shared = CallWatcher(ExotelAsyncClient(settings, budget=budget, clock=clock), clock=clock)
    yield shared
    await shared.aclose()


async def settled(*futures: asyncio.Future[Any]) -> list[Any]:
    """Each future's result or error; the test fails after 20 real seconds instead of hanging."""
    shielded = (asyncio.shield(future) for future in futures)
    return await asyncio.wait_for(asyncio.gather(*shielded, return_exceptions=True), timeout=20)


async def test_sms_and_calls_share_one_watcher_each_sms_read_by_its_sid_no_more_often_than_polled(
    exotel_simulator, watcher
):
    calls = place_calls(exotel_simulator, [number(1), number(2)])
    sent, dnd = send_sms(exotel_simulator, [number(3)]) + send_sms(
        exotel_simulator, [number(4)], outcome="failed_dnd"
    )
    started, before = exotel_simulator.now(), len(exotel_simulator.requests)
    call_watches = [watcher.watch(sid, poll_interval=30) for sid in calls]
    sms_watches = [watcher.watch_sms(sid, poll_interval=2) for sid in (sent, dnd)]
    second_waiter = watcher.watch_sms(sent, poll_interval=5)

    results = await settled(*(w.future for w in [*call_watches, *sms_watches, second_waiter]))

    assessments, (sent_sms, dnd_sms, shared_sms) = results[:2], results[2:]
    assert all(assessment.is_final and assessment.priced for assessment in assessments)
    assert (sent_sms.raw_status, sent_sms.price) == ("sent", 0.2)
    assert (dnd_sms.raw_status, dnd_sms.price) == ("failed_dnd", 0.0)
    assert shared_sms == sent_sms  # two waiters, one SMS: its reads are shared
    requests = exotel_simulator.requests[before:]
    reads, listings = sms_reads(exotel_simulator), listing_requests(exotel_simulator)
    assert len(requests) == len(reads) + len(listings)  # nothing else: no call lookups, no sending
    assert all(sorted(sids_in(listing)) == sorted(calls) for listing in listings)  # calls batched together
    for sid in (sent, dnd):
        times = [r.sim_time - started for r in reads if r.path.endswith(f"/{sid}.json")]
        assert times[0] == 0  # read at once: the trigger may start long after the SMS was sent
        assert all(later - earlier >= 2 for earlier, later in itertools.pairwise(times))
        assert len(times) == 4  # 0, 2, 4 in progress; final at 6 (the simulator's SMS are final after 5 s)
    assert (watcher.stats.sms_reads, watcher.stats.listing_requests) == (len(reads), len(listings))
    assert (watcher.watching, watcher.watching_sms) == (0, 0)


@pytest.mark.parametrize(
    ("fault", "error"),
    [(None, ExotelNotFoundError), ({"kind": "status", "status": 403}, ExotelForbiddenError)],
    ids=["unknown-sid-404", "refused-403"],
)
async def test_a_lasting_sms_read_error_ends_only_that_wait_after_one_read(
    exotel_simulator, watcher, fault, error
):
    [call] = place_calls(exotel_simulator, [number(1)])
    [good] = send_sms(exotel_simulator, [number(2)])
    bad = "nosuchsms"
    if fault is not None:
        [bad] = send_sms(exotel_simulator, [number(3)])
        exotel_simulator.inject_fault(**fault, path=f"/SMS/Messages/{bad}", times=None)
    watches = [watcher.watch(call), watcher.watch_sms(good), watcher.watch_sms(bad)]

    call_result, good_result, bad_result = await settled(*(watch.future for watch in watches))

    assert isinstance(bad_result, error) and bad in str(bad_result)
    assert len([r for r in sms_reads(exotel_simulator) if bad in r.path]) == 1  # not retried
    assert good_result.raw_status == "sent" and call_result.is_final  # nobody else stalled
    assert watcher.stats.lookups == 0  # no call was looked up on its own


async def test_a_transient_sms_read_error_is_retried_and_the_sms_still_ends_final(exotel_simulator, watcher):
    [call] = place_calls(exotel_simulator, [number(1)])
    [sid] = send_sms(exotel_simulator, [number(2)])
    attempts = watcher.client.retry_policy.max_attempts
    exotel_simulator.inject_fault("status", status=500, path=SMS_PATH, times=attempts + 1)
    started = exotel_simulator.now()
    watches = [watcher.watch(call), watcher.watch_sms(sid, poll_interval=10)]

    call_result, message = await settled(*(watch.future for watch in watches))

    assert message.raw_status == "sent" and call_result.is_final
    statuses = [r.status_code for r in sms_reads(exotel_simulator)]
    assert statuses[: attempts + 1] == [500] * (attempts + 1) and statuses[-1] == 200
    assert (
        watcher.stats.failed_requests == 1
    )  # the first read's attempts, all failed; the second read recovered
    second_read_at = sms_reads(exotel_simulator)[attempts].sim_time
    assert second_read_at - started >= 10  # asked again no sooner than its poll interval


async def test_an_sms_whose_answers_stay_unreadable_ends_in_an_error_naming_it(exotel_simulator, watcher):
    [sid] = send_sms(exotel_simulator, [number(1)])
    exotel_simulator.inject_fault("malformed_json", path=SMS_PATH, times=None)

    [result] = await settled(watcher.watch_sms(sid, poll_interval=10).future)

    assert isinstance(result, ExotelResponseError)
    assert sid in str(result) and f"{MAX_UNREADABLE_LOOKUPS} times in a row" in str(result)
    assert watcher.stats.sms_reads == MAX_UNREADABLE_LOOKUPS


@pytest.mark.parametrize(("sent_ago", "outcome"), [(0, "timeout"), (60, "sent")])
async def test_a_deadline_before_the_first_read_still_reads_the_sms_once(
    exotel_simulator, watcher, sent_ago, outcome
):
    [sid] = send_sms(exotel_simulator, [number(1)])
    exotel_simulator.advance(sent_ago)
    watch = watcher.watch_sms(sid, poll_interval=10)

    try:
        result = (
            await asyncio.wait_for(watcher.wait_sms(watch, deadline=watcher.clock.now()), 20)
        ).raw_status
    except ExotelWaitTimeout as timeout:
        result = "timeout"
        assert f"SMS {sid} was not final by the deadline: it was last 'queued'" in str(timeout)
        assert watcher.last_known_sms(sid).raw_status == "queued"
    finally:
        watcher.unwatch(watch)

    assert result == outcome
    assert len(sms_reads(exotel_simulator)) == 1
    assert watcher.watching_sms == 0
