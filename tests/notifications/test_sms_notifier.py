"""ExotelSmsNotifier: a failure texts the on-call number once per incident, beside (not instead of)
a call notifier's page; refusals release the claim, lost answers keep it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from exotel_provider.errors import ExotelBadRequestError, ExotelSmsOutcomeUnknownError, ExotelValidationError
from exotel_provider.notifications.exotel import incident_from_context
from exotel_provider.notifications.sms import ExotelSmsNotifier
from exotel_provider.paging.incidents import claim_page
from exotel_provider.provider_info import get_provider_info
from exotel_provider.simulator import SMS_SEND_PATH

pytestmark = pytest.mark.exotel_simulator(time_scale=0)

ON_CALL = "+919876500999"
DLT = {"dlt_entity_id": "1101456780000012345", "dlt_template_id": "1107161234567890123"}


class DictClaims:
    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    def read(self, key: str) -> str | None:
        return self.values.get(key)

    def write(self, key: str, value: str) -> None:
        self.values[key] = value

    def remove(self, key: str) -> None:
        self.values.pop(key, None)


def failure(task_id: str, run_id: str = "manual__1") -> dict[str, Any]:
    return {
        "dag": SimpleNamespace(dag_id="nightly_load"),
        "dag_run": SimpleNamespace(dag_id="nightly_load", run_id=run_id),
        "ti": SimpleNamespace(task_id=task_id),
    }


def notifier(claims: DictClaims, **overrides: Any) -> ExotelSmsNotifier:
    params = {
        "to_number": ON_CALL,
        "from_number": "EXOTEL",
        "claim_store": claims,
        "settle_seconds": 0,
        **DLT,
    }
    return ExotelSmsNotifier(**{**params, **overrides})


def test_two_failed_tasks_of_one_run_send_one_sms_with_the_failure(exotel_connection_env):
    claims = DictClaims()
    notifier(claims).notify(failure("load"))
    notifier(claims).notify(failure("publish"))
    [message] = exotel_connection_env.sent_sms(ON_CALL)
    assert message.request.body == "nightly_load/load failed"
    notifier(claims).notify(failure("load", run_id="manual__2"))
    assert len(exotel_connection_env.sent_sms(ON_CALL)) == 2


def test_an_sms_claim_does_not_block_the_call_notifiers_page(exotel_connection_env):
    claims = DictClaims()
    notifier(claims).notify(failure("load"))
    page = claim_page(
        claims, incident_from_context(failure("load")), per="run", min_interval=None, settle_seconds=0
    )
    assert page.won


def test_a_refused_sms_releases_the_claim_and_a_lost_answer_keeps_it(exotel_connection_env):
    claims = DictClaims()
    exotel_connection_env.inject_fault("status", status=400, method="POST", path=SMS_SEND_PATH)
    with pytest.raises(ExotelBadRequestError):
        notifier(claims).notify(failure("load"))
    assert claims.values == {}
    exotel_connection_env.inject_fault("drop", method="POST", path=SMS_SEND_PATH)
    with pytest.raises(ExotelSmsOutcomeUnknownError):
        notifier(claims).notify(failure("load"))
    notifier(claims).notify(failure("publish"))  # the claim held: no second message
    assert len(exotel_connection_env.sent_sms(ON_CALL)) == 1


def test_missing_dlt_ids_fail_before_any_claim_or_request(exotel_connection_env):
    claims = DictClaims()
    with pytest.raises(ExotelValidationError, match="DltTemplateId"):
        notifier(claims, dlt_template_id=None).notify(failure("load"))
    assert claims.values == {} and exotel_connection_env.requests == []


def test_in_the_triggerer_it_sends_asynchronously_once(exotel_connection_env):
    claims = DictClaims()
    asyncio.run(notifier(claims, body="Pipeline down").async_notify(failure("load")))
    asyncio.run(notifier(claims, body="Pipeline down").async_notify(failure("load")))
    assert [m.request.body for m in exotel_connection_env.sent_sms(ON_CALL)] == ["Pipeline down"]


def test_the_notifier_is_registered():
    assert "exotel_provider.notifications.sms.ExotelSmsNotifier" in get_provider_info()["notifications"]
