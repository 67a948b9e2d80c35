"""ExotelHook and ExotelClient against the local simulator, over real HTTP."""

from __future__ import annotations

import json

import pytest

from exotel_provider.calls import CallStatus, build_connect_request
from exotel_provider.client import ExotelClient, ExotelSettings, RetryPolicy
from exotel_provider.errors import (
    ExotelAuthenticationError,
    ExotelBadRequestError,
    ExotelConfigurationError,
    ExotelForbiddenError,
    ExotelNotFoundError,
    ExotelPaymentRequiredError,
    ExotelRateLimitError,
)
from exotel_provider.hooks.exotel import ExotelHook

# A frozen simulated clock: only advance() moves it, so call states never depend on machine speed.
pytestmark = pytest.mark.exotel_simulator(time_scale=0)

CUSTOMER = "+919876543210"
EXOPHONE = "08047112345"


def settings_for(simulator, **overrides) -> ExotelSettings:
    values = {
        "account_sid": simulator.account_sid,
        "api_key": simulator.api_key,
        "api_token": simulator.api_token,
        "base_url": simulator.base_url,
    }
    values.update(overrides)
    return ExotelSettings(**values)


def test_connect_to_flow_places_one_call_and_returns_it(exotel_connection_env):
    hook = ExotelHook()
    call = hook.connect_to_flow(CUSTOMER, app_id=926, caller_id=EXOPHONE, time_limit=120)

    assert len(call.sid) == 32
    assert call.status in (CallStatus.QUEUED, CallStatus.RINGING, CallStatus.IN_PROGRESS)
    assert call.from_ == "09876543210"  # Exotel answers in national form
    placed = exotel_connection_env.placed_calls(CUSTOMER)
    assert [c.sid for c in placed] == [call.sid]
    form = exotel_connection_env.requests[0].form
    assert form["From"] == [CUSTOMER]
    assert form["Url"] == [f"http://my.exotel.com/{exotel_connection_env.account_sid}/exoml/start_voice/926"]
    assert form["TimeLimit"] == ["120"]


def test_requests_use_basic_auth_header_and_json(exotel_connection_env):
    ExotelHook().connect_to_flow(CUSTOMER, app_id=926, caller_id=EXOPHONE)
    request = exotel_connection_env.requests[0]
    assert request.path.endswith("/Calls/connect.json")
    assert exotel_connection_env.api_token not in request.path


def test_connect_two_numbers(exotel_connection_env):
    call = ExotelHook().connect_two_numbers(CUSTOMER, "+919812345678", caller_id=EXOPHONE)
    form = exotel_connection_env.requests[0].form
    assert form["To"] == ["+919812345678"]
    assert "Url" not in form
    assert call.sid


def test_caller_id_defaults_from_connection_extra(exotel_simulator, monkeypatch):
    connection = exotel_simulator.connection()
    connection["extra"]["caller_id"] = EXOPHONE
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(connection))
    ExotelHook().connect_to_flow(CUSTOMER, app_id=926)
    assert exotel_simulator.requests[0].form["CallerId"] == [EXOPHONE]


