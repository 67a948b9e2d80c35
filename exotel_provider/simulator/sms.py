"""SMS in the simulator: ``POST /Sms/send`` (and ``/Sms/bulksend``) validated, each message's status
over simulated time, and the ``SMSMessage`` it answers with.

What Exotel's documentation gives, the simulator does: ``From``, ``To``, ``Body`` (at most 2,000
characters) are mandatory; ``EncodingType`` is ``plain`` or ``unicode``, ``Priority`` ``normal`` or
``high``, ``SmsType`` ``transactional``, ``transactional_opt_in`` or ``promotional``; an SMS to an
Indian number must name its DLT entity and template. Statuses go ``queued``, ``sending``,
``submitted``, then one final status: ``sent``, ``failed`` or ``failed_dnd``.

The simulator's own choices where the documentation is silent:

- A refused request (missing or malformed parameter, a missing DLT id, a DLT id that is not a
  number) is answered 400 with Exotel's ``RestException``, the documented meaning of 400.
- Timing: ``queued`` on acceptance, ``sending`` after 1 s, ``submitted`` after 2 s and the final
  status after :data:`FINAL_AFTER_SECONDS` (simulated seconds).
- ``DateSent`` and ``Price`` appear with the final status: ``sent`` costs ``price_per_unit`` per SMS
  unit (160 plain or 70 unicode characters; longer texts 153 / 67 per unit); ``failed`` and
  ``failed_dnd`` cost 0. ``DetailedStatus`` and ``DetailedStatusCode`` stay empty: the values are
  not documented.
- A message's number decides its fate: ``sent`` unless scripted ``failed`` or ``failed_dnd``.
- Several messages in one answer (an array of ``To``, or ``/Sms/bulksend``) are repeated
  ``SMSMessage`` elements in XML and a list under ``SMSMessage`` in JSON, in the order sent; a
  bulk request's DLT ids are its top-level ``DltEntityId`` and ``DltTemplateId``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from exotel_provider.simulator.errors import ApiError
from exotel_provider.simulator.phone_numbers import InvalidPhoneNumber, to_national

MAX_BODY_LENGTH = 2000
MAX_BULK_MESSAGES = 100
ENCODING_TYPES = frozenset({"plain", "unicode"})
PRIORITIES = frozenset({"normal", "high"})
SMS_TYPES = frozenset({"transactional", "transactional_opt_in", "promotional"})
STATUS_STEPS = ((0.0, "queued"), (1.0, "sending"), (2.0, "submitted"))
FINAL_AFTER_SECONDS = 5.0
DEFAULT_PRICE_PER_UNIT = 0.2

_DLT_ID = re.compile(r"^[0-9]+$")
_TO_KEY = re.compile(r"^To(\[\d*\])?$")
_BULK_KEY = re.compile(r"^Messages\[(\d+)\]\[(To|Body|From)\]$")

Form = dict[str, list[str]]


class SmsOutcome(StrEnum):
    """The final status of a scripted message."""

    SENT = "sent"
    FAILED = "failed"
    FAILED_DND = "failed_dnd"


@dataclass(frozen=True)
class SmsSendRequest:
    """One validated message: ``To`` in national form (as Exotel shows numbers), ``From`` as sent."""

    to_number: str
    from_number: str
    body: str
    encoding_type: str = "plain"
    form: dict[str, list[str]] = field(default_factory=dict, compare=False)

    @property
    def units(self) -> int:
        """SMS parts the body takes (160/153 characters plain, 70/67 unicode): what the price counts."""
        single, part = (70, 67) if self.encoding_type == "unicode" else (160, 153)
        return 1 if len(self.body) <= single else math.ceil(len(self.body) / part)


@dataclass(frozen=True)
class SimulatedSms:
    """A message and its fate; :meth:`fields` is its ``SMSMessage`` at a moment."""

    sid: str
    sequence: int
    request: SmsSendRequest
    created_at: float
    outcome: SmsOutcome
    price_per_unit: float = DEFAULT_PRICE_PER_UNIT

    def status(self, now: float) -> str:
        """The message's status at simulated time ``now``: queued, sending, submitted, then its outcome."""
        elapsed = now - self.created_at
        if elapsed >= FINAL_AFTER_SECONDS:
            return self.outcome.value
        return [status for after, status in STATUS_STEPS if elapsed >= after][-1]

    def fields(self, now: float, format_time: Any) -> dict[str, Any]:
        """Exotel's SMSMessage fields, in the documentation's order (``format_time`` formats epochs)."""
        final = now - self.created_at >= FINAL_AFTER_SECONDS
        price = None
        if final:
            price = (
                round(self.request.units * self.price_per_unit, 4) if self.outcome is SmsOutcome.SENT else 0.0
            )
        return {
            "Sid": self.sid,
            "Status": self.status(now),
            "DetailedStatus": None,
            "DetailedStatusCode": None,
            "DateSent": format_time(self.created_at + FINAL_AFTER_SECONDS) if final else None,
            "Price": price,
            "From": self.request.from_number,
            "To": self.request.to_number,
            "Body": self.request.body,
        }


