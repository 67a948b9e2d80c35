"""Benchmark: the reminders DAG (one campaign task) against per-call mapped tasks, in a real Airflow.

    python bench/reminder_campaign.py                      # 1,000 reminders
    python bench/reminder_campaign.py --reminders 10000
    python bench/reminder_campaign.py --reminders 10000 --budget 3000 --ledger postgres --skip-baseline

Starts one local Airflow (``tools.local_airflow``: scheduler with the LocalExecutor, api-server,
dag-processor, triggerer, and the Exotel simulator) in a temporary folder whose DAG folder holds
``dags/exotel_scheduled_reminders.py`` and a small per-call DAG written here (one mapped
``ExotelConnectOperator`` and one mapped ``ExotelCallSensor`` per reminder, as a DAG without the
campaign operator would do it). Both read their reminders from the ``exotel_reminders_db`` SQLite
database, each its own day. ``--ledger`` says where the reminders and the call ledger
(``reminder_calls``) live: ``sqlite`` (a file, the default), ``postgres`` (a throwaway local
PostgreSQL server started here, as the tests start one), or ``none`` (SQLite, and the campaign tasks
given no ledger: they keep their marks in the task state store, as before the ledger; the day's
report then finds no calls recorded and the run ends red). Each DAG is triggered through the REST API and polled until its run
ends; the two runs go one after the other.

The request budget (the connection's ``extra.requests_per_minute``) and the simulator's rate limit
are scaled up together (``--budget``) so that Airflow's own overhead is what is measured, and the
simulator's clock runs ``--time-scale`` times faster than real time. The floor of a run is the
time the budget alone needs to place its calls: calls / budget minutes.

Per run it prints: wall time (trigger to end), task instances, requests per call and the peak of
requests in any 60 s (from the simulator's request log), CPU seconds of all Airflow processes
(the simulator's excluded), calls placed per minute against the budget, and wall time / floor.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import shutil
import signal
import sys
import tempfile
import textwrap
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from exotel_provider.campaigns.reminders import (  # noqa: E402
    CREATE_REMINDER_CALLS,
    CREATE_REMINDERS,
    REMINDER_FIELDS,
)
from tools import reminders_db  # noqa: E402
from tools.local_airflow import LocalAirflow, _exit_on_sigterm, _unpause, free_port  # noqa: E402
from tools.local_services import LocalPostgres  # noqa: E402

CAMPAIGN_DAG = "exotel_scheduled_reminders"
BASELINE_DAG = "exotel_bench_per_call"
CAMPAIGN_DAY = "2030-01-15"
BASELINE_DAY = "2030-01-16"
FINAL_RUN_STATES = {"success", "failed"}
LEDGERS = ("sqlite", "postgres", "none")
LEDGER_ARGUMENT = 'ledger=ledger(plan["day"], {attempt})'

BASELINE_DAG_FILE = '''\
"""Per-call baseline for bench/reminder_campaign.py: one place task and one wait task per reminder."""

import pendulum
from airflow.sdk import DAG, BaseHook, task

from exotel_provider.calls import TERMINAL_STATUSES
from exotel_provider.campaigns import reminders as store
from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor

with DAG(
    dag_id="{dag_id}",
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    params={{"due_date": "{day}"}},
):

    @task
    def read_due_reminders(params=None):
        db = BaseHook.get_connection(store.REMINDERS_CONN_ID).get_hook()
        return [
            {{"from_number": r["phone"], "app_id": r["flow_app_id"], "custom_field": r["reminder_id"]}}
            for r in store.due_reminders(db, params["due_date"])
        ]

    place_call = ExotelConnectOperator.partial(
        task_id="place_call", caller_id="08047112345", time_limit=300, retries=0
    ).expand_kwargs(read_due_reminders())
    ExotelCallSensor.partial(
        task_id="wait_for_call",
        success_statuses=TERMINAL_STATUSES,
        mode="reschedule",
        poke_interval={poll_seconds},
        timeout=3600,
    ).expand(call_sid=place_call.output)
'''


@dataclass
class BenchAirflow(LocalAirflow):
    """The local Airflow with a scaled request budget, the same limit in the simulator, a raised
    mapping ceiling, and no scheduled runs (only the runs the benchmark triggers)."""

    budget: int = 1200
    max_map_length: int = 1024
    reminders: ReminderStore | None = None

    def connection(self) -> dict[str, Any]:
        connection = super().connection()
        connection["extra"] = {**connection["extra"], "requests_per_minute": self.budget}
        return connection

    def environment(self) -> dict[str, str]:
        env = super().environment()
        env["AIRFLOW__CORE__MAX_MAP_LENGTH"] = str(self.max_map_length)
        env["AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE"] = "False"
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        if self.reminders is not None:
            env["AIRFLOW_CONN_EXOTEL_REMINDERS_DB"] = self.reminders.connection_json()
        return env

    def _simulator_command(self) -> list[str]:
        return [*super()._simulator_command(), "--rate-limit", str(self.budget)]


# --- where the reminders and the ledger live --------------------------------------------------------


@dataclass
class ReminderStore:
    """The ``exotel_reminders_db`` database: the SQLite file of the local Airflow, or a database on
    a throwaway PostgreSQL server."""

    sqlite_path: Path
    postgres: LocalPostgres | None = None

    @classmethod
    def start(cls, kind: str, home: Path, sqlite_path: Path) -> ReminderStore:
        if kind != "postgres":
            return cls(sqlite_path)
        folder = home / "reminders-postgres"
        folder.mkdir(parents=True)
        folder.chmod(0o755)  # under root the server runs as Debian's postgres user
        home.chmod(0o755)
        server = DurablePostgres(name="reminders-postgres", log_path=folder / "postgres.log",
                               data_dir=folder / "data", port=free_port(), databases=("reminders",))  # fmt: skip
        return cls(sqlite_path, server.start())

    def stop(self) -> None:
        if self.postgres is not None:
            self.postgres.stop()

    def connection_json(self) -> str:
        if self.postgres is None:
            return reminders_db.connection_json(self.sqlite_path)
        return json.dumps({"conn_type": "postgres", "host": "127.0.0.1", "port": self.postgres.port,
                           "login": "airflow", "schema": "reminders"})  # fmt: skip

    def seed(self, reminders: list[dict[str, str]]) -> None:
        if self.postgres is None:
            reminders_db.seed(self.sqlite_path, reminders)
            return
        import psycopg2

        connection = psycopg2.connect(self.postgres.url("reminders", driver="postgresql"))
        with contextlib.closing(connection) as db, db, db.cursor() as cursor:
            cursor.execute(CREATE_REMINDERS)
            cursor.execute(CREATE_REMINDER_CALLS)
            marks = ", ".join(["%s"] * len(REMINDER_FIELDS))
            cursor.executemany(
                f"INSERT INTO reminders ({', '.join(REMINDER_FIELDS)}) VALUES ({marks}) "
                "ON CONFLICT (reminder_id) DO NOTHING",
                [tuple(r[name] for name in REMINDER_FIELDS) for r in reminders],
            )

    def recorded(self, day: str) -> int:
        """Ledger rows of ``day`` with their call's outcome (state ``ended``)."""
        if self.postgres is None:
            rows = reminders_db.recorded_calls(self.sqlite_path)
            return sum(r["due_date"] == day and r["state"] == "ended" for r in rows)
        import psycopg2

        connection = psycopg2.connect(self.postgres.url("reminders", driver="postgresql"))
        with contextlib.closing(connection) as db, db.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM reminder_calls WHERE due_date = %s AND state = 'ended'", (day,)
            )
            return int(cursor.fetchone()[0])


