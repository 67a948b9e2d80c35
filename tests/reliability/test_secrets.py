"""The API token never leaves the connection and the Authorization header; phone numbers are masked
in logs unless the connection opts out.

The main scenarios run with a recognisable token; the test then searches everything a user or an
attacker could read: captured stdout/stderr and log records, task log files, XCom and rendered
template fields in the metadata DB, exception text (with its chain) and reprs.
"""

from __future__ import annotations

import datetime
import json
import logging
import time
import traceback
import uuid
from pathlib import Path
from typing import Any

import pytest

from exotel_provider.client import ExotelClient
from exotel_provider.errors import ExotelAuthenticationError, ExotelError
from exotel_provider.hooks.exotel import ExotelHook
from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor
from exotel_provider.simulator import CALL_PATH, CONNECT_PATH
from tests.support.airflow_runs import run_dag
from tests.support.operator_runs import CUSTOMER, EXOPHONE
from tests.support.simulated_tasks import COUNTS, DictStateStore, context, fast_operator, run_task

TOKEN = "tok-SECRET-7c1f3a9e5b"
WRONG_TOKEN = "tok-WRONG-4d2b8e6f0a"
SECRETS = (TOKEN, WRONG_TOKEN)
FULL_NUMBER_DIGITS = ("9876543210", "8047112345")

pytestmark = [
    pytest.mark.exotel_simulator(time_scale=600, api_token=TOKEN),
    pytest.mark.usefixtures("fast_retries"),
]


class Evidence:
    """Everything produced during one test that must not hold the token."""

    def __init__(self) -> None:
        self.texts: list[tuple[str, str]] = []

    def add(self, where: str, value: Any) -> None:
        self.texts.append((where, value if isinstance(value, str) else repr(value)))

    def add_error(self, where: str, error: BaseException | None) -> None:
        if error is not None:
            self.add(where, "".join(traceback.format_exception(error)))

    def leaks(self, needles: tuple[str, ...]) -> list[str]:
        return [f"{needle} in {where}" for where, text in self.texts for needle in needles if needle in text]


@pytest.fixture
def evidence(capfd, caplog) -> Any:
    caplog.set_level(logging.DEBUG)
    found = Evidence()
    started = time.time()
    yield found
    out, err = capfd.readouterr()
    found.add("stdout", out)
    found.add("stderr", err)
    found.add("log records", "\n".join(record.getMessage() for record in caplog.records))
    logs = Path(__import__("os").environ["AIRFLOW_HOME"]) / "logs"
    if logs.is_dir():
        for path in logs.rglob("*"):
            if path.is_file() and path.stat().st_mtime >= started - 1:
                found.add(f"task log {path}", path.read_text(errors="replace"))
    leaks = found.leaks(SECRETS)
    COUNTS["secret searches"] += len(found.texts)
    COUNTS["secrets found in output"] += len(leaks)
    assert not leaks, leaks


