"""CallWatcher with a fake Exotel client (no server) on a frozen clock: only the watcher's own sleeps
move time, so every check happens at exactly the simulated second its schedule says."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import pytest

from exotel_provider.calls.model import Call
from exotel_provider.calls.progress import Assessment
from exotel_provider.calls.status import CallStatus
from exotel_provider.client.async_client import EndedCalls
from exotel_provider.errors import (
    ExotelAuthenticationError,
    ExotelError,
    ExotelNotFoundError,
    ExotelRateLimitError,
    ExotelServerError,
)
from exotel_provider.watching.watcher import CallWatch, CallWatcher
from tests.support.clock import VirtualClock

START = 1_000_000.0
T = TypeVar("T")


@dataclass
class ScriptedCall:
    """A call as Exotel would show it: in progress until ``ends_at``, priced from ``priced_at``."""

    sid: str
    ends_at: float
    priced_at: float | None
    status: CallStatus = CallStatus.COMPLETED

    def seen_at(self, now: float) -> Call:
        if now < self.ends_at:
            return Call(sid=self.sid, status=CallStatus.IN_PROGRESS, raw_status="in-progress")
        priced = self.priced_at is not None and now >= self.priced_at
        return Call(
            sid=self.sid,
            status=self.status,
            raw_status=self.status.value,
            price=0.5 if priced else None,
            duration=40 if priced else None,
            end_time="2026-08-03 10:05:00" if priced else None,
        )


class FakeExotelClient:
    """Stands in for ExotelAsyncClient: answers from scripted calls, records each request and its time."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.calls: dict[str, ScriptedCall] = {}
        self.listings: list[tuple[float, list[str]]] = []
        self.lookups: list[tuple[float, str]] = []
        self.listing_errors: list[ExotelError] = []
        self.lookup_errors: dict[str, ExotelError] = {}
        self.closed = False

    def script(self, sids: Iterable[str], *, ends_after: float, priced_after: float | None = 0.0) -> None:
        for sid in sids:
            priced_at = None if priced_after is None else START + ends_after + priced_after
            self.calls[sid] = ScriptedCall(sid, START + ends_after, priced_at)

    async def get_ended_calls_batch(self, sids: Sequence[str]) -> EndedCalls:
        now = self.clock.now()
        self.listings.append((now - START, list(sids)))
        await asyncio.sleep(0)
        if self.listing_errors:
            raise self.listing_errors.pop(0)
        seen = (self.calls[sid].seen_at(now) for sid in sids if sid in self.calls)
        return EndedCalls(found={call.sid: call for call in seen if call.is_terminal})

    async def get_call(self, sid: str) -> Call:
        self.lookups.append((self.clock.now() - START, sid))
        await asyncio.sleep(0)
        if sid in self.lookup_errors:
            raise self.lookup_errors[sid]
        if sid not in self.calls:
            raise ExotelNotFoundError(f"Call {sid} not found", status_code=404)
        return self.calls[sid].seen_at(self.clock.now())

    async def aclose(self) -> None:
        self.closed = True

    @property
    def listing_times(self) -> list[float]:
        return sorted({at for at, _ in self.listings})


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=START)


@pytest.fixture
def exotel(clock: VirtualClock) -> FakeExotelClient:
    return FakeExotelClient(clock)


async def in_real_time(awaitable: Awaitable[T]) -> T:
    """The awaited value; the test fails after 5 real seconds instead of hanging."""
    return await asyncio.wait_for(awaitable, timeout=5)


async def outcome(watch: CallWatch) -> Assessment:
    return await in_real_time(asyncio.shield(watch.future))


def watcher_for(exotel: FakeExotelClient) -> CallWatcher:
    return CallWatcher(exotel)  # type: ignore[arg-type]  # the fake has the client's watching surface


async def test_calls_are_asked_about_in_listings_of_at_most_100_sids_each_sid_once_a_round(exotel):
    sids = [f"call{index:03d}" for index in range(250)]
    exotel.script(sids, ends_after=10)
    watcher = watcher_for(exotel)
    watches = [watcher.watch(sid, poll_interval=30) for sid in sids]

    results = [await outcome(watch) for watch in watches]

    assert sorted(len(asked) for _, asked in exotel.listings) == [50, 100, 100]
    assert sorted(sid for _, asked in exotel.listings for sid in asked) == sids
    assert all(result.is_final and result.call.price == 0.5 for result in results)
    assert exotel.lookups == []
    assert watcher.watching == 0
    await watcher.aclose()


async def test_two_waiters_for_one_call_share_its_place_in_the_listing(exotel):
    exotel.script(["abc"], ends_after=10)
    watcher = watcher_for(exotel)
    first, second = watcher.watch("abc"), watcher.watch("abc", poll_interval=60)

    assert (await outcome(first)).call == (await outcome(second)).call
    assert [asked for _, asked in exotel.listings] == [["abc"]]
    await watcher.aclose()


async def test_a_call_is_first_asked_about_one_poll_interval_after_it_is_watched(exotel):
    exotel.script(["abc"], ends_after=5)
    watcher = watcher_for(exotel)

    await outcome(watcher.watch("abc", poll_interval=20))

    assert exotel.listing_times == [20.0]
    await watcher.aclose()


async def test_a_call_in_flight_is_asked_about_less_often_the_longer_it_runs(exotel):
    exotel.script(["long"], ends_after=600)
    watcher = watcher_for(exotel)

    await outcome(watcher.watch("long", poll_interval=30))

    times = exotel.listing_times
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert times[0] == 30.0
    assert gaps[0] == 30.0 and max(gaps) == 120.0  # every poll interval at first, capped at 2 minutes
    assert gaps == sorted(gaps)
    assert times[-2] < 600 <= times[-1]  # final at the first check after it ended (it is priced at once)


