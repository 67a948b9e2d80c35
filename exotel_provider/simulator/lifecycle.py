"""How a simulated call unfolds: its timeline, and its visible state at any simulated instant.

A call's state is a pure function of the simulated clock: nothing runs in the background; every
request computes what Exotel would show at that instant.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from exotel_provider.simulator.connect_request import ConnectRequest
from exotel_provider.simulator.scripts import NO_ANSWER_RING_SECONDS, CallScript, Outcome


class CallStatus(StrEnum):
    """Exotel's call statuses."""

    QUEUED = "queued"
    RINGING = "ringing"
    IN_PROGRESS = "in-progress"
    COMPLETED = "completed"
    FAILED = "failed"
    BUSY = "busy"
    NO_ANSWER = "no-answer"
    CANCELED = "canceled"


TERMINAL_STATUSES = frozenset(
    {CallStatus.COMPLETED, CallStatus.FAILED, CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.CANCELED}
)

DIRECTION = "outbound-api"


@dataclass(frozen=True)
class CallTimeline:
    """The instants (simulated epoch seconds) at which a call changes state."""

    outcome: Outcome
    created_at: float
    ringing_at: float
    answered_at: float | None
    ended_at: float
    priced_at: float | None
    price: float

    @classmethod
    def plan(cls, script: CallScript, created_at: float, request: ConnectRequest) -> CallTimeline:
        """Lay out the call as the script says, within the request's ``TimeOut`` and ``TimeLimit``."""
        outcome = Outcome(script.outcome)
        ringing_at = created_at + script.queue_seconds
        if outcome is Outcome.NO_ANSWER:
            ring = float(request.time_out) if request.time_out is not None else NO_ANSWER_RING_SECONDS
        else:
            ring = script.ring_seconds
            if request.time_out is not None:
                ring = min(ring, float(request.time_out))
        answered_at = ringing_at + ring if outcome is Outcome.COMPLETED else None
        if answered_at is not None:
            talk = script.talk_seconds
            if request.time_limit is not None:
                talk = min(talk, float(request.time_limit))
            ended_at = answered_at + talk
            price = round(math.ceil(talk / 60) * script.price_per_minute, 4)
        else:
            ended_at = ringing_at + ring
            price = 0.0
        priced_at = None if script.never_priced else ended_at + script.pricing_delay_seconds
        return cls(outcome, created_at, ringing_at, answered_at, ended_at, priced_at, price)

    def status_at(self, now: float) -> CallStatus:
        """The call's status at simulated time ``now``."""
        if now < self.ringing_at:
            return CallStatus.QUEUED
        if self.answered_at is None:
            return CallStatus.RINGING if now < self.ended_at else CallStatus(self.outcome.value)
        if now < self.answered_at:
            return CallStatus.RINGING
        return CallStatus.IN_PROGRESS if now < self.ended_at else CallStatus.COMPLETED

    def is_terminal_at(self, now: float) -> bool:
        """True once the call has ended at ``now``."""
        return now >= self.ended_at

    def is_priced_at(self, now: float) -> bool:
        """True once the call's price, duration and end time are filled in at ``now``."""
        return self.priced_at is not None and now >= self.priced_at

    @property
    def talk_seconds(self) -> float:
        """Seconds between answer and end (0 if never answered)."""
        return 0.0 if self.answered_at is None else self.ended_at - self.answered_at

    def last_change_at(self, now: float) -> float:
        """``DateUpdated``: the latest state change (including pricing) at or before ``now``."""
        changes = (self.created_at, self.ringing_at, self.answered_at, self.ended_at, self.priced_at)
        return max(instant for instant in changes if instant is not None and instant <= now)


@dataclass(frozen=True)
class Leg:
    """One leg of a call in ``?details=true``."""

    id: int
    status: str | None
    on_call_duration: int | None


@dataclass(frozen=True)
class CallView:
    """What Exotel shows for a call at one instant (times as simulated epoch seconds)."""

    sid: str
    account_sid: str
    date_created: float
    date_updated: float
    to_number: str | None
    from_number: str
    phone_number_sid: str
    status: CallStatus
    start_time: float | None
    end_time: float | None
    duration: int | None
    price: float | None
    direction: str
    conversation_duration: int | None
    legs: tuple[Leg, ...]

    @property
    def is_terminal(self) -> bool:
        """True when the call has ended."""
        return self.status in TERMINAL_STATUSES


@dataclass(frozen=True)
class SimulatedCall:
    """A placed call: what was POSTed, when, the script that decides it and its planned timeline."""

    sid: str
    account_sid: str
    sequence: int
    request: ConnectRequest
    script: CallScript
    scripted_leg: int
    timeline: CallTimeline

    @property
    def from_number(self) -> str:
        """The number called (``From``)."""
        return self.request.from_number

    @property
    def to_number(self) -> str | None:
        """The second number of a two-number call, else None."""
        return self.request.to_number

    @property
    def created_at(self) -> float:
        """When the call was created (``DateCreated``), in simulated epoch seconds."""
        return self.timeline.created_at

    def status_at(self, now: float) -> CallStatus:
        """The call's status at simulated time ``now``."""
        return self.timeline.status_at(now)

    def view(self, now: float) -> CallView:
        """The call as the API shows it at ``now``.

        Choices where the docs are silent: ``StartTime`` (the request reaching the operator) is
        null while queued; ``Duration`` runs from ``StartTime`` to ``EndTime`` (ringing included,
        like ``Duration`` > ``ConversationDuration`` in Exotel's examples) and is 0 for a call that
        never connected; ``To`` is null for a call-flow call that sent no ``To`` (the simulator runs
        no flow, so it has no number the flow dialled).
        """
        timeline = self.timeline
        status = timeline.status_at(now)
        priced = timeline.is_priced_at(now)
        answered = timeline.answered_at is not None
        duration = round(timeline.ended_at - timeline.ringing_at) if answered else 0
        return CallView(
            sid=self.sid,
            account_sid=self.account_sid,
            date_created=timeline.created_at,
            date_updated=timeline.last_change_at(now),
            to_number=self.request.to_number,
            from_number=self.request.from_number,
            phone_number_sid=self.request.caller_id,
            status=status,
            start_time=timeline.ringing_at if now >= timeline.ringing_at else None,
            end_time=timeline.ended_at if priced else None,
            duration=duration if priced else None,
            price=timeline.price if priced else None,
            direction=DIRECTION,
            conversation_duration=round(timeline.talk_seconds) if priced else None,
            legs=self._legs(now) if status in TERMINAL_STATUSES else (),
        )

    def _legs(self, now: float) -> tuple[Leg, ...]:
        """Leg statuses once the call is over (the docs don't say what they hold mid-call).

        The scripted leg ends with the outcome; a leg before it was answered; a leg after it was never
        dialled (status null). A call-flow call has one leg.
        """
        outcome = self.timeline.outcome.value
        talk = round(self.timeline.talk_seconds) if self.timeline.is_priced_at(now) else None
        leg_count = 2 if self.request.to_number is not None and not self.request.connects_to_flow else 1
        legs = []
        for leg_id in range(1, leg_count + 1):
            if self.timeline.answered_at is not None or leg_id < self.scripted_leg:
                status: str | None = Outcome.COMPLETED.value
            elif leg_id == self.scripted_leg:
                status = outcome
            else:
                status = None
            legs.append(Leg(leg_id, status, talk if status is not None else None))
        return tuple(legs)
