"""The one place that decides whether a call is done and priced.

The sensor's poke, the operator's wait and the deferrable trigger all call :func:`assess_call`,
so every path gives the same answer for the same call.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import tzinfo
from enum import StrEnum

from exotel_provider.calls.exotel_time import DEFAULT_EXOTEL_TIME_ZONE, parse_exotel_time
from exotel_provider.calls.model import Call
from exotel_provider.calls.status import DEFAULT_SUCCESS_STATUSES, status_key
from exotel_provider.errors import ExotelValidationError

DEFAULT_POLL_INTERVAL_SECONDS = 30.0
"""How often a call is asked about while it may change, unless told otherwise (sensor, operator,
trigger, watcher, placement guard and the example DAGs)."""
DEFAULT_PRICING_GRACE_SECONDS = 600.0
"""How long to wait for Price/Duration/EndTime after a call ended (Exotel: ~2 min, older docs ~5)."""
DEFAULT_WAIT_TIMEOUT_SECONDS = 6 * 3600.0
"""How long the sensor, the operator's wait and the trigger wait for a call when not told: 6 hours,
beyond Exotel's 4-hour call limit plus ringing and the pricing grace period."""


class CallStage(StrEnum):
    """Where a call stands for a waiting task: in flight, ended but not priced yet, or final."""

    IN_FLIGHT = "in-flight"
    """Not ended yet (queued, ringing, in progress, or a status Exotel does not document)."""
    AWAITING_PRICE = "awaiting-price"
    """Ended; Price, Duration or EndTime still empty, within the grace period."""
    FINAL = "final"
    """Ended and priced, or ended and the grace period for pricing ran out."""


@dataclass(frozen=True)
class Assessment:
    """Where a call stands, and what to tell the user about it."""

    stage: CallStage
    call: Call
    priced: bool
    message: str

    @property
    def is_final(self) -> bool:
        """True once the call has ended and is priced (or its pricing grace period ran out)."""
        return self.stage is CallStage.FINAL


def assess_call(
    call: Call,
    *,
    ended_seen_at: float | None,
    now: float,
    pricing_grace_seconds: float = DEFAULT_PRICING_GRACE_SECONDS,
    ended_at: float | None = None,
) -> Assessment:
    """Judge a call: still in flight, ended but waiting for its price, or final.

    ``ended_seen_at`` is when the caller first saw the call ended (any clock, the same as ``now``);
    None if not seen ended before. ``ended_at`` is when the call itself ended, on the same clock, if
    the caller can tell (:func:`call_ended_at`, on the wall clock). A call that ended without a price
    becomes final, unpriced, once ``pricing_grace_seconds`` have passed since the earlier of the two:
    calls that never connected may never be priced.
    """
    if ended_at is not None:
        ended_seen_at = min(ended_at, ended_seen_at if ended_seen_at is not None else now)
    if not call.is_terminal:
        return Assessment(
            CallStage.IN_FLIGHT, call, False, f"call {call.sid} is {call.raw_status or 'unknown'}"
        )
    if call.is_priced:
        return Assessment(
            CallStage.FINAL, call, True, f"call {call.sid} ended {call.raw_status} and is priced"
        )
    waited = 0.0 if ended_seen_at is None else max(0.0, now - ended_seen_at)
    if waited >= pricing_grace_seconds:
        missing = ", ".join(
            name
            for name, value in (
                ("Price", call.price),
                ("Duration", call.duration),
                ("EndTime", call.end_time),
            )
            if value is None
        )
        return Assessment(
            CallStage.FINAL,
            call,
            False,
            f"call {call.sid} ended {call.raw_status} but Exotel has not filled in {missing} after "
            f"{waited:.0f} s (grace period {pricing_grace_seconds:.0f} s); reporting it without them",
        )
    return Assessment(
        CallStage.AWAITING_PRICE,
        call,
        False,
        f"call {call.sid} ended {call.raw_status}; waiting for Exotel to fill in its price",
    )


def is_successful(call: Call, success_statuses: Collection[str] = DEFAULT_SUCCESS_STATUSES) -> bool:
    """The call ended in one of the statuses the task counts as success (an undocumented status
    only when the user listed it)."""
    return call.is_terminal and status_key(call.status, call.raw_status) in success_statuses


def call_ended_at(call: Call, time_zone: tzinfo = DEFAULT_EXOTEL_TIME_ZONE) -> float | None:
    """When the call itself ended, in epoch seconds: its ``EndTime``, else its ``DateUpdated``.

    Lets the pricing grace period run out even when nobody remembers when the call was first seen
    ended (a rescheduled sensor without a task state store). None for a call still in flight.
    """
    if not call.is_terminal:
        return None
    return parse_exotel_time(call.end_time, time_zone) or parse_exotel_time(call.date_updated, time_zone)


def positive_seconds(field: str, value: object, *, zero_allowed: bool = False) -> float:
    """A waiting parameter in seconds (a number or a timedelta): finite and above zero (or at least
    zero when ``zero_allowed``), or a clear :class:`ExotelValidationError` naming ``field``."""
    seconds = getattr(value, "total_seconds", None)
    number = seconds() if callable(seconds) else value
    bound = "zero or more" if zero_allowed else "above zero"
    if isinstance(number, bool) or not isinstance(number, (int, float)) or not math.isfinite(number):
        raise ExotelValidationError(
            field, f"{value!r} is not a number of seconds", f"Give a number of seconds {bound}, e.g. 30."
        )
    if number < 0 or (number == 0 and not zero_allowed):
        raise ExotelValidationError(field, f"{value!r} is out of range", f"Give a number of seconds {bound}.")
    return float(number)
