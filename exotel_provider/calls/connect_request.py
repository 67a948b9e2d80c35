"""Call-placing requests: validated before anything goes over the network.

:func:`build_connect_request` checks every parameter of Exotel's ``Calls/connect`` API and returns
a :class:`ConnectRequest` whose :meth:`~ConnectRequest.form` is exactly what Exotel receives.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from exotel_provider.calls.numbers import mask_number, national_form, normalise_number
from exotel_provider.errors import ExotelValidationError

MAX_TIME_LIMIT = 14400
"""Exotel cuts a call after at most 4 hours."""
MAX_TIME_OUT = 60
"""Ringing time per leg; Exotel's older documentation caps it at 60 s (TRAI rules)."""
MAX_CUSTOM_FIELD_LENGTH = 128
CALL_TYPES = frozenset({"trans"})
STATUS_CALLBACK_EVENTS = frozenset({"terminal", "answered"})
STATUS_CALLBACK_CONTENT_TYPES = frozenset({"multipart/form-data", "application/json"})
RECORDING_CHANNELS = frozenset({"single", "dual"})
RECORDING_FORMATS = frozenset({"mp3", "mp3-hq"})

FLOW_URL_TEMPLATE = "http://my.exotel.com/{account_sid}/exoml/start_voice/{app_id}"
_FLOW_URL = re.compile(r"^https?://my\.exotel\.com/(?P<account>[A-Za-z0-9_.\-]+)/exoml/start_voice/[0-9]+/?$")
_APP_ID = re.compile(r"^[0-9]+$")


@dataclass(frozen=True)
class ConnectRequest:
    """A validated ``Calls/connect`` request: From/To in E.164, CallerId in national form as Exotel shows it."""

    from_number: str
    caller_id: str
    url: str | None = None
    to_number: str | None = None
    call_type: str | None = None
    time_limit: int | None = None
    time_out: int | None = None
    status_callback: str | None = None
    status_callback_events: tuple[str, ...] = ()
    status_callback_content_type: str | None = None
    custom_field: str | None = None
    record: bool | None = None
    recording_channels: str | None = None
    recording_format: str | None = None
    wait_url: str | None = None
    extra: tuple[tuple[str, str], ...] = field(default=())

    @property
    def connects_two_numbers(self) -> bool:
        """True for a call between two numbers (``To`` given) rather than to a call flow."""
        return self.to_number is not None

    def form(self) -> list[tuple[str, str]]:
        """The form-encoded body, with Exotel's parameter names (arrays as ``Name[i]`` keys)."""
        pairs: list[tuple[str, str]] = [("From", self.from_number)]
        if self.to_number is not None:
            pairs.append(("To", self.to_number))
        pairs.append(("CallerId", self.caller_id))
        optional: list[tuple[str, object]] = [
            ("Url", self.url),
            ("CallType", self.call_type),
            ("TimeLimit", self.time_limit),
            ("TimeOut", self.time_out),
            ("StatusCallback", self.status_callback),
            ("StatusCallbackContentType", self.status_callback_content_type),
            ("CustomField", self.custom_field),
            ("Record", None if self.record is None else str(self.record).lower()),
            ("RecordingChannels", self.recording_channels),
            ("RecordingFormat", self.recording_format),
            ("WaitUrl", self.wait_url),
        ]
        pairs.extend((name, str(value)) for name, value in optional if value is not None)
        pairs.extend(
            (f"StatusCallbackEvents[{i}]", event) for i, event in enumerate(self.status_callback_events)
        )
        return pairs

    def describe(self, *, mask: bool = True) -> str:
        """A one-line summary for logs; numbers masked unless ``mask=False``."""
        show = mask_number if mask else (lambda number: number or "")
        target = f"to {show(self.to_number)}" if self.to_number else f"to flow {self.url}"
        return f"call {show(self.from_number)} {target} from ExoPhone {show(self.caller_id)}"


def flow_url(account_sid: str, app_id: str | int) -> str:
    """The documented call-flow URL for an app (applet) id."""
    app = str(app_id).strip()
    if not _APP_ID.match(app):
        raise ExotelValidationError(
            "app_id",
            f"{app!r} is not a flow id",
            "Use the numeric app id shown for the flow in Exotel's dashboard.",
        )
    return FLOW_URL_TEMPLATE.format(account_sid=account_sid, app_id=app)


def build_connect_request(
    *,
    account_sid: str,
    from_number: str,
    caller_id: str | None,
    app_id: str | int | None = None,
    url: str | None = None,
    to_number: str | None = None,
    call_type: str | None = None,
    time_limit: int | str | None = None,
    time_out: int | str | None = None,
    status_callback: str | None = None,
    status_callback_events: Iterable[str] | str | None = None,
    status_callback_content_type: str | None = None,
    custom_field: str | None = None,
    record: bool | str | None = None,
    recording_channels: str | None = None,
    recording_format: str | None = None,
    wait_url: str | None = None,
) -> ConnectRequest:
    """Validate the parameters of a ``Calls/connect`` request.

    Pass ``app_id`` or ``url`` (exactly one) to connect ``from_number`` to a call flow, or
    ``to_number`` to connect two numbers. Raises :class:`ExotelValidationError` naming the field.
    """
    if not caller_id or not str(caller_id).strip():
        raise ExotelValidationError(
            "CallerId",
            "no caller id (ExoPhone) given",
            "Pass caller_id=, or set extra.caller_id on the Exotel connection.",
        )
    flow = _flow_target(account_sid=account_sid, app_id=app_id, url=url, to_number=to_number)
    return ConnectRequest(
        from_number=normalise_number(from_number, field="From"),
        to_number=None if to_number is None else normalise_number(to_number, field="To"),
        caller_id=exophone_form(normalise_number(caller_id, field="CallerId")),
        url=flow,
        call_type=_one_of("CallType", call_type, CALL_TYPES),
        time_limit=_seconds("TimeLimit", time_limit, MAX_TIME_LIMIT),
        time_out=_seconds("TimeOut", time_out, MAX_TIME_OUT),
        status_callback=_http_url("StatusCallback", status_callback),
        status_callback_events=_events(status_callback_events),
        status_callback_content_type=_one_of(
            "StatusCallbackContentType", status_callback_content_type, STATUS_CALLBACK_CONTENT_TYPES
        ),
        custom_field=_custom_field(custom_field),
        record=_two_number_only("Record", _boolean("Record", record), to_number),
        recording_channels=_two_number_only(
            "RecordingChannels",
            _one_of("RecordingChannels", recording_channels, RECORDING_CHANNELS),
            to_number,
        ),
        recording_format=_two_number_only(
            "RecordingFormat", _one_of("RecordingFormat", recording_format, RECORDING_FORMATS), to_number
        ),
        wait_url=_two_number_only("WaitUrl", _http_url("WaitUrl", wait_url), to_number),
    )


