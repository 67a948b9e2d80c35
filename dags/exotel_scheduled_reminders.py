"""Daily reminder calls at 10:00 India time, with one redial for busy and unanswered numbers.

1. ``read_due_reminders`` reads the day's reminders from a CSV file (``dags/data/due_reminders.csv``;
   swap in your own source, e.g. a SQL query through an Airflow connection). The day is the run's
   date in India time, or the ``due_date`` param of a manual run.
2. ``call`` places one call per reminder (dynamic task mapping, each mapped task labelled with its
   reminder id); ``wait_for_call`` waits for each call's final status and price.
3. ``plan_redials`` picks the calls that were busy or not answered (never anyone who answered);
   ``wait_before_redial`` waits ``redial_after_minutes``; ``redial`` / ``wait_for_redial`` call
   those people once more.
4. ``summarise`` pushes answered / not answered / failed counts, costs and talk time to XCom and
   writes an HTML report (its path is logged and in the summary).

At most ``MAX_CALLS_IN_FLIGHT`` calls are placed or watched at once (``max_active_tis_per_dag``):
each watched call costs one status request per check, and Exotel allows 200 requests a minute.
A number Exotel refuses (e.g. DND-registered) fails its own ``call`` task and shows up as
"failed" in the summary; everyone else is still called and watched.
"""

from __future__ import annotations

import csv
import datetime
import os
from pathlib import Path
from typing import Any

import pendulum
from airflow.providers.standard.sensors.date_time import DateTimeSensor
from airflow.sdk import DAG, Param, task

from exotel_provider.calls import TERMINAL_STATUSES
from exotel_provider.campaigns import REDIAL_STATUSES
from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor

INDIA = pendulum.timezone("Asia/Kolkata")
REMINDERS_CSV = Path(__file__).parent / "data" / "due_reminders.csv"
EXOPHONE = "08047112345"
MAX_CALLS_IN_FLIGHT = 20
"""20 calls checked every 30 s is ~40 status requests a minute, well inside Exotel's 200."""
POLL_SECONDS = float(os.environ.get("EXOTEL_POLL_SECONDS", "30"))
"""How often a call's status is checked (the local demo and the tests use a few seconds)."""


def report_dir() -> Path:
    """Where HTML reports go: ``$EXOTEL_REPORTS_DIR``, else ``$AIRFLOW_HOME/exotel_reports``."""
    default = Path(os.environ.get("AIRFLOW_HOME", "~/airflow")).expanduser() / "exotel_reports"
    return Path(os.environ.get("EXOTEL_REPORTS_DIR", default))


def call_arguments(reminder: dict[str, str]) -> dict[str, Any]:
    """One reminder row → the ``ExotelConnectOperator`` arguments for its call."""
    return {
        "from_number": reminder["phone"],
        "app_id": reminder["flow_app_id"],
        "custom_field": reminder["reminder_id"],
    }


def placed_attempts(ti: Any, task_id: str, reminders: list[dict[str, str]]) -> list[tuple[dict, str | None]]:
    """Each reminder with the Sid its mapped ``task_id`` placed (None if the call was refused)."""
    return [
        (reminder, ti.xcom_pull(task_ids=task_id, key="call_sid", map_indexes=index))
        for index, reminder in enumerate(reminders)
    ]


