"""ExotelCampaignOperator: place many calls at a controlled rate, wait for all of them in one deferral."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import Any

from airflow.sdk import BaseOperator, Context

from exotel_provider.calls.connect_request import ConnectRequest
from exotel_provider.calls.model import Call
from exotel_provider.calls.progress import DEFAULT_PRICING_GRACE_SECONDS
from exotel_provider.campaigns.in_flight import CallsInFlight
from exotel_provider.campaigns.outcomes import (
    OUTCOME_UNKNOWN,
    CampaignEntry,
    count_statuses,
    not_placed_outcome,
    parse_entries,
    placed_outcome,
    with_final_call,
)
from exotel_provider.campaigns.pacing import RequestPacer
from exotel_provider.campaigns.parallel import ParallelPlacing
from exotel_provider.campaigns.placing import CampaignPlacer, Placement
from exotel_provider.campaigns.progress import CampaignProgress
from exotel_provider.client.api_requests import MAX_SIDS_PER_LISTING
from exotel_provider.errors import ExotelConfigurationError, ExotelRateLimitError, ExotelValidationError
from exotel_provider.hooks.exotel import ExotelHook
from exotel_provider.operators.exotel import DEFAULT_DEFERRED_WAIT_SECONDS, DEFAULT_RECONCILE_TIMEOUT
from exotel_provider.placement.guard import GuardPolicy
from exotel_provider.placement.task_memory import TaskMemory
from exotel_provider.task_errors import InvalidCallRequest, InvalidExotelConnection

DEFAULT_MAX_CALLS_IN_FLIGHT = 500
DEFAULT_PLACING_THREADS = 4
"""Calls placed side by side: enough to keep a paced rate of a few thousand a minute despite each
placement waiting for Exotel and for the task's state store."""
MAX_RESOLUTION_ROUNDS = 3
"""Deferrals after the first that resolve unknowns (and dial those proven not placed)."""
PLACEMENTS_KEY = "placements"
"""XCom key of the outcomes as placed (before waiting), which the task completes when it resumes."""


