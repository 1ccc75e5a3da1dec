"""The benchmark table: rows, verdicts against goals, the machine header, markdown rendering.

Every row carries four strings (``name``, ``value``, ``goal``, ``verdict``), the same fields as the
``Row`` of ``tests/benchmarks/timelines.py``, so ``__main__`` can put both kinds in one table.
A verdict is ``met``, ``missed by X%`` (how far the value is from the goal, relative to the
goal), or ``not run: <reason>`` when a row could not be measured on this machine.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

__all__ = [
    "MEASURED",
    "NO_GOAL",
    "AnyRow",
    "Row",
    "at_least",
    "at_most",
    "header",
    "machine_info",
    "not_run",
    "render",
]


NO_GOAL = "none set"  # issue 4 asks for the number, not for a level
MEASURED = "measured"


@dataclass(frozen=True, slots=True)
class Row:
    name: str
    value: str
    goal: str
    verdict: str


class AnyRow(Protocol):
    """A row of any benchmark module: the four string fields, read by name."""

    @property
    def name(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def goal(self) -> str: ...
    @property
    def verdict(self) -> str: ...


def at_least(value: float, goal: float) -> str:
    """Verdict for a value that should reach ``goal`` (throughput, ratio)."""
    if value >= goal:
        return "met"
    return f"missed by {(goal - value) / goal * 100:.0f}%"


def at_most(value: float, goal: float) -> str:
    """Verdict for a value that should stay under ``goal`` (latency, memory)."""
    if value <= goal:
        return "met"
    return f"missed by {(value - goal) / goal * 100:.0f}%"


def not_run(name: str, goal: str, reason: str) -> Row:
    return Row(name, "-", goal, f"not run: {reason}")


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(rows: list[AnyRow], head: str) -> str:
    """One markdown table (with the machine header line above it)."""
    lines = [head, "", "| Measurement | Value | Goal | Verdict |", "|---|---|---|---|"]
    for row in rows:
        cells = (row.name, row.value, row.goal, row.verdict)
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return "\n".join(lines) + "\n"


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


async def postgres_version(url: str) -> str:
    import asyncpg

    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"unreachable ({type(exc).__name__})"
    try:
        version = await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()
    return str(version).split(" ", 1)[0]


def machine_info(pg: str | None) -> dict[str, str]:
    info = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": str(os.cpu_count() or 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    if pg is not None:
        info["postgresql"] = pg
    return info


async def header(pg_url: str | None) -> str:
    pg = await postgres_version(pg_url) if pg_url else None
    info = machine_info(pg)
    parts = [
        info["date"],
        f"{info['cpu']}, {info['cores']} cores",
        f"Python {info['python']} ({sys.implementation.name})",
        f"SQLite {info['sqlite']}",
    ]
    if "postgresql" in info:
        parts.append(f"PostgreSQL {info['postgresql']}")
    return "Plein benchmarks: " + "; ".join(parts)
