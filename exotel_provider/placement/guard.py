"""The never-call-twice guard: the dial-or-not decision for one call, across retries. No Airflow.

One task placing one call::

    from exotel_provider.placement import GuardPolicy, PlacementGuard

    guard = PlacementGuard(task_state_store, client, policy=GuardPolicy(reconcile_timeout=600))
    placement = guard.place(request)          # dials, reuses the earlier try's call, or adopts it
    placement.call.sid, placement.origin      # Origin.PLACED / REUSED / ADOPTED

Many calls in one task (a campaign): one guard per call, each under its own key prefix in the
same store, so a retry of the task dials only the calls no earlier try placed::

    for row in rows:
        guard = PlacementGuard(store, client, key_prefix=f"exotel_campaign_{row.id}_",
                               earlier_tries_since=run_start if try_number > 1 else None)
        sids[row.id] = guard.place(row.request, exclude=sids.values()).call.sid

``store`` is anything with ``get``/``set``/``delete`` (:class:`StateStore`), or None where the
task has no state store (Airflow 3.1/3.2); ``client`` is anything with ``place_call``,
``get_call`` and ``iter_calls`` (:class:`CallSource`, e.g. the sync ``ExotelClient``).

The decision, in order:

1. A Sid in the store: that call is reused, never dialled again (a 404 on it is re-read, then
   raises :class:`ExotelPlacedCallNotFoundError`; a retry reconnects once it reads again).
2. A pending mark (a request went out and its outcome is unknown): its call is looked for in the
   listing (:mod:`exotel_provider.placement.reconciliation` says how) and adopted, or dialling is
   proven safe, or the guard fails safe with :class:`ExotelCallOutcomeUnknownError`.
3. A later try (``earlier_tries_since``) whose store is absent or was emptied: an earlier try may
   have sent a request at any time since then, up to now. The same search, over that window.
4. Otherwise: mark pending, send, save the Sid before anything else. The Sid supersedes the mark
   (which is cleared only where a retry may redial past the Sid, or when no call was placed).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import tzinfo
from enum import Enum
from typing import Any, Protocol

from exotel_provider.calls.connect_request import ConnectRequest
from exotel_provider.calls.exotel_time import DEFAULT_EXOTEL_TIME_ZONE
from exotel_provider.calls.model import Call
from exotel_provider.calls.numbers import mask_number
from exotel_provider.calls.progress import DEFAULT_POLL_INTERVAL_SECONDS
from exotel_provider.calls.status import is_worth_redialling
from exotel_provider.errors import (
    ExotelAPIError,
    ExotelCallOutcomePendingError,
    ExotelCallOutcomeUnknownError,
    ExotelDoNotCallError,
    ExotelError,
    ExotelNotFoundError,
    ExotelOutsideCallingHoursError,
    ExotelPlacedCallNotFoundError,
    ExotelPlacementNotSavedError,
    ExotelRateLimitError,
    ExotelResponseError,
    ExotelServerError,
    ExotelTransportError,
    naming_sid,
)
from exotel_provider.placement.reconciliation import PlacementAttempt, Verdict, judge
from exotel_provider.placement.state_store import DEFAULT_KEY_PREFIX, PlacementRecord, StateStore

log = logging.getLogger(__name__)

UNKNOWN_OUTCOME_POLICIES = ("reconcile", "fail")
MAX_DIALS_PER_PLACEMENT = 3
"""Dials in one ``place()`` when lost answers are each proven to have placed nothing."""


class CallSource(Protocol):
    """What the guard needs from Exotel (the sync ``ExotelClient`` and ``ExotelHook`` have it)."""

    def place_call(self, request: ConnectRequest) -> Call:
        """Send the call-placing request."""

    def get_call(self, call_sid: str) -> Call:
        """Read one call by its Sid."""

    def iter_calls(self, **filters: Any) -> Iterable[Call]:
        """Every listed call matching ``filters``."""


class Log(Protocol):
    """Where the guard tells what it decided (a ``logging.Logger``, Airflow's task log)."""

    def info(self, msg: Any, /, *args: Any) -> Any:
        """Log a decision."""

    def warning(self, msg: Any, /, *args: Any) -> Any:
        """Log a decision the user should notice."""


class Clock(Protocol):
    """Epoch seconds and sleeping; tests give the simulator's clock."""

    def now(self) -> float:
        """Epoch seconds."""

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""


class WallClock:
    """The machine's clock."""

    def now(self) -> float:
        """``time.time()``."""
        return time.time()

    def sleep(self, seconds: float) -> None:
        """``time.sleep``."""
        time.sleep(seconds)


class FunctionClock:
    """A clock from two functions (e.g. ``time.monotonic`` and ``time.sleep``)."""

    def __init__(self, now: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._now = now
        self._sleep = sleep

    def now(self) -> float:
        """The wrapped ``now`` function."""
        return self._now()

    def sleep(self, seconds: float) -> None:
        """The wrapped ``sleep`` function."""
        self._sleep(seconds)


DEFAULT_CLOCK: Clock = WallClock()
"""The clock a guard uses unless given one (read when the guard is made)."""


class Origin(Enum):
    """Where a guard's call came from: placed now, reused from an earlier try, or adopted from the listing."""

    PLACED = "placed"
    """This guard's request placed the call."""
    REUSED = "reused"
    """An earlier try placed it and the store kept its Sid."""
    ADOPTED = "adopted"
    """A request whose answer was lost placed it; the listing proved which call it is."""


@dataclass(frozen=True)
class Placement:
    """The guard's answer: the call, and where it came from."""

    call: Call
    origin: Origin


@dataclass(frozen=True)
class GuardPolicy:
    """How hard the guard looks before it fails safe."""

    unknown_outcome: str = "reconcile"
    """``reconcile``: look for a lost call until ``reconcile_timeout``; ``fail``: one look at most."""
    reconcile_timeout: float = 600.0
    poll_interval: float = DEFAULT_POLL_INTERVAL_SECONDS
    redial_on_retry: bool = False
    """Dial again when the remembered call ended unanswered (busy, no-answer, failed, canceled)."""

    def __post_init__(self) -> None:
        if self.unknown_outcome not in UNKNOWN_OUTCOME_POLICIES:
            raise ValueError(f"unknown_outcome must be 'reconcile' or 'fail', got {self.unknown_outcome!r}")

    @property
    def search_seconds(self) -> float:
        """How long to look for a lost call: ``reconcile_timeout``, or 0 with ``unknown_outcome='fail'``."""
        return self.reconcile_timeout if self.unknown_outcome == "reconcile" else 0.0


class PlacementGuard:
    """Places one call so that no retry, clear or lost answer ever calls the person twice."""

    def __init__(
        self,
        store: StateStore | None,
        calls: CallSource,
        *,
        key_prefix: str = DEFAULT_KEY_PREFIX,
        policy: GuardPolicy | None = None,
        time_zone: tzinfo = DEFAULT_EXOTEL_TIME_ZONE,
        earlier_tries_since: float | None = None,
        clock: Clock | None = None,
        show_number: Callable[[str | None], str] = mask_number,
        logger: Log | None = None,
    ) -> None:
        self.record = PlacementRecord(store, key_prefix)
        self.calls = calls
        self.policy = policy or GuardPolicy()
        self.time_zone = time_zone
        self.earlier_tries_since = earlier_tries_since
        """Epoch seconds since when an earlier try may have sent a request; None on a first try."""
        self.clock = clock or DEFAULT_CLOCK
        self.show_number = show_number
        self.log: Log = logger or log
        self._state_emptied: bool | None = None

    def begin(self) -> None:
        """Note that a try is running (call it first thing in the try; ``place`` calls it too).

        A later try that finds the store without this note knows its state was emptied (a clear
        that discards task state) and treats the earlier tries as unrecorded.
        """
        if self._state_emptied is not None:
            return
        self._state_emptied = (
            self.earlier_tries_since is not None and self.record.available and not self.record.was_guarded()
        )
        self.record.mark_guarded(self.clock.now())

    def place(
        self, request: ConnectRequest, *, exclude: Iterable[str] = (), search: bool = True
    ) -> Placement:
        """The call for ``request``: reused, adopted or newly placed (see the module docstring).

        ``search=False``: a request whose outcome is unknown is never looked for here over time: one
        look at the listing decides once its window is complete; until then (and after a lost answer)
        :class:`ExotelCallOutcomePendingError` says when a look can decide, the window kept in the
        store, so that the task can wait without holding a worker and look again then."""
        self.begin()
        known = set(exclude)
        remembered = self.remembered_call()
        if remembered is not None:
            return Placement(remembered, Origin.REUSED)
        unresolved = self.unresolved_attempt(request)
        if unresolved is not None:
            # Kept for later tries: the window stays the same and a clear never forgets it.
            self.record.mark_pending(unresolved.sent_at, unresolved.settled_at)
            self.log.warning(
                "Exotel: an earlier try may have sent a request to call %s since %s (Exotel time) "
                "and its outcome is unknown: looking for that call before anything else",
                self.show_number(request.from_number),
                unresolved.exotel_time(unresolved.sent_at),
            )
            reason = "An earlier try of this task sent a call-placing request."
            resolve = self.search if search else self.look_once
            adopted = resolve(unresolved, reason, known)
            if adopted is not None:
                return adopted
        for _ in range(MAX_DIALS_PER_PLACEMENT):
            placement = self.dial(request, known, search=search)
            if placement is not None:
                return placement
        # every lost answer was proven to have placed nothing: let a retry decide
        raise ExotelTransportError("Exotel placed no call for repeated requests whose answers were lost.")

    # --- 1. a Sid the store kept ------------------------------------------------------------------

    def remembered_call(self) -> Call | None:
        """The call an earlier try placed, if it is to be reused (None: no Sid, or redial asked)."""
        sid = self.record.sid()
        if sid is None:
            return None
        call = self._read_remembered(sid)
        if self.policy.redial_on_retry and is_worth_redialling(call.status):
            self.log.info(
                "Exotel: call %s from an earlier try ended %s; redialling as asked", sid, call.raw_status
            )
            return None
        self.log.info(
            "Exotel: reusing call %s (%s) placed by an earlier try: not calling again", sid, call.raw_status
        )
        return call

    def _read_remembered(self, sid: str) -> Call:
        deadline = self.clock.now() + self.policy.search_seconds
        while True:
            try:
                return self.calls.get_call(sid)
            except ExotelNotFoundError:
                if self.clock.now() + self.policy.poll_interval > deadline:
                    raise ExotelPlacedCallNotFoundError(_not_found_message(sid), call_sid=sid) from None
            except ExotelError as err:
                naming_sid(err, sid)
                raise
            self.log.warning(
                "Exotel: call %s reads 404; reading it again in %g s", sid, self.policy.poll_interval
            )
            self.clock.sleep(self.policy.poll_interval)

    # --- 2./3. a request whose outcome is unknown -------------------------------------------------

    def unresolved_attempt(self, request: ConnectRequest) -> PlacementAttempt | None:
        """The window in which an earlier try may have placed a call this guard does not know."""
        pending = self.record.pending()
        now = self.clock.now()
        if pending is not None:
            sent_at, settled_at = pending
            return PlacementAttempt(request, sent_at, settled_at or now, self.time_zone)
        if self.earlier_tries_since is None:
            return None
        if self.record.available and not self._state_emptied:
            return None  # earlier tries left no pending mark: none of their requests is unresolved
        return PlacementAttempt(request, min(self.earlier_tries_since, now), now, self.time_zone)

    def search(self, attempt: PlacementAttempt, reason: str, exclude: Iterable[str] = ()) -> Placement | None:
        """Look for the attempt's call until the policy's timeout: its Placement, None when none was
        placed, or :class:`ExotelCallOutcomeUnknownError` naming what is known."""
        known = set(exclude)
        deadline = self.clock.now() + self.policy.search_seconds
        look = Look()
        while True:
            look = self._look(attempt, known, look)
            now = self.clock.now()
            verdict = (
                judge(attempt, look.candidates, now=now, nearby=look.nearby)
                if look.read_error is None
                else Verdict.NOT_YET
            )
            if verdict is Verdict.ADOPT:
                return self._adopt(look.candidates[0])
            if verdict is Verdict.NONE_PLACED:
                self._none_placed(attempt)
                return None
            final = verdict in (Verdict.AMBIGUOUS, Verdict.DOUBT)
            if final or look.fatal or now + self.policy.poll_interval > deadline:
                raise self._unknown(attempt, reason, look)
            self.log.info("Exotel: %s; looking again in %g s", look.describe(), self.policy.poll_interval)
            self.clock.sleep(self.policy.poll_interval)

    def _none_placed(self, attempt: PlacementAttempt) -> None:
        """The listing proves the request placed no call: say so and forget its pending mark."""
        self.log.warning(
            "Exotel: no call from %s created since %s is listed, and any would be by now: "
            "the request placed no call",
            self.show_number(attempt.request.from_number),
            attempt.exotel_time(attempt.sent_at),
        )
        self.record.clear_pending()

    def look_once(
        self, attempt: PlacementAttempt, reason: str, exclude: Iterable[str] = ()
    ) -> Placement | None:
        """One look at the listing over the attempt's window: its Placement (adopted), None when none
        was placed (the pending mark cleared), :class:`ExotelCallOutcomePendingError` while the window
        is not complete (or the listing could not be read), else :class:`ExotelCallOutcomeUnknownError`."""
        look = self._look(attempt, set(exclude), Look())
        now = self.clock.now()
        verdict = Verdict.NOT_YET
        if look.read_error is None:
            verdict = judge(attempt, look.candidates, now=now, nearby=look.nearby)
        if verdict is Verdict.ADOPT:
            return self._adopt(look.candidates[0])
        if verdict is Verdict.NONE_PLACED:
            self._none_placed(attempt)
            return None
        if verdict is not Verdict.NOT_YET or look.fatal:
            raise self._unknown(attempt, reason, look)
        raise self._pending(attempt, reason, look, now)

    def _pending(
        self, attempt: PlacementAttempt, reason: str, look: Look, now: float
    ) -> ExotelCallOutcomePendingError:
        complete_at = max(attempt.certainly_listed_by(), now + self.policy.poll_interval)
        unknown = self._unknown(attempt, reason, look)
        return ExotelCallOutcomePendingError(
            str(unknown), sent_at=attempt.sent_at, settled_at=attempt.latest_send, complete_at=complete_at,
            candidate_sids=unknown.candidate_sids,
        )  # fmt: skip

    def _look(self, attempt: PlacementAttempt, exclude: set[str], previous: Look) -> Look:
        return look_once(self.calls, attempt, exclude, previous)

    def _adopt(self, call: Call) -> Placement:
        self._save(call)
        self.log.warning(
            "Exotel: adopting call %s (%s), the call the earlier request placed: not calling again",
            call.sid,
            call.raw_status,
        )
        return Placement(call, Origin.ADOPTED)

    def _unknown(self, attempt: PlacementAttempt, reason: str, look: Look) -> ExotelCallOutcomeUnknownError:
        number = self.show_number(attempt.request.from_number)
        sids = tuple(call.sid for call in look.candidates)
        message = unknown_outcome_message(attempt, reason, number, sids, look)
        nearby = tuple(call.sid for call in look.nearby)
        return ExotelCallOutcomeUnknownError(message, candidate_sids=sids or nearby)

    # --- 4. dialling ------------------------------------------------------------------------------

    def dial(
        self, request: ConnectRequest, exclude: Iterable[str] = (), *, search: bool = True
    ) -> Placement | None:
        """Mark pending, send, save the Sid first. None when a lost answer proved no call was placed.

        ``search=False``: a lost answer is not looked for here; the pending mark keeps its window and
        the :class:`ExotelCallOutcomeUnknownError` is raised at once, for a later resolution (a
        campaign resolves all of them in one listing pass, without holding a placing thread)."""
        sent_at = self.clock.now()
        self.record.mark_pending(sent_at)
        try:
            call = self.calls.place_call(request)
        except ExotelCallOutcomeUnknownError as err:
            settled_at = self.clock.now()
            self.record.mark_pending(sent_at, settled_at)
            attempt = PlacementAttempt(request, sent_at, settled_at, self.time_zone)
            if not search:
                raise ExotelCallOutcomePendingError(
                    str(err), sent_at=sent_at, settled_at=settled_at, complete_at=attempt.certainly_listed_by(),
                    candidate_sids=err.candidate_sids,
                ) from err  # fmt: skip
            reason = str(err)
            if self.policy.unknown_outcome == "reconcile":
                self.log.warning(
                    "Exotel: %s Looking for the call in Exotel's listing for up to %.0f s.",
                    reason,
                    self.policy.reconcile_timeout,
                )
            return self.search(attempt, reason, exclude)
        except (ExotelAPIError, ExotelTransportError, ExotelOutsideCallingHoursError, ExotelDoNotCallError):
            self.record.clear_pending()  # refused, never reached Exotel, or never sent: no call exists
            raise
        self._save(call)
        self.log.info("Exotel: placed call %s (status %s)", call.sid, call.raw_status)
        return Placement(call, Origin.PLACED)

    def _save(self, call: Call) -> None:
        """The Sid goes to the store before anything else; a store that refuses it is named with it.

        The pending mark stays unless a later try may look past this Sid (``redial_on_retry``): a
        saved Sid is read first and supersedes it for good, and not deleting it saves one state-store
        round trip per call placed (a campaign places thousands)."""
        try:
            self.record.save_sid(call.sid)
            if self.policy.redial_on_retry:  # a redial must not take this call's mark for a lost request
                self.record.clear_pending()
        except Exception as err:
            raise ExotelPlacementNotSavedError(
                f"Call {call.sid} was placed, but the task's state store could not keep its Sid "
                f"({type(err).__name__}). Do not call again: the call exists.",
                call_sid=call.sid,
            ) from err


@dataclass(frozen=True)
class Look:
    """What the search knows after its looks so far."""

    candidates: list[Call] = field(default_factory=list)
    nearby: list[Call] = field(default_factory=list)
    """Calls between the same parties near the window (ours only if misread)."""
    looks: int = 0
    read_error: ExotelError | None = None
    failed_reads: int = 0
    fatal: bool = False

    def failed(self, err: ExotelError, *, fatal: bool) -> Look:
        """This look again, after a failed read of the listing (``fatal``: stop looking)."""
        return Look(self.candidates, self.nearby, self.looks + 1, err, self.failed_reads + 1, fatal)

    def describe(self) -> str:
        """What this look found, for the log and the error."""
        if self.read_error is not None:
            return f"the listing could not be read ({type(self.read_error).__name__}): not listed yet"
        if self.candidates:
            return f"call {self.candidates[0].sid} is listed but calls in progress are not"
        return "no such call listed yet"


def look_once(calls: CallSource, attempt: PlacementAttempt, exclude: Iterable[str], previous: Look) -> Look:
    """One pass over the listing; a failed read counts as "not listed yet" (fatal when looking
    again cannot help: 400, 401, 403, 404)."""
    try:
        listed = list(calls.iter_calls(**attempt.listing_filters()))
    except (ExotelRateLimitError, ExotelServerError, ExotelTransportError, ExotelResponseError) as err:
        return previous.failed(err, fatal=False)
    except ExotelAPIError as err:
        return previous.failed(err, fatal=True)
    return Look(
        attempt.candidates(listed, exclude=exclude),
        attempt.nearby(listed, exclude=exclude),
        previous.looks + 1,
        failed_reads=previous.failed_reads,
    )


def listed_candidates(
    calls: CallSource,
    attempt: PlacementAttempt,
    *,
    timeout: float,
    poll_interval: float,
    exclude: Iterable[str] = (),
    clock: Clock | None = None,
    logger: Log | None = None,
) -> list[Call]:
    """Look until some candidate is listed or ``timeout``: the candidates (maybe none). It does
    not decide: one candidate is proof only in a complete window (:func:`judge`)."""
    clock = clock or DEFAULT_CLOCK
    started = clock.now()
    look = Look()
    while True:
        look = look_once(calls, attempt, set(exclude), look)
        if look.candidates or look.fatal or clock.now() - started + poll_interval > timeout:
            return look.candidates
        (logger or log).info("Exotel: %s; looking again in %g s", look.describe(), poll_interval)
        clock.sleep(poll_interval)


def unknown_outcome_message(
    attempt: PlacementAttempt,
    reason: str,
    number: str,
    sids: tuple[str, ...],
    look: Look,
) -> str:
    """The fail-safe message: what was sent, what the listing showed, what to do next."""
    since = attempt.exotel_time(attempt.sent_at)
    settled = attempt.exotel_time(attempt.certainly_listed_by())
    reads = ""
    if look.failed_reads:
        last = type(look.read_error).__name__
        reads = f" {look.failed_reads} of {look.looks} listing reads failed (last: {last})."
    if len(sids) > 1:
        found = (
            f"Several calls from {number} since {since} (Exotel time) could be the one it placed "
            f"({', '.join(sids)}); not choosing one and not calling again."
        )
    elif sids:
        found = (
            f"Call {sids[0]} from {number} is listed and may be the one it placed, but another call "
            f"created at the same time may still be in progress (Exotel lists calls only once they "
            f"have ended, and every such call is listed only after {settled}); not adopting it and "
            "not calling again."
        )
    elif look.nearby:
        nearby = ", ".join(call.sid for call in look.nearby)
        found = (
            f"The call to {number} may have been placed and its Sid is unknown: no matching call is "
            f"listed for the time it was sent ({since}, Exotel time), but Exotel lists calls between "
            f"the same parties a few hours away ({nearby}): if Exotel's time zone differs from the "
            "connection's extra.timezone (or its clock from ours), one of them may be it. Not calling again."
        )
    else:
        found = (
            f"The call to {number} may have been placed and its Sid is unknown: Exotel lists no "
            f"matching call created since {since} (Exotel time), but it lists calls only once they "
            "have ended."
        )
    return (
        f"{reason} {found}{reads} Check Exotel's call logs before calling again. Clearing this task "
        f"looks again; it adopts the call or dials only once no other call can match (after {settled})."
    )


def _not_found_message(sid: str) -> str:
    return (
        f"Call {sid} was placed (Exotel answered with this Sid) but Exotel now answers 404 for it. "
        "Not calling again: the call existed. Check that the connection's account_sid and region "
        "(host) are those that placed the call; a retry reconnects as soon as the Sid reads again."
    )
