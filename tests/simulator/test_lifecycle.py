"""How calls unfold over simulated time: statuses, the late pricing fields, scripts."""

from __future__ import annotations

import time

import pytest

from exotel_provider.simulator import CallScript
from exotel_provider.simulator.server import ExotelSimulator
from tests.support.simulator_api import AGENT, CUSTOMER

pytestmark = pytest.mark.exotel_simulator(time_scale=0)


def test_answered_call_walks_queued_ringing_in_progress_completed(
    exotel_simulator: ExotelSimulator, api
) -> None:
    sid = api.place()
    seen = [api.call(sid)["Status"]]
    for seconds in (1, 8, 45):  # default script: queue 1 s, ring 8 s, talk 45 s
        exotel_simulator.advance(seconds)
        seen.append(api.call(sid)["Status"])

    assert seen == ["queued", "ringing", "in-progress", "completed"]


def test_pricing_fields_appear_only_after_the_pricing_delay(exotel_simulator: ExotelSimulator, api) -> None:
    sid = api.place()
    exotel_simulator.advance(54)

    ended = api.call(sid)
    exotel_simulator.advance(119)
    still_unpriced = api.call(sid)
    exotel_simulator.advance(1)
    priced = api.call(sid)

    assert ended["Status"] == still_unpriced["Status"] == "completed"
    assert ended["EndTime"] is ended["Duration"] is ended["Price"] is None
    assert still_unpriced["Price"] is None
    assert priced["Price"] == 0.5  # 45 s talk = 1 started minute at 0.5/min
    assert priced["Duration"] == 53  # ringing 8 s + talk 45 s, from StartTime to EndTime
    assert priced["EndTime"] is not None and priced["EndTime"] > priced["StartTime"]
    assert priced["DateUpdated"] > ended["DateUpdated"]


def test_start_time_is_null_while_queued(exotel_simulator: ExotelSimulator, api) -> None:
    sid = api.place()
    assert api.call(sid)["StartTime"] is None
    exotel_simulator.advance(1)
    assert api.call(sid)["StartTime"] is not None


def test_time_limit_cuts_the_talk_and_the_price(exotel_simulator: ExotelSimulator, api) -> None:
    exotel_simulator.script(CUSTOMER, talk_seconds=600, price_per_minute=1.2)
    sid = api.place(TimeLimit="90")
    exotel_simulator.advance(10_000)

    call = api.call(sid, details="true")

    assert call["Duration"] == 8 + 90
    assert call["Price"] == pytest.approx(2.4)  # 90 s = 2 started minutes
    assert call["Details"]["ConversationDuration"] == 90


@pytest.mark.parametrize("outcome", ["busy", "failed", "canceled"])
def test_unanswered_outcomes_never_go_in_progress_and_cost_nothing(
    exotel_simulator: ExotelSimulator, api, outcome: str
) -> None:
    exotel_simulator.script(CUSTOMER, outcome=outcome, ring_seconds=5)
    sid = api.place()
    statuses = []
    for _ in range(10):
        exotel_simulator.advance(1)
        statuses.append(api.call(sid)["Status"])
    exotel_simulator.advance(120)
    call = api.call(sid)

    assert "in-progress" not in statuses
    assert statuses[-1] == outcome
    assert (call["Price"], call["Duration"]) == (0.0, 0)


@pytest.mark.parametrize(("time_out", "rings_for"), [(None, 30), ("20", 20)])
def test_no_answer_rings_for_timeout_or_30_seconds(
    exotel_simulator: ExotelSimulator, api, time_out: str | None, rings_for: int
) -> None:
    exotel_simulator.script(CUSTOMER, outcome="no-answer")
    sid = api.place(TimeOut=time_out)
    exotel_simulator.advance(1 + rings_for - 1)
    assert api.call(sid)["Status"] == "ringing"
    exotel_simulator.advance(1)
    assert api.call(sid)["Status"] == "no-answer"


def test_scripts_are_per_number_and_others_get_the_default(exotel_simulator: ExotelSimulator, api) -> None:
    exotel_simulator.script("09876543210", outcome="busy")
    busy = api.place(From=CUSTOMER)
    normal = api.place(From=AGENT)
    exotel_simulator.advance(60)

    assert api.call(busy)["Status"] == "busy"
    assert api.call(normal)["Status"] == "completed"


@pytest.mark.exotel_simulator(time_scale=0, default_script=CallScript(outcome="failed", ring_seconds=0))
def test_default_script_comes_from_the_marker(exotel_simulator: ExotelSimulator, api) -> None:
    sid = api.place()
    exotel_simulator.advance(1)
    assert api.call(sid)["Status"] == "failed"


def test_never_priced_call_keeps_null_pricing_fields(exotel_simulator: ExotelSimulator, api) -> None:
    exotel_simulator.script(CUSTOMER, CallScript(never_priced=True))
    sid = api.place()
    exotel_simulator.advance(86_400)

    call = api.call(sid)

    assert call["Status"] == "completed"
    assert call["EndTime"] is call["Duration"] is call["Price"] is None


def test_details_of_a_two_number_call(exotel_simulator: ExotelSimulator, api) -> None:
    sid = api.place(From=AGENT, To=CUSTOMER)
    ongoing = api.call(sid, details="true")["Details"]
    exotel_simulator.advance(300)
    details = api.call(sid, details="true")["Details"]

    assert ongoing == {"ConversationDuration": None, "Leg1Status": None, "Leg2Status": None, "Legs": []}
    assert details["ConversationDuration"] == 45
    assert (details["Leg1Status"], details["Leg2Status"]) == ("completed", "completed")
    assert details["Legs"][1] == {"Leg": {"Id": 2, "OnCallDuration": 45, "Status": "completed"}}


def test_script_on_the_to_number_decides_its_leg(exotel_simulator: ExotelSimulator, api) -> None:
    exotel_simulator.script(CUSTOMER, outcome="busy")
    sid = api.place(From=AGENT, To=CUSTOMER)
    exotel_simulator.advance(300)

    call = api.call(sid, details="true")

    assert call["Status"] == "busy"
    assert (call["Details"]["Leg1Status"], call["Details"]["Leg2Status"]) == ("completed", "busy")


def test_details_without_the_flag_are_absent(api) -> None:
    assert "Details" not in api.call(api.place())


def test_unknown_sid_is_404(api) -> None:
    response = api.session.get(api.url("Calls/0123456789abcdef0123456789abcdef"), timeout=10)

    assert response.status_code == 404
    assert response.json()["RestException"]["Status"] == 404


def test_call_is_readable_at_the_uri_it_reports(api) -> None:
    call = api.connect().json()["Call"]

    assert api.follow(call["Uri"]).json()["Call"]["Sid"] == call["Sid"]


@pytest.mark.exotel_simulator(time_scale=6000)
def test_calls_progress_with_real_time_at_a_high_time_scale(api) -> None:
    sid = api.place()  # 174 simulated seconds to be priced = 29 ms of real time
    deadline = time.monotonic() + 5
    call = api.call(sid)
    while call["Price"] is None and time.monotonic() < deadline:
        time.sleep(0.01)
        call = api.call(sid)

    assert (call["Status"], call["Price"]) == ("completed", 0.5)
