"""Exotel's timestamps (``YYYY-MM-DD HH:MM:SS``, no zone): read as India time by default."""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

DEFAULT_EXOTEL_TIME_ZONE = ZoneInfo("Asia/Kolkata")
"""The zone Exotel's timestamps are read in (India time, as Exotel shows them to Indian accounts)."""
EXOTEL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_exotel_time(text: str | None, time_zone: tzinfo = DEFAULT_EXOTEL_TIME_ZONE) -> float | None:
    """Epoch seconds for one of Exotel's timestamps, or None when it is missing or unreadable."""
    if not text:
        return None
    try:
        moment = datetime.strptime(text.strip(), EXOTEL_TIME_FORMAT)
    except ValueError:
        return None
    return moment.replace(tzinfo=time_zone).timestamp()
