"""A bare HTTP client for the simulator (``requests`` only, independent of the provider's own client),
and the phone numbers the simulator's tests use."""

from __future__ import annotations

from typing import Any

import requests

from exotel_provider.simulator.server import ExotelSimulator

CUSTOMER = "+919876543210"
CUSTOMER_NATIONAL = "09876543210"
AGENT = "+919812345678"
AGENT_NATIONAL = "09812345678"
EXOPHONE = "08030752400"


class ExotelApi:
    """A bare HTTP client for the simulator, independent of the provider's own client."""

    def __init__(self, simulator: ExotelSimulator) -> None:
        self.simulator = simulator
        self.session = requests.Session()
        self.session.auth = (simulator.api_key, simulator.api_token)

    def url(self, resource: str, *, json: bool = True) -> str:
        suffix = ".json" if json else ""
        return f"{self.simulator.base_url}/v1/Accounts/{self.simulator.account_sid}/{resource}{suffix}"

    def flow_url(self, app_id: str = "926") -> str:
        return f"http://my.exotel.com/{self.simulator.account_sid}/exoml/start_voice/{app_id}"

    def connect(self, *, json: bool = True, **form: Any) -> requests.Response:
        """POST /Calls/connect; without ``To`` it is the seed's call-flow variant."""
        body: dict[str, Any] = {"From": CUSTOMER, "CallerId": EXOPHONE}
        if "To" not in form:
            body["Url"] = self.flow_url()
        body.update(form)
        body = {key: value for key, value in body.items() if value is not None}
        return self.session.post(self.url("Calls/connect", json=json), data=body, timeout=10)

    def place(self, **form: Any) -> str:
        """Place a call that must be accepted; returns its Sid."""
        response = self.connect(**form)
        assert response.status_code == 200, response.text
        return str(response.json()["Call"]["Sid"])

    def call(self, sid: str, **params: Any) -> dict[str, Any]:
        response = self.session.get(self.url(f"Calls/{sid}"), params=params, timeout=10)
        assert response.status_code == 200, response.text
        return dict(response.json()["Call"])

    def list_calls(self, *, json: bool = True, **params: Any) -> requests.Response:
        return self.session.get(self.url("Calls", json=json), params=params, timeout=10)

    def follow(self, uri: str) -> requests.Response:
        """GET a relative page URI taken from the listing Metadata."""
        return self.session.get(f"{self.simulator.base_url}{uri}", timeout=10)

    def control(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.simulator.base_url}/_simulator/{path}", timeout=10, **kwargs)
