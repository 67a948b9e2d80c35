"""The outcome of a campaign: which people were reached, what it cost, how long they talked.

Pure functions over :class:`Attempt` objects, or what a user has at hand: the campaign operator's
outcomes (``key``, ``sid``, ``status`` ...) or call-ledger rows (``reminder_id``, ``call_sid``,
``state`` ...). Every call is counted once, by its Sid (two reminders sharing one call cost one call).
No Airflow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from exotel_provider.calls.model import Call
from exotel_provider.calls.numbers import mask_number
from exotel_provider.calls.status import UNANSWERED_STATUSES, CallStatus, is_worth_redialling
from exotel_provider.campaigns.not_called import count_not_called, not_called_error, reason_not_called


@dataclass(frozen=True)
class Attempt:
    """One try at calling one campaign entry (``key``, e.g. a reminder id); ``attempt`` counts from 1.

    ``call`` is None when no call came of it (Exotel refused it, e.g. a DND-registered number).
    """

    key: str
    call: Call | None
    attempt: int = 1
    label: str = ""
    note: str = ""
    """Why there is no call (``not placed``, ``refused``, ``outcome unknown`` ...)."""
    number: str = ""
    """The number meant to be called, when there is no call to give it (the ledger's ``phone``)."""
    reason: str = ""
    """What kept the call from being placed: Exotel's refusal, an invalid number, a calling rule ..."""

    @classmethod
    def of(
        cls, key: str, call: Call | Mapping[str, Any] | None, *, attempt: int = 1, label: str = ""
    ) -> Attempt:
        """An attempt from a :class:`Call`, the call dict a sensor put in XCom, or None."""
        if call is not None and not isinstance(call, Call):
            call = Call.from_dict(dict(call))
        return cls(key, call, attempt, label)

    @classmethod
    def from_record(cls, record: Mapping[str, Any], *, label: str = "") -> Attempt:
        """An attempt from a campaign outcome (``key``, ``sid``, ``status``, ``price`` ...) or a call
        ledger row (``reminder_id``, ``call_sid``, ``state`` ...)."""
        key = str(record.get("key") or record.get("reminder_id") or "").strip()
        sid = record.get("sid") or record.get("call_sid") or record.get("Sid")
        attempt = int(record.get("attempt") or 1)
        if not sid:
            reason = reason_not_called(record)  # a calling rule kept it back: say which
            note = (
                not_called_error(reason)
                if reason
                else str(record.get("state") or record.get("status") or "not placed")
            )
            if record.get("candidate_sids"):
                note += f" (may be {record['candidate_sids']})"
            number = str(record.get("phone") or record.get("from_number") or "")
            return cls(key, None, attempt, label, note, number, str(record.get("error") or ""))
        fields = {
            "Sid": sid, "Status": record.get("status") or record.get("Status"),
            "Price": record.get("price", record.get("Price")),
            "Duration": record.get("duration", record.get("Duration")),
            "StartTime": record.get("start_time") or record.get("placed_at"),
            "EndTime": record.get("end_time") or record.get("ended_at"),
            "From": record.get("phone") or record.get("from_number") or record.get("From"),
        }  # fmt: skip
        return cls(key, Call.from_dict(fields), attempt, label)

    @property
    def status(self) -> CallStatus | None:
        """The call's status, or None when the attempt placed no call."""
        return self.call.status if self.call is not None else None


def needs_redial(call: Call | Mapping[str, Any]) -> bool:
    """True for a call worth calling again (busy or unanswered: :func:`~exotel_provider.calls.status.is_worth_redialling`)."""
    return is_worth_redialling((call if isinstance(call, Call) else Call.from_dict(dict(call))).status)


def summarise_attempts(attempts: Iterable[Attempt | Mapping[str, Any]]) -> dict[str, Any]:
    """Counts per entry (judged by its *last* attempt), costs over *all* calls, talk durations.

    ``attempts``: :class:`Attempt` objects, campaign outcomes or call-ledger rows (mixed as they come).
    ``answered``: the last call completed; ``not_answered``: busy, no-answer or canceled;
    ``failed``: Exotel could not complete it, refused it, or sent an undocumented status.
    ``calls`` and the costs count each call once (by Sid). ``not_called``: the entries a calling rule
    kept from being dialled (no call yet), by reason (among ``failed``). JSON-serialisable.
    """
    ordered = sorted(
        (a if isinstance(a, Attempt) else Attempt.from_record(a) for a in attempts),
        key=lambda a: (a.key, a.attempt),
    )
    last: dict[str, Attempt] = {}
    for attempt in ordered:
        last[attempt.key] = attempt
    finals = [a.status for a in last.values()]
    answered = sum(status is CallStatus.COMPLETED for status in finals)
    not_answered = sum(status in UNANSWERED_STATUSES for status in finals)
    calls = list({a.call.sid: a.call for a in ordered if a.call is not None}.values())
    prices = [call.price or 0.0 for call in calls]
    talk_seconds = [call.duration or 0 for call in calls if call.status is CallStatus.COMPLETED]
    return {
        "entries": len(last),
        "calls": len(calls),
        "redialled": sum(a.attempt > 1 for a in last.values()),
        "answered": answered,
        "not_answered": not_answered,
        "failed": len(finals) - answered - not_answered,
        "not_called": count_not_called({"error": a.note} for a in last.values() if a.call is None),
        "total_cost": round(sum(prices), 4),
        "average_cost_per_call": round(sum(prices) / len(prices), 4) if prices else 0.0,
        "total_talk_seconds": sum(talk_seconds),
        "average_talk_seconds": round(sum(talk_seconds) / len(talk_seconds), 1) if talk_seconds else 0.0,
        "per_call": [_call_row(a) for a in ordered],
    }


def _call_row(attempt: Attempt) -> dict[str, Any]:
    call = attempt.call
    return {
        "key": attempt.key,
        "label": attempt.label,
        "attempt": attempt.attempt,
        "sid": call.sid if call else None,
        "number": mask_number(call.from_ if call else attempt.number) or None,
        "status": (call.raw_status or "unknown") if call else (attempt.note or "not placed"),
        "duration": call.duration if call else None,
        "price": call.price if call else None,
        "reason": None if call else (attempt.reason or None),
    }
