"""The connection's time zone (``extra.timezone``), in the form and in ``test_connection``'s check
of Exotel's clock against ours."""

from __future__ import annotations

import json
import re

import pytest

from exotel_provider.connection_form import CONN_FIELDS, UI_FIELD_BEHAVIOUR
from exotel_provider.hooks.exotel import ExotelHook
from exotel_provider.provider_info import get_provider_info

pytestmark = pytest.mark.exotel_simulator(time_scale=0)  # only advance() moves Exotel's clock

CUSTOMER = "+919876543210"


def use(monkeypatch: pytest.MonkeyPatch, simulator, **extra) -> ExotelHook:
    connection = simulator.connection()
    connection["extra"].update(extra)
    monkeypatch.setenv("AIRFLOW_CONN_EXOTEL_DEFAULT", json.dumps(connection))
    return ExotelHook()


def place_a_call_that_ends_at_once(hook: ExotelHook, simulator) -> None:
    """A call Exotel lists a few seconds later (so that both clocks still agree)."""
    simulator.script(CUSTOMER, outcome="busy", queue_seconds=0)
    hook.connect_to_flow(CUSTOMER, app_id=926, caller_id="08047112345", time_out=1)
    simulator.advance(5)


def test_the_time_zone_is_in_the_form_for_every_airflow_version():
    [connection_type] = get_provider_info()["connection-types"]

    assert connection_type["conn-fields"]["timezone"]["schema"]["default"] == "Asia/Kolkata"
    assert UI_FIELD_BEHAVIOUR["placeholders"]["timezone"] == "Asia/Kolkata"
    pytest.importorskip("flask_appbuilder")
    assert set(ExotelHook.get_connection_form_widgets()) == set(CONN_FIELDS)


def test_the_time_zone_defaults_to_india_time_and_an_unknown_zone_is_refused(monkeypatch, exotel_simulator):
    assert use(monkeypatch, exotel_simulator).settings.time_zone == "Asia/Kolkata"

    ok, message = use(monkeypatch, exotel_simulator, timezone="Mars/Olympus").test_connection()

    assert not ok and "Mars/Olympus" in message and "IANA" in message
    assert exotel_simulator.requests == []  # refused before any request


def test_clocks_that_agree_give_no_warning(monkeypatch, exotel_simulator):
    ok, message = use(monkeypatch, exotel_simulator).test_connection()

    assert ok and "Warning" not in message


def test_exotel_clock_far_from_ours_is_a_warning(monkeypatch, exotel_simulator):
    exotel_simulator.advance(3600)

    ok, message = use(monkeypatch, exotel_simulator).test_connection()

    ahead = re.search(r"is (\d+) s ahead of this machine's", message)
    assert ok and "Warning" in message and ahead and 3590 <= int(ahead.group(1)) <= 3630


@pytest.mark.exotel_simulator(time_scale=0, time_zone="Asia/Kolkata")
def test_times_read_in_the_wrong_zone_are_a_warning(monkeypatch, exotel_simulator):
    hook = use(monkeypatch, exotel_simulator, timezone="UTC")
    place_a_call_that_ends_at_once(hook, exotel_simulator)

    ok, message = hook.test_connection()

    assert ok and "extra.timezone" in message and "5.5 h in the future" in message


@pytest.mark.exotel_simulator(time_scale=0, time_zone="UTC")
def test_a_simulator_in_utc_hands_out_a_connection_that_says_so(monkeypatch, exotel_simulator):
    hook = use(monkeypatch, exotel_simulator)
    place_a_call_that_ends_at_once(hook, exotel_simulator)

    ok, message = hook.test_connection()

    assert hook.settings.time_zone == "UTC" and ok and "Warning" not in message
