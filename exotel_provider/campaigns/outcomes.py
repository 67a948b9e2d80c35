"""A campaign's calls and their outcomes, as they travel through XCom. Pure: no Airflow, no I/O.

Each entry of a campaign is a dict: ``key`` (unique, e.g. a reminder id) plus the
``ExotelConnectOperator`` arguments of its call (``from_number``, ``app_id`` ...). Each outcome is a
dict: the entry's ``key``, the call's ``sid`` and final ``status``, ``price``, ``duration``,
``start_time``, ``end_time``, ``placed_at``, and ``error`` for an entry that was not attempted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from exotel_provider.calls.calling_hours import PREFERRED_TIME_FIELDS, preferred_times
from exotel_provider.calls.model import Call
from exotel_provider.campaigns.not_called import NOT_CALLED
from exotel_provider.errors import ExotelValidationError

NOT_PLACED = "not placed"
"""Status of an entry that was never attempted: Exotel refused it (e.g. DND) or it was invalid."""
OUTCOME_UNKNOWN = "outcome unknown"
"""Status of a call that was placed (or may have been) but whose final details could not be had."""
CALL_PARAMETERS = frozenset(
    {
        "from_number", "to_number", "caller_id", "app_id", "url", "call_type", "time_limit", "time_out",
        "status_callback", "status_callback_events", "status_callback_content_type", "custom_field",
        "record", "recording_channels", "recording_format", "wait_url",
    }
)  # fmt: skip
PREFERRED = frozenset({"key", *PREFERRED_TIME_FIELDS})
"""An entry's fields besides the call's arguments."""


@dataclass(frozen=True)
class CampaignEntry:
    """One person to call: a unique ``key`` and the arguments of the call."""

    key: str
    parameters: dict[str, Any] = field(default_factory=dict)
    preferred_times: dict[str, str] = field(default_factory=dict)
    """``call_after`` / ``call_before`` (local ``HH:MM``): when this person asked to be called."""


def parse_entries(calls: Any, defaults: Mapping[str, Any] | None = None) -> list[CampaignEntry]:
    """Check the shape of a campaign's call list (no network); ``defaults`` fill missing arguments."""
    if calls is None:
        return []
    if isinstance(calls, (Mapping, str)) or not isinstance(calls, Iterable):
        raise ExotelValidationError("calls", f"got {type(calls).__name__}", "Pass a list of dicts.")
    entries: list[CampaignEntry] = []
    seen: set[str] = set()
    for index, call in enumerate(calls):
        if not isinstance(call, Mapping):
            raise ExotelValidationError(
                "calls", f"entry {index} is a {type(call).__name__}", "Each call is a dict."
            )
        key = str(call.get("key") or "").strip()
        problem = _entry_problem(index, key, call, seen)
        if problem:
            raise ExotelValidationError(
                "calls", problem, "Give each call a unique 'key' and only ExotelConnectOperator arguments."
            )
        seen.add(key)
        parameters = {**(defaults or {}), **{k: v for k, v in call.items() if k not in PREFERRED}}
        kept = {k: v for k, v in parameters.items() if v is not None}
        entries.append(CampaignEntry(key, kept, preferred_times(call)))
    return entries


def _entry_problem(index: int, key: str, call: Mapping[str, Any], seen: set[str]) -> str | None:
    unknown = sorted(set(call) - CALL_PARAMETERS - PREFERRED)
    if unknown:
        return f"entry {index} has unknown fields {unknown}"
    if not key:
        return f"entry {index} has no key"
    if key in seen:
        return f"entry {index} repeats the key {key!r}"
    return None


def placed_outcome(key: str, sid: str, placed_at: float | None) -> dict[str, Any]:
    """The outcome of a placed call before its final details are known."""
    return {
        "key": key, "sid": sid, "status": OUTCOME_UNKNOWN, "price": None, "duration": None,
        "start_time": None, "end_time": None, "placed_at": placed_at, "error": None,
    }  # fmt: skip


def not_placed_outcome(key: str, error: str, *, unknown: bool = False) -> dict[str, Any]:
    """The outcome of an entry no call came of; ``unknown``: a call may exist, its Sid is not known."""
    outcome = placed_outcome(key, "", None)
    outcome.update(sid=None, status=OUTCOME_UNKNOWN if unknown else NOT_PLACED, error=error)
    return outcome


def with_final_call(outcome: dict[str, Any], call: Call) -> dict[str, Any]:
    """The outcome completed with the final details Exotel reported for its call."""
    return {
        **outcome,
        "status": call.raw_status or OUTCOME_UNKNOWN,
        "price": call.price,
        "duration": call.duration,
        "start_time": call.start_time,
        "end_time": call.end_time,
    }


def was_attempted(outcome: Mapping[str, Any]) -> bool:
    """False for an entry that could not be attempted, a calling rule kept back, or whose call is in an
    unknown state."""
    return outcome.get("status") not in (NOT_PLACED, OUTCOME_UNKNOWN, NOT_CALLED)


def count_statuses(outcomes: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many outcomes ended in each status."""
    counts: dict[str, int] = {}
    for outcome in outcomes:
        status = str(outcome.get("status"))
        counts[status] = counts.get(status, 0) + 1
    return dict(sorted(counts.items()))
