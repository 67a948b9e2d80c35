"""Phone numbers as Exotel shows them: Indian numbers in 0-prefixed national form."""

from __future__ import annotations

import re

import phonenumbers

_DIALLABLE = re.compile(r"^\+?[0-9][0-9 ()\-]*$")


class InvalidPhoneNumber(ValueError):
    """The text is not a phone number the simulator can dial."""


def to_national(number: str) -> str:
    """``+919876543210``, ``09876543210`` and ``9876543210`` all become ``09876543210``.

    Indian numbers (country code 91) come back 0-prefixed like Exotel's answers; the docs are silent
    on foreign numbers, so those keep their E.164 form.
    """
    text = number.strip()
    if not _DIALLABLE.match(text):
        raise InvalidPhoneNumber(f"not a phone number: {number!r}")
    try:
        parsed = phonenumbers.parse(text, "IN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhoneNumber(f"not a phone number: {number!r}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise InvalidPhoneNumber(f"not a possible phone number: {number!r}")
    if parsed.country_code == 91:
        return "0" + phonenumbers.national_significant_number(parsed)
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
