"""Helpers for end-to-end tests against a real Airflow started by ``LocalAirflow``."""

from __future__ import annotations

import time
from typing import Any

import requests

from tools.local_airflow import LocalAirflow


class AirflowApi:
    """The bits of Airflow's REST API (/api/v2) the tests use, with a JWT from the auth manager."""

    def __init__(self, airflow: LocalAirflow) -> None:
        self.airflow = airflow
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {airflow.token()}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return self.session.request(method, f"{self.airflow.url}/api/v2{path}", timeout=30, **kwargs)

    def unpause(self, dag_id: str, timeout: float = 180) -> None:
        """Unpause once the dag-processor has registered the DAG."""
        deadline = time.monotonic() + timeout
        while True:
            answer = self.request("PATCH", f"/dags/{dag_id}", json={"is_paused": False})
            if answer.ok or time.monotonic() > deadline:
                answer.raise_for_status()
                return
            time.sleep(2)

    def trigger(self, dag_id: str, conf: dict[str, Any]) -> requests.Response:
        return self.request("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf})

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 240) -> str:
        """The run's final state (success / failed), polling until it has one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}").json()["state"]
            if state in ("success", "failed"):
                return str(state)
            time.sleep(2)
        raise TimeoutError(f"{dag_id} run {run_id} still {state} after {timeout:.0f} s")

    def task_states(self, dag_id: str, run_id: str) -> dict[tuple[str, int], str]:
        answer = self.request("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 100})
        return {(ti["task_id"], ti["map_index"]): ti["state"] for ti in answer.json()["task_instances"]}

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}"
        answer = self.request("GET", path, params={"deserialize": True, "stringify": False})
        answer.raise_for_status()
        return answer.json()["value"]


def simulator_sms(airflow: LocalAirflow, number: str | None = None) -> list[dict[str, Any]]:
    """Every SMS the simulator accepted, with the form that sent it (its control endpoint, no auth)."""
    params = {"number": number} if number else {}
    answer = requests.get(f"{airflow.simulator_url}/_simulator/sms", params=params, timeout=10)
    answer.raise_for_status()
    return list(answer.json())


def simulator_calls(airflow: LocalAirflow, number: str | None = None) -> list[dict[str, Any]]:
    """What the simulator says it received (its control endpoint, no auth)."""
    params = {"number": number} if number else {}
    answer = requests.get(f"{airflow.simulator_url}/_simulator/calls", params=params, timeout=10)
    answer.raise_for_status()
    return list(answer.json())
