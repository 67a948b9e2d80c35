"""The simulator's SMS, seen from a bare HTTP client: sending, DLT checks, statuses over simulated
time, failed_dnd, the XML/JSON answers, bulk sending and SMS faults."""

from __future__ import annotations

import pytest
import requests
import xmltodict

from exotel_provider.simulator import SMS_PATH, SMS_SEND_PATH
from exotel_provider.simulator.server import ExotelSimulator
from tests.support.simulator_api import CUSTOMER, CUSTOMER_NATIONAL

pytestmark = pytest.mark.exotel_simulator(time_scale=0)

DLT = {"DltEntityId": "1101456780000012345", "DltTemplateId": "1107161234567890123"}


def send(api, *, json: bool = True, **form):
    body = {"From": "EXOTEL", "To": CUSTOMER, "Body": "Your payment of Rs 500 is due.", **DLT, **form}
    body = {key: value for key, value in body.items() if value is not None}
    return api.session.post(api.url("Sms/send", json=json), data=body, timeout=10)


def read(api, sid: str, *, json: bool = True):
    return api.session.get(api.url(f"SMS/Messages/{sid}", json=json), timeout=10)


def test_an_sms_goes_from_queued_to_sent_with_a_price_on_the_simulated_clock(exotel_simulator, api):
    answer = send(api)
    assert answer.status_code == 200, answer.text
    message = answer.json()["SMSMessage"]
    assert (message["Status"], message["To"], message["Price"], message["DateSent"]) == (
        "queued",
        CUSTOMER_NATIONAL,
        None,
        None,
    )
    exotel_simulator.advance(2)
    assert read(api, message["Sid"]).json()["SMSMessage"]["Status"] == "submitted"
    exotel_simulator.advance(10)
    final = read(api, message["Sid"]).json()["SMSMessage"]
    assert final["Status"] == "sent" and final["Price"] > 0 and final["DateSent"]


def test_a_scripted_number_ends_failed_dnd_at_no_cost(exotel_simulator: ExotelSimulator, api):
    exotel_simulator.script_sms(CUSTOMER, "failed_dnd")
    sid = send(api).json()["SMSMessage"]["Sid"]
    exotel_simulator.advance(60)
    final = read(api, sid).json()["SMSMessage"]
    assert (final["Status"], final["Price"]) == ("failed_dnd", 0.0)


@pytest.mark.parametrize(
    ("form", "named"),
    [
        ({"DltTemplateId": None}, "DltTemplateId"),
        ({"DltEntityId": None}, "DltEntityId"),
        ({"DltTemplateId": "TPL-7"}, "DltTemplateId"),
        ({"Body": "x" * 2001}, "Body"),
        ({"EncodingType": "utf8"}, "EncodingType"),
        ({"SmsType": "promo"}, "SmsType"),
        ({"From": None}, "From"),
    ],
)
def test_a_refused_request_is_a_400_naming_the_parameter_and_sends_nothing(
    exotel_simulator, api, form, named
):
    answer = send(api, **form)
    assert answer.status_code == 400
    assert named in answer.json()["RestException"]["Message"]
    assert exotel_simulator.sent_sms() == []


def test_a_number_outside_india_needs_no_dlt_ids(exotel_simulator, api):
    answer = send(api, To="+6591234567", DltEntityId=None, DltTemplateId=None)
    assert answer.status_code == 200, answer.text


def test_xml_is_the_default_answer(api):
    answer = send(api, json=False)
    document = xmltodict.parse(answer.text)
    sid = document["TwilioResponse"]["SMSMessage"]["Sid"]
    assert (
        xmltodict.parse(read(api, sid, json=False).text)["TwilioResponse"]["SMSMessage"]["Status"] == "queued"
    )


def test_an_array_of_to_sends_one_message_to_each(exotel_simulator, api):
    form = {"From": "EXOTEL", "Body": "Due today", "To[0]": CUSTOMER, "To[1]": "+919812345678", **DLT}
    answer = api.session.post(api.url("Sms/send"), data=form, timeout=10)
    assert [m["To"] for m in answer.json()["SMSMessage"]] == [CUSTOMER_NATIONAL, "09812345678"]
    assert len(exotel_simulator.sent_sms()) == 2


def test_bulk_send_sends_different_texts_and_refuses_over_100(exotel_simulator, api):
    form = {"From": "EXOTEL", **DLT}
    form.update({f"Messages[{i}][To]": f"+9198765432{i:02d}" for i in range(2)})
    form.update({f"Messages[{i}][Body]": f"Reminder {i}" for i in range(2)})
    answer = api.session.post(api.url("Sms/bulksend"), data=form, timeout=10)
    assert [m["Body"] for m in answer.json()["SMSMessage"]] == ["Reminder 0", "Reminder 1"]
    too_many = {f"Messages[{i}][To]": CUSTOMER for i in range(101)} | {
        f"Messages[{i}][Body]": "x" for i in range(101)
    }
    assert api.session.post(api.url("Sms/bulksend"), data={**form, **too_many}, timeout=10).status_code == 400
    assert len(exotel_simulator.sent_sms()) == 2


def test_an_unknown_sid_is_a_404(api):
    assert read(api, "nosuchsms").status_code == 404


def test_a_dropped_answer_leaves_the_sms_sent(exotel_simulator, api):
    exotel_simulator.inject_fault("drop", method="POST", path=SMS_SEND_PATH)
    with pytest.raises(requests.ConnectionError):
        send(api)
    assert len(exotel_simulator.sent_sms(CUSTOMER)) == 1


def test_a_503_for_platform_limits_sends_nothing(exotel_simulator, api):
    exotel_simulator.inject_fault("status", status=503, method="POST", path=SMS_SEND_PATH)
    answer = send(api)
    assert answer.status_code == 503 and answer.json()["RestException"]["Status"] == 503
    assert exotel_simulator.sent_sms() == []
    assert exotel_simulator.requests[0].is_sms_send


def test_reading_an_sms_can_be_struck_by_a_fault(exotel_simulator, api):
    sid = send(api).json()["SMSMessage"]["Sid"]
    exotel_simulator.inject_fault("status", status=500, path=SMS_PATH)
    assert read(api, sid).status_code == 500
    assert read(api, sid).status_code == 200


def test_the_control_view_shows_sms_beside_calls(exotel_simulator, api):
    send(api)
    base = exotel_simulator.base_url
    [shown] = requests.get(f"{base}/_simulator/sms", params={"number": CUSTOMER}, timeout=10).json()
    assert shown["Request"]["DltTemplateId"] == [DLT["DltTemplateId"]]
    assert requests.get(f"{base}/_simulator/health", timeout=10).json()["sms"] == 1
    scripted = requests.post(
        f"{base}/_simulator/sms-scripts", json={"number": CUSTOMER, "outcome": "failed"}, timeout=10
    )
    assert scripted.json() == {"number": CUSTOMER_NATIONAL, "outcome": "failed"}


def test_the_cli_scripts_sms_outcomes_and_refuses_unknown_ones():
    from exotel_provider.simulator.__main__ import build_parser, parse_sms_script

    args = build_parser().parse_args(["--sms-script", f"{CUSTOMER}=failed_dnd"])
    assert [parse_sms_script(text) for text in args.sms_script] == [(CUSTOMER, "failed_dnd")]
    with pytest.raises(ValueError):
        parse_sms_script(f"{CUSTOMER}=delivered")
