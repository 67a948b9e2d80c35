"""The escalation chain: next number while calls end unanswered, stop at an answer or the deadline."""

from __future__ import annotations

import pytest

from exotel_provider.calls.model import Call
from exotel_provider.calls.status import parse_status
from exotel_provider.paging.escalation import EscalationChain, arun_chain, run_chain


class FakeExotel:
    """Calls whose statuses follow a script per number: a list of what each read returns."""

    def __init__(self, script: dict[str, list[str]]) -> None:
        self.script = script
        self.placed: list[str] = []
        self.reads: dict[str, list[str]] = {}

    def place(self, number: str) -> Call:
        self.placed.append(number)
        sid = f"sid{len(self.placed)}"
        self.reads[sid] = list(self.script[number])
        return self._call(sid, "queued")

    def read(self, sid: str) -> Call:
        statuses = self.reads[sid]
        return self._call(sid, statuses.pop(0) if len(statuses) > 1 else statuses[0])

    @staticmethod
    def _call(sid: str, status: str) -> Call:
        return Call(sid=sid, status=parse_status(status), raw_status=status)


def test_busy_then_answered_stops_before_the_third_number():
    exotel = FakeExotel({"a": ["ringing", "busy"], "b": ["ringing", "completed"], "c": ["completed"]})
    chain = run_chain(
        EscalationChain(["a", "b", "c"], deadline=1e12), place=exotel.place, read=exotel.read, poll_seconds=0
    )
    assert exotel.placed == ["a", "b"]
    assert [c.raw_status for c in chain.calls] == ["busy", "completed"]
    assert chain.outcome == "answered at step 2"


@pytest.mark.parametrize("ending", ["no-answer", "failed", "canceled"])
def test_every_unanswered_ending_escalates(ending: str):
    exotel = FakeExotel({"a": [ending], "b": [ending]})
    chain = run_chain(
        EscalationChain(["a", "b"], deadline=1e12), place=exotel.place, read=exotel.read, poll_seconds=0
    )
    assert exotel.placed == ["a", "b"]
    assert chain.outcome == "nobody answered (2 calls)"


def test_the_deadline_bounds_the_whole_chain():
    now = [0.0]
    exotel = FakeExotel({"a": ["ringing"], "b": ["completed"]})

    def sleep(seconds: float) -> None:
        now[0] += seconds

    chain = run_chain(
        EscalationChain(["a", "b"], deadline=100.0),
        place=exotel.place,
        read=exotel.read,
        poll_seconds=30,
        sleep=sleep,
        clock=lambda: now[0],
    )
    assert exotel.placed == ["a"]  # still ringing at the deadline: nobody else is called
    assert chain.outcome.startswith("escalation time ran out while call sid1 was ringing")


async def test_the_async_chain_decides_the_same():
    exotel = FakeExotel({"a": ["busy"], "b": ["completed"], "c": ["completed"]})

    async def place(number: str) -> Call:
        return exotel.place(number)

    async def read(sid: str) -> Call:
        return exotel.read(sid)

    chain = await arun_chain(
        EscalationChain(["a", "b", "c"], deadline=1e12), place=place, read=read, poll_seconds=0
    )
    assert exotel.placed == ["a", "b"]
    assert chain.outcome == "answered at step 2"
