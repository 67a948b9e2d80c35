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
