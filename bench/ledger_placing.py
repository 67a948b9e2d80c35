"""Benchmark: a campaign's placing path with the call ledger, without Airflow around it.

    PYTHONPATH=. .venv/bin/python bench/ledger_placing.py --calls 3000 --ledger sqlite
    PYTHONPATH=. .venv/bin/python bench/ledger_placing.py --calls 500 --ledger postgres --profile

Places ``--calls`` calls through the campaign's own placer (``CampaignRun`` over ``CampaignPlacer``,
each call's ``placing`` row committed before its POST, its Sid after) against the simulator in a
process of its own, with no request budget, so the rate printed is what the placing path itself can
do; then writes every call's final outcome as the campaign does after its wait. ``--profile`` runs
cProfile (placing on one thread, so the profile sees every call) and prints the functions that take
the most time. PostgreSQL is a throwaway server (``tools.local_services``) committing to disk.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tools import process_groups  # noqa: E402
from tools.local_airflow import free_port  # noqa: E402
from tools.local_services import LocalPostgres  # noqa: E402


class DurablePostgres(LocalPostgres):
    """The tests' throwaway PostgreSQL with every commit flushed to disk."""

    def spawn(self, command: list[str], **popen: Any) -> None:
        super().spawn([*command, "-c", "fsync=on", "-c", "synchronous_commit=on"], **popen)


def start_simulator() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "exotel_provider.simulator", "--port", str(port), "--rate-limit", "0",
               "--time-scale", "60"]  # fmt: skip
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    process_groups.track(process.pid, "simulator")
    url = f"http://127.0.0.1:{port}"
    import requests

    for _ in range(200):
        try:
            requests.get(f"{url}/_simulator/requests", timeout=1)
            return process, url
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("the simulator did not start")


def database(kind: str, folder: Path) -> tuple[dict[str, Any], LocalPostgres | None]:
    """The ledger database's Airflow connection (and the server, for PostgreSQL)."""
    if kind == "sqlite":
        return {"conn_type": "sqlite", "host": str(folder / "ledger.db")}, None
    folder.chmod(0o755)  # under root the server runs as Debian's postgres user
    server = DurablePostgres(name="ledger-postgres", log_path=folder / "postgres.log", data_dir=folder / "data",
                             port=free_port(), databases=("ledger",))  # fmt: skip
    server.start()
    return {"conn_type": "postgres", "host": "127.0.0.1", "port": server.port, "login": "airflow",
            "schema": "ledger"}, server  # fmt: skip


def campaign(calls: int, threads: int, day: str) -> tuple[Any, Any, list[Any]]:
    """The run, its ledger book and its entries, as the campaign operator builds them."""
    from airflow.sdk import BaseHook

    from exotel_provider.campaigns.ledger import CampaignBook
    from exotel_provider.campaigns.ledger_sql import SqlCallLedger
    from exotel_provider.campaigns.outcomes import parse_entries
    from exotel_provider.campaigns.placing import CampaignPlacer
    from exotel_provider.campaigns.run import paced_run
    from exotel_provider.hooks.exotel import ExotelHook
    from exotel_provider.placement.guard import GuardPolicy

    hook = ExotelHook()
    book = CampaignBook(SqlCallLedger(BaseHook.get_connection("exotel_reminders_db").get_hook(), day=day))
    placer = CampaignPlacer(hook, None, policy=GuardPolicy(), book=book, logger=_Quiet())
    run = paced_run(
        placer, budget=10**7, reserve=0, get_ended_calls=hook.get_ended_calls,
        build_request=lambda entry: hook.build_connect_request(**entry.parameters),
        max_calls_in_flight=10**6, placing_threads=threads, poll_interval=1.0, logger=_Quiet(), book=book,
    )  # fmt: skip
    calls_list = [
        {"key": f"K-{i:06d}", "from_number": f"+91987{i:07d}", "app_id": "926", "caller_id": "08047112345"}
        for i in range(calls)
    ]
    return run, book, parse_entries(calls_list)


class _Quiet:
    def info(self, *args: Any) -> None: ...

    def warning(self, *args: Any) -> None: ...

    def debug(self, *args: Any) -> None: ...


def measure(args: argparse.Namespace, day: str) -> dict[str, float]:
    from exotel_provider.campaigns.run import record_final_outcomes

    run, book, entries = campaign(args.calls, 1 if args.profile else args.threads, day)
    profile = cProfile.Profile() if args.profile else None
    started = time.perf_counter()
    if profile is not None:
        profile.enable()
    placements = run.place(entries)
    placed = time.perf_counter()
    outcomes = [{"key": p.key, "sid": p.sid, "status": "completed", "price": 1.5, "duration": 30,
                 "end_time": "2030-01-15 10:01:00"} for p in placements]  # fmt: skip
    record_final_outcomes(book, outcomes)
    ended = time.perf_counter()
    if profile is not None:
        profile.disable()
        text = io.StringIO()
        pstats.Stats(profile, stream=text).sort_stats("tottime").print_stats(args.top)
        print(text.getvalue())
    book.close()
    return {
        "placing_s": placed - started,
        "ending_s": ended - placed,
        "placed": sum(bool(p.sid) for p in placements),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=4, help="placing threads (the operator's default)")
    parser.add_argument("--ledger", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--profile", action="store_true", help="cProfile, placing on one thread")
    parser.add_argument("--top", type=int, default=25, help="profile lines printed")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="exotel-ledger-bench-"))
    simulator, url = start_simulator()
    connection, server = database(args.ledger, folder)
    try:
        exotel = {"conn_type": "exotel", "login": "sim-key", "password": "sim-token", "host": url,
                  "extra": {"account_sid": "exotel_sim", "requests_per_minute": 10**7}}  # fmt: skip
        os.environ["AIRFLOW_CONN_EXOTEL_DEFAULT"] = json.dumps(exotel)
        os.environ["AIRFLOW_CONN_EXOTEL_REMINDERS_DB"] = json.dumps(connection)
        figures = measure(args, "2030-01-15")
    finally:
        simulator.terminate()
        simulator.wait(10)
        if server is not None:
            server.stop()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"{args.ledger}, {args.calls} calls, {1 if args.profile else args.threads} placing threads"
        f"{' (profiled)' if args.profile else ''}: placed {figures['placed']:.0f} in {figures['placing_s']:.1f} s "
        f"= {60 * figures['placed'] / figures['placing_s']:.0f} calls a minute "
        f"({1000 * figures['placing_s'] / max(figures['placed'], 1):.2f} ms a call); final outcomes written "
        f"in {figures['ending_s']:.2f} s; load average {load}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
