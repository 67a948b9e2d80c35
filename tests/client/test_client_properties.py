"""Property tests of the client's whole path, from an HTTP answer's bytes to a Call or an exception.

For any status and any body, only the provider's own exceptions escape, the token never appears in
them, and a call-placing request that may have taken effect is never reported as simply failed.
"""

from __future__ import annotations

import json

import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from requests.adapters import BaseAdapter

from exotel_provider.calls import build_connect_request, parse_error_body
from exotel_provider.client import ExotelClient, ExotelSettings, RetryPolicy
from exotel_provider.errors import (
    ExotelAPIError,
    ExotelCallOutcomeUnknownError,
    ExotelError,
    ExotelResponseError,
)

TOKEN = "tok-PROPERTY-91b2c3d4"
SETTINGS = ExotelSettings(account_sid="acct", api_key="key", api_token=TOKEN, base_url="http://exotel.test")
REQUEST = build_connect_request(
    account_sid="acct", from_number="+919876543210", caller_id="08047112345", app_id=926
)


class CannedAdapter(BaseAdapter):
    """Answers every request with the same status, headers and body; counts requests."""

    def __init__(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        super().__init__()
        self.status, self.body, self.headers, self.sent = status, body, headers, 0

    def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
        self.sent += 1
        response = requests.Response()
        response.status_code = self.status
        response._content = self.body
        response.headers.update(self.headers)
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass


def client_answering(status: int, body: bytes, headers: dict[str, str] | None = None):
    adapter = CannedAdapter(status, body, headers or {})
    session = requests.Session()
    session.mount("http://", adapter)
    client = ExotelClient(
        SETTINGS, session=session, sleep=lambda _: None, retry_policy=RetryPolicy(max_attempts=2)
    )
    return client, adapter


bodies = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
    st.builds(
        lambda status, message: json.dumps(
            {"RestException": {"Status": status, "Message": message}}
        ).encode(),
        st.one_of(st.integers(), st.text(max_size=5), st.none()),
        st.text(max_size=60).map(lambda text: text + TOKEN),
    ),
    st.sampled_from([b"", b"<html><body>502 Bad Gateway</body></html>", b'{"Call": {"Sid": "', b"null"]),
)
statuses = st.one_of(
    st.sampled_from([200, 400, 401, 403, 404, 429, 500, 502, 503, 504]), st.integers(200, 599)
)
header_sets = st.one_of(st.just({}), st.builds(lambda v: {"Retry-After": v}, st.text(max_size=12)))


@settings(max_examples=150, deadline=None, database=None)
@given(status=statuses, body=bodies, headers=header_sets)
def test_reading_a_call_gives_a_call_or_a_provider_error_without_the_token(status, body, headers):
    client, _ = client_answering(status, body, headers)
    try:
        call = client.get_call("abc")
    except ExotelError as err:
        assert TOKEN not in str(err)
        if status >= 400:
            assert isinstance(err, ExotelAPIError) and err.status_code == status
        else:
            assert isinstance(err, ExotelResponseError)
    else:
        assert status < 400 and call.sid


@settings(max_examples=150, deadline=None, database=None)
@given(status=statuses, body=bodies, headers=header_sets)
def test_placing_a_call_never_hides_a_possible_call(status, body, headers):
    client, adapter = client_answering(status, body, headers)
    try:
        call = client.place_call(REQUEST)
    except ExotelError as err:
        assert TOKEN not in str(err)
        may_exist = status < 400 or status >= 500
        assert isinstance(err, ExotelCallOutcomeUnknownError) == may_exist, (status, err)
        if may_exist:
            assert adapter.sent == 1  # a request that may have placed a call is never repeated
    else:
        assert status < 400 and call.sid


@settings(max_examples=200, deadline=None, database=None)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300)))
def test_error_body_parser_returns_an_error_body_or_none_for_anything(body):
    parsed = parse_error_body(body)
    assert parsed is None or parsed.status is None or isinstance(parsed.status, int)
