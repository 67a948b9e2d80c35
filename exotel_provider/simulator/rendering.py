"""Exotel answer bodies: the Call object, the bulk listing and ``RestException``, in JSON or XML."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import tzinfo
from enum import Enum
from typing import Any

import xmltodict
from starlette.responses import Response

from exotel_provider.simulator.clock import INDIA_TIME, format_exotel_time
from exotel_provider.simulator.lifecycle import CallView


class ResponseFormat(Enum):
    """``.json`` on the path asks for JSON; otherwise Exotel answers XML."""

    JSON = "application/json"
    XML = "application/xml"

    @classmethod
    def for_path(cls, path: str) -> ResponseFormat:
        """JSON if any path segment ends in ``.json`` (``/Calls.json/<sid>`` as in the ``Uri`` of Exotel's documented examples)."""
        return cls.JSON if any(segment.endswith(".json") for segment in path.split("/")) else cls.XML


def call_fields(
    view: CallView, response_format: ResponseFormat, time_zone: tzinfo = INDIA_TIME
) -> dict[str, Any]:
    """The Call object's fields in the order Exotel's documentation gives, nulls as None; times in ``time_zone``.

    ``Uri`` follows Exotel's documentation: ``/Calls.json/<sid>`` in JSON answers, ``/Calls/<sid>`` in XML.
    ``AnsweredBy``, ``ParentCallSid``, ``ForwardedFrom``, ``CallerName`` and ``RecordingUrl`` stay
    null: the simulator has no answering machine detection, forwarding or recordings.
    """
    calls_segment = "Calls.json" if response_format is ResponseFormat.JSON else "Calls"
    return {
        "Sid": view.sid,
        "ParentCallSid": None,
        "DateCreated": format_exotel_time(view.date_created, time_zone),
        "DateUpdated": format_exotel_time(view.date_updated, time_zone),
        "AccountSid": view.account_sid,
        "To": view.to_number,
        "From": view.from_number,
        "PhoneNumberSid": view.phone_number_sid,
        "Status": view.status.value,
        "StartTime": _time(view.start_time, time_zone),
        "EndTime": _time(view.end_time, time_zone),
        "Duration": view.duration,
        "Price": view.price,
        "Direction": view.direction,
        "AnsweredBy": None,
        "ForwardedFrom": None,
        "CallerName": None,
        "Uri": f"/v1/Accounts/{view.account_sid}/{calls_segment}/{view.sid}",
        "RecordingUrl": None,
    }


def details_fields(view: CallView) -> dict[str, Any]:
    """``?details=true``: ``{ConversationDuration, Leg1Status, Leg2Status, Legs: [{"Leg": {...}}]}``."""
    statuses = {leg.id: leg.status for leg in view.legs}
    return {
        "ConversationDuration": view.conversation_duration,
        "Leg1Status": statuses.get(1),
        "Leg2Status": statuses.get(2),
        "Legs": [
            {"Leg": {"Id": leg.id, "OnCallDuration": leg.on_call_duration, "Status": leg.status}}
            for leg in view.legs
        ],
    }


def render_call(
    view: CallView,
    response_format: ResponseFormat,
    *,
    details: bool = False,
    time_zone: tzinfo = INDIA_TIME,
) -> Response:
    """One call's answer body, JSON or XML, as Exotel's documentation shows it."""
    call = call_fields(view, response_format, time_zone)
    if details:
        call["Details"] = details_fields(view)
    if response_format is ResponseFormat.JSON:
        return _json({"Call": call})
    return _xml({"Call": call})


def render_listing(
    views: Sequence[CallView],
    metadata: Mapping[str, Any],
    response_format: ResponseFormat,
    time_zone: tzinfo = INDIA_TIME,
) -> Response:
    """JSON: ``{"Metadata": {...}, "Calls": [...]}``.

    The XML shape of the listing is not documented; the simulator answers
    ``<TwilioResponse><Metadata>..</Metadata><Calls><Call>..</Call>..</Calls></TwilioResponse>``.
    """
    calls = [call_fields(view, response_format, time_zone) for view in views]
    if response_format is ResponseFormat.JSON:
        return _json({"Metadata": dict(metadata), "Calls": calls})
    return _xml({"Metadata": dict(metadata), "Calls": {"Call": calls} if calls else None})


def render_sms(messages: Sequence[Mapping[str, Any]], response_format: ResponseFormat) -> Response:
    """``{"SMSMessage": {...}}`` / ``<TwilioResponse><SMSMessage>``; several messages (an array of
    ``To``, a bulk send) as a list in JSON and repeated elements in XML."""
    body: Any = dict(messages[0]) if len(messages) == 1 else [dict(message) for message in messages]
    if response_format is ResponseFormat.JSON:
        return _json({"SMSMessage": body})
    return _xml({"SMSMessage": body})


def render_error(
    status: int,
    message: str,
    response_format: ResponseFormat,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """An error answer in Exotel's RestException shape, JSON or XML."""
    body = {"RestException": {"Status": status, "Message": message}}
    if response_format is ResponseFormat.JSON:
        return _json(body, status=status, headers=headers)
    return _xml(body, status=status, headers=headers)


def render_document(
    body: Mapping[str, Any], response_format: ResponseFormat, *, status: int = 200
) -> Response:
    """Any JSON-shaped answer body in the given format (e.g. a JSON answer re-rendered as XML)."""
    if response_format is ResponseFormat.JSON:
        return _json(body, status=status)
    return _xml(body, status=status)


def _time(epoch_seconds: float | None, time_zone: tzinfo) -> str | None:
    return None if epoch_seconds is None else format_exotel_time(epoch_seconds, time_zone)


def _json(
    body: Mapping[str, Any], *, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        json.dumps(body),
        status_code=status,
        headers=dict(headers or {}),
        media_type=ResponseFormat.JSON.value,
    )


def _xml(body: Mapping[str, Any], *, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    document = xmltodict.unparse(
        {"TwilioResponse": _xml_values(body)},
        full_document=True,
        encoding="UTF-8",
        short_empty_elements=True,
        pretty=True,
        indent="  ",
    )
    return Response(
        document, status_code=status, headers=dict(headers or {}), media_type=ResponseFormat.XML.value
    )


def _xml_values(value: Any) -> Any:
    """Turn the JSON-shaped body into what xmltodict writes: text values, ``Legs`` as repeated ``Leg``."""
    if isinstance(value, Mapping):
        return {key: _xml_legs(item) if key == "Legs" else _xml_values(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_xml_values(item) for item in value]
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _xml_legs(legs: list[dict[str, Any]]) -> dict[str, Any] | None:
    return {"Leg": [_xml_values(leg["Leg"]) for leg in legs]} if legs else None
