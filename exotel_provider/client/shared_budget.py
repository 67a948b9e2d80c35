"""One request budget per Exotel account across processes and machines, kept in Redis.

Every worker and triggerer whose Exotel connection names the same ``extra.rate_limit_redis_url``
counts its requests in one sliding-window log per account (a sorted set). A server-side Lua script
checks and records each request atomically on Redis's own clock, so machines with skewed clocks still
agree. A request holds its slot from when it is let through until 60 s after its answer came back
(a crashed process's slot is freed after a lease): however long a request takes to reach Exotel, no
60 s window there sees more than the budget. A 429 or an exhausted ``X-RateLimit-Remaining`` pauses the account for everyone. When Redis
cannot be reached, or hangs, the process falls back to its own budget (and says so, once per outage),
so Exotel's 429s, which are always safe to retry, are the worst that can happen. It then keeps to its
own budget for a cool-off before asking Redis again (one caller asks; the cool-off doubles while Redis
stays away), so an outage costs one timeout per cool-off, not one per request.
"""

from __future__ import annotations

import logging
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from exotel_provider.client.request_budget import BUDGET_WINDOW_SECONDS, AccountBudget, Clock, WallClock
from exotel_provider.errors import ExotelConfigurationError

log = logging.getLogger(__name__)
KEY_PREFIX = "exotel:request-budget:"
SLOT_LEASE_SECONDS = 120.0
"""How long a request may stay unanswered before its slot counts as answered (a crashed process)."""
_POLL_SECONDS = 1.0
"""When every slot is held by a request in flight, ask again this often."""
REDIS_COOL_OFF_SECONDS = 15.0
"""After Redis failed to answer, keep to the process's own budget this long before asking it again."""
MAX_REDIS_COOL_OFF_SECONDS = 300.0
"""While Redis stays unreachable the cool-off doubles, up to this."""

# KEYS: log, pause, sequence. ARGV: limit, window seconds, lease seconds, poll seconds.
# Returns {"ok", slot} or {"wait", seconds}. A slot's score is when its 60 s began: while the request
# is in flight, the end of its lease (in the future); once answered, the answer's time.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return {'wait', tostring(paused - now)} end
local limit, window, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  local slot = tostring(redis.call('INCR', KEYS[3]))
  redis.call('ZADD', KEYS[1], now + lease, slot)
  local ttl = math.ceil((window + lease) * 1000) + 1000
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
  return {'ok', slot}
end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
if oldest > now then return {'wait', ARGV[4]} end  -- every slot is in flight: ask again soon
return {'wait', tostring(oldest + window - now)}
"""

# KEYS: log. ARGV: slot. The request's answer is in: its 60 s start now (if the slot is still held).
_RELEASE = """
local t = redis.call('TIME')
redis.call('ZADD', KEYS[1], 'XX', tonumber(t[1]) + tonumber(t[2]) / 1000000, ARGV[1])
return '0'
"""

# KEYS: pause. ARGV: seconds. Holds the account until Redis time + seconds (never shortens a pause).
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local seconds = tonumber(ARGV[1])
local till = now + seconds
if till > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], tostring(till), 'PX', math.ceil(seconds * 1000) + 1000)
end
return '0'
"""


