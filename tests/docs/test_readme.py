"""The README's and the docs site's examples are tests: every ```python and ```bash block of
README.md and of every page under docs/ is extracted and run, unless it is marked not-run with a reason.

The marker convention is described in readme_snippets.py and in docs/explanation/testing.md. One simulator
and one migrated AIRFLOW_HOME serve the whole module: each bash block gets a copy of that home
(or an empty one with ``fresh-home``), so blocks never see each other's connections.
Bash blocks run in a temporary project folder holding a copy of ``dags/`` and every page's
``file=`` blocks, with this Python's bin first on PATH, and these variables: AIRFLOW_HOME,
AIRFLOW__CORE__DAGS_FOLDER (the project's dags/), EXOTEL_API_KEY / EXOTEL_API_TOKEN /
EXOTEL_ACCOUNT_SID (the simulator's credentials), EXOTEL_POLL_SECONDS=2.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from readme_snippets import Snippet, SnippetMarkerError, snippets

from exotel_provider.simulator.server import ExotelSimulator

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_PORT = "8765"
README_MAX_CHARACTERS = 10_000
"""The README keeps what a visitor needs on a screen or two; the rest lives in docs/."""


def documents() -> list[Path]:
    """README.md and every Markdown page of the docs site."""
    return [README, *sorted(DOCS.rglob("*.md"))]


def all_snippets() -> list[Snippet]:
    found: list[Snippet] = []
    for path in documents():
        found.extend(snippets(path.read_text(), source=str(path.relative_to(ROOT))))
    return found


SNIPPETS = all_snippets()
RUNNABLE = [snippet for snippet in SNIPPETS if snippet.runs]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def readme_simulator() -> Iterator[ExotelSimulator]:
    with ExotelSimulator(port=free_port(), time_scale=60) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def migrated_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("airflow-home")
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"], env=env, check=True, capture_output=True
    )
    return home


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A user's project: the example DAGs plus every ``file=`` block of the README and the pages."""
    folder = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "dags", folder / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    for snippet in SNIPPETS:
        if snippet.file:
            path = folder / snippet.file
            assert not path.exists(), f"{snippet.where}: another block already writes {snippet.file}"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(snippet.code)
    return folder


