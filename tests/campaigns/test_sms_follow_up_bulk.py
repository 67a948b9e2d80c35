"""The reminders' SMS follow-up in bulk, against the simulator over real HTTP: up to 100 SMS a
``Sms/bulksend`` request, each reminder's row written before the request and completed from its own
entry of the answer, and nobody texted twice whatever happened to a request."""

from __future__ import annotations

import math

import pytest

from exotel_provider.campaigns import sms_follow_up as follow_up
from exotel_provider.client.retry_policy import RetryPolicy
from exotel_provider.client.sync_client import ExotelClient
from exotel_provider.errors import ExotelBadRequestError
from exotel_provider.simulator import SMS_SEND_PATH
from exotel_provider.sms.bulk import BulkSmsResult
from tests.support.sms_books import SMS_FOLLOW_UP_DAY
from tests.support.trigger_helpers import simulator_settings

DAY = SMS_FOLLOW_UP_DAY
TEMPLATE = follow_up.SmsTemplate("EXOTEL", "1101456789012345678", "1107161234567890123")
FAST = RetryPolicy(max_attempts=3, initial_wait=0.01, max_wait=0.02, max_retry_after=0.02)

pytestmark = pytest.mark.exotel_simulator(time_scale=0, rate_limit_per_minute=None)


def reminders(count: int) -> list[dict[str, str]]:
    return [
        {"reminder_id": f"R-{i:04d}", "phone": f"+91987650{i:04d}", "due_date": DAY, "customer": f"C{i}"}
        for i in range(count)
    ]


@pytest.fixture
def client(exotel_simulator):
    with ExotelClient(simulator_settings(exotel_simulator), retry_policy=FAST, sleep=lambda _: None) as sync:
        yield sync


def follow(book, client, due, **kwargs):
    return follow_up.send_follow_ups(
        book, due, template=TEMPLATE, send=client.send_sms, send_bulk=client.send_sms_bulk,
        log=lambda _: None, **kwargs,
    )  # fmt: skip


def sms_requests(simulator):
    return [r.path.rsplit("/", 1)[-1] for r in simulator.requests if r.is_sms_send]


def test_n_unanswered_reminders_take_ceil_n_over_100_requests_and_a_rerun_sends_none(
    exotel_simulator, book, client
):
    due = reminders(101)
    assert follow(book, client, due) == {"sent": 101}
    assert sms_requests(exotel_simulator) == ["bulksend.json"] * math.ceil(101 / 100)
    assert [len(r.form) for r in exotel_simulator.requests] == [51 * 3 + 3, 50 * 3 + 3]  # 51 + 50 messages
    sent = exotel_simulator.sent_sms()
    assert sorted(m.request.to_number for m in sent) == sorted(f"0987650{i:04d}" for i in range(101))
    rows = book.rows()
    assert {rows[r["reminder_id"]].sms_sid for r in due} == {m.sid for m in sent}
    assert "C7" in next(m.request.body for m in sent if m.request.to_number.endswith("0007"))

    assert follow(book, client, due) == {"sent": 101}
    assert len(exotel_simulator.sent_sms()) == 101 and len(sms_requests(exotel_simulator)) == 2


def test_a_failed_or_dnd_sms_is_recorded_for_its_reminder_only_and_dnd_is_counted(
    exotel_simulator, book, client
):
    due = reminders(3)
    exotel_simulator.script_sms(due[1]["phone"], "failed")
    exotel_simulator.script_sms(due[2]["phone"], "failed_dnd")
    follow(book, client, due)
    exotel_simulator.advance(60)
    follow_up.settle_sms(book, client.get_sms)
    rows = book.rows()
    assert [rows[r["reminder_id"]].status for r in due] == ["sent", "failed", "failed_dnd"]
    assert sms_requests(exotel_simulator) == ["bulksend.json"]
    summary = follow_up.sms_summary(rows.values())
    assert (summary["sms_sent"], summary["sms_failed_dnd"]) == (3, 1)


def test_a_refusal_in_the_bulk_answer_fails_that_reminder_only(book):
    def send_bulk(requests):
        from exotel_provider.sms.model import SmsMessage, SmsStatus

        return [
            BulkSmsResult(r, error="Exotel refused it (HTTP 400): DLT template mismatch")
            if i == 1
            else BulkSmsResult(
                r, message=SmsMessage(sid=f"S{i}", status=SmsStatus.QUEUED, raw_status="queued")
            )
            for i, r in enumerate(requests)
        ]

    states = follow_up.send_follow_ups(
        book, reminders(3), template=TEMPLATE, send=lambda r: None, send_bulk=send_bulk, log=lambda _: None
    )
    assert states == {"sent": 2, "failed": 1}
    assert "DLT template mismatch" in book.rows()["R-0001"].error


def test_a_dlt_refusal_of_the_whole_request_fails_its_reminders_and_sends_nothing(
    exotel_simulator, book, client
):
    exotel_simulator.inject_fault(
        "status", status=400, method="POST", path=SMS_SEND_PATH, message="Invalid parameter DltTemplateId"
    )
    assert follow(book, client, reminders(2)) == {"failed": 2}
    assert exotel_simulator.sent_sms() == []
    assert "DltTemplateId" in book.rows()["R-0000"].error


def test_a_lost_bulk_answer_leaves_every_reminder_unknown_and_is_not_resent(exotel_simulator, book, client):
    exotel_simulator.inject_fault("drop", method="POST", path=SMS_SEND_PATH)
    due = reminders(3)
    assert follow(book, client, due) == {"unknown": 3}
    assert follow(book, client, due) == {"unknown": 3}
    assert sms_requests(exotel_simulator) == ["bulksend.json"]
    assert len(exotel_simulator.sent_sms()) == 3  # Exotel sent them; nobody gets a second one


def test_rows_are_written_sending_before_the_bulk_request_goes_out(book):
    seen = []

    def send_bulk(requests):
        seen.extend(row.state for row in book.rows().values())
        raise ExotelBadRequestError("refused", status_code=400)

    follow_up.send_follow_ups(
        book, reminders(2), template=TEMPLATE, send=lambda r: None, send_bulk=send_bulk, log=lambda _: None
    )
    assert seen == ["sending", "sending"]


def test_a_lone_message_goes_by_the_single_send(exotel_simulator, book, client):
    assert follow(book, client, reminders(1)) == {"sent": 1}
    assert sms_requests(exotel_simulator) == ["send.json"]
