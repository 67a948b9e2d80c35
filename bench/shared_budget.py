"""Benchmark: one Exotel request budget shared through Redis by two "triggerers" and two "workers".

    python bench/shared_budget.py                  # 90 s, budget 150/min, the simulator's 200/min limit
    python bench/shared_budget.py --seconds 70 --budget 190

Starts a local Redis and the Exotel simulator (its real rate limit: 200 requests per wall-clock
minute per account), then four processes that all ask far more than the budget allows, through the
provider's own code paths and one Exotel connection naming ``extra.rate_limit_redis_url``:

- two workers: ``ExotelHook`` (the sync client, as a Celery worker's task uses it), placing a call
  now and then and reading the call listing in a loop;
- two triggerers: the async client with the account's budget (as the triggerer's call watcher builds
  it), 8 coroutines each reading calls in a loop.

It prints, per process and in total, the most requests in any 60 s window (per process from its own
log of answers, in total from the simulator's request log), the 429 answers, and the calls placed
against the distinct numbers dialled (a duplicate would show as more calls than numbers).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ROLES = ("worker-1", "worker-2", "triggerer-1", "triggerer-2")
TRIGGERER_COROUTINES = 8


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=90.0, help="how long the four processes ask")
    parser.add_argument("--budget", type=int, default=150, help="the connection's requests_per_minute")
    parser.add_argument("--role", choices=ROLES, help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.role:
        return _run_role(args.role, args.seconds, Path(args.out))
    figures = run(seconds=args.seconds, budget=args.budget)
    print(format_figures(figures, args.budget))
    return 0


def run(*, seconds: float, budget: int, simulator_limit: int = 200) -> dict[str, Any]:
    """Start Redis, the simulator and the four processes; return the figures."""
    from exotel_provider.simulator.rate_limit import busiest_window
    from exotel_provider.simulator.server import ExotelSimulator
    from tools.local_airflow import free_port
    from tools.local_services import LocalRedis

    work = Path(tempfile.mkdtemp(prefix="exotel-shared-budget-"))
    redis = LocalRedis(name="redis", log_path=work / "redis.log", port=free_port()).start()
    simulator = ExotelSimulator(time_scale=60, rate_limit_per_minute=simulator_limit).start()
    try:
        connection = simulator.connection()
        connection["extra"].update({"requests_per_minute": budget, "rate_limit_redis_url": redis.url})
        env = {**os.environ, "AIRFLOW_CONN_EXOTEL_DEFAULT": json.dumps(connection), "PYTHONPATH": str(ROOT)}
        processes = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "--role",
                    role,
                    "--seconds",
                    str(seconds),
                    "--out",
                    str(work / role),
                ],
                env=env,
            )
            for role in ROLES
        ]
        codes = [process.wait(timeout=seconds + 180) for process in processes]
        if any(codes):
            raise RuntimeError(f"a process failed: {dict(zip(ROLES, codes, strict=True))}")
        log = simulator.requests
        per_process = {role: json.loads((work / role).read_text()) for role in ROLES}
        placed = simulator.placed_calls()
        return {
            "seconds": seconds,
            "per_process": {
                role: {
                    "requests": len(answers),
                    "busiest_60s": busiest_window(at for at, _ in answers),
                    "429": sum(1 for _, status in answers if status == 429),
                }
                for role, answers in per_process.items()
            },
            "total": {
                "requests": len(log),
                "busiest_60s": busiest_window(r.real_time for r in log),
                "429": sum(1 for r in log if r.status_code == 429),
            },
            "calls_placed": len(placed),
            "numbers_dialled": len({call.from_number for call in placed}),
        }
    finally:
        simulator.stop(wait=False)
        redis.stop()
        shutil.rmtree(work, ignore_errors=True)


def format_figures(figures: dict[str, Any], budget: int) -> str:
    lines = [f"Shared request budget {budget}/min, simulator limit 200/min, {figures['seconds']:.0f} s:"]
    for role, row in figures["per_process"].items():
        lines.append(
            f"  {role:12} requests {row['requests']:5d}   busiest 60 s {row['busiest_60s']:4d}   429s {row['429']}"
        )
    total = figures["total"]
    lines.append(
        f"  {'total':12} requests {total['requests']:5d}   busiest 60 s {total['busiest_60s']:4d}   429s {total['429']}"
    )
    lines.append(f"  calls placed {figures['calls_placed']} to {figures['numbers_dialled']} distinct numbers")
    return "\n".join(lines)


def _run_role(role: str, seconds: float, out: Path) -> int:
    """One process: ask as fast as the budget lets it for ``seconds``; write (time, status) answers."""
    answers: list[tuple[float, int]] = []
    deadline = time.monotonic() + seconds
    if role.startswith("worker"):
        _work(role, deadline, answers)
    else:
        asyncio.run(_watch(deadline, answers))
    out.write_text(json.dumps(answers))
    return 0


def _work(role: str, deadline: float, answers: list[tuple[float, int]]) -> None:
    from exotel_provider.client.retry_policy import RetryPolicy
    from exotel_provider.errors import ExotelAPIError
    from exotel_provider.hooks.exotel import ExotelHook

    hook = ExotelHook(retry_policy=RetryPolicy(max_attempts=1))  # every answer shows, 429s too
    prefix = "+9198766" + ("1" if role.endswith("1") else "2")
    for n in range(1_000_000):
        if time.monotonic() >= deadline:
            return
        try:
            if n % 10 == 0:
                hook.connect_to_flow(f"{prefix}{n // 10:04d}", app_id="926", caller_id="08047112345")
            else:
                hook.client.list_calls(page_size=1)
            answers.append((time.time(), 200))
        except ExotelAPIError as err:
            answers.append((time.time(), err.status_code))


async def _watch(deadline: float, answers: list[tuple[float, int]]) -> None:
    from airflow.sdk import BaseHook

    from exotel_provider.client.async_client import ExotelAsyncClient
    from exotel_provider.client.request_budget import account_budget
    from exotel_provider.client.retry_policy import RetryPolicy
    from exotel_provider.errors import ExotelAPIError
    from exotel_provider.hooks.exotel import settings_from_connection

    settings = settings_from_connection(await BaseHook.aget_connection("exotel_default"))
    budget = account_budget(settings)
    async with ExotelAsyncClient(settings, budget=budget, retry_policy=RetryPolicy(max_attempts=1)) as client:

        async def ask() -> None:
            while time.monotonic() < deadline:
                try:
                    await client.list_calls(page_size=1)
                    answers.append((time.time(), 200))
                except ExotelAPIError as err:
                    answers.append((time.time(), err.status_code))

        await asyncio.gather(*(ask() for _ in range(TRIGGERER_COROUTINES)))


if __name__ == "__main__":
    sys.exit(main())
