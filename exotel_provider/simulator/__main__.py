"""``python -m exotel_provider.simulator``: run the simulator in the foreground until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import shlex
import sys
from collections.abc import Sequence

from exotel_provider.simulator.clock import DEFAULT_TIME_ZONE
from exotel_provider.simulator.scripts import CallScript, Outcome
from exotel_provider.simulator.sms import SmsOutcome
from exotel_provider.simulator.state import (
    DEFAULT_ACCOUNT_SID,
    DEFAULT_API_KEY,
    DEFAULT_API_TOKEN,
    DEFAULT_RATE_LIMIT_PER_MINUTE,
)


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``python -m exotel_provider.simulator``."""
    parser = argparse.ArgumentParser(
        prog="python -m exotel_provider.simulator",
        description="A local Exotel Voice v1 API server (calls and SMS).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--time-scale", type=float, default=60.0, help="simulated seconds per real second (0 freezes time)"
    )
    parser.add_argument(
        "--time-zone",
        default=DEFAULT_TIME_ZONE,
        help="IANA zone of the timestamps it gives (DateCreated ...); default Asia/Kolkata",
    )
    parser.add_argument("--account-sid", default=DEFAULT_ACCOUNT_SID)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--api-token", default=DEFAULT_API_TOKEN)
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=DEFAULT_RATE_LIMIT_PER_MINUTE,
        help="requests per real minute (wall clock, at any time scale); 0 disables the limit",
    )
    parser.add_argument(
        "--rate-limit-headers",
        action="store_true",
        help="send X-RateLimit-Limit/-Remaining/-Reset on every answer (unconfirmed in Exotel's docs)",
    )
    parser.add_argument(
        "--script",
        action="append",
        default=[],
        metavar="NUMBER=OUTCOME",
        help=f"script calls to NUMBER ({', '.join(o.value for o in Outcome)}); repeatable",
    )
    parser.add_argument(
        "--sms-script",
        action="append",
        default=[],
        metavar="NUMBER=OUTCOME",
        help="SMS to NUMBER end OUTCOME (sent, failed, failed_dnd); repeatable",
    )
    return parser


def parse_script(text: str) -> tuple[str, CallScript]:
    """``+919876500002=busy`` -> the number and its script."""
    number, separator, outcome = text.partition("=")
    if not separator or not number.strip():
        raise ValueError(f"expected NUMBER=OUTCOME, got {text!r}")
    return number.strip(), CallScript(outcome=outcome.strip())


def parse_sms_script(text: str) -> tuple[str, str]:
    """``+919876500002=failed_dnd`` -> the number and the final status its SMS gets."""
    number, separator, outcome = text.partition("=")
    if not separator or not number.strip():
        raise ValueError(f"expected NUMBER=OUTCOME, got {text!r}")
    return number.strip(), SmsOutcome(outcome.strip()).value


def main(argv: Sequence[str] | None = None) -> int:
    """Serve the simulator in the foreground until interrupted; prints the connection to export."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        scripts = [parse_script(text) for text in args.script]
        sms_scripts = [parse_sms_script(text) for text in args.sms_script]
    except ValueError as exc:
        parser.error(str(exc))

    from exotel_provider.simulator.server import ExotelSimulator

    simulator = ExotelSimulator(
        host=args.host,
        port=args.port,
        time_scale=args.time_scale,
        account_sid=args.account_sid,
        api_key=args.api_key,
        api_token=args.api_token,
        rate_limit_per_minute=args.rate_limit or None,
        send_rate_limit_headers=args.rate_limit_headers,
        time_zone=args.time_zone,
    )
    for number, script in scripts:
        simulator.script(number, script)
    for number, outcome in sms_scripts:
        simulator.script_sms(number, outcome)
    print(
        f"Exotel simulator: {simulator.base_url} (account {simulator.account_sid}, x{args.time_scale} time)"
    )
    print("Use it from Airflow with either form of the connection (JSON or URI):")
    print(f"export AIRFLOW_CONN_EXOTEL_DEFAULT={shlex.quote(simulator.connection_json())}")
    print(f"export AIRFLOW_CONN_EXOTEL_DEFAULT={shlex.quote(simulator.connection_uri())}", flush=True)
    print(
        f"Calls and SMS it placed and sent: {simulator.base_url}/_simulator/calls and "
        f"{simulator.base_url}/_simulator/sms",
        flush=True,
    )
    with contextlib.suppress(KeyboardInterrupt):
        simulator.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
