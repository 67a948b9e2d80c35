"""Exotel's SMSMessage answers, JSON and XML, parse into the same SmsMessage."""

from __future__ import annotations

import pytest

from exotel_provider.errors import ExotelResponseError
from exotel_provider.sms.model import SmsMessage, SmsStatus
from exotel_provider.sms.parsing import parse_sms

JSON_ANSWER = (
    '{"SMSMessage": {"Sid": "abc", "Status": "failed_dnd", "DetailedStatus": "FAILED_DND", '
    '"DetailedStatusCode": 30008, "DateSent": "2026-12-03 10:00:05", "Price": "0.20", '
    '"From": "EXOTEL", "To": "09876543210", "Body": "Due today"}}'
)
XML_ANSWER = (
    "<TwilioResponse><SMSMessage><Sid>abc</Sid><Status>failed_dnd</Status>"
    "<DetailedStatus>FAILED_DND</DetailedStatus><DetailedStatusCode>30008</DetailedStatusCode>"
    "<DateSent>2026-12-03 10:00:05</DateSent><Price>0.20</Price><From>EXOTEL</From>"
    "<To>09876543210</To><Body>Due today</Body></SMSMessage></TwilioResponse>"
)


@pytest.mark.parametrize("answer", [JSON_ANSWER, XML_ANSWER], ids=["json", "xml"])
def test_both_formats_give_the_same_message(answer):
    message = parse_sms(answer)
    assert message.status is SmsStatus.FAILED_DND and message.is_final and not message.was_sent
    assert message.price == 0.2 and message.detailed_status_code == "30008"
    assert SmsMessage.from_dict(message.to_dict()) == message


def test_an_in_progress_message_is_not_final_and_empty_fields_are_none():
    message = parse_sms(
        "<TwilioResponse><SMSMessage><Sid>s1</Sid><Status>queued</Status><Price/></SMSMessage></TwilioResponse>"
    )
    assert not message.is_final and message.price is None


def test_an_undocumented_status_is_kept_raw_and_not_final():
    message = parse_sms('{"SMSMessage": {"Sid": "s1", "Status": "delivered"}}')
    assert message.status is None and message.raw_status == "delivered" and not message.is_final


@pytest.mark.parametrize(
    "answer", ["", "<html>oops</html>", '{"Call": {"Sid": "x"}}', '{"SMSMessage": {"Status": "sent"}}']
)
def test_unreadable_answers_raise_the_response_error(answer):
    with pytest.raises(ExotelResponseError):
        parse_sms(answer)


def test_repr_masks_the_number_and_leaves_out_the_text():
    text = repr(parse_sms(JSON_ANSWER))
    assert "9876543210" not in text and "Due today" not in text
