"""``python -m exotel_provider.simulator`` serves in the foreground."""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.integration  # a simulator in a subprocess


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_module_runs_a_server_and_prints_the_connection() -> None:
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [sys.executable, "-m", "exotel_provider.simulator", "--port", str(port), "--time-scale", "0"]
    command += ["--script", "+919876543210=busy"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if requests.get(f"{base_url}/_simulator/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the simulator did not start"
            time.sleep(0.05)
        scripts = requests.get(f"{base_url}/_simulator/scripts", timeout=5).json()
        answer = requests.post(
            f"{base_url}/v1/Accounts/exotel_sim/Calls/connect.json",
            auth=("sim-key", "sim-token"),
            data={"From": "+919876543210", "To": "+919812345678", "CallerId": "08030752400"},
            timeout=5,
        )
    finally:
        process.terminate()
        stdout, _ = process.communicate(timeout=10)

    assert scripts["numbers"]["09876543210"]["outcome"] == "busy"
    assert answer.status_code == 200
    assert base_url in stdout
    export = next(
        line for line in stdout.splitlines() if line.startswith("export AIRFLOW_CONN_EXOTEL_DEFAULT=")
    )
    connection = json.loads(shlex.split(export.partition("=")[2])[0])
    assert connection["host"] == base_url
    assert (connection["login"], connection["password"]) == ("sim-key", "sim-token")
