"""Follower migration of a Move (case move-between-nodes): isolated per follower, idempotent.

Runs the node's service on a real SQLite database in-process; no network is needed because the
old and new accounts are remote rows and a Follow to a remote account is only queued.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from node.db import open_database
from node.models import Actor, Delivery, Follow
from node.runtime import Runtime, build_runtime
from node.services import follows, moves
from node.services.accounts import create_account, ensure_instance_actor
from node.settings import Settings


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[Runtime]:
    settings = Settings(base_url="http://127.0.0.1:8123", data_dir=tmp_path)
    ctx = await open_database(f"sqlite://{tmp_path / 'db.sqlite3'}")
    runtime = build_runtime(settings, user_agent="test")
    with ctx:
        await ensure_instance_actor(runtime)
        try:
            yield runtime
        finally:
            await runtime.client.close()
            await ctx.close_connections()


async def remote(uri: str) -> Actor:
    return await Actor.create(
        uri=uri, username=uri.rsplit("/", 1)[-1], domain="hq.test", inbox=f"{uri}/inbox"
    )


async def test_move_between_nodes_one_failing_follower_does_not_stop_the_others(
    rt: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given three local followers of alice on hq, and her new account on maastricht
    old = await remote("https://hq.test/users/alice")
    new = await remote("https://maastricht.test/users/alice")
    people = []
    for name in ("bob", "carol", "dave"):
        account, _ = await create_account(rt, name)
        await account.fetch_related("actor")
        people.append(account.actor)
        await Follow.create(follower=account.actor, followee=old, uri=f"f/{name}", accepted=True)

    # When following the new account fails for follower #2 (carol) once
    real_follow = follows.follow
    failed: list[str] = []

    async def flaky(rt_: Runtime, follower: Actor, ref: str) -> Any:
        if follower.username == "carol" and not failed:
            failed.append(follower.username)
            raise TimeoutError("delivery of the Follow timed out")
        return await real_follow(rt_, follower, ref)

    monkeypatch.setattr(follows, "follow", flaky)
    failures = await moves.migrate_followers(rt, old, new)

    # Then bob and dave are moved, carol is reported and still follows the old account
    assert len(failures) == 1 and "carol" in failures[0]
    assert sorted(
        await Follow.filter(followee=new).values_list("follower__username", flat=True)
    ) == ["bob", "dave"]
    assert await Follow.filter(followee=old).values_list("follower__username", flat=True) == [
        "carol"
    ]

    # When the migration runs again (the retry)
    assert await moves.migrate_followers(rt, old, new) == []

    # Then carol is moved too, and nobody's follow was duplicated or re-sent
    assert await Follow.filter(followee=new).count() == 3
    assert await Follow.filter(followee=old).count() == 0
    sent = [orjson.loads(bytes(d.payload)) for d in await Delivery.all()]
    assert sorted(a["type"] for a in sent) == ["Follow"] * 3 + ["Undo"] * 3
    assert await moves.migrate_followers(rt, old, new) == []
    assert await Follow.filter(followee=new).count() == 3
