"""Never call twice, through the public operator against the simulator: retries without a state
store, a remembered Sid that reads 404, siblings to the same number, Exotel's time zone, the Sid
saved first, a cleared task whose state was emptied, and failed reads while looking for a lost call.

The guard runs on the simulator's clock (x600), as it runs on Exotel's against the real service:
a lost call's window, and the moment every call of it must be listed, are in Exotel's time.
Our call and its siblings differ only in the flow (``app_id``), which the listing never shows.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from exotel_provider.calls.connect_request import build_connect_request
from exotel_provider.client.settings import ExotelSettings
from exotel_provider.client.sync_client import ExotelClient
from exotel_provider.errors import (
    ExotelCallOutcomeUnknownError,
    ExotelError,
    ExotelPlacedCallNotFoundError,
)
from exotel_provider.hooks.exotel import ExotelHook
from exotel_provider.operators.exotel import PLACED_CALL_KEY, ExotelConnectOperator
from exotel_provider.placement import guard as guard_module
from exotel_provider.simulator import CALL_PATH, CONNECT_PATH, LISTING_PATH, Fault
from exotel_provider.task_errors import CallOutcomeUnknown
from tests.support.simulated_tasks import (
    COUNTS,
    CUSTOMER,
    EXOPHONE,
    DictStateStore,
    FakeDagRun,
    TaskRun,
    connection_env,
    die_once_before_the_sid_is_saved,
    guard_on_simulator_clock,
    run_task,
)
from tests.support.task_doubles import RecordingTaskInstance

pytestmark = [pytest.mark.exotel_simulator(time_scale=600), pytest.mark.usefixtures("fast_retries")]

OUR_FLOW = 926
SIBLING_FLOW = 927
COMPLETE_WINDOW = 2400.0
"""Simulated seconds: more than it takes every call around a lost request to be listed (TimeLimit 60)."""


def operator(**overrides: Any) -> ExotelConnectOperator:
    params: dict[str, Any] = {
        "task_id": "place_call",
        "from_number": CUSTOMER,
        "app_id": OUR_FLOW,
        "caller_id": EXOPHONE,
        "poll_interval": 0.1,
        "reconcile_timeout": COMPLETE_WINDOW,
        "time_limit": 60,
        "time_out": 30,
    }
    params.update(overrides)
    return ExotelConnectOperator(**params)


@pytest.fixture
def simulator(exotel_simulator, monkeypatch):
    connection_env(monkeypatch, exotel_simulator, timeout=1.0)
    guard_on_simulator_clock(monkeypatch, exotel_simulator)
    return exotel_simulator


def calls_of_flow(simulator, flow: int) -> list[Any]:
    return [
        c for c in simulator.placed_calls(CUSTOMER) if c.request.form.get("Url", [""])[0].endswith(f"/{flow}")
    ]


def ours(simulator) -> list[Any]:
    return calls_of_flow(simulator, OUR_FLOW)


def count(simulator, run: TaskRun) -> None:
    placed = ours(simulator)
    COUNTS["scenarios run"] += 1
    COUNTS["faults injected"] += len(simulator.injected_faults)
    COUNTS["duplicate calls observed"] += max(0, len(placed) - 1)


def place_sibling(simulator) -> str:
    """Another task (a mapped sibling, another run, a second reminder) calls the same number."""
    settings = ExotelSettings(
        account_sid=simulator.account_sid,
        api_key=simulator.api_key,
        api_token=simulator.api_token,
        base_url=simulator.base_url,
    )
    request = build_connect_request(
        account_sid=simulator.account_sid,
        from_number=CUSTOMER,
        caller_id=EXOPHONE,
        app_id=SIBLING_FLOW,
        time_limit=60,
        time_out=30,
    )
    with ExotelClient(settings) as client:
        return client.place_call(request).sid


def assert_failed_safe(run: TaskRun, *sids: str) -> None:
    assert isinstance(run.error, CallOutcomeUnknown), run.error
    for sid in sids:
        assert sid in str(run.error)
    assert set(sids) <= set(run.error.candidate_sids)


# --- 1. Airflow 3.1/3.2: no task_state_store ---------------------------------------------------------


def test_without_a_store_a_retry_hours_into_the_run_never_dials_while_the_first_call_rings(
    simulator, monkeypatch
):
    simulator.script(CUSTOMER, queue_seconds=10**6)  # the first call stays in flight (unlisted)
    die_once_before_the_sid_is_saved(monkeypatch)
    run_started = FakeDagRun(start_date=datetime.now(UTC) - timedelta(hours=2))
    task = operator(time_limit=300, reconcile_timeout=600)

    run = run_task(task.execute, store=None, retries=1, dag_run=run_started)

    count(simulator, run)
    assert len(ours(simulator)) == 1, [r.to_dict() for r in simulator.requests]
    assert_failed_safe(run)
    assert "may have been placed" in str(run.error)


def test_without_a_store_a_retry_adopts_the_call_once_every_earlier_call_must_be_listed(
    simulator, monkeypatch
):
    die_once_before_the_sid_is_saved(monkeypatch)

    run = run_task(operator().execute, store=None, retries=1, dag_run=FakeDagRun())

    count(simulator, run)
    [call] = ours(simulator)
    assert run.succeeded and run.xcom["call_sid"] == call.sid


# --- 2. the remembered Sid reads 404 -----------------------------------------------------------------


def place_once(simulator, store: DictStateStore) -> str:
    first = run_task(operator().execute, store=store, retries=0)
    assert first.succeeded, first.error
    return first.xcom["call_sid"]


def test_a_remembered_sid_that_reads_404_is_never_dialled_again(simulator):
    store = DictStateStore()
    sid = place_once(simulator, store)
    simulator.inject_fault(Fault("status", status=404, method="GET", path=CALL_PATH, times=None))

    run = run_task(operator(reconcile_timeout=300).execute, store=store, retries=2, first_try_number=2)

    count(simulator, run)
    assert len(ours(simulator)) == 1
    assert isinstance(run.error, ExotelPlacedCallNotFoundError) and run.error.call_sid == sid
    assert sid in str(run.error) and "account_sid and region" in str(run.error)


def test_a_remembered_sid_that_reads_again_after_a_404_is_reconnected(simulator):
    store = DictStateStore()
    sid = place_once(simulator, store)
    simulator.inject_fault(Fault("status", status=404, method="GET", path=CALL_PATH, times=2))

    run = run_task(operator(reconcile_timeout=300).execute, store=store, retries=0, first_try_number=2)

    count(simulator, run)
    assert len(ours(simulator)) == 1
    assert run.succeeded and run.xcom["call_sid"] == sid


# --- 4. never adopt someone else's call ---------------------------------------------------------------


def lose_our_answer(simulator) -> None:
    simulator.inject_fault(Fault("drop", method="POST", path=CONNECT_PATH))


def test_a_sibling_placed_well_before_is_ignored_and_ours_adopted(simulator):
    place_sibling(simulator)
    simulator.advance(3 * 3600)
    lose_our_answer(simulator)

    run = run_task(operator().execute, store=DictStateStore(), retries=1)

    count(simulator, run)
    [call] = ours(simulator)
    assert run.succeeded and run.xcom["call_sid"] == call.sid


def test_a_sibling_placed_just_before_is_not_taken_for_ours(simulator):
    sibling = place_sibling(simulator)  # listed first: it ends first, ours is still in flight
    lose_our_answer(simulator)

    run = run_task(operator().execute, store=DictStateStore(), retries=1)

    count(simulator, run)
    [call] = ours(simulator)
    assert "call_sid" not in run.xcom
    assert_failed_safe(run, sibling, call.sid)


def test_a_sibling_placed_while_our_answer_is_lost_is_not_taken_for_ours(simulator):
    simulator.inject_fault(Fault("delay", method="POST", path=CONNECT_PATH, delay_seconds=1.5))
    siblings: list[str] = []
    timer = threading.Timer(0.3, lambda: siblings.append(place_sibling(simulator)))
    timer.start()

    run = run_task(operator().execute, store=DictStateStore(), retries=1)

    timer.join()
    count(simulator, run)
    [call] = ours(simulator)
    assert "call_sid" not in run.xcom
    assert_failed_safe(run, siblings[0], call.sid)


def sibling_during_the_search(simulator, monkeypatch, *, after_simulated_seconds: float) -> list[str]:
    """Place a sibling once the guard has been looking for ``after_simulated_seconds``."""
    siblings: list[str] = []
    started: list[float] = []
    clock = guard_module.DEFAULT_CLOCK

    def sleep(seconds: float) -> None:
        started.append(started[0] if started else simulator.now())
        if not siblings and simulator.now() - started[0] >= after_simulated_seconds:
            siblings.append(place_sibling(simulator))
        clock.sleep(seconds)

    monkeypatch.setattr(guard_module, "DEFAULT_CLOCK", guard_module.FunctionClock(simulator.now, sleep))
    return siblings


def test_a_sibling_placed_just_after_is_not_taken_for_ours(simulator, monkeypatch):
    siblings = sibling_during_the_search(simulator, monkeypatch, after_simulated_seconds=0)
    lose_our_answer(simulator)

    run = run_task(operator().execute, store=DictStateStore(), retries=1)

    count(simulator, run)
    [call] = ours(simulator)
    assert "call_sid" not in run.xcom
    assert_failed_safe(run, siblings[0], call.sid)


def test_a_sibling_placed_long_after_is_ignored_and_ours_adopted(simulator, monkeypatch):
    siblings = sibling_during_the_search(simulator, monkeypatch, after_simulated_seconds=900)
    lose_our_answer(simulator)

    run = run_task(operator().execute, store=DictStateStore(), retries=1)

    count(simulator, run)
    [call] = ours(simulator)
    assert siblings and run.succeeded and run.xcom["call_sid"] == call.sid


# --- 5. Exotel's clock and time zone ------------------------------------------------------------------


@pytest.mark.parametrize(
    "exotel_simulator",
    [{"time_zone": "Asia/Kolkata"}, {"time_zone": "UTC"}],
    ids=["india-time", "utc"],
    indirect=True,
)
def test_a_lost_answer_is_reconciled_in_the_zone_exotel_gives_its_times_in(simulator):
    lose_our_answer(simulator)  # the connection's extra.timezone names the simulator's zone

    run = run_task(operator().execute, store=DictStateStore(), retries=1)

    count(simulator, run)
    [call] = ours(simulator)
    assert run.succeeded and run.xcom["call_sid"] == call.sid


@pytest.mark.exotel_simulator(time_zone="UTC")
def test_a_wrong_zone_on_the_connection_fails_safe_instead_of_dialling_again(simulator, monkeypatch):
    connection_env(monkeypatch, simulator, timeout=1.0, timezone="Asia/Kolkata")
    lose_our_answer(simulator)

    run = run_task(operator().execute, store=DictStateStore(), retries=1)

    count(simulator, run)
    [call] = ours(simulator)
    assert_failed_safe(run, call.sid)
    assert "extra.timezone" in str(run.error)


# --- 6. the Sid is saved first; a clear that empties the state -----------------------------------------


def test_the_sid_is_in_the_store_before_xcom_and_an_xcom_failure_names_it(simulator, monkeypatch):
    store = DictStateStore()
    original = RecordingTaskInstance.xcom_push
    failures: list[str] = []

    def failing_push(self, key: str, value: Any) -> None:
        if not failures:
            failures.append(store.values.get(PLACED_CALL_KEY))
            raise OSError("XCom backend unavailable")
        original(self, key, value)

    monkeypatch.setattr(RecordingTaskInstance, "xcom_push", failing_push)

    run = run_task(operator().execute, store=store, retries=1)

    count(simulator, run)
    [call] = ours(simulator)
    assert failures == [call.sid]  # saved before the first XCom push
    assert sid_named(run.errors[0], call.sid)
    assert run.succeeded and run.xcom["call_sid"] == call.sid


def sid_named(error: BaseException, sid: str) -> bool:
    return isinstance(error, ExotelError) and sid in str(error)


def test_a_clear_that_emptied_the_state_never_silently_calls_again(simulator):
    store = DictStateStore()
    first = run_task(operator(wait_for_completion=True).execute, store=store, retries=0)
    assert first.succeeded, first.error
    store.values.clear()  # a clear that discards the task's state

    rerun = run_task(operator(reconcile_timeout=600).execute, store=store, retries=0, first_try_number=2)

    count(simulator, rerun)
    [call] = ours(simulator)
    assert_failed_safe(rerun, call.sid)


# --- 11. the search for a lost call survives failed reads ---------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        Fault("status", status=429, retry_after=1, method="GET", path=LISTING_PATH, times=12),
        Fault("status", status=500, method="GET", path=LISTING_PATH, times=12),
        Fault("status", status=503, method="GET", path=LISTING_PATH, times=12),
        Fault("delay", delay_seconds=1.3, method="GET", path=LISTING_PATH, times=6),
    ],
    ids=["429-burst", "500-burst", "503-burst", "timeouts"],
)
def test_failed_listing_reads_while_looking_mean_not_listed_yet(simulator, fault):
    lose_our_answer(simulator)
    simulator.inject_fault(fault)

    # Timed-out reads take real seconds, hours on the simulator's clock: a longer search.
    run = run_task(operator(reconcile_timeout=20000).execute, store=DictStateStore(), retries=0)

    count(simulator, run)
    [call] = ours(simulator)
    assert run.succeeded, run.error
    assert run.xcom["call_sid"] == call.sid


def test_listing_reads_failing_to_the_end_give_the_typed_unknown_outcome(simulator):
    lose_our_answer(simulator)
    simulator.inject_fault(Fault("status", status=429, method="GET", path=LISTING_PATH, times=None))

    run = run_task(operator(reconcile_timeout=300).execute, store=DictStateStore(), retries=2)

    count(simulator, run)
    assert len(ours(simulator)) == 1
    assert isinstance(run.error, ExotelCallOutcomeUnknownError) and isinstance(run.error, CallOutcomeUnknown)
    assert "listing reads failed" in str(run.error) and run.tries == 1


def test_hook_reconcile_placement_still_returns_the_candidates(simulator):
    from exotel_provider.placement import PlacementAttempt

    sent_at = simulator.now()
    lose_our_answer(simulator)
    hook = ExotelHook()
    with pytest.raises(ExotelCallOutcomeUnknownError):
        hook.place_call(hook.build_connect_request(from_number=CUSTOMER, app_id=OUR_FLOW, caller_id=EXOPHONE))
    attempt = PlacementAttempt(
        hook.build_connect_request(from_number=CUSTOMER, app_id=OUR_FLOW, caller_id=EXOPHONE), sent_at
    )

    found = hook.reconcile_placement(attempt, timeout=5, poll_interval=0.1)

    assert [c.sid for c in found] == [c.sid for c in ours(simulator)]
