"""Resolving many lost placing answers with one pass over Exotel's listing. Pure rules, no Airflow.

A campaign may end a try with several calls whose outcome is unknown (a placing answer lost, a
5xx after the request was sent), or start a retry with no record at all of what the earlier tries
placed. Searching the listing call by call costs one search per entry, each until its window is
complete; instead every such *intent* is resolved from the same listing pass, with the rules of
:mod:`exotel_provider.placement.reconciliation` (its window, :meth:`PlacementAttempt.candidates`
and :func:`judge`, one definition each):

* **adopted**: one candidate in a complete window, that no other intent also claims;
* **not placed**: no candidate (and nothing near the window) in a complete window: dialling is safe;
* **open**: the window is not complete yet (:meth:`PlacementAttempt.certainly_listed_by`): never
  dialled, never adopted; resolve again from ``complete_at`` on;
* **ambiguous**: several candidates, a candidate two intents share, or a call near the window that
  may be ours misread: never dialled, its candidates named.

Siblings: a Sid known to belong to another intent (a call placed with its answer, or adopted) is
never a candidate. When is a window complete? A call created in it is listed once it has ended:
by ``settled_at + skew + queue + ring + TimeLimit + listing delay``. With the campaign's
``time_limit`` known (300 s in the reminders example) that is about 36 minutes after the request;
without it, Exotel's maximum of 4 h applies. No placing thread waits for that: a campaign records
the intent at once and resolves it after its deferral (which waits for the campaign's calls to end
anyway), or on a later run.

The one pass (:func:`listing_filters`): calls created from the earliest window's start to the
latest window's end, widened by :data:`ZONE_DOUBT_SECONDS` on each side (a call a few hours off may
be ours read in the wrong zone). When the intents' numbers fit one ``From`` filter (at most
:data:`MAX_NUMBERS_PER_LISTING`) it is added; otherwise the pass is the ``DateCreated`` range
alone, 100 calls a page. That is the fewest requests: ``From`` takes 5 numbers a request, so
filtering by number costs ``numbers / 5`` requests at least, while the range costs one request per
100 calls the account made in that span (a campaign's own calls, plus any other traffic).

What it cannot tell: a request that never reached Exotel, while exactly one other call to the same
number from the same ExoPhone was created inside its window, adopts that call (nobody is called
twice; the entry reports that call). Two intents for the same number whose windows overlap and one
call listed are ambiguous, never split. A call still ringing or in progress is invisible until it
ends: until then its intent stays open.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from exotel_provider.calls.model import Call
from exotel_provider.placement.reconciliation import ZONE_DOUBT_SECONDS, PlacementAttempt, Verdict, judge

MAX_NUMBERS_PER_LISTING = 5
"""Exotel's ``From`` filter takes at most 5 numbers."""
LISTING_PAGE_SIZE = 100
"""The largest page Exotel gives."""


@dataclass(frozen=True)
class Intent:
    """One entry whose call may exist with its Sid unknown: its key and the window of its request."""

    key: str
    attempt: PlacementAttempt
    siblings: frozenset[str] = frozenset()
    """Sids known to belong to other entries (e.g. another reminder for the same phone)."""


class Resolved(enum.Enum):
    """What one listing pass decided about a lost request: adopted, not placed, still open or ambiguous."""

    ADOPTED = "adopted"
    NOT_PLACED = "not placed"
    OPEN = "open"
    AMBIGUOUS = "ambiguous"


@dataclass(frozen=True)
class Resolution:
    """What one listing pass proves about one intent."""

    key: str
    outcome: Resolved
    call: Call | None = None
    """The adopted call, as the listing shows it (ended)."""
    candidates: tuple[str, ...] = ()
    """The Sids that may be the entry's call (ambiguous or open), to name in the report."""
    complete_at: float = 0.0
    """When the entry's window is complete: resolve an open intent again from then on."""

    @property
    def may_dial(self) -> bool:
        """True when the request provably placed no call, so the entry may be dialled."""
        return self.outcome is Resolved.NOT_PLACED


