"""The provider on a production-shaped Airflow: CeleryExecutor with two workers and a Redis broker,
PostgreSQL metadata DB, two triggerers, the api-server, scheduler and dag-processor, calling the
Exotel simulator (its 200 requests per real minute limit). The Exotel connection shares its request
budget through the same Redis; the reminders DAG reads its reminders from a PostgreSQL database
(``exotel_reminders_db``). One deployment for the whole module."""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from exotel_provider.simulator.faults import CONNECT_PATH, LISTING_PATH
from exotel_provider.simulator.rate_limit import busiest_window
from tests.support.real_airflow import AirflowApi, simulator_calls
from tools.local_airflow import LocalAirflow

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ON_DEMAND = "exotel_call_on_demand"
REMINDERS = "exotel_scheduled_reminders"
CAMPAIGN_DAY = "2026-09-01"
LOAD_RUNS = 40
BUDGET = 150  # the connection's requests_per_minute (the default)
TYPED_ERROR = re.compile(
    r"\b(Exotel\w*Error|CallUnsuccessfulError|ExotelWaitTimeout|CallOutcomeUnknown|CallNotSuccessful)\b"
)


@pytest.fixture(scope="module")
def celery_airflow(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LocalAirflow]:
    started = time.monotonic()
    airflow = LocalAirflow(
        home=tmp_path_factory.mktemp("celery-airflow-home"),
        dags_folder=ROOT / "dags",
        time_scale=120,
        poll_seconds=2,
        celery_workers=2,
        triggerers=2,
        share_budget_in_redis=True,
        heartbeat_timeout=30,
        keep_postgres_data=False,
        connection_extra={"requests_per_minute": BUDGET},
        airflow_settings={
            "AIRFLOW__CORE__MAX_ACTIVE_RUNS_PER_DAG": str(LOAD_RUNS + 8),
            # only the scenarios' own runs: unpausing the reminders DAG makes no scheduled run of today
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        },
        extra_databases=("exotel_reminders",),
    )
    assert airflow.postgres is not None
    reminders_db = {"conn_type": "postgres", "host": "127.0.0.1", "port": airflow.postgres.port,
                    "login": "airflow", "schema": "exotel_reminders"}  # fmt: skip
    airflow.airflow_settings["AIRFLOW_CONN_EXOTEL_REMINDERS_DB"] = json.dumps(reminders_db)
    failed_before = request.session.testsfailed
    try:
        airflow.start()
        print(f"\nCelery deployment up at {airflow.url} in {time.monotonic() - started:.0f} s")
        yield airflow
    finally:
        airflow.stop()
        if request.session.testsfailed > failed_before:
            _keep_logs(airflow)


def _keep_logs(airflow: LocalAirflow) -> None:
    for text in airflow.tail_logs(40):
        print(text)
    target = ROOT / "artifacts" / "e2e-celery-logs"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(airflow.home / "logs", target, dirs_exist_ok=True)
    print(f"Airflow logs kept in {target}")


@pytest.fixture(scope="module")
def api(celery_airflow: LocalAirflow) -> AirflowApi:
    airflow_api = AirflowApi(celery_airflow)
    airflow_api.unpause(ON_DEMAND)
    return airflow_api


def simulator(airflow: LocalAirflow, method: str, path: str, **kwargs: Any) -> Any:
    answer = requests.request(method, f"{airflow.simulator_url}/_simulator{path}", timeout=10, **kwargs)
    answer.raise_for_status()
    return answer.json()


def task_instance(api: AirflowApi, run_id: str, task_id: str) -> dict[str, Any]:
    return dict(api.request("GET", f"/dags/{ON_DEMAND}/dagRuns/{run_id}/taskInstances/{task_id}").json())


def trigger(api: AirflowApi, phone: str) -> str:
    answer = api.trigger(ON_DEMAND, {"phone": phone, "flow_app_id": "4242"})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["dag_run_id"])


