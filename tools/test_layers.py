"""``make test``'s layers, timed: ``python -m tools.test_layers run DIR NAME -- COMMAND...`` runs one
layer and records its wall time and exit code in ``DIR/layers.tsv``; ``... report DIR`` prints the
slowest tests of every layer's JUnit XML (``DIR/*.xml``) and each layer's wall time, and exits
non-zero if a layer failed. Every layer runs even when an earlier one failed, so one run shows
everything that is wrong. Standard library only: it runs before any virtual environment exists.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

LAYERS_FILE = "layers.tsv"


def run(results: Path, name: str, command: Sequence[str]) -> int:
    """Run ``command``, append ``name``, its wall time and exit code to the layers file."""
    results.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    try:
        code = subprocess.call(list(command))
    except KeyboardInterrupt:
        code = 130
    seconds = time.monotonic() - started
    with (results / LAYERS_FILE).open("a") as out:
        out.write(f"{name}\t{seconds:.1f}\t{code}\n")
    print(f"--- {name}: {_minutes(seconds)}, {'ok' if code == 0 else f'FAILED (exit {code})'}", flush=True)
    return code


def slowest(results: Path, count: int) -> list[tuple[float, str]]:
    """The ``count`` slowest test cases (setup, call and teardown) over every JUnit file."""
    cases: list[tuple[float, str]] = []
    for path in sorted(results.glob("*.xml")):
        for case in ET.parse(path).iter("testcase"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            cases.append((float(case.get("time") or 0), f"[{path.stem}] {name}"))
    return sorted(cases, reverse=True)[:count]


def report(results: Path, count: int) -> int:
    print(f"\n===== {count} slowest tests =====")
    for seconds, name in slowest(results, count):
        print(f"{seconds:8.2f}s  {name}")
    layers = []
    if (results / LAYERS_FILE).exists():
        layers = [line.split("\t") for line in (results / LAYERS_FILE).read_text().splitlines() if line]
    print("===== wall time per layer =====")
    total = 0.0
    for name, seconds, code in layers:
        total += float(seconds)
        print(f"{name:<28} {_minutes(float(seconds)):>9}  {'ok' if code == '0' else f'FAILED (exit {code})'}")
    print(f"{'total':<28} {_minutes(total):>9}")
    failed = [name for name, _, code in layers if code != "0"]
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}m{seconds % 60:04.1f}s"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.test_layers", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_parser = commands.add_parser("run", help="run and time one layer")
    run_parser.add_argument("results", type=Path)
    run_parser.add_argument("name")
    run_parser.add_argument("layer_command", nargs=argparse.REMAINDER)
    report_parser = commands.add_parser("report", help="the slowest tests and each layer's time")
    report_parser.add_argument("results", type=Path)
    report_parser.add_argument("--slowest", type=int, default=15)
    args = parser.parse_args(argv)
    if args.command == "run":
        command = args.layer_command[1:] if args.layer_command[:1] == ["--"] else args.layer_command
        return run(args.results, args.name, command)
    return report(args.results, args.slowest)


if __name__ == "__main__":
    sys.exit(main())