def _flow_target(*, account_sid: str, app_id: object, url: str | None, to_number: str | None) -> str | None:
    has_app, has_url = app_id not in (None, ""), url not in (None, "")
    if to_number is not None:
        if has_app or has_url:
            raise ExotelValidationError(
                "To", "a two-number call takes no flow", "Pass either to_number, or app_id/url, not both."
            )
        return None
    if has_app and has_url:
        raise ExotelValidationError("Url", "both app_id and url given", "Pass exactly one of app_id and url.")
    if not has_app and not has_url:
        raise ExotelValidationError(
            "Url", "no call flow given", "Pass app_id= (the flow id from Exotel's dashboard) or url=."
        )
    if has_app:
        return flow_url(account_sid, str(app_id))
    text = str(url).strip()
    match = _FLOW_URL.match(text)
    if not match:
        raise ExotelValidationError(
            "Url",
            f"{text[:80]!r} is not an Exotel flow URL",
            "Use http://my.exotel.com/<account_sid>/exoml/start_voice/<app_id>, or pass app_id= instead.",
        )
    if match.group("account") != account_sid:
        raise ExotelValidationError(
            "Url",
            f"the flow URL belongs to account {match.group('account')!r}, but the connection's account "
            f"is {account_sid!r}",
            "Use a flow of the connection's own account (or pass app_id= and let the URL be built), "
            "or use the Exotel connection of the flow's account.",
        )
    return text


def exophone_form(e164: str) -> str:
    """The CallerId as Exotel takes it: an Indian ExoPhone in the national form Exotel shows,
    any other in E.164 (a national form would lose its country)."""
    if e164.startswith("+91"):
        return national_form(e164)
    return e164


def _seconds(name: str, value: float | str | None, maximum: int) -> int | None:
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value.strip()) if isinstance(value, str) else value
        if not isinstance(number, (int, float)) or not float(number).is_integer():
            raise ValueError  # 600.0 and "600.0" are 600 s; 600.5 is not a whole number of seconds
        seconds = int(number)
    except (TypeError, ValueError, OverflowError):
        raise ExotelValidationError(
            name, f"{value!r} is not a whole number of seconds", f"Use 1 to {maximum}."
        ) from None
    if not 1 <= seconds <= maximum:
        raise ExotelValidationError(name, f"{seconds} s is out of range", f"Use 1 to {maximum} seconds.")
    return seconds


def _boolean(name: str, value: bool | str | None) -> bool | None:
    """A real boolean: True/False, or the strings "true"/"false" (any case); nothing else."""
    if value is None or isinstance(value, bool):
        return value
    text = value.strip().lower() if isinstance(value, str) else None
    if text in ("true", "false"):
        return text == "true"
    raise ExotelValidationError(
        name, f"{value!r} is not a boolean", "Pass True or False (or the strings 'true' / 'false')."
    )


def _one_of(name: str, value: str | None, allowed: frozenset[str]) -> str | None:
    if value is None or value == "":
        return None
    if value not in allowed:
        raise ExotelValidationError(
            name, f"{value!r} is not supported", "Use one of: " + ", ".join(sorted(allowed)) + "."
        )
    return value


def _http_url(name: str, value: str | None) -> str | None:
    if value is None or value == "":
        return None
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        raise ExotelValidationError(
            name, f"{text[:80]!r} is not an http(s) URL", "Give a full http:// or https:// URL."
        )
    return text


def _events(value: Iterable[str] | str | None) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    events = [value] if isinstance(value, str) else list(value)
    for event in events:
        if event not in STATUS_CALLBACK_EVENTS:
            raise ExotelValidationError(
                "StatusCallbackEvents",
                f"{event!r} is not an event Exotel reports",
                "Use 'terminal' and/or 'answered'.",
            )
    return tuple(dict.fromkeys(events))


def _custom_field(value: str | None) -> str | None:
    if value is None:
        return None
    text = str(value)
    if len(text) > MAX_CUSTOM_FIELD_LENGTH:
        raise ExotelValidationError(
            "CustomField",
            f"{len(text)} characters is too long",
            f"Keep it to {MAX_CUSTOM_FIELD_LENGTH} characters.",
        )
    return text


def _two_number_only(name: str, value, to_number: str | None):  # type: ignore[no-untyped-def]
    if value is not None and to_number is None:
        raise ExotelValidationError(
            name,
            "only applies when connecting two numbers",
            "Drop it, or pass to_number= for a two-number call.",
        )
    return value
