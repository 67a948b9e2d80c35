"""``dag.test()`` on Airflow 3.1 as fast as on later versions.

Airflow 3.1's ``dag.test()`` builds a new in-process Execution API for every task it runs, and each
new one generates its versioned routes again: about 5 s a task on two cores, most of a short DAG
run. Airflow 3.2 and later build it once per process (``functools.lru_cache`` on the same factory);
:func:`share_in_process_execution_api` does the same on 3.1. Nothing else changes: the tasks still
run through the same API, supervisor and metadata database.
"""

from __future__ import annotations

import functools


def share_in_process_execution_api() -> bool:
    """Build ``dag.test()``'s in-process Execution API once per process; True if this changed anything."""
    try:
        from airflow.sdk.execution_time import supervisor
    except ImportError:
        return False
    factory = getattr(supervisor, "in_process_api_server", None)
    if factory is None or hasattr(factory, "cache_info"):
        return False  # Airflow 3.2+: already built once
    supervisor.in_process_api_server = functools.lru_cache(maxsize=1)(factory)
    return True
