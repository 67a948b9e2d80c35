"""One real Airflow (api-server, scheduler, dag-processor, triggerer) plus the Exotel simulator, on
free local ports, shared by every end-to-end test of the session."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.real_airflow import AirflowApi
from tools.local_airflow import LocalAirflow

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"

# Scripted outcomes the end-to-end tests rely on (everyone else answers).
SCRIPTS = ("+919876500102=busy", "+919876500103=no-answer")
# The reminders' SMS follow-up, on, with the DLT ids a deployment registers (the simulator checks them).
SMS_FOLLOW_UP = {
    "EXOTEL_SMS_FOLLOW_UP": "true",
    "EXOTEL_SMS_SENDER": "EXOTEL",
    "EXOTEL_SMS_DLT_ENTITY_ID": "1101456789012345678",
    "EXOTEL_SMS_DLT_TEMPLATE_ID": "1107161234567890123",
}


@pytest.fixture(scope="session")
def local_airflow(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LocalAirflow]:
    started = time.monotonic()
    airflow = LocalAirflow(
        home=tmp_path_factory.mktemp("airflow-home"),
        dags_folder=ROOT / "dags",
        time_scale=120,
        poll_seconds=2,
        scripts=SCRIPTS,
        airflow_settings=dict(SMS_FOLLOW_UP),
    )
    try:
        airflow.start()
    except BaseException:
        _keep_logs(airflow)
        raise
    print(f"\nReal Airflow up at {airflow.url} in {time.monotonic() - started:.0f} s")
    failed_before = request.session.testsfailed
    try:
        yield airflow
    finally:
        airflow.stop()
        if request.session.testsfailed > failed_before:
            _keep_logs(airflow)


def _keep_logs(airflow: LocalAirflow) -> None:
    """Print the end of each component's log and keep the logs under artifacts/e2e-logs."""
    for text in airflow.tail_logs():
        print(text)
    target = ARTIFACTS / "e2e-logs"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(airflow.home / "logs", target, dirs_exist_ok=True)
    print(f"Airflow logs kept in {target}")


@pytest.fixture(scope="session")
def airflow_api(local_airflow: LocalAirflow) -> AirflowApi:
    return AirflowApi(local_airflow)
