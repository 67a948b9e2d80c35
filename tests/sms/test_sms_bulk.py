"""Bulk SMS (``Sms/bulksend``): the batch validated before the network, its answer read message by
message (JSON or XML, a refusal per entry, entries matched to their numbers), and the clients sending
it against the simulator over real HTTP with the transport, budget and typed errors of single sends."""

from __future__ import annotations

import pytest

from exotel_provider.client.async_client import ExotelAsyncClient
from exotel_provider.client.request_budget import RequestBudget
from exotel_provider.client.retry_policy import RetryPolicy
from exotel_provider.client.sync_client import ExotelClient
from exotel_provider.errors import ExotelSmsOutcomeUnknownError, ExotelValidationError
from exotel_provider.simulator import SMS_SEND_PATH
from exotel_provider.sms.bulk import build_sms_batch, parse_bulk_answer
from exotel_provider.sms.model import SmsStatus
from exotel_provider.sms.send_request import build_sms_request
from tests.support.trigger_helpers import simulator_settings

FAST = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.02, max_retry_after=0.02)
NUMBERS = ("+919876500201", "+919876500202", "+919876500203")

pytestmark = pytest.mark.exotel_simulator(time_scale=0)


def message(to: str, body: str = "Your payment is due.", **overrides):
    parameters = {
        "to_number": to,
        "from_number": "EXOTEL",
        "body": body,
        "dlt_entity_id": "1101456780000012345",
        "dlt_template_id": "1107161234567890123",
        **overrides,
    }
    return build_sms_request(**parameters)


def batch(count: int = 3):
    return build_sms_batch([message(n, f"Reminder {i}") for i, n in enumerate(NUMBERS[:count])])


def client(simulator, **kwargs) -> ExotelClient:
    return ExotelClient(simulator_settings(simulator), retry_policy=FAST, sleep=lambda _: None, **kwargs)


def bulk_requests(simulator):
    return [r for r in simulator.requests if r.is_sms_send]


# --- the batch, before the network -------------------------------------------------------------


def test_the_form_names_each_message_and_sends_the_shared_parameters_once():
    form = batch(2).form()
    assert ("Messages[1][To]", NUMBERS[1]) in form and ("Messages[1][Body]", "Reminder 1") in form
    assert ("Messages[0][From]", "EXOTEL") in form
    assert [name for name, _ in form].count("DltTemplateId") == 1
    assert "CustomField" not in dict(form)


@pytest.mark.parametrize(
    "requests, problem",
    [
        ([], "no message"),
        ([message(NUMBERS[0])] * 101, "101 messages"),
        ([message(NUMBERS[0]), message(NUMBERS[1], dlt_template_id="1107000000000000001")], "differ"),
    ],
    ids=["empty", "over-100", "two-templates"],
)
def test_a_batch_exotel_would_refuse_is_refused_before_the_network(requests, problem):
    with pytest.raises(ExotelValidationError, match=problem):
        build_sms_batch(requests)


# --- the answer ---------------------------------------------------------------------------------


def sms_json(sid: str, to: str) -> str:
    return f'{{"Sid": "{sid}", "Status": "queued", "To": "{to}"}}'


def test_a_json_list_of_messages_is_read_in_order():
    answer = f'{{"SMSMessage": [{sms_json("a", "09876500201")}, {sms_json("b", "09876500202")}]}}'
    results = parse_bulk_answer(answer, batch(2))
    assert [r.message.sid for r in results] == ["a", "b"]
    assert results[0].message.status is SmsStatus.QUEUED


def test_repeated_xml_elements_are_read_in_order():
    answer = "<TwilioResponse>" + "".join(
        f"<SMSMessage><Sid>s{i}</Sid><Status>queued</Status><To>0{n[3:]}</To><DetailedStatus/></SMSMessage>"
        for i, n in enumerate(NUMBERS)
    ) + "</TwilioResponse>"  # fmt: skip
    assert [r.message.sid for r in parse_bulk_answer(answer, batch())] == ["s0", "s1", "s2"]


