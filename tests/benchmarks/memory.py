"""Node processes for the benchmarks, and what they cost: resident memory and CPU time.

:func:`rss_kib` reads ``VmRSS`` from ``/proc/<pid>/status`` (children included);
:class:`RssSampler` keeps the peak while a burst runs; :func:`cpu_seconds` reads a process's CPU
time. The benchmarks start their nodes with ``tests/e2e/harness.Network`` on the database they
name (not the one of ``PLEIN_TEST_DATABASE``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from types import TracebackType

from tests.e2e.harness import Network

from .table import MEASURED, NO_GOAL, Row, at_most

__all__ = [
    "IDLE_GOAL_MB",
    "RssSampler",
    "cpu_seconds",
    "first_pid",
    "memory_rows",
    "rss_kib",
    "wait_idle",
]

IDLE_GOAL_MB = 150.0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children", encoding="ascii") as f:
                found += [int(c) for c in f.read().split()]
        except OSError:
            continue
    return found


def rss_kib(pid: int) -> int:
    """Resident set size of a process and all its descendants, in KiB (0 once it has ended)."""
    total = 0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    total = int(line.split()[1])
                    break
    except OSError:
        return 0
    return total + sum(rss_kib(child) for child in _children(pid))


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process (its own, children not included)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command name: state is field 3, utime 14 and stime 15 (1-based, proc(5)).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def wait_idle(pid: int, *, timeout: float = 120.0, quiet: float = 0.05) -> float:
    """Wait until the process uses less than ``quiet`` CPU-seconds in half a second; returns
    the seconds waited (how long it stayed busy)."""
    start = time.perf_counter()
    before = cpu_seconds(pid)
    while time.perf_counter() - start < timeout:
        await asyncio.sleep(0.5)
        now = cpu_seconds(pid)
        if now - before < quiet:
            return time.perf_counter() - start - 0.5
        before = now
    return time.perf_counter() - start


class RssSampler:
    """Samples a process's RSS every ``interval`` seconds while the ``async with`` block runs."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.peak_kib = max(self.peak_kib, rss_kib(self.pid))
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> RssSampler:
        self.peak_kib = rss_kib(self.pid)
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.peak_kib = max(self.peak_kib, rss_kib(self.pid))


def first_pid(network: Network) -> int:
    """The process id of a network's first node."""
    process = network.nodes[0].process
    assert process is not None
    return process.pid


def mb(kib: int) -> float:
    return kib / 1024


def memory_rows(*, idle_kib: int, peak_kib: int, database: str, load: str) -> list[Row]:
    idle, peak = mb(idle_kib), mb(peak_kib)
    return [
        Row(
            f"memory, idle node (RSS after start and one request, {database})",
            f"{idle:.0f} MB",
            f"< {IDLE_GOAL_MB:.0f} MB",
            at_most(idle, IDLE_GOAL_MB),
        ),
        Row(
            f"memory, node under load (peak RSS during {load}, {database})",
            f"{peak:.0f} MB",
            NO_GOAL,
            MEASURED,
        ),
    ]
