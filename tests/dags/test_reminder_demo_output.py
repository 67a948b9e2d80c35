"""``make demo``'s command from a fresh AIRFLOW_HOME: quiet output, per-call progress, no XCom errors."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEMO = [
    sys.executable,
    "-m",
    "exotel_provider.simulator.run_dag",
    "exotel_reminder_demo",
    "--script",
    "+919876500002=busy",
    "--script",
    "+919876500003=no-answer",
]


def test_demo_from_a_fresh_home_prints_progress_and_table_and_logs_to_a_file(tmp_path):
    home = tmp_path / "airflow-home"
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(DEMO, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len(lines) < 40, done.stdout
    assert any(line.startswith("Created the Airflow metadata DB") for line in lines)
    log_file = Path(re.search(r"^Airflow's logs: (.+)$", done.stdout, re.M).group(1))
    assert log_file.is_file() and log_file.is_relative_to(home)
    airflow_log = log_file.read_text()
    assert "Task instance state updated" in airflow_log  # Airflow's logs went to the file
    assert "XCom not found" not in airflow_log
    assert "[error" not in airflow_log
    for stage in ("placed", "ended", "priced"):
        assert (
            len([line for line in lines if re.search(rf"  call \w{{8}}  0X+\d{{4}}  {stage}\b", line)]) == 4
        )
    assert re.search(r"0XXXXXX0002\s+busy", done.stdout) and re.search(
        r"0XXXXXX0003\s+no-answer", done.stdout
    )
    summary = json.loads(re.search(r"^summarise returned (.+)$", done.stdout, re.M).group(1))
    assert summary["outcomes"] == {
        "C-1001": "completed",
        "C-1002": "busy",
        "C-1003": "no-answer",
        "C-1004": "completed",
    }
    assert lines[-1].endswith(": success")
