"""The synchronous Exotel client (requests): every HTTP request the hook makes goes through here."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import requests
import tenacity
from requests.adapters import HTTPAdapter
from urllib3.exceptions import NameResolutionError, NewConnectionError

from exotel_provider.calls.connect_request import ConnectRequest
from exotel_provider.calls.model import Call
from exotel_provider.calls.parsing import CallPage, parse_call, parse_call_page
from exotel_provider.client import api_requests
from exotel_provider.client.api_requests import MAX_SIDS_PER_LISTING, USER_AGENT, ApiRequest, ListingQuery
from exotel_provider.client.connect_failures import (
    connect_failure_cause,
    exception_chain,
    raised_while_connecting,
)
from exotel_provider.client.request_budget import AccountBudget
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


@dataclass(frozen=True)
class AccessCheck:
    """What a successful access check saw of Exotel's clock."""

    answered_at: float
    """Our clock when the answer came (epoch seconds)."""
    server_date: str | None
    """The answer's HTTP ``Date`` header (Exotel's clock, GMT), if any."""
    newest_call_time: str | None
    """The newest listed call's ``DateUpdated`` (Exotel's clock, in the account's zone), if any."""


_log_retry = retry_logger(log)
T = TypeVar("T")

__all__ = ["MAX_SIDS_PER_LISTING", "USER_AGENT", "ExotelClient"]


