"""The tests' one clock: simulated epoch seconds for the watchers, budgets and sensors under test.

Frozen (``time_scale=0``, the default): time moves only by ``advance()`` or by ``sleep()``, which
jumps forward at once, so one sleeper's waits cost no real time. Compressed (``time_scale > 0``):
time also runs ``time_scale`` times faster than real time and ``sleep()`` really waits, scaled
down, so many concurrent sleepers (a watcher and its triggers) keep their order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from typing import Protocol
from unittest import mock

from exotel_provider.simulator.clock import SimulatedClock
from exotel_provider.watching import registry


class SimulatedTime(Protocol):
    """Anything with a simulated time that can jump forward: a SimulatedClock, an ExotelSimulator."""

    def now(self) -> float: ...

    def advance(self, seconds: float) -> float: ...


class VirtualClock:
    """A ``Clock`` (``now()`` and ``async sleep()``) on simulated time; see the module docstring.

    ``follows=simulator`` reads a frozen simulator's time and moves it on each ``sleep()``, so that
    waits the code under test makes (a 429's Retry-After) pass on the simulator too.
    """

    def __init__(
        self, time_scale: float = 0.0, *, start: float | None = None, follows: SimulatedTime | None = None
    ) -> None:
        if follows is not None and (time_scale or start is not None):
            raise ValueError("a clock that follows a simulator takes its time from it")
        self.time_scale = float(time_scale)
        self.source: SimulatedTime = follows or SimulatedClock(time_scale, start=start)

    def now(self) -> float:
        return self.source.now()

    def advance(self, seconds: float) -> float:
        return self.source.advance(seconds)

    async def sleep(self, seconds: float) -> None:
        if self.time_scale == 0:
            self.source.advance(max(0.0, seconds))
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(max(0.0, seconds) / self.time_scale)


@contextlib.contextmanager
def watchers_on(clock: VirtualClock) -> Iterator[VirtualClock]:
    """Shared call watchers created inside this block (by triggers) run on ``clock``."""
    with mock.patch.object(registry, "_clock", clock):
        yield clock
