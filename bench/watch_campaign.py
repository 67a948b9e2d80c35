"""Benchmark: watching a campaign of calls with ExotelCallTrigger vs naive per-call polling.

    python bench/watch_campaign.py                 # 1,000 calls
    python bench/watch_campaign.py --calls 10000

For each approach, a fresh Exotel simulator runs in its own process (no rate limit, so both
approaches show what they would ask of Exotel), and a separate process places N calls with scripted
outcomes and watches them in one asyncio loop. The simulator's clock stands still while the calls
are placed (so all N watches run at once), then the watching process drives it forward at
``--time-scale`` simulated seconds per real second, and the watchers run on that same clock:

- batched: N real ``ExotelCallTrigger.run()`` coroutines, as a triggerer runs them (sharing one
  watcher, within the connection's request budget);
- baseline: N coroutines that each GET their call every poll interval until it is final (what
  per-call triggers do), with the same async client and the same ``assess_call``.

It prints, per approach: requests per call (the POST included), the peak of watching requests in
any 60 s of simulated time, the delay between the simulator filling in a call's price and the
event (simulated seconds), peak RSS and CPU seconds of the watching process (not the simulator's).
Then the parse cost of a DAG file importing the operator and sensor, against two EmptyOperators.
"""

from __future__ import annotations

import argparse
import asyncio
import heapq
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any
from unittest import mock

ROOT = Path(__file__).resolve().parents[1]

