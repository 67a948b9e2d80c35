"""``python -m exotel_provider.simulator.run_dag DAG_ID``: run one of your DAGs against the simulator.

Starts a local Exotel simulator, points the ``exotel_default`` connection at it, creates or
migrates the Airflow metadata DB under ``$AIRFLOW_HOME`` when needed, runs the DAG in-process with
``dag.test()`` (with ``--logical-date``, for that logical date and no conf, as the scheduler runs a
scheduled day) and prints one line per call as it progresses (placed, ended, priced) and a table of
what the simulator received. Airflow's own logs go to a file whose path it prints (``--verbose``
shows them instead). Exits non-zero if the run did not succeed.

The helpers ``ensure_metadata_db``, ``load_dag`` and ``xcom_value`` serve tests of your DAGs too.
Airflow is imported only inside them: the simulator package imports nothing else of the provider.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from exotel_provider.simulator.__main__ import parse_script
from exotel_provider.simulator.dag_test_speed import share_in_process_execution_api
from exotel_provider.simulator.server import ExotelSimulator


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m exotel_provider.simulator.run_dag``."""
    parser = argparse.ArgumentParser(prog="python -m exotel_provider.simulator.run_dag", description=__doc__)
    parser.add_argument("dag_id")
    parser.add_argument("--dags-folder", default=os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", "dags"))
    parser.add_argument("--time-scale", type=float, default=60.0, help="simulated seconds per real second")
    parser.add_argument("--conf", default=None, help="JSON run conf (DAG params)")
    parser.add_argument(
        "--logical-date",
        type=iso_date_or_datetime,
        default=None,
        metavar="ISO_DATE_OR_DATETIME",
        help="run for this logical date, as the scheduler runs that day (e.g. 2026-08-03 or "
        "2026-08-03T10:00:00+05:30; a date is midnight, a time without an offset is in Airflow's "
        "default time zone, UTC unless configured); default: now",
    )
    parser.add_argument("--conn-id", default="exotel_default")
    parser.add_argument(
        "--verbose", action="store_true", help="show Airflow's logs instead of writing a file"
    )
    parser.add_argument(
        "--script",
        action="append",
        default=[],
        metavar="NUMBER=OUTCOME",
        help="script calls to NUMBER (completed, busy, no-answer, failed, canceled)",
    )
    return parser


def iso_date_or_datetime(text: str) -> str:
    """``text`` if it is an ISO 8601 date or date and time (argparse type of ``--logical-date``)."""
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO date or datetime: give e.g. 2026-08-03 or 2026-08-03T10:00:00+05:30"
        ) from None
    return text


def logical_date(text: str) -> datetime:
    """The aware datetime Airflow reads from ``text`` (as ``airflow dags test`` reads its date)."""
    from airflow.sdk import timezone

    return timezone.parse(text, strict=True)


# --- the metadata DB, DAGs and XCom: for this command and for tests of your DAGs ----------------


def ensure_metadata_db() -> bool:
    """Create or migrate Airflow's metadata DB (``$AIRFLOW_HOME``) if it is not current; True if it did.

    The same as running ``airflow db migrate`` first; a current DB costs one quick check.
    """
    from airflow.utils.db import check_migrations

    try:
        with contextlib.redirect_stdout(sys.stderr):
            check_migrations(0)
        return False
    except Exception:  # missing tables, older revision: migrate
        pass
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"`airflow db migrate` failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return True


def load_dag(dag_id: str, dags_folder: str | Path) -> Any:
    """The DAG ``dag_id`` parsed from ``dags_folder``, ready for ``dag.test()``.

    Points this process's Airflow at that folder (``dag.test()`` runs DAGs of the dags-folder bundle)
    and makes sure the metadata DB is current.
    """
    folder = str(Path(dags_folder).resolve())
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = folder
    from airflow import settings

    settings.DAGS_FOLDER = folder
    ensure_metadata_db()
    try:
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    bag = DagBag(dag_folder=folder)
    if dag_id not in bag.dag_ids:
        raise LookupError(
            f"DAG {dag_id!r} not found in {folder}; import errors: {bag.import_errors or 'none'}"
        )
    return bag.get_dag(dag_id)


