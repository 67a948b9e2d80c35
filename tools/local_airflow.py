"""A full local Airflow wired to the Exotel simulator: ``python -m tools.local_airflow``.

Starts, each as its own process group with its own log file under ``<home>/logs/processes``:
the Exotel simulator, then ``airflow api-server``, ``scheduler``, ``dag-processor`` and
``triggerer``. By default: the LocalExecutor and a SQLite metadata DB in ``<home>`` (one machine, a
few runs at a time: trying DAGs out). ``--db postgres`` puts the metadata DB in a local PostgreSQL;
``--celery-workers N`` (implies PostgreSQL) adds a Redis broker and N Celery workers, as production
runs it. The ``exotel_default`` connection points at the simulator; the example DAGs are loaded; the
simple auth manager has one admin user whose password is written to
``<home>/simple_auth_manager_passwords.json``. A component that dies is reported; the others go on.

The end-to-end tests drive the same class (:class:`LocalAirflow`) on free ports.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import requests

from exotel_provider.simulator.state import DEFAULT_ACCOUNT_SID, DEFAULT_API_KEY, DEFAULT_API_TOKEN
from tools import process_groups, reminders_db
from tools.local_services import LocalPostgres, LocalRedis, LocalService

DEFAULT_CALLER_ID = "08047112345"
USERNAME = "admin"


def free_port() -> int:
    """A port nobody listens on right now (loopback)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LocalAirflow:
    """The simulator plus the Airflow components (and, for PostgreSQL or Celery, their services),
    started and stopped together."""

    home: Path
    dags_folder: Path
    api_port: int = 0
    simulator_port: int = 0
    time_scale: float = 60.0
    poll_seconds: float = 2.0
    scripts: Sequence[str] = ()
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    startup_timeout: float = 240.0
    database: str = "sqlite"
    """``sqlite`` (a file in ``home``) or ``postgres`` (a local PostgreSQL; needed for Celery)."""
    celery_workers: int = 0
    """0: the LocalExecutor. N: the CeleryExecutor with a Redis broker and N workers."""
    worker_concurrency: int = 4
    triggerers: int = 1
    simulator_options: Sequence[str] = ()
    """More ``python -m exotel_provider.simulator`` options (e.g. ``--rate-limit-headers``)."""
    connection_extra: dict[str, Any] = field(default_factory=dict)
    share_budget_in_redis: bool = False
    """Put the Redis broker's URL in the connection's ``extra.rate_limit_redis_url``."""
    heartbeat_timeout: float | None = None
    """Seconds without a heartbeat before the scheduler fails a task (a killed worker's task)."""
    extra_databases: tuple[str, ...] = ()
    keep_postgres_data: bool = True
    """False: remove PostgreSQL's data folder on :meth:`stop` (throwaway test deployments)."""
    airflow_settings: dict[str, str] = field(default_factory=dict)
    """More ``AIRFLOW__SECTION__KEY`` settings for every component."""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict, init=False)
    commands: dict[str, list[str]] = field(default_factory=dict, init=False)
    postgres: LocalPostgres | None = field(default=None, init=False)
    redis: LocalRedis | None = field(default=None, init=False)
    _log_files: list[IO[bytes]] = field(default_factory=list, init=False)
    _simulated_time: dict[str, float | str] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        self.home = Path(self.home).resolve()
        self.dags_folder = Path(self.dags_folder).resolve()
        self.api_port = self.api_port or free_port()
        self.simulator_port = self.simulator_port or free_port()
        if self.celery_workers:
            self.database = "postgres"
        if self.database not in ("sqlite", "postgres"):
            raise ValueError(f"database must be 'sqlite' or 'postgres', not {self.database!r}")
        if self.database == "postgres":
            self.postgres = LocalPostgres(
                name="postgres",
                log_path=self.log_of("postgres"),
                data_dir=_postgres_data_dir(self.home),
                port=free_port(),
                databases=("airflow", *self.extra_databases),
            )
        if self.celery_workers or self.share_budget_in_redis:
            self.redis = LocalRedis(name="redis", log_path=self.log_of("redis"), port=free_port())

    @property
    def components(self) -> list[str]:
        """The Airflow processes by name (``celery-worker-1``, ``triggerer-2``, ...)."""
        names = ["api-server", "scheduler", "dag-processor"]
        names += [
            f"triggerer-{n}" if self.triggerers > 1 else "triggerer" for n in range(1, self.triggerers + 1)
        ]
        return names + [f"celery-worker-{n}" for n in range(1, self.celery_workers + 1)]

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
        extra: dict[str, Any] = {"account_sid": DEFAULT_ACCOUNT_SID, "caller_id": DEFAULT_CALLER_ID}
        if self.share_budget_in_redis and self.redis is not None:
            extra["rate_limit_redis_url"] = self.redis.url
        return {
            "conn_type": "exotel",
            "login": DEFAULT_API_KEY,
            "password": DEFAULT_API_TOKEN,
            "host": self.simulator_url,
            "extra": {**extra, **self.connection_extra},
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
                # a lost placing answer is settled (adopted, or failed safe) within a real minute
                "EXOTEL_RECONCILE_SECONDS": str(60 * max(self.time_scale, 1.0)),
                "EXOTEL_REDIAL_AFTER_MINUTES": "0.1",  # the reminders' redial, in a few seconds
                # the local Exotel may be tried at any hour (a deployment sets its own window)
                "EXOTEL_CALLING_HOURS": os.environ.get("EXOTEL_CALLING_HOURS", "00:00-24:00"),
                "EXOTEL_RETRY_DELAY_SECONDS": "3",  # the reminders' retry, in a few seconds
                "EXOTEL_REPORTS_DIR": str(self.home / "exotel_reports"),
                "PYTHONUNBUFFERED": "1",
            }
        )
        env.update(self._deployment_environment())
        env.update(self._simulated_time_environment(env.get("PYTHONPATH")))
        env.update(self.airflow_settings)
        return env

    def _simulated_time_environment(self, pythonpath: str | None) -> dict[str, str]:
        """The provider's placement clock on the simulator's time (``tools/simulated_exotel_time``),
        once the simulator has said where its clock is."""
        if not self._simulated_time:
            return {}
        folder = str(Path(__file__).resolve().parent / "simulated_exotel_time")
        return {
            "EXOTEL_SIMULATED_TIME": json.dumps(self._simulated_time),
            "PYTHONPATH": os.pathsep.join([folder, *([pythonpath] if pythonpath else [])]),
        }

    def _deployment_environment(self) -> dict[str, str]:
        """The metadata DB, the executor and its broker, as the chosen deployment needs them."""
        env: dict[str, str] = {}
        if self.postgres is not None:
            env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = self.postgres.url()
            env["AIRFLOW__CORE__PARALLELISM"] = "32"
        if self.celery_workers and self.redis is not None and self.postgres is not None:
            env["AIRFLOW__CORE__EXECUTOR"] = "CeleryExecutor"
            env["AIRFLOW__CELERY__BROKER_URL"] = self.redis.url
            env["AIRFLOW__CELERY__RESULT_BACKEND"] = "db+" + self.postgres.url()
            env["AIRFLOW__CELERY__WORKER_CONCURRENCY"] = str(self.worker_concurrency)
        if self.heartbeat_timeout is not None:
            env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT"] = str(int(self.heartbeat_timeout))
            env["AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL"] = "5"
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
            for service in self.services:
                service.start()
            self._spawn("simulator", self._simulator_command())
            self._read_simulated_time()
            self._run_once("db-migrate", [sys.executable, "-m", "airflow", "db", "migrate"])
            for component in self.components:
                self._spawn(component, self._component_command(component))
            self.wait_until_healthy()
        except BaseException:
            self.stop()
            raise
        return self

    @property
    def services(self) -> list[LocalService]:
        return [service for service in (self.postgres, self.redis) if service is not None]

    def _component_command(self, name: str) -> list[str]:
        airflow = [sys.executable, "-m", "airflow"]
        if name.startswith("celery-worker-"):
            return [*airflow, "celery", "worker", "--celery-hostname", f"{name}@%h", "--skip-serve-logs"]
        if name.startswith("triggerer-"):
            return [*airflow, "triggerer", "--skip-serve-logs"]  # one log-server port per machine
        return [*airflow, name]

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
        return command + list(self.simulator_options)

    def _spawn(self, name: str, command: list[str]) -> None:
        self.commands[name] = command
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
        process_groups.track(self.processes[name].pid, name)

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

    def _read_simulated_time(self) -> None:
        """Where the simulator's clock is against this machine's (its health answer's ``sim_time``)."""
        deadline = time.monotonic() + self.startup_timeout
        while True:
            sent = time.time()
            with contextlib.suppress(requests.RequestException, ValueError):
                health = requests.get(f"{self.simulator_url}/_simulator/health", timeout=5).json()
                real_time = (sent + time.time()) / 2
                if not health["time_scale"]:
                    return  # a frozen clock moves only by hand: the provider keeps the wall clock
                self._simulated_time = {
                    "sim_time": float(health["sim_time"]), "real_time": real_time,
                    "time_scale": float(health["time_scale"]),
                    "health_url": f"{self.simulator_url}/_simulator/health",  # followed if moved on
                }  # fmt: skip
                return
            if self.processes["simulator"].poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the simulator did not answer; see {self.log_of('simulator')}")
            time.sleep(0.2)

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
        """SIGTERM each process group, then SIGKILL what is left; then the services."""
        self._stop_processes(timeout)
        for service in reversed(self.services):
            service.stop()
        if self.postgres is not None and not self.keep_postgres_data:
            shutil.rmtree(self.postgres.data_dir, ignore_errors=True)

    def exited(self) -> dict[str, int]:
        """The components (and the simulator) that are no longer running, with their exit codes."""
        return {
            name: code for name, process in self.processes.items() if (code := process.poll()) is not None
        }

    def kill(self, name: str) -> None:
        """SIGKILL one component and every process under it (as a crashed machine would leave it)."""
        import psutil

        process = self.processes[name]
        with contextlib.suppress(psutil.NoSuchProcess):
            for child in psutil.Process(process.pid).children(recursive=True):
                with contextlib.suppress(psutil.NoSuchProcess):
                    child.kill()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        process_groups.untrack(process.pid)

    def component_running(self, pid: int) -> str | None:
        """The component a process (e.g. a task's) runs under, or None."""
        import psutil

        with contextlib.suppress(psutil.NoSuchProcess):
            ancestors = {parent.pid for parent in psutil.Process(pid).parents()} | {pid}
            for name, process in self.processes.items():
                if process.pid in ancestors:
                    return name
        return None

    def restart(self, name: str) -> None:
        """Start a component that exited again, with the same command."""
        if self.processes[name].poll() is None:
            raise RuntimeError(f"{name} is still running")
        self._spawn(name, self.commands[name])

    def _stop_processes(self, timeout: float) -> None:
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
            process_groups.untrack(process.pid)
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
    parser = argparse.ArgumentParser(prog="python -m tools.local_airflow", description=__doc__)
    parser.add_argument("--home", default=".airflow-local", help="AIRFLOW_HOME for this Airflow")
    parser.add_argument("--dags-folder", default="dags")
    parser.add_argument("--port", type=int, default=8080, help="the Airflow UI and API")
    parser.add_argument("--simulator-port", type=int, default=8765)
    parser.add_argument("--time-scale", type=float, default=60.0, help="simulated seconds per real second")
    parser.add_argument("--poll-seconds", type=float, default=2.0, help="how often DAGs check a call")
    parser.add_argument("--script", action="append", default=[], metavar="NUMBER=OUTCOME")
    parser.add_argument(
        "--db",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="the metadata database (postgres: local)",
    )
    parser.add_argument(
        "--celery-workers", type=int, default=0, help="use the CeleryExecutor with this many workers"
    )
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
        database=args.db,
        celery_workers=args.celery_workers,
        share_budget_in_redis=args.celery_workers > 0,
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
        _watch(airflow)
        return 0
    except KeyboardInterrupt:
        return 0
    finally:
        airflow.stop()


def _watch(airflow: LocalAirflow) -> None:
    """Report each component that exits; the others keep running (Ctrl-C stops all)."""
    reported: set[str] = set()
    while len(reported) < len(airflow.processes):
        for name, code in airflow.exited().items():
            if name not in reported:
                reported.add(name)
                print(f"{name} exited with {code} (see {airflow.log_of(name)}); the others keep running.",
                      file=sys.stderr, flush=True)  # fmt: skip
        time.sleep(1)
    print("Every component has exited.", file=sys.stderr)


def _postgres_data_dir(home: Path) -> Path:
    """PostgreSQL's data folder for this home: outside it, where the ``postgres`` user may enter."""
    digest = hashlib.sha256(str(home).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"exotel-airflow-postgres-{digest}"


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
