"""ExotelCampaignTrigger: secret-free serialisation, and one event for all calls (final or failed)."""

from __future__ import annotations

import json
import time

import pytest

from exotel_provider.triggers.campaign import ExotelCampaignTrigger
from tests.support.clock import VirtualClock, watchers_on
from tests.support.trigger_helpers import number, place_calls

pytestmark = pytest.mark.exotel_simulator(time_scale=600)


def test_serialised_kwargs_are_json_and_rebuild_the_same_trigger():
    trigger = ExotelCampaignTrigger(
        ["a", "b"], deadline=1e10, exotel_conn_id="x", poll_interval=5, time_limit=60
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "exotel_provider.triggers.campaign.ExotelCampaignTrigger"
    assert ExotelCampaignTrigger(**json.loads(json.dumps(kwargs))).serialize() == (classpath, kwargs)


async def test_one_event_carries_every_final_call_and_why_the_others_are_not(exotel_connection_env):
    sim = exotel_connection_env
    sids = place_calls(sim, [number(1), number(2)])
    trigger = ExotelCampaignTrigger(
        [*sids, "no-such-sid"], deadline=time.time() + 3600 * 24, poll_interval=5, time_limit=60
    )
    with watchers_on(VirtualClock(600, start=sim.now())):
        events = [event async for event in trigger.run()]

    [event] = events
    assert event.payload["status"] == "done"
    assert set(event.payload["calls"]) == set(sids)
    assert all(call["Status"] == "completed" and call["Price"] for call in event.payload["calls"].values())
    assert list(event.payload["failed"]) == ["no-such-sid"]


async def _resolve_wait(monkeypatch, sim, placement_speed: float) -> float:
    """Watcher seconds a lost answer's 2,160 s wait takes when the placement clock runs
    ``placement_speed`` times as fast as the watcher's."""
    from exotel_provider.placement import guard

    watcher_clock = VirtualClock(0, start=sim.now())  # moves only as the trigger sleeps
    start = watcher_clock.now()
    placement = guard.FunctionClock(
        lambda: start + (watcher_clock.now() - start) * placement_speed, time.sleep
    )
    monkeypatch.setattr(guard, "DEFAULT_CLOCK", placement)
    trigger = ExotelCampaignTrigger([], deadline=start + 10**6, resolve_after=start + 2160)
    with watchers_on(watcher_clock):
        [event] = [event async for event in trigger.run()]
    assert event.payload["status"] == "done"
    return watcher_clock.now() - start


async def test_the_wait_for_lost_answers_lasts_the_window_when_both_clocks_agree(
    exotel_connection_env, monkeypatch
):
    assert await _resolve_wait(monkeypatch, exotel_connection_env, placement_speed=1) >= 2160


async def test_the_wait_for_lost_answers_ends_when_a_faster_placement_clock_reaches_the_window(
    exotel_connection_env, monkeypatch
):
    assert await _resolve_wait(monkeypatch, exotel_connection_env, placement_speed=120) <= 30
