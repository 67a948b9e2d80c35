"""ExotelSmsTrigger: one small event per outcome over real HTTP, the connection's one watcher shared
with call triggers, and execute_complete's reading of events (timeout, error, malformed) into the
typed errors."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from exotel_provider.errors import ExotelNotFoundError, ExotelWaitTimeout, ExotelWatchError
from exotel_provider.simulator.server import ExotelSimulator
from exotel_provider.triggers.exotel import ExotelCallTrigger
from exotel_provider.triggers.sms import ExotelSmsTrigger, sms_from_event
from exotel_provider.watching.registry import active_watchers
from tests.support.clock import VirtualClock, watchers_on
from tests.support.trigger_helpers import first_event as trigger_event
from tests.support.trigger_helpers import (
    listing_requests,
    lookup_requests,
    number,
    place_calls,
    send_sms,
    sids_in,
    sms_reads,
    wait_until,
)

pytestmark = pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=None)
DLT = {"DltEntityId": "1101456780000012345", "DltTemplateId": "1107161234567890123"}


def send_over_http(simulator: ExotelSimulator) -> str:
    import requests

    url = f"{simulator.base_url}/v1/Accounts/{simulator.account_sid}/Sms/send.json"
    form = {"From": "EXOTEL", "To": "+919876543210", "Body": "Due today", **DLT}
    answer = requests.post(url, data=form, auth=(simulator.api_key, simulator.api_token), timeout=10)
    return str(answer.json()["SMSMessage"]["Sid"])


def first_event(trigger: ExotelSmsTrigger) -> dict[str, Any]:
    async def run() -> dict[str, Any]:
        async for event in trigger.run():
            return dict(event.payload)
        raise AssertionError("no event")

    return asyncio.run(run())


def test_a_message_still_queued_at_the_deadline_gives_a_timeout_event(exotel_connection_env):
    sid = send_over_http(exotel_connection_env)  # the frozen clock keeps it queued
    event = first_event(ExotelSmsTrigger(sid, deadline=time.time() + 0.05, poll_interval=0.02))
    assert (event["status"], event["sms"]["Status"]) == ("timeout", "queued")
    with pytest.raises(ExotelWaitTimeout, match=sid):
        sms_from_event(event, sms_sid=sid)


def test_an_unknown_sid_gives_an_error_event_rebuilt_as_the_typed_error(exotel_connection_env):
    event = first_event(ExotelSmsTrigger("nosuchsms", deadline=time.time() + 60))
    assert event["status"] == "error" and event["status_code"] == 404
    with pytest.raises(ExotelNotFoundError):
        sms_from_event(event, sms_sid="nosuchsms")


async def test_sms_and_call_triggers_of_one_connection_share_its_one_watcher(frozen_simulator):
    [call] = place_calls(frozen_simulator, [number(1)])
    [sid] = send_sms(frozen_simulator, [number(2)])  # queued while the simulator's clock stands still
    with watchers_on(VirtualClock(1000)) as clock:
        deadline = clock.now() + 7200
        triggers = [
            ExotelCallTrigger(call, deadline=deadline, poll_interval=30),
            ExotelSmsTrigger(sid, deadline=deadline, poll_interval=30),
        ]
        tasks = [asyncio.ensure_future(trigger_event(trigger)) for trigger in triggers]
        await wait_until(lambda: [(w.watching, w.watching_sms) for w in active_watchers()] == [(1, 1)])
        [watcher] = active_watchers()
        await wait_until(lambda: watcher.stats.rounds >= 2)  # both asked about while in flight

        frozen_simulator.advance(1000)  # the call has ended and is priced; the SMS is sent
        call_event, sms_event = await asyncio.gather(*tasks)

    assert (call_event["status"], call_event["call"]["Status"]) == ("final", "completed")
    assert (sms_event["status"], sms_event["sms"]["Status"], sms_event["sms"]["Price"]) == (
        "final",
        "sent",
        0.2,
    )
    assert active_watchers() == [] and watcher.client._http.is_closed
    assert watcher.stats.sms_reads == len(sms_reads(frozen_simulator)) >= 2
    assert [sids_in(r) for r in listing_requests(frozen_simulator)] == [
        [call]
    ] * watcher.stats.listing_requests
    assert lookup_requests(frozen_simulator) == []


@pytest.mark.parametrize(
    "event",
    [
        None,
        {"status": "final", "sms_sid": "other"},
        {"status": "final", "sms_sid": "s1", "sms": {"Sid": "s1", "Status": "queued"}},
    ],
)
def test_events_the_trigger_never_sends_are_a_watch_error_naming_the_sms(event):
    with pytest.raises(ExotelWatchError, match="SMS s1"):
        sms_from_event(event, sms_sid="s1")
