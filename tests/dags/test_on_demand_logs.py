"""exotel_call_on_demand through run_dag: a clean Airflow log (no ``XCom not found`` error lines)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tools import reminders_db

ROOT = Path(__file__).resolve().parents[2]


def test_on_demand_call_run_logs_no_errors(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EXOTEL_POLL_SECONDS": "2",
           "AIRFLOW_CONN_EXOTEL_REMINDERS_DB": reminders_db.connection_json(tmp_path / "reminders.db")}  # fmt: skip
    conf = '{"phone": "+919876543210", "caller_id": "08047112345", "wait_for_outcome": true}'
    done = subprocess.run(
        [sys.executable, "-m", "exotel_provider.simulator.run_dag", "exotel_call_on_demand", "--conf", conf],
        cwd=ROOT,
        env={**env, "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags")},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    log = Path(re.search(r"^Airflow's logs: (.+)$", done.stdout, re.M).group(1)).read_text()
    assert "Exotel: call" in log and "ended completed" in log
    assert "XCom not found" not in log
    assert "[error" not in log
    assert re.search(r"call \w{8}  0XXXXXX3210  priced 0.5", done.stdout)
