"""What must never leave the client: credentials in every form, and phone numbers when masked.

Exotel's answers (error bodies, unreadable pages, even a 2xx a proxy garbled) can echo what we sent:
the token, the Basic credentials (base64 of ``key:token``), the URL-encoded token. Every answer body
is scrubbed of all of them before anything parses, quotes or logs it; messages built from answers
also get their phone numbers masked when the connection masks numbers.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import quote, quote_plus

REDACTED = "***"
_PHONE_NUMBER = re.compile(r"(?<![\w+])\+?\d{10,15}(?!\w)")
"""A phone number as Exotel writes it in messages: E.164 or 0-prefixed national, 10-15 digits."""


def secret_forms(api_key: str, api_token: str) -> tuple[str, ...]:
    """Every form in which the token can travel back: as is, URL-encoded, and inside the Basic
    credentials (``key:token``, raw and base64). Longest first, so no form is left half-replaced."""
    basic = f"{api_key}:{api_token}"
    forms = {
        api_token,
        quote(api_token, safe=""),
        quote_plus(api_token),
        quote(api_token),
        basic,
        base64.b64encode(basic.encode()).decode("ascii"),
        quote(basic, safe=""),
    }
    return tuple(sorted((form for form in forms if form), key=len, reverse=True))


def scrub_body(body: bytes, secrets: tuple[str, ...]) -> bytes:
    """An answer body with every secret form blanked out (before any excerpt could cut one in two)."""
    for secret in secrets:
        if secret:
            body = body.replace(secret.encode("utf-8"), REDACTED.encode())
    return body


def scrub_text(text: str, secrets: tuple[str, ...], *, mask_numbers: bool) -> str:
    """A message with every secret form blanked out and, when asked, phone numbers masked."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    if mask_numbers and _PHONE_NUMBER.search(text):
        from exotel_provider.calls.numbers import mask_number  # phonenumbers loads only when needed

        text = _PHONE_NUMBER.sub(lambda match: mask_number(match.group(0)), text)
    return text


def without_url_credentials(text: str) -> str:
    """A host or URL as a message may quote it: any ``user:password@`` part blanked out, whatever
    the password holds (``/``, ``?``, ``#``, ``@`` and ``://`` included)."""
    scheme, separator, rest = text.partition("://")
    if not separator:
        scheme, rest = "", text
    if "@" in rest:
        rest = f"{REDACTED}@" + rest.rpartition("@")[2]
    return f"{scheme}{separator}{rest}"
