"""An ordinary data pipeline with phone calls as steps: call customers whose invoices are overdue.

1. ``find_overdue_invoices`` reads the invoices (``dags/data/overdue_invoices.csv`` here; a
   warehouse query in real life) and keeps those unpaid more than ``GRACE_DAYS`` past due.
2. ``call_customer`` (``ExotelConnectOperator``) calls each customer and connects them to the
   collections call flow; ``wait_for_call`` (``ExotelCallSensor``) waits for the outcome and price.
3. ``record_outcomes`` turns the outcomes into follow-up actions for the collections team.

If anything fails (a number Exotel refuses, a broken input file...), ``ExotelCallNotifier`` phones
the on-call engineer: once per failed run, because it is the DAG's ``on_failure_callback``. Put it
in a task's ``on_failure_callback`` instead to be called for each failed task.
"""

from __future__ import annotations

import csv
import datetime
import os
from pathlib import Path
from typing import Any

import pendulum
from airflow.sdk import DAG, Param, task

from exotel_provider.calls import DEFAULT_POLL_INTERVAL_SECONDS, TERMINAL_STATUSES
from exotel_provider.calls.calling_hours import DEFAULT_CALLING_HOURS
from exotel_provider.campaigns.reminders import india_day
from exotel_provider.notifications.exotel import ExotelCallNotifier
from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor

INDIA = pendulum.timezone("Asia/Kolkata")
INVOICES_CSV = Path(__file__).parent / "data" / "overdue_invoices.csv"
GRACE_DAYS = 7
COLLECTIONS_FLOW_APP_ID = "931"
ALERT_FLOW_APP_ID = "940"
EXOPHONE = "08047112345"
CALLING_HOURS = os.environ.get("EXOTEL_CALLING_HOURS", DEFAULT_CALLING_HOURS)
"""When customers may be called, India time (RBI: 08:00-19:00 for calls about overdue loans);
``EXOTEL_CALLING_HOURS``, e.g. ``08:00-19:00`` or ``09:00-18:00 mon-sat``."""
POLL_SECONDS = float(os.environ.get("EXOTEL_POLL_SECONDS", DEFAULT_POLL_INTERVAL_SECONDS))
"""How often a call's status is checked (the local demo and the tests use a few seconds)."""


def call_arguments(invoice: dict[str, str]) -> dict[str, str]:
    """One invoice row → the ``ExotelConnectOperator`` arguments for the call about it."""
    return {"from_number": invoice["phone"], "custom_field": invoice["invoice_id"]}


page_on_call = ExotelCallNotifier(
    # The on-call number is an Airflow Variable, so a rota change needs no deploy.
    to_number="{{ var.value.get('exotel_on_call_number', '+919876500999') }}",
    app_id=ALERT_FLOW_APP_ID,
    caller_id=EXOPHONE,
)

with DAG(
    dag_id="exotel_overdue_invoices",
    schedule="0 11 * * 1-5",  # weekdays, 11:00 India time
    start_date=pendulum.datetime(2026, 1, 1, tz=INDIA),
    catchup=False,
    max_active_runs=1,
    on_failure_callback=page_on_call,
    params={
        "as_of": Param(
            None,
            type=["null", "string"],
            format="date",
            title="As of",
            description="Find invoices overdue on this day (YYYY-MM-DD). Empty: the run's date in India time.",
        ),
    },
    tags=["exotel", "example"],
    doc_md=__doc__,
) as dag:

    @task(show_return_value_in_logs=False)  # the invoices carry phone numbers: XCom only, not the log
    def find_overdue_invoices(params: dict[str, Any], dag_run: Any = None) -> list[dict[str, str]]:
        """Unpaid invoices more than GRACE_DAYS past their due date."""
        as_of = india_day(params.get("as_of"), dag_run.logical_date, dag_run.run_after)
        cutoff = (datetime.date.fromisoformat(as_of) - datetime.timedelta(days=GRACE_DAYS)).isoformat()
        with INVOICES_CSV.open(newline="") as source:
            overdue = [
                row for row in csv.DictReader(source) if row["paid"] == "no" and row["due_date"] < cutoff
            ]
        print(f"{len(overdue)} invoices unpaid since before {cutoff}")
        return overdue

    overdue = find_overdue_invoices()

    call_customer = ExotelConnectOperator.partial(
        task_id="call_customer",
        app_id=COLLECTIONS_FLOW_APP_ID,
        caller_id=EXOPHONE,
        time_limit=600,
        calling_hours=CALLING_HOURS,  # a customer is never called outside them
        retries=0,
        max_active_tis_per_dag=10,
        map_index_template="{{ task.custom_field }}",
    ).expand_kwargs(overdue.map(call_arguments))

    wait_for_call = ExotelCallSensor.partial(
        task_id="wait_for_call",
        success_statuses=TERMINAL_STATUSES,
        mode="reschedule",
        poke_interval=POLL_SECONDS,
        timeout=2 * 3600,
        retries=2,  # waiting only reads: a retry is safe (and absorbs Airflow's deferral race)
        retry_delay=datetime.timedelta(seconds=10),
        max_active_tis_per_dag=10,
    ).expand(call_sid=call_customer.output)

    @task
    def record_outcomes(invoices: list[dict[str, str]], calls: list[dict[str, Any]]) -> dict[str, str]:
        """invoice id → next step for the collections team (reached, or try again tomorrow)."""
        # Both lists follow the map index, so the n-th call is about the n-th invoice.
        actions = {
            invoice["invoice_id"]: "reached"
            if call["Status"] == "completed"
            else f"call again ({call['Status']})"
            for invoice, call in zip(invoices, calls, strict=True)
        }
        for invoice_id, action in actions.items():
            print(f"{invoice_id}: {action}")
        return actions

    record_outcomes(overdue, wait_for_call.output)
