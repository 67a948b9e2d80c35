"""Many SMS in one request (``Sms/bulksend``): the batch, validated, and its answer, read message by message.

Exotel's bulk send takes different texts to different numbers, ``Messages[i][To]``,
``Messages[i][Body]`` and ``Messages[i][From]``, at most 100 a request; every other parameter
(``DltEntityId``, ``DltTemplateId``, ``SmsType``, ``EncodingType``, ``Priority``, ``StatusCallback``)
is the request's own and so is shared by its messages. ``CustomField`` is documented for single
sends only, so a batch carries none. No Airflow, no I/O.

The answer holds one ``SMSMessage`` per message in the order sent (a list in JSON, repeated
elements in XML). Read defensively: an entry may be a ``RestException`` (that message refused), and
entries are matched to messages by order, checked against their ``To`` when it is there; a message
whose entry cannot be told apart has an unknown outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from exotel_provider.calls.numbers import mask_number
from exotel_provider.calls.parsing import _as_str, _guarded, _unwrap
from exotel_provider.errors import ExotelResponseError, ExotelValidationError
from exotel_provider.sms.model import SmsMessage
from exotel_provider.sms.parsing import sms_from_fields
from exotel_provider.sms.send_request import SmsRequest

MAX_BULK_MESSAGES = 100
"""Exotel's limit on messages in one ``Sms/bulksend`` request."""


def shared_parameters(request: SmsRequest) -> tuple[tuple[str, str], ...]:
    """What a message shares with the others of its batch: the request-level parameters. Requests
    with equal values can go out in one bulk request."""
    return tuple(request.request_level_form())


@dataclass(frozen=True)
class SmsBatch:
    """A validated ``Sms/bulksend`` request: 1 to 100 messages sharing the request-level parameters."""

    messages: tuple[SmsRequest, ...]

    def __repr__(self) -> str:
        return f"SmsBatch({self.describe()})"

    def form(self) -> list[tuple[str, str]]:
        """The form-encoded body: ``Messages[i][From|To|Body]``, then the shared parameters."""
        pairs: list[tuple[str, str]] = []
        for index, message in enumerate(self.messages):
            pairs += [
                (f"Messages[{index}][From]", message.from_number),
                (f"Messages[{index}][To]", message.to_number),
                (f"Messages[{index}][Body]", message.body),
            ]
        return pairs + self.messages[0].request_level_form()

    def describe(self, *, mask: bool = True) -> str:
        """A one-line summary for logs: how many messages, the first number masked unless ``mask=False``."""
        first = self.messages[0]
        to = mask_number(first.to_number) if mask else first.to_number
        template = f", DLT template {first.dlt_template_id}" if first.dlt_template_id else ""
        return f"bulk SMS of {len(self.messages)} messages (the first to {to}){template}"


def build_sms_batch(requests: Sequence[SmsRequest]) -> SmsBatch:
    """Validate a bulk send of already validated requests: 1 to 100, sharing the request-level
    parameters. Raises :class:`ExotelValidationError`. No network."""
    if not requests:
        raise ExotelValidationError("Messages", "no message given", "Pass at least one SmsRequest.")
    if len(requests) > MAX_BULK_MESSAGES:
        raise ExotelValidationError(
            "Messages",
            f"{len(requests)} messages in one request",
            f"Send at most {MAX_BULK_MESSAGES} per request: split them into batches.",
        )
    shared = shared_parameters(requests[0])
    for request in requests[1:]:
        if shared_parameters(request) != shared:
            raise ExotelValidationError(
                "Messages",
                "the messages differ in DLT ids, SmsType, EncodingType, Priority or StatusCallback",
                "Those are per request: send messages that differ in them in separate batches.",
            )
    return SmsBatch(tuple(requests))


@dataclass(frozen=True)
class BulkSmsResult:
    """What Exotel's bulk answer says about one message: the SMS it accepted, or why it refused it,
    or neither (its outcome is unknown: it may have been sent)."""

    request: SmsRequest
    message: SmsMessage | None = None
    error: str | None = None

    @property
    def outcome_unknown(self) -> bool:
        """The answer said nothing readable about this message: it may have been sent."""
        return self.message is None and self.error is None


def parse_bulk_answer(body: bytes | str, batch: SmsBatch) -> list[BulkSmsResult]:
    """One result per message of ``batch``, in its order, from an answer to ``Sms/bulksend``.

    Raises :class:`ExotelResponseError` when the answer holds no readable entry at all.
    """
    entries = _guarded(body, _entries)
    if not entries:
        raise ExotelResponseError("Exotel's answer to a bulk send holds no SMSMessage")
    return _match(entries, batch)


_Entry = tuple[SmsMessage | None, str | None, str | None]
"""A read entry: the message, or the refusal's text, or neither; and the number it names, if any."""


def _entries(document: Any) -> list[_Entry]:
    items = _items(_unwrap(document))
    return [_entry(item) for item in items]


def _items(document: Any) -> list[Any]:
    """The answer's entries in order: a JSON list of objects, or ``SMSMessage`` (one or many) and any
    ``RestException`` (XML repeats elements; order is kept only among each kind)."""
    if isinstance(document, list):
        return [_unwrap(item) for item in document]
    if not isinstance(document, dict):
        raise ExotelResponseError("Exotel's answer to a bulk send is neither an object nor a list")
    items: list[Any] = []
    for name in ("SMSMessage", "RestException"):
        found = document.get(name)
        values = found if isinstance(found, list) else [] if found is None else [found]
        items += [{name: value} for value in values]
    return items


def _entry(item: Any) -> _Entry:
    if isinstance(item, dict) and isinstance(item.get("SMSMessage"), dict):
        fields = item["SMSMessage"]
        try:
            return sms_from_fields(fields), None, _as_str(fields.get("To"))
        except ExotelResponseError:
            return None, None, _as_str(fields.get("To"))
    if isinstance(item, dict) and isinstance(item.get("RestException"), dict):
        refusal = item["RestException"]
        status, message = _as_str(refusal.get("Status")), _as_str(refusal.get("Message"))
        text = f"Exotel refused it (HTTP {status or '?'}): {message or 'no message'}"
        return None, text, _as_str(refusal.get("To"))
    return None, None, None


def _match(entries: list[_Entry], batch: SmsBatch) -> list[BulkSmsResult]:
    """Entries to messages: by order when the counts agree and every ``To`` given agrees; otherwise by
    ``To`` alone, for numbers that appear once in the batch; the rest are unknown."""
    requests = batch.messages
    if len(entries) == len(requests) and all(
        to is None or _same_number(to, request.to_number)
        for (_, _, to), request in zip(entries, requests, strict=True)
    ):
        return [
            BulkSmsResult(request, message, error)
            for (message, error, _), request in zip(entries, requests, strict=True)
        ]
    results = []
    for request in requests:
        found = [(m, e) for m, e, to in entries if to is not None and _same_number(to, request.to_number)]
        twice = sum(1 for other in requests if _same_number(other.to_number, request.to_number)) > 1
        message, error = found[0] if len(found) == 1 and not twice else (None, None)
        results.append(BulkSmsResult(request, message, error))
    return results


def _same_number(answered: str, sent: str) -> bool:
    """Exotel answers numbers in national form (``0`` + 10 digits); we send E.164."""
    digits_answered = "".join(c for c in answered if c.isdigit())
    digits_sent = "".join(c for c in sent if c.isdigit())
    return len(digits_answered) >= 10 and digits_answered[-10:] == digits_sent[-10:]
