"""exotel_overdue_invoices as the scheduler runs it: no conf, the run's logical date in India time."""

from __future__ import annotations

import pendulum
import pytest

from tests.support.airflow_runs import load_dag, run_dag, task_states, xcom_values

pytestmark = pytest.mark.exotel_simulator(time_scale=120)


def test_a_scheduled_run_without_conf_calls_the_overdue_customers_of_its_day(
    exotel_connection_env, monkeypatch
):
    monkeypatch.setenv("EXOTEL_POLL_SECONDS", "1")
    dag = load_dag("exotel_overdue_invoices")

    dag_run = run_dag(dag, logical_date=pendulum.datetime(2026, 8, 3, 11, tz="Asia/Kolkata"))

    assert set(task_states(dag_run).values()) == {"success"}
    called = sorted(call.from_number for call in exotel_connection_env.placed_calls())
    assert called == ["09876500201", "09876500203"]  # unpaid and > 7 days overdue on 2026-08-03
    assert xcom_values(dag.dag_id, dag_run.run_id, "record_outcomes")[-1] == {
        "INV-2041": "reached",
        "INV-2043": "reached",
    }
