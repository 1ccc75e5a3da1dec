"""The home timeline benchmark still runs: tiny sizes on SQLite, not timed."""

from __future__ import annotations

from pathlib import Path

import pytest

from .table import Row
from .timelines import BACK_TO_BACK, Phase, run

pytestmark = pytest.mark.e2e


async def test_the_home_timeline_benchmark_runs_and_serves_full_pages(tmp_path: Path) -> None:
    # Given a tiny company: 50 people, 2,000 posts, 3 readers
    rows = await run(
        accounts=50,
        posts=2000,
        readers=3,
        requests=20,
        database="sqlite",
        workdir=tmp_path,
        phases=[Phase("short pauses", 0.05), BACK_TO_BACK],
    )

    # Then every row has a value, and no reader got an empty or failed page
    assert all(isinstance(row, Row) and row.value for row in rows)
    names = [row.name for row in rows]
    assert sum(name.startswith("home timeline p50 / p99, SQLite") for name in names) == 2
    empty = next(row for row in rows if row.name.startswith("empty or failed home pages"))
    assert empty.value == "0 of 40" and empty.verdict == "met"
    # and the SQLite file is gone afterwards
    assert not list(tmp_path.glob("timelines.sqlite3*"))
