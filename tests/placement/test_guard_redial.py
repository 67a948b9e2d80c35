"""``redial_on_retry`` follows the one redial rule (``calls.status.is_worth_redialling``)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from placement_doubles import T0, DictStore, FakeExotel, StepClock, connect_request, listed_call

from exotel_provider.calls.status import CallStatus
from exotel_provider.placement import GuardPolicy, Origin, PlacementGuard


def _retry_with_redial(status: CallStatus | None, raw: str) -> tuple[Origin, int]:
    exotel = FakeExotel(StepClock())
    exotel.add(replace(listed_call("first", T0), status=status, raw_status=raw), listed_at=T0)
    exotel.placing.append(listed_call("second", T0 + 10))
    store = DictStore()
    store.set("exotel_guarded", {"since": T0})  # as the first try left it: Sid saved, no pending mark
    store.set("exotel_placed_call_sid", "first")
    guard = PlacementGuard(
        store,
        exotel,
        policy=GuardPolicy(reconcile_timeout=4000, poll_interval=60, redial_on_retry=True),
        clock=exotel.clock,
        earlier_tries_since=T0,
    )
    return guard.place(connect_request(time_limit=300, time_out=30)).origin, exotel.posts


@pytest.mark.parametrize(("status", "raw"), [(CallStatus.BUSY, "busy"), (CallStatus.NO_ANSWER, "no-answer")])
def test_redial_on_retry_dials_again_after_a_call_worth_a_redial(status, raw):
    assert _retry_with_redial(status, raw) == (Origin.PLACED, 1)


@pytest.mark.parametrize(
    ("status", "raw"),
    [
        (CallStatus.COMPLETED, "completed"),
        (CallStatus.FAILED, "failed"),
        (CallStatus.CANCELED, "canceled"),
        (None, "voicemail"),
    ],
)
def test_redial_on_retry_reuses_a_call_not_worth_a_redial(status, raw):
    assert _retry_with_redial(status, raw) == (Origin.REUSED, 0)
