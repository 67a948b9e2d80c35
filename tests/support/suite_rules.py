"""Rules every test gets without asking, so that a new test is fast and safe by default.

- ``e2e``: every test under ``tests/e2e/`` (a real Airflow) is marked ``e2e`` and gets a longer
  time limit (``E2E_TIMEOUT``); the others have the ``timeout`` of pyproject.toml.
- ``airflow``: a test whose module, or one of whose fixtures, imports Airflow (directly or through
  the package, ``tests/support`` or ``tools``; a command running a module counts too:
  ``[sys.executable, "-m", "exotel_provider.simulator.run_dag", ...]``) is marked ``airflow``.
  Only those are re-run on the oldest supported Airflow (not the README's commands, ``tests/docs/``:
  those of the default install; in ``tests/reliability/`` only its whole DAG runs): the rest (the domain, the client, the features, the simulator)
  run no Airflow code, so the Airflow version cannot change their outcome.
- ``slow``: whole DAG runs and the README's commands (``tests/dags/``, ``tests/docs/``, and any
  module using ``tests.support.airflow_runs``), left out of ``make test-fast`` (they still run in
  ``make test``).
- Cleanup: SIGTERM and SIGHUP stop the run like Ctrl-C does (fixture teardowns run), and any
  server process group still running when the session ends is stopped (``tools/process_groups``).
"""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import textwrap
from pathlib import Path

import pytest

from tools import process_groups

ROOT = Path(__file__).resolve().parents[2]
E2E_FOLDER = ROOT / "tests" / "e2e"
E2E_TIMEOUT = 1800.0
"""Seconds per end-to-end test: the first test of a module also starts its deployment."""
README_TESTS = ROOT / "tests" / "docs"
"""The README's commands are those of the default install (Airflow 3.3.2): not re-run on the oldest."""
RELIABILITY_TESTS = ROOT / "tests" / "reliability"
"""The fault matrix and the bad-input checks judge placement, validation and secrets handling (no
Airflow): re-run on the oldest Airflow are only its whole DAG runs (``tests.support.airflow_runs``)."""
SLOW_FOLDERS = (ROOT / "tests" / "dags", ROOT / "tests" / "docs")
LOCAL_PACKAGES = frozenset({"exotel_provider", "tests", "dags", "tools", "bench"})
FIXTURE_MODULES = frozenset({"pytest_plugin.py", "conftest.py"})
"""Modules of fixtures: judged fixture by fixture (their top-level imports, plus the fixtures a test
uses), not by every function in them."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "airflow: runs Airflow code (set from the imports, tests/support/suite_rules.py); "
        "re-run on the oldest supported Airflow",
    )
    config.addinivalue_line(
        "markers", "slow: whole DAG runs, the README's commands; not in make test-fast (suite_rules.py)"
    )
    process_groups.stop_on_termination_signals()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(E2E_FOLDER):
            item.add_marker(pytest.mark.e2e)
        if item.get_closest_marker("e2e") and not item.get_closest_marker("timeout"):
            item.add_marker(pytest.mark.timeout(E2E_TIMEOUT))
        if not item.get_closest_marker("airflow") and reruns_on_the_oldest_airflow(item):
            item.add_marker(pytest.mark.airflow)
        if runs_whole_dags(item):
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Again before each test: importing Airflow may have put its own SIGTERM handler in place."""
    process_groups.stop_on_termination_signals()


def pytest_sessionfinish(session: pytest.Session) -> None:
    left = process_groups.stop_all()
    if left:
        session.config.get_terminal_writer().line(
            f"stopped servers left running: {', '.join(left)}", red=True
        )


def runs_whole_dags(item: pytest.Item) -> bool:
    """Marker ``slow``: ``tests/dags/``, ``tests/docs/``, or a module running DAGs with ``dag.test()``."""
    if any(item.path.is_relative_to(folder) for folder in SLOW_FOLDERS):
        return True
    return "tests.support.airflow_runs" in _file_imports(Path(item.path))


def reruns_on_the_oldest_airflow(item: pytest.Item) -> bool:
    """Marker ``airflow``: the test runs Airflow code whose behaviour may differ between versions."""
    if item.path.is_relative_to(README_TESTS):
        return False
    if item.path.is_relative_to(RELIABILITY_TESTS):
        return "tests.support.airflow_runs" in _file_imports(Path(item.path))
    return item_touches_airflow(item)


def item_touches_airflow(item: pytest.Item) -> bool:
    """The test's module, or the code of one of its fixtures, reaches an ``airflow`` import."""
    if file_touches_airflow(Path(item.path)):
        return True
    info = getattr(item, "_fixtureinfo", None)
    for definitions in getattr(info, "name2fixturedefs", {}).values():
        for definition in definitions:
            if fixture_touches_airflow(definition.func):
                return True
    return False


@functools.cache
def fixture_touches_airflow(func: object) -> bool:
    """A fixture's own imports (its body, and its module's top level) reach Airflow."""
    func = inspect.unwrap(func)  # type: ignore[arg-type]
    try:
        source = Path(inspect.getsourcefile(func) or "")  # type: ignore[arg-type]
        body = ast.parse(textwrap.dedent(inspect.getsource(func)))  # type: ignore[arg-type]
    except (OSError, TypeError, SyntaxError):
        return False
    if not source.is_file():
        return False
    names = _imported(body) | _top_level_imports(source)
    return any(_reaches_airflow(name) for name in names)


@functools.cache
def _top_level_imports(path: Path) -> frozenset[str]:
    return frozenset(_imported(ast.parse(path.read_text(encoding="utf-8")), top_level=True))


@functools.cache
def file_touches_airflow(path: Path) -> bool:
    """Any import in ``path`` (module level or in a function) reaches Airflow."""
    return any(_reaches_airflow(name) for name in _file_imports(path))


@functools.cache
def _reaches_airflow(name: str) -> bool:
    """``name`` is Airflow, or a local module from which an import chain reaches Airflow."""
    seen: set[Path] = set()
    pending = [name]
    while pending:
        module = pending.pop()
        if module == "airflow" or module.startswith("airflow."):
            return True
        for path in _local_files(module):
            if path not in seen:
                seen.add(path)
                pending.extend(_file_imports(path))
    return False


@functools.cache
def _local_files(module: str) -> tuple[Path, ...]:
    """The files importing ``module`` runs: its own and its packages' ``__init__.py`` (local ones only)."""
    parts = module.split(".")
    if parts[0] not in LOCAL_PACKAGES:
        return ()
    files = []
    for depth in range(1, len(parts) + 1):
        base = ROOT.joinpath(*parts[:depth])
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                files.append(candidate)
    return tuple(files)


@functools.cache
def _file_imports(path: Path) -> frozenset[str]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return frozenset()
    return frozenset(_imported(tree, top_level=path.name in FIXTURE_MODULES))


def _imported(tree: ast.AST, *, top_level: bool = False) -> set[str]:
    """Module names imported in ``tree``; ``from a import b`` gives ``a`` and ``a.b`` (b may be a module)."""
    nodes = ast.iter_child_nodes(tree) if top_level else ast.walk(tree)
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.List | ast.Tuple):
            names.update(_run_as_module(node.elts))
    return names


def _run_as_module(elements: list[ast.expr]) -> set[str]:
    """``[sys.executable, "-m", "airflow", ...]``: a command that runs a module imports it too."""
    values = [element.value if isinstance(element, ast.Constant) else None for element in elements]
    return {str(name) for flag, name in itertools.pairwise(values) if flag == "-m" and isinstance(name, str)}
