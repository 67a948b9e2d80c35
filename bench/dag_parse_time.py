"""Benchmark: the cold parse time of a DAG file using ExotelConnectOperator and ExotelCallSensor,
against a DAG file with two EmptyOperators.

    python bench/dag_parse_time.py              # 21 fresh processes per DAG file
    python bench/dag_parse_time.py --repeats 41

Each parse runs in a fresh Python process (nothing of the provider cached in memory), after
``import airflow.sdk`` (what the dag-processor has loaded before it parses a file); the two files
alternate so machine noise hits both alike. Prints the median of each, the difference in ms (target:
at most 30 ms) and the ratio, the same for the whole process (interpreter start, ``import
airflow.sdk`` and the parse), and the heavy libraries the provider's DAG file loaded (should be none).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

EMPTY_DAG = """
import datetime
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG

with DAG("two_empty_operators", schedule=None, start_date=datetime.datetime(2026, 1, 1)):
    EmptyOperator(task_id="place") >> EmptyOperator(task_id="wait")
"""

EXOTEL_DAG = """
import datetime
from airflow.sdk import DAG
from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor

with DAG("with_exotel", schedule=None, start_date=datetime.datetime(2026, 1, 1)):
    place = ExotelConnectOperator(task_id="place", from_number="+919876543210", app_id=926)
    wait = ExotelCallSensor(task_id="wait", call_sid="{{ ti.xcom_pull(task_ids='place') }}", deferrable=True)
    place >> wait
"""

TIMER = textwrap.dedent("""
    import json, runpy, sys, time
    import airflow.sdk  # what the dag-processor has loaded before it parses a file
    before = set(sys.modules)
    started = time.perf_counter()
    runpy.run_path(sys.argv[1])
    elapsed = time.perf_counter() - started
    loaded = sorted({name.split(".")[0] for name in set(sys.modules) - before})
    print(json.dumps({"seconds": elapsed, "loaded": loaded}))
""")

HEAVY = ("requests", "httpx", "tenacity", "xmltodict", "phonenumbers", "redis", "matplotlib")


def parse_times(repeats: int) -> tuple[dict[str, list[float]], set[str]]:
    """Milliseconds per parse of each file (``<name>``) and per whole process (``<name>_process``),
    and the top-level packages the Exotel DAG file loaded."""
    timings: dict[str, list[float]] = {"empty": [], "exotel": [], "empty_process": [], "exotel_process": []}
    loaded: set[str] = set()
    with tempfile.TemporaryDirectory() as folder:
        files = {"empty": Path(folder, "empty_dag.py"), "exotel": Path(folder, "exotel_dag.py")}
        files["empty"].write_text(EMPTY_DAG)
        files["exotel"].write_text(EXOTEL_DAG)
        for _ in range(repeats):
            for name, path in files.items():
                started = time.perf_counter()
                done = subprocess.run(
                    [sys.executable, "-c", TIMER, str(path)], capture_output=True, text=True, check=True
                )
                timings[f"{name}_process"].append((time.perf_counter() - started) * 1000)
                answer = json.loads(done.stdout.strip().splitlines()[-1])
                timings[name].append(answer["seconds"] * 1000)
                if name == "exotel":
                    loaded.update(answer["loaded"])
    return timings, loaded


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeats", type=int, default=21, help="fresh processes per DAG file")
    args = parser.parse_args(argv)
    timings, loaded = parse_times(args.repeats)
    median = {name: statistics.median(values) for name, values in timings.items()}
    print(f"DAG-file parse time, median of {args.repeats} fresh processes each (after `import airflow.sdk`):")
    report(median["empty"], median["exotel"], target=" (target <= +30 ms)")
    print("Whole process (interpreter start, `import airflow.sdk`, the parse; start-up noise dominates):")
    report(median["empty_process"], median["exotel_process"])
    heavy = sorted(loaded & set(HEAVY))
    print(f"  heavy libraries loaded by the Exotel DAG file: {', '.join(heavy) or 'none'}")
    return 0


def report(empty: float, exotel: float, target: str = "") -> None:
    print(f"  two EmptyOperators                       {empty:7.1f} ms")
    print(f"  ExotelConnectOperator + ExotelCallSensor {exotel:7.1f} ms")
    print(f"  difference {exotel - empty:+.1f} ms{target}, ratio {exotel / empty:.2f}")


if __name__ == "__main__":
    sys.exit(main())
