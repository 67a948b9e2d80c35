"""A task run as Airflow would run it (tries, retries, XCom per try, a task_state_store), for the
reliability tests; plus the counts they report."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest

from exotel_provider.airflow_compat import AirflowFailException
from exotel_provider.operators.exotel import ExotelConnectOperator
from tests.support.operator_runs import CUSTOMER, EXOPHONE, operator  # noqa: F401  (re-exported for the reliability tests)
from tests.support.operator_runs import context as task_context
from tests.support.task_doubles import DictStateStore

COUNTS: Counter[str] = Counter()
"""Totals over the session: faults injected, scenarios run, duplicate calls, secrets found."""


@dataclass
class FakeDagRun:
    start_date: datetime = field(default_factory=lambda: datetime.now(UTC))


def context(store: DictStateStore | None, try_number: int = 1, dag_run: FakeDagRun | None = None) -> dict:
    """A task context inside a DAG run (its start date dates a retry's unknown outcome)."""
    return task_context(store, try_number, dag_run or FakeDagRun())


def fast_operator(**overrides: Any) -> ExotelConnectOperator:
    """The test operator, reconciling a lost answer within half a second (polling every 50 ms)."""
    return operator(**{"poll_interval": 0.05, "reconcile_timeout": 0.5, **overrides})


@dataclass
class TaskRun:
    """What an Airflow task instance ended with after its tries."""

    tries: int
    xcom: dict[str, Any]
    error: BaseException | None
    returned: Any = None
    errors: list[BaseException] = field(default_factory=list)
    """The error of every try, the last one included."""

    @property
    def succeeded(self) -> bool:
        return self.error is None


def run_task(
    execute: Any,
    *,
    store: DictStateStore | None,
    retries: int,
    first_try_number: int = 1,
    dag_run: FakeDagRun | None = None,
) -> TaskRun:
    """Run ``execute(context)`` as Airflow would: retried on ordinary errors, not on AirflowFailException.

    Each try gets a fresh task instance (Airflow clears a try's XCom when the next one starts).
    """
    dag_run = dag_run or FakeDagRun()
    errors: list[BaseException] = []
    last = TaskRun(0, {}, None)
    for number in range(first_try_number, first_try_number + retries + 1):
        ctx = context(store, number, dag_run)
        try:
            returned = execute(ctx)
        except AirflowFailException as err:
            errors.append(err)
            return TaskRun(number, ctx["ti"].xcom, err, errors=errors)
        except Exception as err:
            errors.append(err)
            last = TaskRun(number, ctx["ti"].xcom, err, errors=errors)
            continue
        return TaskRun(number, ctx["ti"].xcom, None, returned, errors=errors)
    return last


def connection_env(monkeypatch: pytest.MonkeyPatch, simulator: Any, **extra: Any) -> None:
    """Point ``exotel_default`` at the simulator, with extra connection settings."""
    connection = simulator.connection()
    connection["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(connection))


SLEEP_COMPRESSION = 10.0
"""The guard's waits take this many times less real time (the simulator skips the rest)."""


def guard_on_simulator_clock(monkeypatch: pytest.MonkeyPatch, simulator: Any) -> None:
    """The placement guard reads the simulator's clock: send times, windows and deadlines are then in
    Exotel's time, as they are against the real Exotel. Each of its waits lets as much simulated time
    pass as a real sleep would (``time_scale`` simulated seconds per second), in a tenth of the real
    time: the simulator's clock jumps the rest (``advance``), calls and listings move on with it."""

    from exotel_provider.placement import guard

    monkeypatch.setattr(
        guard, "DEFAULT_CLOCK", guard.FunctionClock(simulator.now, compressed_sleep(simulator))
    )


def compressed_sleep(simulator: Any) -> Any:
    """``sleep(seconds)``: ``seconds / SLEEP_COMPRESSION`` real seconds, the simulated rest skipped."""
    import time

    scale = simulator._state.clock.time_scale

    def sleep(seconds: float) -> None:
        if not scale:  # a frozen simulator: a real sleep, as before
            time.sleep(seconds)
            return
        real = max(0.0, seconds) / SLEEP_COMPRESSION
        time.sleep(real)
        simulator.advance((max(0.0, seconds) - real) * scale)

    return sleep


class WorkerDied(Exception):
    """The worker process vanished (here: raised right after the call-placing request returned)."""


def die_once_before_the_sid_is_saved(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The worker vanishes once, after Exotel answered and before the Sid reached the state store."""
    from exotel_provider.placement.guard import PlacementGuard

    original = PlacementGuard._save
    deaths: list[str] = []

    def die_once(self, call):
        if not deaths:
            deaths.append(call.sid)
            raise WorkerDied("worker lost right after Exotel answered")
        original(self, call)

    monkeypatch.setattr(PlacementGuard, "_save", die_once)
    return deaths
