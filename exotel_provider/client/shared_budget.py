"""One request budget per Exotel account across processes and machines, kept in Redis.

Every worker and triggerer whose Exotel connection names the same ``extra.rate_limit_redis_url``
counts its requests in one sliding-window log per account (a sorted set). A server-side Lua script
checks and records each request atomically on Redis's own clock, so machines with skewed clocks still
agree. A 429 or an exhausted ``X-RateLimit-Remaining`` pauses the account for everyone. When Redis
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

log = logging.getLogger(__name__)
KEY_PREFIX = "exotel:request-budget:"
_WARN_EVERY_SECONDS = 60.0

# KEYS: log, pause, sequence. ARGV: limit, window seconds. Returns "0" (granted) or seconds to wait.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
if paused > now then return tostring(paused - now) end
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < limit then
  local seq = redis.call('INCR', KEYS[3])
  redis.call('ZADD', KEYS[1], now, tostring(seq))
  local ttl = math.ceil(window * 1000) + 1000
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
  return '0'
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return tostring(tonumber(oldest[2]) + window - now)
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
        import redis

        if requests_per_minute < 1:
            raise ValueError(f"requests_per_minute must be >= 1, got {requests_per_minute}")
        self.requests_per_minute = requests_per_minute
        self.clock = clock or WallClock()
        self.fallback = fallback
        self.where = redacted_redis_url(redis_url)
        self._redis: Any = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        self._reserve = self._redis.register_script(_RESERVE)
        self._pause = self._redis.register_script(_PAUSE)
        key = KEY_PREFIX + account
        self._keys = [key, key + ":paused-until", key + ":sequence"]
        self._warned_at = -math.inf

    def __repr__(self) -> str:
        return f"RedisRequestBudget({self.where}, requests_per_minute={self.requests_per_minute})"

    def reserve(self) -> float:
        try:
            wait = self._reserve(keys=self._keys, args=[self.requests_per_minute, BUDGET_WINDOW_SECONDS])
        except self._errors as err:
            self._warn(err)
            return self.fallback.reserve()
        return float(wait)

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


def redacted_redis_url(url: str) -> str:
    """The Redis URL as logs may show it: any user name and password replaced by ``***``."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, "", ""))
