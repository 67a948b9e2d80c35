"""The user's own key for a call (a customer or invoice id): kept next to the call's details.

Exotel never sees it; it travels in XCom so that results can be joined to the records they came
from without relying on map indexes.
"""

from __future__ import annotations

from typing import Any

REFERENCE_KEY = "reference"
"""XCom key of the reference, and its field in the call details (lower case: not an Exotel field)."""


def rendered_reference(value: object) -> str | None:
    """The reference as text, or None when unset (a template that rendered empty or ``None``)."""
    if value is None:
        return None
    text = str(value).strip()
    return None if text in ("", "None") else text


def with_reference(details: dict[str, Any], reference: object) -> dict[str, Any]:
    """Call details (Exotel's field names) plus ``reference`` when one was given."""
    text = rendered_reference(reference)
    return details if text is None else {**details, REFERENCE_KEY: text}
