"""``dag.test()`` builds its in-process Execution API once per process, on every supported Airflow."""

from __future__ import annotations

from airflow.sdk.execution_time import supervisor

from exotel_provider.simulator.dag_test_speed import share_in_process_execution_api


def test_the_in_process_execution_api_is_built_once_and_the_change_made_once() -> None:
    share_in_process_execution_api()

    assert supervisor.in_process_api_server() is supervisor.in_process_api_server()
    assert share_in_process_execution_api() is False  # already shared: nothing wrapped twice
