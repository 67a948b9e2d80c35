"""A campaign's calls whose outcome is unknown: recorded at once, resolved together later. No Airflow.

A placing request whose answer was lost (or a 5xx after it was sent) holds no placing thread: its
entry's outcome is recorded as unknown with the window in which its call may have been created
(``sent_at``, ``settled_at``), and the campaign goes on. Once the campaign's calls have ended (its
deferral), all unknowns are resolved from one listing pass
(:mod:`exotel_provider.placement.batch_resolution`): adopted (the entry gets that call's outcome),
proven not placed (the entry may be dialled), or left unknown with the candidate Sids named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, Protocol

from exotel_provider.calls.connect_request import ConnectRequest
from exotel_provider.campaigns.outcomes import (
    OUTCOME_UNKNOWN,
    CampaignEntry,
    not_placed_outcome,
    placed_outcome,
    with_final_call,
)
from exotel_provider.errors import ExotelError, ExotelValidationError
from exotel_provider.placement.batch_resolution import (
    Intent,
    Resolution,
    Resolved,
    open_until,
    resolve_from_listing,
)
from exotel_provider.placement.reconciliation import PlacementAttempt

SENT_AT = "sent_at"
"""Outcome field of an unknown entry: the earliest its request can have been sent (epoch seconds)."""
SETTLED_AT = "settled_at"
"""Outcome field of an unknown entry: the latest its request can have been sent."""
CANDIDATES = "candidates"
"""Outcome field of an unknown entry: the listed Sids that may be its call."""


def unknown_outcome(
    key: str, error: str, *, sent_at: float, settled_at: float, candidates: Iterable[str] = ()
) -> dict[str, Any]:
    """The outcome of an entry whose call may exist, with the window a later pass resolves it from."""
    outcome = not_placed_outcome(key, error, unknown=True)
    outcome.update({SENT_AT: sent_at, SETTLED_AT: settled_at, CANDIDATES: list(candidates)})
    return outcome


def is_unresolved(outcome: Mapping[str, Any]) -> bool:
    """An unknown outcome that still has a window to resolve it from."""
    return outcome.get("status") == OUTCOME_UNKNOWN and not outcome.get("sid") and SENT_AT in outcome


def intents_of(
    outcomes: Sequence[Mapping[str, Any]], requests: Mapping[str, ConnectRequest], time_zone: tzinfo
) -> list[Intent]:
    """The unresolved outcomes as intents (an entry whose request is unknown is left as it is)."""
    intents = []
    for outcome in outcomes:
        request = requests.get(str(outcome.get("key")))
        if request is None or not is_unresolved(outcome):
            continue
        sent_at = float(outcome[SENT_AT])
        settled_at = float(outcome.get(SETTLED_AT) or sent_at)
        intents.append(Intent(str(outcome["key"]), PlacementAttempt(request, sent_at, settled_at, time_zone)))
    return intents


def requests_of_unknowns(
    outcomes: Iterable[Mapping[str, Any]],
    entries: Iterable[CampaignEntry],
    build_request: Callable[[CampaignEntry], ConnectRequest],
) -> dict[str, ConnectRequest]:
    """The request of each unresolved entry (an entry whose request cannot be built is left as it is)."""
    keys = {o["key"] for o in outcomes if is_unresolved(o)}
    requests = {}
    for entry in entries:
        try:
            if entry.key in keys:
                requests[entry.key] = build_request(entry)
        except (ExotelValidationError, TypeError):
            continue
    return requests


def resolvable_after(
    outcomes: Sequence[Mapping[str, Any]], requests: Mapping[str, ConnectRequest], time_zone: tzinfo
) -> float | None:
    """When every unresolved outcome's window is certainly listed (None: nothing to resolve)."""
    intents = intents_of(outcomes, requests, time_zone)
    return max((i.attempt.certainly_listed_by() for i in intents), default=None)


def known_sids(outcomes: Iterable[Mapping[str, Any]]) -> set[str]:
    """Every Sid the campaign knows to be one of its entries' calls: never another entry's candidate."""
    return {str(outcome["sid"]) for outcome in outcomes if outcome.get("sid")}


