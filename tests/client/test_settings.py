"""ExotelSettings.from_connection: the connection contract, the regional base URL, and URL building."""

from __future__ import annotations

import pytest

from exotel_provider.client.settings import (
    DEFAULT_REQUESTS_PER_MINUTE,
    DEFAULT_TIMEOUT_SECONDS,
    REGION_HOSTS,
    ExotelSettings,
    base_url_for,
)
from exotel_provider.errors import ExotelConfigurationError

TOKEN = "tok-5ecret-9f8e7d6c"


def from_connection(*, login="api-key", password=TOKEN, host=None, port=None, **extra):
    extra.setdefault("account_sid", "exotel-acct")
    return ExotelSettings.from_connection(login=login, password=password, host=host, port=port, extra=extra)


# --- regions -----------------------------------------------------------------------------------


def test_default_region_is_singapore():
    settings = from_connection()
    assert settings.region == "singapore"
    assert settings.base_url == "https://api.exotel.com"
    assert settings.host == "api.exotel.com"


def test_mumbai_region_uses_indian_host():
    settings = from_connection(region="mumbai")
    assert settings.base_url == "https://api.in.exotel.com"
    assert settings.host == "api.in.exotel.com"


def test_region_is_case_and_space_insensitive():
    assert from_connection(region=" Mumbai ").base_url == "https://api.in.exotel.com"


def test_region_hosts_are_the_documented_ones():
    assert REGION_HOSTS == {"singapore": "api.exotel.com", "mumbai": "api.in.exotel.com"}


def test_unknown_region_is_a_configuration_error_naming_both_regions():
    with pytest.raises(ExotelConfigurationError) as raised:
        from_connection(region="india")
    message = str(raised.value)
    assert "'india'" in message
    assert "mumbai" in message and "singapore" in message


# --- required fields -----------------------------------------------------------------------------


@pytest.mark.parametrize("account_sid", [None, "", "   "])
def test_missing_account_sid_is_a_configuration_error(account_sid):
    with pytest.raises(ExotelConfigurationError, match="account_sid"):
        from_connection(account_sid=account_sid)


@pytest.mark.parametrize("login", [None, "", "  "])
def test_missing_api_key_is_a_configuration_error(login):
    with pytest.raises(ExotelConfigurationError, match=r"API key.*login"):
        from_connection(login=login)


@pytest.mark.parametrize("password", [None, "", "  "])
def test_missing_api_token_is_a_configuration_error(password):
    with pytest.raises(ExotelConfigurationError, match=r"API token.*password"):
        from_connection(password=password)


@pytest.mark.parametrize("account_sid", ["acct/../other", "my acct"])
def test_account_sid_with_slash_or_space_is_rejected(account_sid):
    with pytest.raises(ExotelConfigurationError, match="account_sid"):
        from_connection(account_sid=account_sid)


def test_configuration_error_is_a_value_error():
    with pytest.raises(ValueError):
        from_connection(account_sid="")


def test_credentials_are_stripped():
    settings = from_connection(login=" key ", password=f" {TOKEN} ", account_sid=" acct ")
    assert (settings.api_key, settings.api_token, settings.account_sid) == ("key", TOKEN, "acct")


# --- host override -------------------------------------------------------------------------------


def test_bare_host_override_means_https():
    assert from_connection(host="exotel.internal.example").base_url == "https://exotel.internal.example"


def test_full_url_with_port_is_used_as_is():
    settings = from_connection(host="http://127.0.0.1:8765")
    assert settings.base_url == "http://127.0.0.1:8765"
    assert settings.host == "127.0.0.1:8765"


def test_trailing_slash_of_host_override_is_dropped():
    assert from_connection(host="http://127.0.0.1:8765/").base_url == "http://127.0.0.1:8765"


def test_host_plus_connection_port():
    assert from_connection(host="localhost", port=8765).base_url == "https://localhost:8765"
    assert from_connection(host="http://localhost", port=8765).base_url == "http://localhost:8765"


def test_port_in_url_wins_over_connection_port():
    assert from_connection(host="http://localhost:8765", port=9999).base_url == "http://localhost:8765"


def test_host_override_wins_over_region():
    assert from_connection(host="http://127.0.0.1:1", region="mumbai").base_url == "http://127.0.0.1:1"


@pytest.mark.parametrize("host", [None, "", "   "])
def test_empty_host_uses_region(host):
    assert from_connection(host=host, region="mumbai").base_url == "https://api.in.exotel.com"


@pytest.mark.parametrize(
    "host",
    [
        pytest.param("https://api.exotel.com/v1/Accounts", id="path"),
        pytest.param("api.exotel.com/v1", id="bare-with-path"),
        pytest.param(f"https://api-key:{TOKEN}@api.exotel.com", id="credentials"),
        pytest.param("user@api.exotel.com", id="user"),
        pytest.param("ftp://api.exotel.com", id="ftp"),
    ],
)
def test_host_with_path_credentials_or_other_scheme_is_rejected(host):
    with pytest.raises(ExotelConfigurationError) as raised:
        from_connection(host=host)
    assert "host" in str(raised.value)