def shell_env(home: Path, project: Path, simulator: ExotelSimulator) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("AIRFLOW_CONN_")}
    env.update(
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        PYTHONPATH=str(ROOT),
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(project / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        EXOTEL_API_KEY=simulator.api_key,
        EXOTEL_API_TOKEN=simulator.api_token,
        EXOTEL_ACCOUNT_SID=simulator.account_sid,
        EXOTEL_POLL_SECONDS="2",
    )
    return env


def home_for(snippet: Snippet, migrated_home: Path, tmp_path: Path) -> Path:
    home = tmp_path / "airflow-home"
    if "fresh-home" in snippet.options:
        home.mkdir()
    else:
        shutil.copytree(migrated_home, home)
    return home


def run_bash(snippet: Snippet, env: dict[str, str], cwd: Path, port: int) -> None:
    code = snippet.code.replace(README_PORT, str(port))
    if "background" in snippet.options:
        run_in_background(code, env, cwd, port)
        return
    run_command(snippet, ["bash", "-euo", "pipefail", "-c", code], env, cwd)


def run_command(snippet: Snippet, command: list[str], env: dict[str, str], cwd: Path) -> str:
    """Run ``command`` for ``snippet``; its output, or a failure naming the page and line."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, f"{snippet.where}\n{done.stdout[-6000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def run_in_background(code: str, env: dict[str, str], cwd: Path, port: int) -> None:
    """A server command: it must answer on ``port`` within 60 s; it is stopped afterwards."""
    process = subprocess.Popen(
        ["bash", "-c", f"exec {code.strip()}"],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/_simulator/health", timeout=2
                ) as answer:
                    assert answer.status == 200
                    return
            except OSError:
                time.sleep(0.3)
        raise AssertionError(f"the command did not answer on port {port}")
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=30)
        assert "AIRFLOW_CONN_EXOTEL_DEFAULT=" in output, output


def run_python(snippet: Snippet, simulator: ExotelSimulator) -> None:
    namespace: dict[str, Any] = {
        "__name__": f"readme_{snippet.name.replace('-', '_')}",
        "simulator": simulator,
    }
    try:
        with mock.patch.dict(os.environ):  # a block that sets a connection leaves none to the next
            exec(compile(snippet.code, snippet.where, "exec"), namespace)
    finally:
        simulator.reset()


def run_pytest_file(snippet: Snippet, env: dict[str, str], project: Path) -> None:
    assert snippet.file is not None
    output = run_command(
        snippet, [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", snippet.file], env, project
    )
    assert " passed" in output and " failed" not in output


@pytest.mark.integration  # the blocks talk to a simulator over HTTP, and some start their own
@pytest.mark.timeout(420)  # a block run from a fresh Airflow home migrates its database first (up to 400 s)
@pytest.mark.parametrize("snippet", RUNNABLE, ids=[snippet.test_id for snippet in RUNNABLE])
def test_doc_snippet_runs(
    snippet: Snippet,
    readme_simulator: ExotelSimulator,
    migrated_home: Path,
    project: Path,
    tmp_path: Path,
) -> None:
    if snippet.language == "python" and not snippet.is_pytest_file:
        run_python(snippet, readme_simulator)
        return
    home = home_for(snippet, migrated_home, tmp_path)
    env = shell_env(home, project, readme_simulator)
    if snippet.is_pytest_file:
        env.pop("AIRFLOW__CORE__DAGS_FOLDER")  # the test names its DAG folder itself
        run_pytest_file(snippet, env, project)
        return
    port = free_port() if "background" in snippet.options else readme_simulator.port
    try:
        run_bash(snippet, env, project, port)
    finally:
        readme_simulator.reset()


def test_blocks_that_do_not_run_say_why() -> None:
    not_run = [snippet for snippet in SNIPPETS if not snippet.runs]
    assert all(snippet.reason for snippet in not_run), [s.where for s in not_run if not s.reason]


def test_the_pages_have_the_examples_a_new_user_copies() -> None:
    files = {snippet.file: snippet.source for snippet in SNIPPETS if snippet.file}
    assert files.get("dags/payment_reminder.py") == "docs/tutorial.md"
    assert files.get("tests/test_payment_reminder.py") == "docs/tutorial.md"
    assert len(RUNNABLE) >= 10
    readme = [snippet for snippet in SNIPPETS if snippet.source == "README.md"]
    assert any(snippet.runs and snippet.language == "python" for snippet in readme)


def test_the_readme_is_short() -> None:
    assert len(README.read_text()) <= README_MAX_CHARACTERS


def test_unmarked_blocks_run_and_bad_markers_fail_loudly() -> None:
    markdown = "\n".join(
        [
            "## Setup",
            "```python",
            "x = 1",
            "```",
            "<!-- snippet: not-run (needs a phone) -->",
            "```bash",
            "call-me",
            "```",
            "```text",
            "not code",
            "```",
        ]
    )
    first, second = snippets(markdown)
    assert (first.name, first.runs, first.code) == ("setup-1", True, "x = 1\n")
    assert (second.name, second.runs, second.reason) == ("setup-2", False, "needs a phone")
    with pytest.raises(SnippetMarkerError, match="unknown snippet option"):
        snippets("<!-- snippet: skip -->\n```bash\nls\n```")
    with pytest.raises(SnippetMarkerError, match="must say why"):
        snippets("<!-- snippet: not-run -->\n```bash\nls\n```")
    with pytest.raises(SnippetMarkerError, match="not ```sh"):
        snippets("```sh\nls\n```")
    [marked] = snippets("<!-- not run: needs a phone -->\n```python\ncall()\n```", source="docs/x.md")
    assert (marked.runs, marked.reason, marked.where) == (False, "needs a phone", "docs/x.md:3")
    with pytest.raises(SnippetMarkerError, match=r"docs/x.md:1: a not-run block must say why"):
        snippets("<!-- not run: -->\n```python\ncall()\n```", source="docs/x.md")