async def test_an_ended_call_s_price_is_not_looked_for_in_its_first_minute(exotel):
    exotel.script(["abc"], ends_after=10, priced_after=45)
    watcher = watcher_for(exotel)

    result = await outcome(watcher.watch("abc", poll_interval=30))

    assert exotel.listing_times == [30.0, 90.0]  # seen ended at 30, priced at 55, asked again at 30 + 60
    assert result.is_final and result.priced
    assert result.call.price == 0.5
    await watcher.aclose()


async def test_a_call_never_priced_is_final_unpriced_when_the_grace_period_ends(exotel):
    exotel.script(["unpriced"], ends_after=10, priced_after=None)
    watcher = watcher_for(exotel)

    result = await outcome(watcher.watch("unpriced", poll_interval=30, pricing_grace_seconds=120))

    assert result.is_final and not result.priced
    assert exotel.listing_times[-1] == 30.0 + 120.0  # the grace period counts from when it was seen ended
    await watcher.aclose()


async def test_a_sid_never_listed_is_looked_up_on_its_own_once_it_must_have_ended(exotel):
    exotel.script(["known"], ends_after=1000)
    watcher = watcher_for(exotel)
    unknown = watcher.watch("unknown", poll_interval=30, time_limit=60)
    known = watcher.watch("known", poll_interval=30, time_limit=60)

    with pytest.raises(ExotelNotFoundError):
        await outcome(unknown)

    [(looked_up_at, sid)] = [lookup for lookup in exotel.lookups if lookup[1] == "unknown"]
    assert sid == "unknown"
    assert looked_up_at >= 60 + watcher.schedule.ring_allowance  # not before TimeLimit + ringing
    assert all(at < looked_up_at for at, _ in exotel.listings[:-1])  # at the first check after that
    assert not known.future.done()  # the other call is still watched
    await watcher.aclose()


async def test_a_looked_up_call_still_in_progress_stays_watched_until_listed_as_ended(exotel):
    exotel.script(["slow"], ends_after=1200)
    watcher = watcher_for(exotel)

    result = await outcome(watcher.watch("slow", poll_interval=30))  # no TimeLimit: looked up after 15 min

    assert [sid for _, sid in exotel.lookups] == ["slow"]
    assert exotel.lookups[0][0] >= watcher.schedule.lookup_after
    assert result.is_final and result.call.sid == "slow"
    await watcher.aclose()


async def test_a_thousand_calls_in_flight_cost_ten_listings_a_round_and_at_most_twenty_a_minute(exotel):
    sids = [f"call{index:04d}" for index in range(1000)]
    exotel.script(sids, ends_after=300)
    watcher = watcher_for(exotel)
    watches = [watcher.watch(sid, poll_interval=30) for sid in sids]

    await in_real_time(asyncio.gather(*(asyncio.shield(watch.future) for watch in watches)))

    times = [at for at, _ in exotel.listings]
    assert all(len(asked) == 100 for _, asked in exotel.listings)
    assert len(times) == 10 * len(set(times))
    assert max(sum(1 for other in times if start <= other < start + 60) for start in times) <= 20
    assert exotel.lookups == []
    assert watcher.stats.listing_requests == len(times)
    await watcher.aclose()


@pytest.mark.parametrize(
    "error",
    [
        ExotelServerError("Exotel answered 500", status_code=500),
        ExotelRateLimitError("Exotel answered 429", retry_after=20),
    ],
    ids=["server-error", "rate-limited"],
)
async def test_a_transient_listing_error_is_asked_again_later_and_the_waiter_still_gets_its_call(
    exotel, error
):
    exotel.script(["abc"], ends_after=10)
    exotel.listing_errors.append(error)
    watcher = watcher_for(exotel)

    result = await outcome(watcher.watch("abc", poll_interval=30))

    assert exotel.listing_times == [30.0, 60.0]  # the next check one poll interval after the failure
    assert result.is_final
    assert watcher.stats.failed_requests == 1
    await watcher.aclose()


async def test_a_permanent_error_reaches_every_waiter_of_the_batch_through_its_own_lookup(exotel):
    exotel.script(["a", "b"], ends_after=10)
    revoked = ExotelAuthenticationError("Exotel answered 401", status_code=401)
    exotel.listing_errors.append(revoked)
    exotel.lookup_errors.update(a=revoked, b=revoked)
    watcher = watcher_for(exotel)
    watches = [watcher.watch(sid) for sid in ("a", "b")]

    for watch in watches:
        with pytest.raises(ExotelAuthenticationError):
            await outcome(watch)
    assert watcher.watching == 0
    assert len(exotel.listings) == 1
    assert sorted(sid for _, sid in exotel.lookups) == ["a", "b"]
    await watcher.aclose()


async def test_a_call_nobody_waits_for_any_more_is_not_asked_about(exotel):
    exotel.script(["kept", "dropped"], ends_after=10)
    watcher = watcher_for(exotel)
    kept = watcher.watch("kept")
    watcher.unwatch(watcher.watch("dropped"))

    await outcome(kept)

    assert [asked for _, asked in exotel.listings] == [["kept"]]
    await watcher.aclose()


async def test_closing_cancels_waiters_and_closes_the_client(exotel):
    exotel.script(["abc"], ends_after=10_000)
    watcher = watcher_for(exotel)
    watch = watcher.watch("abc")
    await asyncio.sleep(0)

    await watcher.aclose()

    assert watch.future.cancelled()
    assert exotel.closed
    with pytest.raises(RuntimeError, match="closed"):
        watcher.watch("abc")
