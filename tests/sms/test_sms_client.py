"""The clients send and read SMS against the simulator over real HTTP, with the calls' transport:
retries only where nothing was sent, the request budget, redaction and the typed errors."""

from __future__ import annotations

import logging
import traceback

import pytest

from exotel_provider.client.async_client import ExotelAsyncClient
from exotel_provider.client.request_budget import RequestBudget
from exotel_provider.client.retry_policy import RetryPolicy
from exotel_provider.client.sync_client import ExotelClient
from exotel_provider.errors import (
    ExotelBadRequestError,
    ExotelNotFoundError,
    ExotelSmsOutcomeUnknownError,
)
from exotel_provider.simulator import SMS_PATH, SMS_SEND_PATH
from exotel_provider.sms.model import SmsStatus
from exotel_provider.sms.send_request import build_sms_request
from tests.support.trigger_helpers import simulator_settings

TOKEN = "tok-SMS-SECRET-41c9e7"
CUSTOMER = "+919876543210"
FAST = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.02, max_retry_after=0.02)

pytestmark = pytest.mark.exotel_simulator(time_scale=0, api_token=TOKEN)


def reminder_parameters() -> dict:
    return {
        "to_number": CUSTOMER,
        "from_number": "EXOTEL",
        "body": "Your payment of Rs 500 is due on 5 Dec.",
        "dlt_entity_id": "1101456780000012345",
        "dlt_template_id": "1107161234567890123",
    }


def reminder(**overrides):
    return build_sms_request(**{**reminder_parameters(), **overrides})


def client(simulator, **kwargs) -> ExotelClient:
    return ExotelClient(simulator_settings(simulator), retry_policy=FAST, sleep=lambda _: None, **kwargs)


def sent_forms(simulator):
    return [r.form for r in simulator.requests if r.is_sms_send]


def test_send_then_read_until_sent_and_priced(exotel_simulator):
    with client(exotel_simulator) as sync:
        message = sync.send_sms(reminder())
        assert message.status is SmsStatus.QUEUED and not message.is_final
        exotel_simulator.advance(60)
        [final] = list(sync.iter_sms([message.sid, message.sid]))
    assert final.status is SmsStatus.SENT and final.price and final.price > 0
    [form] = sent_forms(exotel_simulator)
    assert form["DltTemplateId"] == ["1107161234567890123"] and form["To"] == [CUSTOMER]


@pytest.mark.parametrize("prefer_json", [True, False], ids=["json", "xml"])
def test_both_answer_formats_read_the_same_message(exotel_simulator, prefer_json):
    exotel_simulator.script_sms(CUSTOMER, "failed_dnd")
    with client(exotel_simulator, prefer_json=prefer_json) as sync:
        sid = sync.send_sms(reminder()).sid
        exotel_simulator.advance(60)
        assert sync.get_sms(sid).status is SmsStatus.FAILED_DND


async def test_the_async_client_sends_and_reads_the_same(exotel_simulator):
    async with ExotelAsyncClient(simulator_settings(exotel_simulator), retry_policy=FAST) as aclient:
        message = await aclient.send_sms(reminder())
        exotel_simulator.advance(60)
        read = [m async for m in aclient.iter_sms([message.sid])]
    with client(exotel_simulator) as sync:
        assert read == [sync.get_sms(message.sid)]
    assert read[0].status is SmsStatus.SENT


def test_exotels_503_for_platform_limits_is_retried_and_sends_once(exotel_simulator):
    exotel_simulator.inject_fault("status", status=503, method="POST", path=SMS_SEND_PATH)
    with client(exotel_simulator) as sync:
        sync.send_sms(reminder())
    assert [r.status_code for r in exotel_simulator.requests if r.is_sms_send] == [503, 200]
    assert len(exotel_simulator.sent_sms()) == 1


@pytest.mark.parametrize("fault", ["drop", "gateway-502"])
def test_a_lost_answer_is_not_resent_and_says_the_sms_may_exist(exotel_simulator, fault):
    if fault == "drop":
        exotel_simulator.inject_fault("drop", method="POST", path=SMS_SEND_PATH)
    else:
        exotel_simulator.inject_fault("html_page", status=502, method="POST", path=SMS_SEND_PATH)
    with (
        client(exotel_simulator) as sync,
        pytest.raises(ExotelSmsOutcomeUnknownError, match="not sent again"),
    ):
        sync.send_sms(reminder())
    assert len(sent_forms(exotel_simulator)) == 1
    assert len(exotel_simulator.sent_sms()) == 1


def test_a_dlt_refusal_from_exotel_is_a_bad_request_naming_the_dlt_fix(exotel_simulator):
    exotel_simulator.inject_fault(
        "status", status=400, method="POST", path=SMS_SEND_PATH, message="Invalid parameter DltTemplateId"
    )
    with client(exotel_simulator) as sync, pytest.raises(ExotelBadRequestError) as caught:
        sync.send_sms(reminder())
    assert "DltTemplateId" in str(caught.value) and "registered DLT template" in str(caught.value)
    assert exotel_simulator.sent_sms() == []


def test_an_unknown_sid_is_not_found(exotel_simulator):
    with client(exotel_simulator) as sync, pytest.raises(ExotelNotFoundError):
        sync.get_sms("nosuchsms")


@pytest.mark.exotel_simulator(time_scale=0, api_token=TOKEN, rate_limit_per_minute=None)
def test_every_sms_request_takes_a_slot_of_the_accounts_budget(exotel_simulator):
    budget = RequestBudget(200)
    with client(exotel_simulator, budget=budget) as sync:
        sid = sync.send_sms(reminder()).sid
        sync.get_sms(sid)
        list(sync.iter_sms([sid]))
    assert budget.granted == 3


def test_the_token_is_never_in_logs_or_errors_of_sms_requests(exotel_simulator, caplog):
    caplog.set_level(logging.DEBUG)
    echoed = f"Bad credentials {exotel_simulator.api_key}:{TOKEN}"
    exotel_simulator.inject_fault("status", status=403, method="POST", path=SMS_SEND_PATH, message=echoed)
    exotel_simulator.inject_fault("status", status=500, path=SMS_PATH, times=None, message=f"token={TOKEN}")
    errors = []
    with client(exotel_simulator) as sync:
        for attempt in (lambda: sync.send_sms(reminder()), lambda: sync.get_sms("x")):
            with pytest.raises(Exception) as caught:
                attempt()
            errors.append("".join(traceback.format_exception(caught.value)))
        errors.append(repr(sync))
    texts = [*errors, *(record.getMessage() for record in caplog.records)]
    assert not [text for text in texts if TOKEN in text]
    assert "9876543210" not in " ".join(record.getMessage() for record in caplog.records)


def test_the_hook_sends_within_the_accounts_budget_shared_with_calls(exotel_connection_env):
    from exotel_provider.client.request_budget import account_budget
    from exotel_provider.hooks.exotel import ExotelHook

    hook = ExotelHook()
    budget = account_budget(hook.settings)
    assert hook.client.budget is budget  # the one budget calls use too
    before = budget.granted
    message = hook.send_sms(hook.build_sms_request(**reminder_parameters()))
    hook.get_sms(message.sid)
    assert budget.granted - before == 2
    hook.close()
