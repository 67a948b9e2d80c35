"""Test-wide settings: a project-local Airflow home with SQLite, the example DAGs, no Airflow examples.

Set before anything imports Airflow (the simulator's pytest plugin does not import it). Under
pytest-xdist each worker gets its own Airflow home (``.airflow-gw0``, ...: its own SQLite metadata
DB, migrated by the first test that needs it), so workers never share a database file.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_home = os.environ.get("AIRFLOW_HOME") or str(ROOT / ".airflow")
_worker = os.environ.get("PYTEST_XDIST_WORKER")
os.environ["AIRFLOW_HOME"] = f"{_home}-{_worker}" if _worker else _home
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
os.environ.setdefault("EXOTEL_CALLING_HOURS", "00:00-24:00")  # the example DAGs' runs pass at any hour

pytest_plugins = ["tests.support.layers", "tests.support.suite_rules"]
