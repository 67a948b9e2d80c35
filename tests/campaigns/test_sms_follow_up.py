"""The reminders' SMS follow-up, unit by unit: whom it picks, and ``reminder_sms`` (a SQLite database)
keeping one SMS per reminder a day whatever happened to the last request."""

from __future__ import annotations

import datetime
from zoneinfo import ZoneInfo

from exotel_provider.calls.calling_hours import CallingHours, CallingWindow
from exotel_provider.campaigns import sms_follow_up as follow_up
from exotel_provider.errors import ExotelSmsOutcomeUnknownError
from exotel_provider.sms.model import SmsMessage, SmsStatus
from tests.support.sms_books import SMS_FOLLOW_UP_DAY

DAY = SMS_FOLLOW_UP_DAY
INDIA = ZoneInfo("Asia/Kolkata")
NOON = datetime.datetime(2026, 8, 3, 12, tzinfo=INDIA).timestamp()
NINE_PM = NOON + 9 * 3600
WINDOW = CallingWindow(CallingHours.parse("08:00-19:00"), INDIA)  # type: ignore[arg-type]
TEMPLATE = follow_up.SmsTemplate("EXOTEL", "1101456789012345678", "1107161234567890123")


def reminder(key: str, phone: str = "+919876500101") -> dict[str, str]:
    return {"reminder_id": key, "phone": phone, "flow_app_id": "926", "due_date": DAY, "customer": "Asha"}


def call(key: str, attempt: int, status: str, state: str = "ended") -> dict[str, object]:
    return {"reminder_id": key, "due_date": DAY, "attempt": attempt, "state": state, "status": status}


class Sender:
    """Records each request; answers with a Sid, or raises ``error``."""

    def __init__(self, error: Exception | None = None) -> None:
        self.requests: list[object] = []
        self.error = error

    def __call__(self, request):
        self.requests.append(request)
        if self.error is not None:
            raise self.error
        return SmsMessage(sid=f"SM{len(self.requests)}", status=SmsStatus.QUEUED, raw_status="queued")


def send(book, reminders, sender, at=NOON):
    return follow_up.send_follow_ups(
        book, reminders, template=TEMPLATE, send=sender, window=WINDOW, clock=lambda: at, log=lambda _: None
    )


def test_only_reminders_unanswered_after_their_redial_or_failed_are_picked():
    reminders = [reminder(k) for k in ("A", "B", "C", "D", "E")]
    recorded = [
        call("A", 1, "completed"),
        call("B", 1, "busy"),  # its redial is still to come
        call("C", 1, "busy"), call("C", 2, "no-answer"),
        call("D", 1, "no-answer"), call("D", 2, "completed"),
        call("E", 1, "failed"),
    ]  # fmt: skip
    picked = follow_up.unanswered_reminders(reminders, recorded)
    assert [r["reminder_id"] for r in picked] == ["C", "E"]


def test_a_sent_sms_is_recorded_with_its_sid_and_not_sent_again(book):
    sender = Sender()
    assert send(book, [reminder("A")], sender) == {"sent": 1}
    assert send(book, [reminder("A")], sender) == {"sent": 1}
    assert len(sender.requests) == 1
    row = book.rows()["A"]
    assert (row.state, row.sms_sid, row.phone) == ("sent", "SM1", "+919876500101")
    assert "Asha" in sender.requests[0].body and sender.requests[0].dlt_template_id == "1107161234567890123"


def test_a_lost_answer_is_recorded_unknown_and_never_resent(book):
    lost = Sender(ExotelSmsOutcomeUnknownError("no answer"))
    assert send(book, [reminder("A")], lost) == {"unknown": 1}
    later = Sender()
    assert send(book, [reminder("A")], later) == {"unknown": 1}
    assert len(lost.requests) == 1 and later.requests == []


def test_a_row_left_sending_by_a_stopped_run_becomes_unknown_and_is_not_sent(book):
    book.write(follow_up.SmsRow("A", DAY, follow_up.SENDING, phone="+919876500101", sent_at=NOON))
    sender = Sender()
    assert send(book, [reminder("A")], sender) == {"unknown": 1}
    assert sender.requests == []


def test_outside_calling_hours_none_is_sent_the_reason_is_recorded_and_a_later_run_sends_it(book):
    sender = Sender()
    assert send(book, [reminder("A")], sender, at=NINE_PM) == {"not sent": 1}
    assert sender.requests == [] and "outside calling hours" in book.rows()["A"].error
    assert send(book, [reminder("A")], sender, at=NOON + 86400 - 3600) == {"sent": 1}
    assert len(sender.requests) == 1


def test_an_invalid_number_fails_before_any_request(book):
    sender = Sender()
    assert send(book, [reminder("A", phone="12")], sender) == {"failed": 1}
    assert sender.requests == []


def test_the_summary_counts_and_prices_the_sent_sms(book):
    send(book, [reminder("A"), reminder("B", "+919876500102")], Sender())
    follow_up.settle_sms(
        book, lambda sid: SmsMessage(sid=sid, status=SmsStatus.SENT, raw_status="sent", price=0.25)
    )
    assert follow_up.sms_summary(book.rows().values()) == {
        "sms_sent": 2, "sms_cost": 0.5, "sms_unknown": 0, "sms_failed_dnd": 0,
    }  # fmt: skip


def test_one_phone_due_on_two_reminders_gets_one_sms(book):
    sender = Sender()
    assert send(book, [reminder("A"), reminder("B", "09876500101")], sender) == {"sent": 1}
    assert len(sender.requests) == 1
