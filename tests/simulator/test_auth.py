"""Basic auth and the account Sid on every /v1 request."""

from __future__ import annotations

import pytest
import requests
import xmltodict

from exotel_provider.simulator.server import ExotelSimulator


def test_missing_credentials_get_401_in_json(exotel_simulator: ExotelSimulator, api) -> None:
    response = requests.get(api.url("Calls"), timeout=10)

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["RestException"]["Status"] == 401


def test_wrong_token_gets_401_in_xml(api) -> None:
    response = requests.get(api.url("Calls", json=False), auth=("sim-key", "wrong"), timeout=10)

    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/xml")
    error = xmltodict.parse(response.text)["TwilioResponse"]["RestException"]
    assert error["Status"] == "401"
    assert "API key and token" in error["Message"]


def test_another_account_sid_gets_401(exotel_simulator: ExotelSimulator, api) -> None:
    url = f"{exotel_simulator.base_url}/v1/Accounts/someone_else/Calls.json"

    response = api.session.get(url, timeout=10)

    assert response.status_code == 401
    assert "someone_else" in response.json()["RestException"]["Message"]


def test_unauthenticated_connect_places_no_call(exotel_simulator: ExotelSimulator, api) -> None:
    response = requests.post(api.url("Calls/connect"), data={"From": "+919876543210"}, timeout=10)

    assert response.status_code == 401
    assert exotel_simulator.placed_calls() == []
    assert [r.status_code for r in exotel_simulator.requests] == [401]


@pytest.mark.exotel_simulator(api_key="k", api_token="t", account_sid="acme")
def test_configured_credentials_are_the_ones_accepted(exotel_simulator: ExotelSimulator, api) -> None:
    assert api.session.auth == ("k", "t")
    assert api.list_calls().status_code == 200
    assert exotel_simulator.connection()["extra"] == {"account_sid": "acme"}


def test_control_endpoints_need_no_credentials(api) -> None:
    assert api.control("GET", "health").json()["status"] == "ok"
