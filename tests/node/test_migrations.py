"""The migrations on disk describe the models exactly: a model change without its migration fails.

tortoise's own autodetector (what ``tortoise makemigrations`` runs) compares the state the
migrations build with the models; it must find nothing to write.
"""

from __future__ import annotations

from pathlib import Path

from tortoise.migrations.autodetector import MigrationAutodetector

from node.db import open_database, tortoise_config


async def test_given_the_models_when_compared_with_the_migrations_then_nothing_to_write(
    tmp_path: Path,
) -> None:
    ctx = await open_database(f"sqlite://{tmp_path / 'db.sqlite3'}")
    with ctx:
        try:
            config = tortoise_config("sqlite://:memory:")["apps"]
            writers = await MigrationAutodetector(ctx.apps, config).changes()
            pending = [
                f"{type(op).__name__} {getattr(op, 'model_name', '')}.{getattr(op, 'name', '')}"
                for writer in writers
                for op in writer.operations
            ]
        finally:
            await ctx.close_connections()
    assert pending == [], f"models changed without a migration in node/migrations: {pending}"
