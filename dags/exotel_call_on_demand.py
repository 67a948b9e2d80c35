"""Call one person now, from the Airflow UI: click Trigger, fill in the form, watch the call.

The DAG has no schedule. Its ``params`` are a JSON schema, so the trigger form shows labelled
fields with descriptions and refuses bad input (a malformed phone number, a non-numeric flow id)
before any task runs. The same conf works from the REST API or the CLI::

    airflow dags trigger exotel_call_on_demand --conf '{"phone": "+919876543210", "flow_app_id": "926"}'

``place_call`` dials the number and connects it to the call flow; if "Wait for the outcome" is
ticked, ``wait_for_call`` waits for the call's final status and price (in the triggerer when the
installed provider supports deferrable waiting, otherwise rescheduling between checks) and fails
the run unless the call was answered. Calls go out only within the calling hours
(``EXOTEL_CALLING_HOURS``, 08:00-19:00 India time by default), which the trigger form states, and
never to a number on the do-not-call list (the ``do_not_call`` table of the reminders database,
``exotel_reminders_db``, which the reminder campaigns read too; ``EXOTEL_DO_NOT_CALL_CONN_ID`` names
another connection, or is set empty where no list is kept).
"""

from __future__ import annotations

import inspect
import os
from datetime import timedelta

from airflow.sdk import DAG, Param, task

from exotel_provider.calls import DEFAULT_POLL_INTERVAL_SECONDS
from exotel_provider.calls.calling_hours import DEFAULT_CALLING_HOURS, CallingHours
from exotel_provider.operators.exotel import DEFAULT_RECONCILE_TIMEOUT, ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor

POLL_SECONDS = float(os.environ.get("EXOTEL_POLL_SECONDS", DEFAULT_POLL_INTERVAL_SECONDS))
RECONCILE_SECONDS = float(os.environ.get("EXOTEL_RECONCILE_SECONDS", DEFAULT_RECONCILE_TIMEOUT))
"""How long a lost placing answer is looked for in Exotel's listing before failing safe (the local
Airflow uses a minute, so that a fail-safe outcome shows quickly)."""
"""How often the call's status is checked (the local demo and the tests use a few seconds)."""
CALLING_HOURS = os.environ.get("EXOTEL_CALLING_HOURS", DEFAULT_CALLING_HOURS)
"""When customers may be called, India time (RBI: 08:00-19:00 for calls about overdue loans);
``EXOTEL_CALLING_HOURS``, e.g. ``08:00-19:00`` or ``09:00-18:00 mon-sat``."""
WINDOW = CallingHours.parse(CALLING_HOURS)
DO_NOT_CALL_CONN_ID = os.environ.get("EXOTEL_DO_NOT_CALL_CONN_ID", "exotel_reminders_db")
"""The common-sql connection whose ``do_not_call`` table is read before dialling (empty: no list)."""
WAIT_IN_TRIGGERER = "deferrable" in inspect.signature(ExotelCallSensor.__init__).parameters
"""Deferrable waiting frees the worker slot; older provider versions reschedule instead."""

with DAG(
    dag_id="exotel_call_on_demand",
    schedule=None,
    catchup=False,
    params={
        "phone": Param(
            type="string",
            pattern=r"^(\+91[6-9][0-9]{9}|0[6-9][0-9]{9})$",
            title="Phone number",
            description=(
                "The Indian mobile number to call: +91 and 10 digits, or 0 and 10 digits. Calls are "
                f"dialled only within the calling hours, {WINDOW.describe() if WINDOW else 'any hour'} "
                "(India time); outside them the run fails before dialling and says when they open. A number "
                "on the do-not-call list is never dialled."
            ),
        ),
        "flow_app_id": Param(
            "926",
            type="string",
            pattern=r"^[0-9]+$",
            title="Call flow (app id)",
            description="The id of the Exotel call flow to connect the person to (digits only).",
        ),
        "caller_id": Param(
            None,
            type=["null", "string"],
            pattern=r"^(\+91|0)[0-9]{10}$",
            title="Caller ID (ExoPhone)",
            description="The ExoPhone to call from. Empty: the connection's default caller ID.",
        ),
        "wait_for_outcome": Param(
            True,
            type="boolean",
            title="Wait for the outcome",
            description="Wait until the call has ended and is priced; fail the run unless it was answered.",
        ),
    },
    tags=["exotel", "example"],
    doc_md=__doc__,
) as dag:
    place_call = ExotelConnectOperator(
        task_id="place_call",
        from_number="{{ params.phone }}",
        app_id="{{ params.flow_app_id }}",
        caller_id="{{ params.caller_id or '' }}",
        custom_field="{{ dag_run.run_id }}",
        time_limit=600,
        calling_hours=CALLING_HOURS,
        do_not_call_conn_id=DO_NOT_CALL_CONN_ID,
        reconcile_timeout=RECONCILE_SECONDS,
        retries=2,  # safe: a retry finds the call an earlier try placed instead of dialling again
        retry_delay=timedelta(seconds=10),
    )

    @task.short_circuit
    def wait_requested(params: dict) -> bool:
        """Skip the wait when the form said not to wait."""
        return bool(params["wait_for_outcome"])

    wait_for_call = ExotelCallSensor(
        task_id="wait_for_call",
        call_sid="{{ ti.xcom_pull(task_ids='place_call', key='call_sid') }}",
        mode="reschedule",
        poke_interval=POLL_SECONDS,
        timeout=3600,
        retries=2,  # waiting only reads: a retry is safe (and absorbs Airflow's deferral race)
        retry_delay=timedelta(seconds=10),
        **({"deferrable": True} if WAIT_IN_TRIGGERER else {}),
    )

    place_call >> wait_requested() >> wait_for_call
