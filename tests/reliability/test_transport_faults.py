"""Placing a call when the network or a proxy misbehaves, through the operator and real sockets.

A call-placing POST is sent again only when no call can exist: a 429, or a connection that was never
established (refused, DNS, failed TLS handshake). Any 5xx after the POST was sent (503 included) is an
unknown outcome. A request that never reached Exotel says so, and names the likely cause.
"""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest

from exotel_provider.errors import (
    ExotelCallOutcomeUnknownError,
    ExotelError,
    ExotelUnreachableError,
)
from exotel_provider.operators.exotel import PENDING_PLACEMENT_KEY, ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor
from exotel_provider.simulator import CONNECT_PATH
from tests.support.simulated_tasks import COUNTS, CUSTOMER, EXOPHONE, DictStateStore, connection_env, run_task

pytestmark = [pytest.mark.exotel_simulator(time_scale=600), pytest.mark.usefixtures("fast_retries")]


def operator(**overrides: Any) -> ExotelConnectOperator:
    params: dict[str, Any] = {
        "task_id": "place_call",
        "from_number": CUSTOMER,
        "app_id": 926,
        "caller_id": EXOPHONE,
        "unknown_outcome": "fail",
    }
    params.update(overrides)
    return ExotelConnectOperator(**params)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def posts(simulator) -> list[Any]:
    return [request for request in simulator.requests if request.method == "POST"]


@pytest.mark.parametrize("after_processing", [False, True], ids=["before-accept", "after-accept"])
def test_a_503_to_the_placing_post_is_an_unknown_outcome_never_a_second_post(
    exotel_simulator, monkeypatch, after_processing
):
    connection_env(monkeypatch, exotel_simulator)
    exotel_simulator.inject_fault(
        "status", status=503, method="POST", path=CONNECT_PATH, after_processing=after_processing
    )

    run = run_task(operator().execute, store=DictStateStore(), retries=2)

    assert len(posts(exotel_simulator)) == 1, exotel_simulator.requests
    assert len(exotel_simulator.placed_calls(CUSTOMER)) == (1 if after_processing else 0)
    assert isinstance(run.error, ExotelCallOutcomeUnknownError)
    assert "HTTP 503" in str(run.error) and "may nevertheless have been placed" in str(run.error)
    COUNTS["scenarios run"] += 1


def test_a_429_to_the_placing_post_is_retried_and_places_one_call(exotel_simulator, monkeypatch):
    connection_env(monkeypatch, exotel_simulator)
    exotel_simulator.inject_fault("status", status=429, method="POST", path=CONNECT_PATH, times=2)

    run = run_task(operator().execute, store=DictStateStore(), retries=0)

    assert run.succeeded, run.error
    assert len(posts(exotel_simulator)) == 3
    assert [call.sid for call in exotel_simulator.placed_calls(CUSTOMER)] == [run.xcom["call_sid"]]
    COUNTS["scenarios run"] += 1


def test_a_refused_connection_never_reached_exotel_and_says_so(exotel_simulator, monkeypatch):
    connection = exotel_simulator.connection()
    connection_env(monkeypatch, exotel_simulator)
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXOTEL_DEFAULT",
        json.dumps({**connection, "host": f"http://127.0.0.1:{closed_port()}"}),
    )
    store = DictStateStore()

    run = run_task(operator().execute, store=store, retries=0)

    error = run.error
    assert isinstance(error, ExotelUnreachableError) and not isinstance(error, ExotelCallOutcomeUnknownError)
    assert error.cause == "refused"
    assert "never reached Exotel" in str(error) and "no call was placed" in str(error)
    assert "refused" in str(error) and "port" in str(error)
    assert "may have been placed" not in str(error)
    assert PENDING_PLACEMENT_KEY not in store.values
    assert exotel_simulator.requests == []
    COUNTS["scenarios run"] += 1


def test_an_https_url_in_front_of_the_plain_http_simulator_is_a_failed_tls_handshake(
    exotel_simulator, monkeypatch
):
    connection = exotel_simulator.connection()
    https_host = connection["host"].replace("http://", "https://")
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps({**connection, "host": https_host}))

    run = run_task(operator().execute, store=DictStateStore(), retries=0)

    error = run.error
    assert isinstance(error, ExotelUnreachableError), error
    assert error.cause == "tls"
    assert "TLS handshake failed" in str(error) and "plain-http server behind an https URL" in str(error)
    assert "no call was placed" in str(error) and "may have been placed" not in str(error)
    assert exotel_simulator.requests == []  # the handshake failed: nothing was asked, nothing retried
    COUNTS["scenarios run"] += 1


def test_a_sensor_pointed_at_a_closed_port_fails_with_the_same_clear_error(exotel_simulator, monkeypatch):
    from tests.support.simulated_tasks import context

    connection = exotel_simulator.connection()
    monkeypatch.setenv(
        "AIRFLOW_CONN_EXOTEL_DEFAULT",
        json.dumps({**connection, "host": f"http://127.0.0.1:{closed_port()}"}),
    )

    with pytest.raises(ExotelError) as caught:
        ExotelCallSensor(task_id="wait", call_sid="a" * 32).poke(context(DictStateStore()))

    assert isinstance(caught.value, ExotelUnreachableError) and caught.value.cause == "refused"
    assert "never reached Exotel" in str(caught.value)
    COUNTS["scenarios run"] += 1
