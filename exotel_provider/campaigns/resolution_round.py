"""A campaign's round after its deferral: every unknown outcome resolved in one listing pass, the
resolutions recorded, and the entries proven not placed dialled once more. No Airflow imports: the
operator hands it the listing source, the entries' requests and a way to make its :class:`CampaignRun`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import tzinfo
from typing import Any

from exotel_provider.calls.connect_request import ConnectRequest
from exotel_provider.campaigns.outcomes import CampaignEntry
from exotel_provider.campaigns.run import CampaignRun, outcome_of
from exotel_provider.campaigns.unknowns import record_resolutions, resolve_unknowns


@dataclass(frozen=True)
class RoundResult:
    """The outcomes after a round, and whether the campaign waits again (for ``sids`` and open windows)."""

    outcomes: list[dict[str, Any]]
    sids: list[str]
    """Calls dialled in this round, to wait for."""
    wait_again: bool


def resolve_round(
    source: Any,
    outcomes: Sequence[Mapping[str, Any]],
    requests: Mapping[str, ConnectRequest],
    entries: Sequence[CampaignEntry],
    *,
    make_run: Callable[[], CampaignRun],
    time_zone: tzinfo,
    now: float,
    also_known: Iterable[str] = (),
    last_round: bool,
    logger: Any,
) -> RoundResult:
    """Resolve the unknowns from one pass of ``source``'s listing, record what it proved, then (unless
    ``last_round``) dial the entries proven not placed; wait again while any was dialled or a window
    is still open."""
    found = resolve_unknowns(source, outcomes, requests, time_zone=time_zone, now=now, also_known=also_known)
    if found.error:
        logger.warning("Exotel campaign: unknown outcomes left for a later run (%s)", found.error)
    run = make_run()
    record_resolutions(run.placer, found)
    if last_round or not (found.to_dial or found.open_until):
        return RoundResult(found.outcomes, [], wait_again=False)
    to_dial = set(found.to_dial)
    due = [entry for entry in entries if entry.key in to_dial]
    logger.info("Exotel campaign: %d calls proven not placed: dialling them now", len(due))
    again = {p.key: outcome_of(p) for p in run.place(due)} if due else {}
    merged = [again.get(o["key"], o) for o in found.outcomes]
    return RoundResult(merged, [o["sid"] for o in again.values() if o["sid"]], wait_again=True)
