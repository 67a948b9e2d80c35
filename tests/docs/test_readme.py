"""README.md's examples are tests: every ```python and ```bash block is extracted and run.

The marker convention is described in readme_snippets.py and in the README itself. One simulator
and one migrated AIRFLOW_HOME serve the whole module: each bash block gets a copy of that home
(or an empty one with ``fresh-home``), so blocks never see each other's connections.
Bash blocks run in a temporary project folder holding a copy of ``dags/`` and the README's
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

import pytest
from readme_snippets import Snippet, SnippetMarkerError, snippets

from exotel_provider.simulator.server import ExotelSimulator

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
README_PORT = "8765"
SNIPPETS = snippets(README.read_text())
RUNNABLE = [snippet for snippet in SNIPPETS if snippet.runs]

NOT_RUN = {
    "quick-start": "make demo / make test install virtual environments (make demo's command is "
    "tests/dags/test_reminder_demo_output.py)",
    "running-a-real-airflow-locally": "starts a whole Airflow until Ctrl-C (tests/e2e)",
    "install-from-pypi": "downloads from PyPI",
    "connection-real-exotel": "talks to the real Exotel with your credentials",
    "notifier-in-a-dag": "a fragment: the DAG's other arguments and tasks are yours",
    "deadline-alert": "Deadline Alerts need Airflow 3.3 (tests/notifications awaits the callback)",
    "placement-guard": "a fragment of an operator's execute()",
    "test-layers": "runs the test suite itself",
}
"""Blocks marked ``not-run`` in the README, by name: a new one must be added here on purpose."""


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
    """A user's project: the example DAGs plus every ``file=`` block of the README."""
    folder = tmp_path_factory.mktemp("project")
    shutil.copytree(ROOT / "dags", folder / "dags", ignore=shutil.ignore_patterns("__pycache__"))
    for snippet in SNIPPETS:
        if snippet.file:
            path = folder / snippet.file
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
    """Run ``command`` for ``snippet``; its output, or a failure naming the README line."""
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=400)
    assert done.returncode == 0, f"README.md:{snippet.line}\n{done.stdout[-6000:]}\n{done.stderr[-4000:]}"
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
        exec(compile(snippet.code, f"README.md:{snippet.line}", "exec"), namespace)
    finally:
        simulator.reset()


def run_pytest_file(snippet: Snippet, env: dict[str, str], project: Path) -> None:
    assert snippet.file is not None
    output = run_command(
        snippet, [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", snippet.file], env, project
    )
    assert " passed" in output and " failed" not in output


@pytest.mark.parametrize("snippet", RUNNABLE, ids=[snippet.name for snippet in RUNNABLE])
def test_readme_snippet_runs(
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


def test_blocks_that_do_not_run_are_the_listed_ones_and_say_why() -> None:
    not_run = {snippet.name: snippet.reason for snippet in SNIPPETS if not snippet.runs}
    assert set(not_run) == set(NOT_RUN), (
        "a README block is marked not-run: list it in NOT_RUN, or make it run"
    )
    assert all(not_run.values())


def test_the_readme_has_the_examples_a_new_user_copies() -> None:
    files = {snippet.file for snippet in SNIPPETS}
    assert {"dags/payment_reminder.py", "tests/test_payment_reminder.py"} <= files
    assert len(RUNNABLE) >= 10


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
