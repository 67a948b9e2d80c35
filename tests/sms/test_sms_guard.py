"""SmsGuard's decision, unit by unit: what it remembers before and after a send, per failure."""

from __future__ import annotations

import pytest

from exotel_provider.errors import (
    ExotelBadRequestError,
    ExotelSmsOutcomeUnknownError,
    ExotelUnreachableError,
)
from exotel_provider.sms.guard import SmsGuard
from exotel_provider.sms.model import SmsMessage, SmsStatus
from exotel_provider.sms.send_request import build_sms_request

REQUEST = build_sms_request(
    to_number="+919876543210",
    from_number="EXOTEL",
    body="Due today",
    dlt_entity_id="1",
    dlt_template_id="2",
)


class Store(dict):
    def set(self, key, value):
        self[key] = value

    def delete(self, key):
        self.pop(key, None)


class Sender:
    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.sent = 0

    def send_sms(self, request):
        self.sent += 1
        if self.error is not None:
            raise self.error
        return SmsMessage(sid=f"sms{self.sent}", status=SmsStatus.QUEUED, raw_status="queued")

    def get_sms(self, sid):
        return SmsMessage(sid=sid, status=SmsStatus.SENT, raw_status="sent")


def test_the_sid_is_kept_and_a_second_send_reads_it_back():
    store, sender = Store(), Sender()
    first = SmsGuard(store, sender).send(REQUEST)
    second = SmsGuard(store, sender, earlier_try=True).send(REQUEST)
    assert (first.reused, second.reused, second.message.sid, sender.sent) == (False, True, "sms1", 1)
    assert "exotel_sms_pending" not in store


@pytest.mark.parametrize(
    "error",
    [ExotelUnreachableError("refused", cause="refused"), ExotelBadRequestError("400", status_code=400)],
    ids=["never-connected", "refused"],
)
def test_a_send_that_provably_sent_nothing_may_be_sent_again(error):
    store = Store()
    with pytest.raises(type(error)):
        SmsGuard(store, Sender(error)).send(REQUEST)
    assert store == {}
    assert not SmsGuard(store, Sender(), earlier_try=True).send(REQUEST).reused


def test_a_lost_answer_keeps_the_mark_and_blocks_every_later_send():
    store, later = Store(), Sender()
    with pytest.raises(ExotelSmsOutcomeUnknownError):
        SmsGuard(store, Sender(ExotelSmsOutcomeUnknownError("lost"))).send(REQUEST)
    with pytest.raises(ExotelSmsOutcomeUnknownError, match="exotel_sms_pending"):
        SmsGuard(store, later, earlier_try=True).send(REQUEST)
    assert later.sent == 0


def test_without_a_store_only_a_first_try_sends():
    sender = Sender()
    assert SmsGuard(None, sender).send(REQUEST).message.sid == "sms1"
    with pytest.raises(ExotelSmsOutcomeUnknownError):
        SmsGuard(None, sender, earlier_try=True).send(REQUEST)
    assert sender.sent == 1
