"""CallingWindowTrigger: wait in the triggerer until a calling window opens, on the placement clock.

A campaign held back at its calling window's end defers until the window opens again (no worker slot
is held meanwhile). The moment is on the provider's placement clock
(:data:`exotel_provider.placement.guard.DEFAULT_CLOCK`), the clock every "may I dial now?" check
reads: this machine's clock in a deployment, a simulated Exotel's where one stands in for Exotel. So
the wait reads that clock, not the triggerer's wall clock, and reads it again after each bounded
sleep: a clock that jumps forward or runs faster than real time is followed, and the task resumes
when the clock the resumed task judges by says the window is open. One event comes out:

``{"status": "open", "opens_at": <epoch seconds>, "now": <the placement clock then>}``
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from exotel_provider.placement import guard as guard_module

log = logging.getLogger(__name__)

OPEN = "open"
"""The event's status: the placement clock has reached the window's opening."""
CHECK_SECONDS = 60.0
"""Longest wait between two readings of the placement clock, in real seconds and in the clock's own
seconds alike (a clock running 120 times faster is read every half second)."""
FIRST_CHECK_SECONDS = 1.0
"""The first wait, after which the clock's speed against real time is known."""
SHORTEST_CHECK_SECONDS = 0.05
"""No wait is shorter (the clock is read at most 20 times a second)."""
SETTLE_SECONDS = 10.0
"""The trigger never fires sooner than this (real seconds) after it started: Airflow's scheduler can
fail a deferred task that resumes before it has taken in the end of the try that deferred
(apache/airflow#72716), which a window opening seconds after the deferral would risk."""


class CallingWindowTrigger(BaseTrigger):
    """Fires once the placement clock reads ``opens_at`` or later.

    :param opens_at: when the calling window opens, in epoch seconds on the placement clock.
    :param window: the window for people (e.g. ``08:00-19:00 every day (Asia/Kolkata)``), for the log.
    """

    def __init__(self, opens_at: float, *, window: str = "") -> None:
        super().__init__()
        self.opens_at = float(opens_at)
        self.window = str(window)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """The trigger's class path and kwargs (plain numbers and text)."""
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {"opens_at": self.opens_at, "window": self.window},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Sleep in bounded steps, re-reading the placement clock, until the window opens."""
        now, real = placement_now(), _real_seconds()
        started = real
        log.info(
            "Exotel: waiting for the calling window (%s) to open, %.0f s from now on the placement clock",
            self.window or "calling hours", max(0.0, self.opens_at - now),
        )  # fmt: skip
        speed: float | None = None
        while now < self.opens_at:
            await _sleep(next_check(self.opens_at - now, speed))
            later, later_real = placement_now(), _real_seconds()
            if later_real > real:
                speed = (later - now) / (later_real - real)
            now, real = later, later_real
        if real - started < SETTLE_SECONDS:
            await _sleep(SETTLE_SECONDS - (real - started))
            now = placement_now()
        log.info("Exotel: the calling window (%s) is open", self.window or "calling hours")
        yield TriggerEvent({"status": OPEN, "opens_at": self.opens_at, "now": now})


def next_check(remaining: float, speed: float | None) -> float:
    """Real seconds to sleep before reading the clock again, ``remaining`` clock seconds before the
    window opens, the clock running ``speed`` times as fast as real time (None: not known yet)."""
    if speed is None:
        step = min(remaining, FIRST_CHECK_SECONDS)
    else:
        step = min(remaining, CHECK_SECONDS) / max(speed, 1.0)
    return max(step, SHORTEST_CHECK_SECONDS)


def placement_now() -> float:
    """The placement clock (read anew each time: a deployment may have replaced it)."""
    return guard_module.DEFAULT_CLOCK.now()


async def _sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


def _real_seconds() -> float:
    return time.monotonic()
