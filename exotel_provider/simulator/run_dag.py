"""``python -m exotel_provider.simulator.run_dag DAG_ID``: run one of your DAGs against the simulator.

Starts a local Exotel simulator, points the ``exotel_default`` connection at it, makes sure the
Airflow metadata DB exists (SQLite under ``$AIRFLOW_HOME``), runs the DAG in-process with
``dag.test()`` and prints what the simulator saw: one line per call placed, with its outcome,
duration and price. Exits non-zero if the run did not succeed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from exotel_provider.simulator.__main__ import parse_script
from exotel_provider.simulator.server import ExotelSimulator


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m exotel_provider.simulator.run_dag", description=__doc__)
    parser.add_argument("dag_id")
    parser.add_argument("--dags-folder", default=os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", "dags"))
    parser.add_argument("--time-scale", type=float, default=60.0, help="simulated seconds per real second")
    parser.add_argument("--conf", default=None, help="JSON run conf (DAG params)")
    parser.add_argument("--conn-id", default="exotel_default")
    parser.add_argument(
        "--script",
        action="append",
        default=[],
        metavar="NUMBER=OUTCOME",
        help="script calls to NUMBER (completed, busy, no-answer, failed, canceled)",
    )
    return parser


def ensure_metadata_db() -> None:
    """Create/upgrade the SQLite metadata DB under $AIRFLOW_HOME (quick when it is current)."""
    subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, stdout=subprocess.DEVNULL)


def calls_table(simulator: ExotelSimulator) -> str:
    """What the simulator recorded: one line per call, numbers masked (all but the last 4 digits)."""
    lines = [f"{'call sid':<34}{'from':<15}{'status':<12}{'duration s':>10}{'price':>8}"]
    now = simulator.now()
    for call in simulator.placed_calls():
        view = call.view(now)
        number = view.from_number
        masked = number[:1] + "X" * max(len(number) - 5, 0) + number[-4:]
        duration = "-" if view.duration is None else view.duration
        price = "-" if view.price is None else view.price
        lines.append(f"{view.sid:<34}{masked:<15}{view.status:<12}{duration:>10}{price:>8}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    dags_folder = str(Path(args.dags_folder).resolve())
    os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = dags_folder
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    ensure_metadata_db()
    with ExotelSimulator(time_scale=args.time_scale) as simulator:
        for text in args.script:
            number, script = parse_script(text)
            simulator.script(number, script)
        os.environ[f"AIRFLOW_CONN_{args.conn_id.upper()}"] = simulator.connection_json()
        print(f"Exotel simulator at {simulator.base_url} (time x{args.time_scale:g}); running {args.dag_id}")

        try:
            from airflow.dag_processing.dagbag import DagBag
        except ImportError:  # Airflow 3.1
            from airflow.models.dagbag import DagBag  # type: ignore[no-redef]

        bag = DagBag(dag_folder=dags_folder)
        if args.dag_id not in bag.dag_ids:
            print(f"DAG {args.dag_id!r} not found in {dags_folder}; import errors: {bag.import_errors}")
            return 2
        run = bag.get_dag(args.dag_id).test(run_conf=json.loads(args.conf) if args.conf else None)
        print()
        print("Calls the Exotel simulator received:")
        print(calls_table(simulator))
        print(f"\nDAG run {run.run_id}: {run.state}")
        return 0 if str(run.state) in ("success", "DagRunState.SUCCESS") else 1


if __name__ == "__main__":
    sys.exit(main())
