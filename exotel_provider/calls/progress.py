"""The one place that decides whether a call is done and priced.

The sensor's poke, the operator's wait and the deferrable trigger all call :func:`assess_call`,
so every path gives the same answer for the same call.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from exotel_provider.calls.model import Call
from exotel_provider.calls.status import DEFAULT_SUCCESS_STATUSES, CallStatus

DEFAULT_PRICING_GRACE_SECONDS = 600.0
"""How long to wait for Price/Duration/EndTime after a call ended (Exotel: ~2 min, older docs ~5)."""


class CallStage(StrEnum):
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
        return self.stage is CallStage.FINAL


def assess_call(
    call: Call,
    *,
    ended_seen_at: float | None,
    now: float,
    pricing_grace_seconds: float = DEFAULT_PRICING_GRACE_SECONDS,
) -> Assessment:
    """Judge a call: still in flight, ended but waiting for its price, or final.

    ``ended_seen_at`` is when the caller first saw the call ended (any clock, the same as ``now``);
    None if not seen ended before. A call that ended without a price becomes final, unpriced, once
    ``pricing_grace_seconds`` have passed since then: calls that never connected may never be priced.
    """
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


def is_successful(call: Call, success_statuses: frozenset[CallStatus] = DEFAULT_SUCCESS_STATUSES) -> bool:
    """The call ended in one of the statuses the task counts as success."""
    return call.status in success_statuses
