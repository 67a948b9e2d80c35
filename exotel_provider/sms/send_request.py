"""SMS-sending requests (``Sms/send``): validated before anything goes over the network.

:func:`build_sms_request` checks every documented parameter, including India's DLT rules (the
registered entity and template, required for Indian numbers), and returns an :class:`SmsRequest`
whose :meth:`~SmsRequest.form` is exactly what Exotel receives.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from exotel_provider.calls.connect_request import _http_url, _one_of, exophone_form
from exotel_provider.calls.numbers import mask_number, normalise_number
from exotel_provider.errors import ExotelValidationError

MAX_BODY_LENGTH = 2000
"""Exotel's limit on ``Body`` (characters)."""
ENCODING_TYPES = frozenset({"plain", "unicode"})
PRIORITIES = frozenset({"normal", "high"})
SMS_TYPES = frozenset({"transactional", "transactional_opt_in", "promotional"})
INDIA_PREFIX = "+91"

# GSM 03.38: what a "plain" SMS can carry (basic set, then the extension table's characters).
_GSM_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = "^{}\\[~]|€\f"
PLAIN_CHARACTERS = frozenset(_GSM_BASIC + _GSM_EXTENSION)
_DLT_ID = re.compile(r"^[0-9]+$")
_SENDER_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-]{1,10}$")


@dataclass(frozen=True)
class SmsRequest:
    """A validated ``Sms/send`` request: ``To`` in E.164, ``From`` an ExoPhone or a sender ID."""

    to_number: str
    from_number: str
    body: str
    dlt_entity_id: str | None = None
    dlt_template_id: str | None = None
    sms_type: str | None = None
    encoding_type: str | None = None
    priority: str | None = None
    custom_field: str | None = None
    status_callback: str | None = None

    def __repr__(self) -> str:
        return f"SmsRequest({self.describe()})"

    def form(self) -> list[tuple[str, str]]:
        """The form-encoded body, with Exotel's parameter names."""
        pairs = [("From", self.from_number), ("To", self.to_number), ("Body", self.body)]
        pairs += self.request_level_form()
        if self.custom_field is not None:
            pairs.append(("CustomField", self.custom_field))
        return pairs

    def request_level_form(self) -> list[tuple[str, str]]:
        """The parameters given of those a bulk request shares across its messages (encoding,
        priority, DLT ids, type, status callback), with Exotel's names."""
        optional = [
            ("EncodingType", self.encoding_type),
            ("Priority", self.priority),
            ("DltEntityId", self.dlt_entity_id),
            ("DltTemplateId", self.dlt_template_id),
            ("SmsType", self.sms_type),
            ("StatusCallback", self.status_callback),
        ]
        return [(name, value) for name, value in optional if value is not None]

    def describe(self, *, mask: bool = True) -> str:
        """A one-line summary for logs: the number masked unless ``mask=False``, never the text."""
        to = mask_number(self.to_number) if mask else self.to_number
        template = f", DLT template {self.dlt_template_id}" if self.dlt_template_id else ""
        return f"SMS to {to} from {self.from_number} ({len(self.body)} characters{template})"


def build_sms_request(
    *,
    to_number: str,
    from_number: str | None,
    body: str,
    dlt_entity_id: str | int | None = None,
    dlt_template_id: str | int | None = None,
    sms_type: str | None = None,
    encoding_type: str | None = None,
    priority: str | None = None,
    custom_field: str | None = None,
    status_callback: str | None = None,
) -> SmsRequest:
    """Validate the parameters of an ``Sms/send`` request; raises :class:`ExotelValidationError`
    naming Exotel's parameter and the fix. No network."""
    to = normalise_number(to_number, field="To")
    encoding = _one_of("EncodingType", encoding_type or None, ENCODING_TYPES)
    entity, template = _dlt_ids(to, dlt_entity_id, dlt_template_id)
    return SmsRequest(
        to_number=to,
        from_number=sender(from_number),
        body=_body(body, encoding),
        dlt_entity_id=entity,
        dlt_template_id=template,
        sms_type=_one_of("SmsType", sms_type or None, SMS_TYPES),
        encoding_type=encoding,
        priority=_one_of("Priority", priority or None, PRIORITIES),
        custom_field=None if custom_field is None else str(custom_field),
        status_callback=_http_url("StatusCallback", status_callback),
    )


def sender(value: str | None) -> str:
    """``From``: an ExoPhone (a phone number, sent as Exotel shows it) or an approved sender ID
    (a header such as ``EXOTEL``, or a short numeric one such as ``600123``)."""
    fix = (
        "Pass from_number= (an ExoPhone or an approved sender ID), or set extra.caller_id on the connection."
    )
    if value is None or not str(value).strip():
        raise ExotelValidationError("From", "no ExoPhone or sender ID given", fix)
    text = str(value).strip()
    looks_like_header = any(c.isalpha() for c in text) or (text.isdigit() and len(text) <= 6)
    if not looks_like_header:
        return exophone_form(normalise_number(text, field="From"))
    if not _SENDER_ID.match(text):
        raise ExotelValidationError("From", f"{text[:20]!r} is not a sender ID", fix)
    return text


def _body(value: str, encoding: str | None) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ExotelValidationError("Body", "no text given", "Pass body= with the message's text.")
    if len(value) > MAX_BODY_LENGTH:
        raise ExotelValidationError(
            "Body", f"{len(value)} characters is too long", f"Keep it to {MAX_BODY_LENGTH} characters."
        )
    if encoding != "unicode":
        outside = sorted({c for c in value if c not in PLAIN_CHARACTERS})
        if outside:
            shown = "".join(outside[:5])
            raise ExotelValidationError(
                "EncodingType",
                f"the text has characters plain (GSM 7-bit) SMS cannot carry ({shown!r})",
                "Pass encoding_type='unicode' (for Hindi or other scripts), or use only plain characters.",
            )
    return value


def _dlt_ids(to: str, entity: str | int | None, template: str | int | None) -> tuple[str | None, str | None]:
    """India's DLT rules: an SMS to an Indian number names the sender's registered entity and the
    registered template its text matches. Both are numeric ids from the DLT portal."""
    ids = []
    for name, value in (("DltEntityId", entity), ("DltTemplateId", template)):
        text = None if value is None or str(value).strip() == "" else str(value).strip()
        if text is None and to.startswith(INDIA_PREFIX):
            raise ExotelValidationError(
                name,
                "required for an SMS to an Indian number (TRAI's DLT rules)",
                f"Pass {_parameter(name)}= with the id registered on your DLT portal.",
            )
        if text is not None and not _DLT_ID.match(text):
            raise ExotelValidationError(
                name, f"{text[:30]!r} is not a DLT id", "DLT ids are numbers: copy it from your DLT portal."
            )
        ids.append(text)
    return ids[0], ids[1]


def _parameter(name: str) -> str:
    return {"DltEntityId": "dlt_entity_id", "DltTemplateId": "dlt_template_id"}[name]
