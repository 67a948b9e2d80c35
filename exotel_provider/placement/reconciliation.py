"""Finding the call a placing request made when its answer was lost. Pure: no I/O, no Airflow.

Exotel has no idempotency key, and its listing shows a call only once it has ended. So a lost
answer is resolved from what the listing gives, with one rule:

* **The window.** Our call, if any, was created between the moment the request was sent
  (``sent_at``) and the moment its outcome became unknown (``settled_at``: the error, or, for a
  retry after a lost worker, the retry itself), give or take :data:`CLOCK_SKEW_SECONDS`
  between Exotel's clock and ours. ``DateCreated`` is read in the connection's time zone.
* **A candidate** is a listed call in that window from the same number, to the same number (two-
  number calls), from the same ExoPhone (``PhoneNumberSid``) where Exotel gives one, that did not
  start before the window (``StartTime``), and that is not known to be another placement's.
* **Complete.** The window is complete once every call created in it must have ended and been
  listed (:meth:`PlacementAttempt.certainly_listed_by`: queueing, ringing, ``TimeLimit`` and the
  listing delay, all generous). Before that, our own call may still be unlisted (ringing or in
  progress) while a sibling's (another mapped task, another run, a second reminder) is listed.
* **The decision** (:func:`judge`): two or more candidates are never told apart: fail safe
  naming them. One candidate is adopted only when the window is complete, because only then can
  nothing else match. No candidate in a complete window proves the request placed nothing, unless
  a matching call is listed within :data:`ZONE_DOUBT_SECONDS` of the window: that one might be ours
  read in the wrong zone (``extra.timezone``) or with a clock far off, so the guard fails safe
  naming it rather than dial. Anything else means "keep looking" until the caller's deadline,
  then fail safe.

What the rule cannot tell: if the lost request never reached Exotel and exactly one other call to
the same number, from the same ExoPhone, was created inside the window, that call is adopted.
Nobody is called twice; the task reports that call's outcome.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from exotel_provider.calls.connect_request import MAX_TIME_LIMIT, MAX_TIME_OUT, ConnectRequest
from exotel_provider.calls.exotel_time import DEFAULT_EXOTEL_TIME_ZONE, format_exotel_time, parse_exotel_time
from exotel_provider.calls.model import Call
from exotel_provider.calls.numbers import same_number

CLOCK_SKEW_SECONDS = 300.0
"""How far Exotel's clock (or ours) may be off: the window widens by this much on each side."""
QUEUE_ALLOWANCE_SECONDS = 900.0
"""How long a call may wait in Exotel's queue before it rings (generous; not documented)."""
LISTING_DELAY_SECONDS = 600.0
"""How long after its end a call may take to appear in the listing (generous; not documented)."""
ZONE_DOUBT_SECONDS = 14 * 3600.0
"""The largest time-zone offset: a matching call this close to the window may be ours, misread."""


