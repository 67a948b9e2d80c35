"""How an armed :class:`~exotel_provider.simulator.faults.Fault` changes one request's answer."""

from __future__ import annotations

import asyncio
import html
import json
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send

from exotel_provider.simulator.faults import HTML_ERROR_PAGE, Fault, FaultKind
from exotel_provider.simulator.rendering import ResponseFormat, render_document, render_error

_SCOPE_KEY = "exotel_simulator"
_DEFAULT_MESSAGES = {
    401: "Authentication failed: check the API key and token",
    429: "Too many requests",
    500: "Internal server error",
    502: "Bad gateway",
    503: "Service temporarily unavailable",
    504: "Gateway timeout",
}


class ConnectionDroppingFastAPI(FastAPI):
    """FastAPI that can also drop a connection without answering, as a lost response looks.

    The gateway marks the request; this outermost layer then swallows the answer and closes the
    socket (uvicorn's transport), so the client sees the connection closed without a response.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request, applying the first armed fault that matches it."""
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        marks: dict[str, Any] = {"drop": False}
        scope[_SCOPE_KEY] = marks

        async def guarded_send(message: Message) -> None:
            if not marks["drop"]:
                await send(message)

        await super().__call__(scope, receive, guarded_send)
        if marks["drop"]:
            await _close_connection(send)


def connection_dropped(request: Request) -> bool:
    """True when a fault dropped this request's connection (no answer is sent)."""
    marks = request.scope.get(_SCOPE_KEY)
    return bool(marks and marks.get("drop"))


async def strike_before(fault: Fault, request: Request) -> Response:
    """The answer to a request the fault stops before it takes effect."""
    response_format = ResponseFormat.for_path(request.url.path)
    kind = fault.fault_kind
    if kind is FaultKind.DELAY:
        await asyncio.sleep(fault.delay_seconds)
    if kind is FaultKind.DROP:
        _mark_drop(request)
        return Response(b"", status_code=200)
    if kind in (FaultKind.STATUS, FaultKind.CREDENTIALS_REJECTED, FaultKind.DELAY):
        return _error(fault, response_format, fault.answer_status if kind is not FaultKind.DELAY else 503)
    if kind is FaultKind.XML_INSTEAD_OF_JSON:
        return _error(fault, ResponseFormat.XML, fault.status or 500)
    return _bad_body(fault, b"")


async def strike_after(fault: Fault, request: Request, response: Response) -> Response:
    """The answer to a request that already took effect (``response`` is what it would have been)."""
    kind = fault.fault_kind
    if kind is FaultKind.DELAY:
        await asyncio.sleep(fault.delay_seconds)
        return response
    if kind is FaultKind.DROP:
        _mark_drop(request)
        return response
    if kind in (FaultKind.STATUS, FaultKind.CREDENTIALS_REJECTED):
        return _error(fault, ResponseFormat.for_path(request.url.path), fault.answer_status)
    body = await _body_of(response)
    if kind in (FaultKind.UNDOCUMENTED_STATUS, FaultKind.UNREADABLE_ENTRY):
        return _rewrite_calls(fault, body, response)
    if kind is FaultKind.XML_INSTEAD_OF_JSON:
        try:
            document = json.loads(body)
        except ValueError:
            return response  # already not JSON
        return render_document(document, ResponseFormat.XML, status=fault.status or response.status_code)
    return _bad_body(fault, body)


def _rewrite_calls(fault: Fault, body: bytes, response: Response) -> Response:
    """The JSON answer with its calls changed as the fault says (other answers pass unchanged)."""
    try:
        document = json.loads(body)
    except ValueError:
        return Response(body, status_code=response.status_code, media_type=response.media_type)
    calls = document.get("Calls") if isinstance(document.get("Calls"), list) else [document.get("Call")]
    targets = [call for call in calls if isinstance(call, dict) and fault.sid in (None, call.get("Sid"))]
    if fault.fault_kind is FaultKind.UNREADABLE_ENTRY:
        targets = targets[:1]
    for call in targets:
        if fault.fault_kind is FaultKind.UNDOCUMENTED_STATUS:
            call["Status"] = fault.call_status
        else:
            call["Price"] = "N/A"
    return render_document(document, ResponseFormat.JSON, status=response.status_code)


def _bad_body(fault: Fault, original: bytes) -> Response:
    kind = fault.fault_kind
    status = fault.answer_status
    if kind is FaultKind.MALFORMED_JSON:
        cut = original[: max(1, len(original) // 2)] if original.startswith(b"{") else b'{"Call": {"Sid": "'
        return Response(cut, status_code=status, media_type=ResponseFormat.JSON.value)
    if kind is FaultKind.HTML_PAGE:
        page = HTML_ERROR_PAGE
        if fault.message:  # what a debugging proxy may echo, e.g. the request's headers
            page = page.replace("<hr>", f"<pre>{html.escape(fault.message, quote=False)}</pre><hr>")
        return Response(page, status_code=status, media_type="text/html")
    return Response(b"", status_code=status, media_type=ResponseFormat.JSON.value)


def _error(fault: Fault, response_format: ResponseFormat, status: int) -> Response:
    headers = {}
    if fault.retry_after is not None:
        headers["Retry-After"] = f"{fault.retry_after:g}"
    message = fault.message or _DEFAULT_MESSAGES.get(status, "Error")
    return render_error(status, message, response_format, headers)


async def _body_of(response: Response) -> bytes:
    iterator = getattr(response, "body_iterator", None)
    if iterator is None:
        return bytes(response.body)
    chunks = [chunk if isinstance(chunk, bytes) else chunk.encode() async for chunk in iterator]
    return b"".join(chunks)


def _mark_drop(request: Request) -> None:
    marks = request.scope.get(_SCOPE_KEY)
    if marks is None:
        raise RuntimeError("dropping a connection needs the app created by create_app()")
    marks["drop"] = True


async def _close_connection(send: Send) -> None:
    """Close the client's socket without an answer (uvicorn's transport behind its ``send``)."""
    transport = getattr(getattr(send, "__self__", None), "transport", None)
    if transport is not None:
        transport.close()
        await asyncio.sleep(0)  # let uvicorn see the disconnect before it thinks of answering
        return
    # Another server: start an answer that never completes; the server then closes the socket.
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"64")]})
    raise ConnectionAbortedError("fault injection: connection dropped")