# Varied scripted calls (simulated seconds). Calls go to these numbers in turn; one in 50 talks for
# 20 minutes (looked up on its own once), one in 50 is never priced (final when the grace ends).
PROFILES: list[dict[str, Any]] = [
    {"outcome": "completed", "talk_seconds": 20, "pricing_delay_seconds": 60},
    {"outcome": "completed", "talk_seconds": 45, "pricing_delay_seconds": 120},
    {"outcome": "completed", "talk_seconds": 90, "pricing_delay_seconds": 90},
    {"outcome": "completed", "talk_seconds": 150, "pricing_delay_seconds": 180},
    {"outcome": "completed", "talk_seconds": 240, "pricing_delay_seconds": 300},
    {"outcome": "completed", "talk_seconds": 60, "pricing_delay_seconds": 150},
    {"outcome": "busy", "pricing_delay_seconds": 120},
    {"outcome": "no-answer", "pricing_delay_seconds": 90},
    {"outcome": "failed", "pricing_delay_seconds": 60},
    {"outcome": "canceled", "ring_seconds": 5, "pricing_delay_seconds": 240},
]
MIX = PROFILES * 5
MIX[0] = {"outcome": "completed", "talk_seconds": 1200, "pricing_delay_seconds": 120}
MIX[1] = {"outcome": "failed", "never_priced": True}


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--time-scale", type=float, default=60.0, help="simulated seconds per real second")
    parser.add_argument("--poll-interval", type=float, default=30.0, help="simulated seconds")
    parser.add_argument(
        "--budget", type=int, default=150, help="requests per minute (extra.requests_per_minute)"
    )
    parser.add_argument("--grace", type=float, default=600.0, help="pricing grace period, simulated seconds")
    parser.add_argument("--parse-repeats", type=int, default=15)
    parser.add_argument(
        "--baseline-calls",
        type=int,
        default=2000,
        help="calls the naive baseline watches (at most --calls): beyond a few thousand its own CPU use "
        "makes a run take many minutes on a small machine; its per-call figures hardly change",
    )
    parser.add_argument("--skip-baseline", action="store_true")
    parser.add_argument("--phase", choices=["batched", "baseline"], help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        result = asyncio.run(run_phase(args))
        print(json.dumps(result))
        return 0

    print(
        f"Campaign of {args.calls} calls, x{args.time_scale:g} time, poll interval {args.poll_interval:g} s, "
        f"budget {args.budget}/min, pricing grace {args.grace:g} s (simulated seconds throughout)"
    )
    results = {"batched": measure("batched", args, args.calls)}
    if not args.skip_baseline:
        baseline_calls = min(args.calls, args.baseline_calls)
        results["baseline"] = measure("baseline", args, baseline_calls)
        if baseline_calls < args.calls:
            print(f"(the baseline watched {baseline_calls} calls; see --baseline-calls)")
    report(results, args)
    parse = parse_cost(args.parse_repeats)
    print(
        f"\nDAG-file parse cost (median of {args.parse_repeats} fresh processes, after `import airflow.sdk`):\n"
        f"  two EmptyOperators {parse['empty_ms']:.1f} ms, with ExotelConnectOperator + ExotelCallSensor "
        f"{parse['provider_ms']:.1f} ms: +{parse['difference_ms']:.1f} ms (target <= 30 ms)"
    )
    return 0


# --- orchestration ---------------------------------------------------------------------------------


def measure(mode: str, args: argparse.Namespace, calls: int) -> dict[str, Any]:
    port = free_port()
    simulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "exotel_provider.simulator",
            "--port",
            str(port),
            "--time-scale",
            "0",  # frozen: the watching process drives it
            "--rate-limit",
            "0",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base_url = f"http://127.0.0.1:{port}"
        wait_for_health(base_url)
        command = [
            sys.executable,
            __file__,
            "--phase",
            mode,
            "--base-url",
            base_url,
            "--calls",
            str(calls),
            "--time-scale",
            str(args.time_scale),
            "--poll-interval",
            str(args.poll_interval),
            "--budget",
            str(args.budget),
            "--grace",
            str(args.grace),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"{mode} phase failed:\n{done.stderr[-4000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace) -> None:
    rows = [
        ("requests per call (POST included)", "requests_per_call", "{:.3f}", "<= 1.2"),
        ("watching requests (GET)", "watch_requests", "{:d}", ""),
        ("single-call lookups", "lookups", "{:d}", ""),
        ("peak watching requests in any 60 s", "peak_per_minute", "{:d}", f"<= {args.budget}"),
        ("delay price -> event, median (s)", "delay_median", "{:.1f}", f"<= {args.poll_interval:g}"),
        ("delay price -> event, max (s)", "delay_max", "{:.1f}", ""),
        ("events: final / timeout / error", "outcomes", "{}", ""),
        ("calls watched", "calls", "{:d}", ""),
        ("peak concurrent watches", "peak_concurrent", "{:d}", ""),
        ("peak RSS (MB)", "peak_rss_mb", "{:.0f}", "< 300 (10,000 calls)"),
        ("  of which before watching (MB)", "rss_before_mb", "{:.0f}", ""),
        ("CPU seconds while watching", "cpu_seconds", "{:.1f}", ""),
        ("wall seconds", "wall_seconds", "{:.1f}", ""),
    ]
    names = list(results)
    print("\n" + f"{'':38}" + "".join(f"{name:>16}" for name in names) + "   target")
    for label, key, fmt, target in rows:
        cells = "".join(f"{fmt.format(results[name][key]):>16}" for name in names)
        print(f"{label:38}{cells}   {target}")


def wait_for_health(base_url: str) -> dict[str, Any]:
    import httpx

    deadline = time.monotonic() + 30
    while True:
        try:
            return httpx.get(f"{base_url}/_simulator/health", timeout=2).json()
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- one phase, in its own process -------------------------------------------------------------------


async def run_phase(args: argparse.Namespace) -> dict[str, Any]:
    import httpx
    from airflow.sdk import BaseHook  # noqa: F401  (both phases carry Airflow, as a triggerer does)

    from exotel_provider.calls.connect_request import build_connect_request
    from exotel_provider.client.async_client import ExotelAsyncClient
    from exotel_provider.client.settings import ExotelSettings
    from exotel_provider.simulator.clock import parse_exotel_time
    from exotel_provider.triggers.exotel import ExotelCallTrigger
    from exotel_provider.watching import registry
    from exotel_provider.watching.registry import active_watchers

    health = wait_for_health(args.base_url)
    clock = DrivenClock(start=health["sim_time"])
    connection = {
        "conn_type": "exotel",
        "login": "sim-key",
        "password": "sim-token",
        "host": args.base_url,
        "extra": {"account_sid": health["account_sid"], "requests_per_minute": args.budget},
    }
    os.environ["AIRFLOW_CONN_EXOTEL_DEFAULT"] = json.dumps(connection)
    settings = ExotelSettings.from_connection(
        login=connection["login"],
        password=connection["password"],
        host=args.base_url,
        extra=connection["extra"],
    )
    numbers = [f"+91987650{index:04d}" for index in range(len(MIX))]
    async with httpx.AsyncClient(base_url=args.base_url) as control:
        for number, script in zip(numbers, MIX, strict=True):
            (await control.post("/_simulator/scripts", json={"number": number, **script})).raise_for_status()
    requests = [
        build_connect_request(
            account_sid=settings.account_sid,
            from_number=numbers[i % len(numbers)],
            caller_id="08047112345",
            app_id=926,
        )
        for i in range(args.calls)
    ]

    rss_before = peak_rss_mb()
    cpu_before = cpu_seconds()
    wall_start = time.monotonic()
    events: list[tuple[float, dict[str, Any]]] = []
    running = 0
    peak_running = 0
    watcher_stats: dict[str, Any] = {}

    async def watch_batched(sid: str) -> None:
        nonlocal running, peak_running
        running += 1
        peak_running = max(peak_running, running)
        trigger = ExotelCallTrigger(
            sid,
            deadline=clock.now() + 4 * 3600,
            poll_interval=args.poll_interval,
            pricing_grace_seconds=args.grace,
        )
        async for event in trigger.run():
            events.append((clock.now(), event.payload))
        running -= 1

    async def watch_naive(client: ExotelAsyncClient, sid: str) -> None:
        from exotel_provider.calls.progress import assess_call

        nonlocal running, peak_running
        running += 1
        peak_running = max(peak_running, running)
        ended_seen_at = None
        while True:
            call = await client.get_call(sid)
            now = clock.now()
            if call.is_terminal and ended_seen_at is None:
                ended_seen_at = now
            assessment = assess_call(
                call, ended_seen_at=ended_seen_at, now=now, pricing_grace_seconds=args.grace
            )
            if assessment.is_final:
                events.append((now, {"status": "final", "call": call.to_dict()}))
                break
            await clock.sleep(args.poll_interval)
        running -= 1

    with mock.patch.object(registry, "_clock", clock):  # the triggers' watchers run on simulated time
        placer = ExotelAsyncClient(settings, clock=clock, max_connections=20)
        poller = ExotelAsyncClient(settings, clock=clock, max_connections=20)
        tasks: list[asyncio.Task[None]] = []
        queue: asyncio.Queue[int] = asyncio.Queue()
        for index in range(args.calls):
            queue.put_nowait(index)

        async def place_worker() -> None:
            while not queue.empty():
                index = queue.get_nowait()
                call = await placer.place_call(requests[index])
                watch = watch_batched(call.sid) if args.phase == "batched" else watch_naive(poller, call.sid)
                tasks.append(asyncio.create_task(watch))

        async def keep_watcher_stats() -> None:
            while True:
                for watcher in active_watchers():
                    watcher_stats.update(vars(watcher.stats))
                await asyncio.sleep(0.2)

        async def drive_time(control: httpx.AsyncClient) -> None:
            """Move the simulator's clock and ours together, ``time_scale`` times faster than real time."""
            last = time.monotonic()
            while True:
                await asyncio.sleep(0.05)
                now = time.monotonic()
                step = (now - last) * args.time_scale
                last = now
                (await control.post("/_simulator/advance", json={"seconds": step})).raise_for_status()
                clock.advance(step)

        stats_task = asyncio.create_task(keep_watcher_stats())
        await asyncio.gather(*(place_worker() for _ in range(16)))
        async with httpx.AsyncClient(base_url=args.base_url, timeout=30) as control:
            driver = asyncio.create_task(drive_time(control))
            await asyncio.gather(*tasks)
            driver.cancel()
        stats_task.cancel()
        await placer.aclose()
        await poller.aclose()

    wall = time.monotonic() - wall_start
    cpu = cpu_seconds() - cpu_before
    rss = peak_rss_mb()
    async with httpx.AsyncClient(base_url=args.base_url, timeout=120) as control:
        log = (await control.get("/_simulator/requests")).json()

    delays = []
    for event_time, payload in events:
        call = payload.get("call") or {}
        if payload["status"] == "final" and call.get("Price") is not None:
            delays.append(event_time - parse_exotel_time(call["DateUpdated"]))
    watching = sorted(entry["sim_time"] for entry in log if entry["method"] == "GET")
    statuses = [payload["status"] for _, payload in events]
    return {
        "calls": args.calls,
        "requests_per_call": len(log) / args.calls,
        "watch_requests": len(watching),
        "lookups": sum(1 for entry in log if entry["method"] == "GET" and "/Calls/" in entry["path"])
        if args.phase == "batched"
        else 0,
        "peak_per_minute": peak_in_window(watching, 60.0),
        "delay_median": statistics.median(delays) if delays else float("nan"),
        "delay_max": max(delays) if delays else float("nan"),
        "outcomes": f"{statuses.count('final')}/{statuses.count('timeout')}/{statuses.count('error')}",
        "peak_concurrent": peak_running,
        "peak_rss_mb": rss,
        "rss_before_mb": rss_before,
        "cpu_seconds": cpu,
        "wall_seconds": wall,
        "watcher": watcher_stats,
    }


class DrivenClock:
    """The watchers' clock in simulated seconds; it moves only when :meth:`advance` is called, in step
    with the simulator's frozen clock, and wakes the sleepers whose time has come."""

    def __init__(self, start: float) -> None:
        self._now = start
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._sequence = 0

    def now(self) -> float:
        return self._now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        wake = asyncio.get_running_loop().create_future()
        self._sequence += 1
        heapq.heappush(self._sleepers, (self._now + seconds, self._sequence, wake))
        await wake

    def advance(self, seconds: float) -> None:
        self._now += seconds
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, wake = heapq.heappop(self._sleepers)
            if not wake.done():
                wake.set_result(None)


def peak_in_window(times: list[float], window: float) -> int:
    recent: deque[float] = deque()
    peak = 0
    for instant in times:
        recent.append(instant)
        while recent[0] <= instant - window:
            recent.popleft()
        peak = max(peak, len(recent))
    return peak


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


# --- DAG-file parse cost -----------------------------------------------------------------------------


def parse_cost(repeats: int) -> dict[str, float]:
    """The parse time of the operator-and-sensor DAG file against two EmptyOperators (dag_parse_time.py)."""
    from dag_parse_time import parse_times  # bench/ is this script's folder, first on sys.path

    timings, _ = parse_times(repeats)
    empty, exotel = statistics.median(timings["empty"]), statistics.median(timings["exotel"])
    return {"empty_ms": empty, "provider_ms": exotel, "difference_ms": exotel - empty}


if __name__ == "__main__":
    sys.exit(main())
