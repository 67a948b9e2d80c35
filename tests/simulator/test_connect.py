"""POST /Calls/connect: both variants, validation, formats, scripted refusals."""

from __future__ import annotations

import re

import pytest
import xmltodict

from exotel_provider.simulator.server import ExotelSimulator
from tests.support.simulator_api import AGENT, AGENT_NATIONAL, CUSTOMER, CUSTOMER_NATIONAL, EXOPHONE

pytestmark = pytest.mark.exotel_simulator(time_scale=0)

SEED_FIELD_ORDER = [
    "Sid", "ParentCallSid", "DateCreated", "DateUpdated", "AccountSid", "To", "From", "PhoneNumberSid",
    "Status", "StartTime", "EndTime", "Duration", "Price", "Direction", "AnsweredBy", "ForwardedFrom",
    "CallerName", "Uri", "RecordingUrl",
]  # fmt: skip


def test_call_flow_variant_answers_the_queued_call_in_seed_shape(
    exotel_simulator: ExotelSimulator, api
) -> None:
    response = api.connect()

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    call = response.json()["Call"]
    assert list(call) == SEED_FIELD_ORDER
    assert re.fullmatch(r"[0-9a-f]{32}", call["Sid"])
    assert call["Status"] == "queued"
    assert call["From"] == CUSTOMER_NATIONAL
    assert call["To"] is None
    assert call["PhoneNumberSid"] == EXOPHONE
    assert call["AccountSid"] == exotel_simulator.account_sid
    assert call["Direction"] == "outbound-api"
    assert call["EndTime"] is call["Duration"] is call["Price"] is None
    assert call["Uri"] == f"/v1/Accounts/{exotel_simulator.account_sid}/Calls.json/{call['Sid']}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", call["DateCreated"])


def test_two_number_variant_shows_both_numbers_in_national_form(api) -> None:
    call = api.connect(From=AGENT, To=CUSTOMER).json()["Call"]

    assert (call["From"], call["To"]) == (AGENT_NATIONAL, CUSTOMER_NATIONAL)


@pytest.mark.parametrize("sent", ["+919876543210", "09876543210", "9876543210", "+91 98765-43210"])
def test_any_accepted_number_form_comes_back_national(api, sent: str) -> None:
    assert api.connect(From=sent).json()["Call"]["From"] == CUSTOMER_NATIONAL


def test_xml_is_the_default_answer(api) -> None:
    response = api.connect(json=False)

    assert response.headers["content-type"].startswith("application/xml")
    assert response.text.startswith("<?xml")
    call = xmltodict.parse(response.text)["TwilioResponse"]["Call"]
    assert list(call) == SEED_FIELD_ORDER
    assert call["From"] == CUSTOMER_NATIONAL
    assert call["EndTime"] is None and call["Price"] is None
    assert call["Uri"].endswith(f"/Calls/{call['Sid']}")


@pytest.mark.parametrize(
    ("form", "named"),
    [
        ({"From": None}, "From"),
        ({"CallerId": None}, "CallerId"),
        ({"Url": None}, "Url"),
        ({"From": ""}, "From"),
    ],
)
def test_missing_mandatory_parameter_is_400_naming_it(
    exotel_simulator: ExotelSimulator, api, form, named
) -> None:
    response = api.connect(**form)

    assert response.status_code == 400
    assert named in response.json()["RestException"]["Message"]
    assert exotel_simulator.placed_calls() == []


def test_missing_parameter_is_400_in_xml_too(api) -> None:
    response = api.connect(json=False, CallerId=None)

    error = xmltodict.parse(response.text)["TwilioResponse"]["RestException"]
    assert (response.status_code, error["Status"]) == (400, "400")
    assert "CallerId" in error["Message"]


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"TimeLimit": "14400"}, 200),
        ({"TimeLimit": "14401"}, 400),
        ({"TimeLimit": "ten"}, 400),
        ({"TimeOut": "0"}, 400),
        ({"CallType": "trans"}, 200),
        ({"CallType": "promo"}, 400),
        ({"From": "not-a-number"}, 400),
        ({"From": "12345"}, 400),
        ({"StatusCallbackContentType": "text/plain"}, 400),
        ({"StatusCallbackEvents[0]": "ringing"}, 400),
        ({"Url": "my.exotel.com/flow"}, 400),
    ],
)
def test_parameter_validation(api, form, status: int) -> None:
    assert api.connect(**form).status_code == status


def test_optional_parameters_are_recorded_not_acted_on(exotel_simulator: ExotelSimulator, api) -> None:
    api.place(
        TimeLimit="600",
        TimeOut="20",
        StatusCallback="http://192.0.2.1/hook",
        **{"StatusCallbackEvents[0]": "terminal", "StatusCallbackEvents[1]": "answered"},
        StatusCallbackContentType="application/json",
        CustomField="order-42",
    )

    (call,) = exotel_simulator.placed_calls(CUSTOMER)
    assert call.request.status_callback == "http://192.0.2.1/hook"
    assert call.request.status_callback_events == ("terminal", "answered")
    assert (call.request.time_limit, call.request.time_out) == (600, 20)
    assert call.request.custom_field == "order-42"
    assert call.request.app_id == "926"


def test_scripted_refusal_answers_403_and_places_nothing(exotel_simulator: ExotelSimulator, api) -> None:
    exotel_simulator.script(CUSTOMER, reject_status=403, reject_message="Call blocked by TRAI NDNC/DND")

    response = api.connect()

    assert response.status_code == 403
    assert response.json() == {"RestException": {"Status": 403, "Message": "Call blocked by TRAI NDNC/DND"}}
    assert exotel_simulator.placed_calls(CUSTOMER) == []


def test_scripted_balance_refusal_has_a_default_message(exotel_simulator: ExotelSimulator, api) -> None:
    exotel_simulator.script(CUSTOMER, reject_status=402)

    response = api.connect()

    assert response.status_code == 402
    assert "balance" in response.json()["RestException"]["Message"]
