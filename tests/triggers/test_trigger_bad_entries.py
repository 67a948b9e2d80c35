"""Deferrable waiting when one call's answers are unreadable or a listing is refused: the other calls'
triggers still get their final events; the bad call's trigger ends with a typed error."""

from __future__ import annotations

import asyncio

import pytest

from exotel_provider.simulator import LISTING_PATH, Fault
from exotel_provider.triggers.exotel import ExotelCallTrigger
from exotel_provider.watching.watcher import MAX_UNREADABLE_LOOKUPS
from tests.support.clock import VirtualClock, watchers_on
from tests.support.trigger_helpers import first_event, listing_requests, lookup_requests, number, place_calls


@pytest.fixture
def clock():
    with watchers_on(VirtualClock(1000)) as compressed:
        yield compressed


def trigger(sid: str, clock: VirtualClock) -> ExotelCallTrigger:
    return ExotelCallTrigger(
        sid, deadline=clock.now() + 7200, poll_interval=30.0, pricing_grace_seconds=600.0
    )


async def test_an_unreadable_entry_fails_only_its_own_trigger(frozen_simulator, clock):
    sids = place_calls(frozen_simulator, [number(i) for i in range(3)])
    frozen_simulator.advance(1000)  # all ended and priced
    bad = sids[1]
    frozen_simulator.inject_fault(Fault("unreadable_entry", method="GET", sid=bad, times=None))

    events = await asyncio.gather(*(first_event(trigger(sid, clock)) for sid in sids))

    by_sid = {event["call_sid"]: event for event in events}
    assert [by_sid[sid]["status"] for sid in sids] == ["final", "error", "final"]
    assert by_sid[bad]["error_type"] == "ExotelResponseError"
    assert "N/A" in by_sid[bad]["message"] and "other calls are not affected" in by_sid[bad]["message"]
    assert by_sid[sids[0]]["call"]["Status"] == "completed"
    lookups = lookup_requests(frozen_simulator)
    assert {request.path.rsplit("/", 1)[-1].removesuffix(".json") for request in lookups} == {bad}
    assert len(listing_requests(frozen_simulator)) >= MAX_UNREADABLE_LOOKUPS


async def test_a_listing_refused_with_a_400_falls_back_to_lookups_and_everyone_gets_an_event(
    frozen_simulator, clock
):
    sids = place_calls(frozen_simulator, [number(i) for i in range(3)])
    frozen_simulator.advance(1000)
    frozen_simulator.inject_fault(
        Fault("status", status=400, method="GET", path=LISTING_PATH, times=None, message="Invalid Sid")
    )

    events = await asyncio.gather(*(first_event(trigger(sid, clock)) for sid in sids))

    assert [event["status"] for event in events] == ["final"] * 3
    assert sorted(
        request.path.rsplit("/", 1)[-1].removesuffix(".json") for request in lookup_requests(frozen_simulator)
    ) == sorted(sids)
