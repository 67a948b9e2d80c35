"""The sync client's listing (what the search for a lost call reads) never skips an unreadable entry:
a page with one fails as a whole, so a call can't go unseen and be dialled again."""

from __future__ import annotations

import pytest

from exotel_provider.calls.connect_request import build_connect_request
from exotel_provider.client import ExotelClient
from exotel_provider.client.retry_policy import RetryPolicy
from exotel_provider.client.settings import ExotelSettings
from exotel_provider.errors import ExotelResponseError
from exotel_provider.simulator import LISTING_PATH


@pytest.mark.exotel_simulator(time_scale=0)
def test_an_unreadable_entry_fails_the_sync_listing_page(exotel_simulator):
    settings = ExotelSettings(
        account_sid=exotel_simulator.account_sid,
        api_key=exotel_simulator.api_key,
        api_token=exotel_simulator.api_token,
        base_url=exotel_simulator.base_url,
    )
    request = build_connect_request(
        account_sid=settings.account_sid, from_number="+919876543210", caller_id="08047112345", app_id=926
    )
    with ExotelClient(settings, retry_policy=RetryPolicy(max_attempts=2), sleep=lambda _: None) as client:
        sid = client.place_call(request).sid
        exotel_simulator.advance(3600)
        exotel_simulator.inject_fault("unreadable_entry", method="GET", path=LISTING_PATH, times=None)

        with pytest.raises(ExotelResponseError, match="could not be read") as caught:
            list(client.iter_calls(sids=[sid]))

    assert sid in str(caught.value)
