"""ExotelSmsOperator against the simulator over real HTTP: sent once across retries, lost answers
never resent, DLT refusals before and from Exotel, failed_dnd as an outcome, deferral."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from exotel_provider.errors import ExotelAuthenticationError, ExotelBadRequestError
from exotel_provider.operators import ExotelSmsOperator
from exotel_provider.operators.sms import SMS_DETAILS_KEY, SMS_SID_KEY
from exotel_provider.provider_info import get_provider_info
from exotel_provider.simulator import SMS_PATH, SMS_SEND_PATH
from exotel_provider.sms.guard import DEFAULT_SMS_KEY_PREFIX
from exotel_provider.task_errors import InvalidSmsRequest, SmsNotSent, SmsOutcomeUnknown
from tests.support.operator_runs import CUSTOMER, context
from tests.support.task_doubles import DictStateStore

try:
    from airflow.sdk.exceptions import TaskDeferred
except ImportError:  # Airflow 3.1
    from airflow.exceptions import TaskDeferred  # type: ignore[no-redef]

pytestmark = pytest.mark.exotel_simulator(time_scale=600, rate_limit_per_minute=None)

DLT = {"dlt_entity_id": "1101456780000012345", "dlt_template_id": "1107161234567890123"}


def sms_operator(**overrides: Any) -> ExotelSmsOperator:
    params: dict[str, Any] = {
        "task_id": "remind_by_sms",
        "to_number": CUSTOMER,
        "from_number": "EXOTEL",
        "body": "Your payment of Rs 500 is due on 5 Dec.",
        "poll_interval": 0.01,
        **DLT,
    }
    params.update(overrides)
    return ExotelSmsOperator(**params)


def posts(simulator) -> list[Any]:
    return [request for request in simulator.requests if request.is_sms_send]


def test_the_sid_goes_to_xcom_and_the_state_store(exotel_connection_env):
    ctx = context(DictStateStore())
    sid = sms_operator().execute(ctx)
    assert ctx["ti"].xcom == {SMS_SID_KEY: sid, "return_value": sid}
    assert ctx["task_state_store"].values[f"{DEFAULT_SMS_KEY_PREFIX}sid"] == sid
    assert [message.sid for message in exotel_connection_env.sent_sms(CUSTOMER)] == [sid]


def test_one_sms_is_sent_once_across_a_retry(exotel_connection_env):
    exotel_connection_env.inject_fault("credentials_rejected", method="GET", path=SMS_PATH)
    store = DictStateStore()
    with pytest.raises(ExotelAuthenticationError) as first_try:
        sms_operator(wait_for_completion=True).execute(context(store))
    retry_ctx = context(store, try_number=2)
    sid = sms_operator(wait_for_completion=True).execute(retry_ctx)

    assert sid in str(first_try.value)  # the error names the SMS that was sent
    assert len(posts(exotel_connection_env)) == 1
    assert retry_ctx["ti"].xcom[SMS_DETAILS_KEY]["Status"] == "sent"


def test_a_lost_answer_is_not_resent_by_a_retry(exotel_connection_env):
    exotel_connection_env.inject_fault("drop", method="POST", path=SMS_SEND_PATH)
    store = DictStateStore()
    with pytest.raises(SmsOutcomeUnknown):
        sms_operator().execute(context(store))
    with pytest.raises(SmsOutcomeUnknown) as retry:
        sms_operator().execute(context(store, try_number=2))

    assert len(posts(exotel_connection_env)) == 1 and len(exotel_connection_env.sent_sms()) == 1
    assert "+91XXXXXX3210" in str(retry.value) and "9876543210" not in str(retry.value)
    assert "not sent again" in str(retry.value)


def test_a_retry_without_a_state_store_fails_safe_without_sending(exotel_connection_env):
    with pytest.raises(SmsOutcomeUnknown, match="earlier try may already have sent"):
        sms_operator().execute(context(None, try_number=2))
    assert exotel_connection_env.requests == []


@pytest.mark.parametrize("missing", ["dlt_entity_id", "dlt_template_id"])
def test_a_missing_dlt_id_is_refused_before_the_network(exotel_connection_env, missing):
    with pytest.raises(InvalidSmsRequest, match="DLT"):
        sms_operator(**{missing: None}).execute(context(DictStateStore()))
    assert exotel_connection_env.requests == []


def test_a_dlt_refusal_from_exotel_is_a_clear_error_and_a_fixed_retry_sends(exotel_connection_env):
    exotel_connection_env.inject_fault(
        "status", status=400, method="POST", path=SMS_SEND_PATH, message="Body does not match DltTemplateId"
    )
    store = DictStateStore()
    with pytest.raises(ExotelBadRequestError, match="registered DLT template"):
        sms_operator().execute(context(store))
    assert exotel_connection_env.sent_sms() == []

    sid = sms_operator().execute(context(store, try_number=2))  # nothing was sent, so the retry sends
    assert [message.sid for message in exotel_connection_env.sent_sms()] == [sid]


def test_failed_dnd_is_an_outcome_reported_in_xcom(exotel_connection_env):
    exotel_connection_env.script_sms(CUSTOMER, "failed_dnd")
    ctx = context(DictStateStore())
    sid = sms_operator(wait_for_completion=True).execute(ctx)
    details = ctx["ti"].xcom[SMS_DETAILS_KEY]
    assert (details["Sid"], details["Status"], details["Price"]) == (sid, "failed_dnd", 0.0)


def test_a_failed_sms_fails_the_task_with_its_details(exotel_connection_env):
    exotel_connection_env.script_sms(CUSTOMER, "failed")
    ctx = context(DictStateStore())
    with pytest.raises(SmsNotSent) as caught:
        sms_operator(wait_for_completion=True).execute(ctx)
    assert caught.value.sms["Status"] == "failed" == ctx["ti"].xcom[SMS_DETAILS_KEY]["Status"]


@pytest.mark.parametrize("outcome", ["sent", "failed_dnd"])
def test_waiting_deferred_gives_the_same_result_as_in_the_worker(exotel_connection_env, outcome):
    exotel_connection_env.script_sms(CUSTOMER, outcome)
    deferred_ctx = context(DictStateStore())
    with pytest.raises(TaskDeferred) as caught:
        sms_operator(wait_for_completion=True, deferrable=True).execute(deferred_ctx)
    trigger = caught.value.trigger
    classpath, kwargs = trigger.serialize()
    assert classpath == "exotel_provider.triggers.sms.ExotelSmsTrigger"
    assert exotel_connection_env.api_token not in json.dumps(kwargs)

    async def first_event() -> Any:
        async for event in trigger.run():
            return event.payload

    event = asyncio.run(first_event())
    sid = sms_operator().execute_complete(deferred_ctx, event, **caught.value.kwargs)
    assert deferred_ctx["ti"].xcom[SMS_DETAILS_KEY]["Status"] == outcome
    assert sid == deferred_ctx["ti"].xcom[SMS_SID_KEY] and len(posts(exotel_connection_env)) == 1


def test_the_operator_is_registered_and_a_dag_file_using_it_loads_no_heavy_library():
    info = get_provider_info()
    assert "exotel_provider.operators.sms" in info["operators"][0]["python-modules"]
    assert "exotel_provider.triggers.sms" in info["triggers"][0]["python-modules"]
    script = textwrap.dedent(
        """
        import json, sys, airflow.sdk
        before = set(sys.modules)
        from exotel_provider.operators import ExotelSmsOperator
        ExotelSmsOperator(task_id="sms", to_number="+919876543210", body="Due", dlt_entity_id="1",
                          dlt_template_id="2")
        heavy = ("requests", "httpx", "phonenumbers", "xmltodict", "exotel_provider.client.sync_client")
        loaded = set(sys.modules) - before
        print(json.dumps([name for name in heavy if name in loaded]))
        """
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert json.loads(loaded.stdout.strip().splitlines()[-1]) == []
