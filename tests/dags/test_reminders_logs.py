"""Personal data stays out of the task logs: a whole run of exotel_scheduled_reminders, as the
scheduler makes it (no conf), with a redial, logs no customer's full phone number anywhere."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.dags.test_scheduled_reminders_dag import SAMPLE_NUMBERS, reminders, scheduled_run
from tests.support.airflow_runs import task_states

__all__ = ["reminders"]  # the fixture, shared with the reminders DAG's other tests

pytestmark = pytest.mark.exotel_simulator(time_scale=600, rate_limit_per_minute=6000)

FULL_NUMBER = re.compile(r"\+91[\s-]?\d{5}[\s-]?\d{5}(?!\w)|(?<![\w+])0?[6-9]\d{9}(?!\w)")
"""An Indian number in E.164 (spaced or not) or a 10-digit national mobile form (with or without 0),
not part of a longer token (a memory address such as ``0x7f9246048138`` is not a number)."""


def task_logs(run_id: str) -> str:
    """Every task log file of the run under $AIRFLOW_HOME/logs (where there are any)."""
    home = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser()
    files = sorted(home.glob(f"logs/dag_id=exotel_scheduled_reminders/run_id={run_id}/**/*.log"))
    return "\n".join(path.read_text(errors="replace") for path in files)


def test_a_whole_reminders_run_logs_no_full_phone_number(exotel_simulator, reminders, capfd):
    exotel_simulator.script("+919876500102", outcome="busy")  # a redial too: its plan and picks

    _, dag_run = scheduled_run(exotel_simulator)

    assert set(task_states(dag_run).values()) == {"success"}, task_states(dag_run)
    out, err = capfd.readouterr()
    logs = "\n".join((out, err, task_logs(dag_run.run_id)))
    assert "Exotel campaign:" in logs and "Returned value not shown" in logs  # the task logs were read
    assert "Redialling 1 reminders" in logs
    leaked = sorted({logs[max(0, m.start() - 40) : m.end() + 10] for m in FULL_NUMBER.finditer(logs)})
    assert leaked == [], leaked
    assert not [n for n in SAMPLE_NUMBERS if n[3:] in logs]
