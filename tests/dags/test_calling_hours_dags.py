"""The example DAGs take their calling hours from ``EXOTEL_CALLING_HOURS`` (08:00-19:00 when unset),
and the on-demand DAG's trigger form says the window."""

from __future__ import annotations

import pytest

from tests.support.airflow_runs import dag_bag, ensure_metadata_db

REMINDER_TASKS = {
    "exotel_scheduled_reminders": ("call", "redial"),
    "exotel_overdue_invoices": ("call_customer",),
    "exotel_reminder_demo": ("place_call",),
    "exotel_call_on_demand": ("place_call",),
}


def parsed(monkeypatch: pytest.MonkeyPatch, hours: str | None) -> dict:
    if hours is None:
        monkeypatch.delenv("EXOTEL_CALLING_HOURS", raising=False)
    else:
        monkeypatch.setenv("EXOTEL_CALLING_HOURS", hours)
    ensure_metadata_db()  # parsing the example DAGs reads the metadata DB (a fresh worker home has none)
    bag = dag_bag()
    assert not bag.import_errors, bag.import_errors
    return {dag_id: bag.get_dag(dag_id) for dag_id in REMINDER_TASKS}


def window_of(task) -> str | None:
    hours = getattr(task, "calling_hours", None) or getattr(task, "partial_kwargs", {}).get("calling_hours")
    return hours if hours is None or isinstance(hours, str) else hours.describe()


def test_every_reminder_call_is_within_0800_1900_unless_the_environment_says_otherwise(monkeypatch):
    for dag_id, dag in parsed(monkeypatch, None).items():
        for task_id in REMINDER_TASKS[dag_id]:
            assert window_of(dag.get_task(task_id)) in ("08:00-19:00", "08:00-19:00 every day"), (
                dag_id,
                task_id,
            )
    for dag_id, dag in parsed(monkeypatch, "09:00-18:00 mon-sat").items():
        for task_id in REMINDER_TASKS[dag_id]:
            assert window_of(dag.get_task(task_id)) in (
                "09:00-18:00 mon-sat",
                "09:00-18:00 mon,tue,wed,thu,fri,sat",
            )


def test_the_on_demand_trigger_form_says_the_window(monkeypatch):
    dag = parsed(monkeypatch, "09:00-18:00 mon-sat")["exotel_call_on_demand"]
    description = dag.params.get_param("phone").description
    assert "09:00-18:00 mon,tue,wed,thu,fri,sat" in description and "India time" in description
