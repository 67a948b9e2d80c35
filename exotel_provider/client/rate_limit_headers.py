"""Exotel's ``X-RateLimit-*`` answer headers, read defensively (EXOTEL_API.md marks them unconfirmed).

``X-RateLimit-Limit`` (requests per window), ``X-RateLimit-Remaining`` (left in this window) and
``X-RateLimit-Reset`` (when the window resets: seconds from now, or an epoch time when it is that
large). An unreadable or absent value is simply unknown; no header at all gives None.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

LIMIT_HEADER = "X-RateLimit-Limit"
REMAINING_HEADER = "X-RateLimit-Remaining"
RESET_HEADER = "X-RateLimit-Reset"
_EPOCH_THRESHOLD = 1_000_000_000.0
"""A reset value this large is an epoch time (2001 onwards), not a number of seconds."""


@dataclass(frozen=True)
class RateLimitHint:
    """What an answer's rate-limit headers said (None: not given or unreadable)."""

    limit: int | None
    remaining: int | None
    reset_in: float | None
    """Seconds from now until the window resets."""


def read_rate_limit_headers(headers: Mapping[str, str], *, now: float) -> RateLimitHint | None:
    """The hint in ``headers`` (case-insensitive names), or None when it has none of them."""
    lowered = {str(name).lower(): str(value) for name, value in headers.items()}
    names = (LIMIT_HEADER.lower(), REMAINING_HEADER.lower(), RESET_HEADER.lower())
    if not any(name in lowered for name in names):
        return None
    limit, remaining = (_count(lowered.get(name)) for name in names[:2])
    return RateLimitHint(limit=limit, remaining=remaining, reset_in=_reset_in(lowered.get(names[2]), now))


def _count(text: str | None) -> int | None:
    number = _number(text)
    return int(number) if number is not None and number >= 0 and number == int(number) else None


def _reset_in(text: str | None, now: float) -> float | None:
    number = _number(text)
    if number is None or number < 0:
        return None
    return max(0.0, number - now) if number >= _EPOCH_THRESHOLD else number


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        number = float(text.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) else None
