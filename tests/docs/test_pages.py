"""The docs site's pages keep up with the code: every error has its entry in troubleshooting, and
the README's links into the site lead to pages that exist."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tools.docs_hooks import plain_roles

ROOT = Path(__file__).resolve().parents[2]
TROUBLESHOOTING = ROOT / "docs" / "how-to" / "troubleshooting.md"


def error_classes(module: Path) -> set[str]:
    tree = ast.parse(module.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.ClassDef)}


def test_troubleshooting_says_what_every_typed_error_means_and_what_to_do() -> None:
    page = TROUBLESHOOTING.read_text()
    headings = set(re.findall(r"^### (\w+)$", page, flags=re.M))
    roots = {"ExotelError", "ExotelAPIError"}  # explained in the page's introduction, not one by one
    assert error_classes(ROOT / "exotel_provider" / "errors.py") - roots <= headings
    for name in error_classes(ROOT / "exotel_provider" / "task_errors.py") | roots:
        assert name in page, name
    for section in re.split(r"^### ", page, flags=re.M)[1:]:
        assert "**Means:**" in section and "**Do:**" in section, section.splitlines()[0]


def test_the_readme_links_only_to_files_that_exist() -> None:
    readme = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", readme)
    assert any(target.startswith("docs/") for target in targets)
    missing = [target for target in targets if not (ROOT / target).exists()]
    assert not missing


def test_sphinx_roles_in_docstrings_show_as_code_naming_the_object() -> None:
    html = (
        "the :class:<code>~exotel_provider.placement.PlacementGuard</code>'s decision; "
        ":data:<code>exotel_provider.calls.status.REDIAL_STATUSES</code>"
    )
    assert plain_roles(html) == (
        "the <code>PlacementGuard</code>'s decision; <code>exotel_provider.calls.status.REDIAL_STATUSES</code>"
    )
