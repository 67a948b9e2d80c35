"""Injected faults, seen from a bare HTTP client: what each does to the answer and to the calls."""

from __future__ import annotations

import pytest
import requests

from exotel_provider.simulator import CALL_PATH, CONNECT_PATH, LISTING_PATH, Fault
from exotel_provider.simulator.server import ExotelSimulator
from tests.support.simulator_api import CUSTOMER

pytestmark = pytest.mark.exotel_simulator(time_scale=0)


def test_status_fault_before_processing_places_no_call(exotel_simulator: ExotelSimulator, api) -> None:
    exotel_simulator.inject_fault("status", status=500, method="POST", path=CONNECT_PATH)

    answer = api.connect()

    assert answer.status_code == 500
    assert answer.json()["RestException"]["Status"] == 500
    assert exotel_simulator.placed_calls() == []
    [recorded] = exotel_simulator.requests
    assert (recorded.status_code, recorded.fault) == (500, f"status 500 on POST {CONNECT_PATH}")


@pytest.mark.parametrize("retry_after", [None, 2.0])
def test_429_with_and_without_retry_after(exotel_simulator: ExotelSimulator, api, retry_after) -> None:
    exotel_simulator.inject_fault("status", status=429, retry_after=retry_after)

    answer = api.connect()

    assert answer.status_code == 429
    assert answer.headers.get("Retry-After") == (None if retry_after is None else "2")


def test_status_fault_after_processing_places_the_call(exotel_simulator: ExotelSimulator, api) -> None:
    exotel_simulator.inject_fault("status", status=502, path=CONNECT_PATH, after_processing=True)

    assert api.connect().status_code == 502
    assert len(exotel_simulator.placed_calls(CUSTOMER)) == 1


def test_dropped_connection_after_the_call_was_accepted(exotel_simulator: ExotelSimulator, api) -> None:
    exotel_simulator.inject_fault("drop", method="POST", path=CONNECT_PATH)

    with pytest.raises(requests.ConnectionError):
        api.connect()

    assert len(exotel_simulator.placed_calls(CUSTOMER)) == 1
    assert exotel_simulator.requests[-1].status_code == 0
    assert api.connect().status_code == 200  # the next request is answered normally


def test_dropped_connection_before_processing_places_no_call(exotel_simulator: ExotelSimulator, api) -> None:
    exotel_simulator.inject_fault("drop", path=CONNECT_PATH, after_processing=False)

    with pytest.raises(requests.ConnectionError):
        api.connect()

    assert exotel_simulator.placed_calls() == []


def test_delay_past_the_client_timeout_still_places_the_call(exotel_simulator: ExotelSimulator, api) -> None:
    exotel_simulator.inject_fault("delay", delay_seconds=0.5, path=CONNECT_PATH)

    with pytest.raises(requests.ReadTimeout):
        api.session.post(
            api.url("Calls/connect"),
            data={"From": CUSTOMER, "CallerId": "08030752400", "Url": api.flow_url()},
            timeout=0.1,
        )

    assert len(exotel_simulator.placed_calls(CUSTOMER)) == 1


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("malformed_json", lambda r: r.text.startswith("{") and r.status_code == 200),
        ("xml_instead_of_json", lambda r: r.text.lstrip().startswith("<?xml") and "<Sid>" in r.text),
        ("html_page", lambda r: r.status_code == 502 and "<html>" in r.text),
        ("empty_body", lambda r: r.status_code == 200 and r.content == b""),
    ],
)
def test_unreadable_answers_after_the_call_was_accepted(exotel_simulator: ExotelSimulator, api, kind, check):
    exotel_simulator.inject_fault(kind, path=CONNECT_PATH)

    answer = api.connect()

    assert check(answer), answer.text
    assert len(exotel_simulator.placed_calls(CUSTOMER)) == 1
    if kind == "malformed_json":
        with pytest.raises(ValueError):
            answer.json()


def test_credentials_rejected_mid_run(exotel_simulator: ExotelSimulator, api) -> None:
    sid = api.place()
    exotel_simulator.inject_fault("credentials_rejected", times=None)

    answers = [api.session.get(api.url(f"Calls/{sid}"), timeout=5) for _ in range(3)]

    assert [a.status_code for a in answers] == [401, 401, 401]
    assert "Authentication failed" in answers[0].json()["RestException"]["Message"]


def test_times_and_skip_target_exactly_the_requests_asked_for(exotel_simulator: ExotelSimulator, api) -> None:
    sid = api.place()
    exotel_simulator.inject_fault("status", status=503, method="GET", path=CALL_PATH, skip=1, times=2)

    statuses = [api.session.get(api.url(f"Calls/{sid}"), timeout=5).status_code for _ in range(4)]
    listing = api.list_calls().status_code

    assert statuses == [200, 503, 503, 200]
    assert listing == 200
    assert exotel_simulator.armed_faults == []
    assert len(exotel_simulator.injected_faults) == 2


def test_path_patterns_tell_listing_one_call_and_connect_apart(
    exotel_simulator: ExotelSimulator, api
) -> None:
    sid = api.place()
    exotel_simulator.inject_fault("status", status=500, path=LISTING_PATH)

    assert api.session.get(api.url(f"Calls/{sid}"), timeout=5).status_code == 200
    assert api.list_calls().status_code == 500


def test_faults_over_the_control_endpoint(exotel_simulator: ExotelSimulator, api) -> None:
    armed = api.control("POST", "faults", json=[{"kind": "drop", "method": "POST", "path": "Calls/connect"}])
    assert armed.status_code == 200
    assert api.control("GET", "faults").json()["armed"][0]["kind"] == "drop"

    with pytest.raises(requests.ConnectionError):
        api.connect()

    seen = api.control("GET", "faults").json()
    assert seen["armed"] == []
    assert seen["injected"][0]["method"] == "POST"
    assert api.control("DELETE", "faults").json() == {"status": "cleared"}
    assert api.control("GET", "faults").json()["injected"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "explode"},
        {"kind": "status"},
        {"kind": "drop", "times": 0},
        {"kind": "drop", "colour": 1},
        {},
    ],
)
def test_bad_fault_definitions_are_refused(api, body) -> None:
    assert api.control("POST", "faults", json=body).status_code == 400


def test_fault_validation():
    with pytest.raises(ValueError, match="delay_seconds"):
        Fault("delay")
    with pytest.raises(ValueError, match="status"):
        Fault("status", status=200)
    assert Fault("html_page").answer_status == 502
    assert Fault("drop").processes_request and not Fault("status", status=429).processes_request