def test_a_refused_entry_is_that_messages_error_only():
    answer = (
        f'[{{"SMSMessage": {sms_json("a", "09876500201")}}}, '
        '{"RestException": {"Status": 400, "Message": "Template mismatch"}}]'
    )
    first, second = parse_bulk_answer(answer, batch(2))
    assert first.message.sid == "a" and first.error is None
    assert second.message is None and "Template mismatch" in second.error and not second.outcome_unknown


def test_entries_out_of_order_are_matched_by_number_and_a_missing_one_is_unknown():
    answer = f'{{"SMSMessage": [{sms_json("c", "09876500203")}, {sms_json("a", "09876500201")}]}}'
    first, second, third = parse_bulk_answer(answer, batch())
    assert (first.message.sid, third.message.sid) == ("a", "c")
    assert second.outcome_unknown


def test_an_entry_without_a_sid_is_unknown_not_a_crash():
    answer = '{"SMSMessage": [{"Status": "queued"}, {"Sid": "b", "Status": "queued"}]}'
    first, second = parse_bulk_answer(answer, batch(2))
    assert first.outcome_unknown and second.message.sid == "b"


# --- the clients, against the simulator ---------------------------------------------------------


@pytest.mark.parametrize("prefer_json", [True, False], ids=["json", "xml"])
def test_one_request_sends_every_message_once_each_with_its_sid(exotel_simulator, prefer_json):
    exotel_simulator.script_sms(NUMBERS[1], "failed")
    with client(exotel_simulator, prefer_json=prefer_json) as sync:
        results = sync.send_sms_bulk(batch().messages)
        exotel_simulator.advance(60)
        finals = [sync.get_sms(r.message.sid) for r in results]
    [request] = bulk_requests(exotel_simulator)
    assert request.path.endswith("/Sms/bulksend" + (".json" if prefer_json else ""))
    assert [m.request.body for m in exotel_simulator.sent_sms()] == ["Reminder 0", "Reminder 1", "Reminder 2"]
    assert [m.sid for m in exotel_simulator.sent_sms()] == [r.message.sid for r in results]
    assert [f.status for f in finals] == [SmsStatus.SENT, SmsStatus.FAILED, SmsStatus.SENT]


async def test_the_async_client_sends_a_batch_in_one_request(exotel_simulator):
    async with ExotelAsyncClient(simulator_settings(exotel_simulator), retry_policy=FAST) as aclient:
        results = await aclient.send_sms_bulk(batch().messages)
    assert len(bulk_requests(exotel_simulator)) == 1
    assert [m.sid for m in exotel_simulator.sent_sms()] == [r.message.sid for r in results]


def test_a_lost_bulk_answer_is_not_resent_and_says_the_messages_may_exist(exotel_simulator):
    exotel_simulator.inject_fault("drop", method="POST", path=SMS_SEND_PATH)
    with (
        client(exotel_simulator) as sync,
        pytest.raises(ExotelSmsOutcomeUnknownError, match="not sent again"),
    ):
        sync.send_sms_bulk(batch().messages)
    assert len(bulk_requests(exotel_simulator)) == 1 and len(exotel_simulator.sent_sms()) == 3


def test_a_platform_limits_503_is_retried_and_the_batch_sent_once(exotel_simulator):
    exotel_simulator.inject_fault("status", status=503, method="POST", path=SMS_SEND_PATH)
    with client(exotel_simulator) as sync:
        sync.send_sms_bulk(batch().messages)
    assert [r.status_code for r in bulk_requests(exotel_simulator)] == [503, 200]
    assert len(exotel_simulator.sent_sms()) == 3


@pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=None)
def test_a_bulk_send_takes_one_slot_of_the_accounts_budget(exotel_simulator):
    budget = RequestBudget(200)
    with client(exotel_simulator, budget=budget) as sync:
        sync.send_sms_bulk(batch().messages)
    assert budget.granted == 1


def test_the_hook_sends_a_batch_in_one_request(exotel_connection_env):
    from exotel_provider.hooks.exotel import ExotelHook

    hook = ExotelHook()
    try:
        results = hook.send_sms_bulk(batch(2).messages)
    finally:
        hook.close()
    assert len(results) == 2 and all(r.message is not None for r in results)