def test_connection_as_uri_works(exotel_simulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_URI", exotel_simulator.connection_uri())
    hook = ExotelHook("exotel_uri")
    assert hook.settings.base_url == exotel_simulator.base_url
    assert hook.test_connection()[0] is True


def test_get_call_follows_lifecycle_to_priced(exotel_connection_env):
    hook = ExotelHook()
    call = hook.connect_to_flow(CUSTOMER, app_id=926, caller_id=EXOPHONE)
    exotel_connection_env.advance(60)
    ended = hook.get_call(call.sid)
    assert ended.status is CallStatus.COMPLETED
    assert not ended.is_priced
    exotel_connection_env.advance(130)
    priced = hook.get_call(call.sid)
    assert priced.is_priced
    assert priced.price is not None and priced.duration is not None


def test_xml_answers_parse_into_the_same_call(exotel_simulator):
    settings = settings_for(exotel_simulator)
    request = build_connect_request(
        account_sid=settings.account_sid, from_number=CUSTOMER, caller_id=EXOPHONE, app_id=926
    )
    with ExotelClient(settings, prefer_json=False) as xml_client, ExotelClient(settings) as json_client:
        placed = xml_client.place_call(request)
        assert exotel_simulator.requests[0].path.endswith("/Calls/connect")
        exotel_simulator.advance(300)
        from_xml = xml_client.get_call(placed.sid)
        from_json = json_client.get_call(placed.sid)
    without_uri = lambda call: {k: v for k, v in call.to_dict().items() if k != "Uri"}  # noqa: E731
    assert without_uri(from_xml) == without_uri(from_json)  # Uri differs by the .json suffix only
    assert from_xml.is_priced


def test_listing_omits_ongoing_calls_and_finds_ended_ones(exotel_connection_env):
    hook = ExotelHook()
    exotel_connection_env.script("+919876500002", outcome="busy")
    busy = hook.connect_to_flow("+919876500002", app_id=926, caller_id=EXOPHONE)
    answered = hook.connect_to_flow("+919876500001", app_id=926, caller_id=EXOPHONE)
    exotel_connection_env.advance(12)  # the busy call has ended; the answered one is talking
    ended = hook.get_ended_calls([busy.sid, answered.sid])
    assert set(ended) == {busy.sid}
    assert ended[busy.sid].status is CallStatus.BUSY


def test_get_ended_calls_batches_100_sids_per_request(exotel_connection_env):
    hook = ExotelHook()
    unbudgeted = ExotelClient(hook.settings)  # 150 calls at once: more than the hook's budget allows
    request = hook.build_connect_request(from_number=CUSTOMER, app_id=926, caller_id=EXOPHONE)
    sids = [unbudgeted.place_call(request).sid for _ in range(150)]
    exotel_connection_env.advance(600)
    before = len(exotel_connection_env.requests)
    ended = hook.get_ended_calls(sids)
    listing_requests = exotel_connection_env.requests[before:]
    assert set(ended) == set(sids)
    assert len(listing_requests) == 2
    assert all(len(r.query["Sid"][0].split(",")) <= 100 for r in listing_requests)


def test_test_connection_reports_success_and_bad_credentials(exotel_simulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", exotel_simulator.connection_json())
    ok, message = ExotelHook().test_connection()
    assert ok and exotel_simulator.account_sid in message

    bad = exotel_simulator.connection()
    bad["password"] = "wrong-token-123"
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(bad))
    ok, message = ExotelHook().test_connection()
    assert not ok
    assert "401" in message and "mumbai" in message.lower()
    assert "wrong-token-123" not in message


def test_401_for_wrong_token(exotel_simulator):
    settings = settings_for(exotel_simulator, api_token="not-the-token")
    with ExotelClient(settings) as client, pytest.raises(ExotelAuthenticationError) as caught:
        client.get_call("0" * 32)
    assert caught.value.status_code == 401
    assert "not-the-token" not in str(caught.value)


def test_404_for_unknown_sid(exotel_simulator):
    with ExotelClient(settings_for(exotel_simulator)) as client, pytest.raises(ExotelNotFoundError) as caught:
        client.get_call("f" * 32)
    assert "Sid" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "error_class", "advice"),
    [(403, ExotelForbiddenError, "DND"), (402, ExotelPaymentRequiredError, "balance")],
)
def test_refused_call_maps_to_typed_error(exotel_simulator, status, error_class, advice):
    exotel_simulator.script(CUSTOMER, reject_status=status)
    settings = settings_for(exotel_simulator)
    request = build_connect_request(
        account_sid=settings.account_sid, from_number=CUSTOMER, caller_id=EXOPHONE, app_id=926
    )
    with ExotelClient(settings) as client, pytest.raises(error_class) as caught:
        client.place_call(request)
    assert caught.value.status_code == status
    assert advice in str(caught.value)
    assert caught.value.exotel_message  # Exotel's own message is kept


def test_400_from_exotel_is_a_bad_request_error(exotel_simulator):
    settings = settings_for(exotel_simulator)
    request = build_connect_request(
        account_sid=settings.account_sid, from_number=CUSTOMER, caller_id=EXOPHONE, app_id=926
    )
    from dataclasses import replace

    unvalidated = replace(request, time_limit=20000)  # bypass our own validation on purpose
    with ExotelClient(settings) as client, pytest.raises(ExotelBadRequestError):
        client.place_call(unvalidated)


@pytest.mark.exotel_simulator(rate_limit_per_minute=5, time_scale=1)
def test_reads_retry_after_429_honouring_retry_after(exotel_simulator):
    waits: list[float] = []
    settings = settings_for(exotel_simulator)

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        exotel_simulator.advance(61)

    with ExotelClient(settings, sleep=sleep, retry_policy=RetryPolicy(max_attempts=3)) as client:
        for _ in range(5):
            client.list_calls(page_size=1)
        client.list_calls(page_size=1)  # the 6th is refused once, then retried
    assert len(waits) == 1
    assert waits[0] > 0
    assert [r.status_code for r in exotel_simulator.requests][-2:] == [429, 200]


@pytest.mark.exotel_simulator(rate_limit_per_minute=1, time_scale=1)
def test_rate_limit_error_when_retries_run_out(exotel_simulator):
    with ExotelClient(
        settings_for(exotel_simulator), sleep=lambda s: None, retry_policy=RetryPolicy(max_attempts=2)
    ) as client:
        client.list_calls(page_size=1)
        with pytest.raises(ExotelRateLimitError) as caught:
            client.list_calls(page_size=1)
    assert caught.value.retry_after is not None


def test_missing_account_sid_is_a_configuration_error(monkeypatch, exotel_simulator):
    connection = exotel_simulator.connection()
    connection["extra"] = {}
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(connection))
    with pytest.raises(ExotelConfigurationError, match="account_sid"):
        ExotelHook().get_call("x")
    assert exotel_simulator.requests == []


def test_hook_repr_and_settings_repr_hide_the_token(exotel_connection_env):
    hook = ExotelHook()
    assert exotel_connection_env.api_token not in repr(hook.settings)
    assert exotel_connection_env.api_token not in repr(hook.client)
