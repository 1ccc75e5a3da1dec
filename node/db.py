"""Database setup: one TortoiseContext per app (two nodes fit in one interpreter) and migrations."""

from __future__ import annotations

from typing import Any

from tortoise.context import TortoiseContext
from tortoise.migrations.executor import MigrationExecutor

__all__ = ["open_database", "tortoise_config"]

APP = "models"


def tortoise_config(db_url: str) -> dict[str, Any]:
    return {
        "connections": {"default": db_url},
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
