"""No call outside its calling hours, whoever asks (a first try, a retry, a redial on retry).

:class:`WithinCallingHours` stands between the placement guard and Exotel: each call-placing
request is checked against the window on the provider's clock immediately before it would be sent,
and refused with :class:`~exotel_provider.errors.ExotelOutsideCallingHoursError` (which says when
the window opens) without touching the network. Reading a call or the listing is never refused. No
Airflow imports.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from exotel_provider.calls.calling_hours import CallingWindow
from exotel_provider.calls.connect_request import ConnectRequest
from exotel_provider.calls.model import Call
from exotel_provider.calls.numbers import mask_number
from exotel_provider.placement import guard as guard_module


class WithinCallingHours:
    """A :class:`~exotel_provider.placement.guard.CallSource` that places calls only inside ``window``."""

    def __init__(
        self,
        calls: guard_module.CallSource,
        window: CallingWindow,
        *,
        clock: Callable[[], float] | None = None,
        show_number: Callable[[str | None], str] = mask_number,
    ) -> None:
        self._calls = calls
        self.window = window
        self._clock = clock
        self._show_number = show_number

    def place_call(self, request: ConnectRequest, **options: Any) -> Call:
        """Place the call only within the calling window; outside it, fail before the network."""
        now = self._clock() if self._clock is not None else guard_module.DEFAULT_CLOCK.now()
        self.window.check(now, self._show_number(request.from_number))
        return self._calls.place_call(request, **options)

    def get_call(self, call_sid: str) -> Call:
        """Read a call (reading is allowed at any hour)."""
        return self._calls.get_call(call_sid)

    def iter_calls(self, **filters: Any) -> Iterable[Call]:
        """List calls (listing is allowed at any hour)."""
        return self._calls.iter_calls(**filters)
