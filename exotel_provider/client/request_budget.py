"""The request budget: at most N requests per minute to one Exotel account, and a pause after a 429.

Exotel allows 200 requests per minute per account, shared by everything that uses the account. Both
clients ask their budget before every attempt (placing, reading, watching, reconciling, retries),
and tell it what each answer said: a 429's ``Retry-After`` and Exotel's ``X-RateLimit-*`` headers.
:func:`account_budget` gives one budget per account per process; with the connection's
``extra.rate_limit_redis_url`` the budget is shared through Redis by every process and machine
(:mod:`exotel_provider.client.shared_budget`). Time comes from a :class:`Clock`, so the same code
runs on the wall clock or on a simulator's faster clock.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol

from exotel_provider.client.rate_limit_headers import RateLimitHint, read_rate_limit_headers
from exotel_provider.client.retry_policy import MAX_RETRY_AFTER_SECONDS

if TYPE_CHECKING:
    from exotel_provider.client.settings import ExotelSettings

BUDGET_WINDOW_SECONDS = 60.0
DEFAULT_PAUSE_AFTER_429_SECONDS = 5.0
"""How long to hold every request after a 429 that carried no ``Retry-After``."""
DEFAULT_BURST_SHARE = 0.02
"""The share of the budget a full bucket may send back to back: a small burst, so requests stay
spaced; the window of the last requests, not the bucket, keeps any 60 s within the budget."""
_EPSILON = 1e-9
_UNANSWERED_POLL_SECONDS = 0.05
"""When every slot of the window is held by a request awaiting its answer, ask again this often."""
_MIN_SLEEP_SECONDS = 0.001


class Clock(Protocol):
    """Where the async machinery reads the time (epoch seconds) and sleeps."""

    def now(self) -> float:
        """Epoch seconds."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""


