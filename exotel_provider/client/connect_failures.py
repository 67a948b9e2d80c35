"""Why a connection was never established: read from the chain of low-level exceptions.

Both clients decide *whether* a failure happened before anything was sent (each knows its own
library); this module names *why*, from what the standard library raised underneath: a DNS
failure, a refused connection, a failed TLS handshake, a connect timeout.
"""

from __future__ import annotations

import errno
import socket
import ssl
from collections.abc import Iterator

_CONNECTING_FRAMES = frozenset(
    {"do_handshake", "connect", "_new_conn", "_ssl_wrap_socket_and_match_hostname", "create_connection"}
)
"""Functions of the standard library and urllib3 that run only while a connection is being made."""


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    """``error`` and everything behind it: causes, contexts, wrapped ``args`` and ``reason`` attributes."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        inner = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        inner.extend(current.args)
        pending.extend(item for item in inner if isinstance(item, BaseException))


def raised_while_connecting(error: BaseException) -> bool:
    """Some exception in the chain was raised inside a connect or TLS-handshake function."""
    for item in exception_chain(error):
        trace = item.__traceback__
        while trace is not None:
            if trace.tb_frame.f_code.co_name in _CONNECTING_FRAMES:
                return True
            trace = trace.tb_next
    return False


def connect_failure_cause(error: BaseException) -> tuple[str, str]:
    """``(cause, detail)`` for a connection that was never established; cause is one of
    ``refused``, ``dns``, ``tls``, ``timeout``, ``connect``."""
    chain = list(exception_chain(error))
    for item in chain:
        if isinstance(item, socket.gaierror) or type(item).__name__ == "NameResolutionError":
            return "dns", ""
    for item in chain:
        if isinstance(item, (ssl.SSLError, ssl.CertificateError)):
            return "tls", _ssl_detail(item)
    for item in chain:
        if isinstance(item, ConnectionRefusedError) or getattr(item, "errno", None) == errno.ECONNREFUSED:
            return "refused", ""
        if "connection refused" in str(item).lower() or "connect call failed" in str(item).lower():
            return "refused", ""
    for item in chain:
        if isinstance(item, (TimeoutError, socket.timeout)) or "timeout" in type(item).__name__.lower():
            return "timeout", ""
    return "connect", type(error).__name__


def _ssl_detail(error: BaseException) -> str:
    reason = getattr(error, "reason", None)
    if isinstance(reason, str) and reason:
        return reason.replace("_", " ").lower()
    text = str(error)
    return text[:120]
