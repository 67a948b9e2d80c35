"""The Airflow UI in headless Chromium (Debian's, driven by Playwright): the on-demand DAG's trigger
form and the Exotel connection form. Screenshots go to artifacts/browser/; the two forms the
documentation shows also to docs/images/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.real_airflow import AirflowApi, simulator_calls
from tools.local_airflow import USERNAME, LocalAirflow

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "browser"
DOC_IMAGES = ROOT / "docs" / "images"
"""The pages show these screenshots (how-to/production.md, how-to/local-airflow.md): each run renews them."""
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ON_DEMAND = "exotel_call_on_demand"
UI_TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run `make setup-e2e` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a fresh user-data-dir
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(UI_TIMEOUT_MS)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="module")
def page(browser: Any, local_airflow: LocalAirflow, airflow_api: AirflowApi) -> Any:
    """A page logged in through the simple auth manager's login form."""
    airflow_api.unpause(ON_DEMAND)
    page = browser.new_page()
    page.goto(f"{local_airflow.url}/")
    page.locator("input[name=username]").fill(USERNAME)
    page.locator("input[name=password]").fill(local_airflow.password)
    shot(page, "01-login")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)
    return page


def shot(page: Any, name: str, *, docs_image: str | None = None) -> Path:
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    if docs_image:
        DOC_IMAGES.mkdir(parents=True, exist_ok=True)
        (DOC_IMAGES / docs_image).write_bytes(path.read_bytes())
    return path


def dismiss_toasts(page: Any) -> None:
    page.mouse.move(0, 0)  # a hovered toast never times out
    toasts = page.locator("[data-scope=toast][data-part=root]")
    for index in reversed(range(toasts.count())):
        close = toasts.nth(index).locator("[data-part=close-trigger]")
        if close.count():
            close.first.click()
    if toasts.count():
        toasts.first.wait_for(state="detached")


def open_trigger_form(page: Any, airflow: LocalAirflow) -> Any:
    page.goto(f"{airflow.url}/dags/{ON_DEMAND}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dialog.locator("#element_phone").wait_for()
    return dialog


def test_trigger_form_shows_labelled_fields_refuses_a_bad_number_and_runs_a_good_one(
    page: Any, local_airflow: LocalAirflow, airflow_api: AirflowApi
):
    dialog = open_trigger_form(page, local_airflow)
    for label, description in (
        ("Phone number", "The Indian mobile number to call"),
        ("Call flow (app id)", "The id of the Exotel call flow"),
        ("Caller ID (ExoPhone)", "The ExoPhone to call from"),
        ("Wait for the outcome", "Wait until the call has ended and is priced"),
    ):
        assert dialog.locator("label", has_text=label).count() == 1, label
        assert dialog.get_by_text(description).count() == 1, description
    assert dialog.locator("#element_flow_app_id").input_value() == "926"
    shot(page, "02-trigger-form", docs_image="trigger-form.png")

    runs_before = _run_ids(airflow_api)
    dialog.locator("#element_phone").fill("12345")
    dialog.get_by_test_id("trigger-dag-submit").click()
    dialog.get_by_text("does not match").first.wait_for()  # Airflow validates the params' JSON schema
    shot(page, "03-bad-phone-refused")
    assert _run_ids(airflow_api) == runs_before

    dismiss_toasts(page)  # the "Failed to trigger" toast sits on top of the Trigger button
    dialog.locator("#element_phone").fill("+919812340002")
    dialog.get_by_test_id("trigger-dag-submit").click()
    dialog.wait_for(state="hidden")
    [run_id] = _run_ids(airflow_api) - runs_before
    assert airflow_api.wait_for_run(ON_DEMAND, run_id) == "success"
    page.goto(f"{local_airflow.url}/dags/{ON_DEMAND}/runs/{run_id}")
    page.get_by_text("Success").first.wait_for()
    shot(page, "04-run-succeeded")
    [call] = simulator_calls(local_airflow, "+919812340002")
    assert call["Status"] == "completed"


def test_add_connection_form_has_the_exotel_fields(page: Any, local_airflow: LocalAirflow):
    page.goto(f"{local_airflow.url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("combobox").first.fill("Exotel")
    page.keyboard.press("Enter")
    dialog.locator("label", has_text="API token").wait_for()
    for relabelled in ("API key", "API token", "Base URL override (optional)"):
        assert dialog.locator("label", has_text=relabelled).count() == 1, relabelled
    extra = dialog.get_by_text("Extra Fields", exact=True).first
    if not dialog.locator("#element_account_sid").is_visible():
        extra.click()
    dialog.locator("#element_account_sid").wait_for(state="visible")
    for label in ("Account SID", "Region", "Default caller ID (ExoPhone)", "Request timeout (seconds)"):
        assert dialog.locator("label", has_text=label).count() == 1, label
    dialog.locator("#element_account_sid").scroll_into_view_if_needed()
    shot(page, "05-exotel-connection-form", docs_image="exotel-connection-form.png")


def _run_ids(api: AirflowApi) -> set[str]:
    answer = api.request("GET", f"/dags/{ON_DEMAND}/dagRuns", params={"limit": 100})
    return {run["dag_run_id"] for run in answer.json()["dag_runs"]}
