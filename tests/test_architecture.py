"""The architecture holds: imports run node -> federation -> activitystreams, never back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RANK = {"activitystreams": 0, "federation": 1, "node": 2}
# activitystreams is pure: no network, no database, no web framework.
PURE_FORBIDDEN = {"aiohttp", "quart", "tortoise", "hypercorn", "asyncpg", "socket", "urllib3"}


def imports_of(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[int, str]] = []
    for n in ast.walk(tree):
        if isinstance(n, ast.Import):
            found += [(n.lineno, a.name) for a in n.names]
        elif isinstance(n, ast.ImportFrom) and n.level == 0 and n.module:
            found.append((n.lineno, n.module))
    return found


@pytest.mark.parametrize("package", sorted(RANK))
def test_given_a_package_when_its_imports_are_read_then_none_points_upward(package: str) -> None:
    upward = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in (ROOT / package).rglob("*.py")
        for line, module in imports_of(path)
        if RANK.get(module.split(".")[0], -1) > RANK[package]
    ]
    assert upward == []


def test_given_activitystreams_when_its_imports_are_read_then_it_stays_pure() -> None:
    impure = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in (ROOT / "activitystreams").rglob("*.py")
        for line, module in imports_of(path)
        if module.split(".")[0] in PURE_FORBIDDEN
    ]
    assert impure == []


def test_given_the_models_when_their_docstrings_become_table_comments_then_no_semicolons() -> None:
    """tortoise's migration runner splits SQL on ';', and docstrings become table comments."""
    tree = ast.parse((ROOT / "node" / "models.py").read_text(encoding="utf-8"))
    bad = [
        n.name
        for n in ast.walk(tree)
        if isinstance(n, ast.ClassDef) and ";" in (ast.get_docstring(n) or "")
    ]
    assert bad == []
