"""Helpers for the notifier tests: DAGs with failing tasks, the page claims in the metadata DB, and a
callback run in a process of its own."""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import Any

ON_CALL = "+919876500999"
BACKUP = "+919876500998"
MANAGER = "+919876500997"


def clear_page_claims() -> None:
    """Forget every page claim (the test DB outlives a test; cooldown keys are per DAG)."""
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    from exotel_provider.paging.incidents import KEY_PREFIX

    with create_session() as session:
        session.query(Variable).filter(Variable.key.startswith(f"{KEY_PREFIX}.")).delete(
            synchronize_session=False
        )


def page_claim_count() -> int:
    from airflow.models.variable import Variable
    from airflow.utils.session import create_session

    from exotel_provider.paging.incidents import KEY_PREFIX

    with create_session() as session:
        return session.query(Variable).filter(Variable.key.startswith(f"{KEY_PREFIX}.")).count()


def dag_with_failing_tasks(dag_id: str, notifier: Any, *, mapped: bool = False) -> Any:
    """Three failing tasks (or one task mapped over three failing indexes), the DAG's callback too."""
    from airflow.sdk import DAG, task

    with DAG(
        dag_id, schedule=None, start_date=datetime.datetime(2026, 1, 1), on_failure_callback=notifier
    ) as dag:
        if mapped:

            @task(on_failure_callback=notifier)
            def load(shard: int) -> None:
                raise ValueError(f"shard {shard} refused")

            load.expand(shard=[1, 2, 3])
        else:
            for name in ("extract", "transform", "load"):

                @task(task_id=name, on_failure_callback=notifier)
                def broken() -> None:
                    raise RuntimeError("boom")

                broken()
    return dag


def task_context(dag_id: str, run_id: str, task_id: str) -> dict[str, Any]:
    """The parts of a task callback's context the notifier reads (picklable, for other processes)."""
    return {
        "dag_run": SimpleNamespace(dag_id=dag_id, run_id=run_id),
        "ti": SimpleNamespace(task_id=task_id),
    }


def notify_in_this_process(notifier_kwargs: dict[str, Any], context: dict[str, Any]) -> None:
    """A worker's task callback: a fresh notifier in a fresh process (multiprocessing target)."""
    from exotel_provider.notifications.exotel import ExotelCallNotifier

    ExotelCallNotifier(**notifier_kwargs)(context)


def claim_in_this_process(dag_id: str, run_id: str, settle_seconds: float) -> bool:
    """A claim through Airflow Variables with no machine lock: as if each process ran on its own machine."""
    from exotel_provider.notifications.claim_store import AirflowVariableClaimStore
    from exotel_provider.paging.incidents import Incident, claim_page

    page = claim_page(
        AirflowVariableClaimStore(),
        Incident(dag_id, run_id),
        per="run",
        min_interval=None,
        settle_seconds=settle_seconds,
    )
    return page.won
