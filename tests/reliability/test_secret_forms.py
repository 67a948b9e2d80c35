"""Credentials never leave, in any form: the token, the Basic credentials (base64 of key:token), the
URL-encoded token, raw or inside an answer body (error bodies, unreadable 2xx answers), in messages,
logs and trigger events; a host or paging URI holding credentials is never quoted, whatever the
password holds; phone numbers in Exotel's own messages and in body excerpts are masked.

Through the operator, the sensor and the trigger against a simulator that echoes what it received.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import traceback
from typing import Any
from urllib.parse import quote, quote_plus

import pytest

from exotel_provider.client.settings import ExotelSettings
from exotel_provider.errors import ExotelConfigurationError, ExotelError
from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor
from exotel_provider.simulator import CALL_PATH, CONNECT_PATH
from exotel_provider.task_errors import InvalidExotelConnection
from exotel_provider.triggers.exotel import ExotelCallTrigger
from tests.support.simulated_tasks import COUNTS, CUSTOMER, EXOPHONE, DictStateStore, context, run_task

KEY = "sim-key"
TOKEN = "tok/SECRET?7c#1f@3a9e+5b x"
BASIC = base64.b64encode(f"{KEY}:{TOKEN}".encode()).decode()
NEEDLES = {
    "token": TOKEN,
    "basic credentials": BASIC,
    "url-encoded token": quote(TOKEN, safe=""),
    "form-encoded token": quote_plus(TOKEN),
    "key:token": f"{KEY}:{TOKEN}",
}
ECHO = f"you sent Authorization: Basic {BASIC}; token={quote(TOKEN, safe='')}; raw {KEY}:{TOKEN}"
CUSTOMER_DIGITS = "9876543210"

pytestmark = [
    pytest.mark.exotel_simulator(time_scale=600, api_key=KEY, api_token=TOKEN),
    pytest.mark.usefixtures("fast_retries"),
]


class Evidence:
    """Everything a user or an attacker could read after one scenario."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, value: Any) -> None:
        if isinstance(value, BaseException):
            value = "".join(traceback.format_exception(value))
        self.texts.append((where, value if isinstance(value, str) else repr(value)))

    def leaks(self, needles: dict[str, str]) -> list[str]:
        return [
            f"{name} in {where}"
            for where, text in self.texts
            for name, needle in needles.items()
            if needle in text
        ]


@pytest.fixture
def evidence(capfd, caplog):
    caplog.set_level(logging.DEBUG)
    found = Evidence()
    yield found
    out, err = capfd.readouterr()
    found.add("stdout", out)
    found.add("stderr", err)
    found.add("log records", "\n".join(record.getMessage() for record in caplog.records))
    leaks = found.leaks(NEEDLES)
    COUNTS["secret searches"] += len(found.texts) * len(NEEDLES)
    COUNTS["secrets found in output"] += len(leaks)
    assert not leaks, leaks


def set_connection(monkeypatch, simulator, **changes: Any) -> None:
    connection = simulator.connection()
    connection["extra"].update(changes.pop("extra", {}))
    connection.update(changes)
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(connection))


def place_call(**overrides: Any) -> Any:
    params: dict[str, Any] = {"task_id": "place_call", "from_number": CUSTOMER, "app_id": 926}
    params.update(caller_id=EXOPHONE, unknown_outcome="fail", **overrides)
    return run_task(ExotelConnectOperator(**params).execute, store=DictStateStore(), retries=0)


