"""The synchronous Exotel client (requests): every HTTP request the hook makes goes through here."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import requests
import tenacity
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError

from exotel_provider.calls.connect_request import ConnectRequest
from exotel_provider.calls.model import Call
from exotel_provider.calls.parsing import CallPage, parse_call, parse_call_page
from exotel_provider.client import api_requests
from exotel_provider.client.api_requests import MAX_SIDS_PER_LISTING, USER_AGENT, ApiRequest
from exotel_provider.client.request_budget import AccountBudget
from exotel_provider.client.retry_policy import (
    RetryPolicy,
    is_retryable_placement_error,
    is_retryable_read_error,
    retry_logger,
    retrying_kwargs,
)
from exotel_provider.client.settings import ExotelSettings
from exotel_provider.errors import ExotelRateLimitError

log = logging.getLogger(__name__)
_log_retry = retry_logger(log)
T = TypeVar("T")

__all__ = ["MAX_SIDS_PER_LISTING", "USER_AGENT", "ExotelClient"]


class ExotelClient:
    """A small, typed client for Exotel's Voice v1 calls API.

    One ``requests.Session`` is reused; every request has a timeout and Basic auth in a header.
    Answers are asked for as JSON (``.json``); ``prefer_json=False`` asks for Exotel's default XML.
    Either way they parse into the same :class:`Call` objects. With a ``budget`` (the hook passes
    the account's), every attempt waits for it and every answer's rate-limit news updates it.
    """

    def __init__(
        self,
        settings: ExotelSettings,
        *,
        retry_policy: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        prefer_json: bool = True,
        budget: AccountBudget | None = None,
    ) -> None:
        self.settings = settings
        self.budget = budget
        self._json = prefer_json
        self.retry_policy = retry_policy or RetryPolicy()
        self._sleep = sleep
        self._session = session or _new_session()
        self._session.auth = (settings.api_key, settings.api_token)
        self._session.headers.update(api_requests.default_headers(prefer_json=prefer_json))

    def __repr__(self) -> str:
        return f"ExotelClient(account_sid={self.settings.account_sid!r}, host={self.settings.host!r})"

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> ExotelClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- calls -----------------------------------------------------------------------------------

    def place_call(self, request: ConnectRequest) -> Call:
        """POST ``Calls/connect``. Retried only when no call can have been placed (429, 503, no connection).

        Raises :class:`ExotelCallOutcomeUnknownError` when the request went out but no usable answer
        came back (no answer, a 5xx other than 503, an unreadable 200): the call may exist.
        Never retried blindly.
        """
        log.info("Exotel: placing %s", request.describe(mask=self.settings.mask_phone_numbers))
        api_request = api_requests.connect_request(self.settings, request, json=self._json)
        response = self._retrying(is_retryable_placement_error, lambda: self._send(api_request))
        call = api_requests.parse_placed_call(
            self.settings, status_code=response.status_code, body=response.content
        )
        log.info("Exotel: placed call %s (status %s)", call.sid, call.raw_status)
        return call

    def get_call(self, call_sid: str, *, details: bool = False) -> Call:
        """GET one call's details (``details=True`` adds legs and conversation duration)."""
        api_request = api_requests.call_request(self.settings, call_sid, details=details, json=self._json)
        # Parsed inside the retry: an unreadable answer to a read is simply asked for again.
        return self._retrying(is_retryable_read_error, lambda: parse_call(self._send(api_request).content))

    def list_calls(
        self,
        *,
        sids: Sequence[str] = (),
        status: str | None = None,
        date_created: str | None = None,
        from_numbers: Sequence[str] = (),
        page_size: int | None = None,
        sort_by: str | None = None,
        page_uri: str | None = None,
    ) -> CallPage:
        """One page of the bulk call-details listing. Ongoing calls are never listed by Exotel.

        ``page_uri`` (a ``NextPageUri`` from an earlier page) fetches the following page.
        """
        api_request = api_requests.listing_request(
            self.settings,
            json=self._json,
            sids=sids,
            status=status,
            date_created=date_created,
            from_numbers=from_numbers,
            page_size=page_size,
            sort_by=sort_by,
            page_uri=page_uri,
        )
        return self._retrying(
            is_retryable_read_error, lambda: parse_call_page(self._send(api_request).content)
        )

    def iter_calls(self, **filters: Any) -> Iterator[Call]:
        """Every call the listing returns for these filters, following ``NextPageUri``."""
        page = self.list_calls(**filters)
        seen_pages: set[str] = set()
        while True:
            yield from page.calls
            next_uri = api_requests.next_page(page, seen_pages)
            if next_uri is None:
                return
            page = self.list_calls(page_uri=next_uri)

    def get_ended_calls(self, sids: Iterable[str]) -> dict[str, Call]:
        """The calls among ``sids`` that Exotel lists (i.e. that have ended), by Sid, 100 per request."""
        found: dict[str, Call] = {}
        for batch in api_requests.sid_batches(sids):
            wanted = set(batch)
            for call in self.iter_calls(sids=batch, page_size=MAX_SIDS_PER_LISTING):
                if call.sid in wanted:
                    found[call.sid] = call
        return found

    def check_access(self) -> None:
        """Make the cheapest authenticated request: raises the mapped error if access fails."""
        self.list_calls(page_size=1)

    # --- transport -------------------------------------------------------------------------------

    def _retrying(self, should_retry: Callable[[BaseException], bool], send: Callable[[], T]) -> T:
        retrying = tenacity.Retrying(
            sleep=self._sleep, **retrying_kwargs(self.retry_policy, should_retry, _log_retry)
        )
        return retrying(send)

    def _send(self, request: ApiRequest) -> requests.Response:
        slot = self.budget.acquire_blocking(self._sleep) if self.budget is not None else None
        try:
            response = self._session.request(
                request.method,
                request.url,
                params=request.params,
                data=request.data,
                timeout=self.settings.timeout,
            )
        except requests.RequestException as err:
            raise api_requests.transport_error(
                self.settings, request, kind=type(err).__name__, never_connected=_never_connected(err)
            ) from None
        finally:
            if self.budget is not None:
                self.budget.release(slot)
        if self.budget is not None:
            self.budget.observe(response.headers)
        try:
            api_requests.raise_for_answer(
                self.settings,
                request,
                status_code=response.status_code,
                body=response.content,
                headers=response.headers,
            )
        except ExotelRateLimitError as err:
            if self.budget is not None:
                self.budget.pause(err.retry_after)
            raise
        return response


def _new_session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _never_connected(err: requests.RequestException) -> bool:
    """The request provably never reached Exotel (so a POST placed no call)."""
    if isinstance(err, requests.ConnectTimeout):
        return True
    reason = err.args[0] if err.args else None
    reason = getattr(reason, "reason", reason)
    return isinstance(reason, (NewConnectionError, NameResolutionError))
