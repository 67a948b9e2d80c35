"""No function in the package is over 80 lines (tools/long_functions.py lists them)."""

from __future__ import annotations

from pathlib import Path

from tools.long_functions import DEFAULT_LIMIT, long_functions

PACKAGE = Path(__file__).resolve().parents[1] / "exotel_provider"


def test_no_function_in_the_package_is_over_80_lines():
    found = [entry for path in sorted(PACKAGE.rglob("*.py")) for entry in long_functions(path, DEFAULT_LIMIT)]
    assert found == []


def test_a_long_function_is_found(tmp_path):
    body = "\n".join(f"    x{index} = {index}" for index in range(DEFAULT_LIMIT))
    module = tmp_path / "module.py"
    module.write_text(f"class Holder:\n    def method(self):\n    {body.replace(chr(10), chr(10) + '    ')}\n")
    assert [(name, length) for _, _, name, length in long_functions(module, DEFAULT_LIMIT)] == [
        ("Holder.method", DEFAULT_LIMIT + 1)
    ]
