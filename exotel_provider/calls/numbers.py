"""Phone numbers: normalising what users type, and masking numbers for logs.

Exotel accepts E.164 (preferred) and Indian national forms (mobile ``0`` + 10 digits, landline
with its STD code). We parse with Google's ``phonenumbers`` (region IN by default), reject numbers
that are not valid, and send E.164.
"""

from __future__ import annotations

import re

from exotel_provider.errors import ExotelValidationError

DEFAULT_REGION = "IN"
_ALLOWED_CHARACTERS = re.compile(r"^\+?[0-9 ()\-.]+$")
_MAX_LENGTH = 32


def normalise_number(value: object, *, field: str = "From", region: str = DEFAULT_REGION) -> str:
    """The E.164 form of a phone number, or an :class:`ExotelValidationError` naming ``field``."""
    import phonenumbers  # loaded on first use, not when a DAG file is parsed

    fix = (
        "Give the number in E.164 form (+919876543210) or as an Indian national number "
        "(09876543210, or a landline with its STD code such as 08041234567)."
    )
    if not isinstance(value, str) or not value.strip():
        raise ExotelValidationError(field, "no phone number given", fix)
    text = value.strip()
    if len(text) > _MAX_LENGTH or not _ALLOWED_CHARACTERS.match(text):
        raise ExotelValidationError(field, f"{mask_number(text)!r} is not a phone number", fix)
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ExotelValidationError(field, f"{mask_number(text)!r} is not a phone number", fix) from None
    if not phonenumbers.is_valid_number(parsed):
        raise ExotelValidationError(
            field, f"{mask_number(text)!r} is not a valid number (wrong length or unknown prefix)", fix
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def national_form(e164: str, *, region: str = DEFAULT_REGION) -> str:
    """The 0-prefixed national form Exotel uses in its answers (``09876543210``)."""
    import phonenumbers  # loaded on first use, not when a DAG file is parsed

    parsed = phonenumbers.parse(e164, region)
    digits = re.sub(r"\D", "", phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL))
    return digits


def is_indian_mobile(value: str | None) -> bool:
    """Whether a number (any accepted form) is an Indian mobile number, by its numbering plan: a
    landline such as ``+91 12345 67890`` (or one that does not parse) is not."""
    import phonenumbers  # loaded on first use, not when a DAG file is parsed

    if not value:
        return False
    try:
        parsed = phonenumbers.parse(str(value).strip(), DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        return False
    mobile = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
    return parsed.country_code == 91 and phonenumbers.number_type(parsed) in mobile


def mask_number(value: str | None, *, visible_digits: int = 4) -> str:
    """A number with all but its country code and last digits hidden: ``+91XXXXXX0240``."""
    if not value:
        return ""
    text = str(value).strip()
    digits = re.sub(r"\D", "", text)
    if not digits:
        return "X" * min(len(text), 8)
    prefix = ""
    if text.startswith("+"):
        country = _country_code(text)
        prefix = "+" + country
        digits = digits[len(country) :]
    elif digits.startswith("0"):
        prefix, digits = "0", digits[1:]
    shown = digits[-visible_digits:] if len(digits) > visible_digits else ""
    return prefix + "X" * (len(digits) - len(shown)) + shown


def _country_code(text: str) -> str:
    import phonenumbers

    try:
        return str(phonenumbers.parse(text, None).country_code)
    except phonenumbers.NumberParseException:
        return ""


def same_number(a: str | None, b: str | None, *, region: str = DEFAULT_REGION) -> bool:
    """Whether two numbers in any accepted form (E.164, ``0``-prefixed national) are the same."""
    import phonenumbers  # loaded on first use, not when a DAG file is parsed

    if not a or not b:
        return False
    try:
        first, second = phonenumbers.parse(a, region), phonenumbers.parse(b, region)
    except phonenumbers.NumberParseException:
        return re.sub(r"\D", "", a) == re.sub(r"\D", "", b)
    return (first.country_code, first.national_number) == (second.country_code, second.national_number)
