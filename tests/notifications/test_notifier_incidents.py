"""ExotelCallNotifier against the simulator over HTTP: one call per incident, per task, cooldown,
callbacks racing in separate processes, escalation, and the awaited (triggerer) form."""

from __future__ import annotations

import multiprocessing

import pytest
from notifier_helpers import (
    BACKUP,
    MANAGER,
    ON_CALL,
    claim_in_this_process,
    clear_page_claims,
    dag_with_failing_tasks,
    notify_in_this_process,
    page_claim_count,
    task_context,
)

from exotel_provider.notifications.exotel import ExotelCallNotifier
from tests.support.airflow_runs import run_dag, task_states

pytestmark = pytest.mark.exotel_simulator(time_scale=120)
CALLER_ID = "08047112345"


@pytest.fixture(autouse=True)
def _fresh_claims():
    from tests.support.airflow_runs import ensure_metadata_db

    ensure_metadata_db()
    clear_page_claims()
    yield
    clear_page_claims()


def _notifier(**options) -> ExotelCallNotifier:
    return ExotelCallNotifier(
        to_number=ON_CALL, app_id="940", caller_id=CALLER_ID, settle_seconds=0.3, **options
    )


def test_three_failing_tasks_of_one_run_give_one_call_and_a_second_run_its_own(exotel_connection_env):
    simulator = exotel_connection_env
    dag = dag_with_failing_tasks("test_page_once_per_run", _notifier())

    first = run_dag(dag)
    assert sorted(task_states(first).values()) == ["failed"] * 3
    [call] = simulator.placed_calls()
    tasks = ("extract", "transform", "load")  # whichever failed first called
    assert call.request.custom_field in {f"test_page_once_per_run/{name} failed" for name in tasks}

    run_dag(dag)
    assert len(simulator.placed_calls()) == 2  # the second run is a new incident
    assert [r.is_connect for r in simulator.requests] == [True, True]


def test_failing_map_indexes_of_one_task_give_one_call(exotel_connection_env):
    dag_run = run_dag(dag_with_failing_tasks("test_page_mapped", _notifier(), mapped=True))
    assert sorted(task_states(dag_run).values()) == ["failed"] * 3
    assert len(exotel_connection_env.placed_calls()) == 1


def test_per_task_calls_once_for_each_failed_task(exotel_connection_env):
    run_dag(dag_with_failing_tasks("test_page_per_task", _notifier(per="task")))
    fields = sorted(call.request.custom_field for call in exotel_connection_env.placed_calls())
    tasks = [f"test_page_per_task/{name} failed" for name in ("extract", "load", "transform")]
    assert fields == ["test_page_per_task failed", *tasks]  # the DAG's own callback reports the run


def test_min_interval_silences_the_next_run_of_a_flapping_dag(exotel_connection_env):
    dag = dag_with_failing_tasks("test_page_cooldown", _notifier(min_interval=3600))
    run_dag(dag)
    run_dag(dag)
    assert len(exotel_connection_env.placed_calls()) == 1