class RedisRequestBudget(AccountBudget):
    """At most ``requests_per_minute`` requests to ``account`` in any 60 s, counted in Redis."""

    blocking_io = True

    def __init__(
        self,
        redis_url: str,
        *,
        account: str,
        requests_per_minute: int,
        fallback: AccountBudget,
        clock: Clock | None = None,
    ) -> None:
        try:
            import redis
        except ImportError:
            raise ExotelConfigurationError(
                "The Exotel connection's extra.rate_limit_redis_url needs the redis package: "
                "pip install 'airflow-provider-exotel[redis]'."
            ) from None
        if requests_per_minute < 1:
            raise ValueError(f"requests_per_minute must be >= 1, got {requests_per_minute}")
        self.requests_per_minute = requests_per_minute
        self.clock = clock or WallClock()
        self.fallback = fallback
        self.where = redacted_redis_url(redis_url)
        self._redis: Any = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._reserve = self._redis.register_script(_RESERVE)
        self._release = self._redis.register_script(_RELEASE)
        self._pause = self._redis.register_script(_PAUSE)
        key = KEY_PREFIX + account
        self._keys = [key, key + ":paused-until", key + ":sequence"]
        self._lock = threading.Lock()
        self._down_until: float | None = None  # None: Redis answers; else keep away until this time
        self._cool_off = REDIS_COOL_OFF_SECONDS
        self._probing = False

    def __repr__(self) -> str:
        return f"RedisRequestBudget({self.where}, requests_per_minute={self.requests_per_minute})"

    def reserve(self) -> float:
        """Seconds to wait before the next request may be sent (0: now), counted in Redis."""
        return self.reserve_slot()[0]

    def reserve_slot(self) -> tuple[float, str | None]:
        """Seconds to wait and the slot taken in Redis (None when this process counts on its own)."""
        args = [self.requests_per_minute, BUDGET_WINDOW_SECONDS, SLOT_LEASE_SECONDS, _POLL_SECONDS]
        if not self._may_ask_redis():
            return self.fallback.reserve(), None
        try:
            verdict, value = (_text(part) for part in self._reserve(keys=self._keys, args=args))
        except self._errors as err:
            self._failed(err)
            return self.fallback.reserve(), None
        self._answered()
        return (0.0, value) if verdict == "ok" else (float(value), None)

    def release(self, slot: str | None) -> None:
        """Free ``slot`` early; otherwise its lease ends on its own."""
        if slot is None or not self._may_ask_redis():
            return  # (in a cool-off) the slot is freed when its lease ends
        try:
            self._release(keys=self._keys[:1], args=[slot])
        except self._errors as err:
            self._failed(err)
            return
        self._answered()

    def pause_until(self, until: float) -> None:
        """Pause every process sharing the budget until ``until`` (a 429's ``Retry-After``)."""
        seconds = until - self.clock.now()
        self.fallback.pause_until(until)
        if seconds <= 0 or not self._may_ask_redis():
            return
        try:
            self._pause(keys=self._keys[1:2], args=[seconds])
        except self._errors as err:
            self._failed(err)
            return
        self._answered()

    # --- outages: one timeout per cool-off, one warning per outage ---------------------------------

    def _may_ask_redis(self) -> bool:
        """False during a cool-off; once it is over, the first caller asks Redis and the others keep
        to the process's budget for one more cool-off (or until that caller found Redis back)."""
        with self._lock:
            if self._down_until is None:
                return True
            now = self.clock.now()
            if now < self._down_until:
                return False
            self._down_until, self._probing = now + self._cool_off, True
            return True

    def _failed(self, err: BaseException) -> None:
        with self._lock:
            new_outage = self._down_until is None
            if self._probing:
                self._probing = False
                self._cool_off = min(2 * self._cool_off, MAX_REDIS_COOL_OFF_SECONDS)
            elif not new_outage:
                return  # another caller already noted this outage
            self._down_until = self.clock.now() + self._cool_off
            cool_off = self._cool_off
        if new_outage:
            log.warning(
                "Exotel: the shared request budget in Redis (%s) is unreachable (%s); this process "
                "keeps to its own budget and asks Redis again in %.0f s (then less and less often "
                "while it stays away).",
                self.where,
                type(err).__name__,
                cool_off,
            )

    def _answered(self) -> None:
        with self._lock:
            if self._down_until is None:
                return
            self._down_until, self._probing, self._cool_off = None, False, REDIS_COOL_OFF_SECONDS
        log.info("Exotel: the shared request budget in Redis (%s) answers again; using it.", self.where)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def redacted_redis_url(url: str) -> str:
    """The Redis URL as logs may show it: any user name and password replaced by ``***``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, "", ""))
