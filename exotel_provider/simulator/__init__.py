"""A local Exotel Voice v1 server (calls and SMS) for demos, tests and benchmarks.

An independent implementation of the documented API (it imports nothing else from
``exotel_provider``). ``ExotelSimulator`` is imported lazily so that importing this package, e.g.
through the pytest plugin, does not pull in FastAPI and uvicorn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from exotel_provider.simulator.faults import (
    CALL_PATH,
    CONNECT_PATH,
    LISTING_PATH,
    SMS_PATH,
    SMS_SEND_PATH,
    Fault,
    FaultKind,
)
from exotel_provider.simulator.scripts import CallScript, Outcome

if TYPE_CHECKING:
    from exotel_provider.simulator.server import ExotelSimulator

__all__ = [
    "CALL_PATH",
    "CONNECT_PATH",
    "LISTING_PATH",
    "SMS_PATH",
    "SMS_SEND_PATH",
    "CallScript",
    "ExotelSimulator",
    "Fault",
    "FaultKind",
    "Outcome",
]


def __getattr__(name: str) -> Any:
    if name == "ExotelSimulator":
        from exotel_provider.simulator.server import ExotelSimulator

        return ExotelSimulator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
