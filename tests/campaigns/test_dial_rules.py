"""Whom a campaign may dial, against the simulator and a reminders database (SQLite, then PostgreSQL):
a do-not-call number and a number Exotel refuses as DND are never dialled again; the per-person caps
hold across runs, attempts and reminders, on the simulator's clock; mobiles only refuses a landline.
Each entry a rule keeps back is "not called" with its reason, in the outcomes and in the ledger."""

from __future__ import annotations

import datetime
import time

import pytest

from exotel_provider.calls.numbers import same_number
from exotel_provider.campaigns.do_not_call import DND_REASON, SqlDoNotCallList
from exotel_provider.campaigns.ledger_sql import SqlCallLedger
from exotel_provider.campaigns.not_called import CAP_REACHED, DO_NOT_CALL, NOT_A_MOBILE, NOT_CALLED
from exotel_provider.operators.campaign import ExotelCampaignOperator
from exotel_provider.placement import guard as guard_module
from exotel_provider.task_errors import InvalidCallRequest
from tests.support.campaign_runs import context, number, posts, run_try

pytestmark = pytest.mark.exotel_simulator(time_scale=600)

INDIA = datetime.timezone(datetime.timedelta(hours=5, minutes=30))
LANDLINE = "+91 12345 67890"


def campaign(calls, day: str, attempt: int = 1, **kwargs) -> ExotelCampaignOperator:
    kwargs.setdefault("poll_interval", 5)
    kwargs.setdefault("pricing_grace_seconds", 600)
    kwargs.setdefault("wait_timeout", 30 * 86400)  # the watchers run on the simulator's clock, days ahead
    ledger = {"conn_id": "exotel_reminders_db", "day": day, "attempt": attempt}
    return ExotelCampaignOperator(task_id="call", calls=calls, app_id=926, ledger=ledger, **kwargs)


