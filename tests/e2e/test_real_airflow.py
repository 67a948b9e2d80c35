"""The example DAGs on a real Airflow: triggered through the REST API, run by the scheduler, the
LocalExecutor's workers and the triggerer, calling the Exotel simulator over HTTP."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from tests.support.real_airflow import AirflowApi, simulator_calls
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


def test_scheduled_reminders_run_once_and_summarise(airflow_api: AirflowApi, local_airflow: LocalAirflow):
    airflow_api.unpause(REMINDERS)
    answer = airflow_api.trigger(REMINDERS, {"due_date": "2026-08-03", "redial_after_minutes": 0})
    assert answer.status_code == 200, answer.text
    run_id = answer.json()["dag_run_id"]

    assert airflow_api.wait_for_run(REMINDERS, run_id, timeout=300) == "success"

    states = airflow_api.task_states(REMINDERS, run_id)
    assert set(states.values()) == {"success"}, states
    summary = airflow_api.xcom(REMINDERS, run_id, "summarise")
    assert {
        k: summary[k] for k in ("entries", "calls", "redialled", "answered", "not_answered", "failed")
    } == {
        "entries": 5,
        "calls": 7,
        "redialled": 2,
        "answered": 3,
        "not_answered": 2,
        "failed": 0,
    }
    assert summary["total_cost"] == pytest.approx(3 * 0.5)
    for number, expected in (("+919876500101", 1), ("+919876500102", 2), ("+919876500103", 2)):
        assert len(simulator_calls(local_airflow, number)) == expected, number
    report = Path(summary["report_path"])
    assert report.is_relative_to(local_airflow.home) and "Reminder calls, 2026-08-03" in report.read_text()