@dataclass(frozen=True)
class PlacementAttempt:
    """A call-placing request that was (or may have been) sent between ``sent_at`` and ``settled_at``."""

    request: ConnectRequest
    sent_at: float
    """Epoch seconds just before the request was sent (or the earliest it can have been)."""
    settled_at: float | None = None
    """The latest it can have been sent (when its outcome became unknown); None: ``sent_at``."""
    time_zone: tzinfo = field(default=DEFAULT_EXOTEL_TIME_ZONE, compare=False)
    """The zone Exotel gives ``DateCreated`` in (the connection's ``extra.timezone``)."""

    @property
    def latest_send(self) -> float:
        """The latest moment the request can have been sent."""
        return self.sent_at if self.settled_at is None else max(self.sent_at, self.settled_at)

    @property
    def created_from(self) -> float:
        """The earliest ``DateCreated`` of a call the request may have placed (clock skew allowed)."""
        return self.sent_at - CLOCK_SKEW_SECONDS

    @property
    def created_until(self) -> float:
        """The latest ``DateCreated`` of a call the request may have placed (clock skew allowed)."""
        return self.latest_send + CLOCK_SKEW_SECONDS

    def listing_filters(self) -> dict[str, Any]:
        """Filters for the bulk listing that return every candidate (and few others)."""
        return {
            "from_numbers": [self.request.from_number],
            "date_created": f"gte:{self.exotel_time(self.created_from - ZONE_DOUBT_SECONDS)}",
            "sort_by": "DateCreated:asc",
            "page_size": 100,
        }

    def matches(self, call: Call) -> bool:
        """Could ``call`` be the one this request placed?"""
        if not self.same_parties(call):
            return False
        started = parse_exotel_time(call.start_time, self.time_zone)
        if started is not None and started < self.created_from:
            return False
        created = parse_exotel_time(call.date_created, self.time_zone)
        return created is None or self.created_from <= created <= self.created_until

    def nearby(self, calls: Iterable[Call], *, exclude: Iterable[str] = ()) -> list[Call]:
        """Calls between the same parties created outside the window but within
        :data:`ZONE_DOUBT_SECONDS` of it: ours, should Exotel's zone or clock differ from ours."""
        known = set(exclude)
        low, high = self.created_from - ZONE_DOUBT_SECONDS, self.created_until + ZONE_DOUBT_SECONDS
        found = []
        for call in calls:
            created = parse_exotel_time(call.date_created, self.time_zone)
            if call.sid in known or not self.same_parties(call) or self.matches(call) or created is None:
                continue
            if low <= created <= high:
                found.append(call)
        return found

    def same_parties(self, call: Call) -> bool:
        """Same From, same To (two-number calls) and same ExoPhone, where Exotel gives them."""
        request = self.request
        if not same_number(call.from_, request.from_number):
            return False
        if request.to_number is not None and call.to and not same_number(call.to, request.to_number):
            return False
        return not (call.phone_number_sid and not same_number(call.phone_number_sid, request.caller_id))

    def candidates(self, calls: Iterable[Call], *, exclude: Iterable[str] = ()) -> list[Call]:
        """The calls among ``calls`` this request may have placed, in listing order, without ``exclude``."""
        known = set(exclude)
        found: dict[str, Call] = {}
        for call in calls:
            if call.sid not in known and self.matches(call):
                found.setdefault(call.sid, call)
        return list(found.values())

    def certainly_listed_by(self) -> float:
        """When every call created in the window has ended and appeared in the listing.

        From then on the candidates are all the calls the window can hold.
        """
        request = self.request
        ring = request.time_out or MAX_TIME_OUT
        talk = request.time_limit or MAX_TIME_LIMIT
        return self.created_until + QUEUE_ALLOWANCE_SECONDS + ring + talk + LISTING_DELAY_SECONDS

    def exotel_time(self, epoch_seconds: float) -> str:
        """An instant as Exotel writes it, in this attempt's zone."""
        return format_exotel_time(epoch_seconds, self.time_zone)


class Verdict(enum.Enum):
    """What one look at the listing proves."""

    ADOPT = "adopt"
    """Exactly one candidate in a complete window: it is the call the request placed."""
    NONE_PLACED = "none placed"
    """No candidate in a complete window: the request placed no call, dialling is safe."""
    AMBIGUOUS = "ambiguous"
    """Several candidates: they are never told apart (fail safe naming them)."""
    DOUBT = "doubt"
    """No candidate in a complete window, but a call near it may be ours misread: fail safe."""
    NOT_YET = "not yet"
    """The window is not complete: our call may still be unlisted; look again later."""


def judge(
    attempt: PlacementAttempt, candidates: list[Call], *, now: float, nearby: list[Call] | None = None
) -> Verdict:
    """The dial-or-not decision for one look at the listing (see the module docstring)."""
    if len(candidates) > 1:
        return Verdict.AMBIGUOUS
    if now < attempt.certainly_listed_by():
        return Verdict.NOT_YET
    if candidates:
        return Verdict.ADOPT
    return Verdict.DOUBT if nearby else Verdict.NONE_PLACED
