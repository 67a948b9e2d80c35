"""The ```python and ```bash blocks of the README and of the docs site's pages, with what their
markers say.

A marker is an HTML comment on the line right before a block (invisible when rendered, visible in
the source): ``<!-- snippet: OPTION[, OPTION...] (why) -->``, or ``<!-- not run: REASON -->``, the
same as ``<!-- snippet: not-run (REASON) -->``. Options:

- ``not-run``: the block cannot run as is (the reason in parentheses is required);
- ``name=NAME``: a stable name (otherwise ``<section-slug>-<n>``, n counting blocks of the section);
- ``file=PATH``: the block is a file of the user's project, written to PATH before anything runs
  (a DAG under ``dags/`` is also executed; a ``tests/test_*.py`` file is run with pytest);
- ``background``: a long-running command (a server): started, checked, stopped;
- ``fresh-home``: run with a new, empty AIRFLOW_HOME instead of a migrated one.

A block without a marker runs: a Python block is executed with ``simulator`` bound to a running
Exotel simulator; a bash block runs in ``bash -euo pipefail``. Port 8765 in a block means the
simulator the test runs (on a free port).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

LANGUAGES = ("python", "bash")
OTHER_SPELLINGS = ("py", "python3", "pycon", "sh", "shell", "console", "zsh")
"""Code the runner would miss: the README spells these ``python`` or ``bash``."""
OPTIONS = ("not-run", "name", "file", "background", "fresh-home")
FENCE = re.compile(r"^```\s*([\w-]*)\s*$")
MARKER = re.compile(r"^<!--\s*snippet:\s*(?P<spec>.*?)\s*-->\s*$")
NOT_RUN_MARKER = re.compile(r"^<!--\s*not[ -]run\s*:?\s*(?P<reason>.*?)\s*-->\s*$")
HEADING = re.compile(r"^#{1,6}\s+(?P<title>.+?)\s*$")


class SnippetMarkerError(ValueError):
    """A marker the runner does not understand: fix the page."""


@dataclass(frozen=True)
class Snippet:
    name: str
    language: str
    code: str
    line: int
    options: dict[str, str] = field(default_factory=dict)
    reason: str = ""
    source: str = "README.md"
    """The file the block is in, relative to the repository root."""

    @property
    def where(self) -> str:
        """``docs/tutorial.md:42``: where to look when the block fails."""
        return f"{self.source}:{self.line}"

    @property
    def test_id(self) -> str:
        return f"{self.source}:{self.name}"

    @property
    def runs(self) -> bool:
        return "not-run" not in self.options

    @property
    def file(self) -> str | None:
        return self.options.get("file")

    @property
    def is_pytest_file(self) -> bool:
        return self.file is not None and Path(self.file).name.startswith("test_")


def slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def parse_marker(spec: str, line: int, source: str = "README.md") -> tuple[dict[str, str], str]:
    """``"file=dags/x.py, fresh-home (why)"`` -> ({"file": "dags/x.py", "fresh-home": ""}, "why")."""
    reason = ""
    match = re.search(r"\((?P<reason>.*)\)\s*$", spec)
    if match:
        reason, spec = match.group("reason").strip(), spec[: match.start()]
    options: dict[str, str] = {}
    for token in filter(None, (t.strip() for t in re.split(r"[,\s]+", spec))):
        key, _, value = token.partition("=")
        if key not in OPTIONS:
            raise SnippetMarkerError(f"{source}:{line}: unknown snippet option {key!r} (known: {OPTIONS})")
        options[key] = value
    if "not-run" in options and not reason:
        raise SnippetMarkerError(f"{source}:{line}: a not-run snippet must say why, in parentheses")
    return options, reason


def snippets(markdown: str, source: str = "README.md") -> list[Snippet]:
    """Every python and bash block of ``markdown`` (the text of ``source``), in order."""
    lines = markdown.splitlines()
    found: list[Snippet] = []
    section = "intro"
    counts: dict[str, int] = {}
    index = 0
    while index < len(lines):
        text = lines[index]
        heading = HEADING.match(text)
        if heading:
            section = slug(heading.group("title"))
        fence = FENCE.match(text)
        if not fence:
            index += 1
            continue
        end = next((i for i in range(index + 1, len(lines)) if lines[i].strip() == "```"), None)
        if end is None:
            raise SnippetMarkerError(f"{source}:{index + 1}: unclosed code block")
        language = fence.group(1)
        if language in OTHER_SPELLINGS:
            raise SnippetMarkerError(f"{source}:{index + 1}: write ```python or ```bash, not ```{language}")
        if language in LANGUAGES:
            options, reason = _marker_before(lines, index, source)
            counts[section] = counts.get(section, 0) + 1
            name = options.get("name") or f"{section}-{counts[section]}"
            code = "\n".join(lines[index + 1 : end]) + "\n"
            found.append(Snippet(name, language, code, index + 2, options, reason, source))
        index = end + 1
    names = [snippet.name for snippet in found]
    duplicates = {name for name in names if names.count(name) > 1}
    if duplicates:
        raise SnippetMarkerError(f"{source}: snippet names used twice: {sorted(duplicates)}")
    return found


def _marker_before(lines: list[str], fence_index: int, source: str) -> tuple[dict[str, str], str]:
    previous = fence_index - 1
    while previous >= 0 and not lines[previous].strip():
        previous -= 1
    if previous < 0:
        return {}, ""
    not_run = NOT_RUN_MARKER.match(lines[previous])
    if not_run:
        if not not_run.group("reason"):
            raise SnippetMarkerError(
                f"{source}:{previous + 1}: a not-run block must say why: <!-- not run: REASON -->"
            )
        return {"not-run": ""}, not_run.group("reason")
    marker = MARKER.match(lines[previous])
    if marker is None:
        return {}, ""
    return parse_marker(marker.group("spec"), previous + 1, source)
