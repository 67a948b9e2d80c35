"""extra.scheme: the URI form of a connection reaches an http host (the simulator, a proxy)."""

from __future__ import annotations

import pytest

from exotel_provider.client.settings import ExotelSettings, base_url_for
from exotel_provider.errors import ExotelConfigurationError

URI = "exotel://KEY:TOKEN@127.0.0.1:8765/?account_sid=acme&scheme=http"


def settings_from_uri(uri: str) -> ExotelSettings:
    from airflow.models.connection import Connection

    connection = Connection(conn_id="exotel_default", uri=uri)
    return ExotelSettings.from_connection(
        login=connection.login,
        password=connection.password,
        host=connection.host,
        port=connection.port,
        extra=connection.extra_dejson,
    )


def test_uri_with_scheme_extra_targets_an_http_host_and_port() -> None:
    settings = settings_from_uri(URI)

    assert settings.base_url == "http://127.0.0.1:8765"
    assert settings.connect_url() == "http://127.0.0.1:8765/v1/Accounts/acme/Calls/connect.json"


def test_uri_without_scheme_keeps_https() -> None:
    assert settings_from_uri(URI.replace("&scheme=http", "")).base_url == "https://127.0.0.1:8765"


@pytest.mark.parametrize("scheme", ["HTTP", " http "])
def test_scheme_extra_is_read_in_any_case(scheme: str) -> None:
    assert (
        base_url_for(host="sim.local", port=8080, region="mumbai", scheme=scheme) == "http://sim.local:8080"
    )


def test_scheme_agreeing_with_a_full_url_host_is_accepted() -> None:
    assert base_url_for(host="http://sim.local:81", port=None, region="mumbai", scheme="http") == (
        "http://sim.local:81"
    )


@pytest.mark.parametrize(
    ("host", "scheme", "message"),
    [
        ("sim.local", "ftp", "must be 'http' or 'https'"),
        ("https://sim.local", "http", "disagree"),
        (None, "http", "has no host"),
    ],
)
def test_bad_scheme_fails_with_the_fix(host: str | None, scheme: str, message: str) -> None:
    with pytest.raises(ExotelConfigurationError, match=message):
        base_url_for(host=host, port=None, region="singapore", scheme=scheme)


def test_region_host_with_https_scheme_is_unchanged() -> None:
    assert base_url_for(host=None, port=None, region="mumbai", scheme="https") == "https://api.in.exotel.com"
