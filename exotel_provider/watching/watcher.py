"""CallWatcher: many waiters, one account, few requests; calls and SMS.

Every waiter (a trigger) registers the call it waits for; the watcher asks Exotel about all of them
together with the bulk call-details listing, up to 100 Sids per request, on the timing rules of
:class:`~exotel_provider.watching.schedule.WatchSchedule`, and through the client's request
budget. A call the listing can't answer for (never shown as ended when it should have, or shown in an
entry that can't be read) is looked up on its own; a listing refused with a 4xx falls back to looking
each call of its batch up on its own, so one bad call never stalls or fails the others. Whether a call is final is decided by :func:`~exotel_provider.calls.progress.assess_call`
alone, with the pricing grace period counted from when the watcher first saw the call ended.
SMS are waited for beside the calls, through the same client, budget and loop, each read by its Sid
(:mod:`~exotel_provider.watching.sms_watch`: Exotel documents no SMS listing).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from dataclasses import dataclass, field
from typing import Any

from exotel_provider.calls.model import Call
from exotel_provider.calls.progress import (
    DEFAULT_POLL_INTERVAL_SECONDS,
    DEFAULT_PRICING_GRACE_SECONDS,
    Assessment,
    assess_call,
)
from exotel_provider.client.api_requests import MAX_SIDS_PER_LISTING
from exotel_provider.client.async_client import ExotelAsyncClient
from exotel_provider.client.request_budget import Clock
from exotel_provider.errors import ExotelError, ExotelNotFoundError, ExotelResponseError, ExotelWaitTimeout
from exotel_provider.sms.model import DEFAULT_SMS_POLL_INTERVAL_SECONDS, SmsMessage
from exotel_provider.watching.read_errors import MAX_UNREADABLE_LOOKUPS, is_refusal, is_transient
from exotel_provider.watching.schedule import WatchSchedule
from exotel_provider.watching.sms_watch import SmsWatch, SmsWatching

log = logging.getLogger(__name__)


@dataclass(eq=False)
class CallWatch:
    """One waiter's interest in one call; its future ends with the final :class:`Assessment`
    or the error that made watching impossible."""

    sid: str
    poll_interval: float
    pricing_grace_seconds: float
    future: asyncio.Future[Assessment]
    ended_seen_at: float | None = None
    """When the watcher first saw the call ended (its clock): the start of the pricing grace period."""
    assessed_at: float | None = None
    """When the final assessment was made (its clock)."""


@dataclass(eq=False)
class _WatchedCall:
    sid: str
    registered_at: float
    time_limit: float | None
    next_check_at: float
    next_lookup_at: float
    watches: list[CallWatch] = field(default_factory=list)
    lookups: int = 0
    failures: int = 0
    unreadable_lookups: int = 0
    ended_seen_at: float | None = None
    last_call: Call | None = None
    last_error: str | None = None

    @property
    def poll_interval(self) -> float:
        return min(watch.poll_interval for watch in self.watches)

    @property
    def pricing_grace_seconds(self) -> float:
        return min(watch.pricing_grace_seconds for watch in self.watches)


@dataclass
class WatcherStats:
    """What the watcher has done so far (for logs, tests and benchmarks)."""

    rounds: int = 0
    listing_requests: int = 0
    lookups: int = 0
    failed_requests: int = 0
    watched: int = 0
    peak_watched: int = 0
    sms_reads: int = 0
    """Reads of one SMS by its Sid (failed ones included)."""
    sms_watched: int = 0


class CallWatcher:
    """Watches calls and SMS of one Exotel account until each is final, within a request budget.

    Use from one event loop. ``watch()`` a call, ``await wait(watch, deadline=...)`` for its final
    assessment, ``unwatch()`` when done (also after a timeout or a cancellation), ``aclose()`` when
    the last waiter is gone. Watching the same Sid twice costs nothing extra. SMS alike:
    ``watch_sms()``, ``await wait_sms(watch, deadline=...)``, ``unwatch()``.
    """

    def __init__(
        self,
        client: ExotelAsyncClient,
        *,
        schedule: WatchSchedule | None = None,
        clock: Clock | None = None,
        batch_size: int = MAX_SIDS_PER_LISTING,
    ) -> None:
        if not 1 <= batch_size <= MAX_SIDS_PER_LISTING:
            raise ValueError(f"batch_size must be from 1 to {MAX_SIDS_PER_LISTING}, got {batch_size}")
        self.client = client
        self.schedule = schedule or WatchSchedule()
        self.clock: Clock = clock or client.clock
        self.batch_size = batch_size
        self.stats = WatcherStats()
        self._calls: dict[str, _WatchedCall] = {}
        self._sms = SmsWatching(client, schedule=self.schedule, clock=self.clock, stats=self.stats)
        self._wake = asyncio.Event()
        self._planned_at = math.inf
        self._task: asyncio.Task[None] | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"CallWatcher({self.client!r}, watching={len(self._calls)}, sms={len(self._sms)})"

    @property
    def watching(self) -> int:
        """How many distinct calls are being watched."""
        return len(self._calls)

    @property
    def watching_sms(self) -> int:
        """How many distinct SMS are being watched."""
        return len(self._sms)

    # --- waiters ---------------------------------------------------------------------------------

    def watch(
        self,
        sid: str,
        *,
        poll_interval: float = DEFAULT_POLL_INTERVAL_SECONDS,
        pricing_grace_seconds: float = DEFAULT_PRICING_GRACE_SECONDS,
        time_limit: float | None = None,
    ) -> CallWatch:
        """Register interest in a call; the first check is one poll interval from now."""
        if self._closed:
            raise RuntimeError("this CallWatcher is closed")
        loop = asyncio.get_running_loop()
        watch = CallWatch(sid, float(poll_interval), float(pricing_grace_seconds), loop.create_future())
        watched = self._calls.get(sid)
        if watched is None:
            now = self.clock.now()
            watched = _WatchedCall(
                sid=sid,
                registered_at=now,
                time_limit=time_limit,
                next_check_at=self.schedule.first_check_at(now, watch.poll_interval),
                next_lookup_at=self.schedule.first_lookup_at(now, time_limit),
            )
            self._calls[sid] = watched
            self.stats.watched += 1
            self.stats.peak_watched = max(self.stats.peak_watched, len(self._calls))
        else:
            watched.next_check_at = min(
                watched.next_check_at, self.schedule.first_check_at(self.clock.now(), watch.poll_interval)
            )
        watched.watches.append(watch)
        self._checks_planned(loop, watched.next_check_at)
        return watch

    def watch_sms(self, sid: str, *, poll_interval: float = DEFAULT_SMS_POLL_INTERVAL_SECONDS) -> SmsWatch:
        """Register interest in an SMS: read at once if new, then no more often than ``poll_interval``."""
        if self._closed:
            raise RuntimeError("this CallWatcher is closed")
        loop = asyncio.get_running_loop()
        watch = self._sms.add(sid, poll_interval, loop.create_future())
        self._checks_planned(loop, self._sms.next_check_at())
        return watch

    def _checks_planned(self, loop: asyncio.AbstractEventLoop, check_at: float) -> None:
        """The polling loop runs, and wakes up early for a check due before the one it sleeps until."""
        if self._task is None:
            self._task = loop.create_task(self._run(), name="exotel-call-watcher")
        if check_at < self._planned_at:
            self._wake.set()

    def unwatch(self, watch: CallWatch | SmsWatch) -> None:
        """Forget a waiter (idempotent); the call or SMS is dropped when nobody waits for it any more."""
        if isinstance(watch, SmsWatch):
            self._sms.remove(watch)
            return
        watched = self._calls.get(watch.sid)
        if watched is not None and watch in watched.watches:
            watched.watches.remove(watch)
            if not watched.watches:
                del self._calls[watch.sid]
        if not watch.future.done():
            watch.future.cancel()

    async def wait(self, watch: CallWatch, *, deadline: float) -> Assessment:
        """The final assessment of the watched call, or :class:`ExotelWaitTimeout` at ``deadline``
        (on the watcher's clock), or the error that made watching this call impossible."""
        if await self._settled(watch.future, deadline):
            return watch.future.result()
        raise ExotelWaitTimeout(self._timeout_message(watch.sid, deadline), call_sid=watch.sid)

    async def wait_sms(self, watch: SmsWatch, *, deadline: float) -> SmsMessage:
        """The watched SMS once final, or :class:`ExotelWaitTimeout` at ``deadline`` (on the
        watcher's clock), or the error that made watching this SMS impossible. An SMS not yet read
        at the deadline is read once first, so that the timeout says where it stands."""
        if not await self._settled(watch.future, deadline):
            await self._sms.first_answer(watch.sid)
        if watch.future.done():
            return watch.future.result()
        raise ExotelWaitTimeout(self._sms.timeout_message(watch.sid), call_sid=watch.sid)

    async def _settled(self, future: asyncio.Future[Any], deadline: float) -> bool:
        """Whether ``future`` is done by ``deadline``."""
        remaining = deadline - self.clock.now()
        if not future.done() and remaining > 0:
            timer: asyncio.Future[Any] = asyncio.ensure_future(self.clock.sleep(remaining))
            try:
                await asyncio.wait({future, timer}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()
        return future.done()

    def last_known(self, sid: str) -> Call | None:
        """The call as Exotel last showed it to the watcher, if it did."""
        watched = self._calls.get(sid)
        return watched.last_call if watched is not None else None

    def last_known_sms(self, sid: str) -> SmsMessage | None:
        """The SMS as Exotel last showed it to the watcher, while it is watched."""
        return self._sms.last_known(sid)

    async def aclose(self) -> None:
        """Stop watching and close the HTTP client; waiters still registered get cancelled."""
        self._closed = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for watched in list(self._calls.values()):
            for watch in watched.watches:
                if not watch.future.done():
                    watch.future.cancel()
        self._calls.clear()
        self._sms.cancel_all()
        await self.client.aclose()

    # --- the polling loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            due_at = min(
                min((watched.next_check_at for watched in self._calls.values()), default=math.inf),
                self._sms.next_check_at(),
            )
            now = self.clock.now()
            if due_at > now:
                self._planned_at = due_at
                self._wake.clear()
                await self._sleep_or_wake(due_at - now)
                continue
            self._planned_at = math.inf
            try:
                await self._round(now)
            except Exception as err:  # a bug must not leave every waiter hanging until its deadline
                log.exception("Exotel: the call watcher failed; failing the calls and SMS it was checking")
                for watched in list(self._calls.values()):
                    if watched.next_check_at <= now:
                        self._fail(watched, err)
                self._sms.fail_due(now, err)

    async def _sleep_or_wake(self, seconds: float) -> None:
        if math.isinf(seconds):
            await self._wake.wait()
            return
        sleeper = asyncio.ensure_future(self.clock.sleep(seconds))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeper.cancel()
            waker.cancel()

    async def _round(self, now: float) -> None:
        """Ask about every due call: due ones first, then the last batch topped up with those due soonest;
        and read every due SMS."""
        due = sorted(
            (watched for watched in self._calls.values() if watched.next_check_at <= now),
            key=lambda watched: watched.next_check_at,
        )
        room = -len(due) % self.batch_size
        if room:
            due_ids = {id(watched) for watched in due}
            upcoming = sorted(
                (
                    watched
                    for watched in self._calls.values()
                    if id(watched) not in due_ids and watched.next_check_at <= now + watched.poll_interval
                ),
                key=lambda watched: watched.next_check_at,
            )
            due.extend(upcoming[:room])
        batches = [due[i : i + self.batch_size] for i in range(0, len(due), self.batch_size)]
        self.stats.rounds += 1
        await asyncio.gather(*(self._check_batch(batch) for batch in batches), self._sms.read_due(now))

    async def _check_batch(self, batch: list[_WatchedCall]) -> None:
        self.stats.listing_requests += 1
        try:
            ended = await self.client.get_ended_calls_batch([watched.sid for watched in batch])
        except ExotelError as err:
            self.stats.failed_requests += 1
            await self._after_failed_listing(batch, err)
            return
        for watched in batch:
            if self._calls.get(watched.sid) is not watched:
                continue  # nobody waits for it any more
            watched.failures = 0
            call = ended.found.get(watched.sid)
            if watched.sid in ended.unreadable:
                call = await self._look_up_unreadable(watched, ended.unreadable[watched.sid])
            elif call is None and self.clock.now() >= watched.next_lookup_at:
                call = await self._look_up(watched)
            if self._calls.get(watched.sid) is watched:
                self._update(watched, call, self.clock.now())

    async def _after_failed_listing(self, batch: list[_WatchedCall], err: ExotelError) -> None:
        """A 4xx for the listing is looked into call by call; a transient failure is tried again later."""
        if is_refusal(err):
            log.warning(
                "Exotel: listing %d calls was refused (%s); looking each up on its own", len(batch), err
            )
            for watched in batch:
                if self._calls.get(watched.sid) is watched:
                    call = await self._look_up(watched)
                    if self._calls.get(watched.sid) is watched:
                        self._update(watched, call, self.clock.now())
            return
        if not is_transient(err):
            for watched in batch:
                self._fail(watched, err)
            return
        log.warning("Exotel: listing %d calls failed (%s); trying again later", len(batch), err)
        now = self.clock.now()
        for watched in batch:
            watched.failures += 1
            watched.last_error = str(err)
            watched.next_check_at = self.schedule.retry_after_error(
                now, watched.poll_interval, watched.failures
            )

    async def _look_up(self, watched: _WatchedCall) -> Call | None:
        """One call on its own: the listing has not shown it although it should have ended."""
        watched.lookups += 1
        call, transient = await self._read_on_its_own(watched)
        if transient is not None:
            watched.last_error = str(transient)
        watched.next_lookup_at = self.schedule.next_lookup_at(self.clock.now(), watched.lookups)
        return call

    async def _look_up_unreadable(self, watched: _WatchedCall, problem: str) -> Call | None:
        """A call whose listing entry could not be read, read on its own; after
        :data:`MAX_UNREADABLE_LOOKUPS` unreadable answers in a row its watch ends in an error."""
        watched.unreadable_lookups += 1
        call, transient = await self._read_on_its_own(watched)
        if transient is None:
            watched.unreadable_lookups = 0
        elif watched.unreadable_lookups >= MAX_UNREADABLE_LOOKUPS:
            self._fail(watched, _unreadable_error(watched, problem, transient))
        else:
            watched.last_error = (
                f"its listing entry could not be read ({problem}); nor its details ({transient})"
            )
        return call

    async def _read_on_its_own(self, watched: _WatchedCall) -> tuple[Call | None, ExotelError | None]:
        """GET one call: the call, or the transient error to try again after; a lasting error (404
        included) ends this call's watch."""
        self.stats.lookups += 1
        try:
            return await self.client.get_call(watched.sid), None
        except ExotelError as err:
            self.stats.failed_requests += 1
            if isinstance(err, ExotelNotFoundError) or not is_transient(err):
                self._fail(watched, err)
                return None, None
            return None, err

    def _update(self, watched: _WatchedCall, call: Call | None, now: float) -> None:
        if call is not None:
            watched.last_call = call
            watched.last_error = None
        if call is None or not call.is_terminal:
            watched.next_check_at = self.schedule.next_check_in_flight(
                now, watched.registered_at, watched.poll_interval
            )
            return
        if watched.ended_seen_at is None:
            watched.ended_seen_at = now
        for watch in list(watched.watches):
            assessment = assess_call(
                call,
                ended_seen_at=watched.ended_seen_at,
                now=now,
                pricing_grace_seconds=watch.pricing_grace_seconds,
            )
            if assessment.is_final:
                watched.watches.remove(watch)
                watch.ended_seen_at, watch.assessed_at = watched.ended_seen_at, now
                if not watch.future.done():
                    watch.future.set_result(assessment)
        if not watched.watches:
            del self._calls[watched.sid]
            return
        watched.next_check_at = self.schedule.next_check_ended(
            now, watched.ended_seen_at, watched.poll_interval, watched.pricing_grace_seconds
        )

    def _fail(self, watched: _WatchedCall, error: BaseException) -> None:
        for watch in watched.watches:
            if not watch.future.done():
                watch.future.set_exception(error)
        watched.watches.clear()
        if self._calls.get(watched.sid) is watched:
            del self._calls[watched.sid]

    def _timeout_message(self, sid: str, deadline: float) -> str:
        watched = self._calls.get(sid)
        if watched is None or watched.last_call is None:
            state = (
                "Exotel has not listed it as ended (it is still in progress, or the Sid is unknown to "
                "this account)"
            )
        elif watched.ended_seen_at is not None:
            state = assess_call(
                watched.last_call,
                ended_seen_at=watched.ended_seen_at,
                now=self.clock.now(),
                pricing_grace_seconds=watched.pricing_grace_seconds,
            ).message
        else:
            state = f"it was last {watched.last_call.raw_status or 'in an unknown status'}"
        if watched is not None and watched.last_error:
            state += f"; the last request failed: {watched.last_error}"
        return f"Call {sid} was not final by the deadline: {state}."


def _unreadable_error(watched: _WatchedCall, problem: str, error: ExotelError) -> ExotelResponseError:
    return ExotelResponseError(
        f"Call {watched.sid}: Exotel's answers about it could not be read {watched.unreadable_lookups} "
        f"times in a row (its listing entry: {problem}; its details: {error}). Stopped watching it; "
        "other calls are not affected. Check the call in Exotel's dashboard."
    )
