"""The FastAPI application: Exotel's Voice v1 call and SMS endpoints plus the simulator's control endpoints."""

from __future__ import annotations

import base64
import binascii
import math
import re
import time
from collections.abc import Awaitable, Callable
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from exotel_provider.simulator.clock import format_exotel_time
from exotel_provider.simulator.connect_request import parse_connect_form
from exotel_provider.simulator.errors import ApiError
from exotel_provider.simulator.fault_injection import (
    ConnectionDroppingFastAPI,
    connection_dropped,
    strike_after,
    strike_before,
)
from exotel_provider.simulator.faults import Fault
from exotel_provider.simulator.listing import ListingQuery, page_metadata, select_page
from exotel_provider.simulator.phone_numbers import InvalidPhoneNumber
from exotel_provider.simulator.rendering import (
    ResponseFormat,
    call_fields,
    details_fields,
    render_call,
    render_error,
    render_listing,
    render_sms,
)
from exotel_provider.simulator.scripts import CallScript
from exotel_provider.simulator.sms import SimulatedSms, parse_bulk_form, parse_sms_form
from exotel_provider.simulator.state import RecordedRequest, SimulatorState

API_PREFIX = "/v1/"
CONTROL_PREFIX = "/_simulator"
ACCOUNT = "/v1/Accounts/{account_sid}"
_ACCOUNT_IN_PATH = re.compile(r"^/v1/Accounts/(?P<account>[^/]+)(/|$)")

Form = dict[str, list[str]]


def create_app(state: SimulatorState) -> FastAPI:
    """An app serving ``state``; every ``/v1`` request is authenticated, rate limited and logged,
    and may be struck by a fault armed in ``state.faults``."""
    app = ConnectionDroppingFastAPI(
        title="Exotel Voice v1 simulator", docs_url=None, redoc_url=None, openapi_url=None
    )
    _add_gateway(app, state)
    _add_error_handlers(app)
    _add_call_routes(app, state)
    _add_sms_routes(app, state)
    _add_control_routes(app, state)
    return app


