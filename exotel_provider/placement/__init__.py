"""The never-call-twice guard: what a task remembers across retries, and how a call whose placing
answer was lost is found again. No Airflow imports; see :mod:`exotel_provider.placement.guard`."""

from exotel_provider.placement.guard import (
    CallSource,
    Clock,
    GuardPolicy,
    Origin,
    Placement,
    PlacementGuard,
    WallClock,
)
from exotel_provider.placement.reconciliation import PlacementAttempt, Verdict, judge
from exotel_provider.placement.state_store import DEFAULT_KEY_PREFIX, PlacementRecord, StateStore

__all__ = [
    "DEFAULT_KEY_PREFIX",
    "CallSource",
    "Clock",
    "GuardPolicy",
    "Origin",
    "Placement",
    "PlacementAttempt",
    "PlacementGuard",
    "PlacementRecord",
    "StateStore",
    "Verdict",
    "WallClock",
    "judge",
]