def task_logs(airflow: LocalAirflow, run_id: str, dag_id: str = ON_DEMAND) -> str:
    folder = airflow.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}"
    return "\n".join(path.read_text(errors="replace") for path in sorted(folder.rglob("*.log")))


def test_worker_killed_mid_placing_is_retried_on_the_other_worker_without_a_second_call(
    api: AirflowApi, celery_airflow: LocalAirflow
):
    phone = "+919812350002"
    # Exotel places the call but its answer is held: the worker is mid-task when it dies.
    simulator(celery_airflow, "POST", "/faults",
              json={"kind": "delay", "method": "POST", "path": CONNECT_PATH, "delay_seconds": 120})  # fmt: skip
    run_id = trigger(api, phone)
    victim = _worker_placing(api, celery_airflow, run_id, phone)

    celery_airflow.kill(victim)
    try:
        state = api.wait_for_run(ON_DEMAND, run_id, timeout=600)
    finally:
        celery_airflow.restart(victim)

    [call] = simulator_calls(celery_airflow, phone)  # nobody is called twice
    assert task_instance(api, run_id, "place_call")["try_number"] == 2
    survivor = "celery-worker-2" if victim == "celery-worker-1" else "celery-worker-1"
    assert run_id in celery_airflow.log_of(survivor).read_text(errors="replace")
    if state == "success":  # the retry adopted the call once Exotel listed it
        assert api.xcom(ON_DEMAND, run_id, "place_call", key="call_sid") == call["Sid"]
    else:  # or failed safe (a sibling call could not be ruled out in time): typed, naming the call
        logs = task_logs(celery_airflow, run_id)
        assert _typed_error(celery_airflow, run_id) is not None and call["Sid"] in logs, state


def _worker_placing(
    api: AirflowApi, airflow: LocalAirflow, run_id: str, phones: str | list[str], *,
    dag_id: str = ON_DEMAND, task_id: str = "place_call", placed: int = 1,
) -> str:  # fmt: skip
    """The Celery worker whose task has sent ``placed`` placing requests (the last one unanswered)."""
    phones = [phones] if isinstance(phones, str) else phones
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        ti = dict(api.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}").json())
        if ti.get("state") == "running" and ti.get("pid"):
            calls = [call for phone in phones for call in simulator_calls(airflow, phone)]
            if len(calls) >= placed:
                worker = airflow.component_running(int(ti["pid"]))
                assert worker and worker.startswith("celery-worker-"), (ti["pid"], worker)
                return worker
        time.sleep(0.5)
    raise TimeoutError(f"{task_id} of {run_id} never got to its placing request")


def seed_reminders(
    airflow: LocalAirflow, count: int, *, day: str = CAMPAIGN_DAY, first_number: int = 5000
) -> list[str]:
    """``count`` reminders due on ``day`` in the PostgreSQL reminders database; their phones."""
    import psycopg2

    from exotel_provider.campaigns.reminders import CREATE_REMINDER_CALLS, CREATE_REMINDERS, REMINDER_FIELDS
    from tools.reminders_db import generated_reminders

    assert airflow.postgres is not None
    rows = generated_reminders(day, count, first_number=first_number)
    insert = f"INSERT INTO reminders ({', '.join(REMINDER_FIELDS)}) VALUES ({', '.join(['%s'] * len(REMINDER_FIELDS))})"
    with (
        psycopg2.connect(airflow.postgres.url("exotel_reminders", driver="postgresql")) as db,
        db.cursor() as cursor,
    ):
        cursor.execute(CREATE_REMINDERS)
        cursor.execute(CREATE_REMINDER_CALLS)
        cursor.executemany(insert, [tuple(row[name] for name in REMINDER_FIELDS) for row in rows])
    db.close()
    return [row["phone"] for row in rows]


