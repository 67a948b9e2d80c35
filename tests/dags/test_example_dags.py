"""The example DAGs in dags/: they import cleanly, and each runs green with ``dag.test()`` against the
simulator, placing exactly the calls it should and leaving the right values in XCom."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from exotel_provider.simulator.scripts import CallScript
from tests.support.airflow_runs import load_dag, run_dag, task_states, xcom_values
from tools import reminders_db

pytestmark = pytest.mark.exotel_simulator(time_scale=120)

DAGS_FOLDER = Path(__file__).resolve().parents[2] / "dags"
ON_CALL_NUMBER = "+919876500999"

_IMPORT_EVERY_DAG_FILE = """
import json, sys, warnings
from pathlib import Path
try:
    from airflow.dag_processing.dagbag import DagBag
except ImportError:  # Airflow 3.1
    from airflow.models.dagbag import DagBag
report = {}
for path in sorted(Path(sys.argv[1]).glob("*.py")):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bag = DagBag(dag_folder=str(path))
    report[path.name] = {
        "dag_ids": bag.dag_ids,
        "errors": {str(k): v for k, v in bag.import_errors.items()},
        "warnings": [f"{w.category.__name__}: {w.message} ({w.filename}:{w.lineno})" for w in caught],
        "docs": {dag_id: bool(dag.doc_md) for dag_id, dag in bag.dags.items()},
    }
