"""In-memory stand-ins for the guard's inputs: Exotel's calls, a clock, a state store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from exotel_provider.calls.connect_request import ConnectRequest, build_connect_request
from exotel_provider.calls.exotel_time import DEFAULT_EXOTEL_TIME_ZONE, format_exotel_time
from exotel_provider.calls.model import Call
from exotel_provider.calls.status import CallStatus
from exotel_provider.errors import ExotelCallOutcomeUnknownError, ExotelNotFoundError

CUSTOMER = "+919876543210"
EXOPHONE = "08047112345"
T0 = 1_780_000_000.0


def connect_request(**overrides: Any) -> ConnectRequest:
    params: dict[str, Any] = {
        "account_sid": "acme",
        "from_number": CUSTOMER,
        "caller_id": EXOPHONE,
        "app_id": 926,
        "time_limit": 300,
        "time_out": 30,
    }
    params.update(overrides)
    return build_connect_request(**params)


def listed_call(
    sid: str,
    created: float,
    *,
    from_: str = "09876543210",
    exophone: str = EXOPHONE,
    zone=DEFAULT_EXOTEL_TIME_ZONE,
) -> Call:
    """A call as the listing shows it (ended, so listed)."""
    return Call(
        sid=sid,
        status=CallStatus.COMPLETED,
        raw_status="completed",
        date_created=format_exotel_time(created, zone),
        from_=from_,
        phone_number_sid=exophone,
        start_time=format_exotel_time(created + 1, zone),
    )


class StepClock:
    """A clock that moves only when slept on."""

    def __init__(self, start: float = T0) -> None:
        self.time = start
        self.slept: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.time += seconds


@dataclass
class FakeExotel:
    """Calls by Sid, what the listing shows at a given time, and what placing does."""

    clock: StepClock
    calls: dict[str, Call] = field(default_factory=dict)
    listed_from: dict[str, float] = field(default_factory=dict)
    """Sid -> the instant it appears in the listing."""
    placing: list[Any] = field(default_factory=list)
    """What each POST does: a Call to answer with, or an exception to raise."""
    listing_errors: list[Exception] = field(default_factory=list)
    not_found_reads: int = 0
    posts: int = 0
    listing_reads: int = 0

    def add(self, call: Call, *, listed_at: float) -> Call:
        self.calls[call.sid] = call
        self.listed_from[call.sid] = listed_at
        return call

    def place_call(self, request: ConnectRequest) -> Call:
        self.posts += 1
        outcome = self.placing.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def get_call(self, call_sid: str) -> Call:
        if self.not_found_reads > 0 or call_sid not in self.calls:
            self.not_found_reads -= 1
            raise ExotelNotFoundError(f"404 for call {call_sid}", status_code=404)
        return self.calls[call_sid]

    def iter_calls(self, **filters: Any) -> Iterable[Call]:
        self.listing_reads += 1
        if self.listing_errors:
            raise self.listing_errors.pop(0)
        now = self.clock.now()
        return [c for sid, c in self.calls.items() if self.listed_from[sid] <= now]


def lost_answer() -> ExotelCallOutcomeUnknownError:
    return ExotelCallOutcomeUnknownError("No answer to the call-placing request.")


class DictStore:
    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.writes: list[str] = []

    def get(self, key: str) -> Any:
        return self.values.get(key)

    def set(self, key: str, value: Any) -> None:
        self.writes.append(key)
        self.values[key] = value

    def delete(self, key: str) -> None:
        self.values.pop(key, None)