@dataclass
class _Claims:
    """Which intents each listed call is a candidate of (a call two intents claim proves neither)."""

    by_sid: dict[str, list[str]] = field(default_factory=dict)

    def add(self, key: str, calls: Iterable[Call]) -> None:
        for call in calls:
            self.by_sid.setdefault(call.sid, []).append(key)

    def shared(self, sid: str) -> bool:
        return len(self.by_sid.get(sid, ())) > 1


def listing_filters(intents: Sequence[Intent]) -> dict[str, Any]:
    """The filters of the one listing pass that shows every intent's candidates (module docstring)."""
    if not intents:
        raise ValueError("no intents to resolve")
    first = min(intents, key=lambda intent: intent.attempt.created_from).attempt
    last = max(intents, key=lambda intent: intent.attempt.created_until).attempt
    low = first.exotel_time(first.created_from - ZONE_DOUBT_SECONDS)
    high = last.exotel_time(last.created_until + ZONE_DOUBT_SECONDS)
    filters: dict[str, Any] = {
        "date_created": f"gte:{low};lte:{high}",
        "sort_by": "DateCreated:asc",
        "page_size": LISTING_PAGE_SIZE,
    }
    numbers = list(dict.fromkeys(intent.attempt.request.from_number for intent in intents))
    if len(numbers) <= MAX_NUMBERS_PER_LISTING:
        filters["from_numbers"] = numbers
    return filters


def resolve(
    intents: Sequence[Intent], listed: Iterable[Call], *, now: float, known_sids: Iterable[str] = ()
) -> dict[str, Resolution]:
    """Each intent's resolution from one listing pass (``listed``), by key.

    ``known_sids``: calls known to belong to some entry (placed with their answer, or adopted): never
    anyone's candidate.
    """
    calls = list(listed)
    known = set(known_sids)
    candidates: dict[str, list[Call]] = {}
    nearby: dict[str, list[Call]] = {}
    claims = _Claims()
    for intent in intents:
        exclude = known | intent.siblings
        candidates[intent.key] = intent.attempt.candidates(calls, exclude=exclude)
        nearby[intent.key] = intent.attempt.nearby(calls, exclude=exclude)
        claims.add(intent.key, candidates[intent.key])
    return {
        intent.key: _resolve_one(intent, candidates[intent.key], nearby[intent.key], claims, now)
        for intent in intents
    }


def _resolve_one(
    intent: Intent, candidates: list[Call], nearby: list[Call], claims: _Claims, now: float
) -> Resolution:
    complete_at = intent.attempt.certainly_listed_by()
    sids = tuple(call.sid for call in candidates)
    verdict = judge(intent.attempt, candidates, now=now, nearby=nearby)
    if verdict is Verdict.ADOPT and not claims.shared(candidates[0].sid):
        return Resolution(intent.key, Resolved.ADOPTED, candidates[0], sids, complete_at)
    if verdict is Verdict.NONE_PLACED:
        return Resolution(intent.key, Resolved.NOT_PLACED, complete_at=complete_at)
    if verdict is Verdict.NOT_YET:
        return Resolution(intent.key, Resolved.OPEN, candidates=sids, complete_at=complete_at)
    named = sids or tuple(call.sid for call in nearby)
    return Resolution(intent.key, Resolved.AMBIGUOUS, candidates=named, complete_at=complete_at)


def resolve_from_listing(
    source: Any, intents: Sequence[Intent], *, now: float, known_sids: Iterable[str] = ()
) -> dict[str, Resolution]:
    """One listing pass for all ``intents`` (``source`` has ``iter_calls``: the sync client, the
    hook), then :func:`resolve`. Errors reading the listing propagate: nothing is decided then."""
    if not intents:
        return {}
    listed = list(source.iter_calls(**listing_filters(intents)))
    return resolve(intents, listed, now=now, known_sids=known_sids)


def open_until(resolutions: Mapping[str, Resolution]) -> float | None:
    """When the last open intent's window is complete (None: none is open)."""
    moments = [r.complete_at for r in resolutions.values() if r.outcome is Resolved.OPEN]
    return max(moments) if moments else None
