"""Placing every call of a campaign: paced, within the in-flight cap, on a few threads, one call per
phone, each through the never-call-twice placer. What the campaign operator runs before it defers.

No Airflow imports: the operator hands it the placer, a request builder and a logger.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any

from exotel_provider.calls.connect_request import ConnectRequest
from exotel_provider.campaigns.dial_rules import DialRules
from exotel_provider.campaigns.in_flight import CallsInFlight
from exotel_provider.campaigns.ledger import CampaignBook, LedgerRow, phone_key
from exotel_provider.campaigns.not_called import not_called_error, not_called_outcome, reason_not_called
from exotel_provider.campaigns.outcomes import (
    OUTCOME_UNKNOWN,
    CampaignEntry,
    count_statuses,
    not_placed_outcome,
    placed_outcome,
    with_final_call,
)
from exotel_provider.campaigns.pacing import RequestPacer
from exotel_provider.campaigns.parallel import ParallelPlacing
from exotel_provider.campaigns.placing import CampaignPlacer, Placement
from exotel_provider.campaigns.progress import CampaignProgress
from exotel_provider.campaigns.unknowns import unknown_outcome
from exotel_provider.campaigns.window import HELD_ERROR, CampaignWindow, record_held
from exotel_provider.client.api_requests import MAX_SIDS_PER_LISTING
from exotel_provider.errors import ExotelRateLimitError, ExotelValidationError

MAX_RATE_LIMITED_SENDS = 12
"""Placing requests of one call answered 429 in a row (each after the pause Exotel asked for) before
the campaign stops with :class:`ExotelRateLimitError` instead of waiting on."""
REQUIRED_FIELDS = ("from_number",)
"""What every call entry must give (the operator's defaults may give the rest)."""


class CampaignRun:
    """One try placing a campaign's entries; :meth:`place` returns one :class:`Placement` per entry."""

    def __init__(
        self,
        placer: CampaignPlacer,
        *,
        build_request: Callable[[CampaignEntry], ConnectRequest],
        find_ended: Callable[[list[str]], Iterable[str]],
        pacer: RequestPacer,
        max_calls_in_flight: int,
        placing_threads: int,
        poll_interval: float,
        logger: Any,
        rules: DialRules | None = None,
        window: CampaignWindow | None = None,
    ) -> None:
        self.placer = placer
        self.rules = rules
        self.window = window
        """Calling hours, checked right before each request: an entry outside them is held, not dialled."""
        self.build_request = build_request
        self.pacer = pacer
        self.placing_threads = placing_threads
        self.log = logger
        self.in_flight = CallsInFlight(
            max_calls_in_flight, find_ended=find_ended, poll_interval=poll_interval,
            listing_size=MAX_SIDS_PER_LISTING,
        )  # fmt: skip
        self._placing: ParallelPlacing[CampaignEntry, Placement] | None = None

    def place(self, entries: Sequence[CampaignEntry]) -> list[Placement]:
        """Every entry placed (or found placed), in the entries' order; one call per phone."""
        firsts, sharing = share_phones(entries)
        progress = CampaignProgress(len(entries))

        def counted(placement: Placement) -> None:
            progress.count(category(placement))
            if progress.due():
                self.log.info("Exotel campaign: %s", progress.line("placed or settled"))

        placing: ParallelPlacing[CampaignEntry, Placement] = ParallelPlacing(
            self._place_one, workers=self.placing_threads, on_result=counted
        )
        self._placing = placing
        self.placer.start()
        placed = {p.key: p for p in placing.run(firsts)}
        for key, first in sharing.items():
            placed[key] = self._shared(key, placed[first])
            counted(placed[key])
        self.log.info("Exotel campaign: %s", progress.line("placed or settled"))
        return [placed[entry.key] for entry in entries]

    def resolve_earlier(self, entries: Sequence[CampaignEntry]) -> int:
        """Settle what earlier tries or runs left unknown (or unrecorded) in one listing pass, before
        anything is placed; returns the passes made (0 or 1)."""
        requests = []
        for entry in entries:
            try:
                requests.append((entry.key, self._request(entry)))
            except ExotelValidationError:
                continue
        return self.placer.resolve_earlier(requests)

    def _place_one(self, entry: CampaignEntry) -> Placement:
        earlier = self.placer.recorded(entry.key)
        if earlier is not None:
            if earlier.sid:
                self.in_flight.reused(earlier.sid)  # counts against the cap until it ends
            return earlier
        if self._held(entry):  # before waiting for room or a turn: the window is closed for it
            return self._hold(entry)
        try:
            request = self._request(entry)
        except ExotelValidationError as err:
            self.placer.refuse(entry.key, str(err))
            return Placement(entry.key, None, error=str(err))
        sibling = self._sibling_call(entry.key, request)
        if sibling is not None:
            return sibling
        kept_back = self._kept_back(entry.key, request)
        if kept_back is not None:
            return kept_back
        self.in_flight.take_room()
        placement = None
        try:
            placement = self._send(entry, request)
            if placement.refusal is not None and self.rules is not None:
                self.rules.refused(request.from_number, placement.refusal)  # DND: listed, not tried again
            return placement
        finally:
            self.in_flight.placed(placement.sid if placement is not None else None)

    def _send(self, entry: CampaignEntry, request: ConnectRequest) -> Placement:
        assert self._placing is not None
        refusals = 0
        while not self._placing.stopping:  # another call hit an account-level error: place nothing more
            self.pacer.wait_turn()
            if self._held(entry):  # the window may have closed while this request waited its turn
                return self._hold(entry)
            try:
                return self.placer.place(entry.key, request)
            except ExotelRateLimitError as err:  # certainly not placed: wait and send it again
                refusals += 1
                if refusals >= MAX_RATE_LIMITED_SENDS:
                    raise ExotelRateLimitError(
                        f"Exotel answered 429 to {refusals} requests in a row placing call {entry.key!r}: "
                        "the account's request limit is taken (another campaign or integration?). Stopping "
                        "the campaign; every call placed so far is recorded. Run it again once the "
                        "account's traffic is lower, or lower requests_per_minute.",
                        retry_after=err.retry_after,
                    ) from err
                self.log.warning("Exotel: 429 while placing; pausing the campaign (%s)", err)
                self.pacer.back_off(err.retry_after)
        return Placement(entry.key, None, error="not attempted: the campaign stopped")

    def _held(self, entry: CampaignEntry) -> bool:
        return self.window is not None and self.window.holds(entry)

    def _hold(self, entry: CampaignEntry) -> Placement:
        record_held(self.placer.book, entry.key)
        return Placement(entry.key, None, error=HELD_ERROR)

    def _request(self, entry: CampaignEntry) -> ConnectRequest:
        missing = [name for name in REQUIRED_FIELDS if entry.parameters.get(name) in (None, "")]
        if missing:
            raise ExotelValidationError(
                missing[0], f"call {entry.key!r} has no {missing[0]}", "Give every call the number to call."
            )
        try:
            return self.build_request(entry)
        except TypeError as err:
            raise ExotelValidationError(
                "calls", f"call {entry.key!r}: {err}", "Check its arguments."
            ) from None

    def _kept_back(self, key: str, request: ConnectRequest) -> Placement | None:
        """The entry recorded "not called" if a rule about the person forbids dialling it now."""
        reason = self.rules.reason_not_to_dial(request.from_number) if self.rules is not None else None
        if reason is None:
            return None
        error = not_called_error(reason)
        book = self.placer.book
        if book is not None:  # "not placed": a later run checks the rules again
            book.write(book.new_row(key).not_placed(error))
        return Placement(key, None, error=error)

    def _sibling_call(self, key: str, request: ConnectRequest) -> Placement | None:
        """The call another key of this day and attempt made to the same phone (an earlier run)."""
        book = self.placer.book
        own = book.row(key) if book is not None else None
        if book is None or (own is not None and own.unresolved):
            return None  # a request of this key's own may have placed a call: resolve that first
        row = book.same_phone(key, phone_key(request.from_number))
        if row is None or not row.call_sid:
            return None
        book.write(row.for_key(key))
        self.in_flight.reused(row.call_sid)
        return Placement(key, row.call_sid, row.sent_at, resumed=True)

    def _shared(self, key: str, first: Placement | None) -> Placement:
        """The outcome of the call placed for another key with the same phone, recorded for ``key``."""
        if first is None:
            return Placement(key, None, error="not attempted: the campaign stopped")
        book = self.placer.book
        row = book.row(first.key) if book is not None else None
        if book is not None and row is not None:
            book.write(row.for_key(key))
        return replace(first, key=key)


def share_phones(entries: Sequence[CampaignEntry]) -> tuple[list[CampaignEntry], dict[str, str]]:
    """The entries to place (the first per phone) and, for the others, the key whose call they share."""
    firsts: list[CampaignEntry] = []
    first_of_phone: dict[str, str] = {}
    sharing: dict[str, str] = {}
    for entry in entries:
        phone = phone_key(entry.parameters.get("from_number"))
        if phone and phone in first_of_phone:
            sharing[entry.key] = first_of_phone[phone]
            continue
        if phone:
            first_of_phone[phone] = entry.key
        firsts.append(entry)
    return firsts, sharing


def paced_run(
    placer: CampaignPlacer,
    *,
    budget: int,
    reserve: int | None,
    shared_budget: bool = True,
    get_ended_calls: Callable[[list[str]], Iterable[str]],
    build_request: Callable[[CampaignEntry], ConnectRequest],
    max_calls_in_flight: int,
    placing_threads: int,
    poll_interval: float,
    logger: Any,
    book: CampaignBook | None = None,
    rules: DialRules | None = None,
    window: CampaignWindow | None = None,
) -> CampaignRun:
    """A run placing within ``budget`` requests a minute less ``reserve`` left to watching (None: the
    default share when the budget is shared with the watchers through Redis, none otherwise; logged once)."""
    pacer = RequestPacer.for_budget(budget, reserve=reserve, shared=shared_budget)
    logger.info(
        "Exotel campaign: at most %.0f placing requests a minute (budget %d), at most %d in flight, "
        "%d placed side by side%s",
        pacer.rate_per_minute, budget, max_calls_in_flight, placing_threads,
        f", recorded in {book.ledger!r}" if book is not None else "",
    )  # fmt: skip
    return CampaignRun(
        placer,
        build_request=build_request,
        find_ended=lambda sids: ended_calls(get_ended_calls, sids, pacer),
        pacer=pacer,
        max_calls_in_flight=max_calls_in_flight,
        placing_threads=placing_threads,
        poll_interval=poll_interval,
        logger=logger,
        rules=rules,
        window=window,
    )


def ended_calls(
    get_ended_calls: Callable[[list[str]], Iterable[str]], sids: list[str], pacer: RequestPacer
) -> list[str]:
    """Which of these calls Exotel lists as ended (each listing request paced like a POST)."""
    ended: list[str] = []
    for start in range(0, len(sids), MAX_SIDS_PER_LISTING):
        pacer.wait_turn()
        ended.extend(get_ended_calls(sids[start : start + MAX_SIDS_PER_LISTING]))
    return ended


def outcome_of(placement: Placement) -> dict[str, Any]:
    """The XCom outcome of a placement before its call's final details are known; an unknown one
    keeps the window a later listing pass resolves it from."""
    if placement.sid:
        return placed_outcome(placement.key, placement.sid, placement.placed_at)
    reason = reason_not_called({"error": placement.error})
    if reason:  # a calling rule kept it from being dialled
        return not_called_outcome(placement.key, reason)
    if placement.unknown and placement.placed_at is not None:
        return unknown_outcome(
            placement.key, placement.error or "outcome unknown", sent_at=placement.placed_at,
            settled_at=placement.settled_at or placement.placed_at, candidates=placement.candidates,
        )  # fmt: skip
    reason = reason_not_called({"error": placement.error})
    if reason is not None:
        return not_called_outcome(placement.key, reason)
    return not_placed_outcome(placement.key, placement.error or "not placed", unknown=placement.unknown)


def category(placement: Placement) -> str:
    """How the progress line counts ``placement``: placed, already placed, not placed or outcome unknown."""
    if placement.sid:
        return "already placed" if placement.resumed else "placed"
    return "outcome unknown" if placement.unknown else "not placed"


def completed_outcomes(
    outcomes: Iterable[dict[str, Any]], finals: dict[str, Any], failed: dict[str, str]
) -> list[dict[str, Any]]:
    """Each outcome completed with its call's final details (a trigger's event: Sid → call dict)."""
    from exotel_provider.calls.model import Call

    merged = []
    for outcome in outcomes:
        sid = outcome.get("sid")
        if sid in finals:
            outcome = with_final_call(outcome, Call.from_dict(finals[sid]))
        elif sid and outcome.get("status") == OUTCOME_UNKNOWN:  # not final before this wait either
            outcome = {**outcome, "error": failed.get(sid, "the trigger sent no outcome for this call")}
        merged.append(outcome)
    return merged


def record_final_outcomes(book: CampaignBook, outcomes: Iterable[dict[str, Any]]) -> int:
    """Each call's final status, price and duration written to its ledger row, all in one commit
    where the ledger can (nothing waits on them); returns how many."""
    rows = [
        (book.row(outcome["key"]) or LedgerRow(outcome["key"], book.day, book.attempt)).with_final_call(
            outcome
        )
        for outcome in outcomes
        if outcome.get("sid") and not outcome.get("error")
    ]
    book.write_many(rows)
    return len(rows)


def finish_campaign(
    outcomes: list[dict[str, Any]], book: CampaignBook | None, logger: Any
) -> list[dict[str, Any]]:
    """The final outcomes written to the ledger (then closed) and counted in the log."""
    if book is not None:
        record_final_outcomes(book, outcomes)
        book.close()
    counts = ", ".join(f"{status} {n}" for status, n in count_statuses(outcomes).items())
    logger.info("Exotel campaign: %d calls: %s", len(outcomes), counts or "none")
    return outcomes
