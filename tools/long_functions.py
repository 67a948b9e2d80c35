"""List functions longer than a limit (default 80 lines, decorators and docstring included).

    python -m tools.long_functions [--limit 80] [paths ...]      # default: exotel_provider

Exits 1 when it finds any, so it can guard a tree.
"""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator
from pathlib import Path

DEFAULT_LIMIT = 80


def long_functions(path: Path, limit: int) -> Iterator[tuple[str, int, str, int]]:
    """(file, first line, qualified name, length) of each function in ``path`` over ``limit`` lines."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))

    def visit(node: ast.AST, prefix: str) -> Iterator[tuple[str, int, str, int]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                name = f"{prefix}{child.name}"
                if not isinstance(child, ast.ClassDef):
                    first = min([child.lineno, *(d.lineno for d in child.decorator_list)])
                    length = (child.end_lineno or child.lineno) - first + 1
                    if length > limit:
                        yield str(path), first, name, length
                yield from visit(child, f"{name}.")

    yield from visit(tree, "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=["exotel_provider"])
    parser.add_argument("--limit", type=int, default=DEFAULT_LIMIT)
    args = parser.parse_args(argv)
    files = sorted(
        file for root in map(Path, args.paths) for file in ([root] if root.is_file() else root.rglob("*.py"))
    )
    found = [entry for file in files for entry in long_functions(file, args.limit)]
    for file, line, name, length in found:
        print(f"{file}:{line}: {name} is {length} lines")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
