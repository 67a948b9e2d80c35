"""The campaign's limits against the simulator: calls in flight capped, 429 answered by a pause."""

from __future__ import annotations

import pytest

from exotel_provider.operators.campaign import ExotelCampaignOperator
from exotel_provider.simulator.faults import CONNECT_PATH, Fault
from tests.support.campaign_runs import context, number, posts, run_try
from tests.support.task_doubles import DictStateStore

pytestmark = pytest.mark.exotel_simulator(time_scale=600)


def entries(count: int) -> list[dict[str, str]]:
    return [{"key": f"R{i}", "from_number": number(i)} for i in range(count)]


def test_no_more_calls_are_in_flight_than_the_cap(campaign_connection):
    sim = campaign_connection
    operator = ExotelCampaignOperator(
        task_id="call", calls=entries(8), app_id=926, max_calls_in_flight=3, poll_interval=0.05,
        pricing_grace_seconds=600,
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
    operator = ExotelCampaignOperator(task_id="call", calls=entries(3), app_id=926, poll_interval=1)

    outcomes = run_try(operator, context(DictStateStore()), sim)

    assert [o["status"] for o in outcomes] == ["completed"] * 3
    assert [r.status_code for r in posts(sim)] == [200, *[429] * 6, 200, 200]
    assert all(len(sim.placed_calls(number(i))) == 1 for i in range(3))
