"""Call scripts: how a call to a given number unfolds in the simulator."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from exotel_provider.simulator.phone_numbers import to_national


class Outcome(StrEnum):
    """The terminal status a scripted call ends with."""

    COMPLETED = "completed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    FAILED = "failed"
    CANCELED = "canceled"


#: How long an unanswered call rings when the request sets no ``TimeOut`` (simulated seconds).
#: Not documented; 30 s is a common carrier ring timeout.
NO_ANSWER_RING_SECONDS = 30.0

_DEFAULT_REJECT_MESSAGES = {
    402: "Not available on your plan, or usage limits / balance exceeded",
    403: "Call blocked by TRAI NDNC/DND regulations",
}


@dataclass(frozen=True)
class CallScript:
    """The fate of calls to one number. Every duration is in simulated seconds.

    Timeline: ``queued`` for ``queue_seconds``, ``ringing`` for ``ring_seconds`` (capped by the
    request's ``TimeOut``; an unanswered call rings for ``TimeOut`` or 30 s), then either
    ``in-progress`` for ``talk_seconds`` (capped by ``TimeLimit``) and ``completed``, or straight to
    the terminal ``outcome``. ``EndTime``/``Duration``/``Price`` appear ``pricing_delay_seconds``
    after the end, never if ``never_priced``. With ``reject_status`` the POST itself is refused.
    """

    outcome: str = Outcome.COMPLETED.value
    queue_seconds: float = 1.0
    ring_seconds: float = 8.0
    talk_seconds: float = 45.0
    pricing_delay_seconds: float = 120.0
    price_per_minute: float = 0.5
    never_priced: bool = False
    reject_status: int | None = None
    reject_message: str | None = None

    def __post_init__(self) -> None:
        try:
            outcome = Outcome(self.outcome)
        except ValueError:
            allowed = ", ".join(o.value for o in Outcome)
            raise ValueError(f"outcome must be one of {allowed}; got {self.outcome!r}") from None
        object.__setattr__(self, "outcome", outcome.value)
        for name in ("queue_seconds", "ring_seconds", "talk_seconds", "pricing_delay_seconds"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.price_per_minute < 0:
            raise ValueError(f"price_per_minute must be >= 0, got {self.price_per_minute}")
        if self.reject_status is not None and not 400 <= self.reject_status <= 599:
            raise ValueError(
                f"reject_status must be an HTTP error status (4xx/5xx), got {self.reject_status}"
            )

    @property
    def answered(self) -> bool:
        """True when the script's calls are answered (``completed``)."""
        return self.outcome == Outcome.COMPLETED

    @property
    def rejection_message(self) -> str:
        """The message of the refused POST: ``reject_message`` or a generic one for the status."""
        if self.reject_message:
            return self.reject_message
        return _DEFAULT_REJECT_MESSAGES.get(self.reject_status or 0, "Call refused")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> CallScript:
        """Build from a JSON object; unknown keys are an error, not silently ignored."""
        known = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown CallScript fields: {', '.join(unknown)}")
        return cls(**dict(data))

    def to_dict(self) -> dict[str, Any]:
        """The script as JSON-ready fields."""
        return dataclasses.asdict(self)


class ScriptBook:
    """Scripts by number (normalised to national form), plus the default for unscripted numbers."""

    def __init__(self, default: CallScript | None = None) -> None:
        self._initial_default = default or CallScript()
        self._default = self._initial_default
        self._by_number: dict[str, CallScript] = {}
        self._lock = threading.Lock()

    @property
    def default(self) -> CallScript:
        """The script of every number not scripted."""
        return self._default

    def set(self, number: str, script: CallScript) -> str:
        """Script calls to ``number``; returns the number in national form."""
        national = to_national(number)
        with self._lock:
            self._by_number[national] = script
        return national

    def set_default(self, script: CallScript) -> None:
        """Make ``script`` the default for every number not scripted."""
        with self._lock:
            self._default = script

    def get(self, number: str) -> CallScript | None:
        """The script set for this (already national) number, if any."""
        with self._lock:
            return self._by_number.get(number)

    def for_call(self, from_number: str, to_number: str | None) -> tuple[CallScript, int]:
        """The script that decides a call and the leg it applies to (1 = From, 2 = To).

        The docs know nothing of scripts; the simulator's rule: the From number's script wins, then
        the To number's (two-number calls, where the customer is often the To), then the default.
        """
        with self._lock:
            if from_number in self._by_number:
                return self._by_number[from_number], 1
            if to_number is not None and to_number in self._by_number:
                return self._by_number[to_number], 2
            return self._default, 1

    def all(self) -> dict[str, CallScript]:
        """Every scripted number (national form) and its script."""
        with self._lock:
            return dict(self._by_number)

    def clear(self) -> None:
        """Forget every per-number script and restore the default given at construction."""
        with self._lock:
            self._by_number.clear()
            self._default = self._initial_default
