"""Check the built distributions: the wheel holds the package and its ``py.typed``, and nothing else.

Usage: ``python -m tools.check_package DIST_DIR`` (run by ``make package-check`` after ``python -m build``).
"""

from __future__ import annotations

import sys
import tarfile
import zipfile
from pathlib import Path

PACKAGE = "exotel_provider"
REQUIRED_IN_WHEEL = (
    f"{PACKAGE}/__init__.py",
    f"{PACKAGE}/py.typed",
    f"{PACKAGE}/provider_info.py",
    f"{PACKAGE}/notifications/exotel.py",
    f"{PACKAGE}/simulator/server.py",
)
REQUIRED_IN_SDIST = ("pyproject.toml", "README.md", f"{PACKAGE}/py.typed")


def wheel_problems(wheel: Path) -> list[str]:
    """What is missing from, or should not be in, the wheel."""
    names = zipfile.ZipFile(wheel).namelist()
    problems = [f"{wheel.name} lacks {name}" for name in REQUIRED_IN_WHEEL if name not in names]
    top_levels = {name.split("/", 1)[0] for name in names}
    strays = sorted(top for top in top_levels if top != PACKAGE and not top.endswith(".dist-info"))
    problems += [f"{wheel.name} holds {top}/ (only {PACKAGE}/ belongs in it)" for top in strays]
    entry_points = next((name for name in names if name.endswith(".dist-info/entry_points.txt")), None)
    if (
        entry_points is None
        or "apache_airflow_provider" not in zipfile.ZipFile(wheel).read(entry_points).decode()
    ):
        problems.append(f"{wheel.name} does not register the apache_airflow_provider entry point")
    return problems


def sdist_problems(sdist: Path) -> list[str]:
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    return [f"{sdist.name} lacks {name}" for name in REQUIRED_IN_SDIST if name not in names]


def main(dist_dir: str) -> int:
    folder = Path(dist_dir)
    wheels, sdists = sorted(folder.glob("*.whl")), sorted(folder.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"expected one wheel and one sdist in {folder}, found {len(wheels)} and {len(sdists)}")
        return 1
    problems = wheel_problems(wheels[0]) + sdist_problems(sdists[0])
    for problem in problems:
        print(problem)
    if not problems:
        count = len(zipfile.ZipFile(wheels[0]).namelist())
        print(f"{wheels[0].name}: {count} files, {PACKAGE}/ and its py.typed only; {sdists[0].name}: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "dist"))