def test_reminders_from_postgres_survive_a_worker_killed_mid_campaign(
    api: AirflowApi, celery_airflow: LocalAirflow
):
    phones = seed_reminders(celery_airflow, 12)
    # The campaign's fifth placing request is answered late: the worker is mid-campaign when it dies.
    simulator(celery_airflow, "POST", "/faults",
              json={"kind": "delay", "method": "POST", "path": CONNECT_PATH, "delay_seconds": 120, "skip": 4})  # fmt: skip
    api.unpause(REMINDERS)
    answer = api.trigger(REMINDERS, {"due_date": CAMPAIGN_DAY})
    assert answer.status_code == 200, answer.text
    run_id = answer.json()["dag_run_id"]
    victim = _worker_placing(api, celery_airflow, run_id, phones, dag_id=REMINDERS, task_id="call", placed=5)

    celery_airflow.kill(victim)
    try:
        state = api.wait_for_run(REMINDERS, run_id, timeout=900)
    finally:
        celery_airflow.restart(victim)

    assert {phone: len(simulator_calls(celery_airflow, phone)) for phone in phones} == dict.fromkeys(
        phones, 1
    )  # nobody is called twice
    ti = dict(api.request("GET", f"/dags/{REMINDERS}/dagRuns/{run_id}/taskInstances/call").json())
    assert ti["try_number"] == 2
    summary = api.xcom(REMINDERS, run_id, "report")
    if state == "success":  # the retry adopted the call whose answer died with the worker
        assert (summary["entries"], summary["calls"], summary["answered"]) == (12, 12, 12)
    else:  # or that one reminder failed safe (outcome unknown, its call named) and the day is red
        assert summary["entries"] == 12 and summary["answered"] >= 11, summary
        assert _typed_error(celery_airflow, run_id, dag_id=REMINDERS) or "outcome unknown" in task_logs(
            celery_airflow, run_id, dag_id=REMINDERS
        )


def ledger_rows(airflow: LocalAirflow, day: str) -> list[dict[str, Any]]:
    """The call ledger's rows of ``day`` in the PostgreSQL reminders database."""
    import psycopg2
    import psycopg2.extras

    assert airflow.postgres is not None
    with (
        psycopg2.connect(airflow.postgres.url("exotel_reminders", driver="postgresql")) as db,
        db.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor,
    ):
        cursor.execute(
            "SELECT * FROM reminder_calls WHERE due_date = %s ORDER BY reminder_id, attempt", (day,)
        )
        rows = [dict(row) for row in cursor.fetchall()]
    db.close()
    return rows


def test_a_day_that_goes_red_part_way_run_again_calls_everyone_exactly_once(
    api: AirflowApi, celery_airflow: LocalAirflow
):
    day = "2026-09-02"
    phones = seed_reminders(celery_airflow, 8, day=day, first_number=7000)
    api.unpause(REMINDERS)
    try:  # the balance runs out after 3 calls: Exotel answers 402 to every later placing request
        simulator(celery_airflow, "POST", "/faults", json={
            "kind": "status", "status": 402, "method": "POST", "path": CONNECT_PATH, "times": None, "skip": 3,
        })  # fmt: skip
        first = api.trigger(REMINDERS, {"due_date": day}).json()["dag_run_id"]
        assert api.wait_for_run(REMINDERS, first, timeout=900) == "failed"
    finally:
        simulator(celery_airflow, "DELETE", "/faults")
    red = api.xcom(REMINDERS, first, "report")
    placed = [call for phone in phones for call in simulator_calls(celery_airflow, phone)]
    assert len(placed) == 3 and red["calls"] == 3 and red["not_attempted"] == 5, red

    again = api.trigger(REMINDERS, {"due_date": day}).json()["dag_run_id"]
    assert api.wait_for_run(REMINDERS, again, timeout=900) == "success"

    calls = {phone: simulator_calls(celery_airflow, phone) for phone in phones}
    assert {phone: len(placed) for phone, placed in calls.items()} == dict.fromkeys(phones, 1)
    rows = ledger_rows(celery_airflow, day)
    assert [(row["attempt"], row["state"]) for row in rows] == [(1, "ended")] * 8
    assert {row["call_sid"] for row in rows} == {placed[0]["Sid"] for placed in calls.values()}
    summary = api.xcom(REMINDERS, again, "report")
    assert (summary["entries"], summary["calls"], summary["not_attempted"]) == (8, 8, 0)
    assert summary["total_cost"] == pytest.approx(sum(float(row["price"] or 0) for row in rows))


