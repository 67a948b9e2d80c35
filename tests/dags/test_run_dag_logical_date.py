"""``run_dag --logical-date``: a day run as the scheduler runs it (that logical date, no conf)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from exotel_provider.simulator.run_dag import build_parser, logical_date

ROOT = Path(__file__).resolve().parents[2]
PROBE_DAG = """
import pendulum
from airflow.sdk import DAG, task

with DAG(
    "logical_date_probe",
    schedule="0 10 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Kolkata"),
    catchup=False,
):

    @task
    def what_the_run_sees(**context):
        run = context["dag_run"]
        return {"logical_date": run.logical_date.isoformat(), "conf": run.conf or {}}

    what_the_run_sees()
"""


def test_a_day_runs_with_that_logical_date_and_no_conf(tmp_path):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "probe.py").write_text(textwrap.dedent(PROBE_DAG))
    command = [sys.executable, "-m", "exotel_provider.simulator.run_dag", "logical_date_probe"]
    done = subprocess.run(
        [*command, "--dags-folder", str(dags), "--logical-date", "2026-08-03T10:00:00+05:30"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=300,
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "running logical_date_probe for logical date 2026-08-03T10:00:00+05:30" in done.stdout
    returned = re.search(r"^what_the_run_sees returned (.+)$", done.stdout, re.M)
    assert returned, done.stdout
    assert json.loads(returned.group(1)) == {"logical_date": "2026-08-03T04:30:00+00:00", "conf": {}}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-08-03", "2026-08-03T00:00:00+00:00"),
        ("2026-08-03T10:00:00+05:30", "2026-08-03T10:00:00+05:30"),
        ("2026-08-03T04:30", "2026-08-03T04:30:00+00:00"),
    ],
)
def test_the_logical_date_is_an_iso_date_or_datetime(text, expected):
    args = build_parser().parse_args(["some_dag", "--logical-date", text])
    assert logical_date(args.logical_date).isoformat() == expected


def test_a_logical_date_that_is_not_iso_is_refused_before_anything_runs(capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["some_dag", "--logical-date", "03/08/2026"])
    assert exited.value.code == 2
    assert "'03/08/2026' is not an ISO date or datetime: give e.g. 2026-08-03" in capsys.readouterr().err