class ExotelCampaignOperator(BaseOperator):
    """Call many people for one purpose: place each call once, paced, then wait for all in the triggerer.

    ``calls`` is a list of dicts (templated; typically an upstream task's XCom): a unique ``key``
    (e.g. a reminder id) plus the :class:`ExotelConnectOperator` arguments of that call
    (``from_number``, ``app_id`` ...); the operator's own ``app_id``, ``caller_id``,
    ``time_limit`` ... are the defaults. Calls go out evenly spaced within the connection's
    ``requests_per_minute`` less a share left to watching, never more than ``max_calls_in_flight``
    at once, and pause after a 429; ``placing_threads`` calls are placed side by side, so one slow
    answer does not hold up the next. The Sids are pushed to XCom (``placed_calls``, key → Sid) before
    the task defers once for all of them. The return value is one outcome per call: ``key``, ``sid``,
    final ``status``, ``price``, ``duration``, ``start_time``, ``end_time``, ``placed_at``, ``error``.

    A call Exotel refuses (e.g. a DND number, 403) or that is invalid is not a task failure: its
    outcome has status ``"not placed"`` and the error. A retry (or a cleared task) never calls anyone
    an earlier try called: each call has its own key in the task_state_store (Airflow 3.3+).

    :param calls: the campaign's calls.
    :param max_calls_in_flight: at most this many placed calls not yet ended.
    :param placing_threads: calls placed side by side (1: one after the other, in the list's order).
    :param watching_reserve: requests a minute left to watching (default 5 % of the budget).
    :param poll_interval: seconds between checks of a call while it may change.
    :param pricing_grace_seconds: how long after a call ended to wait for its price.
    :param wait_timeout: give up waiting after this many seconds (default: the one default wait
        timeout, 6 hours, ``DEFAULT_WAIT_TIMEOUT_SECONDS``).
    :param reconcile_timeout: how long to look for a call whose placing answer was lost.
    """

    template_fields: Sequence[str] = (
        "calls", "exotel_conn_id", "caller_id", "app_id", "url", "call_type", "time_limit", "time_out",
    )  # fmt: skip
    ui_color = "#e8f4ff"

    def __init__(
        self,
        *,
        calls: list[dict[str, Any]] | str,
        app_id: str | int | None = None,
        url: str | None = None,
        caller_id: str | None = None,
        call_type: str | None = None,
        time_limit: int | str | None = None,
        time_out: int | str | None = None,
        exotel_conn_id: str = ExotelHook.default_conn_name,
        max_calls_in_flight: int = DEFAULT_MAX_CALLS_IN_FLIGHT,
        placing_threads: int = DEFAULT_PLACING_THREADS,
        watching_reserve: int | None = None,
        poll_interval: float = 30.0,
        pricing_grace_seconds: float = DEFAULT_PRICING_GRACE_SECONDS,
        wait_timeout: float | None = None,
        reconcile_timeout: float = DEFAULT_RECONCILE_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if max_calls_in_flight < 1:
            raise ExotelValidationError(
                "max_calls_in_flight", f"{max_calls_in_flight} is not positive", "Allow at least 1 call."
            )
        if placing_threads < 1:
            raise ExotelValidationError(
                "placing_threads", f"{placing_threads} is not positive", "Use at least 1 thread."
            )
        self.calls = calls
        self.app_id, self.url, self.caller_id, self.call_type = app_id, url, caller_id, call_type
        self.time_limit, self.time_out = time_limit, time_out
        self.exotel_conn_id = exotel_conn_id
        self.max_calls_in_flight = max_calls_in_flight
        self.placing_threads = placing_threads
        self.watching_reserve = watching_reserve
        self.poll_interval = poll_interval
        self.pricing_grace_seconds = pricing_grace_seconds
        self.wait_timeout = wait_timeout
        self.reconcile_timeout = reconcile_timeout

    @cached_property
    def hook(self) -> ExotelHook:
        return ExotelHook(self.exotel_conn_id)

    def execute(self, context: Context) -> list[dict[str, Any]]:
        entries = self._entries()
        placements = self._place_all(entries, self._placer(context), resolve_earlier=True)
        outcomes = [_outcome(placement) for placement in placements]
        return self._wait(context, outcomes, [o["sid"] for o in outcomes if o["sid"]], rounds=0)

    def _wait(
        self, context: Context, outcomes: list[dict[str, Any]], sids: list[str], *, rounds: int
    ) -> list[dict[str, Any]]:
        """Push the Sids, then defer until these calls are final and every unknown can be resolved."""
        from exotel_provider.campaigns.unknowns import intents_of
        from exotel_provider.placement import guard

        placed = {o["key"]: o["sid"] for o in outcomes if o.get("sid")}
        context["ti"].xcom_push(key="placed_calls", value=placed)  # before waiting: no Sid is lost
        context["ti"].xcom_push(key=PLACEMENTS_KEY, value=outcomes)  # what execute_complete completes
        unknowns = intents_of(outcomes, self._requests_of_unknowns(outcomes), self._time_zone())
        resolve_after = max((i.attempt.certainly_listed_by() for i in unknowns), default=None)
        if not sids and resolve_after is None:
            return self._finish(outcomes)
        wait = self.wait_timeout if self.wait_timeout is not None else DEFAULT_DEFERRED_WAIT_SECONDS
        now = guard.DEFAULT_CLOCK.now()  # the clock the windows are on (the wall clock)
        deadline = max(now + wait, (resolve_after or 0) + self.poll_interval)
        self.defer(
            trigger=self._trigger(sids, deadline=deadline, resolve_after=resolve_after),
            method_name="execute_complete",
            kwargs={"rounds": rounds},
            timeout=timedelta(seconds=deadline - now + 300),
        )

    def execute_complete(self, context: Context, event: Any = None, rounds: int = 0) -> list[dict[str, Any]]:
        """Resume after the trigger: each outcome completed with its call's final details, then every
        unknown resolved in one listing pass (adopted, or dialled once proven not placed)."""
        ti = context["ti"]
        outcomes = ti.xcom_pull(task_ids=ti.task_id, key=PLACEMENTS_KEY, map_indexes=ti.map_index)
        event = event if isinstance(event, dict) else {}
        finals, failed = event.get("calls") or {}, event.get("failed") or {}
        merged = []
        for outcome in outcomes or []:
            sid = outcome.get("sid")
            if sid in finals:
                outcome = with_final_call(outcome, Call.from_dict(finals[sid]))
            elif sid and outcome.get("status") == OUTCOME_UNKNOWN:
                outcome = {**outcome, "error": failed.get(sid, "the trigger sent no outcome for this call")}
            merged.append(outcome)
        return self._resolve(context, merged, rounds)

    def _resolve(self, context: Context, outcomes: list[dict[str, Any]], rounds: int) -> list[dict[str, Any]]:
        from exotel_provider.campaigns.unknowns import resolve_unknowns
        from exotel_provider.placement import guard

        requests = self._requests_of_unknowns(outcomes)
        if not requests:
            return self._finish(outcomes)
        found = resolve_unknowns(
            self.hook, outcomes, requests, time_zone=self._time_zone(), now=guard.DEFAULT_CLOCK.now()
        )
        if found.error:
            self.log.warning(
                "Exotel campaign: unknown outcomes not resolved (%s): a later run resolves them", found.error
            )
        if rounds >= MAX_RESOLUTION_ROUNDS or not (found.to_dial or found.open_until):
            return self._finish(found.outcomes)
        due = [entry for entry in self._entries() if entry.key in set(found.to_dial)]
        self.log.info("Exotel campaign: %d calls proven not placed: dialling them now", len(due))
        again = {p.key: _outcome(p) for p in self._place_all(due, self._placer(context))} if due else {}
        outcomes = [again.get(o["key"], o) for o in found.outcomes]
        return self._wait(
            context, outcomes, [o["sid"] for o in again.values() if o["sid"]], rounds=rounds + 1
        )

    # --- placing ---------------------------------------------------------------------------------

    def _entries(self) -> list[CampaignEntry]:
        defaults = {
            "app_id": self.app_id, "url": self.url, "caller_id": self.caller_id, "call_type": self.call_type,
            "time_limit": self.time_limit, "time_out": self.time_out,
        }  # fmt: skip
        try:
            return parse_entries(self.calls, defaults)
        except ExotelValidationError as err:
            raise InvalidCallRequest.from_error(err) from None

    def _time_zone(self) -> Any:
        from zoneinfo import ZoneInfo

        try:
            return ZoneInfo(self.hook.settings.time_zone)
        except ExotelConfigurationError as err:
            raise InvalidExotelConnection(f"Connection {self.exotel_conn_id!r}: {err}") from None

    def _requests_of_unknowns(self, outcomes: list[dict[str, Any]]) -> dict[str, ConnectRequest]:
        from exotel_provider.campaigns.unknowns import is_unresolved

        keys = {o["key"] for o in outcomes if is_unresolved(o)}
        requests = {}
        for entry in self._entries():
            if entry.key in keys:
                try:
                    requests[entry.key] = self._request(entry)
                except ExotelValidationError:
                    continue
        return requests

    def _placer(self, context: Context) -> CampaignPlacer:
        """The one seam through which every call of the campaign is placed (the never-call-twice guard)."""
        from exotel_provider.call_lifecycle import earlier_tries_since

        memory = TaskMemory(context)
        if not memory.available:
            self.log.warning(
                "This Airflow has no task_state_store (added in Airflow 3.3): a retry of this campaign "
                "cannot know which calls an earlier try placed, and fails safe for each of them. Give it "
                "retries=0 here."
            )
        time_zone = self._time_zone()
        return CampaignPlacer(
            self.hook,
            memory if memory.available else None,
            policy=GuardPolicy(reconcile_timeout=self.reconcile_timeout, poll_interval=self.poll_interval),
            earlier_tries_since=earlier_tries_since(context),
            time_zone=time_zone,
            show_number=self.hook.display_number,
            logger=self.log,
        )

    def _place_all(
        self, entries: list[CampaignEntry], placer: CampaignPlacer, *, resolve_earlier: bool = False
    ) -> list[Placement]:
        """Each entry placed (or found placed by an earlier try), paced and within the in-flight cap."""
        try:
            budget = self.hook.settings.requests_per_minute
            self.hook.client  # noqa: B018 - made once here, then shared by the placing threads
        except ExotelConfigurationError as err:
            raise InvalidExotelConnection(f"Connection {self.exotel_conn_id!r}: {err}") from None
        pacer = RequestPacer.for_budget(budget, reserve=self.watching_reserve)
        in_flight = CallsInFlight(
            self.max_calls_in_flight,
            find_ended=lambda sids: self._ended_calls(sids, pacer),
            poll_interval=self.poll_interval,
        )
        progress = CampaignProgress(len(entries))
        self.log.info(
            "Exotel campaign: %d calls, at most %.0f placing requests a minute (budget %d), at most %d "
            "in flight, %d placed side by side",
            len(entries), pacer.rate_per_minute, budget, self.max_calls_in_flight, self.placing_threads,
        )  # fmt: skip

        def counted(placement: Placement) -> None:
            progress.count(_category(placement))
            if progress.due():
                self.log.info("Exotel campaign: %s", progress.line("placed or settled"))

        placing: ParallelPlacing[CampaignEntry, Placement] = ParallelPlacing(
            lambda entry: self._place_one(entry, placer, pacer, in_flight, placing),
            workers=self.placing_threads,
            on_result=counted,
        )
        if resolve_earlier:
            self._resolve_earlier(entries, placer)
        placer.start()
        placements = placing.run(entries)
        self.log.info("Exotel campaign: %s", progress.line("placed or settled"))
        return placements

    def _place_one(
        self,
        entry: CampaignEntry,
        placer: CampaignPlacer,
        pacer: RequestPacer,
        in_flight: CallsInFlight,
        placing: ParallelPlacing[CampaignEntry, Placement],
    ) -> Placement:
        earlier = placer.recorded(entry.key)
        if earlier is not None:
            return earlier
        try:
            request = self._request(entry)
        except ExotelValidationError as err:
            return Placement(entry.key, None, error=str(err))
        in_flight.take_room()
        placement = None
        try:
            while not placing.stopping:  # another call hit an account-level error: place nothing more
                pacer.wait_turn()
                try:
                    placement = placer.place(entry.key, request)
                except ExotelRateLimitError as err:  # certainly not placed: wait and send it again
                    self.log.warning("Exotel: 429 while placing; pausing the campaign (%s)", err)
                    pacer.back_off(err.retry_after)
                    continue
                return placement
            return Placement(entry.key, None, error="not attempted: the campaign stopped")
        finally:
            in_flight.placed(placement.sid if placement is not None else None)

    def _resolve_earlier(self, entries: list[CampaignEntry], placer: CampaignPlacer) -> None:
        """What earlier tries may have placed without a record: one listing pass for the campaign."""
        requests = []
        for entry in entries:
            try:
                requests.append((entry.key, self._request(entry)))
            except ExotelValidationError:
                continue
        if placer.resolve_earlier(requests):
            self.log.info("Exotel campaign: resolved what earlier tries placed from one listing pass")

    def _request(self, entry: CampaignEntry) -> ConnectRequest:
        try:
            return self.hook.build_connect_request(**entry.parameters)
        except ExotelConfigurationError as err:
            raise InvalidExotelConnection(f"Connection {self.exotel_conn_id!r}: {err}") from None
        except TypeError as err:
            raise ExotelValidationError(
                "calls", f"call {entry.key!r}: {err}", "Check its arguments."
            ) from None

    def _ended_calls(self, sids: list[str], pacer: RequestPacer) -> list[str]:
        """Which of these calls Exotel lists as ended (each listing request paced like a POST)."""
        ended: list[str] = []
        for start in range(0, len(sids), MAX_SIDS_PER_LISTING):
            pacer.wait_turn()
            ended.extend(self.hook.get_ended_calls(sids[start : start + MAX_SIDS_PER_LISTING]))
        return ended

    # --- waiting ---------------------------------------------------------------------------------

    def _trigger(self, sids: list[str], *, deadline: float, resolve_after: float | None = None) -> Any:
        from exotel_provider.triggers.campaign import ExotelCampaignTrigger

        limit = int(self.time_limit) if self.time_limit not in (None, "") else None
        return ExotelCampaignTrigger(
            sids,
            exotel_conn_id=self.exotel_conn_id,
            deadline=deadline,
            poll_interval=self.poll_interval,
            pricing_grace_seconds=self.pricing_grace_seconds,
            time_limit=limit,
            resolve_after=resolve_after,
        )

    def _finish(self, outcomes: list[dict[str, Any]]) -> list[dict[str, Any]]:
        counts = ", ".join(f"{status} {n}" for status, n in count_statuses(outcomes).items())
        self.log.info("Exotel campaign: %d calls: %s", len(outcomes), counts or "none")
        return outcomes


def _outcome(placement: Placement) -> dict[str, Any]:
    if placement.sid:
        return placed_outcome(placement.key, placement.sid, placement.placed_at)
    if placement.unknown and placement.placed_at is not None:
        from exotel_provider.campaigns.unknowns import unknown_outcome

        window = {"sent_at": placement.placed_at, "settled_at": placement.settled_at or placement.placed_at}
        error = placement.error or "outcome unknown"
        return unknown_outcome(placement.key, error, candidates=placement.candidates, **window)
    return not_placed_outcome(placement.key, placement.error or "not placed", unknown=placement.unknown)


def _category(placement: Placement) -> str:
    if placement.sid:
        return "already placed" if placement.resumed else "placed"
    return "outcome unknown" if placement.unknown else "not placed"
