"""The example DAGs on a real Airflow: triggered through the REST API, run by the scheduler, the
LocalExecutor's workers and the triggerer, calling the Exotel simulator over HTTP."""

from __future__ import annotations

import datetime
import importlib.util
import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.support.real_airflow import AirflowApi, simulator_calls, simulator_sms
from tools.local_airflow import LocalAirflow

pytestmark = pytest.mark.e2e

ON_DEMAND = "exotel_call_on_demand"
REMINDERS = "exotel_scheduled_reminders"
TRIGGER_AVAILABLE = importlib.util.find_spec("exotel_provider.triggers") is not None


@pytest.fixture(scope="module")
def on_demand_run(airflow_api: AirflowApi) -> dict[str, Any]:
    """One on-demand call triggered through the REST API, run to the end."""
    airflow_api.unpause(ON_DEMAND)
    answer = airflow_api.trigger(ON_DEMAND, {"phone": "+919812340001", "flow_app_id": "4242"})
    assert answer.status_code == 200, answer.text
    run = answer.json()
    run["final_state"] = airflow_api.wait_for_run(ON_DEMAND, run["dag_run_id"])
    return run


def test_on_demand_run_through_the_rest_api_places_exactly_one_call(
    on_demand_run, airflow_api: AirflowApi, local_airflow: LocalAirflow
):
    run_id = on_demand_run["dag_run_id"]
    assert on_demand_run["final_state"] == "success"
    assert set(airflow_api.task_states(ON_DEMAND, run_id).values()) == {"success"}
    [call] = simulator_calls(local_airflow, "+919812340001")
    assert call["Request"]["Url"][0].endswith("/exoml/start_voice/4242")
    assert call["Request"]["CallerId"] == ["08047112345"]  # the connection's default caller ID
    assert airflow_api.xcom(ON_DEMAND, run_id, "place_call", key="call_sid") == call["Sid"]
    final = airflow_api.xcom(ON_DEMAND, run_id, "wait_for_call")
    assert (final["Sid"], final["Status"]) == (call["Sid"], "completed")
    assert final["Price"] is not None


@pytest.mark.skipif(
    not TRIGGER_AVAILABLE, reason="exotel_provider.triggers is not in this build: the sensor cannot defer yet"
)
def test_on_demand_wait_was_deferred_to_the_real_triggerer(on_demand_run, local_airflow: LocalAirflow):
    assert on_demand_run["final_state"] == "success"
    [call] = simulator_calls(local_airflow, "+919812340001")
    task_logs = local_airflow.home / "logs" / f"dag_id={ON_DEMAND}" / f"run_id={on_demand_run['dag_run_id']}"
    task_logs = task_logs / "task_id=wait_for_call"
    assert "Pausing task as DEFERRED" in (task_logs / "attempt=1.log").read_text()
    # The triggerer writes what a trigger logs next to the task's log: it ran there, and fired.
    [trigger_log] = task_logs.glob("attempt=1.log.trigger.*.log")
    assert "Trigger fired event" in trigger_log.read_text()
    assert call["Sid"] in trigger_log.read_text()


def test_bad_conf_is_refused_by_the_rest_api_and_nobody_is_called(
    airflow_api: AirflowApi, local_airflow: LocalAirflow
):
    airflow_api.unpause(ON_DEMAND)
    answer = airflow_api.trigger(ON_DEMAND, {"phone": "98123"})
    assert answer.status_code == 400
    assert "phone" in answer.text
    assert simulator_calls(local_airflow, "+919812300000") == []
    assert not [c for c in simulator_calls(local_airflow) if c["From"].endswith("98123")]


UNANSWERED = ("09876500102", "09876500103")  # scripted busy and no-answer (tests/e2e/conftest.py)


def test_the_scheduler_runs_the_reminders_of_its_day_and_a_second_run_calls_nobody(
    airflow_api: AirflowApi, local_airflow: LocalAirflow
):
    before = len(simulator_calls(local_airflow))
    sms_before = len(simulator_sms(local_airflow))
    airflow_api.unpause(REMINDERS)  # catchup=False: the scheduler makes the run of the latest 10:00
    run = scheduled_run(airflow_api, REMINDERS)
    run_id, day = run["dag_run_id"], india_day(run["logical_date"])

    assert airflow_api.wait_for_run(REMINDERS, run_id, timeout=600) == "success"
    assert not run.get("conf")  # the scheduler's runs carry no conf
    assert set(airflow_api.task_states(REMINDERS, run_id).values()) == {"success"}
    summary = airflow_api.xcom(REMINDERS, run_id, "report")
    assert {k: summary[k] for k in ("day", "entries", "calls", "redialled", "answered", "not_answered")} == {
        "day": day, "entries": 5, "calls": 7, "redialled": 2, "answered": 3, "not_answered": 2,
    }  # fmt: skip
    assert len(simulator_calls(local_airflow)) - before == 7  # busy and no-answer numbers redialled once
    report = Path(summary["report_path"].removeprefix("file://"))
    assert report.is_relative_to(local_airflow.home) and f"Reminder calls, {day}" in report.read_text()
    # One SMS to each reminder unanswered after its redial, none to who answered; both in one bulk request.
    texts = simulator_sms(local_airflow)[sms_before:]
    assert sorted(m["To"] for m in texts) == list(UNANSWERED)
    assert sorted(m["Body"].split("(ref ")[1][:6] for m in texts) == ["R-1002", "R-1003"]
    assert all(m["Request"]["DltTemplateId"] == ["1107161234567890123"] for m in texts)
    assert all("Messages[0][To]" in m["Request"] for m in texts)  # sent by Sms/bulksend
    assert summary["sms_sent"] == 2

    answer = airflow_api.trigger(REMINDERS, {"due_date": day})
    assert answer.status_code == 200, answer.text
    again = answer.json()["dag_run_id"]
    assert airflow_api.wait_for_run(REMINDERS, again, timeout=300) == "success"
    assert airflow_api.xcom(REMINDERS, again, "call") == []
    assert len(simulator_calls(local_airflow)) - before == 7  # nobody called a second time
    assert len(simulator_sms(local_airflow)) - sms_before == 2  # nor texted
    assert airflow_api.xcom(REMINDERS, again, "report")["sms_sent"] == 2


def scheduled_run(api: AirflowApi, dag_id: str, timeout: float = 180) -> dict[str, Any]:
    """The first run the scheduler made (run_type ``scheduled``), once it exists."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = api.request("GET", f"/dags/{dag_id}/dagRuns", params={"run_type": "scheduled"}).json()
        scheduled = [r for r in runs.get("dag_runs", []) if r["run_type"] == "scheduled"]
        if scheduled:
            return dict(scheduled[0])
        time.sleep(2)
    raise TimeoutError(f"the scheduler made no run of {dag_id} in {timeout:.0f} s")


def india_day(iso: str) -> str:
    moment = datetime.datetime.fromisoformat(iso.replace("Z", "+00:00"))
    return moment.astimezone(ZoneInfo("Asia/Kolkata")).date().isoformat()