def test_forty_runs_at_once_with_dropped_answers_and_429_bursts(
    api: AirflowApi, celery_airflow: LocalAirflow
):
    simulator(celery_airflow, "POST", "/faults", json=[
        {"kind": "drop", "method": "POST", "path": CONNECT_PATH, "times": 4, "skip": 3},
        {"kind": "status", "status": 429, "method": "GET", "path": LISTING_PATH, "times": 12, "retry_after": 2},
        {"kind": "status", "status": 429, "method": "POST", "path": CONNECT_PATH, "times": 6, "skip": 10},
    ])  # fmt: skip
    phones = [f"+9198123{60000 + n:05d}" for n in range(LOAD_RUNS)]
    with ThreadPoolExecutor(max_workers=LOAD_RUNS) as pool:
        run_ids = list(pool.map(lambda phone: trigger(api, phone), phones))
    states = {run_id: api.wait_for_run(ON_DEMAND, run_id, timeout=1500) for run_id in run_ids}

    calls = {phone: simulator_calls(celery_airflow, phone) for phone in phones}
    duplicates = {phone: len(placed) for phone, placed in calls.items() if len(placed) > 1}
    lost = [
        (phone, placed[0]["Sid"])
        for phone, run_id in zip(phones, run_ids, strict=True)
        for placed in [calls[phone]]
        if placed and not _run_knows_call(api, celery_airflow, run_id, placed[0]["Sid"], states[run_id])
    ]
    failed = {
        run_id: _typed_error(celery_airflow, run_id) for run_id, state in states.items() if state != "success"
    }
    figures = _request_figures(celery_airflow)
    print(f"\n40 runs: {sum(s == 'success' for s in states.values())} green, failed {failed}; "
          f"duplicates {duplicates}; lost {lost}; requests {figures}")  # fmt: skip
    assert duplicates == {}
    assert lost == []
    green = next(run_id for run_id, state in states.items() if state == "success")
    final = api.xcom(ON_DEMAND, green, "wait_for_call")
    assert final["Status"] == "completed" and final["Sid"] == api.xcom(
        ON_DEMAND, green, "place_call", key="call_sid"
    )
    workers = [celery_airflow.log_of(f"celery-worker-{n}").read_text(errors="replace") for n in (1, 2)]
    assert any(run_id in text for run_id in run_ids for text in workers)  # Celery workers ran the tasks
    assert all(error is not None for error in failed.values()), failed
    assert figures["rate_limited_by_exotel"] == 0  # every 429 was an injected one
    assert figures["busiest_60s"] <= BUDGET


def _run_knows_call(api: AirflowApi, airflow: LocalAirflow, run_id: str, sid: str, state: str) -> bool:
    """The run holds the call's Sid in XCom, or (failed) names it in its error."""
    if state == "success":
        return bool(api.xcom(ON_DEMAND, run_id, "place_call", key="call_sid") == sid)
    return sid in task_logs(airflow, run_id)


def _typed_error(airflow: LocalAirflow, run_id: str, dag_id: str = ON_DEMAND) -> str | None:
    found = TYPED_ERROR.search(task_logs(airflow, run_id, dag_id))
    return found.group(1) if found else None


def _request_figures(airflow: LocalAirflow) -> dict[str, int]:
    log = simulator(airflow, "GET", "/requests")
    return {
        "total": len(log),
        "busiest_60s": busiest_window(entry["real_time"] for entry in log),
        "injected_faults": sum(1 for entry in log if entry["fault"]),
        "rate_limited_by_exotel": sum(
            1 for entry in log if entry["status_code"] == 429 and not entry["fault"]
        ),
    }
