"""One bad call stalls nobody else: an unreadable listing entry or a listing refused with a 4xx
affects only the calls it is about. The watcher against a scripted stand-in client."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

from exotel_provider.calls.model import Call
from exotel_provider.calls.status import CallStatus
from exotel_provider.client.async_client import EndedCalls
from exotel_provider.errors import (
    ExotelBadRequestError,
    ExotelNotFoundError,
    ExotelResponseError,
)
from exotel_provider.watching.watcher import MAX_UNREADABLE_LOOKUPS, CallWatcher

A, B, C = "a" * 32, "b" * 32, "c" * 32
UNREADABLE = "Price in Exotel's answer is not a number: 'N/A'"


class FastClock:
    """Epoch seconds passing 10,000 times faster than real ones."""

    def __init__(self) -> None:
        self._start, self._real = time.time(), time.monotonic()

    def now(self) -> float:
        return self._start + (time.monotonic() - self._real) * 10_000

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds) / 10_000)


def ended(sid: str) -> Call:
    return Call(
        sid=sid, status=CallStatus.COMPLETED, raw_status="completed", price=1.5, duration=30, end_time="x"
    )


class ScriptedClient:
    """Answers the watcher's two requests as a test says; records what was asked."""

    def __init__(self, listing: Callable[[list[str]], EndedCalls], details: Callable[[str], Call]) -> None:
        self.clock = FastClock()
        self.listing, self.details = listing, details
        self.listed: list[list[str]] = []
        self.looked_up: list[str] = []

    async def get_ended_calls_batch(self, sids: list[str]) -> EndedCalls:
        self.listed.append(list(sids))
        return self.listing(list(sids))

    async def get_call(self, sid: str) -> Call:
        self.looked_up.append(sid)
        return self.details(sid)

    async def aclose(self) -> None:
        return None


async def outcomes(client: ScriptedClient, sids: list[str]) -> dict[str, Any]:
    watcher = CallWatcher(client)  # type: ignore[arg-type]
    watches = [watcher.watch(sid, poll_interval=30) for sid in sids]
    deadline = client.clock.now() + 6 * 3600
    results = await asyncio.gather(
        *(watcher.wait(w, deadline=deadline) for w in watches), return_exceptions=True
    )
    await watcher.aclose()
    return dict(zip(sids, results, strict=True))


def unreadable_details(sid: str) -> Call:
    raise ExotelResponseError(UNREADABLE)


async def test_an_unreadable_entry_ends_only_its_own_watch_after_bounded_lookups():
    client = ScriptedClient(
        lambda sids: EndedCalls(found={s: ended(s) for s in sids if s != B}, unreadable={B: UNREADABLE}),
        unreadable_details,
    )

    results = await outcomes(client, [A, B, C])

    assert results[A].call.sid == A and results[A].is_final
    assert results[C].call.sid == C and results[C].is_final
    assert isinstance(results[B], ExotelResponseError)
    assert B in str(results[B]) and "other calls are not affected" in str(results[B])
    assert client.looked_up == [B] * MAX_UNREADABLE_LOOKUPS
    assert client.listed[0] == [A, B, C]


async def test_an_unreadable_entry_that_reads_fine_on_its_own_is_delivered():
    client = ScriptedClient(
        lambda sids: EndedCalls(found={s: ended(s) for s in sids if s != B}, unreadable={B: UNREADABLE}),
        ended,
    )

    results = await outcomes(client, [A, B])

    assert results[B].call.sid == B and results[B].is_final
    assert client.looked_up == [B]


async def test_a_listing_refused_with_a_4xx_falls_back_to_one_lookup_per_call():
    def refuse(sids: list[str]) -> EndedCalls:
        raise ExotelBadRequestError("HTTP 400 from h while listing calls: Invalid Sid", status_code=400)

    def details(sid: str) -> Call:
        if sid == B:
            raise ExotelNotFoundError(f"HTTP 404 from h while reading call {sid}", status_code=404)
        return ended(sid)

    client = ScriptedClient(refuse, details)

    results = await outcomes(client, [A, B, C])

    assert results[A].is_final and results[C].is_final
    assert isinstance(results[B], ExotelNotFoundError)
    assert sorted(client.looked_up) == [A, B, C]


@pytest.mark.parametrize("status", [401, 403])
async def test_a_listing_refused_for_every_call_fails_each_with_its_own_typed_error(status):
    from exotel_provider.client.error_mapping import error_for_answer

    def refuse(sids: list[str]) -> EndedCalls:
        raise error_for_answer(status_code=status, body=b"", headers={}, host="h", action="listing calls")

    def details(sid: str) -> Call:
        raise error_for_answer(
            status_code=status, body=b"", headers={}, host="h", action=f"reading call {sid}"
        )

    client = ScriptedClient(refuse, details)

    results = await outcomes(client, [A, B])

    assert all(getattr(result, "status_code", None) == status for result in results.values())
    assert sorted(client.looked_up) == [A, B]
