"""The one exception the simulator's API raises to answer with an Exotel ``RestException``."""

from __future__ import annotations

from collections.abc import Mapping


class ApiError(Exception):
    """Answer the current request with this HTTP status and ``RestException`` message."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
