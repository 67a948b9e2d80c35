"""Escalation: call the next number when the previous call ended busy, unanswered or failed.

A call is judged with the sensor's own rule, :func:`~exotel_provider.calls.progress.assess_call`: once it
has left the in-flight stage it has ended; it reached its person if it ended ``completed``. The chain
stops at the first answered call, after the last number, or at its deadline (a bound on the whole chain).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from exotel_provider.calls.model import Call
from exotel_provider.calls.progress import CallStage, assess_call, is_successful

DEFAULT_ESCALATION_TIMEOUT = 900.0
"""Seconds the whole chain may take, calls and waits included."""
DEFAULT_ESCALATION_POLL_SECONDS = 15.0


@dataclass
class EscalationChain:
    """The numbers to call in order, the chain's deadline (wall clock), and what each call did."""

    numbers: Sequence[str]
    deadline: float
    calls: list[Call] = field(default_factory=list)
    outcome: str = "not started"
    stopped: bool = False

    def next_number(self, now: float) -> str | None:
        """The number to call next, or None when the chain is over (and ``outcome`` says why)."""
        if self.stopped:
            return None
        if self.calls and is_successful(self.calls[-1]):
            self.outcome = f"answered at step {len(self.calls)}"
            return None
        if len(self.calls) == len(self.numbers):
            self.outcome = f"nobody answered ({len(self.calls)} calls)"
            return None
        if self.calls and now >= self.deadline:
            self.outcome = f"escalation time ran out after {len(self.calls)} calls"
            return None
        return self.numbers[len(self.calls)]

    def is_waiting(self, call: Call, now: float) -> bool:
        """Keep watching ``call``: it is still in flight (the sensor's rule) and the chain has time left."""
        return not _has_ended(call, now) and now < self.deadline

    def record(self, call: Call, now: float) -> None:
        """The last look at a placed call; one still in flight at the deadline ends the chain."""
        self.calls.append(call)
        if not _has_ended(call, now):
            self.outcome = f"escalation time ran out while call {call.sid} was {call.raw_status}"
            self.stopped = True


def _has_ended(call: Call, now: float) -> bool:
    """A call has ended once :func:`assess_call` no longer finds it in flight (its price may follow)."""
    return assess_call(call, ended_seen_at=None, now=now).stage is not CallStage.IN_FLIGHT


def run_chain(
    chain: EscalationChain,
    *,
    place: Callable[[str], Call],
    read: Callable[[str], Call],
    poll_seconds: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> EscalationChain:
    """Call the chain's numbers one after another until one answers (blocking)."""
    while (number := chain.next_number(clock())) is not None:
        call = place(number)
        while chain.is_waiting(call, clock()):
            sleep(poll_seconds)
            call = read(call.sid)
        chain.record(call, clock())
    return chain


async def arun_chain(
    chain: EscalationChain,
    *,
    place: Callable[[str], Awaitable[Call]],
    read: Callable[[str], Awaitable[Call]],
    poll_seconds: float,
    clock: Callable[[], float] = time.time,
) -> EscalationChain:
    """:func:`run_chain` for the triggerer's event loop."""
    while (number := chain.next_number(clock())) is not None:
        call = await place(number)
        while chain.is_waiting(call, clock()):
            await asyncio.sleep(poll_seconds)
            call = await read(call.sid)
        chain.record(call, clock())
    return chain