@pytest.mark.parametrize(
    ("host", "port"),
    [("localhost:abc", None), ("localhost:99999", None), ("localhost:abc", 443), ("https://", None)],
)
def test_host_with_invalid_port_or_no_host_is_a_configuration_error(host, port):
    with pytest.raises(ExotelConfigurationError):
        base_url_for(host=host, port=port, region="singapore")


# --- extras ----------------------------------------------------------------------------------------


def test_defaults_for_optional_extras():
    settings = from_connection()
    assert settings.caller_id is None
    assert settings.timeout == DEFAULT_TIMEOUT_SECONDS
    assert settings.requests_per_minute == DEFAULT_REQUESTS_PER_MINUTE
    assert settings.mask_phone_numbers is True


def test_default_request_budget_is_under_exotels_limit():
    assert DEFAULT_REQUESTS_PER_MINUTE < 200


def test_extras_given_as_strings_are_parsed():
    settings = from_connection(timeout="30", requests_per_minute="120", mask_phone_numbers="false")
    assert settings.timeout == 30.0
    assert settings.requests_per_minute == 120
    assert settings.mask_phone_numbers is False


def test_extras_given_as_numbers_are_parsed():
    settings = from_connection(timeout=12.5, requests_per_minute=60, mask_phone_numbers=False)
    assert (settings.timeout, settings.requests_per_minute, settings.mask_phone_numbers) == (12.5, 60, False)


@pytest.mark.parametrize("text", ["false", "0", "no", "off", " OFF "])
def test_false_like_mask_strings_turn_masking_off(text):
    assert from_connection(mask_phone_numbers=text).mask_phone_numbers is False


@pytest.mark.parametrize("text", ["true", "1", "yes", ""])
def test_other_mask_values_keep_masking_on(text):
    assert from_connection(mask_phone_numbers=text).mask_phone_numbers is True


@pytest.mark.parametrize("value", ["abc", "0", "-1", 0, "nan"])
def test_non_positive_timeout_is_a_configuration_error(value):
    with pytest.raises(ExotelConfigurationError, match="timeout"):
        from_connection(timeout=value)


@pytest.mark.parametrize("value", ["many", "0", -5])
def test_non_positive_request_budget_is_a_configuration_error(value):
    with pytest.raises(ExotelConfigurationError, match="requests_per_minute"):
        from_connection(requests_per_minute=value)


def test_fractional_request_budget_never_becomes_zero():
    try:
        settings = from_connection(requests_per_minute="0.5")
    except ExotelConfigurationError:
        return
    assert settings.requests_per_minute >= 1


def test_caller_id_extra_is_kept_stripped():
    assert from_connection(caller_id=" 08047112345 ").caller_id == "08047112345"


def test_blank_caller_id_extra_is_none():
    assert from_connection(caller_id="   ").caller_id is None


# --- secrets ---------------------------------------------------------------------------------------


def test_api_token_not_in_repr():
    settings = from_connection()
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)
    assert "api-key" in repr(settings)


def test_api_token_not_in_any_url():
    settings = from_connection()
    urls = [settings.connect_url(), settings.call_url("CA1"), settings.calls_url(), settings.base_url]
    assert all(TOKEN not in url and "@" not in url for url in urls)


# --- URLs ------------------------------------------------------------------------------------------


def test_urls_end_with_json():
    settings = from_connection()
    assert settings.connect_url() == "https://api.exotel.com/v1/Accounts/exotel-acct/Calls/connect.json"
    assert settings.call_url("CA123") == "https://api.exotel.com/v1/Accounts/exotel-acct/Calls/CA123.json"
    assert settings.calls_url() == "https://api.exotel.com/v1/Accounts/exotel-acct/Calls.json"


def test_xml_urls_have_no_suffix():
    settings = from_connection(region="mumbai")
    assert (
        settings.connect_url(json=False) == "https://api.in.exotel.com/v1/Accounts/exotel-acct/Calls/connect"
    )
    assert settings.call_url("CA1", json=False).endswith("/Calls/CA1")


def test_call_sid_is_quoted_into_one_path_segment():
    url = from_connection().call_url("../../Other/Calls/x?y")
    assert url.startswith("https://api.exotel.com/v1/Accounts/exotel-acct/Calls/")
    assert "/../" not in url and "?" not in url
    assert url.endswith(".json")


def test_urls_use_the_host_override():
    settings = from_connection(host="http://127.0.0.1:8765")
    assert settings.connect_url() == "http://127.0.0.1:8765/v1/Accounts/exotel-acct/Calls/connect.json"


def test_page_url_from_relative_metadata_uri():
    settings = from_connection()
    uri = "/v1/Accounts/exotel-acct/Calls.json?PageSize=50&After=abc"
    assert settings.page_url(uri) == "https://api.exotel.com" + uri
    assert settings.page_url(uri.lstrip("/")) == "https://api.exotel.com" + uri


def test_page_url_on_same_host_is_kept():
    url = "https://api.exotel.com/v1/Accounts/exotel-acct/Calls.json?After=abc"
    assert from_connection().page_url(url) == url


def test_page_url_on_another_host_is_refused():
    with pytest.raises(ExotelConfigurationError, match="another host"):
        from_connection().page_url("https://evil.example.com/v1/Accounts/exotel-acct/Calls.json")
