"""assess_call: the one decision of whether a call is in flight, awaiting its price, or final."""

from __future__ import annotations

import dataclasses

import pytest

from exotel_provider.calls import (
    DEFAULT_PRICING_GRACE_SECONDS,
    TERMINAL_STATUSES,
    Call,
    CallStage,
    CallStatus,
    assess_call,
    is_successful,
)

ENDED = dict(end_time="2024-05-01 10:02:00", duration=42, price=1.5)


def make_call(status: CallStatus | None = CallStatus.COMPLETED, **fields) -> Call:
    raw = fields.pop("raw_status", status.value if status else None)
    return Call(sid="CA1", status=status, raw_status=raw, **fields)


@pytest.mark.parametrize("status", [CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS])
def test_non_terminal_call_is_in_flight(status):
    assessment = assess_call(make_call(status), ended_seen_at=None, now=1000.0)
    assert assessment.stage is CallStage.IN_FLIGHT
    assert not assessment.is_final
    assert not assessment.priced
    assert status.value in assessment.message


def test_in_flight_even_if_price_fields_are_present():
    assessment = assess_call(make_call(CallStatus.IN_PROGRESS, **ENDED), ended_seen_at=None, now=0.0)
    assert assessment.stage is CallStage.IN_FLIGHT


def test_undocumented_status_counts_as_ended_with_its_raw_status():
    call = make_call(None, raw_status="on-hold", **ENDED)
    assessment = assess_call(call, ended_seen_at=0.0, now=10_000.0)
    assert assessment.stage is CallStage.FINAL
    assert "on-hold" in assessment.message


def test_missing_status_is_in_flight_and_says_unknown():
    assessment = assess_call(make_call(None), ended_seen_at=None, now=0.0)
    assert assessment.stage is CallStage.IN_FLIGHT
    assert "unknown" in assessment.message


def test_ended_call_without_price_is_awaiting_price():
    assessment = assess_call(make_call(CallStatus.COMPLETED), ended_seen_at=100.0, now=160.0)
    assert assessment.stage is CallStage.AWAITING_PRICE
    assert not assessment.is_final
    assert not assessment.priced


def test_first_sight_of_ended_call_is_awaiting_price():
    assessment = assess_call(make_call(CallStatus.COMPLETED), ended_seen_at=None, now=1e9)
    assert assessment.stage is CallStage.AWAITING_PRICE


@pytest.mark.parametrize("missing", ["end_time", "duration", "price"])
def test_any_missing_pricing_field_keeps_it_awaiting(missing):
    fields = {**ENDED, missing: None}
    assessment = assess_call(make_call(CallStatus.COMPLETED, **fields), ended_seen_at=0.0, now=1.0)
    assert assessment.stage is CallStage.AWAITING_PRICE


@pytest.mark.parametrize("status", sorted(TERMINAL_STATUSES))
def test_ended_and_priced_call_is_final_priced(status):
    assessment = assess_call(make_call(status, **ENDED), ended_seen_at=None, now=0.0)
    assert assessment.stage is CallStage.FINAL
    assert assessment.is_final
    assert assessment.priced
    assert "priced" in assessment.message


def test_zero_price_and_duration_count_as_priced():
    call = make_call(CallStatus.NO_ANSWER, end_time="2024-05-01 10:00:30", duration=0, price=0.0)
    assessment = assess_call(call, ended_seen_at=None, now=0.0)
    assert assessment.stage is CallStage.FINAL
    assert assessment.priced


def test_grace_expiry_gives_final_unpriced():
    call = make_call(CallStatus.FAILED)
    assessment = assess_call(call, ended_seen_at=0.0, now=DEFAULT_PRICING_GRACE_SECONDS)
    assert assessment.stage is CallStage.FINAL
    assert assessment.is_final
    assert not assessment.priced


def test_just_before_grace_expiry_is_still_awaiting():
    call = make_call(CallStatus.FAILED)
    assessment = assess_call(call, ended_seen_at=0.0, now=DEFAULT_PRICING_GRACE_SECONDS - 0.001)
    assert assessment.stage is CallStage.AWAITING_PRICE


def test_grace_expiry_message_names_only_the_missing_fields():
    call = make_call(CallStatus.BUSY, duration=0)
    assessment = assess_call(call, ended_seen_at=10.0, now=130.0, pricing_grace_seconds=120)
    assert assessment.stage is CallStage.FINAL
    assert "Price" in assessment.message
    assert "EndTime" in assessment.message
    assert "Duration" not in assessment.message
    assert "CA1" in assessment.message and "busy" in assessment.message
    assert "120" in assessment.message


def test_zero_grace_period_makes_ended_call_final_at_once():
    assessment = assess_call(
        make_call(CallStatus.COMPLETED), ended_seen_at=None, now=0.0, pricing_grace_seconds=0
    )
    assert assessment.stage is CallStage.FINAL
    assert not assessment.priced


def test_clock_going_backwards_does_not_expire_grace():
    assessment = assess_call(
        make_call(CallStatus.COMPLETED), ended_seen_at=500.0, now=100.0, pricing_grace_seconds=1
    )
    assert assessment.stage is CallStage.AWAITING_PRICE


def test_assessment_carries_the_call():
    call = make_call(CallStatus.COMPLETED, **ENDED)
    assert assess_call(call, ended_seen_at=None, now=0.0).call is call


def test_default_success_is_completed_only():
    assert is_successful(make_call(CallStatus.COMPLETED))
    for status in (CallStatus.BUSY, CallStatus.NO_ANSWER, CallStatus.FAILED, CallStatus.CANCELED):
        assert not is_successful(make_call(status))


def test_custom_success_statuses():
    accept = frozenset({CallStatus.COMPLETED, CallStatus.NO_ANSWER})
    assert is_successful(make_call(CallStatus.NO_ANSWER), accept)
    assert not is_successful(make_call(CallStatus.BUSY), accept)


def test_unknown_status_is_never_successful():
    assert not is_successful(make_call(None, raw_status="completed-ish"))


def test_assessment_is_immutable():
    assessment = assess_call(make_call(), ended_seen_at=None, now=0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        assessment.stage = CallStage.FINAL  # type: ignore[misc]
