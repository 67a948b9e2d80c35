"""Validation of ``POST /Calls/connect`` form parameters into a :class:`ConnectRequest`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from exotel_provider.simulator.errors import ApiError
from exotel_provider.simulator.phone_numbers import InvalidPhoneNumber, to_national

MAX_TIME_LIMIT_SECONDS = 14400
CALL_TYPES = frozenset({"trans"})
STATUS_CALLBACK_EVENTS = frozenset({"terminal", "answered"})
STATUS_CALLBACK_CONTENT_TYPES = frozenset({"multipart/form-data", "application/json"})
RECORDING_CHANNELS = frozenset({"single", "dual"})
RECORDING_FORMATS = frozenset({"mp3", "mp3-hq"})

_EVENTS_KEY = re.compile(r"^StatusCallbackEvents(\[\d*\])?$")
_FLOW_URL = re.compile(r"^https?://my\.exotel\.com/(?P<account>[^/]+)/exoml/start_voice/(?P<app_id>[^/?#]+)")

Form = dict[str, list[str]]


@dataclass(frozen=True)
class ConnectRequest:
    """A validated call request; numbers are already in national form."""

    from_number: str
    caller_id: str
    to_number: str | None = None
    url: str | None = None
    app_id: str | None = None
    call_type: str | None = None
    time_limit: int | None = None
    time_out: int | None = None
    status_callback: str | None = None
    status_callback_events: tuple[str, ...] = ()
    status_callback_content_type: str | None = None
    custom_field: str | None = None
    record: bool = False
    recording_channels: str | None = None
    recording_format: str | None = None
    wait_url: str | None = None
    form: Form = field(default_factory=dict, compare=False)

    @property
    def connects_to_flow(self) -> bool:
        """True for the documented call-flow variant (From + CallerId + Url), False for two numbers."""
        return self.url is not None


def parse_connect_form(form: Form) -> ConnectRequest:
    """Validate the form; raises :class:`ApiError` 400 naming the faulty parameter.

    Mandatory: ``From``, ``CallerId`` and one of ``Url`` (call flow) or ``To`` (two numbers). With
    both, the docs are silent: the simulator treats it as a call-flow call and keeps ``To``.
    Unconfirmed limits are not enforced: ``TimeOut`` above 60 s, ``CustomField`` above 128 chars.
    Any http(s) ``Url`` is accepted; the flow's ``app_id`` is kept when it has the documented shape.
    """
    from_number = _number(form, "From", required=True)
    caller_id = _number(form, "CallerId", required=True)
    url = _text(form, "Url")
    to_number = _number(form, "To", required=False)
    if url is None and to_number is None:
        raise ApiError(400, "Missing mandatory parameter: Url (call flow) or To (second number)")
    app_id = None
    if url is not None:
        if not url.startswith(("http://", "https://")):
            raise ApiError(400, f"Invalid parameter Url: {url!r} is not an http(s) URL")
        match = _FLOW_URL.match(url)
        app_id = match.group("app_id") if match else None
    assert from_number is not None and caller_id is not None
    return ConnectRequest(
        from_number=from_number,
        caller_id=caller_id,
        to_number=to_number,
        url=url,
        app_id=app_id,
        call_type=_choice(form, "CallType", CALL_TYPES),
        time_limit=_seconds(form, "TimeLimit", maximum=MAX_TIME_LIMIT_SECONDS),
        time_out=_seconds(form, "TimeOut", maximum=None),
        status_callback=_text(form, "StatusCallback"),
        status_callback_events=_callback_events(form),
        status_callback_content_type=_choice(
            form, "StatusCallbackContentType", STATUS_CALLBACK_CONTENT_TYPES
        ),
        custom_field=_text(form, "CustomField"),
        record=_flag(form, "Record"),
        recording_channels=_choice(form, "RecordingChannels", RECORDING_CHANNELS),
        recording_format=_choice(form, "RecordingFormat", RECORDING_FORMATS),
        wait_url=_text(form, "WaitUrl"),
        form={key: list(values) for key, values in form.items()},
    )


def _text(form: Form, name: str) -> str | None:
    """The last non-blank value sent for ``name``."""
    values = [value.strip() for value in form.get(name, []) if value.strip()]
    return values[-1] if values else None


def _number(form: Form, name: str, *, required: bool) -> str | None:
    value = _text(form, name)
    if value is None:
        if required:
            raise ApiError(400, f"Missing mandatory parameter: {name}")
        return None
    try:
        return to_national(value)
    except InvalidPhoneNumber:
        raise ApiError(400, f"Invalid parameter {name}: {value!r} is not a valid phone number") from None


def _seconds(form: Form, name: str, *, maximum: int | None) -> int | None:
    value = _text(form, name)
    if value is None:
        return None
    if not value.isdigit() or int(value) <= 0:
        raise ApiError(400, f"Invalid parameter {name}: {value!r} is not a positive whole number of seconds")
    seconds = int(value)
    if maximum is not None and seconds > maximum:
        raise ApiError(400, f"Invalid parameter {name}: {seconds} is above the maximum of {maximum} seconds")
    return seconds


def _choice(form: Form, name: str, allowed: frozenset[str]) -> str | None:
    value = _text(form, name)
    if value is not None and value not in allowed:
        raise ApiError(
            400, f"Invalid parameter {name}: {value!r}; expected one of {', '.join(sorted(allowed))}"
        )
    return value


def _flag(form: Form, name: str) -> bool:
    value = _text(form, name)
    if value is None:
        return False
    if value.lower() not in {"true", "false"}:
        raise ApiError(400, f"Invalid parameter {name}: {value!r}; expected true or false")
    return value.lower() == "true"


def _callback_events(form: Form) -> tuple[str, ...]:
    """``StatusCallbackEvents[0]=terminal&StatusCallbackEvents[1]=answered`` (or ``[]``/bare keys)."""
    events: list[str] = []
    keys = [key for key in form if _EVENTS_KEY.match(key)]
    for key in sorted(keys, key=lambda key: int("0" + "".join(filter(str.isdigit, key)))):
        for value in form[key]:
            event = value.strip()
            if event not in STATUS_CALLBACK_EVENTS:
                raise ApiError(400, f"Invalid parameter {key}: {event!r}; expected terminal or answered")
            events.append(event)
    return tuple(events)
