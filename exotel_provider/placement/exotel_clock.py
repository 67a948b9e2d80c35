"""Does Exotel's clock agree with ours? Reconciliation compares Exotel's ``DateCreated`` with our
send times, so a clock off by more than the allowed skew, or timestamps read in the wrong zone,
would hide a call or show a sibling's. Pure: the caller gives what one answer showed."""

from __future__ import annotations

from datetime import tzinfo
from email.utils import parsedate_to_datetime

from exotel_provider.placement.reconciliation import CLOCK_SKEW_SECONDS, parse_exotel_time

CLOCK_TOLERANCE_SECONDS = 60.0
"""Disagreement worth a warning: well inside :data:`CLOCK_SKEW_SECONDS`, far above network delays."""


def clock_warnings(
    *,
    our_time: float,
    server_date: str | None,
    newest_call_time: str | None,
    time_zone: tzinfo,
    zone_name: str,
) -> list[str]:
    """Warnings (empty when the clocks agree) from an answer's ``Date`` header and newest call time."""
    warnings: list[str] = []
    offset = _server_offset(server_date, our_time)
    if offset is not None and abs(offset) > CLOCK_TOLERANCE_SECONDS:
        side = "ahead of" if offset > 0 else "behind"
        warnings.append(
            f"Exotel's clock (HTTP Date {server_date}) is {abs(offset):.0f} s {side} this machine's; "
            f"finding a call whose placing answer was lost allows {CLOCK_SKEW_SECONDS:.0f} s. "
            "Synchronise this machine's clock (NTP)."
        )
    newest = parse_exotel_time(newest_call_time, time_zone)
    exotel_now = our_time + (offset or 0.0)
    if newest is not None and newest > exotel_now + CLOCK_TOLERANCE_SECONDS:
        hours = (newest - exotel_now) / 3600
        warnings.append(
            f"The newest call's time {newest_call_time!r}, read in {zone_name}, is {hours:.1f} h in "
            "the future: Exotel gives its timestamps in another zone. Set the connection's "
            "extra.timezone to that zone (an IANA name, e.g. Asia/Kolkata or UTC)."
        )
    return warnings


def _server_offset(server_date: str | None, our_time: float) -> float | None:
    if not server_date:
        return None
    try:
        return parsedate_to_datetime(server_date).timestamp() - our_time
    except (TypeError, ValueError):
        return None
