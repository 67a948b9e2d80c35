"""ExotelCallTrigger against the simulator: one event per outcome, shared batched watching, cleanup.

The watchers run on a compressed clock (1 real ms = 1 simulated s) while the simulator's clock
stands still until a test advances it: every outcome is decided by what the test sets up, not by
how fast the machine is.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import math

import pytest

from exotel_provider.triggers.exotel import ExotelCallTrigger
from exotel_provider.watching.registry import active_watchers
from tests.support.clock import VirtualClock, watchers_on
from tests.support.trigger_helpers import (
    first_event,
    listing_requests,
    lookup_requests,
    number,
    place_calls,
    sids_in,
    wait_until,
)

OUTCOMES = ["completed", "busy", "no-answer", "failed", "canceled"]


@pytest.fixture
def clock():
    compressed = VirtualClock(1000)
    with watchers_on(compressed):
        yield compressed


def trigger(sid: str, clock: VirtualClock, **overrides) -> ExotelCallTrigger:
    params = {"deadline": clock.now() + 7200, "poll_interval": 30.0, "pricing_grace_seconds": 600.0}
    params.update(overrides)
    return ExotelCallTrigger(sid, **params)


def test_serialize_round_trip_keeps_json_primitives_and_no_secret():
    original = ExotelCallTrigger(
        "abc123", exotel_conn_id="exotel_campaign", deadline=1_800_000_000.5, poll_interval=20, time_limit=300
    )
    classpath, kwargs = original.serialize()
    assert classpath == "exotel_provider.triggers.exotel.ExotelCallTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    assert kwargs == {
        "call_sid": "abc123",
        "deadline": 1_800_000_000.5,
        "exotel_conn_id": "exotel_campaign",
        "poll_interval": 20.0,
        "pricing_grace_seconds": 600.0,
        "time_limit": 300,
    }
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)


async def test_every_terminal_status_gives_one_final_event_with_the_call(frozen_simulator, clock):
    sids = {}
    for index, outcome in enumerate(OUTCOMES):
        [sids[outcome]] = place_calls(frozen_simulator, [number(index)], outcome=outcome)
    frozen_simulator.advance(1000)  # every call has ended and is priced

    events = await asyncio.gather(*(first_event(trigger(sid, clock)) for sid in sids.values()))

    for outcome, event in zip(OUTCOMES, events, strict=True):
        assert event["status"] == "final"
        assert event["call_sid"] == sids[outcome]
        assert event["call"]["Status"] == outcome
        assert event["priced"] is True and event["call"]["Price"] is not None
        assert "priced" in event["message"]
    assert lookup_requests(frozen_simulator) == []
    assert [len(sids_in(r)) for r in listing_requests(frozen_simulator)] == [5]


async def test_call_never_priced_is_final_when_the_grace_period_ends(frozen_simulator, clock):
    [sid] = place_calls(frozen_simulator, [number(1)], outcome="failed", never_priced=True)
    frozen_simulator.advance(200)

    event = await first_event(trigger(sid, clock, pricing_grace_seconds=120))

    assert event["status"] == "final"
    assert event["priced"] is False
    assert event["call"]["Status"] == "failed" and event["call"]["Price"] is None
    assert "grace period 120 s" in event["message"]
    assert event["assessed_at"] - event["ended_seen_at"] >= 120


async def test_deadline_gives_a_timeout_event_saying_where_the_call_stands(frozen_simulator, clock):
    [sid] = place_calls(frozen_simulator, [number(1)])  # stays queued: the simulator's clock stands still

    event = await first_event(trigger(sid, clock, deadline=clock.now() + 100))

    assert event["status"] == "timeout"
    assert event["call_sid"] == sid
    assert "not final by the deadline" in event["message"]
    assert "has not listed it as ended" in event["message"]


async def test_unknown_sid_gives_a_not_found_error_event_after_one_lookup(frozen_simulator, clock):
    event = await first_event(trigger("no-such-call", clock, time_limit=60))

    assert event["status"] == "error"
    assert event["error_type"] == "ExotelNotFoundError"
    assert event["status_code"] == 404
    assert "no-such-call" in event["message"]
    assert len(lookup_requests(frozen_simulator)) == 1


async def test_wrong_credentials_give_an_authentication_error_event(frozen_simulator, clock, monkeypatch):
    [sid] = place_calls(frozen_simulator, [number(1)])
    connection = frozen_simulator.connection() | {"password": "wrong-token"}
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(connection))

    event = await first_event(trigger(sid, clock))

    assert event["status"] == "error"
    assert event["error_type"] == "ExotelAuthenticationError"
    assert event["status_code"] == 401
    assert "wrong-token" not in json.dumps(event)


async def test_missing_connection_gives_an_error_event(frozen_simulator, clock):
    event = await first_event(trigger("abc", clock, exotel_conn_id="no_such_connection"))

    assert event["status"] == "error"
    assert "no_such_connection" in event["message"]


@pytest.mark.exotel_simulator(rate_limit_per_minute=3)
async def test_rate_limited_listing_is_retried_after_retry_after_instead_of_failing(frozen_simulator, clock):
    sids = place_calls(frozen_simulator, [number(i) for i in range(3)])  # fills the frozen minute
    tasks = [asyncio.ensure_future(first_event(trigger(sid, clock))) for sid in sids]
    await wait_until(lambda: len(active_watchers()) == 1)
    [watcher] = active_watchers()
    await wait_until(lambda: any(r.status_code == 429 for r in frozen_simulator.requests))
    # a 429 holds every request of the account (once the client has read the answer the simulator logged)
    await wait_until(lambda: watcher.client.budget.paused_until > 0)

    frozen_simulator.advance(1000)  # the rate-limit window moves on; the calls are final
    events = await asyncio.gather(*tasks)

    assert [event["status"] for event in events] == ["final"] * 3
    statuses = [r.status_code for r in listing_requests(frozen_simulator)]
    assert 429 in statuses and statuses[-1] == 200


async def test_the_same_trigger_running_twice_is_watched_once_and_both_get_the_event(frozen_simulator, clock):
    [sid] = place_calls(frozen_simulator, [number(1)])
    frozen_simulator.advance(1000)

    first, second = await asyncio.gather(first_event(trigger(sid, clock)), first_event(trigger(sid, clock)))

    assert first["status"] == second["status"] == "final"
    assert first["call"] == second["call"]
    assert [sids_in(r) for r in listing_requests(frozen_simulator)] == [[sid]]


async def test_the_last_trigger_to_leave_closes_the_shared_watcher(frozen_simulator, clock):
    [sid] = place_calls(frozen_simulator, [number(1)])
    tasks = [asyncio.ensure_future(first_event(trigger(sid, clock))) for _ in range(2)]
    await wait_until(lambda: len(active_watchers()) == 1)
    [watcher] = active_watchers()

    tasks[0].cancel()  # the triggerer cancels one (task cleared, or moved to another triggerer)
    await asyncio.gather(tasks[0], return_exceptions=True)
    assert active_watchers() == [watcher]

    tasks[1].cancel()
    await asyncio.gather(tasks[1], return_exceptions=True)
    assert active_watchers() == []
    assert watcher.client._http.is_closed


async def test_250_triggers_need_at_most_3_listing_requests_per_polling_round(frozen_simulator, clock):
    sids = place_calls(frozen_simulator, [number(i) for i in range(250)])
    tasks = [asyncio.ensure_future(first_event(trigger(sid, clock))) for sid in sids]
    await wait_until(lambda: len(active_watchers()) == 1)
    [watcher] = active_watchers()
    await wait_until(lambda: watcher.stats.rounds >= 2)  # rounds while every call is still in flight

    frozen_simulator.advance(1000)
    events = await asyncio.gather(*tasks)

    assert {event["status"] for event in events} == {"final"}
    listings = listing_requests(frozen_simulator)
    per_round = math.ceil(250 / 100)
    assert len(listings) <= per_round * watcher.stats.rounds
    assert all(len(sids_in(r)) <= 100 for r in listings)
    assert {sid for r in listings for sid in sids_in(r)} == set(sids)