print("REPORT" + json.dumps(report))
"""


@pytest.fixture
def fast_polling(monkeypatch):
    """The DAGs check call status every EXOTEL_POLL_SECONDS (30 s in production)."""
    monkeypatch.setenv("EXOTEL_POLL_SECONDS", "1")


@pytest.fixture
def exotel_with_caller_id(exotel_connection_env, monkeypatch, tmp_path):
    """The simulator's connection plus a default caller ID, as a real team would configure it, and
    the reminders database (``exotel_reminders_db``) whose do-not-call list the on-demand DAG reads."""
    connection = exotel_connection_env.connection()
    connection["extra"]["caller_id"] = "08047112345"
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(connection))
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_REMINDERS_DB", reminders_db.connection_json(tmp_path / "reminders.db"))
    return exotel_connection_env


def test_every_example_dag_imports_without_errors_or_warnings():
    # A fresh interpreter, so that warnings raised on first import are not hidden by earlier tests.
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERY_DAG_FILE, str(DAGS_FOLDER)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.split("REPORT", 1)[1])
    assert set(report) == {
        "exotel_call_on_demand.py",
        "exotel_overdue_invoices.py",
        "exotel_reminder_demo.py",
        "exotel_scheduled_reminders.py",
    }
    for name, result in report.items():
        assert result["errors"] == {}, name
        assert result["warnings"] == [], name
        assert result["dag_ids"] == [name.removesuffix(".py")], name
        assert all(result["docs"].values()), f"{name} has no docstring shown as the DAG's doc_md"


# --- scheduled reminders --------------------------------------------------------------------------


def test_scheduled_reminders_run_at_ten_in_the_morning_india_time():
    dag = load_dag("exotel_scheduled_reminders")
    assert dag.timezone.name == "Asia/Kolkata"
    timetable = dag.timetable  # the Task SDK's (3.2+) or airflow-core's (3.1) CronTriggerTimetable
    expression = getattr(timetable, "expression", None) or timetable._expression
    assert expression == "0 10 * * *"


# --- on demand ------------------------------------------------------------------------------------


def test_on_demand_call_waits_for_the_outcome(exotel_with_caller_id, fast_polling):
    simulator = exotel_with_caller_id
    dag = load_dag("exotel_call_on_demand")

    dag_run = run_dag(dag, run_conf={"phone": "+919812345678", "flow_app_id": "4242"})

    assert set(task_states(dag_run).values()) == {"success"}
    [call] = simulator.placed_calls()
    assert call.from_number == "09812345678"
    assert call.request.url.endswith("/exoml/start_voice/4242")
    assert call.request.caller_id == "08047112345"  # the connection's default
    assert call.request.custom_field == dag_run.run_id
    assert xcom_values(dag.dag_id, dag_run.run_id, "place_call", key="call_sid")[-1] == call.sid
    final = xcom_values(dag.dag_id, dag_run.run_id, "wait_for_call")[-1]
    assert (final["Sid"], final["Status"]) == (call.sid, "completed")
    assert final["Price"] is not None


def test_on_demand_call_without_waiting_skips_the_wait(exotel_with_caller_id, fast_polling):
    simulator = exotel_with_caller_id
    dag = load_dag("exotel_call_on_demand")

    dag_run = run_dag(
        dag, run_conf={"phone": "09812345679", "caller_id": "08047199999", "wait_for_outcome": False}
    )

    states = task_states(dag_run)
    assert states[("place_call", -1)] == "success"
    assert states[("wait_for_call", -1)] == "skipped"
    [call] = simulator.placed_calls("+919812345679")
    assert call.request.caller_id == "08047199999"
    assert not [r for r in simulator.requests if r.method == "GET"]


def test_on_demand_call_never_dials_a_number_on_the_do_not_call_list(exotel_with_caller_id, fast_polling):
    from exotel_provider.campaigns.do_not_call import SqlDoNotCallList
    from exotel_provider.hooks.exotel import ExotelHook

    simulator = exotel_with_caller_id
    dag = load_dag("exotel_call_on_demand")
    list_db = ExotelHook.get_connection("exotel_reminders_db").get_hook()
    SqlDoNotCallList(list_db).add("+919812345678", "customer asked")

    dag_run = run_dag(dag, run_conf={"phone": "09812345678"})

    states = task_states(dag_run)
    assert states[("place_call", -1)] == "failed" and str(dag_run.state).endswith("failed")
    assert simulator.requests == []  # nothing reached Exotel


@pytest.mark.parametrize(
    "conf",
    [
        {"phone": "12345"},
        {"phone": "+919812345678", "flow_app_id": "flow-one"},
        {"phone": "+919812345678", "caller_id": "not-a-number"},
        {},
    ],
    ids=["short-phone", "non-numeric-flow", "bad-caller-id", "no-phone"],
)
def test_on_demand_call_refuses_bad_input_before_any_task_runs(exotel_with_caller_id, conf):
    from airflow.sdk.definitions.param import ParamValidationError

    dag = load_dag("exotel_call_on_demand")

    with pytest.raises(ParamValidationError):
        run_dag(dag, run_conf=conf)

    assert exotel_with_caller_id.requests == []


def test_on_demand_form_fields_have_titles_and_descriptions():
    params = load_dag("exotel_call_on_demand").params
    assert set(params) == {"phone", "flow_app_id", "caller_id", "wait_for_outcome"}
    for name in params:
        param = params.get_param(name)
        assert param.schema["title"] and param.description, name


# --- pipeline with a notifier ---------------------------------------------------------------------


def test_overdue_invoices_pipeline_calls_each_overdue_customer(exotel_connection_env, fast_polling):
    simulator = exotel_connection_env
    simulator.script("+919876500203", outcome="busy")
    dag = load_dag("exotel_overdue_invoices")

    dag_run = run_dag(dag, run_conf={"as_of": "2026-08-03"})

    assert set(task_states(dag_run).values()) == {"success"}
    called = sorted(call.from_number for call in simulator.placed_calls())
    assert called == ["09876500201", "09876500203"]  # unpaid and > 7 days overdue; nobody else
    assert all(call.request.url.endswith("/start_voice/931") for call in simulator.placed_calls())
    assert simulator.placed_calls(ON_CALL_NUMBER) == []
    actions = xcom_values(dag.dag_id, dag_run.run_id, "record_outcomes")[-1]
    assert actions == {"INV-2041": "reached", "INV-2043": "call again (busy)"}


def test_overdue_invoices_pipeline_failure_phones_the_on_call_engineer_once(
    exotel_connection_env, fast_polling
):
    simulator = exotel_connection_env
    simulator.script(
        "+919876500201", CallScript(reject_status=403, reject_message="Number is on the DND list")
    )
    dag = load_dag("exotel_overdue_invoices")

    dag_run = run_dag(dag, run_conf={"as_of": "2026-08-03"})

    assert str(dag_run.state) in ("failed", "DagRunState.FAILED")
    assert task_states(dag_run)[("call_customer", 0)] == "failed"
    [page] = simulator.placed_calls(ON_CALL_NUMBER)
    assert page.request.url.endswith("/start_voice/940")
    assert page.request.custom_field == "exotel_overdue_invoices failed"


def _epoch(iso: str) -> float:
    import datetime

    return datetime.datetime.fromisoformat(iso).timestamp()