class WallClock:
    """The real clock: ``time.time()`` and ``asyncio.sleep``."""

    def now(self) -> float:
        """``time.time()``."""
        return time.time()

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``, never negative."""
        await asyncio.sleep(max(0.0, seconds))


class AccountBudget:
    """What both clients need from a budget: wait for a slot (async or blocking) and learn from answers.

    Subclasses implement :meth:`reserve` (take a slot now, or say how long until one frees) and
    :meth:`pause_until`; everything else is built on those two. A budget that holds a request's slot
    until its answer came back (the Redis one) also implements :meth:`reserve_slot` and :meth:`release`.
    """

    clock: Clock
    requests_per_minute: int
    blocking_io = False
    """True when :meth:`reserve` does network I/O: the async path then runs it in a thread."""

    def reserve(self) -> float:
        """Take one request slot (0.0), or return the seconds until one may be free."""
        raise NotImplementedError

    def reserve_slot(self) -> tuple[float, str | None]:
        """:meth:`reserve`, plus what :meth:`release` needs once the answer is in (None: nothing)."""
        return self.reserve(), None

    def release(self, slot: str | None) -> None:
        """The request holding ``slot`` got its answer (or failed): its 60 s start now."""

    def pause_until(self, until: float) -> None:
        """Hold every request until the epoch time ``until`` (clock seconds)."""
        raise NotImplementedError

    async def acquire(self) -> str | None:
        """Wait until a request may be sent, and count it; give the slot to :meth:`arelease`."""
        while True:
            wait, slot = (
                await asyncio.to_thread(self.reserve_slot) if self.blocking_io else self.reserve_slot()
            )
            if wait <= 0:
                return slot
            await self.clock.sleep(max(wait, _MIN_SLEEP_SECONDS))

    async def arelease(self, slot: str | None) -> None:
        """Give back a slot taken by :meth:`acquire` (a shared budget's lease; None: nothing to give back)."""
        if slot is not None:
            await asyncio.to_thread(self.release, slot) if self.blocking_io else self.release(slot)

    def acquire_blocking(self, sleep: Callable[[float], None] = time.sleep) -> str | None:
        """The same for synchronous code (the hook's client in a worker)."""
        while True:
            wait, slot = self.reserve_slot()
            if wait <= 0:
                return slot
            sleep(max(wait, _MIN_SLEEP_SECONDS))

    def pause(self, seconds: float | None) -> None:
        """Hold every request for ``seconds`` (a 429's ``Retry-After``; a default when None), at most
        :data:`~exotel_provider.client.retry_policy.MAX_RETRY_AFTER_SECONDS`."""
        wait = DEFAULT_PAUSE_AFTER_429_SECONDS if seconds is None else seconds
        self.pause_until(self.clock.now() + min(max(0.0, wait), MAX_RETRY_AFTER_SECONDS))

    def observe(self, headers: Mapping[str, str]) -> RateLimitHint | None:
        """Honour Exotel's ``X-RateLimit-*`` headers of an answer: pause when none remain."""
        hint = read_rate_limit_headers(headers, now=self.clock.now())
        if hint is not None and hint.remaining == 0:
            self.pause(hint.reset_in if hint.reset_in is not None else DEFAULT_PAUSE_AFTER_429_SECONDS)
        return hint


class RequestBudget(AccountBudget):
    """Never more than ``requests_per_minute`` requests in any 60 s at Exotel, evenly spaced, the
    whole budget used.

    Two checks together. A token bucket spaces the requests: it holds up to ``burst`` tokens (default
    2 % of the budget, at least one) and refills at ``requests_per_minute / 60`` a second. A window
    keeps any 60 s within the budget exactly: a request taken with :meth:`reserve_slot` counts from
    when it is let through until 60 s after its answer came back (:meth:`release`), so however long
    it took to reach Exotel, no 60 s there see one too many; one taken with :meth:`reserve` counts
    for 60 s from when it was let through. A steady sender gets the whole budget (a bucket alone
    would have to refill at the budget less its burst, which held it to 98 %). :meth:`pause` (after
    a 429) holds every request until the given time has passed and empties the bucket. Thread-safe.
    """

    def __init__(
        self, requests_per_minute: int, *, clock: Clock | None = None, burst: int | None = None
    ) -> None:
        if requests_per_minute < 1:
            raise ValueError(f"requests_per_minute must be >= 1, got {requests_per_minute}")
        self.clock = clock or WallClock()
        self._lock = threading.Lock()
        self._tokens = 0.0
        self._set_rate(requests_per_minute, burst)
        self._tokens = float(self.burst)
        self._updated_at = self.clock.now()
        self._paused_until = 0.0
        self._counted: deque[float] = deque()
        """When the 60 s of each request of the last minute began (answered, or let through), oldest first."""
        self._unanswered: set[str] = set()
        """The slots of requests let through whose answer has not come back yet."""
        self._slots = itertools.count(1)
        self.granted = 0
        """Requests let through so far (for logs and benchmarks)."""

    def __repr__(self) -> str:
        return f"RequestBudget(requests_per_minute={self.requests_per_minute}, burst={self.burst})"

    def _set_rate(self, requests_per_minute: int, burst: int | None) -> None:
        self.requests_per_minute = requests_per_minute
        self.burst = burst if burst is not None else default_burst(requests_per_minute)
        if not 1 <= self.burst <= requests_per_minute:
            raise ValueError(f"burst must be from 1 to {requests_per_minute}, got {self.burst}")
        self._rate = requests_per_minute / BUDGET_WINDOW_SECONDS
        self._tokens = min(self._tokens, float(self.burst))

    def limit_to(self, requests_per_minute: int) -> None:
        """Lower the budget in place (a second connection to the account asks for less); never raises it."""
        with self._lock:
            if requests_per_minute < self.requests_per_minute:
                self._refill(self.clock.now())
                self._set_rate(requests_per_minute, None)

    def reserve(self) -> float:
        """Take one request's slot, counted for 60 s from now; seconds to wait before sending (0: now)."""
        return self._take(answer_expected=False)[0]

    def reserve_slot(self) -> tuple[float, str | None]:
        """Take one request's slot, counted until 60 s after :meth:`release`; (seconds to wait, slot)."""
        return self._take(answer_expected=True)

    def release(self, slot: str | None) -> None:
        """The request holding ``slot`` got its answer (or failed): its 60 s start now."""
        with self._lock:
            if slot in self._unanswered:
                self._unanswered.discard(slot)
                now = self.clock.now()
                self._refill(now)
                self._counted.append(now)

    def _take(self, *, answer_expected: bool) -> tuple[float, str | None]:
        with self._lock:
            now = self.clock.now()
            if now < self._paused_until:
                return self._paused_until - now, None
            self._refill(now)
            if self._tokens < 1.0 - _EPSILON:
                return (1.0 - self._tokens) / self._rate, None
            if len(self._counted) + len(self._unanswered) >= self.requests_per_minute:
                if not self._counted:  # every slot is a request awaiting its answer
                    return _UNANSWERED_POLL_SECONDS, None
                return max(self._counted[0] + BUDGET_WINDOW_SECONDS - now, _EPSILON), None
            self._tokens = max(0.0, self._tokens - 1.0)
            self.granted += 1
            if not answer_expected:
                self._counted.append(now)
                return 0.0, None
            slot = str(next(self._slots))
            self._unanswered.add(slot)
            return 0.0, slot

    def pause_until(self, until: float) -> None:
        """Send nothing until ``until`` (epoch seconds): a 429's ``Retry-After``, a rate-limit reset."""
        with self._lock:
            self._refill(self.clock.now())
            self._tokens = 0.0
            self._paused_until = max(self._paused_until, until)
            self._updated_at = max(self._updated_at, self._paused_until)

    @property
    def paused_until(self) -> float:
        """Epoch seconds until which the budget is paused (in the past: not paused)."""
        return self._paused_until

    def _refill(self, now: float) -> None:
        if now > self._updated_at:
            self._tokens = min(float(self.burst), self._tokens + (now - self._updated_at) * self._rate)
            self._updated_at = now
        elif now >= self._paused_until:  # not paused, yet earlier: the wall clock was set back
            self._updated_at = now  # refill from here (real time is still counted once), never stall
        if self._counted and now < self._counted[-1]:  # the same for the window: the latest is now
            set_back = self._counted[-1] - now
            self._counted = deque(counted - set_back for counted in self._counted)
        while self._counted and self._counted[0] <= now - BUDGET_WINDOW_SECONDS:
            self._counted.popleft()


def default_burst(requests_per_minute: int) -> int:
    """Tokens a full bucket holds: :data:`DEFAULT_BURST_SHARE` of the budget, at least one."""
    return max(1, int(requests_per_minute * DEFAULT_BURST_SHARE))


_budgets: dict[tuple[str, str, int], RequestBudget] = {}
_shared: dict[tuple[str, str, str, int], AccountBudget] = {}
_registry_lock = threading.Lock()


def account_budget(settings: ExotelSettings, clock: Clock | None = None) -> AccountBudget:
    """The budget of one Exotel account (host + account Sid): one per process, or shared through Redis.

    Two connections to one account share it; when they give different ``requests_per_minute`` the
    smaller one holds for both (the account's limit is one).
    """
    clock = clock or _WALL_CLOCK
    with _registry_lock:
        local = _process_budget(settings, clock)
        if not settings.rate_limit_redis_url:
            return local
        key = (settings.rate_limit_redis_url, settings.host, settings.account_sid, id(clock))
        shared = _shared.get(key)
        if shared is None:
            from exotel_provider.client.shared_budget import RedisRequestBudget

            shared = _shared[key] = RedisRequestBudget(
                settings.rate_limit_redis_url,
                account=f"{settings.host}/{settings.account_sid}",
                requests_per_minute=settings.requests_per_minute,
                fallback=local,
            )
        shared.requests_per_minute = min(shared.requests_per_minute, settings.requests_per_minute)
        return shared


def _process_budget(settings: ExotelSettings, clock: Clock) -> RequestBudget:
    key = (settings.host, settings.account_sid, id(clock))
    budget = _budgets.get(key)
    if budget is None:
        budget = _budgets[key] = RequestBudget(settings.requests_per_minute, clock=clock)
    budget.limit_to(settings.requests_per_minute)
    return budget


_WALL_CLOCK = WallClock()
