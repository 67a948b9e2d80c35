"""Helpers for tests that run DAGs for real with ``dag.test()`` on the SQLite metadata DB."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from exotel_provider.simulator.dag_test_speed import share_in_process_execution_api

_migrated = False


def ensure_metadata_db() -> None:
    """Create/upgrade the metadata DB under $AIRFLOW_HOME once per test session."""
    global _migrated
    if not _migrated:
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)
        _migrated = True


def load_dag(dag_id: str) -> Any:
    """A DAG from the dags folder (``AIRFLOW__CORE__DAGS_FOLDER``), parsed like the dag-processor does."""
    ensure_metadata_db()
    bag = dag_bag()
    assert not bag.import_errors, bag.import_errors
    return bag.get_dag(dag_id)


def dag_bag(folder: str | None = None) -> Any:
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    return DagBag(dag_folder=folder) if folder else DagBag()


def run_dag(dag: Any, **kwargs: Any) -> Any:
    """``dag.test()`` for a DAG defined in a test: registers it in the metadata DB first (Airflow 3.3
    runs only serialized DAGs)."""
    ensure_metadata_db()
    register_dag(dag)
    share_in_process_execution_api()
    return dag.test(**kwargs)


def register_dag(dag: Any) -> None:
    from airflow.dag_processing.bundles.manager import DagBundlesManager

    try:
        from airflow.dag_processing.dagbag import DagBag, sync_bag_to_db
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag, sync_bag_to_db  # type: ignore[no-redef]
    DagBundlesManager().sync_bundles_to_db()
    bag = DagBag(collect_dags=False)
    bag.bag_dag(dag)
    sync_bag_to_db(bag, "dags-folder", None)


def xcom_values(dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> dict[int, Any]:
    """XCom values of one task in one run, by map index (-1 for unmapped tasks)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(run_id=run_id, dag_ids=dag_id, task_ids=task_id, key=key)
        ).all()
        return {row.map_index: XComModel.deserialize_value(row) for row in rows}


def task_states(dag_run: Any) -> dict[tuple[str, int], str]:
    """Final state of every task instance of a run: assert on these, not only on the run state."""
    from airflow.utils.session import create_session

    with create_session() as session:
        from airflow.models.taskinstance import TaskInstance

        rows = session.query(TaskInstance).filter(
            TaskInstance.dag_id == dag_run.dag_id, TaskInstance.run_id == dag_run.run_id
        )
        return {(ti.task_id, ti.map_index): str(ti.state) for ti in rows}
