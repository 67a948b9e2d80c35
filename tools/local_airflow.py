"""A full local Airflow wired to the Exotel simulator: ``python -m tools.local_airflow``.

Starts, each as its own process group with its own log file under ``<home>/logs/processes``:
the Exotel simulator, then ``airflow api-server``, ``scheduler``, ``dag-processor`` and
``triggerer`` with the LocalExecutor and a SQLite metadata DB in ``<home>``. The ``exotel_default``
connection points at the simulator; the example DAGs are loaded; the simple auth manager has one
admin user whose password is written to ``<home>/simple_auth_manager_passwords.json``.

The end-to-end tests drive the same class (:class:`LocalAirflow`) on free ports.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from exotel_provider.simulator.state import DEFAULT_ACCOUNT_SID, DEFAULT_API_KEY, DEFAULT_API_TOKEN
from tools import reminders_db

AIRFLOW_COMPONENTS = ("api-server", "scheduler", "dag-processor", "triggerer")
DEFAULT_CALLER_ID = "08047112345"
USERNAME = "admin"


def free_port() -> int:
    """A port nobody listens on right now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalAirflow:
    """The simulator plus the four Airflow components, started and stopped together."""

    home: Path
    dags_folder: Path
    api_port: int = 0
    simulator_port: int = 0
    time_scale: float = 60.0
    poll_seconds: float = 2.0
    scripts: Sequence[str] = ()
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    startup_timeout: float = 240.0
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False)
    _log_files: list[IO[bytes]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self.home = Path(self.home).resolve()
        self.dags_folder = Path(self.dags_folder).resolve()
        self.api_port = self.api_port or free_port()
        self.simulator_port = self.simulator_port or free_port()

    # --- where things are -------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.simulator_port}"

    @property
    def passwords_file(self) -> Path:
        return self.home / "simple_auth_manager_passwords.json"

    @property
    def process_logs(self) -> Path:
        return self.home / "logs" / "processes"

    @property
    def reminders_database(self) -> Path:
        """The example reminders DAG's SQLite database (``exotel_reminders_db``), seeded at start."""
        return self.home / "reminders.db"

    def log_of(self, name: str) -> Path:
        return self.process_logs / f"{name}.log"

    def connection(self) -> dict[str, Any]:
        return {
            "conn_type": "exotel",
            "login": DEFAULT_API_KEY,
            "password": DEFAULT_API_TOKEN,
            "host": self.simulator_url,
            "extra": {"account_sid": DEFAULT_ACCOUNT_SID, "caller_id": DEFAULT_CALLER_ID},
        }

    def environment(self) -> dict[str, str]:
        """What every process gets: Airflow's settings as environment variables."""
        env = dict(os.environ)
        env.update(
            {
                "AIRFLOW_HOME": str(self.home),
                "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
                "AIRFLOW__CORE__PARALLELISM": "8",
                "AIRFLOW__CORE__AUTH_MANAGER": (
                    "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
                ),
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USERNAME}:admin",
                "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(self.passwords_file),
                "AIRFLOW__API__HOST": "127.0.0.1",
                "AIRFLOW__API__PORT": str(self.api_port),
                "AIRFLOW__API__BASE_URL": self.url,
                "AIRFLOW__API__WORKERS": "1",
                "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
                "AIRFLOW__API_AUTH__JWT_SECRET": self._jwt_secret(),
                "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "10",
                "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "600",
                "AIRFLOW_CONN_EXOTEL_DEFAULT": json.dumps(self.connection()),
                "AIRFLOW_CONN_EXOTEL_REMINDERS_DB": reminders_db.connection_json(self.reminders_database),
                "EXOTEL_POLL_SECONDS": str(self.poll_seconds),
                "EXOTEL_REDIAL_AFTER_MINUTES": "0.1",  # the reminders' redial, in a few seconds
                "EXOTEL_REPORTS_DIR": str(self.home / "exotel_reports"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def _jwt_secret(self) -> str:
        path = self.home / "jwt_secret"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(32))
        return path.read_text().strip()

    # --- lifecycle --------------------------------------------------------------------------------

    def start(self) -> LocalAirflow:
        """Migrate the DB, start everything, return once the API, the simulator and all
        components report healthy. Stops what it started if anything fails to come up."""
        self.home.mkdir(parents=True, exist_ok=True)
        self.process_logs.mkdir(parents=True, exist_ok=True)
        self.passwords_file.write_text(json.dumps({USERNAME: self.password}))
        reminders_db.seed_demo(self.reminders_database)
        try:
            self._spawn("simulator", self._simulator_command())
            self._run_once("db-migrate", [sys.executable, "-m", "airflow", "db", "migrate"])
            for component in AIRFLOW_COMPONENTS:
                self._spawn(component, [sys.executable, "-m", "airflow", component])
            self.wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    def _simulator_command(self) -> list[str]:
        command = [
            sys.executable,
            "-m",
            "exotel_provider.simulator",
            "--port",
            str(self.simulator_port),
            "--time-scale",
            str(self.time_scale),
        ]
        for script in self.scripts:
            command += ["--script", script]
        return command

    def _spawn(self, name: str, command: list[str]) -> None:
        log = self.log_of(name).open("ab")
        self._log_files.append(log)
        self.processes[name] = subprocess.Popen(
            command,
            env=self.environment(),
            cwd=self.home,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: stop() ends its children too
        )

    def _run_once(self, name: str, command: list[str]) -> None:
        with self.log_of(name).open("ab") as log:
            done = subprocess.run(
                command,
                env=self.environment(),
                cwd=self.home,
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command[2:])} failed; see {self.log_of(name)}")

    def wait_until_healthy(self) -> None:
        """Poll the simulator's and the API server's health endpoints until all is up."""
        deadline = time.monotonic() + self.startup_timeout
        waiting_for = "the simulator"
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited with {process.returncode}; see {self.log_of(name)}")
            with contextlib.suppress(requests.RequestException, ValueError):
                requests.get(f"{self.simulator_url}/_simulator/health", timeout=5).raise_for_status()
                waiting_for = "the API server"
                health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
                unhealthy = [part for part, state in health.items() if state.get("status") != "healthy"]
                if not unhealthy:
                    return
                waiting_for = ", ".join(unhealthy)
            time.sleep(1)
        raise TimeoutError(f"still waiting for {waiting_for} after {self.startup_timeout:.0f} s")

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM each process group, then SIGKILL what is left."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # also children that outlived their parent
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        self.processes.clear()
        for log in self._log_files:
            log.close()
        self._log_files.clear()

    def __enter__(self) -> LocalAirflow:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- talking to it ----------------------------------------------------------------------------

    def token(self) -> str:
        """A JWT for the REST API, from the simple auth manager's token endpoint."""
        answer = requests.post(
            f"{self.url}/auth/token", json={"username": USERNAME, "password": self.password}, timeout=30
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def tail_logs(self, lines: int = 60) -> Iterator[str]:
        """The end of every process log, for a test that failed."""
        for path in sorted(self.process_logs.glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            yield f"===== {path.name} (last {len(text)} lines) =====\n" + "\n".join(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.local_airflow", description=__doc__
    )
    parser.add_argument("--home", default=".airflow-local", help="AIRFLOW_HOME for this Airflow")
    parser.add_argument("--dags-folder", default="dags")
    parser.add_argument("--port", type=int, default=8080, help="the Airflow UI and API")
    parser.add_argument("--simulator-port", type=int, default=8765)
    parser.add_argument("--time-scale", type=float, default=60.0, help="simulated seconds per real second")
    parser.add_argument("--poll-seconds", type=float, default=2.0, help="how often DAGs check a call")
    parser.add_argument("--script", action="append", default=[], metavar="NUMBER=OUTCOME")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # `kill` stops the components too, like Ctrl-C
    home = Path(args.home).resolve()
    home.mkdir(parents=True, exist_ok=True)
    password_file = home / "simple_auth_manager_passwords.json"
    password = json.loads(password_file.read_text()).get(USERNAME) if password_file.exists() else None
    airflow = LocalAirflow(
        home=home,
        dags_folder=Path(args.dags_folder),
        api_port=args.port,
        simulator_port=args.simulator_port,
        time_scale=args.time_scale,
        poll_seconds=args.poll_seconds,
        scripts=args.script,
        **({"password": password} if password else {}),
    )
    print(
        f"Starting the Exotel simulator and Airflow in {home} (logs: {airflow.process_logs}) ...", flush=True
    )
    try:
        airflow.start()
    except (RuntimeError, TimeoutError) as err:
        print(f"Could not start: {err}", file=sys.stderr)
        for text in airflow.tail_logs(30):
            print(text, file=sys.stderr)
        return 1
    _unpause(airflow, "exotel_call_on_demand")
    print(
        f"""
Airflow is up:   {airflow.url}
Log in as:       {USERNAME} / {airflow.password}   (stored in {airflow.passwords_file})
Exotel simulator {airflow.simulator_url}  (calls it received: {airflow.simulator_url}/_simulator/calls)
Try it:          open DAG exotel_call_on_demand, click Trigger, enter +919876543210, Trigger.
Ctrl-C stops everything.""",
        flush=True,
    )
    try:
        while all(process.poll() is None for process in airflow.processes.values()):
            time.sleep(1)
        print("A component exited; stopping.", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        airflow.stop()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _unpause(airflow: LocalAirflow, dag_id: str, timeout: float = 120.0) -> None:
    """Unpause a DAG once the dag-processor has registered it (new DAGs start paused)."""
    headers = {"Authorization": f"Bearer {airflow.token()}"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = requests.patch(
            f"{airflow.url}/api/v2/dags/{dag_id}", json={"is_paused": False}, headers=headers, timeout=30
        )
        if answer.ok:
            return
        time.sleep(2)
    print(f"Note: {dag_id} is still paused; unpause it in the UI.", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
