"""A campaign with calling hours (08:00-19:00 India time) whose end-to-end test moves the simulator's
clock: started shortly before 19:00, it places what it can, waits deferred through the night and
places the rest from 08:00 the next morning."""

from __future__ import annotations

import datetime
import os

from airflow.sdk import DAG

from exotel_provider.operators.campaign import ExotelCampaignOperator

PEOPLE = 12
"""Reminders in the campaign (numbers +919876502000 ...)."""

with DAG(
    dag_id="exotel_window_campaign",
    schedule=None,
    start_date=datetime.datetime(2026, 1, 1),
    default_args={"retries": 0},
    doc_md=__doc__,
) as dag:
    ExotelCampaignOperator(
        task_id="call",
        calls=[{"key": f"W{i}", "from_number": f"+9198765020{i:02d}"} for i in range(PEOPLE)],
        app_id="940",
        caller_id="08047112345",
        time_limit=60,
        calling_hours="08:00-19:00",
        outside_calling_hours="defer",
        placing_threads=1,  # one after the other, so the window's end falls between two of them
        poll_interval=float(os.environ.get("EXOTEL_POLL_SECONDS", "2")),
    )
