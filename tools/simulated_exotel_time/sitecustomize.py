"""Run at start-up by every process of a local Airflow (``tools.local_airflow`` puts this folder first
on their ``PYTHONPATH``): the provider's placement clock reads the simulator's time.

Against the real Exotel this machine's clock agrees with Exotel's (the connection test warns when it
does not), so send times, lost answers' windows and the moment a window is certainly listed are in
Exotel's time. The simulator's clock runs ``time_scale`` times faster than the wall clock; giving the
provider that clock keeps the same agreement, and every wait on it (a lost answer's window: about 36
minutes of Exotel time) passes ``time_scale`` times faster. Its ``sleep`` sleeps real seconds: a poll
never comes sooner than it would against Exotel.

``EXOTEL_SIMULATED_TIME`` (JSON ``{"sim_time", "real_time", "time_scale"}``: the simulator's time at one
moment of this machine's clock) says where the simulator's clock is; without it nothing changes. A
simulator whose clock is moved on by hand (``/_simulator/advance``) leaves this clock behind.
"""

from __future__ import annotations

import json
import os
import time


def _install(spec: str) -> None:
    from exotel_provider.placement import guard

    read = json.loads(spec)
    sim_time, real_time, scale = float(read["sim_time"]), float(read["real_time"]), float(read["time_scale"])

    def now() -> float:
        return sim_time + (time.time() - real_time) * scale

    guard.DEFAULT_CLOCK = guard.FunctionClock(now, time.sleep)


if os.environ.get("EXOTEL_SIMULATED_TIME"):
    _install(os.environ["EXOTEL_SIMULATED_TIME"])
