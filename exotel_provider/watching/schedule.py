"""When to ask Exotel about a watched call again: pure timing rules, no I/O.

Exotel's listing shows a call only once it has ended, and fills in its price minutes later. So a
call still in flight is asked about every poll interval at first, less often the longer it runs;
an ended call is next asked about when its price can be expected; and a call the listing never
shows is looked up on its own only once it should have ended (its ``TimeLimit`` plus ringing), or
after :attr:`WatchSchedule.lookup_after` when its limit is unknown: that is how an unknown Sid is
found out, without a per-call request for every call.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class WatchSchedule:
    """Timing rules for watching calls (all in seconds)."""

    max_in_flight_interval: float = 120.0
    """The longest gap between two checks of a call that has not ended yet."""
    earliest_price_after: float = 60.0
    """After a call is first seen ended, its price is not looked for sooner than this (or than two
    poll intervals, when those are shorter: a short poll interval asks for low latency)."""
    ring_allowance: float = 180.0
    """Queueing and ringing on top of a call's ``TimeLimit``: after both, it must have ended."""
    lookup_after: float = 900.0
    """A call never listed as ended is looked up on its own after this long (at most)."""
    max_lookup_interval: float = 3600.0
    """Later single-call lookups of a call still in flight double their spacing up to this."""
    max_error_backoff: float = 300.0
    """After failed requests, checks are spaced out exponentially up to this."""

    def first_check_at(self, registered_at: float, poll_interval: float) -> float:
        """A new call is first asked about one poll interval after it was registered."""
        return registered_at + poll_interval

    def next_check_in_flight(self, now: float, registered_at: float, poll_interval: float) -> float:
        """Not ended yet: a quarter of its age, between one poll interval and the in-flight maximum."""
        ceiling = max(poll_interval, self.max_in_flight_interval)
        return now + min(max(poll_interval, (now - registered_at) / 4), ceiling)

    def next_check_ended(
        self, now: float, ended_seen_at: float, poll_interval: float, pricing_grace_seconds: float
    ) -> float:
        """Ended, waiting for its price: not before the price can be expected, and at the latest
        when the grace period for pricing runs out (the call is final then either way)."""
        earliest = min(self.earliest_price_after, 2 * poll_interval)
        wanted = max(now + poll_interval, ended_seen_at + earliest)
        grace_ends = ended_seen_at + pricing_grace_seconds
        return min(wanted, grace_ends) if grace_ends > now else now + poll_interval

    def first_lookup_at(self, registered_at: float, time_limit: float | None) -> float:
        """When a call the listing never showed is looked up on its own for the first time."""
        wait = self.lookup_after
        if time_limit is not None and time_limit > 0:
            wait = min(wait, time_limit + self.ring_allowance)
        return registered_at + wait

    def next_lookup_at(self, now: float, lookups_done: int) -> float:
        """After a lookup found the call still in flight: double the spacing each time."""
        return now + min(self.lookup_after * 2 ** max(lookups_done - 1, 0), self.max_lookup_interval)

    def retry_after_error(self, now: float, poll_interval: float, failures: int) -> float:
        """After ``failures`` failed requests in a row (each already retried by the client)."""
        return now + min(
            poll_interval * 2 ** max(failures - 1, 0), max(poll_interval, self.max_error_backoff)
        )
