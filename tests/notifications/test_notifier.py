"""ExotelCallNotifier: a failing task phones the on-call number, exactly once."""

from __future__ import annotations

import datetime

import pytest

from exotel_provider.notifications.exotel import ExotelCallNotifier, failure_description
from exotel_provider.provider_info import get_provider_info
from tests.support.airflow_runs import run_dag, task_states

pytestmark = pytest.mark.exotel_simulator(time_scale=120)

ON_CALL = "+919876500999"


def _dag_with_a_failing_task(dag_id: str, notifier: ExotelCallNotifier):
    from airflow.sdk import DAG, task

    with DAG(dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1)) as dag:

        @task
        def extract() -> int:
            return 3

        @task(on_failure_callback=notifier)
        def load(rows: int) -> None:
            raise ValueError(f"warehouse refused {rows} rows")

        @task(on_failure_callback=notifier)
        def never_runs() -> None:  # upstream failed: its callback must not call too
            pass

        load(extract()) >> never_runs()
    return dag


def test_a_failing_task_phones_the_on_call_number_once(exotel_connection_env):
    simulator = exotel_connection_env
    notifier = ExotelCallNotifier(to_number=ON_CALL, app_id="940", caller_id="08047112345")

    dag_run = run_dag(_dag_with_a_failing_task("test_notifier_task_failure", notifier))

    states = task_states(dag_run)
    assert states[("load", -1)] == "failed"
    assert states[("never_runs", -1)] == "upstream_failed"
    [call] = simulator.placed_calls()
    assert call.from_number == "09876500999"
    assert call.request.url.endswith("/exoml/start_voice/940")
    assert call.request.custom_field == "test_notifier_task_failure/load failed"
    assert [r.is_connect for r in simulator.requests] == [True]  # placed, not waited for


def test_notifier_fields_are_templated(exotel_connection_env):
    notifier = ExotelCallNotifier(
        to_number="{{ params.on_call }}",
        app_id="940",
        caller_id="08047112345",
        custom_field="{{ dag.dag_id }} needs you",
    )
    from airflow.sdk import DAG, task

    with DAG(
        "test_notifier_templates",
        schedule=None,
        start_date=datetime.datetime(2026, 1, 1),
        params={"on_call": "09876500998"},
    ) as dag:

        @task(on_failure_callback=notifier)
        def broken() -> None:
            raise RuntimeError("boom")

        broken()

    run_dag(dag)

    [call] = exotel_connection_env.placed_calls("09876500998")
    assert call.request.custom_field == "test_notifier_templates needs you"


def test_failure_description_names_the_dag_and_the_task_within_exotels_limit():
    class Named:
        def __init__(self, **fields):
            self.__dict__.update(fields)

    assert failure_description({"dag": Named(dag_id="d"), "ti": Named(task_id="t")}) == "d/t failed"
    assert failure_description({"dag_run": Named(dag_id="d")}) == "d failed"
    dag_callback = {"dag": Named(dag_id="d"), "ti": Named(task_id="any"), "reason": "task_failure"}
    assert failure_description(dag_callback) == "d failed"
    assert len(failure_description({"dag": Named(dag_id="x" * 300)})) == 128


def test_the_notifier_is_registered_with_airflow():
    assert "exotel_provider.notifications.exotel.ExotelCallNotifier" in get_provider_info()["notifications"]
