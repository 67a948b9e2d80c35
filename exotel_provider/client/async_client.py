"""The asynchronous Exotel client (httpx), used by the triggerer: same requests, parsing and errors as
:class:`~exotel_provider.client.sync_client.ExotelClient`, plus an optional per-account request budget."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
import tenacity

from exotel_provider.calls.connect_request import ConnectRequest
from exotel_provider.calls.model import Call
from exotel_provider.calls.parsing import CallPage, parse_call, parse_call_page
from exotel_provider.client import api_requests
from exotel_provider.client.api_requests import MAX_SIDS_PER_LISTING, ApiRequest, ListingQuery
from exotel_provider.client.connect_failures import connect_failure_cause
from exotel_provider.client.request_budget import AccountBudget, Clock, WallClock
from exotel_provider.client.retry_policy import (
    RetryPolicy,
    is_retryable_placement_error,
    is_retryable_read_error,
    retry_logger,
    retrying_kwargs,
)
from exotel_provider.client.settings import ExotelSettings
from exotel_provider.errors import ExotelError
from exotel_provider.sms.bulk import BulkSmsResult
from exotel_provider.sms.model import SmsMessage
from exotel_provider.sms.send_request import SmsRequest

log = logging.getLogger(__name__)


@dataclass
class EndedCalls:
    """What the listing said about some Sids: the ended calls it showed, and the Sids whose entries
    it showed but could not be read (with the problem)."""

    found: dict[str, Call] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)


_log_retry = retry_logger(log)
T = TypeVar("T")


class ExotelAsyncClient:
    """Exotel's Voice v1 calls API over one ``httpx.AsyncClient`` (Basic auth in a header, timeouts).

    With a ``budget``, every attempt (retries included) waits for it, and a 429 pauses it for the
    ``Retry-After`` Exotel sent (``X-RateLimit-*`` headers too), so all requests sharing the budget
    back off together.
    """

    def __init__(
        self,
        settings: ExotelSettings,
        *,
        retry_policy: RetryPolicy | None = None,
        budget: AccountBudget | None = None,
        clock: Clock | None = None,
        prefer_json: bool = True,
        http_client: httpx.AsyncClient | None = None,
        max_connections: int = 10,
    ) -> None:
        self.settings = settings
        self.retry_policy = retry_policy or RetryPolicy()
        self.budget = budget
        self.clock: Clock = clock or (budget.clock if budget is not None else WallClock())
        self._json = prefer_json
        self._http = http_client or httpx.AsyncClient(
            timeout=settings.timeout,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )
        self._http.auth = httpx.BasicAuth(settings.api_key, settings.api_token)
        self._http.headers.update(api_requests.default_headers(prefer_json=prefer_json))

    def __repr__(self) -> str:
        return f"ExotelAsyncClient(account_sid={self.settings.account_sid!r}, host={self.settings.host!r})"

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()

    async def __aenter__(self) -> ExotelAsyncClient:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    # --- calls -----------------------------------------------------------------------------------

    async def place_call(self, request: ConnectRequest) -> Call:
        """POST ``Calls/connect``; retried only when no call can have been placed (see the sync client)."""
        api_request = api_requests.connect_request(self.settings, request, json=self._json)
        status_code, body = await self._retrying(is_retryable_placement_error, self._send, api_request)
        return api_requests.parse_placed_call(self.settings, status_code=status_code, body=body)

    async def get_call(self, call_sid: str, *, details: bool = False) -> Call:
        """Read one call by its Sid (retried on transient failures)."""
        api_request = api_requests.call_request(self.settings, call_sid, details=details, json=self._json)
        return await self._retrying(is_retryable_read_error, self._read, api_request, parse_call)

    async def list_calls(
        self, query: ListingQuery | None = None, *, page_uri: str | None = None, **filters: Any
    ) -> CallPage:
        """One page of the bulk call-details listing (as :meth:`ExotelClient.list_calls`)."""
        api_request = api_requests.listing_request(
            self.settings, query or ListingQuery(**filters), json=self._json, page_uri=page_uri
        )
        return await self._retrying(is_retryable_read_error, self._read, api_request, parse_call_page)

    async def get_ended_calls_batch(self, sids: Sequence[str]) -> EndedCalls:
        """The calls among at most 100 ``sids`` that Exotel lists (i.e. that have ended): one request.

        Read entry by entry: a listed call whose entry is unreadable is named in ``unreadable``.
        """
        wanted = set(sids)
        ended = EndedCalls()
        page = await self.list_calls(ListingQuery(sids=sids, page_size=MAX_SIDS_PER_LISTING))
        seen_pages: set[str] = set()
        while True:
            ended.found.update((call.sid, call) for call in page.calls if call.sid in wanted)
            ended.unreadable.update(
                (entry.sid, entry.problem) for entry in page.unreadable if entry.sid in wanted
            )
            next_uri = api_requests.next_page(page, seen_pages)
            if next_uri is None:
                return ended
            page = await self.list_calls(page_uri=next_uri)

    async def get_ended_calls(self, sids: Iterable[str]) -> EndedCalls:
        """The calls among ``sids`` that have ended, by Sid, 100 per request."""
        ended = EndedCalls()
        for batch in api_requests.sid_batches(sids):
            answer = await self.get_ended_calls_batch(batch)
            ended.found.update(answer.found)
            ended.unreadable.update(answer.unreadable)
        return ended

    # --- SMS -------------------------------------------------------------------------------------

    async def send_sms(self, request: SmsRequest) -> SmsMessage:
        """POST ``Sms/send``; retried only when nothing can have been sent (see the sync client)."""
        from exotel_provider.client import sms_requests

        api_request = sms_requests.send_request(self.settings, request, json=self._json)

        async def attempt() -> tuple[int, bytes]:
            try:
                return await self._send(api_request)
            except ExotelError as err:
                raise sms_requests.sending_error(self.settings, request, err) from None

        status_code, body = await self._retrying(sms_requests.is_retryable_send_error, attempt)
        return sms_requests.parse_sent_sms(self.settings, request, status_code=status_code, body=body)

    async def send_sms_bulk(self, requests: Sequence[SmsRequest]) -> list[BulkSmsResult]:
        """POST ``Sms/bulksend``: up to 100 messages in one request (see the sync client)."""
        from exotel_provider.client import sms_requests
        from exotel_provider.sms.bulk import build_sms_batch

        batch = build_sms_batch(requests)
        api_request = sms_requests.bulk_send_request(self.settings, batch, json=self._json)

        async def attempt() -> tuple[int, bytes]:
            try:
                return await self._send(api_request)
            except ExotelError as err:
                raise sms_requests.sending_error(self.settings, batch, err) from None

        status_code, body = await self._retrying(sms_requests.is_retryable_send_error, attempt)
        return sms_requests.parse_bulk_sent(self.settings, batch, status_code=status_code, body=body)

    async def get_sms(self, sms_sid: str) -> SmsMessage:
        """GET one SMS (``SMS/Messages/<SmsSid>``)."""
        from exotel_provider.client import sms_requests
        from exotel_provider.sms.parsing import parse_sms

        api_request = sms_requests.message_request(self.settings, sms_sid, json=self._json)
        return await self._retrying(is_retryable_read_error, self._read, api_request, parse_sms)

    async def iter_sms(self, sms_sids: Iterable[str]) -> AsyncIterator[SmsMessage]:
        """Each of ``sms_sids`` (distinct, in order), read one by one: Exotel documents no SMS listing."""
        for sid in dict.fromkeys(sms_sids):
            yield await self.get_sms(sid)

    # --- transport -------------------------------------------------------------------------------

    async def _retrying(
        self,
        should_retry: Callable[[BaseException], bool],
        attempt: Callable[..., Awaitable[T]],
        *args: Any,
    ) -> T:
        retrying = tenacity.AsyncRetrying(
            sleep=self.clock.sleep, **retrying_kwargs(self.retry_policy, should_retry, _log_retry)
        )
        return await retrying(attempt, *args)

    async def _read(self, request: ApiRequest, parse: Callable[[bytes], T]) -> T:
        """One attempt at a read; parsed here so an unreadable answer is simply asked for again."""
        _, body = await self._send(request)
        return api_requests.read_answer(self.settings, parse, body)

    async def _send(self, request: ApiRequest) -> tuple[int, bytes]:
        slot = await self.budget.acquire() if self.budget is not None else None
        try:
            response = await self._http.request(
                request.method, request.url, params=request.params, data=_form(request.data)
            )
        except httpx.HTTPError as err:
            # httpx raises ConnectError/ConnectTimeout only while connecting (TLS handshake included).
            never_connected = isinstance(err, (httpx.ConnectError, httpx.ConnectTimeout))
            cause, detail = connect_failure_cause(err) if never_connected else (None, "")
            if isinstance(err, httpx.ConnectTimeout):
                cause, detail = "timeout", ""
            raise api_requests.transport_error(
                self.settings, request, kind=type(err).__name__, connect_failure=cause, detail=detail
            ) from None
        finally:
            if self.budget is not None:
                await self.budget.arelease(slot)
        body = api_requests.accept_answer(
            self.settings,
            request,
            self.budget,
            status_code=response.status_code,
            content=response.content,
            headers=response.headers,
        )
        return response.status_code, body


def _form(data: list[tuple[str, str]] | None) -> dict[str, Any] | None:
    """httpx takes repeated form keys as lists; Exotel's names are unique apart from that."""
    if data is None:
        return None
    form: dict[str, Any] = {}
    for name, value in data:
        if name in form:
            existing = form[name]
            form[name] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            form[name] = value
    return form
