"""Reading Exotel's JSON and XML answers into Calls: same Call either way, only ExotelResponseError escapes."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from exotel_provider.calls import CallStatus, parse_call, parse_call_page, parse_error_body
from exotel_provider.calls.parsing import body_excerpt
from exotel_provider.errors import ExotelResponseError

# The seed's exact examples (Exotel's "connect a number to a call flow" API page).
SEED_JSON = (
    '{ "Call": { "Sid": "80bfbec2d78bbbf10fb851f4fa165211", "ParentCallSid": null, '
    '"DateCreated": "2017-03-03 12:30:24", "DateUpdated": "2017-03-03 12:30:27", "AccountSid": "Exotel", '
    '"To": "0XXXXX40682", "From": "0XXXXX30240", "PhoneNumberSid": "0XXXXXX4890", "Status": "in-progress", '
    '"StartTime": "2017-03-03 12:30:27", "EndTime": null, "Duration": null, "Price": null, '
    '"Direction": "outbound-api", "AnsweredBy": null, "ForwardedFrom": null, "CallerName": null, '
    '"Uri": "/v1/Accounts/Exotel/Calls.json/80bfbec2d78bbbf10fb851f4fa165211", "RecordingUrl": null } }'
)
SEED_XML = (
    '<?xml version="1.0" encoding="UTF-8"?> <TwilioResponse> <Call> '
    "<Sid>db05188d0f6cf980cdcef8992c2b8cd4</Sid> <ParentCallSid/> <DateCreated>2017-02-22 04:35:19</DateCreated> "
    "<DateUpdated>2017-02-22 04:35:19</DateUpdated> <AccountSid>Exotel</AccountSid> <To>0XXXXX40682</To> "
    "<From>0XXXXX30240</From> <PhoneNumberSid>0XXXXXX4890</PhoneNumberSid> <Status>in-progress</Status> "
    "<StartTime>2017-02-22 04:35:19</StartTime> <EndTime/> <Duration/> <Price/> "
    "<Direction>outbound-api</Direction> <AnsweredBy/> <ForwardedFrom/> <CallerName/> "
    "<Uri>/v1/Accounts/Exotel/Calls/db05188d0f6cf980cdcef8992c2b8cd4</Uri> <RecordingUrl/> </Call> </TwilioResponse>"
)


def _call_json(**fields: object) -> str:
    call = {"Sid": "abc123", "Status": "completed", **fields}
    return json.dumps({"Call": call})


def _call_xml(**fields: str) -> str:
    inner = "".join(f"<{k}>{v}</{k}>" for k, v in {"Sid": "abc123", "Status": "completed", **fields}.items())
    return f"<TwilioResponse><Call>{inner}</Call></TwilioResponse>"


# --- the seed's examples ---------------------------------------------------------------------


def test_seed_json_example_parses_every_field():
    call = parse_call(SEED_JSON)
    assert call.sid == "80bfbec2d78bbbf10fb851f4fa165211"
    assert call.status is CallStatus.IN_PROGRESS
    assert call.raw_status == "in-progress"
    assert call.date_created == "2017-03-03 12:30:24"
    assert call.date_updated == "2017-03-03 12:30:27"
    assert call.account_sid == "Exotel"
    assert call.to == "0XXXXX40682"
    assert call.from_ == "0XXXXX30240"
    assert call.phone_number_sid == "0XXXXXX4890"
    assert call.start_time == "2017-03-03 12:30:27"
    assert call.direction == "outbound-api"
    assert call.uri == "/v1/Accounts/Exotel/Calls.json/80bfbec2d78bbbf10fb851f4fa165211"
    assert call.parent_call_sid is None
    assert (call.end_time, call.duration, call.price) == (None, None, None)
    assert not call.is_terminal
    assert not call.is_priced


def test_xml_empty_elements_parse_as_none():
    call = parse_call(SEED_XML)
    assert call.parent_call_sid is None
    assert call.end_time is None
    assert call.duration is None
    assert call.price is None
    assert call.answered_by is None
    assert call.forwarded_from is None
    assert call.caller_name is None
    assert call.recording_url is None


def test_seed_json_and_xml_examples_give_the_same_call():
    # The seed's two examples differ only in Sid, timestamps and Uri; align those and compare whole Calls.
    aligned_xml = (
        SEED_XML.replace("db05188d0f6cf980cdcef8992c2b8cd4", "80bfbec2d78bbbf10fb851f4fa165211")
        .replace("<DateCreated>2017-02-22 04:35:19", "<DateCreated>2017-03-03 12:30:24")
        .replace("<DateUpdated>2017-02-22 04:35:19", "<DateUpdated>2017-03-03 12:30:27")
        .replace("<StartTime>2017-02-22 04:35:19", "<StartTime>2017-03-03 12:30:27")
        .replace("/v1/Accounts/Exotel/Calls/", "/v1/Accounts/Exotel/Calls.json/")
    )
    assert parse_call(aligned_xml) == parse_call(SEED_JSON)


def test_bytes_and_text_bodies_parse_alike():
    assert parse_call(SEED_JSON.encode()) == parse_call(SEED_JSON)
    assert parse_call(SEED_XML.encode()) == parse_call(SEED_XML)


def test_utf8_bom_is_tolerated():
    assert parse_call(b"\xef\xbb\xbf" + SEED_JSON.encode()).sid == "80bfbec2d78bbbf10fb851f4fa165211"


# --- field types -----------------------------------------------------------------------------


def test_price_string_and_number_parse_alike():
    assert parse_call(_call_json(Price="1.50")).price == 1.5
    assert parse_call(_call_json(Price=1.5)).price == 1.5
    assert parse_call(_call_xml(Price="1.50")).price == 1.5


def test_duration_string_parses_as_int():
    assert parse_call(_call_json(Duration="12")).duration == 12
    assert parse_call(_call_json(Duration=12)).duration == 12
    assert parse_call(_call_xml(Duration="12")).duration == 12


def test_zero_price_and_duration_are_kept_not_dropped():
    call = parse_call(_call_json(Price="0", Duration=0, EndTime="2024-01-01 10:00:00"))
    assert call.price == 0.0
    assert call.duration == 0
    assert call.is_priced


def test_non_numeric_price_is_a_response_error():
    with pytest.raises(ExotelResponseError, match="Price"):
        parse_call(_call_json(Price="one rupee"))


@pytest.mark.parametrize("price", ["NaN", "inf", "-Infinity"])
def test_non_finite_price_is_a_response_error(price):
    with pytest.raises(ExotelResponseError, match="Price"):
        parse_call(_call_json(Price=price))


def test_boolean_price_is_a_response_error():
    with pytest.raises(ExotelResponseError, match="Price"):
        parse_call(_call_json(Price=True))


def test_unknown_status_kept_in_raw_status_with_status_none():
    call = parse_call(_call_json(Status="on-hold"))
    assert call.status is None
    assert call.raw_status == "on-hold"
    assert call.is_terminal  # an undocumented status counts as ended, with its raw text kept


def test_status_is_matched_case_insensitively_but_raw_kept():
    call = parse_call(_call_json(Status="Completed"))
    assert call.status is CallStatus.COMPLETED
    assert call.raw_status == "Completed"


def test_whitespace_only_fields_parse_as_none():
    call = parse_call(_call_json(EndTime="   ", RecordingUrl=""))
    assert call.end_time is None
    assert call.recording_url is None


def test_xml_element_with_attributes_reads_its_text():
    call = parse_call(
        '<TwilioResponse><Call><Sid>s1</Sid><Status kind="x">busy</Status></Call></TwilioResponse>'
    )
    assert call.status is CallStatus.BUSY


def test_details_object_is_kept():
    call = parse_call(_call_json(Details={"ConversationDuration": 10, "Leg1Status": "completed"}))
    assert call.details == {"ConversationDuration": 10, "Leg1Status": "completed"}


def test_non_object_details_are_dropped():
    assert parse_call(_call_json(Details="n/a")).details is None


# --- unreadable answers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"", id="empty-bytes"),
        pytest.param("", id="empty-text"),
        pytest.param("  \n\t ", id="whitespace"),
        pytest.param("<!DOCTYPE html><html><body>502 Bad Gateway</body></html>", id="html-doctype"),
        pytest.param("<html><body>Service Unavailable</body></html>", id="html"),
        pytest.param('{"Call": {"Sid": "abc"', id="truncated-json"),
        pytest.param("{'Call': {}}", id="python-repr-not-json"),
        pytest.param("<TwilioResponse><Call><Sid>abc</Call>", id="malformed-xml"),
        pytest.param("Service Unavailable", id="plain-text"),
        pytest.param("[]", id="json-array-empty"),
        pytest.param('[{"Sid": "abc", "Status": "completed"}]', id="json-array"),
        pytest.param('"just a string"', id="json-string"),
        pytest.param("42", id="json-number"),
        pytest.param('{"Call": {"Status": "completed"}}', id="call-without-sid"),
        pytest.param('{"Call": {"Sid": "", "Status": "completed"}}', id="call-with-empty-sid"),
        pytest.param('{"Call": null}', id="call-null"),
        pytest.param('{"Call": []}', id="call-empty-list"),
        pytest.param('{"Calls": []}', id="listing-not-call"),
        pytest.param('{"RestException": {"Status": 404, "Message": "Not found"}}', id="error-body"),
        pytest.param("<TwilioResponse><Call/></TwilioResponse>", id="xml-empty-call"),
        pytest.param("<TwilioResponse/>", id="xml-empty-root"),
        pytest.param(b"\xff\xfe{\x00}\x00", id="utf16-bytes"),
        pytest.param(b'{"Call": {"Sid": "\xe9"}}', id="latin1-bytes"),
    ],
)
def test_unreadable_call_answer_is_a_response_error(body):
    with pytest.raises(ExotelResponseError):
        parse_call(body)


def test_xml_when_json_expected_still_parses():
    # Sniffed from the first character, so a proxy that drops ".json" does not break us.
    assert parse_call(SEED_XML).sid == "db05188d0f6cf980cdcef8992c2b8cd4"


def test_html_error_message_quotes_the_page():
    with pytest.raises(ExotelResponseError, match=r"HTML page.*Bad Gateway"):
        parse_call("<html><body>502 Bad Gateway</body></html>")


def test_xml_external_entities_are_not_expanded():
    body = (
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        "<TwilioResponse><Call><Sid>s1</Sid><Status>&xxe;</Status></Call></TwilioResponse>"
    )
    try:
        call = parse_call(body)
    except ExotelResponseError:
        return
    assert "root:" not in (call.raw_status or "")


def test_body_excerpt_is_short_and_single_line():
    excerpt = body_excerpt("line one\n\n   line two " + "x" * 500)
    assert "\n" not in excerpt
    assert excerpt.startswith("line one line two")
    assert len(excerpt) <= 203


# --- listings --------------------------------------------------------------------------------


def test_json_listing_with_metadata():
    body = json.dumps(
        {
            "Metadata": {
                "Total": 3,
                "PageSize": "2",
                "FirstPageUri": "/v1/Accounts/Exotel/Calls.json?PageSize=2",
                "PrevPageUri": None,
                "NextPageUri": "/v1/Accounts/Exotel/Calls.json?PageSize=2&After=abc",
            },
            "Calls": [
                {"Sid": "a1", "Status": "completed", "Price": "1.50", "Duration": "12"},
                {"Sid": "a2", "Status": "no-answer", "Price": 0, "Duration": 0},
            ],
        }
    )
    page = parse_call_page(body)
    assert [c.sid for c in page.calls] == ["a1", "a2"]
    assert [c.status for c in page.calls] == [CallStatus.COMPLETED, CallStatus.NO_ANSWER]
    assert page.calls[0].price == 1.5 and page.calls[0].duration == 12
    assert page.total == 3
    assert page.page_size == 2
    assert page.next_page_uri == "/v1/Accounts/Exotel/Calls.json?PageSize=2&After=abc"
    assert page.prev_page_uri is None


def test_json_listing_without_metadata_or_calls_is_empty():
    page = parse_call_page('{"Calls": []}')
    assert page.calls == ()
    assert page.total is None and page.next_page_uri is None


XML_METADATA = (
    "<Metadata><Total>2</Total><PageSize>50</PageSize><FirstPageUri>/first</FirstPageUri>"
    "<PrevPageUri/><NextPageUri/></Metadata>"
)


def test_xml_listing_with_one_call():
    body = (
        f"<TwilioResponse>{XML_METADATA}<Calls><Call><Sid>x1</Sid><Status>busy</Status>"
        "<Price>0.5</Price></Call></Calls></TwilioResponse>"
    )
    page = parse_call_page(body)
    assert [c.sid for c in page.calls] == ["x1"]
    assert page.calls[0].status is CallStatus.BUSY
    assert page.calls[0].price == 0.5
    assert page.total == 2 and page.page_size == 50
    assert page.next_page_uri is None and page.prev_page_uri is None


def test_xml_listing_with_several_calls():
    body = (
        f"<TwilioResponse>{XML_METADATA}<Calls>"
        "<Call><Sid>x1</Sid><Status>completed</Status><Duration>30</Duration></Call>"
        "<Call><Sid>x2</Sid><Status>failed</Status><Duration/></Call>"
        "<Call><Sid>x3</Sid><Status>canceled</Status></Call>"
        "</Calls></TwilioResponse>"
    )
    page = parse_call_page(body)
    assert [c.sid for c in page.calls] == ["x1", "x2", "x3"]
    assert [c.duration for c in page.calls] == [30, None, None]
    assert page.calls[2].status is CallStatus.CANCELED


def test_xml_listing_with_no_calls_is_empty():
    assert parse_call_page(f"<TwilioResponse>{XML_METADATA}<Calls/></TwilioResponse>").calls == ()


def test_json_and_xml_listings_give_the_same_calls():
    as_json = json.dumps({"Calls": [{"Sid": "a", "Status": "completed", "Price": "2.00", "Duration": "61"}]})
    as_xml = (
        "<TwilioResponse><Calls><Call><Sid>a</Sid><Status>completed</Status><Price>2.00</Price>"
        "<Duration>61</Duration></Call></Calls></TwilioResponse>"
    )
    assert parse_call_page(as_json).calls == parse_call_page(as_xml).calls


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("[1, 2]", id="json-array"),
        pytest.param('{"Calls": "none"}', id="calls-a-string"),
        pytest.param('{"Calls": [], "Metadata": {"Total": "many"}}', id="non-numeric-total"),
        pytest.param("<html><body>oops</body></html>", id="html"),
        pytest.param("", id="empty"),
    ],
)
def test_unreadable_listing_is_a_response_error(body):
    with pytest.raises(ExotelResponseError):
        parse_call_page(body)


@pytest.mark.parametrize(
    ("entry", "sid"),
    [
        pytest.param({"Status": "completed"}, None, id="call-without-sid"),
        pytest.param(42, None, id="call-a-number"),
        pytest.param({"Sid": "bad", "Price": "N/A"}, "bad", id="price-n/a"),
        pytest.param({"Sid": "bad", "Duration": {"x": [1]}, "Price": "inf"}, "bad", id="price-infinite"),
    ],
)
def test_a_listing_is_read_entry_by_entry(entry, sid):
    good = {"Sid": "good", "Status": "completed", "Price": "1.5"}
    page = parse_call_page(json.dumps({"Calls": [good, entry, {**good, "Sid": "good2"}]}))

    assert [call.sid for call in page.calls] == ["good", "good2"]
    [unreadable] = page.unreadable
    assert unreadable.sid == sid and unreadable.problem
    with pytest.raises(ExotelResponseError, match="1 entries"):
        page.require_readable()


def test_the_sync_client_keeps_reading_listings_strictly():
    # The search for a lost call must see every listed call: an unreadable entry fails the page there.
    page = parse_call_page(json.dumps({"Calls": [{"Sid": "a", "Status": "completed"}]}))
    assert page.require_readable() is page


# --- error bodies ----------------------------------------------------------------------------


def test_json_error_body_parses():
    error = parse_error_body(
        '{"RestException": {"Status": 403, "Message": "Call blocked by DND", "Code": "1010"}}'
    )
    assert error is not None
    assert (error.status, error.message, error.code) == (403, "Call blocked by DND", "1010")


def test_xml_error_body_parses():
    error = parse_error_body(
        "<TwilioResponse><RestException><Status>403</Status><Message>Call blocked by DND</Message>"
        "</RestException></TwilioResponse>"
    )
    assert error is not None
    assert (error.status, error.message, error.code) == (403, "Call blocked by DND", None)


def test_error_body_with_string_status_parses():
    error = parse_error_body('{"RestException": {"Status": "429", "Message": "Too many"}}')
    assert error is not None and error.status == 429


def test_error_body_with_non_numeric_status_is_none():
    assert parse_error_body('{"RestException": {"Status": "oops", "Message": "x"}}') is None


@pytest.mark.parametrize(
    "body",
    [
        "",
        b"\xff\xfe",
        "<html>down</html>",
        "not json",
        "[]",
        '{"Call": {"Sid": "a"}}',
        '{"RestException": "x"}',
    ],
)
def test_body_without_rest_exception_gives_none(body):
    assert parse_error_body(body) is None


# --- property tests: nothing but ExotelResponseError ever escapes -------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "Call",
                    "Calls",
                    "Sid",
                    "Status",
                    "Price",
                    "Duration",
                    "Metadata",
                    "Total",
                    "PageSize",
                    "RestException",
                    "Message",
                    "TwilioResponse",
                    "Details",
                    "#text",
                ]
            )
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=20,
)

xml_fragments = st.recursive(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=10),
    lambda children: st.tuples(
        st.sampled_from(
            ["TwilioResponse", "Call", "Calls", "Sid", "Price", "Metadata", "RestException", "Status"]
        ),
        st.lists(children, max_size=3),
    ).map(lambda t: f"<{t[0]}>{''.join(t[1])}</{t[0]}>"),
    max_leaves=12,
)

PARSERS = [parse_call, parse_call_page, parse_error_body]


def _only_response_errors(body: bytes | str) -> None:
    for parse in PARSERS:
        with contextlib.suppress(ExotelResponseError):
            parse(body)


@settings(max_examples=200, deadline=None, database=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_response_errors(body):
    _only_response_errors(body)


@settings(max_examples=200, deadline=None, database=None)
@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_response_errors(body):
    _only_response_errors(body)


@settings(max_examples=200, deadline=None, database=None)
@given(json_values)
def test_arbitrary_json_documents_raise_only_response_errors(document):
    body = json.dumps(document)  # NaN/Infinity allowed: Python's json reads them back
    _only_response_errors(body)
    _only_response_errors(body.encode())


@settings(max_examples=200, deadline=None, database=None)
@given(json_values)
def test_arbitrary_json_under_call_key_raises_only_response_errors(fields):
    _only_response_errors(json.dumps({"Call": fields}))
    _only_response_errors(json.dumps({"Calls": fields, "Metadata": fields}))
    _only_response_errors(json.dumps({"RestException": fields}))


@settings(max_examples=200, deadline=None, database=None)
@given(xml_fragments)
def test_arbitrary_xml_documents_raise_only_response_errors(fragment):
    _only_response_errors(f"<TwilioResponse>{fragment}</TwilioResponse>")
    _only_response_errors(fragment)
