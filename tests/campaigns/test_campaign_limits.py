"""The campaign's limits against the simulator: calls in flight capped, 429 answered by a pause, calls
placed side by side, and an account-level refusal stopping every placing thread."""

from __future__ import annotations

import threading

import pytest

from exotel_provider.campaigns.placing import call_prefix
from exotel_provider.errors import ExotelAuthenticationError
from exotel_provider.operators.campaign import ExotelCampaignOperator
from exotel_provider.placement.state_store import PlacementRecord
from exotel_provider.simulator.faults import CONNECT_PATH, Fault
from tests.support.campaign_runs import context, number, posts, run_try
from tests.support.task_doubles import DictStateStore

pytestmark = pytest.mark.exotel_simulator(time_scale=600)


def entries(count: int) -> list[dict[str, str]]:
    return [{"key": f"R{i}", "from_number": number(i)} for i in range(count)]


@pytest.mark.parametrize("placing_threads", [1, 4])
def test_no_more_calls_are_in_flight_than_the_cap(campaign_connection, placing_threads):
    sim = campaign_connection
    operator = ExotelCampaignOperator(
        task_id="call", calls=entries(8), app_id=926, max_calls_in_flight=3, poll_interval=0.05,
        pricing_grace_seconds=600, placing_threads=placing_threads,
    )  # fmt: skip

    outcomes = run_try(operator, context(DictStateStore()), sim)

    assert [o["status"] for o in outcomes] == ["completed"] * 8
    calls = sim.placed_calls()
    for call in calls:  # when each call was placed, how many earlier ones had not ended yet
        going_on = [c for c in calls if c.created_at < call.created_at < c.timeline.ended_at]
        assert len(going_on) < 3
    listings = [r for r in sim.requests if r.method == "GET" and r.path.endswith("/Calls.json")]
    assert listings  # room was made by asking Exotel which calls had ended, not by guessing


def test_a_429_pauses_placing_and_the_call_is_sent_again_once(campaign_connection):
    sim = campaign_connection
    # More 429s than the client's own retries: the campaign itself must back off and send again.
    sim.inject_fault(Fault(kind="status", status=429, path=CONNECT_PATH, times=6, skip=1, retry_after=0.05))
    # One placing thread: the order of the POSTs is then the order asserted (threads may interleave).
    operator = ExotelCampaignOperator(
        task_id="call", calls=entries(3), app_id=926, poll_interval=1, placing_threads=1
    )

    outcomes = run_try(operator, context(DictStateStore()), sim)

    assert [o["status"] for o in outcomes] == ["completed"] * 3
    assert [r.status_code for r in posts(sim)] == [200, *[429] * 6, 200, 200]
    assert all(len(sim.placed_calls(number(i))) == 1 for i in range(3))


class PlacingOverlap:
    """Wraps the hook's place_call: how many POSTs were under way at once, at most."""

    def __init__(self, operator: ExotelCampaignOperator) -> None:
        self._place_call = operator.hook.place_call
        self._lock = threading.Lock()
        self.now = self.most = 0
        operator.hook.place_call = self  # type: ignore[method-assign]

    def __call__(self, request):
        with self._lock:
            self.now += 1
            self.most = max(self.most, self.now)
        try:
            return self._place_call(request)
        finally:
            with self._lock:
                self.now -= 1


def test_calls_are_placed_side_by_side_and_each_person_once(campaign_connection):
    sim = campaign_connection
    sim.inject_fault(Fault(kind="delay", delay_seconds=0.3, path=CONNECT_PATH, times=None))  # a slow Exotel
    operator = ExotelCampaignOperator(
        task_id="call", calls=entries(12), app_id=926, placing_threads=4, poll_interval=1,
        pricing_grace_seconds=600,
    )  # fmt: skip
    overlap = PlacingOverlap(operator)

    outcomes = run_try(operator, context(DictStateStore()), sim)

    assert 2 <= overlap.most <= 4
    assert [o["key"] for o in outcomes] == [f"R{i}" for i in range(12)]  # the list's order
    assert [o["status"] for o in outcomes] == ["completed"] * 12
    assert len(posts(sim)) == 12
    assert all(len(sim.placed_calls(number(i))) == 1 for i in range(12))


def test_revoked_credentials_stop_every_placing_thread_and_no_sid_is_lost(campaign_connection):
    sim, store = campaign_connection, DictStateStore()
    sim.inject_fault(Fault(kind="credentials_rejected", path=CONNECT_PATH, times=None, skip=5))
    operator = ExotelCampaignOperator(task_id="call", calls=entries(40), app_id=926, placing_threads=4)

    with pytest.raises(ExotelAuthenticationError):
        run_try(operator, context(store), sim)

    refused = [r for r in posts(sim) if r.status_code == 401]
    assert 1 <= len(refused) <= 4  # each thread stops at its first refusal at most; no one goes on
    placed = sim.placed_calls()
    assert len(placed) == 5
    saved = {PlacementRecord(store, call_prefix(f"R{i}")).sid() for i in range(40)} - {None}
    assert saved == {call.sid for call in placed}  # every placed call's Sid was kept for the retry
