"""Helpers for trigger tests: place calls and send SMS on the simulator, run triggers as the triggerer does."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from exotel_provider.calls.connect_request import build_connect_request
from exotel_provider.client.settings import ExotelSettings
from exotel_provider.client.sync_client import ExotelClient
from exotel_provider.simulator.server import ExotelSimulator
from exotel_provider.sms.send_request import build_sms_request
from exotel_provider.triggers.exotel import ExotelCallTrigger

EXOPHONE = "08047112345"
SMS_DLT = {"dlt_entity_id": "1101456780000012345", "dlt_template_id": "1107161234567890123"}


def simulator_settings(simulator: ExotelSimulator, **extra: Any) -> ExotelSettings:
    connection = simulator.connection()
    return ExotelSettings.from_connection(
        login=connection["login"],
        password=connection["password"],
        host=connection["host"],
        extra={**connection["extra"], **extra},
    )


def place_calls(simulator: ExotelSimulator, numbers: Iterable[str], **script: Any) -> list[str]:
    """Place one call per number over HTTP (scripted with ``script`` when given); returns the Sids."""
    sids = []
    with ExotelClient(simulator_settings(simulator)) as client:
        for number in numbers:
            if script:
                simulator.script(number, **script)
            request = build_connect_request(
                account_sid=simulator.account_sid, from_number=number, caller_id=EXOPHONE, app_id=926
            )
            sids.append(client.place_call(request).sid)
    return sids


def send_sms(simulator: ExotelSimulator, numbers: Iterable[str], *, outcome: str | None = None) -> list[str]:
    """Send one SMS per number over HTTP (ending in ``outcome`` when given); returns the Sids."""
    sids = []
    with ExotelClient(simulator_settings(simulator)) as client:
        for to_number in numbers:
            if outcome is not None:
                simulator.script_sms(to_number, outcome)
            request = build_sms_request(
                to_number=to_number, from_number="EXOTEL", body="Your payment is due.", **SMS_DLT
            )
            sids.append(client.send_sms(request).sid)
    return sids


def sms_reads(simulator: ExotelSimulator) -> list[Any]:
    """The GETs of one SMS by its Sid, in order."""
    return [r for r in simulator.requests if r.method == "GET" and "/SMS/Messages/" in r.path]


def number(index: int) -> str:
    return f"+9198765{index:05d}"


async def first_event(trigger: ExotelCallTrigger) -> dict[str, Any]:
    """Iterate ``run()`` like the triggerer does, and return the one event's payload."""
    events = [event async for event in trigger.run()]
    assert len(events) == 1, events
    return dict(events[0].payload)


async def wait_until(condition: Any, *, timeout: float = 20.0) -> None:
    """Yield to the event loop until ``condition()`` holds (the test fails if it never does)."""
    loop = asyncio.get_running_loop()
    give_up = loop.time() + timeout
    while not condition():
        assert loop.time() < give_up, "condition never became true"
        await asyncio.sleep(0.01)


def listing_requests(simulator: ExotelSimulator) -> list[Any]:
    return [r for r in simulator.requests if r.method == "GET" and r.path.endswith(("/Calls", "/Calls.json"))]


def lookup_requests(simulator: ExotelSimulator) -> list[Any]:
    return [
        r
        for r in simulator.requests
        if r.method == "GET" and "/Calls/" in r.path and not r.path.endswith(("/connect", "/connect.json"))
    ]


def sids_in(request: Any) -> list[str]:
    return request.query.get("Sid", [""])[0].split(",")
