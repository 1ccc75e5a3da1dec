"""Database setup: one TortoiseContext per app (two nodes fit in one interpreter) and migrations."""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.context import TortoiseContext
from tortoise.migrations.executor import MigrationExecutor

__all__ = ["open_database", "tortoise_config"]

APP = "models"


class PooledConnection(asyncpg.Connection):  # type: ignore[misc]
    """A pooled PostgreSQL connection that is not reset on its way back to the pool.

    asyncpg's pool sends ``SELECT pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL``
    each time a connection is released: one more round trip for every query, since tortoise
    takes a connection per query. The node's pooled connections hold no such state (LISTEN has a
    connection of its own, node/workers.py; no advisory locks, cursors or SET), and an open
    transaction is still rolled back by asyncpg on release. Measured on the home timeline: one
    round trip fewer for each of its five queries.
    """

    def get_reset_query(self) -> str:
        return ""


def connection_config(db_url: str) -> dict[str, Any]:
    """The connection as tortoise takes it; on PostgreSQL with the two settings above and below.

    ``plan_cache_mode = force_custom_plan``: asyncpg prepares every statement, and after five
    runs PostgreSQL may switch to a generic plan made without the parameters' values. For the
    home timeline that plan reads the wrong way (12-20 ms against 3-4 ms at 1M posts, seen in
    the server's log); planning each query with its values costs a fraction of a millisecond.
    """
    config = expand_db_url(db_url)
    if config["engine"] == "tortoise.backends.asyncpg":
        credentials = config["credentials"]
        credentials["connection_class"] = PooledConnection
        credentials["server_settings"] = {
            **credentials.get("server_settings", {}),
            "plan_cache_mode": "force_custom_plan",
        }
    return config


def tortoise_config(db_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": connection_config(db_url)},
        "apps": {
            APP: {
                "models": ["node.models"],
                "default_connection": "default",
                "migrations": "node.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def open_database(db_url: str) -> TortoiseContext:
    """Connect, apply pending migrations, and return the context (the caller enters it)."""
    ctx = TortoiseContext()
    config = tortoise_config(db_url)
    with ctx:
        await ctx.init(config=config)
        try:
            if db_url.startswith("sqlite"):
                conn = ctx.db()
                await conn.execute_script("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;")
            executor = MigrationExecutor(ctx.db(), config["apps"])
            await executor.migrate()
        except BaseException:
            await ctx.close_connections()
            raise
    return ctx
