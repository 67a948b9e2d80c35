"""ExotelCallNotifier in a real Airflow: task callbacks in separate LocalExecutor worker processes (claims
through the execution API) and the DAG callback in the dag-processor give one call per failed run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.real_airflow import AirflowApi, simulator_calls
from tools.local_airflow import LocalAirflow

pytestmark = pytest.mark.e2e
DAG_ID = "exotel_page_once"
ON_CALL = "+919876500999"


@pytest.fixture(scope="module")
def paging_airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAirflow]:
    airflow = LocalAirflow(
        home=tmp_path_factory.mktemp("airflow-paging"),
        dags_folder=Path(__file__).parent / "notifier_dags",
        time_scale=120,
    )
    airflow.start()
    try:
        yield airflow
    finally:
        for text in airflow.tail_logs(lines=30):
            print(text)
        airflow.stop()


def test_two_failed_runs_of_five_racing_failures_each_give_two_calls(paging_airflow: LocalAirflow):
    api = AirflowApi(paging_airflow)
    api.unpause(DAG_ID)
    run_ids = [api.trigger(DAG_ID, {}).json()["dag_run_id"] for _ in range(2)]

    for run_id in run_ids:
        assert api.wait_for_run(DAG_ID, run_id, timeout=300) == "failed"
        states = api.task_states(DAG_ID, run_id)
        assert sorted(states.values()) == ["failed"] * 5, states
    time.sleep(20)  # the dag-processor runs the DAG callbacks after the runs end; let them try

    calls = simulator_calls(paging_airflow, ON_CALL)
    assert len(calls) == 2, calls
