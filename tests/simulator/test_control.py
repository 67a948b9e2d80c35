"""The /_simulator control endpoints, for tests that drive the simulator from another process."""

from __future__ import annotations

import pytest

from exotel_provider.simulator.server import ExotelSimulator
from tests.support.simulator_api import CUSTOMER, CUSTOMER_NATIONAL

pytestmark = pytest.mark.exotel_simulator(time_scale=0)


def test_health(exotel_simulator: ExotelSimulator, api) -> None:
    health = api.control("GET", "health").json()

    assert health["status"] == "ok"
    assert health["account_sid"] == exotel_simulator.account_sid
    assert (health["time_scale"], health["rate_limit_per_minute"]) == (0, 200)


def test_script_a_number_over_http(exotel_simulator: ExotelSimulator, api) -> None:
    answer = api.control("POST", "scripts", json={"number": CUSTOMER, "outcome": "busy", "ring_seconds": 2})
    sid = api.place()
    exotel_simulator.advance(3)

    assert answer.json()["number"] == CUSTOMER_NATIONAL
    assert api.call(sid)["Status"] == "busy"
    assert api.control("GET", "scripts").json()["numbers"][CUSTOMER_NATIONAL]["outcome"] == "busy"


def test_script_without_number_sets_the_default(exotel_simulator: ExotelSimulator, api) -> None:
    api.control("POST", "scripts", json={"outcome": "failed"})

    assert exotel_simulator.state.scripts.default.outcome == "failed"


@pytest.mark.parametrize(
    "body",
    [
        {"number": CUSTOMER, "outcome": "exploded"},
        {"number": CUSTOMER, "colour": "red"},
        {"number": "abc"},
        [1],
    ],
)
def test_bad_scripts_are_400(api, body) -> None:
    assert api.control("POST", "scripts", json=body).status_code == 400


def test_calls_lists_ongoing_calls_with_their_request(api) -> None:
    sid = api.place(CustomField="order-42")

    (call,) = api.control("GET", "calls").json()

    assert (call["Sid"], call["Status"]) == (sid, "queued")
    assert call["Request"]["CustomField"] == ["order-42"]
    assert api.control("GET", "calls", params={"number": "+919000000000"}).json() == []


def test_requests_endpoint_returns_the_log(api) -> None:
    api.place()

    (logged,) = api.control("GET", "requests").json()

    assert (logged["method"], logged["status_code"]) == ("POST", 200)
    assert logged["form"]["From"] == [CUSTOMER]


def test_advance_and_reset(exotel_simulator: ExotelSimulator, api) -> None:
    sid = api.place()
    before = exotel_simulator.now()

    assert api.control("POST", "advance", json={"seconds": 60}).json()["sim_time"] == before + 60
    assert api.call(sid)["Status"] == "completed"
    assert api.control("POST", "advance", json={"seconds": -1}).status_code == 400
    assert api.control("POST", "reset").json() == {"status": "reset"}
    assert api.control("GET", "calls").json() == []
    assert api.control("GET", "requests").json() == []
