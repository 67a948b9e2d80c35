"""``python -m exotel_provider.simulator`` prints its connection as JSON and as a URI; both reach it."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
import threading
from pathlib import Path

from exotel_provider.client.settings import ExotelSettings

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def printed_connections(port: int) -> list[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "exotel_provider.simulator", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    stopper = threading.Timer(30, process.terminate)  # a missing line ends the read, not the test run
    stopper.start()
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
    finally:
        stopper.cancel()
        process.terminate()
        process.wait(timeout=30)
    exports = [line for line in lines if line.startswith("export AIRFLOW_CONN_EXOTEL_DEFAULT=")]
    return [shlex.split(line.removeprefix("export AIRFLOW_CONN_EXOTEL_DEFAULT="))[0] for line in exports]


def test_cli_prints_json_and_uri_forms_that_point_at_it():
    from airflow.models.connection import Connection

    port = free_port()
    json_form, uri_form = printed_connections(port)

    for connection in (Connection.from_json(json_form, conn_id="exotel_default"), Connection(uri=uri_form)):
        settings = ExotelSettings.from_connection(
            login=connection.login,
            password=connection.password,
            host=connection.host,
            port=connection.port,
            extra=connection.extra_dejson,
        )
        assert settings.base_url == f"http://127.0.0.1:{port}"
        assert (settings.account_sid, settings.api_key, settings.api_token) == (
            "exotel_sim",
            "sim-key",
            "sim-token",
        )