with DAG(
    dag_id="exotel_scheduled_reminders",
    schedule="0 10 * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz=INDIA),
    catchup=False,
    max_active_runs=1,
    params={
        "due_date": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Due date",
            description="Call the reminders due on this day (YYYY-MM-DD). Empty: the run's date in India time.",
        ),
        "redial_after_minutes": Param(
            30,
            type="number",
            minimum=0,
            maximum=600,
            title="Redial after (minutes)",
            description="How long to wait before calling busy / unanswered numbers once more.",
        ),
    },
    tags=["exotel", "example"],
    doc_md=__doc__,
) as dag:

    @task
    def read_due_reminders(params: dict[str, Any], dag_run: Any = None) -> list[dict[str, str]]:
        """The reminders due on the run's day (India time)."""
        due = (
            params["due_date"]
            or (dag_run.logical_date or dag_run.run_after).in_timezone(INDIA).date().isoformat()
        )
        with REMINDERS_CSV.open(newline="") as source:
            reminders = [row for row in csv.DictReader(source) if row["due_date"] == due]
        print(f"{len(reminders)} reminders due on {due}")
        return reminders

    reminders = read_due_reminders()

    calls = ExotelConnectOperator.partial(
        task_id="call",
        caller_id=EXOPHONE,
        time_limit=300,
        retries=0,
        max_active_tis_per_dag=MAX_CALLS_IN_FLIGHT,
        map_index_template="{{ task.custom_field }}",
    ).expand_kwargs(reminders.map(call_arguments))

    waits = ExotelCallSensor.partial(
        task_id="wait_for_call",
        success_statuses=TERMINAL_STATUSES,  # busy / no-answer are outcomes to report, not task failures
        mode="reschedule",
        poke_interval=POLL_SECONDS,
        timeout=2 * 3600,
        retries=2,  # waiting only reads: a retry is safe (and absorbs Airflow's deferral race)
        retry_delay=datetime.timedelta(seconds=10),
        max_active_tis_per_dag=MAX_CALLS_IN_FLIGHT,
        trigger_rule="all_done",  # watch every call that was placed, even if another was refused
        map_index_template="call {{ task.call_sid[:8] }}",
    ).expand(call_sid=calls.output)

    @task(trigger_rule="all_done")
    def plan_redials(
        reminders: list[dict[str, str]], finals: list[dict[str, Any]], params: dict[str, Any], ti: Any = None
    ) -> list[dict[str, str]]:
        """The reminders whose call was busy or not answered; pushes ``redial_at``, when to call again."""
        status_by_sid = {call["Sid"]: call["Status"] for call in finals or []}
        again = [
            reminder
            for reminder, sid in placed_attempts(ti, "call", reminders or [])
            if status_by_sid.get(sid) in REDIAL_STATUSES
        ]
        delay = datetime.timedelta(minutes=float(params["redial_after_minutes"]) if again else 0)
        ti.xcom_push(key="redial_at", value=(pendulum.now("UTC") + delay).isoformat())
        print(f"Redialling {len(again)} of {len(reminders or [])} reminders in {delay}")
        return again

    redialled = plan_redials(reminders, waits.output)

    wait_before_redial = DateTimeSensor(
        task_id="wait_before_redial",  # gives busy people time to finish their other call
        target_time="{{ ti.xcom_pull(task_ids='plan_redials', key='redial_at') }}",
        mode="reschedule",
        poke_interval=POLL_SECONDS,
    )

    redials = ExotelConnectOperator.partial(
        task_id="redial",
        caller_id=EXOPHONE,
        time_limit=300,
        retries=0,
        max_active_tis_per_dag=MAX_CALLS_IN_FLIGHT,
        map_index_template="{{ task.custom_field }}",
    ).expand_kwargs(redialled.map(call_arguments))

    redial_waits = ExotelCallSensor.partial(
        task_id="wait_for_redial",
        success_statuses=TERMINAL_STATUSES,
        mode="reschedule",
        poke_interval=POLL_SECONDS,
        timeout=2 * 3600,
        retries=2,  # waiting only reads: a retry is safe (and absorbs Airflow's deferral race)
        retry_delay=datetime.timedelta(seconds=10),
        max_active_tis_per_dag=MAX_CALLS_IN_FLIGHT,
        trigger_rule="all_done",
        map_index_template="call {{ task.call_sid[:8] }}",
    ).expand(call_sid=redials.output)

    @task(trigger_rule="all_done")
    def summarise(
        reminders: list[dict[str, str]],
        redialled: list[dict[str, str]] | None,
        finals: list[dict[str, Any]] | None,
        redial_finals: list[dict[str, Any]] | None,
        ti: Any = None,
        run_id: str | None = None,
    ) -> dict[str, Any]:
        """Counts, costs and durations to XCom; an HTML report to disk."""
        from exotel_provider.campaigns import Attempt, render_html_report, summarise_attempts

        call_by_sid = {call["Sid"]: call for call in [*(finals or []), *(redial_finals or [])]}
        attempts = []
        for number, (task_id, people) in enumerate(
            (("call", reminders or []), ("redial", redialled or [])), start=1
        ):
            for reminder, sid in placed_attempts(ti, task_id, people):
                label = f"{reminder['reminder_id']} {reminder['customer']}"
                # No Sid: Exotel refused the call. A Sid without an outcome: watching it failed.
                call = call_by_sid.get(sid) or (sid and {"Sid": sid, "Status": "outcome unknown"})
                attempts.append(
                    Attempt.of(reminder["reminder_id"], call or None, attempt=number, label=label)
                )
        summary = summarise_attempts(attempts)

        path = report_dir() / f"reminders-{run_id}.html".replace(":", "_").replace("+", "_")
        path.parent.mkdir(parents=True, exist_ok=True)
        day = reminders[0]["due_date"] if reminders else "no reminders due"
        path.write_text(render_html_report(summary, title=f"Reminder calls, {day}"))
        summary["report_path"] = str(path)
        print(
            f"{summary['entries']} reminders: {summary['answered']} answered, {summary['not_answered']} not "
            f"answered, {summary['failed']} failed; {summary['calls']} calls cost {summary['total_cost']:.2f}"
        )
        print(f"Report: {path}")
        return summary

    redialled >> wait_before_redial >> redials
    summarise(reminders, redialled, waits.output, redial_waits.output)