def xcom_value(dag_run: Any, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
    """What a task of a finished run pushed to XCom (``map_index`` for one mapped task instance)."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = session.scalars(
            XComModel.get_many(
                run_id=dag_run.run_id,
                dag_ids=dag_run.dag_id,
                task_ids=task_id,
                key=key,
                map_indexes=map_index,
            )
        ).all()
        if not rows:
            raise LookupError(f"no XCom {key!r} from {task_id} (map index {map_index}) in {dag_run.run_id}")
        return XComModel.deserialize_value(rows[0])


# --- what the simulator saw ---------------------------------------------------------------------


def masked(number: str) -> str:
    """All but the first character and the last 4 digits hidden."""
    return number[:1] + "X" * max(len(number) - 5, 0) + number[-4:]


def calls_table(simulator: ExotelSimulator) -> str:
    """What the simulator recorded: one line per call, numbers masked."""
    lines = [f"{'call sid':<34}{'from':<15}{'status':<12}{'duration s':>10}{'price':>8}"]
    now = simulator.now()
    for call in simulator.placed_calls():
        view = call.view(now)
        duration = "-" if view.duration is None else view.duration
        price = "-" if view.price is None else view.price
        lines.append(f"{view.sid:<34}{masked(view.from_number):<15}{view.status:<12}{duration:>10}{price:>8}")
    return "\n".join(lines)


class CallProgress(threading.Thread):
    """Prints a line when a call is placed, when it ends and when Exotel has priced it."""

    def __init__(self, simulator: ExotelSimulator, out: IO[str], interval: float = 0.25) -> None:
        super().__init__(name="exotel-call-progress", daemon=True)
        self.simulator, self.out, self.interval = simulator, out, interval
        self.reported: dict[str, set[str]] = {}
        self.finished = threading.Event()

    def run(self) -> None:
        """Report progress every ``interval`` seconds until stopped."""
        while not self.finished.wait(self.interval):
            self.report()

    def stop(self) -> None:
        """Stop reporting, after a last report."""
        self.finished.set()
        self.join()
        self.report()

    def report(self) -> None:
        """Print one line for each call that changed stage (placed, ended, priced) since the last report."""
        now = self.simulator.now()
        for call in self.simulator.placed_calls():
            view = call.view(now)
            stages = {"placed": "placed"}
            if view.is_terminal:
                stages["ended"] = f"ended {view.status}"
            if view.is_terminal and view.price is not None:
                stages["priced"] = f"priced {view.price} ({view.duration} s)"
            seen = self.reported.setdefault(view.sid, set())
            for stage, text in stages.items():
                if stage not in seen:
                    seen.add(stage)
                    clock = time.strftime("%H:%M:%S")
                    print(f"{clock}  call {view.sid[:8]}  {masked(view.from_number)}  {text}", file=self.out)


@contextlib.contextmanager
def output_to_file(path: Path) -> Iterator[IO[str]]:
    """Send this process's stdout and stderr (Airflow's logs) to ``path``; yield the terminal."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "w") as log, open(os.dup(saved[0]), "w", buffering=1) as terminal:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def leaf_results(dag: Any, dag_run: Any, width: int = 400) -> Iterator[str]:
    """``<task_id> returned <value>`` for each last task of the DAG that returned something."""
    for task in dag.leaves:
        try:
            value = xcom_value(dag_run, task.task_id)
        except LookupError:
            continue
        text = json.dumps(value, default=str)
        yield f"{task.task_id} returned {text if len(text) <= width else text[: width - 3] + '...'}"


def airflow_home() -> Path:
    """``$AIRFLOW_HOME``, or Airflow's default ``~/airflow``."""
    return Path(os.environ.get("AIRFLOW_HOME") or Path.home() / "airflow").expanduser()


def log_path(dag_id: str) -> Path:
    """Where Airflow's logs of a run of ``dag_id`` go."""
    return airflow_home() / "logs" / "run_dag" / f"{dag_id}.log"


def run(args: argparse.Namespace, simulator: ExotelSimulator, out: IO[str]) -> int:
    """Run the DAG with ``dag.test()``, reporting calls on ``out``; 0 if the run succeeded."""
    progress = CallProgress(simulator, out)
    if ensure_metadata_db():
        print(f"Created the Airflow metadata DB (airflow db migrate) in {airflow_home()}", file=out)
    try:
        dag = load_dag(args.dag_id, args.dags_folder)
    except LookupError as err:
        print(err, file=out)
        return 2
    options: dict[str, Any] = {"run_conf": json.loads(args.conf) if args.conf else None}
    if args.logical_date:
        options["logical_date"] = logical_date(args.logical_date)
    share_in_process_execution_api()
    progress.start()
    try:
        dag_run = dag.test(**options)
    finally:
        progress.stop()
    print(f"\nCalls the Exotel simulator received:\n{calls_table(simulator)}\n", file=out)
    for line in leaf_results(dag, dag_run):
        print(line, file=out)
    print(f"DAG run {dag_run.run_id}: {dag_run.state}", file=out)
    return 0 if str(dag_run.state) in ("success", "DagRunState.SUCCESS") else 1


def main(argv: Sequence[str] | None = None) -> int:
    """Run the DAG against a fresh simulator; 0 if the run succeeded."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    with ExotelSimulator(time_scale=args.time_scale) as simulator:
        for text in args.script:
            number, script = parse_script(text)
            simulator.script(number, script)
        os.environ[f"AIRFLOW_CONN_{args.conn_id.upper()}"] = simulator.connection_json()
        day = f" for logical date {args.logical_date}" if args.logical_date else ""
        print(
            f"Exotel simulator at {simulator.base_url} (time x{args.time_scale:g}); running {args.dag_id}{day}"
        )
        if args.verbose:
            return run(args, simulator, sys.stdout)
        path = log_path(args.dag_id)
        print(f"Airflow's logs: {path}", flush=True)
        with output_to_file(path) as terminal:
            return run(args, simulator, terminal)


if __name__ == "__main__":
    sys.exit(main())
