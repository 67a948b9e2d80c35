"""Exotel call statuses and which of them are final."""

from __future__ import annotations

from enum import StrEnum


class CallStatus(StrEnum):
    """The ``Status`` values Exotel documents for a call."""

    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    FAILED = "failed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"


TERMINAL_STATUSES: frozenset[CallStatus] = frozenset(
    {CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.CANCELED}
)
"""Statuses after which the call will not change any more (its pricing may still be filled in)."""

UNANSWERED_STATUSES: frozenset[CallStatus] = frozenset(
    {CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.CANCELED}
)
"""Terminal statuses meaning the person did not pick up: candidates for a later redial."""

DEFAULT_SUCCESS_STATUSES: frozenset[CallStatus] = frozenset({CallStatus.COMPLETED})
"""What a sensor counts as success unless told otherwise: the call was answered and ended normally."""


def parse_status(value: str | None) -> CallStatus | None:
    """The status for Exotel's string, or None when it is missing or not one Exotel documents."""
    if not value:
        return None
    try:
        return CallStatus(value.strip().lower())
    except ValueError:
        return None


def coerce_statuses(values: object, *, field: str = "success_statuses") -> frozenset[CallStatus]:
    """Turn user input (a status, or an iterable of them) into statuses, rejecting unknown names."""
    from exotel_provider.errors import ExotelValidationError

    items = [values] if isinstance(values, str) else list(values)  # type: ignore[call-overload]
    statuses = set()
    for item in items:
        status = parse_status(str(item))
        if status is None or status not in TERMINAL_STATUSES:
            raise ExotelValidationError(
                field,
                f"{item!r} is not a terminal Exotel call status",
                "Use some of: " + ", ".join(sorted(TERMINAL_STATUSES)) + ".",
            )
        statuses.add(status)
    if not statuses:
        raise ExotelValidationError(field, "no status given", "Name at least one terminal status.")
    return frozenset(statuses)