def _add_gateway(app: FastAPI, state: SimulatorState) -> None:
    """Authentication, rate limit, faults and the request log; the ``Date`` header of every API
    answer is the simulated clock (Exotel's clock, as the real service's header is)."""

    @app.middleware("http")
    async def api_gateway(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not request.url.path.startswith(API_PREFIX):
            return await call_next(request)
        form = await _read_form(request)
        request.state.form = form
        sim_time, real_time = state.clock.now(), time.time()
        fault = state.faults.take(request.method, request.url.path)
        status_code = 500
        try:
            if fault is not None and not fault.processes_request:
                response = await strike_before(fault, request)
            else:
                response = _refusal(request, state) or await call_next(request)
                response.headers.update(state.rate_limit_headers(_account_of(request.url.path)))
                if fault is not None:
                    response = await strike_after(fault, request, response)
            status_code = 0 if connection_dropped(request) else response.status_code
            response.headers["Date"] = formatdate(state.clock.now(), usegmt=True)
            return response
        finally:
            state.record(
                RecordedRequest(
                    method=request.method,
                    path=request.url.path,
                    query=parse_qs(request.url.query, keep_blank_values=True),
                    form=form,
                    status_code=status_code,
                    sim_time=sim_time,
                    real_time=real_time,
                    fault=fault.describe() if fault is not None else None,
                )
            )


def _refusal(request: Request, state: SimulatorState) -> Response | None:
    """401 for bad credentials or another account, 429 above the rate limit; None to go on.

    Choices: a wrong account Sid gets 401 like the docs' wrong-host case; 401 answers are not
    counted against the rate limit (they are not attributable to the account); ``Retry-After``
    (real seconds, rounded up) is sent; the unconfirmed ``X-RateLimit-*`` headers only when asked.
    """
    response_format = ResponseFormat.for_path(request.url.path)
    api_key, api_token = _basic_auth(request.headers.get("authorization"))
    if not state.is_authorised(api_key, api_token):
        return render_error(401, "Authentication failed: check the API key and token", response_format)
    match = _ACCOUNT_IN_PATH.match(request.url.path)
    account_sid = _account_of(request.url.path)
    if match and account_sid != state.credentials.account_sid:
        message = f"Authentication failed: these credentials do not belong to account {account_sid!r}"
        return render_error(401, message, response_format)
    wait = state.admit(account_sid)
    if wait is None:
        return None
    headers = {}
    if state.send_retry_after:
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    limit = state.rate_limit_per_minute
    return render_error(429, f"Too many requests: at most {limit} per minute", response_format, headers)


def _account_of(path: str) -> str:
    match = _ACCOUNT_IN_PATH.match(path)
    return match.group("account") if match else ""


def _basic_auth(header: str | None) -> tuple[str | None, str | None]:
    if not header or not header.lower().startswith("basic "):
        return None, None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None, None
    api_key, separator, api_token = decoded.partition(":")
    return (api_key, api_token) if separator else (None, None)


async def _read_form(request: Request) -> Form:
    """The POSTed form with repeated keys kept; empty for other content types."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded"):
        return parse_qs((await request.body()).decode(), keep_blank_values=True)
    if content_type.startswith("multipart/form-data"):
        form: Form = {}
        for key, value in (await request.form()).multi_items():
            form.setdefault(key, []).append(value if isinstance(value, str) else str(value.filename))
        return form
    return {}


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        return render_error(exc.status, exc.message, ResponseFormat.for_path(request.url.path), exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        response_format = ResponseFormat.for_path(request.url.path)
        message = f"No such resource: {request.url.path}" if exc.status_code == 404 else str(exc.detail)
        return render_error(exc.status_code, message, response_format, exc.headers)


def _add_call_routes(app: FastAPI, state: SimulatorState) -> None:
    @app.post(ACCOUNT + "/Calls/connect")
    @app.post(ACCOUNT + "/Calls/connect.json")
    async def connect(request: Request, account_sid: str) -> Response:
        """Place a call: the answer shows it as it is right now.

        With the default script that is ``queued`` (Exotel's documented example shows ``in-progress``: script
        ``queue_seconds=0, ring_seconds=0`` for that). ``StatusCallback`` URLs are recorded, never
        called: the simulator makes no outbound requests.
        """
        call = state.place_call(parse_connect_form(request.state.form))
        return render_call(
            call.view(state.clock.now()),
            ResponseFormat.for_path(request.url.path),
            time_zone=state.clock.time_zone,
        )

    @app.get(ACCOUNT + "/Calls/{call_sid}")
    @app.get(ACCOUNT + "/Calls.json/{call_sid}")
    async def get_call(request: Request, account_sid: str, call_sid: str) -> Response:
        sid = call_sid.removesuffix(".json")
        call = state.get_call(sid)
        if call is None:
            raise ApiError(404, f"Call {sid} not found")
        details = request.query_params.get("details", "").lower() == "true"
        view = call.view(state.clock.now())
        return render_call(
            view, ResponseFormat.for_path(request.url.path), details=details, time_zone=state.clock.time_zone
        )

    @app.get(ACCOUNT + "/Calls")
    @app.get(ACCOUNT + "/Calls.json")
    async def list_calls(request: Request, account_sid: str) -> Response:
        """Bulk call details: terminal calls only, filtered, sorted and paged by cursor."""
        now = state.clock.now()
        query = ListingQuery.parse(
            parse_qs(request.url.query, keep_blank_values=True), now, state.clock.time_zone
        )
        candidates = state.calls_by_sids(query.sids) if query.sids is not None else state.all_calls()
        page = select_page(candidates, query, now)
        metadata = page_metadata(page, query, request.url.path, request.query_params.multi_items())
        views = [call.view(now) for call in page.calls]
        return render_listing(
            views, metadata, ResponseFormat.for_path(request.url.path), state.clock.time_zone
        )


def _add_sms_routes(app: FastAPI, state: SimulatorState) -> None:
    """SMS (see :mod:`exotel_provider.simulator.sms`): send, bulk send, and one message by Sid.
    Exotel documents no SMS listing, so there is none. ``StatusCallback`` URLs are never called."""

    def answer(request: Request, messages: list[SimulatedSms]) -> Response:
        now = state.clock.now()
        fields = [_sms_fields(state, message, now) for message in messages]
        return render_sms(fields, ResponseFormat.for_path(request.url.path))

    @app.post(ACCOUNT + "/Sms/send")
    @app.post(ACCOUNT + "/Sms/send.json")
    async def send_sms(request: Request, account_sid: str) -> Response:
        return answer(request, state.send_sms(parse_sms_form(request.state.form)))

    @app.post(ACCOUNT + "/Sms/bulksend")
    @app.post(ACCOUNT + "/Sms/bulksend.json")
    async def bulk_send_sms(request: Request, account_sid: str) -> Response:
        return answer(request, state.send_sms(parse_bulk_form(request.state.form)))

    @app.get(ACCOUNT + "/SMS/Messages/{sms_sid}")
    async def get_sms(request: Request, account_sid: str, sms_sid: str) -> Response:
        sid = sms_sid.removesuffix(".json")
        message = state.get_sms(sid)
        if message is None:
            raise ApiError(404, f"SMS {sid} not found")
        return answer(request, [message])


def _sms_fields(state: SimulatorState, message: SimulatedSms, now: float) -> dict[str, Any]:
    """A message's SMSMessage fields now, times in the simulator's zone."""
    return message.fields(now, lambda epoch: format_exotel_time(epoch, state.clock.time_zone))


def _add_control_routes(app: FastAPI, state: SimulatorState) -> None:
    """Unauthenticated helpers for tests, also from other processes; not in the request log."""
    _add_inspection_routes(app, state)
    _add_sms_inspection_routes(app, state)
    _add_script_routes(app, state)
    _add_fault_routes(app, state)
    _add_clock_routes(app, state)


def _add_inspection_routes(app: FastAPI, state: SimulatorState) -> None:
    """What the simulator holds: its health, the request log, every call placed."""

    @app.get(CONTROL_PREFIX + "/health")
    async def health() -> dict[str, Any]:
        now = state.clock.now()
        return {
            "status": "ok",
            "account_sid": state.credentials.account_sid,
            "time_scale": state.clock.time_scale,
            "sim_time": now,
            "sim_time_text": format_exotel_time(now, state.clock.time_zone),
            "time_zone": state.clock.time_zone_name,
            "calls": len(state.all_calls()),
            "sms": len(state.sent_sms()),
            "rate_limit_per_minute": state.rate_limit_per_minute,
        }

    @app.get(CONTROL_PREFIX + "/requests")
    async def requests_log() -> list[dict[str, Any]]:
        return [recorded.to_dict() for recorded in state.requests]

    @app.get(CONTROL_PREFIX + "/calls")
    async def calls(number: str | None = None) -> Response:
        """Every call, ongoing ones included, as JSON Call objects with Details and the POSTed form."""
        try:
            placed = state.placed_calls(number)
        except InvalidPhoneNumber as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        now = state.clock.now()
        return JSONResponse(
            [
                {
                    **call_fields(call.view(now), ResponseFormat.JSON, state.clock.time_zone),
                    "Details": details_fields(call.view(now)),
                    "Request": call.request.form,
                }
                for call in placed
            ]
        )


def _add_sms_inspection_routes(app: FastAPI, state: SimulatorState) -> None:
    """Every SMS accepted, and how messages to a number end."""

    @app.get(CONTROL_PREFIX + "/sms")
    async def sms(number: str | None = None) -> Response:
        """Every message, in order, as JSON SMSMessage objects with the POSTed form."""
        try:
            messages = state.sent_sms(number)
        except InvalidPhoneNumber as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        now = state.clock.now()
        return JSONResponse(
            [{**_sms_fields(state, message, now), "Request": message.request.form} for message in messages]
        )

    @app.post(CONTROL_PREFIX + "/sms-scripts")
    async def set_sms_script(request: Request) -> Response:
        """``{"number": "...", "outcome": "failed_dnd"}``: how messages to that number end."""
        try:
            body = await request.json()
            national = state.script_sms(str(body["number"]), str(body["outcome"]))
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": f"expected {{number, outcome}}: {exc}"}, status_code=400)
        return JSONResponse({"number": national, "outcome": body["outcome"]})


def _add_script_routes(app: FastAPI, state: SimulatorState) -> None:
    """Read and set how calls to each number go."""

    @app.get(CONTROL_PREFIX + "/scripts")
    async def scripts() -> dict[str, Any]:
        return {
            "default": state.scripts.default.to_dict(),
            "numbers": {number: script.to_dict() for number, script in state.scripts.all().items()},
        }

    @app.post(CONTROL_PREFIX + "/scripts")
    async def set_script(request: Request) -> Response:
        """``{"number": "...", "outcome": "busy", ...}``; without ``number`` it sets the default script."""
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object")
            number = body.pop("number", None)
            script = CallScript.from_mapping(body)
            if number is None:
                state.scripts.set_default(script)
                national = None
            else:
                national = state.set_script(str(number), script)
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"number": national, "script": script.to_dict()})


def _add_fault_routes(app: FastAPI, state: SimulatorState) -> None:
    """Arm, list and clear injected faults."""

    @app.get(CONTROL_PREFIX + "/faults")
    async def faults() -> dict[str, Any]:
        return {
            "armed": [fault.to_dict() for fault in state.faults.armed()],
            "injected": [
                {"fault": hit.fault.describe(), "method": hit.method, "path": hit.path}
                for hit in state.faults.injected
            ],
        }

    @app.post(CONTROL_PREFIX + "/faults")
    async def add_fault(request: Request) -> Response:
        """``{"kind": "drop", "method": "POST", "path": "/Calls/connect", "times": 1}``; a list arms several."""
        try:
            body = await request.json()
            items = body if isinstance(body, list) else [body]
            if not all(isinstance(item, dict) for item in items):
                raise ValueError("expected a JSON object or a list of them")
            added = [Fault.from_mapping(item) for item in items]
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        for fault in added:
            state.faults.add(fault)
        return JSONResponse({"armed": [fault.to_dict() for fault in added]})

    @app.delete(CONTROL_PREFIX + "/faults")
    async def clear_faults() -> dict[str, str]:
        state.faults.clear()
        return {"status": "cleared"}


def _add_clock_routes(app: FastAPI, state: SimulatorState) -> None:
    """Move the simulated clock, or start afresh."""

    @app.post(CONTROL_PREFIX + "/advance")
    async def advance(request: Request) -> Response:
        """``{"seconds": 60}``: jump the simulated clock forward."""
        try:
            seconds = float((await request.json())["seconds"])
            now = state.advance(seconds)
        except (ValueError, TypeError, KeyError) as exc:
            return JSONResponse({"error": f'expected {{"seconds": <non-negative number>}}: {exc}'}, 400)
        return JSONResponse(
            {"sim_time": now, "sim_time_text": format_exotel_time(now, state.clock.time_zone)}
        )

    @app.post(CONTROL_PREFIX + "/reset")
    async def reset() -> dict[str, str]:
        state.reset()
        return {"status": "reset"}
