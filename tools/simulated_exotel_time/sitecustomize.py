"""Run at start-up by every process of a local Airflow (``tools.local_airflow`` puts this folder first
on their ``PYTHONPATH``): the provider's placement clock reads the simulator's time.

Against the real Exotel this machine's clock agrees with Exotel's (the connection test warns when it
does not), so send times, lost answers' windows, calling windows and the moment a window is certainly
listed are in Exotel's time. The simulator's clock runs ``time_scale`` times faster than the wall
clock; giving the provider that clock keeps the same agreement, and every wait on it (a lost answer's
window: about 36 minutes of Exotel time; a night outside calling hours) passes ``time_scale`` times
faster. Its ``sleep`` sleeps real seconds: a poll never comes sooner than it would against Exotel.

``EXOTEL_SIMULATED_TIME`` (JSON ``{"sim_time", "real_time", "time_scale", "health_url"}``: the
simulator's time at one moment of this machine's clock, and where to ask it again) says where the
simulator's clock is; without it nothing changes. The clock runs on from there at ``time_scale``.
With ``health_url`` (the simulator's ``/_simulator/health``) it also follows a simulator moved on
by hand (``/_simulator/advance``): a reading of the clock more than :data:`RESYNC_SECONDS` after the
last one asks the simulator where its clock is (a local request of a few milliseconds, made in the
reading thread, the triggerer's event loop included) and goes on from that. A simulator that does
not answer leaves the last position in use until the next try. The clock never goes back. This is
for the local deployment only: the provider's own clock is the machine's.
"""

from __future__ import annotations

import json
import os
import threading
import time

RESYNC_SECONDS = 2.0
"""Real seconds between two questions to the simulator (a jump is followed within about this)."""
RESYNC_TIMEOUT_SECONDS = 1.0
"""How long one question may take before the last known position is kept."""


class SimulatorTime:
    """The simulator's clock as this process sees it: an anchor (simulator time at a real time) run
    on at ``time_scale``, re-anchored from ``health_url`` at most every :data:`RESYNC_SECONDS`."""

    def __init__(self, sim_time: float, real_time: float, time_scale: float, health_url: str | None) -> None:
        self.sim_time, self.real_time, self.time_scale = sim_time, real_time, time_scale
        self.health_url = health_url
        self.asked_at = time.monotonic()
        self.latest = sim_time
        self._lock = threading.Lock()
        os.register_at_fork(after_in_child=self._after_fork)

    def now(self) -> float:
        """The simulator's time, in epoch seconds (never less than an earlier reading)."""
        if self.health_url and time.monotonic() - self.asked_at >= RESYNC_SECONDS:
            self._resync()
        self.latest = max(self.latest, self.sim_time + (time.time() - self.real_time) * self.time_scale)
        return self.latest

    def _resync(self) -> None:
        if not self._lock.acquire(blocking=False):
            return  # another thread is asking: go on from the anchor it will leave
        try:
            self.asked_at = time.monotonic()
            sent = time.time()
            health = _read_json(str(self.health_url))
            if health is not None and health.get("sim_time") is not None:
                self.sim_time, self.real_time = float(health["sim_time"]), (sent + time.time()) / 2
        finally:
            self._lock.release()

    def _after_fork(self) -> None:
        self._lock = threading.Lock()  # a lock held by a thread that did not survive the fork


def _read_json(url: str) -> dict | None:
    from urllib.request import urlopen

    try:
        with urlopen(url, timeout=RESYNC_TIMEOUT_SECONDS) as answer:  # the local simulator
            return json.loads(answer.read())
    except (OSError, ValueError):
        return None


def _install(spec: str) -> None:
    from exotel_provider.placement import guard

    read = json.loads(spec)
    clock = SimulatorTime(
        float(read["sim_time"]), float(read["real_time"]), float(read["time_scale"]), read.get("health_url")
    )
    guard.DEFAULT_CLOCK = guard.FunctionClock(clock.now, time.sleep)


if os.environ.get("EXOTEL_SIMULATED_TIME"):
    _install(os.environ["EXOTEL_SIMULATED_TIME"])
