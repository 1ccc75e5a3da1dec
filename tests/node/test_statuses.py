"""Statuses read in one query (services.statuses) on SQLite and PostgreSQL: the same values the
models give, in the order asked, with the viewer's like and share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from node.models import Actor, Like, Post, Share
from node.services.statuses import status_rows


async def test_given_posts_when_read_as_rows_then_the_models_values_in_the_order_asked(
    database: str,
) -> None:
    # Given an author who moved here from another node, and three posts
    author = await Actor.create(
        uri="https://hq.test/users/ann",
        username="ann",
        domain="hq.test",
        name="Ann",
        inbox="https://hq.test/users/ann/inbox",
        local=True,
        manually_approves=True,
        also_known_as=["https://old.test/users/ann"],
    )
    viewer = await Actor.create(
        uri="https://hq.test/users/vic", username="vic", domain="hq.test", inbox="x", local=True
    )
    when = datetime(2026, 12, 4, 9, 30, 15, 123000, tzinfo=UTC)
    # (a remote post published at +01:00 reads back as the same instant, in UTC)
    maastricht = datetime(2026, 12, 4, 10, 30, 15, 123000, tzinfo=timezone(timedelta(hours=1)))
    posts = [
        await Post.create(
            uri=f"https://hq.test/p/{n}",
            author=author,
            visibility=("public", "followers", "direct")[n],
            content=f"<p>{n}</p>",
            sensitive=n == 1,
            published=maastricht if n == 1 else when,
            updated=when if n == 2 else None,
            local=True,
            likes_count=n,
        )
        for n in range(3)
    ]
    # and the viewer liked the first and shared the second
    await Like.create(actor=viewer, post=posts[0])
    await Share.create(actor=viewer, post=posts[1], post_visibility="followers")

    # When they are read, last first, with an id that does not exist
    rows = await status_rows([posts[2].id, 10**12, posts[0].id, posts[1].id], viewer.id)

    # Then they come in that order, without the missing one
    assert [r.id for r in rows] == [posts[2].id, posts[0].id, posts[1].id]
    for row in rows:
        model = await Post.get(id=row.id).select_related("author")
        for name in ("uri", "content", "visibility", "sensitive", "likes_count", "local"):
            assert getattr(row, name) == getattr(model, name), name
        assert row.published == model.published == when
        assert row.published.utcoffset() == timedelta(0)
        assert row.updated == model.updated
        assert row.author.also_known_as == ["https://old.test/users/ann"]
        assert row.author.manually_approves is True and row.author.local is True
        assert row.author.created_at == model.author.created_at
    # and the viewer's reactions are theirs alone
    assert [(r.favourited, r.reblogged) for r in rows] == [
        (False, False),
        (True, False),
        (False, True),
    ]
    anonymous = await status_rows([posts[0].id], None)
    assert (anonymous[0].favourited, anonymous[0].reblogged) == (False, False)
    assert await status_rows([], viewer.id) == []