@pytest.fixture
def sim(campaign_connection, monkeypatch):
    """The simulator at 09:00 India time of its next day, its clock the one the rules count days on."""
    simulator = campaign_connection
    monkeypatch.setattr(guard_module, "DEFAULT_CLOCK", guard_module.FunctionClock(simulator.now, time.sleep))
    now = datetime.datetime.fromtimestamp(simulator.now(), INDIA)
    nine = (now + datetime.timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    simulator.advance(nine.timestamp() - simulator.now())
    return simulator


def today(sim, plus_days: int = 0) -> str:
    return (
        datetime.datetime.fromtimestamp(sim.now(), INDIA).date() + datetime.timedelta(plus_days)
    ).isoformat()


def posts_to(sim, phone: str) -> list:
    """The placing requests to ``phone`` the simulator received, refused ones included."""
    return [r for r in posts(sim) if same_number((r.form.get("From") or [""])[0], phone)]


def by_key(outcomes):
    return {outcome["key"]: outcome for outcome in outcomes}


def row(db, day: str, key: str, attempt: int = 1):
    return {r.key: r for r in SqlCallLedger(db, day=day).rows() if r.attempt == attempt}[key]


def test_a_do_not_call_number_is_never_dialled_and_is_recorded_not_called(sim, ledger_db):
    listed = SqlDoNotCallList(ledger_db)
    listed.ensure_table()  # a row written by hand, in the national form
    ledger_db.run(
        "INSERT INTO do_not_call (phone, reason, added_at) VALUES ('09876500001', 'opted out', '2026-08-01')",
        autocommit=True,
    )
    calls = [{"key": "R0", "from_number": number(0)}, {"key": "R1", "from_number": number(1)}]

    for _ in range(2):  # two runs, two days
        day = today(sim)
        outcomes = by_key(run_try(campaign(calls, day), context(None), sim))
        assert outcomes["R1"]["status"] == NOT_CALLED and outcomes["R1"]["reason"] == DO_NOT_CALL
        assert outcomes["R0"]["status"] == "completed"
        kept = row(ledger_db, day, "R1")
        assert (kept.state, kept.error, kept.call_sid) == ("not placed", "not called: do-not-call", None)
        sim.advance(86400)

    assert posts_to(sim, number(1)) == [] and len(sim.placed_calls(number(0))) == 2


def test_a_number_exotel_refuses_as_dnd_is_listed_and_never_dialled_again(sim, ledger_db):
    sim.script(number(1), reject_status=403)  # "Call blocked by TRAI NDNC/DND regulations"
    calls = [{"key": "R0", "from_number": number(0)}, {"key": "R1", "from_number": number(1)}]

    first = by_key(run_try(campaign(calls, today(sim)), context(None), sim))

    assert first["R1"]["status"] == "not placed" and "HTTP 403" in first["R1"]["error"]
    assert [r.status_code for r in posts_to(sim, number(1))] == [403]
    assert SqlDoNotCallList(ledger_db).numbers() == {number(1): DND_REASON}

    sim.script(number(1))  # Exotel would now take it: the list, not Exotel, keeps it from being dialled
    sim.advance(86400)
    day = today(sim)
    second = by_key(run_try(campaign(calls, day), context(None), sim))

    assert second["R1"]["status"] == NOT_CALLED and second["R1"]["reason"] == DO_NOT_CALL
    assert len(posts_to(sim, number(1))) == 1 and sim.placed_calls(number(1)) == []
    assert row(ledger_db, day, "R1").error == "not called: do-not-call"


def test_the_daily_cap_holds_across_two_runs_and_two_reminders_for_one_phone(sim, ledger_db):
    phone = number(7)
    sim.script(phone, outcome="busy")
    day, tomorrow = today(sim), today(sim, plus_days=1)
    first = [{"key": "R1", "from_number": phone}]
    second = [{"key": "R2", "from_number": phone}]  # another reminder of that person, due tomorrow

    run_try(campaign(first, day), context(None), sim)  # today's run: R1's first call
    run_try(campaign(second, tomorrow), context(None), sim)  # a run for tomorrow's reminders, today
    assert len(sim.placed_calls(phone)) == 2
    kept = [
        run_try(campaign(first, day, attempt=2), context(None), sim)[0],  # each run's redial
        run_try(campaign(second, tomorrow, attempt=2), context(None), sim)[0],
    ]

    assert [(o["status"], o["reason"]) for o in kept] == [(NOT_CALLED, CAP_REACHED)] * 2
    assert len(posts_to(sim, phone)) == 2
    assert row(ledger_db, tomorrow, "R2", attempt=2).error == "not called: cap reached"

    sim.advance(86400)  # a new day in India: the redial not made yesterday is made now
    [redial] = run_try(campaign(second, tomorrow, attempt=2), context(None), sim)
    assert redial["status"] == "busy" and len(sim.placed_calls(phone)) == 3


def test_the_weekly_cap_counts_today_and_the_six_days_before(sim, ledger_db):
    phone = number(8)
    calls = [{"key": "R1", "from_number": phone}]
    statuses = []
    for _ in range(8):  # one run a day for eight days, at most 3 calls in any 7 days
        outcomes = run_try(campaign(calls, today(sim), max_calls_per_week=3), context(None), sim)
        statuses.append(outcomes[0].get("reason") or outcomes[0]["status"])
        sim.advance(86400)

    assert statuses == ["completed"] * 3 + [CAP_REACHED] * 4 + ["completed"]
    assert len(sim.placed_calls(phone)) == 4


def test_mobile_only_refuses_a_landline_before_dialling_and_calls_mobiles(sim, ledger_db):
    calls = [{"key": "R0", "from_number": number(0)}, {"key": "R1", "from_number": LANDLINE}]

    outcomes = by_key(run_try(campaign(calls, today(sim), mobile_only=True), context(None), sim))

    assert (outcomes["R1"]["status"], outcomes["R1"]["reason"]) == (NOT_CALLED, NOT_A_MOBILE)
    assert outcomes["R0"]["status"] == "completed"
    assert posts_to(sim, LANDLINE) == [] and len(posts(sim)) == 1
    assert row(ledger_db, today(sim), "R1").error == "not called: not a mobile"

    sim.advance(86400)  # without mobile_only, the same landline is dialled
    run_try(campaign(calls, today(sim)), context(None), sim)
    assert len(posts_to(sim, LANDLINE)) == 1


def test_a_cap_below_one_fails_the_task_before_any_request(sim, ledger_db):
    with pytest.raises(InvalidCallRequest, match="max_calls_per_person"):
        run_try(
            campaign([{"key": "R1", "from_number": number(1)}], today(sim), max_calls_per_person=0),
            context(None),
            sim,
        )
    assert sim.requests == []
