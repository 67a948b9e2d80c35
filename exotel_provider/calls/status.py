"""Exotel call statuses and which of them are final."""

from __future__ import annotations

import re
from enum import StrEnum

_STATUS_WORD = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_NOT_STATUSES = frozenset({"answered", "terminal"})
"""Exotel's StatusCallback event types: easily mistaken for statuses, never one."""


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


IN_FLIGHT_STATUSES: frozenset[CallStatus] = frozenset(
    {CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS}
)
"""The documented statuses of a call that has not ended yet."""


def is_terminal_status(status: CallStatus | None, raw_status: str | None) -> bool:
    """Whether a call in this status has ended.

    A status Exotel does not document counts as ended (with its raw text kept): only the documented
    in-flight statuses mean "still going", and the listing shows only ended calls, so waiting for an
    unknown status to change could last for ever. A call with no status at all is not ended yet.
    """
    if status is not None:
        return status in TERMINAL_STATUSES
    return bool(raw_status and raw_status.strip())


def status_key(status: CallStatus | None, raw_status: str | None) -> str:
    """The status as compared with ``success_statuses``: the documented value, or the raw text lowered."""
    return status.value if status is not None else (raw_status or "").strip().lower()


def parse_status(value: str | None) -> CallStatus | None:
    """The status for Exotel's string, or None when it is missing or not one Exotel documents."""
    if not value:
        return None
    try:
        return CallStatus(value.strip().lower())
    except ValueError:
        return None


def coerce_statuses(values: object, *, field: str = "success_statuses") -> frozenset[str]:
    """Turn user input (a status, or an iterable of them) into status keys.

    Documented terminal statuses come back as :class:`CallStatus`; a status Exotel does not document
    (e.g. one a newer Exotel sends) is kept as its lowered text, so a user can count it as success.
    The documented in-flight statuses and anything that is not a status word are refused.
    """
    from exotel_provider.errors import ExotelValidationError

    items = [values] if isinstance(values, str) else list(values)  # type: ignore[call-overload]
    statuses: set[str] = set()
    for item in items:
        text = str(item).strip().lower()
        status = parse_status(text)
        if status in IN_FLIGHT_STATUSES or text in _NOT_STATUSES or not _STATUS_WORD.match(text):
            raise ExotelValidationError(
                field,
                f"{item!r} is not a terminal Exotel call status",
                "Use some of: " + ", ".join(sorted(TERMINAL_STATUSES)) + " (or a status Exotel "
                "reports that its documentation does not list).",
            )
        statuses.add(status if status is not None else text)
    if not statuses:
        raise ExotelValidationError(field, "no status given", "Name at least one terminal status.")
    return frozenset(statuses)