@pytest.mark.parametrize("status", [401, 403, 500])
def test_credentials_echoed_in_an_error_body_of_the_placing_request_are_scrubbed(
    exotel_simulator, monkeypatch, evidence, status
):
    set_connection(monkeypatch, exotel_simulator)
    message = f"{ECHO}; number {CUSTOMER} is on the DND list"
    exotel_simulator.inject_fault("status", status=status, method="POST", path=CONNECT_PATH, message=message)

    run = place_call()

    assert isinstance(run.error, ExotelError)
    assert "***" in str(run.error) and CUSTOMER_DIGITS not in str(run.error) and "3210" in str(run.error)
    evidence.add("exception", run.error)
    evidence.add("error attributes", vars(run.error))
    evidence.add("xcom", run.xcom)


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_credentials_echoed_in_an_unreadable_200_are_scrubbed(
    exotel_simulator, monkeypatch, evidence, method
):
    set_connection(monkeypatch, exotel_simulator)
    if method == "POST":
        exotel_simulator.inject_fault("html_page", status=200, method="POST", path=CONNECT_PATH, message=ECHO)
        error = place_call().error
    else:
        sid = place_call().xcom["call_sid"]
        exotel_simulator.inject_fault(
            "html_page", status=200, method="GET", path=CALL_PATH, message=ECHO, times=None
        )
        with pytest.raises(ExotelError) as caught:
            ExotelCallSensor(task_id="wait", call_sid=sid).poke(context(DictStateStore()))
        error = caught.value

    assert error is not None and "HTML page" in str(error) + str(error.__context__ or "")
    evidence.add("exception", error)


def test_phone_numbers_in_exotel_messages_are_shown_when_the_connection_opts_out(
    exotel_simulator, monkeypatch
):
    set_connection(monkeypatch, exotel_simulator, extra={"mask_phone_numbers": False})
    exotel_simulator.inject_fault(
        "status", status=403, method="POST", path=CONNECT_PATH, message=f"{CUSTOMER} is on the DND list"
    )

    assert CUSTOMER in str(place_call().error)


def test_a_trigger_error_event_never_carries_credentials_or_full_numbers(
    exotel_simulator, monkeypatch, evidence
):
    set_connection(monkeypatch, exotel_simulator)
    sid = place_call().xcom["call_sid"]
    exotel_simulator.advance(3600)
    exotel_simulator.inject_fault(
        "status", status=403, method="GET", times=None, message=f"{ECHO} for {CUSTOMER}"
    )

    async def first_event() -> dict[str, Any]:
        trigger = ExotelCallTrigger(sid, poll_interval=0.01)
        [event] = [event async for event in trigger.run()]
        return dict(event.payload)

    event = asyncio.run(asyncio.wait_for(first_event(), timeout=60))

    assert event["status"] == "error" and event["status_code"] == 403
    assert "***" in event["message"] and CUSTOMER_DIGITS not in event["message"]
    evidence.add("trigger event", json.dumps(event))


PASSWORDS = ["pa/ss", "pa?ss", "pa#ss", "p@ss", "a://b@c", "x/y?z#w@v"]


@pytest.mark.parametrize("password", PASSWORDS)
def test_a_host_holding_credentials_is_never_quoted(exotel_simulator, monkeypatch, evidence, password):
    set_connection(monkeypatch, exotel_simulator, host=f"https://{KEY}:{password}@api.exotel.com")

    run = place_call()

    assert isinstance(run.error, InvalidExotelConnection)
    assert password not in str(run.error) and "credentials" in str(run.error)
    assert exotel_simulator.requests == []
    evidence.add("exception", run.error)
    COUNTS["secret searches"] += 1
    COUNTS["secrets found in output"] += password in str(run.error)


@pytest.mark.parametrize("password", PASSWORDS)
def test_a_paging_uri_holding_credentials_is_never_followed_nor_quoted(password):
    settings = ExotelSettings(
        account_sid="a", api_key=KEY, api_token=TOKEN, base_url="https://api.exotel.com"
    )

    for uri in (
        f"https://{KEY}:{password}@evil.example/v1/Accounts/a/Calls",
        f"//{KEY}:{password}@api.exotel.com/x",
    ):
        with pytest.raises(ExotelConfigurationError) as caught:
            settings.page_url(uri)
        assert password not in str(caught.value)
        COUNTS["secret searches"] += 1
        COUNTS["secrets found in output"] += password in str(caught.value)
