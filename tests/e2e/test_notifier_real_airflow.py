"""A real Airflow with its own small DAGs (``notifier_dags``):

- ExotelCallNotifier: task callbacks in separate LocalExecutor worker processes (claims through the
  execution API) and the DAG callback in the dag-processor give one call per failed run.
- A campaign with calling hours, run across the window's end on the simulator's clock: it stops at
  19:00, waits deferred (no worker slot) in the real triggerer, and goes on at 08:00 the next morning.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from exotel_provider.simulator.faults import CONNECT_PATH
from tests.support.real_airflow import AirflowApi, simulator_calls
from tools.local_airflow import LocalAirflow

pytestmark = pytest.mark.e2e
DAG_ID = "exotel_page_once"
ON_CALL = "+919876500999"


@pytest.fixture(scope="module")
def paging_airflow(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalAirflow]:
    airflow = LocalAirflow(
        home=tmp_path_factory.mktemp("airflow-paging"),
        dags_folder=Path(__file__).parent / "notifier_dags",
        time_scale=120,
    )
    airflow.start()
    try:
        yield airflow
    finally:
        for text in airflow.tail_logs(lines=30):
            print(text)
        airflow.stop()


def test_two_failed_runs_of_five_racing_failures_each_give_two_calls(paging_airflow: LocalAirflow):
    api = AirflowApi(paging_airflow)
    api.unpause(DAG_ID)
    run_ids = [api.trigger(DAG_ID, {}).json()["dag_run_id"] for _ in range(2)]

    for run_id in run_ids:
        assert api.wait_for_run(DAG_ID, run_id, timeout=300) == "failed"
        states = api.task_states(DAG_ID, run_id)
        assert sorted(states.values()) == ["failed"] * 5, states
    time.sleep(20)  # the dag-processor runs the DAG callbacks after the runs end; let them try

    calls = simulator_calls(paging_airflow, ON_CALL)
    assert len(calls) == 2, calls


WINDOW_DAG_ID = "exotel_window_campaign"
INDIA = ZoneInfo("Asia/Kolkata")
TRANSIT = 120.0
"""Simulated seconds between the provider's window check and the simulator's log of the request (in
transit; the two clocks' agreement): at time_scale 120, one real second."""


def simulator(airflow: LocalAirflow, method: str, path: str, **kwargs: Any) -> Any:
    answer = requests.request(method, f"{airflow.simulator_url}/_simulator/{path}", timeout=10, **kwargs)
    answer.raise_for_status()
    return answer.json()


def move_simulator_to(airflow: LocalAirflow, local: datetime.datetime) -> None:
    """Move the simulator's clock on by hand to ``local`` (India time); every process follows it."""
    seconds = local.timestamp() - simulator(airflow, "GET", "health")["sim_time"]
    simulator(airflow, "POST", "advance", json={"seconds": max(0.0, seconds)})


def india(at: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(at, INDIA)


def window_posts(airflow: LocalAirflow) -> list[float]:
    """Simulated times the simulator received the campaign's call-placing requests at."""
    log = simulator(airflow, "GET", "requests")
    return [
        r["sim_time"] for r in log if r["method"] == "POST" and "9198765020" in str(r["form"].get("From"))
    ]


def wait_until_the_scheduler_took_in_the_deferral(airflow: LocalAirflow, timeout: float = 60) -> None:
    """Until the scheduler has the executor's word that the try which deferred has ended: a task
    resumed before that is failed by Airflow's scheduler (apache/airflow#72716), so the night is not
    skipped sooner (the trigger itself never fires within its first 10 s)."""
    event = f"Received executor event with state success for task instance TaskInstanceKey(dag_id='{WINDOW_DAG_ID}'"
    deadline = time.monotonic() + timeout
    while event not in airflow.log_of("scheduler").read_text(errors="replace"):
        if time.monotonic() > deadline:
            return  # the trigger's own settling time still stands between them
        time.sleep(0.5)


def test_a_campaign_stops_at_the_windows_end_waits_deferred_and_goes_on_next_morning(
    paging_airflow: LocalAirflow,
):
    api = AirflowApi(paging_airflow)
    api.unpause(WINDOW_DAG_ID)
    today = india(simulator(paging_airflow, "GET", "health")["sim_time"]).date() + datetime.timedelta(days=1)
    closes = datetime.datetime.combine(today, datetime.time(19), INDIA)
    move_simulator_to(paging_airflow, closes.replace(hour=9))  # the window is open: the run starts
    a_call_a_second = {"kind": "delay", "delay_seconds": 1, "times": None, "path": CONNECT_PATH}
    simulator(paging_airflow, "POST", "faults", json=a_call_a_second)  # the answer held; the call placed
    run_id = api.trigger(WINDOW_DAG_ID, {}).json()["dag_run_id"]
    try:
        deadline = time.monotonic() + 120
        while not window_posts(paging_airflow) and time.monotonic() < deadline:
            time.sleep(0.2)
        move_simulator_to(paging_airflow, closes - datetime.timedelta(minutes=10))  # 5 real s to go
        deadline = time.monotonic() + 120
        while api.task_states(WINDOW_DAG_ID, run_id).get(("call", -1)) != "deferred":
            if time.monotonic() > deadline:
                break
            time.sleep(0.5)
    finally:
        simulator(paging_airflow, "DELETE", "faults")

    answer = api.request("GET", f"/dags/{WINDOW_DAG_ID}/dagRuns/{run_id}/taskInstances")
    [ti] = answer.json()["task_instances"]
    assert ti["state"] == "deferred", ti  # no worker slot held through the night
    assert ti["trigger"]["classpath"].endswith("calling_window.CallingWindowTrigger"), ti["trigger"]
    evening = window_posts(paging_airflow)
    assert 0 < len(evening) < 12, [india(t).isoformat() for t in evening]  # placed until 19:00, the rest held
    assert all(t < closes.timestamp() + TRANSIT for t in evening)

    wait_until_the_scheduler_took_in_the_deferral(paging_airflow)
    opens = datetime.datetime.combine(today + datetime.timedelta(days=1), datetime.time(8), INDIA)
    move_simulator_to(paging_airflow, opens - datetime.timedelta(minutes=2))  # one real second to go
    assert api.wait_for_run(WINDOW_DAG_ID, run_id, timeout=180) == "success"

    posts = window_posts(paging_airflow)
    night = [t for t in posts if closes.timestamp() + TRANSIT <= t < opens.timestamp()]
    assert night == [], [india(t).isoformat() for t in night]  # the simulator's log: nobody called at night
    morning = posts[len(evening) :]
    assert morning and all(t >= opens.timestamp() - TRANSIT for t in morning)  # the rest from 08:00
    for i in range(12):
        calls = simulator_calls(paging_airflow, f"+9198765020{i:02d}")
        assert len(calls) == 1, (i, calls)  # everyone called exactly once
    print(
        f"\n{len(evening)} placed by {india(max(evening)):%H:%M:%S}, held at 19:00; "
        f"{len(morning)} placed from {india(min(morning)):%H:%M:%S} the next morning"
    )
    outcomes = api.xcom(WINDOW_DAG_ID, run_id, "call")
    assert len(outcomes) == 12 and all(o["sid"] for o in outcomes), outcomes
