"""The layers, read from the code's imports (all of them: module level, in functions, TYPE_CHECKING).

Data flows one way: DAG -> adapter -> feature -> client -> HTTP. The pure domain (calls/) and the
features (placement/, watching/, campaigns/, paging/) import no Airflow; the transport (client/)
imports no Airflow either; adapters (hooks/, operators/, sensors/, triggers/, notifications/) may import
everything but the simulator; the simulator imports nothing of the package outside itself.
CONTRIBUTING.md explains the same rules in words.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "exotel_provider"

ADAPTERS = {"hooks", "operators", "sensors", "triggers", "notifications"}
SHARED = {"exotel_provider", "errors"}
"""The package root (its version) and the error hierarchy: every layer may use them."""

MAY_IMPORT: dict[str, set[str]] = {
    "calls": {"calls"} | SHARED,
    "client": {"client", "calls", "sms"} | SHARED,
    "sms": {"sms", "calls"} | SHARED,
    "placement": {"placement", "calls", "client"} | SHARED,
    "watching": {"watching", "calls", "sms", "client"} | SHARED,
    "campaigns": {"campaigns", "calls", "sms", "client", "placement", "watching"} | SHARED,
    "paging": {"paging", "calls", "client", "watching"} | SHARED,
    "simulator": {"simulator"},
}
"""Which parts of the package each layer may import (adapters and the root modules: everything but
the simulator)."""

NO_AIRFLOW = {"sms", "calls", "client", "placement", "watching", "campaigns", "paging"}



def imports_of(path: Path) -> set[str]:
    """Every absolute module name ``path`` imports (``from x import y`` gives ``x``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: relative import; the package uses absolute imports"
            names.add(node.module or "")
    return names


def layer_of(path: Path, root: Path) -> str:
    relative = path.relative_to(root)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def package_part(module: str) -> str | None:
    """``exotel_provider.calls.model`` -> ``calls``; the root package -> ``exotel_provider``."""
    parts = module.split(".")
    if parts[0] != "exotel_provider":
        return None
    return parts[1] if len(parts) > 1 else "exotel_provider"


def breaches(path: Path, root: Path = PACKAGE) -> set[tuple[str, str]]:
    """(file, imported module) for each import of ``path`` (in the package at ``root``) its layer may
    not make."""
    layer = layer_of(path, root)
    found = set()
    for module in imports_of(path):
        part = package_part(module)
        if part is not None and part != layer:
            allowed = MAY_IMPORT.get(layer)
            if (allowed is not None and part not in allowed) or part == "simulator":
                found.add(module)
        elif part is None and layer in NO_AIRFLOW and module.split(".")[0] == "airflow":
            found.add(module)
    return {(str(path.relative_to(root)), module) for module in found}


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_every_layer_imports_only_what_it_may():
    found = set().union(*(breaches(path) for path in MODULES))
    assert found == set()


@pytest.mark.parametrize(
    ("file", "source", "breach"),
    [
        ("calls/model.py", "from airflow.sdk import BaseHook\n", "airflow.sdk"),
        ("calls/model.py", "from exotel_provider.client import ExotelClient\n", "exotel_provider.client"),
        ("client/settings.py", "def f():\n    import airflow\n", "airflow"),
        ("placement/guard.py", "import airflow.models\n", "airflow.models"),
        ("campaigns/placing.py", "from airflow.sdk import ObjectStoragePath\n", "airflow.sdk"),
        ("paging/incidents.py", "from exotel_provider.hooks.exotel import ExotelHook\n", "exotel_provider.hooks.exotel"),
        ("watching/watcher.py", "from exotel_provider.triggers.exotel import X\n", "exotel_provider.triggers.exotel"),
        ("simulator/app.py", "from exotel_provider.calls import Call\n", "exotel_provider.calls"),
        ("hooks/exotel.py", "from exotel_provider.simulator import ExotelSimulator\n", "exotel_provider.simulator"),
    ],
)
def test_a_forbidden_import_is_caught(tmp_path, file, source, breach):
    module = tmp_path / file
    module.parent.mkdir(parents=True)
    module.write_text(source)
    assert breaches(module, tmp_path) == {(file, breach)}


def test_adapters_may_import_the_features(tmp_path):
    module = tmp_path / "operators" / "exotel.py"
    module.parent.mkdir()
    module.write_text(
        "from airflow.sdk import BaseOperator\nfrom exotel_provider.placement import reconciliation\n"
        "from exotel_provider.watching.registry import shared_call_watcher\n"
    )
    assert breaches(module, tmp_path) == set()