def test_callbacks_racing_in_separate_processes_place_one_call(exotel_connection_env):
    """Four workers' task callbacks for the same run, started together, each in its own process."""
    kwargs = {"to_number": ON_CALL, "app_id": "940", "caller_id": CALLER_ID, "settle_seconds": 1.0}
    spawn = multiprocessing.get_context("spawn")
    runs = {"run_a": ["extract", "transform", "load", "publish"], "run_b": ["extract", "load"]}
    workers = [
        spawn.Process(target=notify_in_this_process, args=(kwargs, task_context("test_page_race", run, task)))
        for run, tasks in runs.items()
        for task in tasks
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert [worker.exitcode for worker in workers] == [0] * len(workers)
    assert len(exotel_connection_env.placed_calls()) == 2  # one per run
    assert page_claim_count() == 2


def test_claims_through_variables_alone_elect_one_process():
    """No machine lock: the write-then-read-back protocol on Airflow Variables on its own."""
    spawn = multiprocessing.get_context("spawn")
    with spawn.Pool(4) as pool:
        results = pool.starmap(claim_in_this_process, [("test_claim_race", "run_x", 3.0)] * 4)
    assert results.count(True) == 1, results


@pytest.mark.exotel_simulator(time_scale=600)
def test_escalation_calls_the_next_number_when_the_first_is_busy(exotel_connection_env):
    simulator = exotel_connection_env
    simulator.script(ON_CALL, outcome="busy")
    notifier = _notifier(escalate_to=[BACKUP, MANAGER], escalation_poll_interval=0.2, escalation_timeout=120)

    notifier(task_context("test_page_escalation", "run_1", "load"))

    placed = simulator.placed_calls()
    assert [call.from_number for call in placed] == ["09876500999", "09876500998"]  # the manager is spared
    assert [call.status_at(simulator.now()) for call in placed] == ["busy", "completed"]


async def test_the_awaited_form_places_the_call_for_a_deadline_alert(exotel_connection_env):
    """How the triggerer runs an AsyncCallback: the class called with its kwargs and a context, awaited."""
    context = {"dag_run": {"dag_id": "test_page_deadline", "dag_run_id": "scheduled__2026-01-01"}}
    notifier = ExotelCallNotifier(
        to_number=ON_CALL, app_id="940", caller_id=CALLER_ID, settle_seconds=0.3, context=context
    )

    await notifier
    await ExotelCallNotifier(to_number=ON_CALL, app_id="940", caller_id=CALLER_ID, context=context)

    [call] = exotel_connection_env.placed_calls()
    assert call.request.custom_field == "test_page_deadline failed"


@pytest.mark.exotel_simulator(time_scale=600)
async def test_the_awaited_form_escalates_too(exotel_connection_env):
    exotel_connection_env.script(ON_CALL, outcome="no-answer")
    context = {"dag_run": {"dag_id": "test_page_deadline_chain", "run_id": "r1"}}
    notifier = _notifier(escalate_to=[BACKUP], escalation_poll_interval=0.2, context=context)

    await notifier

    assert [c.from_number for c in exotel_connection_env.placed_calls()] == ["09876500999", "09876500998"]


def test_bad_input_fails_before_any_claim_or_request(exotel_connection_env):
    from exotel_provider.errors import ExotelValidationError

    notifier = _notifier(escalate_to=["12345"])
    with pytest.raises(ExotelValidationError):
        notifier(task_context("test_page_bad_input", "run_1", "load"))
    assert exotel_connection_env.requests == []
    assert page_claim_count() == 0


def test_a_deadline_alert_takes_the_notifier_and_hands_it_the_context():
    callback_module = pytest.importorskip("airflow.sdk.definitions.callback")
    module_loading = pytest.importorskip("airflow._shared.module_loading")

    callback = callback_module.AsyncCallback(
        ExotelCallNotifier, kwargs={"to_number": ON_CALL, "app_id": "940"}
    )

    assert callback.path == "exotel_provider.notifications.exotel.ExotelCallNotifier"
    assert module_loading.accepts_context(ExotelCallNotifier)  # so the triggerer passes the run's context


def test_a_call_exotel_refused_gives_the_claim_back_so_the_next_callback_tries(exotel_connection_env):
    from exotel_provider.errors import ExotelForbiddenError

    simulator = exotel_connection_env
    simulator.script(ON_CALL, reject_status=403, reject_message="Number is on the DND list")
    notifier = _notifier()

    with pytest.raises(ExotelForbiddenError):
        notifier(task_context("test_page_refused", "run_1", "extract"))
    assert page_claim_count() == 0
    simulator.script(ON_CALL, outcome="completed")
    notifier(task_context("test_page_refused", "run_1", "load"))

    assert [r.is_connect for r in simulator.requests] == [True, True]
    assert len(simulator.placed_calls()) == 1


def test_a_lost_answer_keeps_the_claim_so_nobody_is_called_twice(exotel_connection_env):
    from exotel_provider.errors import ExotelCallOutcomeUnknownError
    from exotel_provider.simulator import CONNECT_PATH

    simulator = exotel_connection_env
    simulator.inject_fault("drop", method="POST", path=CONNECT_PATH)  # call placed, answer lost
    notifier = _notifier()

    with pytest.raises(ExotelCallOutcomeUnknownError):
        notifier(task_context("test_page_lost_answer", "run_1", "extract"))
    notifier(task_context("test_page_lost_answer", "run_1", "load"))

    assert len(simulator.placed_calls()) == 1
    assert [r.is_connect for r in simulator.requests] == [True]


def _closed_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def unreachable_exotel(exotel_connection_env, monkeypatch):
    """Point the connection at a closed port (connection refused: nothing ever reaches Exotel), with
    client retries that do not wait; the returned function points it back at the simulator."""
    import json

    from exotel_provider.client import retry_policy, sync_client
    from exotel_provider.simulator.pytest_plugin import CONNECTION_ENV_VAR

    monkeypatch.setattr(
        sync_client,
        "RetryPolicy",
        lambda: retry_policy.RetryPolicy(max_attempts=2, initial_wait=0.01, max_wait=0.02),
    )
    simulator = exotel_connection_env
    closed = {**simulator.connection(), "host": f"http://127.0.0.1:{_closed_port()}"}
    monkeypatch.setenv(CONNECTION_ENV_VAR, json.dumps(closed))
    return lambda: monkeypatch.setenv(CONNECTION_ENV_VAR, simulator.connection_json())


def test_an_unreachable_exotel_gives_the_claim_back_so_the_next_failure_pages(
    exotel_connection_env, unreachable_exotel
):
    from exotel_provider.errors import ExotelUnreachableError

    simulator = exotel_connection_env
    with pytest.raises(ExotelUnreachableError):
        _notifier()(task_context("test_page_unreachable", "run_1", "extract"))
    assert simulator.requests == []  # nothing reached Exotel: no call can exist
    assert page_claim_count() == 0

    unreachable_exotel()  # Exotel is back
    _notifier()(task_context("test_page_unreachable", "run_1", "load"))

    [call] = simulator.placed_calls()
    assert call.request.custom_field == "test_page_unreachable/load failed"
    assert page_claim_count() == 1


@pytest.mark.parametrize("after_processing", [True, False], ids=["call-placed", "call-not-placed"])
def test_an_answer_lost_after_the_request_reached_exotel_keeps_the_claim(
    exotel_connection_env, after_processing
):
    """Once the POST reached Exotel a call may exist, whether or not it does: never page twice."""
    from exotel_provider.errors import ExotelCallOutcomeUnknownError
    from exotel_provider.simulator import CONNECT_PATH

    simulator = exotel_connection_env
    simulator.inject_fault("drop", method="POST", path=CONNECT_PATH, after_processing=after_processing)

    with pytest.raises(ExotelCallOutcomeUnknownError):
        _notifier()(task_context("test_page_dropped", "run_1", "extract"))
    assert page_claim_count() == 1
    _notifier()(task_context("test_page_dropped", "run_1", "load"))

    assert [r.is_connect for r in simulator.requests] == [True]
    assert len(simulator.placed_calls()) == int(after_processing)
