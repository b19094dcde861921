"""The house rule on size: no module of hq_qiskit over 500 lines, no function over 80 lines.

A function's length is counted as ast counts it: ``end_lineno - lineno + 1`` of its ``def``
(decorators excluded, docstring and nested functions included); methods and nested functions
are checked too. A failure names every file and function that breaks the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "hq_qiskit"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 80


def modules() -> list[Path]:
    """Every Python module of the package, sorted."""
    return sorted(PACKAGE.rglob("*.py"))


def long_functions(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    """``path:line name (N)`` for each function in ``path`` over MAX_FUNCTION_LINES lines;
    ``path`` is named relative to ``root``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            n = node.end_lineno - node.lineno + 1
            if n > MAX_FUNCTION_LINES:
                found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({n})")
    return found


def test_the_package_has_modules_to_check():
    assert len(modules()) > 50  # a wrong PACKAGE path would check nothing and pass


def test_no_module_over_500_lines():
    long = [
        f"{p.relative_to(PACKAGE.parent)} ({n} lines)"
        for p in modules()
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    ]
    assert not long, f"modules over {MAX_MODULE_LINES} lines (split them by job): {long}"


def test_no_function_over_80_lines():
    long = [f for p in modules() for f in long_functions(p)]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines (split them): {long}"


def test_the_counter_finds_a_long_function_and_skips_its_decorator(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))  # 80 + def = 81
    path = tmp_path / "long.py"
    path.write_text(f"def short():\n    pass\n\n\n@staticmethod\ndef long():\n{body}\n")
    assert long_functions(path, tmp_path) == [f"long.py:6 long ({MAX_FUNCTION_LINES + 1})"]
    path.write_text(f"@staticmethod\ndef fits():\n{body[: body.rindex(chr(10))]}\n")
    assert long_functions(path, tmp_path) == []
