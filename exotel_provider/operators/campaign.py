"""ExotelCampaignOperator: place many calls at a controlled rate, wait for all of them in one deferral."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from airflow.sdk import Context

from exotel_provider.calls.progress import DEFAULT_PRICING_GRACE_SECONDS
from exotel_provider.errors import ExotelConfigurationError, ExotelValidationError
from exotel_provider.hooks.exotel import ExotelHook
from exotel_provider.operators.campaign_rules import DialRulesParameters
from exotel_provider.operators.exotel import DEFAULT_DEFERRED_WAIT_SECONDS, DEFAULT_RECONCILE_TIMEOUT
from exotel_provider.task_errors import InvalidCallRequest, InvalidExotelConnection

if TYPE_CHECKING:  # the campaign's machinery loads when the task runs, not when its DAG file is parsed
    from exotel_provider.calls.connect_request import ConnectRequest
    from exotel_provider.campaigns.ledger import CallLedger, CampaignBook
    from exotel_provider.campaigns.outcomes import CampaignEntry
    from exotel_provider.campaigns.placing import CampaignPlacer
    from exotel_provider.campaigns.run import CampaignRun

DEFAULT_MAX_CALLS_IN_FLIGHT = 500
DEFAULT_PLACING_THREADS = 4
"""Calls placed side by side: enough for a paced few thousand a minute while each waits for Exotel."""
MAX_RESOLUTION_ROUNDS = 3
"""Deferrals after the first that resolve unknowns (and dial those proven not placed)."""
PLACEMENTS_KEY = "placements"
"""XCom key of the outcomes as placed (before waiting), which the task completes when it resumes."""


class ExotelCampaignOperator(DialRulesParameters):
    """Call many people for one purpose: place each call once, paced, then wait for all in the triggerer.

    ``calls`` is a list of dicts (templated; typically an upstream task's XCom): a unique ``key``
    (e.g. a reminder id) plus the :class:`ExotelConnectOperator` arguments of that call
    (``from_number``, ``app_id`` ...); the operator's own ``app_id``, ``caller_id``,
    ``time_limit`` ... are the defaults. Calls go out evenly spaced within the connection's
    ``requests_per_minute`` less a share left to watching, never more than ``max_calls_in_flight``
    at once, and pause after a 429; ``placing_threads`` calls are placed side by side, so one slow
    answer does not hold up the next. The Sids are pushed to XCom (``placed_calls``, key → Sid) before
    the task defers once for all of them. It returns one outcome per call (``campaigns.outcomes``).

    A call Exotel refuses (e.g. a DND number, 403) or that is invalid is not a task failure: its
    outcome has status ``"not placed"`` and the error. Two entries with the same phone are called
    once; both get that call's outcome. A retry (or a cleared task) never calls anyone an earlier try
    called: each call is recorded in the ``ledger`` (a :class:`~exotel_provider.campaigns.ledger.CallLedger`,
    which later runs and days read too), or else under its own key in the task_state_store (3.3+).

    Whom it may dial, and when, is set by ``do_not_call``, ``max_calls_per_person``,
    ``max_calls_per_week``, ``mobile_only``, ``calling_hours`` and ``outside_calling_hours``: the
    parameters of its base,
    :class:`~exotel_provider.operators.campaign_rules.DialRulesParameters`.

    :param calls: the campaign's calls.
    :param ledger: where each call is recorded before and after it is placed: a ``CallLedger``, or
        (templated, serialisable) ``{"conn_id": ..., "day": ..., "attempt": 1}`` for the SQL ledger
        (``reminder_calls``) in that common-sql connection's database. None: the task state store.
    :param max_calls_in_flight: at most this many placed calls not yet ended.
    :param placing_threads: calls placed side by side (1: one after the other, in the list's order).
    :param watching_reserve: requests a minute left to watching (default: 5 % of a Redis-shared budget, else 0).
    :param poll_interval: seconds between checks of a call while it may change.
    :param pricing_grace_seconds: how long after a call ended to wait for its price.
    :param wait_timeout: give up waiting after this many seconds (default 6 hours).
    :param reconcile_timeout: how long to re-read a remembered call that answers 404. A call whose
        placing answer was lost holds no placing thread: it is recorded as unknown at once and
        resolved after the deferral, once every call of its window must be listed (adopted, dialled
        once proven not placed, or reported unknown naming its candidates).
    """

    template_fields: Sequence[str] = (
        "calls", "ledger", "exotel_conn_id", "caller_id", "app_id", "url", "call_type", "time_limit", "time_out",
    )  # fmt: skip
    ui_color = "#e8f4ff"

    def __init__(
        self,
        *,
        calls: list[dict[str, Any]] | str,
        ledger: CallLedger | dict[str, Any] | None = None,
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
        for field, value, fix in (
            ("max_calls_in_flight", max_calls_in_flight, "Allow at least 1 call."),
            ("placing_threads", placing_threads, "Use at least 1 thread."),
        ):
            if value < 1:
                raise ExotelValidationError(field, f"{value} is not positive", fix)
        self.calls, self.ledger = calls, ledger
        self.app_id, self.url, self.caller_id, self.call_type = app_id, url, caller_id, call_type
        self.time_limit, self.time_out, self.exotel_conn_id = time_limit, time_out, exotel_conn_id
        self.max_calls_in_flight, self.placing_threads = max_calls_in_flight, placing_threads
        self.watching_reserve, self.poll_interval = watching_reserve, poll_interval
        self.pricing_grace_seconds, self.wait_timeout = pricing_grace_seconds, wait_timeout
        self.reconcile_timeout = reconcile_timeout

    @cached_property
    def hook(self) -> ExotelHook:
        """A hook for the campaign's connection."""
        return ExotelHook(self.exotel_conn_id)

    def execute(self, context: Context) -> list[dict[str, Any]]:
        """Place the campaign's calls (paced, guarded), push their Sids, then defer until they end."""
        from exotel_provider.campaigns.run import outcome_of
        from exotel_provider.operators.campaign_window import defer_to_window

        entries = self._entries()
        book = self._book()
        try:
            run = self._run(context, book)
            if run.resolve_earlier(entries):
                self.log.info(
                    "Exotel campaign: what earlier tries or runs left unknown resolved in one listing pass"
                )
            placements = run.place(entries)
        finally:
            if book is not None:
                book.close()
        outcomes = [outcome_of(placement) for placement in placements]
        defer_to_window(self, context, run.window, entries, outcomes)  # someone waits for a window
        return self._wait(context, outcomes, [o["sid"] for o in outcomes if o["sid"]], book, rounds=0)

    def _wait(
        self,
        context: Context,
        outcomes: list[dict[str, Any]],
        sids: list[str],
        book: CampaignBook | None,
        *,
        rounds: int,
    ) -> list[dict[str, Any]]:
        """Push the Sids, then defer until these calls are final and every unknown can be resolved."""
        from exotel_provider.campaigns.unknowns import resolvable_after
        from exotel_provider.placement import guard

        placed = {o["key"]: o["sid"] for o in outcomes if o.get("sid")}
        context["ti"].xcom_push(key="placed_calls", value=placed)  # before waiting: no Sid is lost
        context["ti"].xcom_push(key=PLACEMENTS_KEY, value=outcomes)  # what execute_complete completes
        resolve_after = resolvable_after(outcomes, self._requests_of_unknowns(outcomes), self._time_zone())
        if not sids and resolve_after is None:
            return self._finish(outcomes, book)
        wait = self.wait_timeout if self.wait_timeout is not None else DEFAULT_DEFERRED_WAIT_SECONDS
        now = guard.DEFAULT_CLOCK.now()  # the clock the windows are on (the wall clock)
        deadline = max(now + wait, (resolve_after or 0) + self.poll_interval)
        if book is not None:
            book.close()  # nothing is written while the task waits
        self.defer(
            trigger=self._trigger(list(dict.fromkeys(sids)), deadline=deadline, resolve_after=resolve_after),
            method_name="execute_complete",
            kwargs={"rounds": rounds},
            timeout=timedelta(seconds=deadline - now + 300),
        )

    def resume_placing(self, context: Context, event: Any = None) -> list[dict[str, Any]]:
        """Go on once the calling window opened: place the rest, keep what was placed."""
        return self.execute(context)

    def execute_complete(self, context: Context, event: Any = None, rounds: int = 0) -> list[dict[str, Any]]:
        """Resume after the trigger: each outcome completed with its call's final details, then every
        unknown resolved in one listing pass (adopted, or dialled once proven not placed)."""
        from exotel_provider.campaigns.run import completed_outcomes

        ti = context["ti"]
        outcomes = ti.xcom_pull(task_ids=ti.task_id, key=PLACEMENTS_KEY, map_indexes=ti.map_index)
        event = event if isinstance(event, dict) else {}
        merged = completed_outcomes(outcomes or [], event.get("calls") or {}, event.get("failed") or {})
        return self._resolve(context, merged, self._book(), rounds)

    def _resolve(
        self, context: Context, outcomes: list[dict[str, Any]], book: CampaignBook | None, rounds: int
    ) -> list[dict[str, Any]]:
        """One listing pass for the unknowns; those proven not placed dialled (and watched) once more."""
        from exotel_provider.campaigns.resolution_round import resolve_round
        from exotel_provider.placement import guard

        requests = self._requests_of_unknowns(outcomes)
        if not requests:
            return self._finish(outcomes, book)
        after = resolve_round(
            self.hook, outcomes, requests, self._entries(), make_run=lambda: self._run(context, book),
            time_zone=self._time_zone(), now=guard.DEFAULT_CLOCK.now(),
            also_known=book.known_sids() if book is not None else (),
            last_round=rounds >= MAX_RESOLUTION_ROUNDS, logger=self.log,
        )  # fmt: skip
        if not after.wait_again:
            return self._finish(after.outcomes, book)
        return self._wait(context, after.outcomes, after.sids, book, rounds=rounds + 1)

    # --- placing ---------------------------------------------------------------------------------

    def _entries(self) -> list[CampaignEntry]:
        from exotel_provider.campaigns.outcomes import parse_entries

        defaults = {
            "app_id": self.app_id, "url": self.url, "caller_id": self.caller_id, "call_type": self.call_type,
            "time_limit": self.time_limit, "time_out": self.time_out,
        }  # fmt: skip
        try:
            return parse_entries(self.calls, defaults)
        except ExotelValidationError as err:
            raise InvalidCallRequest.from_error(err) from None

    def _book(self) -> CampaignBook | None:
        """The ledger's rows for this campaign (read first, before anything is placed or recorded)."""
        from exotel_provider.campaigns.ledger import CampaignBook
        from exotel_provider.operators.campaign_ledger import call_ledger

        ledger = call_ledger(self.ledger)
        return CampaignBook(ledger) if ledger is not None else None

    def _time_zone(self) -> Any:
        try:
            return ZoneInfo(self.hook.settings.time_zone)
        except ExotelConfigurationError as err:
            raise InvalidExotelConnection(f"Connection {self.exotel_conn_id!r}: {err}") from None

    def _requests_of_unknowns(self, outcomes: list[dict[str, Any]]) -> dict[str, ConnectRequest]:
        from exotel_provider.campaigns.unknowns import requests_of_unknowns

        return requests_of_unknowns(outcomes, self._entries(), self._request)

    def _placer(self, context: Context, book: CampaignBook | None) -> CampaignPlacer:
        """The one seam through which every call of the campaign is placed (the never-call-twice guard)."""
        from exotel_provider.call_lifecycle import earlier_tries_since
        from exotel_provider.campaigns.placing import CampaignPlacer
        from exotel_provider.placement.guard import GuardPolicy
        from exotel_provider.placement.task_memory import TaskMemory

        memory = TaskMemory(context)
        if book is None and not memory.available:
            self.log.warning(
                "This Airflow has no task_state_store (added in Airflow 3.3) and the campaign has no "
                "ledger: a retry cannot know which calls an earlier try placed, and fails safe for each "
                "of them. Give it a ledger, or retries=0 here."
            )
        return CampaignPlacer(
            self.hook, memory if memory.available else None,
            policy=GuardPolicy(reconcile_timeout=self.reconcile_timeout, poll_interval=self.poll_interval),
            earlier_tries_since=earlier_tries_since(context), time_zone=self._time_zone(),
            show_number=self.hook.display_number, logger=self.log, book=book,
        )  # fmt: skip

    def _run(self, context: Context, book: CampaignBook | None) -> CampaignRun:
        """Placing paced within the connection's budget, within the in-flight cap."""
        from exotel_provider.campaigns.run import CampaignWindow, paced_run

        try:
            settings = self.hook.settings
            self.hook.client  # noqa: B018 - made once here, then shared by the placing threads
        except ExotelConfigurationError as err:
            raise InvalidExotelConnection(f"Connection {self.exotel_conn_id!r}: {err}") from None
        return paced_run(
            self._placer(context, book), budget=settings.requests_per_minute, reserve=self.watching_reserve,
            shared_budget=bool(settings.rate_limit_redis_url), get_ended_calls=self.hook.get_ended_calls,
            build_request=self._request, max_calls_in_flight=self.max_calls_in_flight,
            placing_threads=self.placing_threads, poll_interval=self.poll_interval, logger=self.log, book=book,
            rules=self.dial_rules(book, time_zone=self._time_zone(), logger=self.log),
            window=CampaignWindow(self.calling_hours, self._time_zone()),
        )  # fmt: skip

    def _request(self, entry: CampaignEntry) -> ConnectRequest:
        try:
            return self.hook.build_connect_request(**entry.parameters)
        except ExotelConfigurationError as err:
            raise InvalidExotelConnection(f"Connection {self.exotel_conn_id!r}: {err}") from None

    # --- waiting ---------------------------------------------------------------------------------

    def _trigger(self, sids: list[str], *, deadline: float, resolve_after: float | None = None) -> Any:
        from exotel_provider.triggers.campaign import ExotelCampaignTrigger

        limit = int(self.time_limit) if self.time_limit not in (None, "") else None
        return ExotelCampaignTrigger(
            sids, exotel_conn_id=self.exotel_conn_id, deadline=deadline, poll_interval=self.poll_interval,
            pricing_grace_seconds=self.pricing_grace_seconds, time_limit=limit, resolve_after=resolve_after,
        )  # fmt: skip

    def _finish(self, outcomes: list[dict[str, Any]], book: CampaignBook | None) -> list[dict[str, Any]]:
        from exotel_provider.campaigns.run import finish_campaign

        return finish_campaign(outcomes, book, self.log)
