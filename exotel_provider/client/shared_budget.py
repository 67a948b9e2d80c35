"""One request budget per Exotel account across processes and machines, kept in Redis.

Every worker and triggerer whose Exotel connection names the same ``extra.rate_limit_redis_url``
counts its requests in one sliding-window log per account (a sorted set). A server-side Lua script
checks and records each request atomically on Redis's own clock, so machines with skewed clocks still
agree. A request holds its slot from when it is let through until 60 s after its answer came back
(a crashed process's slot is freed after a lease): however long a request takes to reach Exotel, no
60 s window there sees more than the budget. A 429 or an exhausted ``X-RateLimit-Remaining`` pauses the account for everyone. When Redis
cannot be reached the process falls back to its own budget (and says so), so Exotel's 429s, which
are always safe to retry, are the worst that can happen.
"""

from __future__ import annotations

import logging
import math
import time
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
_WARN_EVERY_SECONDS = 60.0

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
        self._warned_at = -math.inf

    def __repr__(self) -> str:
        return f"RedisRequestBudget({self.where}, requests_per_minute={self.requests_per_minute})"

    def reserve(self) -> float:
        return self.reserve_slot()[0]

    def reserve_slot(self) -> tuple[float, str | None]:
        args = [self.requests_per_minute, BUDGET_WINDOW_SECONDS, SLOT_LEASE_SECONDS, _POLL_SECONDS]
        try:
            verdict, value = (_text(part) for part in self._reserve(keys=self._keys, args=args))
        except self._errors as err:
            self._warn(err)
            return self.fallback.reserve(), None
        return (0.0, value) if verdict == "ok" else (float(value), None)

    def release(self, slot: str | None) -> None:
        if slot is None:
            return
        try:
            self._release(keys=self._keys[:1], args=[slot])
        except self._errors as err:
            self._warn(err)  # the slot is freed when its lease ends

    def pause_until(self, until: float) -> None:
        seconds = until - self.clock.now()
        self.fallback.pause_until(until)
        if seconds <= 0:
            return
        try:
            self._pause(keys=self._keys[1:2], args=[seconds])
        except self._errors as err:
            self._warn(err)

    def _warn(self, err: BaseException) -> None:
        if time.monotonic() - self._warned_at >= _WARN_EVERY_SECONDS:
            self._warned_at = time.monotonic()
            log.warning(
                "Exotel: the shared request budget in Redis (%s) is unreachable (%s); this process "
                "keeps to its own budget until it is back.",
                self.where,
                type(err).__name__,
            )


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def redacted_redis_url(url: str) -> str:
    """The Redis URL as logs may show it: any user name and password replaced by ``***``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, "", ""))
