"""The SMS part of an account's watcher: SMS waited for beside calls, read through the same client.

Exotel documents no SMS listing, only ``GET .../SMS/Messages/<SmsSid>``, so each watched SMS is read
on its own; what the watcher shares with calls is the client, the account's request budget, the
polling loop and the schedule's rules. A new SMS is read as soon as it is watched (its trigger may
start long after it was sent, e.g. after a triggerer restart, and an unknown Sid then fails at
once), then no more often than the shortest poll interval of its waiters, less often the longer it
stays in progress (:meth:`~exotel_provider.watching.schedule.WatchSchedule.next_check_in_flight`).
Two waiters for one SMS share its reads. It is final when Exotel reports ``sent``, ``failed`` or
``failed_dnd`` (:attr:`~exotel_provider.sms.model.SmsMessage.is_final`), with the price Exotel
answers with it. A read that fails is handled like a call's lookup: transient failures (already
retried by the client) are asked again later with a back-off, a 404 or another lasting error ends
that SMS's watch with the error, and nothing about one SMS ever delays the others or the calls.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from exotel_provider.client.request_budget import Clock
from exotel_provider.errors import ExotelError, ExotelNotFoundError, ExotelResponseError
from exotel_provider.sms.model import SmsMessage
from exotel_provider.watching.read_errors import MAX_UNREADABLE_LOOKUPS, is_transient
from exotel_provider.watching.schedule import WatchSchedule

if TYPE_CHECKING:
    from exotel_provider.client.async_client import ExotelAsyncClient
    from exotel_provider.watching.watcher import WatcherStats


@dataclass(eq=False)
class SmsWatch:
    """One waiter's interest in one SMS; its future ends with the final message or the error that
    made watching it impossible."""

    sid: str
    poll_interval: float
    future: asyncio.Future[SmsMessage]


@dataclass(eq=False)
class _WatchedSms:
    sid: str
    registered_at: float
    next_check_at: float
    watches: list[SmsWatch] = field(default_factory=list)
    last_read_at: float | None = None
    failures: int = 0
    unreadable: int = 0
    last_sms: SmsMessage | None = None
    last_error: str | None = None
    answered: asyncio.Event = field(default_factory=asyncio.Event)
    """Set once the first read has ended (or the watch has)."""

    @property
    def poll_interval(self) -> float:
        return min(watch.poll_interval for watch in self.watches)


class SmsWatching:
    """The SMS an account's watcher waits for: when each is read next, and what a read means."""

    def __init__(
        self, client: ExotelAsyncClient, *, schedule: WatchSchedule, clock: Clock, stats: WatcherStats
    ) -> None:
        self.client = client
        self.schedule = schedule
        self.clock = clock
        self.stats = stats
        self._messages: dict[str, _WatchedSms] = {}

    def __len__(self) -> int:
        return len(self._messages)

    def add(self, sid: str, poll_interval: float, future: asyncio.Future[SmsMessage]) -> SmsWatch:
        """Register a waiter: a new SMS is due at once; one already watched keeps its spacing."""
        watch = SmsWatch(sid, float(poll_interval), future)
        now = self.clock.now()
        watched = self._messages.get(sid)
        if watched is None:
            watched = self._messages[sid] = _WatchedSms(sid=sid, registered_at=now, next_check_at=now)
            self.stats.sms_watched += 1
        elif watched.last_read_at is not None:
            earliest = watched.last_read_at + watch.poll_interval
            watched.next_check_at = min(watched.next_check_at, max(now, earliest))
        watched.watches.append(watch)
        return watch

    def next_check_at(self) -> float:
        """When the soonest of the watched SMS is read next; infinity when none is watched."""
        return min((watched.next_check_at for watched in self._messages.values()), default=math.inf)

    def remove(self, watch: SmsWatch) -> None:
        """Forget a waiter (idempotent); the SMS is dropped when nobody waits for it any more."""
        if not watch.future.done():
            watch.future.cancel()
        watched = self._messages.get(watch.sid)
        if watched is None or watch not in watched.watches:
            return
        watched.watches.remove(watch)
        if not watched.watches:
            self._drop(watched)

    def last_known(self, sid: str) -> SmsMessage | None:
        """The SMS as Exotel last showed it, while it is watched."""
        watched = self._messages.get(sid)
        return watched.last_sms if watched is not None else None

    async def first_answer(self, sid: str) -> None:
        """Until the SMS has been read once (or its watch has ended): a waiter whose deadline comes
        first still learns where its SMS stands, or that it is final."""
        watched = self._messages.get(sid)
        if watched is not None:
            await watched.answered.wait()

    async def read_due(self, now: float) -> None:
        """Read every SMS due by ``now``, each with its own request (they wait for the budget)."""
        due = [watched for watched in self._messages.values() if watched.next_check_at <= now]
        await asyncio.gather(*(self._read(watched) for watched in due))

    async def _read(self, watched: _WatchedSms) -> None:
        self.stats.sms_reads += 1
        try:
            message = await self.client.get_sms(watched.sid)
        except ExotelError as err:
            self.stats.failed_requests += 1
            if self._messages.get(watched.sid) is watched:
                self._after_failed_read(watched, err)
            return
        finally:
            watched.answered.set()
        if self._messages.get(watched.sid) is not watched:
            return  # nobody waits for it any more
        now = self.clock.now()
        watched.last_read_at, watched.last_sms, watched.last_error = now, message, None
        watched.failures = watched.unreadable = 0
        if message.is_final:
            for watch in watched.watches:
                if not watch.future.done():
                    watch.future.set_result(message)
            self._drop(watched)
            return
        watched.next_check_at = self.schedule.next_check_in_flight(
            now, watched.registered_at, watched.poll_interval
        )

    def _after_failed_read(self, watched: _WatchedSms, err: ExotelError) -> None:
        """A lasting error (a 404, another 4xx) ends this SMS's watch; a transient one is asked again
        later, spaced out, unless the answers stayed unreadable too many times in a row."""
        if isinstance(err, ExotelNotFoundError) or not is_transient(err):
            self.fail(watched, err)
            return
        now = self.clock.now()
        watched.last_read_at, watched.last_error = now, str(err)
        watched.failures += 1
        watched.unreadable = watched.unreadable + 1 if isinstance(err, ExotelResponseError) else 0
        if watched.unreadable >= MAX_UNREADABLE_LOOKUPS:
            self.fail(watched, _unreadable_error(watched, err))
            return
        watched.next_check_at = self.schedule.retry_after_error(now, watched.poll_interval, watched.failures)

    def fail(self, watched: _WatchedSms, error: BaseException) -> None:
        """End every wait for this SMS with ``error``."""
        for watch in watched.watches:
            if not watch.future.done():
                watch.future.set_exception(error)
        self._drop(watched)

    def fail_due(self, now: float, error: BaseException) -> None:
        """End the waits of every SMS that was due by ``now`` (the round reading them broke)."""
        for watched in list(self._messages.values()):
            if watched.next_check_at <= now:
                self.fail(watched, error)

    def cancel_all(self) -> None:
        """Cancel every waiter and forget every SMS (the watcher is closing)."""
        for watched in self._messages.values():
            watched.answered.set()
            for watch in watched.watches:
                if not watch.future.done():
                    watch.future.cancel()
        self._messages.clear()

    def timeout_message(self, sid: str) -> str:
        """Why an SMS was not final by its waiter's deadline."""
        watched = self._messages.get(sid)
        if watched is None or watched.last_sms is None:
            state = "Exotel has not answered about it yet"
        elif watched.last_sms.raw_status:
            state = f"it was last {watched.last_sms.raw_status!r}"
        else:
            state = "Exotel gave no status for it"
        if watched is not None and watched.last_error:
            state += f"; the last request failed: {watched.last_error}"
        return f"SMS {sid} was not final by the deadline: {state}."

    def _drop(self, watched: _WatchedSms) -> None:
        watched.answered.set()
        watched.watches.clear()
        if self._messages.get(watched.sid) is watched:
            del self._messages[watched.sid]


def _unreadable_error(watched: _WatchedSms, error: ExotelError) -> ExotelResponseError:
    return ExotelResponseError(
        f"SMS {watched.sid}: Exotel's answer about it could not be read {watched.unreadable} times in "
        f"a row ({error}). Stopped watching it; other messages and calls are not affected. Check the "
        "message in Exotel's dashboard."
    )
