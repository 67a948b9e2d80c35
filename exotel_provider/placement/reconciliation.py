"""Finding a call whose placing request was sent but whose answer was lost. Pure: no I/O.

Exotel has no idempotency key and its listing never shows ongoing calls, so a lost answer is
resolved by looking, among the calls Exotel lists, for one from the same number, to the same
number (two-number calls) and from the same ExoPhone, created since the request was sent.
``DateCreated`` is read as India time, as Exotel shows it to Indian accounts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from exotel_provider.calls.connect_request import MAX_TIME_LIMIT, MAX_TIME_OUT, ConnectRequest
from exotel_provider.calls.model import Call
from exotel_provider.calls.numbers import same_number

EXOTEL_TIME_ZONE = ZoneInfo("Asia/Kolkata")
EXOTEL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
CLOCK_SKEW_SECONDS = 300.0
"""How far Exotel's clock (or ours) may be off: the search starts this long before the request."""
QUEUE_ALLOWANCE_SECONDS = 900.0
"""How long a call may wait in Exotel's queue before it rings (generous; not documented)."""
LISTING_DELAY_SECONDS = 600.0
"""How long after its end a call may take to appear in the listing (generous; not documented)."""


@dataclass(frozen=True)
class PlacementAttempt:
    """A call-placing request that was (or may have been) sent, and when."""

    request: ConnectRequest
    sent_at: float
    """Epoch seconds just before the request was sent (or the earliest it can have been)."""

    def listing_filters(self) -> dict[str, Any]:
        """Filters for the bulk listing that return every candidate (and few others)."""
        return {
            "from_numbers": [self.request.from_number],
            "date_created": f"gte:{format_exotel_time(self.sent_at - CLOCK_SKEW_SECONDS)}",
            "sort_by": "DateCreated:asc",
            "page_size": 100,
        }

    def matches(self, call: Call) -> bool:
        """Could ``call`` be the one this request placed?"""
        request = self.request
        if not same_number(call.from_, request.from_number):
            return False
        if request.to_number is not None and call.to and not same_number(call.to, request.to_number):
            return False
        if call.phone_number_sid and not same_number(call.phone_number_sid, request.caller_id):
            return False
        created = parse_exotel_time(call.date_created)
        return created is None or created >= self.sent_at - CLOCK_SKEW_SECONDS

    def candidates(self, calls: Iterable[Call], *, exclude: Iterable[str] = ()) -> list[Call]:
        """The calls among ``calls`` this request may have placed, oldest first, without ``exclude``."""
        known = set(exclude)
        found: dict[str, Call] = {}
        for call in calls:
            if call.sid not in known and self.matches(call):
                found.setdefault(call.sid, call)
        return list(found.values())

    def certainly_listed_by(self) -> float:
        """When a call this request placed would have ended and appeared in the listing.

        After that instant, finding no candidate proves that no call was placed.
        """
        request = self.request
        ring = request.time_out or MAX_TIME_OUT
        talk = request.time_limit or MAX_TIME_LIMIT
        return self.sent_at + QUEUE_ALLOWANCE_SECONDS + ring + talk + LISTING_DELAY_SECONDS


def format_exotel_time(epoch_seconds: float) -> str:
    """Exotel's ``YYYY-MM-DD HH:MM:SS`` in India time."""
    return datetime.fromtimestamp(epoch_seconds, EXOTEL_TIME_ZONE).strftime(EXOTEL_TIME_FORMAT)


def parse_exotel_time(text: str | None) -> float | None:
    """Epoch seconds of an Exotel timestamp (India time), or None when absent or unreadable."""
    if not text:
        return None
    try:
        naive = datetime.strptime(text.strip(), EXOTEL_TIME_FORMAT)
    except ValueError:
        return None
    return naive.replace(tzinfo=EXOTEL_TIME_ZONE).timestamp()
