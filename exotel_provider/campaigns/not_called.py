"""Entries a calling rule kept from being dialled, and why. Pure: no Airflow, no I/O.

A rule (calling hours, do-not-call, the per-person caps, mobiles only) never dials: it records the
entry "not called" with its reason, so nobody is dropped silently and the day's report counts each
reason. In the call ledger such an entry is a ``not placed`` row whose error is
``"not called: <reason>"``: no call exists, and a later run checks the rules again before dialling.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

NOT_CALLED = "not called"
"""Status of an entry a calling rule kept from being dialled (its ``reason`` says which)."""
OUTSIDE_CALLING_HOURS = "outside calling hours"
DO_NOT_CALL = "do-not-call"
CAP_REACHED = "cap reached"
NOT_A_MOBILE = "not a mobile"
REASONS = (OUTSIDE_CALLING_HOURS, DO_NOT_CALL, CAP_REACHED, NOT_A_MOBILE)
"""Every reason a calling rule records, in the order reports list them."""
PREFIX = f"{NOT_CALLED}: "


def not_called_error(reason: str) -> str:
    """The text recorded for an entry not called for ``reason``, e.g. ``"not called: do-not-call"``."""
    return f"{PREFIX}{reason}"


def not_called_outcome(key: str, reason: str) -> dict[str, Any]:
    """A campaign outcome for an entry a calling rule kept from being dialled: no Sid, no cost."""
    return {
        "key": key, "sid": None, "status": NOT_CALLED, "price": None, "duration": None,
        "start_time": None, "end_time": None, "placed_at": None, "error": not_called_error(reason),
        "reason": reason,
    }  # fmt: skip


def reason_not_called(record: Mapping[str, Any]) -> str | None:
    """The rule's reason for an outcome or ledger record (its ``reason``, or its error's text), else None."""
    reason = record.get("reason")
    if reason:
        return str(reason)
    error = str(record.get("error") or "")
    return error[len(PREFIX) :] if error.startswith(PREFIX) else None


def count_not_called(records: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """How many records each rule kept from being dialled, by reason (reasons with none left out)."""
    counts: dict[str, int] = {}
    for record in records:
        reason = reason_not_called(record)
        if reason:
            counts[reason] = counts.get(reason, 0) + 1
    return {reason: counts[reason] for reason in sorted(counts, key=_report_order)}


def _report_order(reason: str) -> tuple[int, str]:
    return (REASONS.index(reason) if reason in REASONS else len(REASONS), reason)
