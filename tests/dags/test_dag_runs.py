"""Whole DAG runs with ``dag.test()`` against the simulator: the demo DAG and a DAG written in a test."""

from __future__ import annotations

import datetime

import pytest

from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor
from tests.support.airflow_runs import load_dag, run_dag, task_states, xcom_values

pytestmark = pytest.mark.exotel_simulator(time_scale=120)


def test_reminder_demo_places_one_call_per_reminder_and_summarises(exotel_connection_env):
    simulator = exotel_connection_env
    simulator.script("+919876500002", outcome="busy")
    simulator.script("+919876500003", outcome="no-answer")
    dag = load_dag("exotel_reminder_demo")

    dag_run = run_dag(dag)

    states = task_states(dag_run)
    assert set(states.values()) == {"success"}, states
    for number in ("+919876500001", "+919876500002", "+919876500003", "+919876500004"):
        assert len(simulator.placed_calls(number)) == 1
    sids = xcom_values(dag.dag_id, dag_run.run_id, "place_call")
    assert sorted(sids) == [0, 1, 2, 3]
    assert set(sids.values()) == {call.sid for call in simulator.placed_calls()}
    finals = xcom_values(dag.dag_id, dag_run.run_id, "wait_for_call")
    assert {details["Status"] for details in finals.values()} == {"completed", "busy", "no-answer"}
    assert all(details["Price"] is not None for details in finals.values())
    summary = xcom_values(dag.dag_id, dag_run.run_id, "summarise")[-1]
    assert summary["calls"] == 4
    assert summary["answered"] == 2
    assert summary["total_price"] == pytest.approx(sum(d["Price"] for d in finals.values()))


def test_operator_then_rescheduling_sensor_in_a_dag(exotel_connection_env):
    from airflow.sdk import DAG

    with DAG("test_place_and_wait", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
        place = ExotelConnectOperator(
            task_id="place_call", from_number="09876543210", app_id=926, caller_id="08047112345", retries=2
        )
        wait = ExotelCallSensor(
            task_id="wait_for_call",
            poke_interval=1,
            mode="reschedule",
            call_sid="{{ ti.xcom_pull(task_ids='place_call', key='call_sid') }}",
        )
        place >> wait

    dag_run = run_dag(dag)

    assert set(task_states(dag_run).values()) == {"success"}
    [call] = exotel_connection_env.placed_calls("+919876543210")
    assert xcom_values(dag.dag_id, dag_run.run_id, "place_call", key="call_sid")[-1] == call.sid
    final = xcom_values(dag.dag_id, dag_run.run_id, "wait_for_call")[-1]
    assert final["Sid"] == call.sid
    assert final["Status"] == "completed" and isinstance(final["Price"], float)
