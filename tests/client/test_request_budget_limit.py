"""The connection's request budget: capped at Exotel's 200 a minute for Exotel's hosts only."""

from __future__ import annotations

import pytest

from exotel_provider.client.settings import ExotelSettings
from exotel_provider.errors import ExotelConfigurationError


def settings(host, budget):
    return ExotelSettings.from_connection(
        login="key", password="token", host=host, extra={"account_sid": "acct", "requests_per_minute": budget}
    )


@pytest.mark.parametrize("host", [None, "api.in.exotel.com", "https://api.exotel.com"])
def test_exotels_own_hosts_allow_at_most_200_requests_a_minute(host):
    assert settings(host, 200).requests_per_minute == 200
    with pytest.raises(ExotelConfigurationError, match="200"):
        settings(host, 201)


def test_another_host_such_as_a_local_simulator_may_have_a_larger_budget():
    assert settings("http://127.0.0.1:8765", 60000).requests_per_minute == 60000