class Answer(NamedTuple):
    """What one HTTP exchange returned, the body already scrubbed of credentials."""

    status_code: int
    body: bytes
    headers: Mapping[str, str]


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
        """Close the HTTP session."""
        self._session.close()

    def __enter__(self) -> ExotelClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- calls -----------------------------------------------------------------------------------

    def place_call(self, request: ConnectRequest, *, announce: bool = True) -> Call:
        """POST ``Calls/connect``. Retried only when no call can have been placed (429, no connection).

        Raises :class:`ExotelCallOutcomeUnknownError` when the request went out but no usable answer
        came back (no answer, any 5xx, an unreadable 200): the call may exist. Never retried blindly.
        A connection that was never established raises :class:`ExotelUnreachableError`.
        ``announce=False`` makes the "placing" line a debug line (a campaign logs counts instead).
        """
        log.log(
            logging.INFO if announce else logging.DEBUG,
            "Exotel: placing %s",
            request.describe(mask=self.settings.mask_phone_numbers),
        )
        api_request = api_requests.connect_request(self.settings, request, json=self._json)
        status_code, body, _ = self._retrying(is_retryable_placement_error, lambda: self._send(api_request))
        call = api_requests.parse_placed_call(self.settings, status_code=status_code, body=body)
        return call  # logged by the caller once the Sid is safe (placement's guard saves it first)

    def get_call(self, call_sid: str, *, details: bool = False) -> Call:
        """GET one call's details (``details=True`` adds legs and conversation duration)."""
        api_request = api_requests.call_request(self.settings, call_sid, details=details, json=self._json)
        # Parsed inside the retry: an unreadable answer to a read is simply asked for again.
        return self._retrying(is_retryable_read_error, lambda: self._read(api_request, parse_call))

    def list_calls(
        self, query: ListingQuery | None = None, *, page_uri: str | None = None, **filters: Any
    ) -> CallPage:
        """One page of the bulk call-details listing. Ongoing calls are never listed by Exotel.

        Filters as a :class:`ListingQuery` or its fields as keywords; ``page_uri`` (a ``NextPageUri``
        from an earlier page) fetches the following page.
        """
        api_request = api_requests.listing_request(
            self.settings, query or ListingQuery(**filters), json=self._json, page_uri=page_uri
        )
        return self._retrying(
            # Strict: whoever reads the listing here (the search for a lost call) must see every entry.
            is_retryable_read_error,
            lambda: self._read(api_request, lambda body: parse_call_page(body).require_readable()),
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

    def check_access(self) -> AccessCheck:
        """Make the cheapest authenticated request: raises the mapped error if access fails.

        Returns Exotel's clock as its answer gives it (the ``Date`` header, the newest call's
        ``DateUpdated``) for comparing with ours.
        """
        api_request = api_requests.listing_request(
            self.settings, ListingQuery(page_size=1, sort_by="DateCreated:desc"), json=self._json
        )
        response = self._retrying(is_retryable_read_error, lambda: self._send(api_request))
        page = parse_call_page(response.body)
        newest = page.calls[0].date_updated or page.calls[0].date_created if page.calls else None
        return AccessCheck(
            answered_at=time.time(), server_date=response.headers.get("Date"), newest_call_time=newest
        )

    # --- SMS -------------------------------------------------------------------------------------

    def send_sms(self, request: SmsRequest) -> SmsMessage:
        """POST ``Sms/send``. Retried only when nothing can have been sent (429, Exotel's 503 for
        platform limits, no connection); raises :class:`ExotelSmsOutcomeUnknownError` when the request
        went out and no usable answer came back. Never resent blindly."""
        from exotel_provider.client import sms_requests

        log.info("Exotel: sending %s", request.describe(mask=self.settings.mask_phone_numbers))
        api_request = sms_requests.send_request(self.settings, request, json=self._json)

        def attempt() -> Answer:
            try:
                return self._send(api_request)
            except ExotelError as err:
                raise sms_requests.sending_error(self.settings, request, err) from None

        status_code, body, _ = self._retrying(sms_requests.is_retryable_send_error, attempt)
        return sms_requests.parse_sent_sms(self.settings, request, status_code=status_code, body=body)

    def send_sms_bulk(self, requests: Sequence[SmsRequest]) -> list[BulkSmsResult]:
        """POST ``Sms/bulksend``: up to 100 messages sharing DLT ids and type, in one request (one slot
        of the budget). One result per message, in order: its SMS, or Exotel's refusal of it, or an
        unknown outcome. Retried and failed like :meth:`send_sms`: a lost answer raises
        :class:`ExotelSmsOutcomeUnknownError` for the whole batch. Validated before the network."""
        from exotel_provider.client import sms_requests
        from exotel_provider.sms.bulk import build_sms_batch

        batch = build_sms_batch(requests)
        log.info("Exotel: sending %s", batch.describe(mask=self.settings.mask_phone_numbers))
        api_request = sms_requests.bulk_send_request(self.settings, batch, json=self._json)

        def attempt() -> Answer:
            try:
                return self._send(api_request)
            except ExotelError as err:
                raise sms_requests.sending_error(self.settings, batch, err) from None

        status_code, body, _ = self._retrying(sms_requests.is_retryable_send_error, attempt)
        return sms_requests.parse_bulk_sent(self.settings, batch, status_code=status_code, body=body)

    def get_sms(self, sms_sid: str) -> SmsMessage:
        """GET one SMS (``SMS/Messages/<SmsSid>``): its status, detailed status and price."""
        from exotel_provider.client import sms_requests
        from exotel_provider.sms.parsing import parse_sms

        api_request = sms_requests.message_request(self.settings, sms_sid, json=self._json)
        return self._retrying(is_retryable_read_error, lambda: self._read(api_request, parse_sms))

    def iter_sms(self, sms_sids: Iterable[str]) -> Iterator[SmsMessage]:
        """Each of ``sms_sids`` (distinct, in order), read one by one: Exotel documents no SMS listing."""
        for sid in dict.fromkeys(sms_sids):
            yield self.get_sms(sid)

    # --- transport -------------------------------------------------------------------------------

    def _retrying(self, should_retry: Callable[[BaseException], bool], send: Callable[[], T]) -> T:
        retrying = tenacity.Retrying(
            sleep=self._sleep, **retrying_kwargs(self.retry_policy, should_retry, _log_retry)
        )
        return retrying(send)

    def _read(self, request: ApiRequest, parse: Callable[[bytes], T]) -> T:
        """One attempt at a read; parsed here so an unreadable answer is simply asked for again."""
        _, body, _ = self._send(request)
        return api_requests.read_answer(self.settings, parse, body)

    def _send(self, request: ApiRequest) -> Answer:
        """One HTTP exchange within the account's request budget: the status, the body (scrubbed of
        every form of the credentials), the headers."""
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
            cause, detail = _connect_failure(err) or (None, "")
            raise api_requests.transport_error(
                self.settings, request, kind=type(err).__name__, connect_failure=cause, detail=detail
            ) from None
        finally:
            if self.budget is not None:
                self.budget.release(slot)
        body = api_requests.accept_answer(
            self.settings,
            request,
            self.budget,
            status_code=response.status_code,
            content=response.content,
            headers=response.headers,
        )
        return Answer(response.status_code, body, response.headers)


def _new_session() -> requests.Session:
    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _connect_failure(err: requests.RequestException) -> tuple[str, str] | None:
    """Why the request provably never reached Exotel (so a POST placed no call), or None if it may have.

    urllib3 raises a connect timeout or a NewConnectionError (refused, DNS) only while connecting; an
    SSLError counts only when it was raised inside the TLS handshake, not while reading an answer.
    """
    if isinstance(err, requests.ConnectTimeout):
        return "timeout", ""
    chain = list(exception_chain(err))
    if any(isinstance(item, (NewConnectionError, NameResolutionError)) for item in chain):
        return connect_failure_cause(err)
    if isinstance(err, requests.exceptions.SSLError) and raised_while_connecting(err):
        return connect_failure_cause(err)
    return None
