"""The request log and placed_calls(): what tests assert about what the simulator received."""

from __future__ import annotations

import pytest

from exotel_provider.simulator.server import ExotelSimulator
from tests.support.simulator_api import AGENT, CUSTOMER, CUSTOMER_NATIONAL

pytestmark = pytest.mark.exotel_simulator(time_scale=0)


def test_every_api_request_is_logged_with_its_answer(exotel_simulator: ExotelSimulator, api) -> None:
    sid = api.place(**{"StatusCallbackEvents[0]": "terminal"})
    api.connect(CallerId=None)
    api.call(sid, details="true")

    log = exotel_simulator.requests

    assert [(r.method, r.status_code) for r in log] == [("POST", 200), ("POST", 400), ("GET", 200)]
    assert log[0].path == f"/v1/Accounts/{exotel_simulator.account_sid}/Calls/connect.json"
    assert log[0].form["From"] == [CUSTOMER]
    assert log[0].form["StatusCallbackEvents[0]"] == ["terminal"]
    assert log[2].query == {"details": ["true"]}
    assert log[0].sim_time == exotel_simulator.now()
    assert log[0].real_time <= log[2].real_time
    assert log[0].is_connect and not log[2].is_connect


def test_log_is_a_copy(exotel_simulator: ExotelSimulator, api) -> None:
    snapshot = exotel_simulator.requests
    api.list_calls()
    assert snapshot == [] and len(exotel_simulator.requests) == 1


def test_placed_calls_by_number_in_any_form(exotel_simulator: ExotelSimulator, api) -> None:
    api.place(From=CUSTOMER)
    api.place(From=AGENT)
    api.connect(From=CUSTOMER, CallerId=None)  # refused: places nothing

    for form in (CUSTOMER, CUSTOMER_NATIONAL, "9876543210"):
        (call,) = exotel_simulator.placed_calls(form)
        assert call.from_number == CUSTOMER_NATIONAL
    assert len(exotel_simulator.placed_calls()) == 2


def test_reset_forgets_calls_log_and_scripts(exotel_simulator: ExotelSimulator, api) -> None:
    exotel_simulator.script(CUSTOMER, outcome="busy")
    sid = api.place()
    exotel_simulator.reset()

    assert exotel_simulator.requests == [] and exotel_simulator.placed_calls() == []
    assert api.session.get(api.url(f"Calls/{sid}"), timeout=10).status_code == 404
    assert exotel_simulator.state.scripts.all() == {}