def parse_sms_form(form: Form) -> list[SmsSendRequest]:
    """Validate an ``Sms/send`` form (one message per ``To``: an array of ``To`` sends the same text
    to several); :class:`ApiError` 400 names the faulty parameter."""
    encoding = _choice(form, "EncodingType", ENCODING_TYPES) or "plain"
    _choice(form, "Priority", PRIORITIES)
    _choice(form, "SmsType", SMS_TYPES)
    numbers = [
        value for key, values in form.items() if _TO_KEY.match(key) for value in values if value.strip()
    ]
    body, sender = _first(form, "Body"), _first(form, "From")
    targets: list[str | None] = [*numbers] or [None]
    return [_message(form, to, body, sender, encoding) for to in targets]


def parse_bulk_form(form: Form) -> list[SmsSendRequest]:
    """Validate an ``Sms/bulksend`` form: ``Messages[i][To|Body|From]`` (From defaults to the outer one)."""
    messages: dict[int, dict[str, str]] = {}
    for key, values in form.items():
        match = _BULK_KEY.match(key)
        if match and values:
            messages.setdefault(int(match.group(1)), {})[match.group(2)] = values[0]
    if not messages:
        raise ApiError(400, "Missing mandatory parameter: Messages")
    if len(messages) > MAX_BULK_MESSAGES:
        raise ApiError(400, f"At most {MAX_BULK_MESSAGES} messages per request, got {len(messages)}")
    encoding = _choice(form, "EncodingType", ENCODING_TYPES) or "plain"
    outer_from = _first(form, "From")
    return [
        _message(form, item.get("To"), item.get("Body"), item.get("From") or outer_from, encoding, index)
        for index, item in sorted(messages.items())
    ]


def _message(
    form: Form, to: str | None, body: str | None, sender: str | None, encoding: str, index: int | None = None
) -> SmsSendRequest:
    where = "" if index is None else f"Messages[{index}]"
    for name, value in (("From", sender), ("To", to), ("Body", body)):
        if not value or not value.strip():
            raise ApiError(400, f"Missing mandatory parameter: {where}{name}")
    assert to is not None and body is not None and sender is not None
    if len(body) > MAX_BODY_LENGTH:
        raise ApiError(400, f"Invalid parameter {where}Body: longer than {MAX_BODY_LENGTH} characters")
    try:
        national = to_national(to)
    except InvalidPhoneNumber as exc:
        raise ApiError(400, f"Invalid parameter {where}To: {exc}") from None
    if national.startswith("0"):  # an Indian number: TRAI's DLT rules apply
        _dlt_ids(form)
    return SmsSendRequest(national, _sender(sender), body, encoding, form)


def _dlt_ids(form: Form) -> None:
    for name in ("DltEntityId", "DltTemplateId"):
        value = _first(form, name)
        if value is None:
            raise ApiError(400, f"Missing mandatory parameter for an Indian number (DLT): {name}")
        if not _DLT_ID.match(value):
            raise ApiError(400, f"Invalid parameter {name}: {value[:40]!r} is not a registered DLT id")


def _sender(value: str) -> str:
    """An ExoPhone as Exotel shows numbers; a sender ID (header) as sent."""
    text = value.strip()
    if any(c.isalpha() for c in text) or len(re.sub(r"\D", "", text)) <= 6:
        return text
    try:
        return to_national(text)
    except InvalidPhoneNumber:
        raise ApiError(400, f"Invalid parameter From: {text[:20]!r}") from None


def _first(form: Form, name: str) -> str | None:
    values = form.get(name)
    if not values or not values[0].strip():
        return None
    return values[0].strip() if name != "Body" else values[0]


def _choice(form: Form, name: str, allowed: frozenset[str]) -> str | None:
    value = _first(form, name)
    if value is not None and value not in allowed:
        raise ApiError(400, f"Invalid parameter {name}: {value!r} (one of {', '.join(sorted(allowed))})")
    return value
