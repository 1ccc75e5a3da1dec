"""A fresh node database of each kind, SQLite and PostgreSQL, opened as the node opens it.

``PLEIN_SKIP_POSTGRES=1`` (scripts/test) leaves the PostgreSQL case out, saying so.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise.backends.base.executor import EXECUTOR_CACHE

from node.db import open_database
from tests.e2e.harness import create_pg_database, drop_pg_database


@pytest.fixture(params=["sqlite", "postgres"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "postgres" and os.environ.get("PLEIN_SKIP_POSTGRES") == "1":
        pytest.skip("PLEIN_SKIP_POSTGRES=1: the PostgreSQL case is left out")
    if request.param == "postgres":
        url = await create_pg_database()
    else:
        url = f"sqlite://{tmp_path / 'db.sqlite3'}"
    # tortoise caches INSERT statements per connection name, not per dialect; one process never
    # switches dialects except here, so start each database with an empty cache
    EXECUTOR_CACHE.clear()
    ctx = await open_database(url)
    try:
        with ctx:
            yield request.param
            await ctx.close_connections()
    finally:
        if request.param == "postgres":
            await drop_pg_database(url)
