"""``ExotelSimulator``: the simulator app served by uvicorn on a background thread."""

from __future__ import annotations

import json
import socket
import threading
import time
from types import TracebackType
from typing import Any
from urllib.parse import quote

import uvicorn

from exotel_provider.simulator.app import create_app
from exotel_provider.simulator.clock import DEFAULT_TIME_ZONE
from exotel_provider.simulator.faults import Fault, InjectedFault
from exotel_provider.simulator.lifecycle import SimulatedCall
from exotel_provider.simulator.scripts import CallScript
from exotel_provider.simulator.sms import SimulatedSms
from exotel_provider.simulator.state import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_API_KEY,
    DEFAULT_API_TOKEN,
    DEFAULT_RATE_LIMIT_PER_MINUTE,
    RecordedRequest,
    SimulatorState,
)

STARTUP_TIMEOUT_SECONDS = 10.0
CONNECTION_TYPE = "exotel"


class ExotelSimulator:
    """A local Exotel Voice v1 server on a background thread (``port=0`` picks a free port).

    Example::

        with ExotelSimulator(time_scale=60) as sim:
            sim.script("+919876543210", outcome="busy")
            ...  # point the provider at sim.connection_json(), run the DAG
            assert len(sim.placed_calls("+919876543210")) == 1
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        time_scale: float = 1.0,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        api_key: str = DEFAULT_API_KEY,
        api_token: str = DEFAULT_API_TOKEN,
        rate_limit_per_minute: int | None = DEFAULT_RATE_LIMIT_PER_MINUTE,
        send_retry_after: bool = True,
        send_rate_limit_headers: bool = False,
        default_script: CallScript | None = None,
        time_zone: str = DEFAULT_TIME_ZONE,
    ) -> None:
        """``time_zone``: the IANA zone of the timestamps it gives (``DateCreated`` ...)."""
        self.host = host
        self._requested_port = port
        self._state = SimulatorState(
            account_sid=account_sid,
            api_key=api_key,
            api_token=api_token,
            time_scale=time_scale,
            rate_limit_per_minute=rate_limit_per_minute,
            send_retry_after=send_retry_after,
            send_rate_limit_headers=send_rate_limit_headers,
            default_script=default_script,
            time_zone=time_zone,
        )
        self._socket: socket.socket | None = None
        self._bound_port: int | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> ExotelSimulator:
        """Bind the port and serve on a daemon thread; returns once requests are answered."""
        if self._thread is not None:
            raise RuntimeError("the simulator is already running")
        self._socket = self._bind()
        self._server = self._make_server()
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="exotel-simulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"the Exotel simulator did not start on {self.host}:{self.port}")
            time.sleep(0.005)
        return self

    def stop(self, *, wait: bool = True) -> None:
        """Stop serving and release the port (idempotent); open connections are not waited for.

        uvicorn notices the request within ~0.1 s and then pauses 0.1 s; ``wait=False`` returns at
        once and lets the server thread finish closing in the background (the pytest fixture does
        this: each test gets its own port, so nothing waits on the old one).
        """
        server, thread, sock = self._server, self._thread, self._socket
        self._server = self._thread = self._socket = None
        if server is not None:
            server.should_exit = True
            server.force_exit = True
        if thread is not None and thread.is_alive():
            if not wait:
                return
            thread.join(timeout=STARTUP_TIMEOUT_SECONDS)
        if sock is not None:
            sock.close()

    def serve_forever(self) -> None:
        """Serve in the foreground until Ctrl-C or SIGTERM (the ``python -m`` entry point)."""
        self._socket = self._bind()
        self._server = self._make_server()
        try:
            self._server.run(sockets=[self._socket])
        finally:
            self._socket.close()
            self._server = None

    def __enter__(self) -> ExotelSimulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def _bind(self) -> socket.socket:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._requested_port))
        sock.listen(128)
        sock.setblocking(False)
        self._bound_port = int(sock.getsockname()[1])
        return sock

    def _make_server(self) -> uvicorn.Server:
        config = uvicorn.Config(  # the app sets Date from the simulated clock
            create_app(self._state), log_level="warning", access_log=False, lifespan="off", date_header=False
        )
        return uvicorn.Server(config)

    # --- where it is and how to connect ------------------------------------------------------

    @property
    def port(self) -> int:
        """The real port once bound (a free one when constructed with ``port=0``)."""
        return self._requested_port if self._bound_port is None else self._bound_port

    @property
    def base_url(self) -> str:
        """E.g. ``http://127.0.0.1:54321``: what the provider's connection uses as its host."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def account_sid(self) -> str:
        """The account SID it accepts."""
        return self._state.credentials.account_sid

    @property
    def api_key(self) -> str:
        """The API key it accepts."""
        return self._state.credentials.api_key

    @property
    def api_token(self) -> str:
        """The API token it accepts."""
        return self._state.credentials.api_token

    def connection(self) -> dict[str, Any]:
        """The Airflow connection for this simulator: login = API key, password = API token,
        host = the full base URL (used as is), extra.account_sid."""
        return {
            "conn_type": CONNECTION_TYPE,
            "login": self.api_key,
            "password": self.api_token,
            "host": self.base_url,
            "extra": {"account_sid": self.account_sid, **self._time_zone_extra()},
        }

    def _time_zone_extra(self) -> dict[str, str]:
        """``extra.timezone`` when the simulator is not in the default zone (India time)."""
        name = self._state.clock.time_zone_name
        return {} if name == DEFAULT_TIME_ZONE else {"timezone": name}

    def connection_json(self) -> str:
        """For ``AIRFLOW_CONN_EXOTEL_DEFAULT``."""
        return json.dumps(self.connection())

    def connection_uri(self) -> str:
        """The same connection as an Airflow URI: host and port, and ``scheme=http`` in the extra
        (a URI cannot carry a scheme in its host)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return (
            f"{CONNECTION_TYPE}://{quote(self.api_key, safe='')}:{quote(self.api_token, safe='')}"
            f"@{host}:{self.port}/?account_sid={quote(self.account_sid, safe='')}&scheme=http"
            + "".join(f"&{name}={quote(value, safe='')}" for name, value in self._time_zone_extra().items())
        )

    # --- driving and inspecting it from a test ----------------------------------------------

    @property
    def state(self) -> SimulatorState:
        """Everything the simulator holds: calls, requests, scripts, faults, clock."""
        return self._state

    def script(self, number: str, script: CallScript | None = None, /, **fields: Any) -> CallScript:
        """Script calls to ``number``: ``script("+9198...", outcome="busy")`` or
        ``script("+9198...", CallScript(...))``."""
        if script is not None and fields:
            raise TypeError("pass either a CallScript or its fields as keywords, not both")
        chosen = script if script is not None else CallScript(**fields)
        self._state.set_script(number, chosen)
        return chosen

    def set_default_script(self, script: CallScript | None = None, /, **fields: Any) -> CallScript:
        """Script every number that has no script of its own."""
        if script is not None and fields:
            raise TypeError("pass either a CallScript or its fields as keywords, not both")
        chosen = script if script is not None else CallScript(**fields)
        self._state.scripts.set_default(chosen)
        return chosen

    def inject_fault(self, fault: Fault | str | None = None, /, **fields: Any) -> Fault:
        """Arm a fault: ``inject_fault("drop", method="POST", path=CONNECT_PATH)`` or a :class:`Fault`.

        By default it strikes the next matching request once (``times``), after ``skip`` of them.
        """
        if isinstance(fault, Fault):
            if fields:
                raise TypeError("pass either a Fault or its fields as keywords, not both")
            chosen = fault
        else:
            chosen = Fault(kind=fault, **fields) if fault is not None else Fault(**fields)
        return self._state.faults.add(chosen)

    @property
    def armed_faults(self) -> list[Fault]:
        """Faults still waiting for a matching request."""
        return self._state.faults.armed()

    @property
    def injected_faults(self) -> list[InjectedFault]:
        """Faults that struck a request, oldest first."""
        return self._state.faults.injected

    def clear_faults(self) -> None:
        """Disarm every fault."""
        self._state.faults.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        """A copy of the request log (every ``/v1`` request, refused ones included)."""
        return self._state.requests

    def placed_calls(self, number: str | None = None) -> list[SimulatedCall]:
        """Calls created by ``POST /Calls/connect``, optionally only those from ``number``."""
        return self._state.placed_calls(number)

    def sent_sms(self, number: str | None = None) -> list[SimulatedSms]:
        """Messages accepted by ``POST /Sms/send`` or ``/Sms/bulksend``, optionally only those to ``number``."""
        return self._state.sent_sms(number)

    def script_sms(self, number: str, outcome: str) -> str:
        """Messages to ``number`` end ``outcome``: ``sent`` (the default), ``failed`` or ``failed_dnd``."""
        return self._state.script_sms(number, outcome)

    def advance(self, seconds: float) -> float:
        """Jump the simulated clock forward; returns the new simulated epoch time."""
        return self._state.advance(seconds)

    def now(self) -> float:
        """The simulated epoch time."""
        return self._state.clock.now()

    def reset(self) -> None:
        """Forget calls, SMS, the request log, scripts, faults and the rate-limit window."""
        self._state.reset()
