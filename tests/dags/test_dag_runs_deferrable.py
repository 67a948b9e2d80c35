"""A DAG whose sensors and waiting operator defer, run with ``dag.test()`` (triggers run inline)."""

from __future__ import annotations

import datetime

import pytest

from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor
from tests.support.airflow_runs import run_dag, task_states, xcom_values

pytestmark = pytest.mark.exotel_simulator(time_scale=120)


def test_deferrable_sensors_and_operator_in_a_dag(exotel_connection_env):
    from airflow.sdk import DAG

    simulator = exotel_connection_env
    simulator.script("+919876500002", outcome="busy")
    with DAG("test_deferrable_waits", schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:
        for index, task_id in ((1, "answered"), (2, "busy")):
            place = ExotelConnectOperator(
                task_id=f"place_{task_id}",
                from_number=f"+91987650000{index}",
                app_id=926,
                caller_id="08047112345",
            )
            wait = ExotelCallSensor(
                task_id=f"wait_{task_id}",
                deferrable=True,
                poke_interval=1,
                call_sid=f"{{{{ ti.xcom_pull(task_ids='place_{task_id}', key='call_sid') }}}}",
            )
            place >> wait
        ExotelConnectOperator(
            task_id="place_and_wait",
            from_number="+919876500003",
            app_id=926,
            caller_id="08047112345",
            wait_for_completion=True,
            deferrable=True,
            poll_interval=1,
        )

    dag_run = run_dag(dag)

    states = task_states(dag_run)
    assert states[("wait_answered", -1)] == "success"
    assert states[("wait_busy", -1)] == "failed"
    assert states[("place_and_wait", -1)] == "success"
    answered = xcom_values(dag.dag_id, dag_run.run_id, "wait_answered")[-1]
    assert answered["Status"] == "completed" and isinstance(answered["Price"], float)
    assert xcom_values(dag.dag_id, dag_run.run_id, "wait_busy", key="call")[-1]["Status"] == "busy"
    final = xcom_values(dag.dag_id, dag_run.run_id, "place_and_wait", key="call")[-1]
    assert final["Status"] == "completed" and final["Price"] is not None
    assert len(simulator.placed_calls()) == 3
    assert not [r for r in simulator.requests if r.method == "GET" and "/Calls/" in r.path]  # listing only
