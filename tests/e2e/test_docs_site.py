"""The documentation site as a reader meets it: built with ``mkdocs build --strict`` (the `docs`
extra), served over HTTP, and read in headless Chromium (Debian's, driven by Playwright): the home
page, a how-to and a reference page reached through the navigation, then every page the site links
to, each link's anchor, and each picture."""

from __future__ import annotations

import functools
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urlparse

import pytest

from tests.e2e.test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PAGE_TIMEOUT_MS = 30_000


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def site_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The site built strictly into a temporary folder and served on a free local port."""
    site = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": str(Path(sys.executable).parent)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stdout[-4000:] + build.stderr[-4000:]
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("no /usr/bin/chromium: run `make setup-e2e` (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1400, "height": 1000},
        )
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        context.route("**/*", _only_local)  # the site must stand on its own: nothing from elsewhere
        try:
            yield context.new_page()
        finally:
            context.close()


def _only_local(route: Any) -> None:
    if urlparse(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort()


def page_path(markdown: Path) -> str:
    """Where MkDocs serves a page: ``docs/how-to/sms.md`` at ``how-to/sms/``."""
    relative = markdown.relative_to(ROOT / "docs").with_suffix("")
    return "" if relative.name == "index" else f"{relative.as_posix()}/"


def open_page(page: Any, url: str) -> None:
    answer = page.goto(url, wait_until="domcontentloaded")
    assert answer is not None and answer.status == 200, f"{url}: {answer and answer.status}"


def follow_nav(page: Any, title: str) -> str:
    """Click the navigation entry ``title``; the URL of the page it opens, which has that title."""
    page.locator("nav.md-nav--primary a.md-nav__link", has_text=title).first.click()
    page.wait_for_load_state("domcontentloaded")
    assert title in page.locator("article h1").first.inner_text()
    return str(page.url)


def test_the_navigation_leads_from_home_to_a_how_to_and_a_reference_page(site_url: str, page: Any):
    open_page(page, site_url)
    assert page.locator("article h1").first.inner_text().startswith("airflow-provider-exotel")
    assert "/how-to/troubleshooting/" in follow_nav(page, "Troubleshooting")
    assert page.locator("article h3", has_text="ExotelRateLimitError").count() == 1
    url = follow_nav(page, "Errors")
    assert "/reference/errors/" in url
    # mkdocstrings rendered the docstrings: the class and what it says
    assert page.locator("article", has_text="Root of every error this provider raises").count() == 1
    assert "/tutorial/" in follow_nav(page, "Tutorial")


def test_every_link_and_anchor_of_the_site_leads_somewhere(site_url: str, page: Any):
    to_visit, seen, anchors = [site_url], set(), []
    while to_visit:
        url = to_visit.pop()
        if url in seen:
            continue
        seen.add(url)
        open_page(page, url)
        broken_images = page.eval_on_selector_all(
            "article img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
        )
        assert not broken_images, f"{url}: {broken_images}"
        for link in page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)"):
            target, fragment = urldefrag(link)
            if not target.startswith(site_url) or not target.endswith("/"):
                continue  # elsewhere, or a file (an image, the search index)
            to_visit.append(target)
            if fragment:
                anchors.append((url, target, fragment))
    assert seen == {site_url + page_path(md) for md in (ROOT / "docs").rglob("*.md")}
    for source, target, fragment in anchors:
        if page.url != target:
            open_page(page, target)
        found = page.evaluate("id => document.getElementById(decodeURIComponent(id)) !== null", fragment)
        assert found, f"{source} links to {target}#{fragment}, which has no such anchor"


def test_the_architecture_page_has_its_mermaid_diagram(site_url: str):
    """Superfences hands the diagram to Material, whose script renders it in the reader's browser
    (it loads Mermaid from a CDN, which this offline test blocks): the page holds the diagram."""
    with urllib.request.urlopen(site_url + "explanation/architecture/", timeout=10) as answer:
        html = answer.read().decode()
    assert '<pre class="mermaid"><code>flowchart TB' in html
