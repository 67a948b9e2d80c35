"""The fault matrix: injected faults x Airflow events, judged by what the simulator received.

Each scenario runs the call-placing task (and a sensor where it waits) as Airflow would run it,
retries and clears included, against a simulator that misbehaves on purpose. Whatever happens,
the person is never called twice, and every call placed ends with its Sid and final outcome in
XCom, or in a clear typed error.

Deferrable waiting has its own checks in tests/triggers: a trigger run twice at once
(test_trigger.py) and a trigger run again after a triggerer restart (test_triggerer_restart.py)
place no call and deliver the same final outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from exotel_provider.errors import (
    ExotelAuthenticationError,
    ExotelCallOutcomeUnknownError,
    ExotelError,
)
from exotel_provider.operators.exotel import PLACED_CALL_KEY, ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor
from exotel_provider.simulator import CALL_PATH, CONNECT_PATH, LISTING_PATH, Fault
from tests.support.operator_runs import CUSTOMER, EXOPHONE
from tests.support.simulated_tasks import (
    COUNTS,
    DictStateStore,
    FakeDagRun,
    TaskRun,
    connection_env,
    context,
    die_once_before_the_sid_is_saved,
    guard_on_simulator_clock,
    run_task,
)

pytestmark = [pytest.mark.exotel_simulator(time_scale=600), pytest.mark.usefixtures("fast_retries")]

CLIENT_TIMEOUT = 1.0


@dataclass(frozen=True)
class FaultCase:
    name: str
    faults: tuple[Fault, ...]
    calls: int
    """Calls the person receives: 1, or 0 where the fault leaves no call and a clear error."""
    error: type[ExotelError] | None = None


def post(kind: str, **fields: Any) -> Fault:
    return Fault(kind, method="POST", path=CONNECT_PATH, **fields)


def get(kind: str, **fields: Any) -> Fault:
    return Fault(kind, method="GET", path=CALL_PATH, **fields)


PLACEMENT_FAULTS = [
    FaultCase("429-retry-after", (post("status", status=429, retry_after=1, times=2),), 1),
    FaultCase("429-no-retry-after", (post("status", status=429, times=2),), 1),
    # Every 5xx is an unknown outcome; the guard proves from the listing that nothing was placed
    # (before-accept) and dials once, or adopts the call the request placed (after-accept).
    FaultCase("503-before-accept", (post("status", status=503),), 1),
    FaultCase("503-after-accept", (post("status", status=503, after_processing=True),), 1),
    FaultCase("500-before-accept", (post("status", status=500),), 1),
    FaultCase("500-after-accept", (post("status", status=500, after_processing=True),), 1),
    FaultCase("502-after-accept", (post("status", status=502, after_processing=True),), 1),
    FaultCase("delay-past-timeout", (post("delay", delay_seconds=CLIENT_TIMEOUT + 0.3),), 1),
    FaultCase("drop-after-accept", (post("drop"),), 1),
    FaultCase("drop-before-accept", (post("drop", after_processing=False),), 1),
    FaultCase("malformed-json", (post("malformed_json"),), 1),
    FaultCase("xml-instead-of-json", (post("xml_instead_of_json"),), 1),
    FaultCase("html-502-page", (post("html_page"),), 1),
    FaultCase("html-200-page", (post("html_page", status=200),), 1),
    FaultCase("empty-body", (post("empty_body"),), 1),
    FaultCase(
        "credentials-rejected", (post("credentials_rejected", times=None),), 0, ExotelAuthenticationError
    ),
    FaultCase(
        "drop-then-listing-500",
        (post("drop"), Fault("status", status=500, method="GET", path=LISTING_PATH)),
        1,
    ),
    FaultCase(
        "drop-then-listing-malformed",
        (post("drop"), Fault("malformed_json", method="GET", path=LISTING_PATH)),
        1,
    ),
]

READ_FAULTS = [
    FaultCase("get-500", (get("status", status=500, times=2),), 1),
    FaultCase("get-429", (get("status", status=429, retry_after=1, times=2),), 1),
    FaultCase("get-drop", (get("drop", times=2),), 1),
    FaultCase("get-delay", (get("delay", delay_seconds=CLIENT_TIMEOUT + 0.3),), 1),
    FaultCase("get-malformed-json", (get("malformed_json", times=2),), 1),
    FaultCase("get-xml-instead-of-json", (get("xml_instead_of_json", times=2),), 1),
    FaultCase("get-html", (get("html_page", times=2),), 1),
    FaultCase("get-empty", (get("empty_body", times=2),), 1),
    FaultCase(
        "get-credentials-rejected", (get("credentials_rejected", times=None),), 1, ExotelAuthenticationError
    ),
]


def operator(**overrides: Any) -> ExotelConnectOperator:
    params: dict[str, Any] = {
        "task_id": "place_call",
        "from_number": CUSTOMER,
        "app_id": 926,
        "caller_id": EXOPHONE,
        "wait_for_completion": True,
        "poll_interval": 0.1,
        # In simulated seconds (the guard runs on the simulator's clock, x600): long enough for
        # every call created around a lost request to be listed (TimeLimit 60, TimeOut 30).
        "reconcile_timeout": 2400,
        "time_limit": 60,
        "time_out": 30,
    }
    params.update(overrides)
    return ExotelConnectOperator(**params)


@pytest.fixture
def simulator(exotel_simulator, monkeypatch):
    connection_env(monkeypatch, exotel_simulator, timeout=CLIENT_TIMEOUT)
    guard_on_simulator_clock(monkeypatch, exotel_simulator)
    return exotel_simulator


def arm(simulator, case: FaultCase) -> None:
    for fault in case.faults:
        simulator.inject_fault(fault)


def judge(simulator, case: FaultCase, run: TaskRun) -> None:
    """The matrix's assertions, from the simulator's log and what the task left behind."""
    placed = simulator.placed_calls(CUSTOMER)
    COUNTS["scenarios run"] += 1
    COUNTS["faults injected"] += len(simulator.injected_faults)
    COUNTS["duplicate calls observed"] += max(0, len(placed) - 1)
    assert len(placed) <= 1, f"called {len(placed)} times"
    assert len(placed) == case.calls, (run.error, simulator.requests)
    if case.error is None:
        assert run.succeeded, run.error
    else:
        assert isinstance(run.error, case.error), run.error
    if placed:
        sid = placed[0].sid
        assert run.xcom.get("call_sid") == sid or sid in str(run.error), (run.xcom, run.error)
        if run.succeeded:
            assert run.xcom["return_value"] == sid
            assert run.xcom["call"]["Sid"] == sid and run.xcom["call"]["Status"] == "completed"
    else:
        assert isinstance(run.error, ExotelError)
        if isinstance(run.error, ExotelCallOutcomeUnknownError):
            assert "may have been placed" in str(run.error) and "Sid is unknown" in str(run.error)


# --- placement faults x Airflow events ----------------------------------------------------------


@pytest.mark.parametrize("case", PLACEMENT_FAULTS, ids=lambda case: case.name)
def test_fault_on_a_single_try(simulator, case):
    arm(simulator, case)
    run = run_task(operator().execute, store=DictStateStore(), retries=2)
    judge(simulator, case, run)


@pytest.mark.parametrize("case", PLACEMENT_FAULTS, ids=lambda case: case.name)
def test_fault_then_worker_dies_after_the_post_and_the_task_is_retried(simulator, case, monkeypatch):
    arm(simulator, case)
    deaths = die_once_before_the_sid_is_saved(monkeypatch)
    store = DictStateStore()

    run = run_task(operator().execute, store=store, retries=2)

    if deaths:
        assert run.tries >= 2
        assert PLACED_CALL_KEY in store.values or not run.succeeded  # the Sid supersedes the mark
    judge(simulator, case, run)


@pytest.mark.parametrize("case", PLACEMENT_FAULTS, ids=lambda case: case.name)
def test_fault_then_task_cleared_and_rerun(simulator, case):
    arm(simulator, case)
    store = DictStateStore()
    first = run_task(operator().execute, store=store, retries=1)
    simulator.clear_faults() if case.error is ExotelAuthenticationError else None

    rerun = run_task(operator().execute, store=store, retries=1, first_try_number=first.tries + 1)

    placed = simulator.placed_calls(CUSTOMER)
    if case.calls == 1:
        judge(simulator, case, rerun)
        assert first.xcom.get("call_sid") in (None, placed[0].sid)
    else:
        # No call was placed: a re-run never dials while an earlier request's outcome is unknown,
        # unless that request was refused (401): then the cleared task places its one call.
        refused = case.error is ExotelAuthenticationError
        judge(
            simulator, FaultCase(case.name, case.faults, int(refused), None if refused else case.error), rerun
        )


# --- Airflow 3.1/3.2: no task_state_store ----------------------------------------------------------


@pytest.mark.parametrize("case", [c for c in PLACEMENT_FAULTS if c.calls == 1][:6], ids=lambda c: c.name)
def test_without_state_store_a_retry_after_a_worker_death_looks_before_dialling(simulator, case, monkeypatch):
    arm(simulator, case)
    die_once_before_the_sid_is_saved(monkeypatch)

    run = run_task(operator().execute, store=None, retries=2, dag_run=FakeDagRun())

    judge(simulator, case, run)


# --- faults while waiting: operator wait and sensor timeout + retry ------------------------------------


@pytest.mark.parametrize("case", READ_FAULTS, ids=lambda case: case.name)
def test_read_fault_while_the_operator_waits(simulator, case):
    arm(simulator, case)
    run = run_task(operator().execute, store=DictStateStore(), retries=2)
    judge(simulator, case, run)


@pytest.mark.parametrize("case", READ_FAULTS, ids=lambda case: case.name)
def test_read_fault_then_sensor_times_out_and_is_retried(simulator, case):
    placing = run_task(operator(wait_for_completion=False).execute, store=DictStateStore(), retries=0)
    assert placing.succeeded
    sid = placing.xcom["call_sid"]
    arm(simulator, case)
    store = DictStateStore()

    first = ExotelCallSensor(task_id="wait", call_sid=sid, poke_interval=0.05)
    for _ in range(2):  # a couple of pokes, then the sensor's timeout strikes
        try:
            if first.poke(context(store)).is_done:
                break
        except ExotelError:
            break

    def retry(ctx):  # the retried sensor: a fresh instance poking until done
        sensor = ExotelCallSensor(task_id="wait", call_sid=sid, poke_interval=0.05)
        for _ in range(200):
            result = sensor.poke(ctx)
            if result.is_done:
                ctx["ti"].xcom_push("call", result.xcom_value)
                ctx["ti"].xcom_push("call_sid", sid)
                ctx["ti"].xcom_push("return_value", sid)
                return result.xcom_value
            simulator.advance(30)
        raise AssertionError("the sensor never finished")

    run = run_task(retry, store=store, retries=1, first_try_number=2)

    assert [r.method for r in simulator.requests].count("POST") == 1  # sensors never dial
    judge(simulator, case, run)
