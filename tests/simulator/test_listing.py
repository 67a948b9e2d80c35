"""GET /Calls: only finished calls, filters, sorting and cursor paging."""

from __future__ import annotations

import pytest
import xmltodict

from exotel_provider.simulator.clock import format_exotel_time
from exotel_provider.simulator.server import ExotelSimulator
from tests.support.simulator_api import AGENT, AGENT_NATIONAL, CUSTOMER

pytestmark = pytest.mark.exotel_simulator(time_scale=0)

CALL_SECONDS = 60  # enough for the default script to end (1 + 8 + 45)


def sids(response) -> list[str]:
    assert response.status_code == 200, response.text
    return [call["Sid"] for call in response.json()["Calls"]]


def test_ongoing_calls_are_not_listed(exotel_simulator: ExotelSimulator, api) -> None:
    finished = api.place()
    exotel_simulator.advance(CALL_SECONDS)
    ongoing = api.place()

    listing = api.list_calls().json()

    assert [call["Sid"] for call in listing["Calls"]] == [finished]
    assert listing["Calls"][0]["Price"] is None  # listed as soon as terminal, priced later
    assert listing["Metadata"]["Total"] == 1
    assert ongoing not in sids(api.list_calls(Sid=ongoing))


def test_sid_filter_returns_only_those_calls(exotel_simulator: ExotelSimulator, api) -> None:
    placed = [api.place() for _ in range(4)]
    exotel_simulator.advance(CALL_SECONDS)

    listed = sids(api.list_calls(Sid=f"{placed[0]},{placed[2]},{'f' * 32}"))

    assert sorted(listed) == sorted([placed[0], placed[2]])


def test_more_than_100_sids_is_400(api) -> None:
    response = api.list_calls(Sid=",".join(f"{i:032x}" for i in range(101)))

    assert response.status_code == 400
    assert "Sid" in response.json()["RestException"]["Message"]


def test_100_sids_are_accepted(api) -> None:
    assert api.list_calls(Sid=",".join(f"{i:032x}" for i in range(100))).status_code == 200


def test_paging_walks_every_call_once_newest_first(exotel_simulator: ExotelSimulator, api) -> None:
    placed = [api.place() for _ in range(23)]
    exotel_simulator.advance(CALL_SECONDS)

    page = api.list_calls(PageSize=10).json()
    pages = [page]
    while page["Metadata"]["NextPageUri"]:
        page = api.follow(page["Metadata"]["NextPageUri"]).json()
        pages.append(page)
    walked = [call["Sid"] for p in pages for call in p["Calls"]]

    assert [len(p["Calls"]) for p in pages] == [10, 10, 3]
    assert walked == placed[::-1]
    assert {p["Metadata"]["Total"] for p in pages} == {23}
    assert pages[0]["Metadata"]["PrevPageUri"] is None
    back = api.follow(pages[1]["Metadata"]["PrevPageUri"]).json()
    assert [call["Sid"] for call in back["Calls"]] == walked[:10]
    assert "After" not in pages[2]["Metadata"]["FirstPageUri"]


def test_new_calls_do_not_shift_an_ongoing_walk(exotel_simulator: ExotelSimulator, api) -> None:
    placed = [api.place() for _ in range(4)]
    exotel_simulator.advance(CALL_SECONDS)
    first = api.list_calls(PageSize=2, SortBy="DateCreated:asc").json()
    api.place()
    exotel_simulator.advance(CALL_SECONDS)

    second = api.follow(first["Metadata"]["NextPageUri"]).json()

    assert [call["Sid"] for call in first["Calls"] + second["Calls"]] == placed


def test_filters_by_status_and_number(exotel_simulator: ExotelSimulator, api) -> None:
    exotel_simulator.script(CUSTOMER, outcome="busy")
    busy = api.place(From=CUSTOMER)
    answered = api.place(From=AGENT)
    exotel_simulator.advance(CALL_SECONDS)

    assert sids(api.list_calls(Status="busy")) == [busy]
    assert sids(api.list_calls(Status="completed,busy")) == [answered, busy]
    assert sids(api.list_calls(From=AGENT)) == [answered]
    assert sids(api.list_calls(From=AGENT_NATIONAL)) == [answered]


def test_date_created_range(exotel_simulator: ExotelSimulator, api) -> None:
    early = api.place()
    exotel_simulator.advance(3600)
    late = api.place()
    exotel_simulator.advance(CALL_SECONDS)
    since = format_exotel_time(exotel_simulator.now() - 1800)

    assert sids(api.list_calls(DateCreated=f"gte:{since}")) == [late]
    assert sids(api.list_calls(DateCreated=f"lte:{since}")) == [early]


@pytest.mark.parametrize(
    "params",
    [
        {"PageSize": "101"},
        {"PageSize": "0"},
        {"SortBy": "Price:asc"},
        {"After": "not-a-cursor"},
        {"Status": "ended"},
        {"DateCreated": "gte:yesterday"},
        {"From": ",".join(f"+9198765432{i:02d}" for i in range(6))},
    ],
)
def test_bad_listing_parameters_are_400(api, params) -> None:
    assert api.list_calls(**params).status_code == 400


def test_listing_in_xml(exotel_simulator: ExotelSimulator, api) -> None:
    placed = [api.place() for _ in range(2)]
    exotel_simulator.advance(CALL_SECONDS)

    document = xmltodict.parse(api.list_calls(json=False).text, force_list=("Call",))["TwilioResponse"]

    assert document["Metadata"]["Total"] == "2"
    assert [call["Sid"] for call in document["Calls"]["Call"]] == placed[::-1]


def test_empty_listing(api) -> None:
    listing = api.list_calls().json()

    assert listing["Calls"] == []
    assert listing["Metadata"]["Total"] == 0
    assert listing["Metadata"]["NextPageUri"] is None
