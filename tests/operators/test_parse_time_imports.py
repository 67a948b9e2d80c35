"""A DAG file that uses the operators and the sensor loads none of the provider's heavy libraries, nor
the placement guard, its reconciliation or the clients: they load at execute time (parse time is
measured in bench/dag_parse_time.py)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

HEAVY = ("requests", "httpx", "tenacity", "xmltodict", "phonenumbers", "redis", "matplotlib")
EXECUTE_TIME_MODULES = (
    "exotel_provider.placement",
    "exotel_provider.placement.guard",
    "exotel_provider.placement.reconciliation",
    "exotel_provider.client.sync_client",
    "exotel_provider.client.async_client",
    "exotel_provider.calls.connect_request",
    "exotel_provider.calls.numbers",
    "exotel_provider.calls.parsing",
)
DAG_FILE = """
import datetime
from airflow.sdk import DAG
from exotel_provider.operators.exotel import ExotelConnectOperator
from exotel_provider.sensors.exotel import ExotelCallSensor

with DAG("with_exotel", schedule=None, start_date=datetime.datetime(2026, 1, 1)):
    place = ExotelConnectOperator(task_id="place", from_number="+919876543210", app_id=926)
    wait = ExotelCallSensor(task_id="wait", call_sid="{{ ti.xcom_pull(task_ids='place') }}", deferrable=True)
    place >> wait
"""

CAMPAIGN_DAG_FILE = """
import datetime
from airflow.sdk import DAG
from exotel_provider.operators.campaign import ExotelCampaignOperator

with DAG("with_campaign", schedule=None, start_date=datetime.datetime(2026, 1, 1)):
    ExotelCampaignOperator(
        task_id="remind",
        calls="{{ ti.xcom_pull(task_ids='due') }}",
        ledger={"conn_id": "reminders_db", "day": "{{ ds }}", "attempt": 1},
        app_id=926,
    )
"""
CAMPAIGN_EXECUTE_TIME_MODULES = (
    *EXECUTE_TIME_MODULES,
    "exotel_provider.placement.task_memory",
    "exotel_provider.client.api_requests",
    "exotel_provider.calls.connect_request",
    "exotel_provider.campaigns.placing",
    "exotel_provider.campaigns.parallel",
    "exotel_provider.campaigns.pacing",
    "exotel_provider.campaigns.in_flight",
    "exotel_provider.campaigns.outcomes",
    "exotel_provider.campaigns.progress",
    "exotel_provider.campaigns.run",
    "exotel_provider.campaigns.unknowns",
    "exotel_provider.campaigns.resolution_round",
    "exotel_provider.campaigns.ledger",
    "exotel_provider.campaigns.ledger_sql",
    "exotel_provider.operators.campaign_ledger",
)


def modules_loaded_by(code: str) -> set[str]:
    """The modules a fresh process loads running ``code`` after ``import airflow.sdk``."""
    script = textwrap.dedent("""
        import json, sys, airflow.sdk
        before = set(sys.modules)
        exec(compile(sys.argv[1], "dag_file.py", "exec"), {"__name__": "dag_file"})
        print(json.dumps(sorted(set(sys.modules) - before)))
    """)
    answer = subprocess.run([sys.executable, "-c", script, code], capture_output=True, text=True, check=True)
    return set(json.loads(answer.stdout.strip().splitlines()[-1]))


def test_importing_the_operator_and_sensor_loads_no_heavy_library():
    loaded = {name.split(".")[0] for name in modules_loaded_by(DAG_FILE)}
    assert not loaded & set(HEAVY), sorted(loaded & set(HEAVY))


def test_a_dag_file_using_the_operator_and_sensor_loads_no_execute_time_module():
    loaded = modules_loaded_by(DAG_FILE)
    assert "exotel_provider.operators.exotel" in loaded and "exotel_provider.sensors.exotel" in loaded
    assert not loaded & set(EXECUTE_TIME_MODULES), sorted(loaded & set(EXECUTE_TIME_MODULES))


def test_a_dag_file_using_the_campaign_operator_loads_no_heavy_library_nor_execute_time_module():
    loaded = modules_loaded_by(CAMPAIGN_DAG_FILE)
    assert "exotel_provider.operators.campaign" in loaded
    assert not {name.split(".")[0] for name in loaded} & set(HEAVY)
    too_early = loaded & set(CAMPAIGN_EXECUTE_TIME_MODULES)
    assert not too_early, sorted(too_early)


def test_the_campaign_operator_still_validates_its_arguments_when_the_dag_file_is_parsed():
    code = CAMPAIGN_DAG_FILE.replace("app_id=926,", "app_id=926, placing_threads=0,")
    script = "import airflow.sdk\n" + code
    answer = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert answer.returncode != 0 and "placing_threads" in answer.stderr, answer.stderr[-500:]


def test_the_operator_checks_unknown_outcome_against_the_guards_own_policies():
    from exotel_provider.operators import exotel as operator_module
    from exotel_provider.placement import guard

    assert operator_module.UNKNOWN_OUTCOME_POLICIES == guard.UNKNOWN_OUTCOME_POLICIES


def test_the_state_store_keys_are_the_placement_records():
    from exotel_provider.operators.exotel import PENDING_PLACEMENT_KEY, PLACED_CALL_KEY
    from exotel_provider.placement.state_store import DEFAULT_KEY_PREFIX, PlacementRecord

    record = PlacementRecord(None, DEFAULT_KEY_PREFIX)
    assert (record.sid_key, record.pending_key) == (PLACED_CALL_KEY, PENDING_PLACEMENT_KEY)
