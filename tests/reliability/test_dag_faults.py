"""Faults under real Airflow: whole DAG runs with ``dag.test()``, retries done by Airflow itself."""

from __future__ import annotations

import datetime
import uuid

import pytest

from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor
from exotel_provider.simulator import CALL_PATH, CONNECT_PATH
from tests.support.airflow_runs import run_dag, task_states, xcom_values
from tests.support.operator_runs import CUSTOMER, EXOPHONE
from tests.support.simulated_tasks import (
    COUNTS,
    connection_env,
    die_once_before_the_sid_is_saved,
    guard_on_simulator_clock,
)

pytestmark = [pytest.mark.exotel_simulator(time_scale=600), pytest.mark.usefixtures("fast_retries")]


def place_and_wait_dag(dag_id: str):
    from airflow.sdk import DAG

    with DAG(dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
        place = ExotelConnectOperator(
            task_id="place_call",
            from_number=CUSTOMER,
            app_id=926,
            caller_id=EXOPHONE,
            retries=2,
            retry_delay=datetime.timedelta(seconds=0),
            poll_interval=0.05,
            reconcile_timeout=2400,  # simulated seconds: the guard runs on the simulator's clock
            time_limit=60,
            time_out=30,
        )
        wait = ExotelCallSensor(
            task_id="wait_for_call",
            call_sid="{{ ti.xcom_pull(task_ids='place_call', key='call_sid') }}",
            poke_interval=0.1,
            retries=2,
            retry_delay=datetime.timedelta(seconds=0),
        )
        place >> wait
    return dag


def assert_called_once_and_reported(simulator, dag, dag_run) -> None:
    placed = simulator.placed_calls(CUSTOMER)
    COUNTS["scenarios run"] += 1
    COUNTS["faults injected"] += len(simulator.injected_faults)
    COUNTS["duplicate calls observed"] += max(0, len(placed) - 1)
    assert len(placed) == 1, [r.to_dict() for r in simulator.requests]
    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    assert xcom_values(dag.dag_id, dag_run.run_id, "place_call", key="call_sid")[-1] == placed[0].sid
    final = xcom_values(dag.dag_id, dag_run.run_id, "wait_for_call")[-1]
    assert final["Sid"] == placed[0].sid and final["Status"] == "completed"


@pytest.fixture
def simulator(exotel_simulator, monkeypatch):
    connection_env(monkeypatch, exotel_simulator, timeout=2.0)
    guard_on_simulator_clock(monkeypatch, exotel_simulator)
    return exotel_simulator


def test_dropped_answer_to_the_post_is_reconciled_in_a_dag_run(simulator):
    simulator.inject_fault("drop", method="POST", path=CONNECT_PATH)
    dag = place_and_wait_dag(f"fault_drop_{uuid.uuid4().hex[:8]}")

    dag_run = run_dag(dag)

    assert_called_once_and_reported(simulator, dag, dag_run)


def test_worker_death_right_after_the_post_is_retried_by_airflow_without_a_second_call(
    simulator, monkeypatch
):
    deaths = die_once_before_the_sid_is_saved(monkeypatch)
    dag = place_and_wait_dag(f"fault_worker_death_{uuid.uuid4().hex[:8]}")

    dag_run = run_dag(dag)

    assert deaths, "the first try should have died"
    assert_called_once_and_reported(simulator, dag, dag_run)


def test_sensor_errors_are_retried_by_airflow_without_a_second_call(simulator):
    simulator.inject_fault("status", status=500, method="GET", path=CALL_PATH, times=6)
    dag = place_and_wait_dag(f"fault_sensor_{uuid.uuid4().hex[:8]}")

    dag_run = run_dag(dag)

    assert_called_once_and_reported(simulator, dag, dag_run)
