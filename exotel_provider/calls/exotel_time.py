"""Exotel's timestamps (``YYYY-MM-DD HH:MM:SS``, no zone), read and written in a given zone.

Exotel writes them in the account's zone, which the connection's ``extra.timezone`` names; India
time unless told otherwise. Every reader and writer of Exotel's times in the provider uses this module.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo

DEFAULT_EXOTEL_TIME_ZONE_NAME = "Asia/Kolkata"
DEFAULT_EXOTEL_TIME_ZONE: tzinfo = ZoneInfo(DEFAULT_EXOTEL_TIME_ZONE_NAME)
"""The zone Exotel's timestamps are read in by default (India time, as Exotel shows them to Indian accounts)."""
EXOTEL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def parse_exotel_time(text: str | None, time_zone: tzinfo = DEFAULT_EXOTEL_TIME_ZONE) -> float | None:
    """Epoch seconds of an Exotel timestamp in ``time_zone``, or None when absent or unreadable."""
    if not text:
        return None
    try:
        moment = datetime.strptime(text.strip(), EXOTEL_TIME_FORMAT)
    except ValueError:
        return None
    return moment.replace(tzinfo=time_zone).timestamp()


def format_exotel_time(epoch_seconds: float, time_zone: tzinfo = DEFAULT_EXOTEL_TIME_ZONE) -> str:
    """An instant as Exotel writes it (``YYYY-MM-DD HH:MM:SS``) in ``time_zone``."""
    return datetime.fromtimestamp(epoch_seconds, time_zone).strftime(EXOTEL_TIME_FORMAT)


def exotel_time_zone(name: str | None) -> tzinfo:
    """The IANA zone ``name`` (India time when None or empty); ValueError for an unknown name."""
    try:
        return ZoneInfo(name or DEFAULT_EXOTEL_TIME_ZONE_NAME)
    except (ValueError, KeyError) as err:  # ZoneInfoNotFoundError is a KeyError
        raise ValueError(f"{name!r} is not an IANA time zone name (e.g. Asia/Kolkata, UTC)") from err
