"""Five task instances fail at the same moment, each in its own worker process, and the DAG's own
callback runs in the dag-processor: ExotelCallNotifier places one call per failed run."""

from __future__ import annotations

import datetime
import time
from typing import Any

from airflow.sdk import DAG, task

from exotel_provider.notifications.exotel import ExotelCallNotifier

page_on_call = ExotelCallNotifier(to_number="+919876500999", app_id="940", caller_id="08047112345")

with DAG(
    dag_id="exotel_page_once",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    on_failure_callback=page_on_call,
    default_args={"on_failure_callback": page_on_call, "retries": 0},
    doc_md=__doc__,
) as dag:

    @task
    def load_shard(shard: int, dag_run: Any = None) -> None:
        # Fail together: every task instance waits for the same instant, 20 s after the run started.
        time.sleep(max(0.0, dag_run.start_date.timestamp() + 20 - time.time()))
        raise RuntimeError(f"shard {shard}: warehouse refused the load")

    @task
    def publish(dag_run: Any = None) -> None:
        time.sleep(max(0.0, dag_run.start_date.timestamp() + 20 - time.time()))
        raise RuntimeError("publishing failed")

    load_shard.expand(shard=[1, 2, 3, 4])
    publish()