class DurablePostgres(LocalPostgres):
    """The tests' throwaway PostgreSQL, but with every commit flushed to disk (``fsync``,
    ``synchronous_commit``), as a production database commits a ledger row."""

    def spawn(self, command: list[str], **popen: Any) -> None:
        super().spawn([*command, "-c", "fsync=on", "-c", "synchronous_commit=on"], **popen)


# --- one run ---------------------------------------------------------------------------------------


@dataclass
class RunResult:
    dag_id: str
    reminders: int
    state: str
    wall_seconds: float
    task_instances: int
    calls_placed: int
    api_requests: int
    rate_limited: int
    peak_per_minute: int
    placing_seconds: float
    cpu_seconds: float
    recorded: int | None = None
    timeline: str = ""


class Api:
    """The few REST calls the benchmark needs."""

    def __init__(self, airflow: LocalAirflow) -> None:
        self.airflow = airflow
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {airflow.token()}"

    def get(self, path: str, **params: Any) -> Any:
        answer = self.session.get(f"{self.airflow.url}/api/v2{path}", params=params, timeout=60)
        answer.raise_for_status()
        return answer.json()

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> str:
        answer = self.session.post(
            f"{self.airflow.url}/api/v2/dags/{dag_id}/dagRuns",
            json={"logical_date": None, "conf": conf},
            timeout=60,
        )
        answer.raise_for_status()
        return str(answer.json()["dag_run_id"])

    def timeline(self, dag_id: str, run_id: str) -> str:
        """Each task instance's start and end, in seconds from the run's start (where the time goes)."""
        run = self.get(f"/dags/{dag_id}/dagRuns/{run_id}")
        tis = self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=100)["task_instances"]
        origin = _epoch(run.get("start_date")) or 0.0
        cells = []
        for ti in sorted(tis, key=lambda t: _epoch(t.get("start_date")) or float("inf")):
            start, end = _epoch(ti.get("start_date")), _epoch(ti.get("end_date"))
            if start is None or end is None:
                continue
            cells.append(f"{ti['task_id']} {start - origin:.0f}-{end - origin:.0f}")
        return ", ".join(cells)

    def task_instances(self, dag_id: str, run_id: str) -> int:
        return int(self.get(f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", limit=1)["total_entries"])


def _epoch(moment: str | None) -> float | None:
    return datetime.datetime.fromisoformat(moment).timestamp() if moment else None


def simulator_requests(airflow: LocalAirflow) -> list[dict[str, Any]]:
    answer = requests.get(f"{airflow.simulator_url}/_simulator/requests", timeout=120)
    answer.raise_for_status()
    return list(answer.json())


def airflow_cpu_seconds(airflow: LocalAirflow) -> float:
    """User + system CPU of every Airflow process and its descendants, reaped children included."""
    total = 0.0
    for name, process in airflow.processes.items():
        if name == "simulator":
            continue
        try:
            root = psutil.Process(process.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
        for member in tree:
            try:
                times = member.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system + times.children_user + times.children_system
    return total


def run_dag(
    airflow: LocalAirflow, api: Api, dag_id: str, day: str, reminders: int, timeout: float
) -> RunResult:
    """Trigger ``dag_id`` for ``day``, wait for its end, and measure it."""
    _unpause(airflow, dag_id)
    log_start = len(simulator_requests(airflow))
    cpu_start = airflow_cpu_seconds(airflow)
    started = time.monotonic()
    run_id = api.trigger(dag_id, {"due_date": day})
    state = wait_for_run(api, dag_id, run_id, started + timeout)
    wall = time.monotonic() - started
    cpu = airflow_cpu_seconds(airflow) - cpu_start
    log = [r for r in simulator_requests(airflow)[log_start:] if r["path"].startswith("/v1")]
    connects = [r for r in log if r["method"] == "POST" and r["status_code"] == 200]
    placing = [r["real_time"] for r in connects]
    return RunResult(
        dag_id=dag_id,
        reminders=reminders,
        state=state,
        wall_seconds=wall,
        task_instances=api.task_instances(dag_id, run_id),
        timeline=api.timeline(dag_id, run_id),
        calls_placed=len(connects),
        api_requests=len(log),
        rate_limited=sum(r["status_code"] == 429 for r in log),
        peak_per_minute=peak_in_window([r["real_time"] for r in log], 60.0),
        placing_seconds=(max(placing) - min(placing)) if len(placing) > 1 else 0.0,
        cpu_seconds=cpu,
    )


def wait_for_run(api: Api, dag_id: str, run_id: str, deadline: float) -> str:
    state = "queued"
    last_print = time.monotonic()
    while time.monotonic() < deadline:
        state = str(api.get(f"/dags/{dag_id}/dagRuns/{run_id}")["state"])
        if state in FINAL_RUN_STATES:
            return state
        if time.monotonic() - last_print > 30:
            print(f"  {dag_id}: {state} ...", flush=True)
            last_print = time.monotonic()
        time.sleep(1)
    return f"{state} (timed out)"


def peak_in_window(times: list[float], window: float) -> int:
    """The most events in any ``window`` seconds."""
    recent: deque[float] = deque()
    peak = 0
    for moment in sorted(times):
        recent.append(moment)
        while recent[0] <= moment - window:
            recent.popleft()
        peak = max(peak, len(recent))
    return peak


# --- the table -------------------------------------------------------------------------------------


def table(results: list[RunResult], budget: int) -> str:
    def floor_seconds(r: RunResult) -> float:
        return 60.0 * r.calls_placed / budget

    rows: list[tuple[str, Any, str]] = [
        ("reminders", lambda r: f"{r.reminders:,}", ""),
        ("run state", lambda r: r.state, "success"),
        ("wall time, trigger to end (s)", lambda r: f"{r.wall_seconds:.1f}", ""),
        ("task instances", lambda r: f"{r.task_instances:,}", ""),
        ("calls placed (POST answered 200)", lambda r: f"{r.calls_placed:,}", ""),
        (
            "outcomes recorded in reminder_calls",
            lambda r: "-" if r.recorded is None else f"{r.recorded:,}",
            "",
        ),
        ("API requests (429 answers)", lambda r: f"{r.api_requests:,} ({r.rate_limited})", ""),
        ("requests per call", lambda r: f"{r.api_requests / max(r.calls_placed, 1):.3f}", "<= 1.05"),
        ("peak requests in any 60 s", lambda r: f"{r.peak_per_minute:,}", f"<= {budget}"),
        ("Airflow CPU seconds (all processes)", lambda r: f"{r.cpu_seconds:.1f}", ""),
        ("calls placed per minute (placing span)", placed_per_minute, f"budget {budget}"),
        ("calls per minute over the whole run", lambda r: f"{60 * r.calls_placed / r.wall_seconds:.0f}", ""),
        ("floor: calls / budget (s)", lambda r: f"{floor_seconds(r):.1f}", ""),
        (
            "placing span / floor (pacing alone)",
            lambda r: f"{r.placing_seconds / max(floor_seconds(r), 1e-9):.3f}",
            "",
        ),
        (
            "wall time / floor",
            lambda r: f"{r.wall_seconds / max(floor_seconds(r), 1e-9):.2f}",
            "<= 1.1 at 10,000",
        ),
    ]
    lines = [f"{'':40}" + "".join(f"{r.dag_id:>28}" for r in results) + "   target"]
    for label, cell, target in rows:
        lines.append(f"{label:40}" + "".join(f"{cell(r):>28}" for r in results) + f"   {target}")
    return "\n".join(lines)


def placed_per_minute(result: RunResult) -> str:
    if result.placing_seconds <= 0:
        return "-"
    return f"{60 * (result.calls_placed - 1) / result.placing_seconds:.0f}"


# --- main ------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reminders", type=int, default=1000, help="reminders the campaign DAG calls")
    parser.add_argument(
        "--baseline-reminders",
        type=int,
        default=100,
        help="reminders the per-call mapped DAG calls (two task instances each; on a small machine "
        "every task instance costs seconds of CPU, so the baseline is capped)",
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument(
        "--ledger",
        choices=LEDGERS,
        default="sqlite",
        help="where the reminders and the call ledger live (none: SQLite, and no ledger for the campaign)",
    )
    parser.add_argument(
        "--budget",
        type=int,
        default=1200,
        help="requests a minute: the connection's budget and the simulator's limit",
    )
    parser.add_argument("--time-scale", type=float, default=60.0, help="simulated seconds per real second")
    parser.add_argument("--poll-seconds", type=float, default=2.0, help="how often the DAGs check a call")
    parser.add_argument(
        "--timeout", type=float, default=3600.0, help="give up on a run after this many seconds"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary AIRFLOW_HOME (logs)")
    return parser


def prepare_home(home: Path, args: argparse.Namespace) -> Path:
    """A DAG folder with the reminders DAG and the per-call baseline DAG."""
    dags = home / "dags"
    dags.mkdir(parents=True)
    campaign = (ROOT / "dags" / f"{CAMPAIGN_DAG}.py").read_text()
    if args.ledger == "none":
        for attempt in (1, 2):
            if LEDGER_ARGUMENT.format(attempt=attempt) not in campaign:
                raise SystemExit(
                    f"{CAMPAIGN_DAG}.py no longer passes {LEDGER_ARGUMENT.format(attempt=attempt)}"
                )
            campaign = campaign.replace(LEDGER_ARGUMENT.format(attempt=attempt), "ledger=None")
    (dags / f"{CAMPAIGN_DAG}.py").write_text(campaign)
    baseline = BASELINE_DAG_FILE.format(dag_id=BASELINE_DAG, day=BASELINE_DAY, poll_seconds=args.poll_seconds)
    (dags / f"{BASELINE_DAG}.py").write_text(textwrap.dedent(baseline))
    return dags


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)  # `kill` stops Airflow and PostgreSQL too
    home = Path(tempfile.mkdtemp(prefix="exotel-bench-"))
    baseline_reminders = 0 if args.skip_baseline else min(args.baseline_reminders, args.reminders)
    reminders = ReminderStore.start(args.ledger, home, home / "airflow" / "reminders.db")
    airflow = BenchAirflow(
        reminders=reminders,
        home=home / "airflow",
        dags_folder=prepare_home(home, args),
        time_scale=args.time_scale,
        poll_seconds=args.poll_seconds,
        budget=args.budget,
        max_map_length=max(1024, baseline_reminders + 1),
    )
    print(settings_text(args, baseline_reminders, airflow), flush=True)
    try:
        results = run_all(airflow, args, baseline_reminders)
    finally:
        airflow.stop()
        reminders.stop()
        if args.keep:
            print(f"Kept {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)
    print("\n" + table(results, args.budget))
    for result in results:
        print(f"{result.dag_id} tasks (s from the run's start): {result.timeline}")
    if baseline_reminders < args.reminders and not args.skip_baseline:
        print(f"(the per-call baseline called {baseline_reminders} reminders; see --baseline-reminders)")
    return 0 if all(r.state == "success" for r in results) else 1


def run_all(airflow: BenchAirflow, args: argparse.Namespace, baseline_reminders: int) -> list[RunResult]:
    started = time.monotonic()
    airflow.start()
    print(f"Airflow up in {time.monotonic() - started:.0f} s ({airflow.home})", flush=True)
    assert airflow.reminders is not None
    store = airflow.reminders
    store.seed(reminders_db.generated_reminders(CAMPAIGN_DAY, args.reminders))
    store.seed(
        reminders_db.generated_reminders(BASELINE_DAY, baseline_reminders, first_number=args.reminders)
    )
    api = Api(airflow)
    print(f"Running {CAMPAIGN_DAG} with {args.reminders} reminders ...", flush=True)
    campaign = run_dag(airflow, api, CAMPAIGN_DAG, CAMPAIGN_DAY, args.reminders, args.timeout)
    campaign.recorded = store.recorded(CAMPAIGN_DAY)
    results = [campaign]
    if baseline_reminders:
        print(f"Running {BASELINE_DAG} with {baseline_reminders} reminders ...", flush=True)
        results.append(run_dag(airflow, api, BASELINE_DAG, BASELINE_DAY, baseline_reminders, args.timeout))
    return results


def settings_text(args: argparse.Namespace, baseline_reminders: int, airflow: BenchAirflow) -> str:
    return (
        f"Reminders DAG: {args.reminders} reminders, ledger {args.ledger}; "
        f"per-call mapped DAG: {baseline_reminders} reminders.\n"
        f"Budget {args.budget} requests/min (connection extra.requests_per_minute) = simulator rate limit; "
        f"simulator time x{args.time_scale:g}; DAG poll interval {args.poll_seconds:g} s; "
        f"LocalExecutor, parallelism 8; [core] max_map_length {airflow.max_map_length}; "
        f"{os.cpu_count()} CPUs (load average {', '.join(f'{x:.1f}' for x in os.getloadavg())})."
    )


if __name__ == "__main__":
    sys.exit(main())
