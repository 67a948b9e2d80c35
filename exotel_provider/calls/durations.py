"""Durations a task is configured with (poll intervals, timeouts, grace periods): validated once."""

from __future__ import annotations

import math
from typing import Any

from exotel_provider.errors import ExotelValidationError


def positive_seconds(name: str, value: Any) -> float:
    """``value`` as seconds, if it is a finite number above 0; else an error naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ExotelValidationError(
            name,
            f"{value!r} ({type(value).__name__}) is not a number of seconds",
            f"Give {name} as a number of seconds above 0, e.g. 30.",
        )
    if not math.isfinite(value) or value <= 0:
        raise ExotelValidationError(
            name, f"{value!r} is not above 0", f"Give {name} as a finite number of seconds above 0."
        )
    return float(value)


def optional_positive_seconds(name: str, value: Any) -> float | None:
    """As :func:`positive_seconds`, with None meaning "not set"."""
    return None if value is None else positive_seconds(name, value)