def apply_resolutions(
    outcomes: Sequence[Mapping[str, Any]], resolutions: Mapping[str, Resolution]
) -> tuple[list[dict[str, Any]], list[str]]:
    """The outcomes with each resolution applied, and the keys proven not placed (to dial)."""
    merged: list[dict[str, Any]] = []
    to_dial: list[str] = []
    for outcome in outcomes:
        resolution = resolutions.get(str(outcome.get("key")))
        if resolution is None or not is_unresolved(outcome):
            merged.append(dict(outcome))
            continue
        if resolution.outcome is Resolved.ADOPTED and resolution.call is not None:
            call = resolution.call
            adopted = placed_outcome(resolution.key, call.sid, outcome.get(SENT_AT))
            merged.append({**with_final_call(adopted, call), "adopted": True})
        elif resolution.outcome is Resolved.NOT_PLACED:
            merged.append(dict(outcome))
            to_dial.append(resolution.key)
        else:
            merged.append(
                {
                    **outcome,
                    CANDIDATES: list(resolution.candidates),
                    "error": _still_unknown(outcome, resolution),
                }
            )
    return merged, to_dial


def _still_unknown(outcome: Mapping[str, Any], resolution: Resolution) -> str:
    named = ", ".join(resolution.candidates)
    if resolution.outcome is Resolved.AMBIGUOUS:
        return (
            f"The call may have been placed and is not told apart from other calls to the same number "
            f"({named or 'a call listed a few hours off'}): not calling again. Check Exotel's call logs."
        )
    found = f" Listed so far: {named}." if named else ""
    return (
        f"{outcome.get('error') or 'The placing answer was lost.'} Its call, if any, may still be in "
        f"progress (Exotel lists calls once they have ended): not calling again.{found} A later run "
        "resolves it."
    )


@dataclass(frozen=True)
class ResolutionPass:
    """What one pass over the listing made of a campaign's unknown outcomes."""

    outcomes: list[dict[str, Any]]
    to_dial: list[str]
    """Keys proven not placed: dial them if still due."""
    open_until: float | None
    """When the windows still open are complete (None: none is open)."""
    error: str | None = None
    """Why the listing could not be read (the unknowns stay unknown for a later run)."""
    resolutions: dict[str, Resolution] = field(default_factory=dict)


def resolve_unknowns(
    source: Any,
    outcomes: Sequence[Mapping[str, Any]],
    requests: Mapping[str, ConnectRequest],
    *,
    time_zone: tzinfo,
    now: float,
    also_known: Iterable[str] = (),
) -> ResolutionPass:
    """Resolve every unknown outcome of the campaign from one listing pass (``source.iter_calls``),
    the campaign's other calls (and ``also_known``: e.g. the day's other Sids in the ledger)
    excluded from each entry's candidates."""
    intents = intents_of(outcomes, requests, time_zone)
    if not intents:
        return ResolutionPass([dict(o) for o in outcomes], [], None)
    try:
        known = known_sids(outcomes) | set(also_known)
        resolutions = resolve_from_listing(source, intents, now=now, known_sids=known)
    except ExotelError as err:
        return ResolutionPass([dict(o) for o in outcomes], [], None, f"{type(err).__name__}: {err}")
    merged, to_dial = apply_resolutions(outcomes, resolutions)
    return ResolutionPass(merged, to_dial, open_until(resolutions), resolutions=dict(resolutions))


class ResolutionRecord(Protocol):
    """Where a campaign records what a pass proved (the campaign's placer: its ledger or store)."""

    def adopt(self, key: str, sid: str) -> None:
        """The entry ``key``'s lost answer placed call ``sid``: adopt it."""

    def proven_not_placed(self, key: str) -> None:
        """The entry ``key``'s lost request placed no call: it may be dialled."""

    def still_unknown(
        self, key: str, sent_at: float, settled_at: float, candidates: Sequence[str], message: str
    ) -> None:
        """The entry ``key`` stays unknown: its window, the candidate calls and why."""


def record_resolutions(record: ResolutionRecord, found: ResolutionPass) -> None:
    """Write each resolution where the campaign keeps its calls, before anything is dialled."""
    by_key = {str(o.get("key")): o for o in found.outcomes}
    for key, resolution in found.resolutions.items():
        if resolution.outcome is Resolved.ADOPTED and resolution.call is not None:
            record.adopt(key, resolution.call.sid)
        elif resolution.outcome is Resolved.NOT_PLACED:
            record.proven_not_placed(key)
        else:
            outcome = by_key.get(key, {})
            sent_at = float(outcome.get(SENT_AT) or 0.0)
            settled_at = float(outcome.get(SETTLED_AT) or sent_at)
            record.still_unknown(key, sent_at, settled_at, resolution.candidates, str(outcome.get("error")))
