"""A lost placing answer, deferrable ``ExotelConnectOperator``: the request's window is kept (the task
state store, or the deferral itself on Airflow 3.1/3.2) and the task waits deferred, holding no
worker and reading no listing, until one look over the window that began at ``sent_at`` can decide:
it adopts the call, or fails safe once ``reconcile_timeout`` has passed. Nobody is dialled twice."""

from __future__ import annotations

import re
from typing import Any

import pytest

from exotel_provider.operators.exotel import UNKNOWN_WINDOW_KEY
from exotel_provider.placement.reconciliation import PlacementAttempt
from exotel_provider.simulator import CONNECT_PATH, LISTING_PATH, Fault
from exotel_provider.task_errors import CallOutcomeUnknown
from tests.support.operator_runs import CUSTOMER, context, operator
from tests.support.simulated_tasks import connection_env, guard_on_simulator_clock
from tests.support.task_doubles import DictStateStore

try:
    from airflow.sdk.exceptions import TaskDeferred
except ImportError:  # Airflow 3.1
    from airflow.exceptions import TaskDeferred  # type: ignore[no-redef]

pytestmark = pytest.mark.exotel_simulator(time_scale=0)  # simulated time moves only when told


@pytest.fixture
def simulator(exotel_simulator, monkeypatch):
    connection_env(monkeypatch, exotel_simulator, timeout=1.0)
    guard_on_simulator_clock(monkeypatch, exotel_simulator)
    exotel_simulator.inject_fault(Fault("drop", method="POST", path=CONNECT_PATH))  # our answer is lost
    return exotel_simulator


def deferrable(**overrides: Any) -> Any:
    return operator(deferrable=True, time_limit=60, time_out=30, poll_interval=0.1, **overrides)


def requests_to(simulator, path: str, method: str) -> int:
    return sum(r.method == method and re.search(path, r.path) is not None for r in simulator.requests)


def lose_the_answer(simulator, ctx: dict[str, Any], **overrides: Any) -> Any:
    """The first execute: the POST places the call, its answer is lost, the task defers."""
    sent_at = simulator.now()
    with pytest.raises(TaskDeferred) as caught:
        deferrable(**overrides).execute(ctx)
    deferred = caught.value
    assert deferred.method_name == "execute_after_window"
    assert deferred.kwargs[UNKNOWN_WINDOW_KEY]["sent_at"] >= sent_at
    assert (requests_to(simulator, CONNECT_PATH, "POST"), requests_to(simulator, LISTING_PATH, "GET")) == (
        1,
        0,
    )
    return deferred


def moment_of(deferred: Any) -> float:
    return deferred.trigger.serialize()[1]["moment"].timestamp()


@pytest.mark.parametrize("store", [DictStateStore, None], ids=["state store", "no store (3.1/3.2)"])
def test_a_lost_answer_waits_deferred_then_one_look_over_its_window_adopts_the_call(simulator, store):
    ctx = context(store() if store else None)
    deferred = lose_the_answer(simulator, ctx, reconcile_timeout=7200)
    window = deferred.kwargs[UNKNOWN_WINDOW_KEY]
    request = deferrable().build_request()
    complete_at = PlacementAttempt(request, window["sent_at"], window["settled_at"]).certainly_listed_by()
    assert moment_of(deferred) == pytest.approx(complete_at)  # the wait ends when a look can decide
    simulator.advance(moment_of(deferred) - simulator.now() + 1)

    resumed = deferrable(reconcile_timeout=7200)  # Airflow resumes a fresh operator
    sid = resumed.execute_after_window(ctx, event=None, **deferred.kwargs)

    [call] = simulator.placed_calls(CUSTOMER)
    assert sid == call.sid == ctx["ti"].xcom["call_sid"]
    assert (requests_to(simulator, CONNECT_PATH, "POST"), requests_to(simulator, LISTING_PATH, "GET")) == (
        1,
        1,
    )


def test_a_window_not_complete_within_reconcile_timeout_fails_safe_after_one_look(simulator):
    ctx = context(DictStateStore())
    deferred = lose_the_answer(simulator, ctx, reconcile_timeout=600)
    window = deferred.kwargs[UNKNOWN_WINDOW_KEY]
    assert moment_of(deferred) == pytest.approx(window["deadline"])  # before the window completes
    simulator.advance(moment_of(deferred) - simulator.now() + 1)

    with pytest.raises(CallOutcomeUnknown) as caught:
        deferrable(reconcile_timeout=600).execute_after_window(ctx, event=None, **deferred.kwargs)

    assert "reconcile_timeout" in str(caught.value) and "Check Exotel's call logs" in str(caught.value)
    assert len(simulator.placed_calls(CUSTOMER)) == 1
    assert (requests_to(simulator, CONNECT_PATH, "POST"), requests_to(simulator, LISTING_PATH, "GET")) == (
        1,
        1,
    )


def test_a_retry_with_the_window_in_its_store_waits_for_it_instead_of_searching(simulator):
    store = DictStateStore()
    lose_the_answer(simulator, context(store), reconcile_timeout=7200)  # then the worker is lost
    simulator.advance(60)

    with pytest.raises(TaskDeferred) as caught:
        deferrable(reconcile_timeout=7200).execute(context(store, try_number=2))

    window = caught.value.kwargs[UNKNOWN_WINDOW_KEY]
    assert window["sent_at"] <= simulator.now() - 60  # the first try's sent_at, not the retry's start
    assert (requests_to(simulator, CONNECT_PATH, "POST"), requests_to(simulator, LISTING_PATH, "GET")) == (
        1,
        1,
    )