def set_connection(monkeypatch, simulator, *, token: str = TOKEN, **extra: Any) -> None:
    connection = simulator.connection()
    connection["password"] = token
    connection["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(connection))


def poke_until_done(sensor: ExotelCallSensor, simulator) -> Any:
    for _ in range(100):
        result = sensor.poke(context(DictStateStore()))
        if result.is_done:
            return result.xcom_value
        simulator.advance(30)
    raise AssertionError("never done")


def test_operator_sensor_and_reprs_never_show_the_token(exotel_simulator, monkeypatch, evidence):
    set_connection(monkeypatch, exotel_simulator)
    task = fast_operator(wait_for_completion=True)
    run = run_task(task.execute, store=DictStateStore(), retries=0)
    sensor = ExotelCallSensor(task_id="wait", call_sid=run.xcom["call_sid"])
    details = poke_until_done(sensor, exotel_simulator)

    assert run.succeeded
    for where, value in [
        ("xcom", run.xcom),
        ("sensor xcom", details),
        ("operator repr", repr(task)),
        ("operator dict", vars(task)),
        ("hook repr", repr(task.hook)),
        ("client repr", repr(task.hook.client)),
        ("settings repr", repr(task.hook.settings)),
        ("template fields", {name: getattr(task, name) for name in task.template_fields}),
    ]:
        evidence.add(where, value)
    assert task.hook.settings.api_token == TOKEN  # it is there, just never shown


@pytest.mark.parametrize(
    "scenario",
    ["wrong-token", "revoked-mid-run", "token-echoed-by-server", "lost-answer", "server-errors-on-reads"],
)
def test_error_paths_never_show_the_token(exotel_simulator, monkeypatch, evidence, scenario):
    set_connection(monkeypatch, exotel_simulator, token=WRONG_TOKEN if scenario == "wrong-token" else TOKEN)
    if scenario == "revoked-mid-run":
        exotel_simulator.inject_fault("credentials_rejected", method="GET", times=None)
    if scenario == "token-echoed-by-server":
        message = f"Bad credentials {exotel_simulator.api_key}:{TOKEN}"
        exotel_simulator.inject_fault("status", status=403, path=CONNECT_PATH, message=message)
    if scenario == "lost-answer":
        exotel_simulator.inject_fault("drop", path=CONNECT_PATH, after_processing=False)
    if scenario == "server-errors-on-reads":
        exotel_simulator.inject_fault("html_page", method="GET", path=CALL_PATH, times=None)

    run = run_task(fast_operator(wait_for_completion=True).execute, store=DictStateStore(), retries=1)

    assert run.errors and all(isinstance(error, ExotelError) for error in run.errors), run.errors
    if scenario in ("wrong-token", "revoked-mid-run"):
        assert isinstance(run.error, ExotelAuthenticationError)
        assert "API key" in str(run.error) and "mumbai" in str(run.error)
    if scenario == "token-echoed-by-server":
        assert "***" in str(run.errors[0])
    for error in run.errors:
        evidence.add_error("exception", error)
        evidence.add("error attributes", vars(error))
    evidence.add("xcom", run.xcom)


def test_dag_runs_leave_no_token_in_xcom_rendered_fields_or_logs(exotel_simulator, monkeypatch, evidence):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    set_connection(monkeypatch, exotel_simulator)
    good_dag = place_and_wait_dag(f"secrets_{uuid.uuid4().hex[:8]}")
    good = run_dag(good_dag)
    set_connection(monkeypatch, exotel_simulator, token=WRONG_TOKEN)
    bad_dag = place_and_wait_dag(f"secrets_wrong_token_{uuid.uuid4().hex[:8]}")
    bad = run_dag(bad_dag)

    with create_session() as session:
        for dag, dag_run in ((good_dag, good), (bad_dag, bad)):
            rows = session.scalars(XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag.dag_id)).all()
            evidence.add("xcom rows", [(row.key, XComModel.deserialize_value(row)) for row in rows])
            evidence.add("rendered fields", rendered_fields(session, dag.dag_id, dag_run.run_id))
    assert str(good.state) == "success" and str(bad.state) == "failed"


def test_phone_numbers_are_masked_in_logs_by_default(exotel_simulator, monkeypatch, capfd, caplog):
    # INFO, the task log level: at DEBUG, urllib3 logs request URLs, and listing filters hold numbers.
    caplog.set_level(logging.INFO)
    set_connection(monkeypatch, exotel_simulator)
    exotel_simulator.inject_fault("drop", path=CONNECT_PATH)  # reconciliation logs name the number too
    run_task(fast_operator(wait_for_completion=True).execute, store=DictStateStore(), retries=0)

    out, err = capfd.readouterr()
    logged = out + err + "\n".join(record.getMessage() for record in caplog.records)
    assert "+91XXXXXX3210" in logged
    assert not [digits for digits in FULL_NUMBER_DIGITS if digits in logged]


def test_phone_numbers_are_logged_in_full_when_the_connection_opts_out(
    exotel_simulator, monkeypatch, capfd, caplog
):
    caplog.set_level(logging.INFO)
    set_connection(monkeypatch, exotel_simulator, mask_phone_numbers=False)
    exotel_simulator.inject_fault("drop", path=CONNECT_PATH)
    run_task(fast_operator(wait_for_completion=True).execute, store=DictStateStore(), retries=0)

    out, err = capfd.readouterr()
    logged = out + err + "\n".join(record.getMessage() for record in caplog.records)
    assert "+919876543210" in logged


def test_client_repr_and_settings_repr_hide_the_token(exotel_simulator):
    hook = ExotelHook()
    client = ExotelClient(
        __import__("exotel_provider.client", fromlist=["ExotelSettings"]).ExotelSettings(
            account_sid="a", api_key="k", api_token=TOKEN
        )
    )
    assert TOKEN not in repr(client) and TOKEN not in repr(client.settings) and TOKEN not in repr(hook)


def place_and_wait_dag(dag_id: str):
    from airflow.sdk import DAG

    with DAG(dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
        place = ExotelConnectOperator(
            task_id="place_call",
            from_number=CUSTOMER,
            app_id=926,
            caller_id=EXOPHONE,
            poll_interval=0.05,
        )
        wait = ExotelCallSensor(
            task_id="wait_for_call",
            call_sid="{{ ti.xcom_pull(task_ids='place_call', key='call_sid') }}",
            poke_interval=0.1,
        )
        place >> wait
    return dag


def rendered_fields(session, dag_id: str, run_id: str) -> list[Any]:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields as RTIF

    rows = session.query(RTIF).filter(RTIF.dag_id == dag_id, RTIF.run_id == run_id).all()
    return [row.rendered_fields for row in rows]
