"""Timelines: home (you and whom you follow), company-wide (every public post), profile."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from ..models import Actor, Follow, Post, PostRecipient

__all__ = ["MAX_LIMIT", "Home", "company", "home", "home_sql", "page", "page_ids", "profile"]

MAX_LIMIT = 40
# What home shows of the people you follow, and of what they shared (services.visibility).
FOLLOWED_VISIBILITIES = ("public", "unlisted", "followers", "local")
SHARED_VISIBILITIES = ("public", "unlisted")


@dataclass(frozen=True, slots=True)
class Home:
    """A viewer's home timeline: your posts, the posts naming you, the posts of people you follow
    (all but direct) and the public or unlisted posts they shared."""

    viewer_id: int


async def page_ids(
    query: QuerySet[Post] | Home, *, limit: int, max_id: int | None, since_id: int | None
) -> list[int]:
    """The ids of one page, newest arrival first: by id, so that max_id/since_id paging never
    skips or repeats a post."""
    limit = max(1, min(limit, MAX_LIMIT))
    if isinstance(query, Home):
        return await _home_ids(query.viewer_id, limit=limit, max_id=max_id, since_id=since_id)
    if max_id is not None:
        query = query.filter(id__lt=max_id)
    if since_id is not None:
        query = query.filter(id__gt=since_id)
    rows = await query.order_by("-id").limit(limit).values("id")
    return [int(row["id"]) for row in rows]


async def page(
    query: QuerySet[Post] | Home, *, limit: int, max_id: int | None, since_id: int | None
) -> list[Post]:
    """One page as posts with their authors (the web pages)."""
    ids = await page_ids(query, limit=limit, max_id=max_id, since_id=since_id)
    if not ids:
        return []
    return await Post.filter(id__in=ids).select_related("author").order_by("-id")


def home(viewer: Actor) -> Home:
    """Your posts, the posts of people you follow and what they shared, and posts naming you."""
    return Home(viewer.id)


async def _home_ids(
    viewer_id: int, *, limit: int, max_id: int | None, since_id: int | None
) -> list[int]:
    """The ids of one page of home, newest first."""
    conn = Post._meta.db
    sql, values = home_sql(
        viewer_id,
        limit=limit,
        max_id=max_id,
        since_id=since_id,
        postgres=conn.capabilities.dialect == "postgres",
    )
    rows = await conn.execute_query_dict(sql, values)
    return [int(row["id"]) for row in rows]


def home_sql(
    viewer_id: int, *, limit: int, max_id: int | None, since_id: int | None, postgres: bool
) -> tuple[str, list[int]]:
    """One page of home as one query and its parameters.

    A union of four sources, each read newest first through its own index and cut at the page
    size before they are merged, so that the work does not grow with the size of the posts
    table (an OR of the four, as the ORM writes it, makes both databases scan it). Parameters
    are numbered in the order the text is written (``?`` on SQLite is positional).
    """
    values: list[int] = []

    def arg(value: int) -> str:
        values.append(value)
        return f"${len(values)}" if postgres else "?"

    def bounds(column: str) -> str:
        sql = ""
        if max_id is not None:
            sql += f" AND {column} < {arg(max_id)}"
        if since_id is not None:
            sql += f" AND {column} > {arg(since_id)}"
        return sql

    def followed() -> str:
        return f"SELECT followee_id FROM follows WHERE follower_id = {arg(viewer_id)} AND accepted"

    followed_vis = ", ".join(f"'{v}'" for v in FOLLOWED_VISIBILITIES)
    shared_vis = ", ".join(f"'{v}'" for v in SHARED_VISIBILITIES)

    def per_followed(inner: str, column: str) -> str:
        # PostgreSQL: the newest `limit` rows of `inner` for each person followed (LATERAL), so
        # the work is bounded by the number of people followed. With `IN (...)` the planner
        # walks the whole posts table backwards when the people followed post rarely (at 1M
        # posts: 840 ms for someone following three quiet colleagues, against 1 ms), and joins
        # over the whole shares table for someone following hundreds (12 ms against 3 ms).
        return (
            f"SELECT x.id FROM follows f CROSS JOIN LATERAL ({inner}{bounds(column)}"
            f" ORDER BY {column} DESC LIMIT {arg(limit)}) AS x"
            f" WHERE f.follower_id = {arg(viewer_id)} AND f.accepted"
            f" ORDER BY x.id DESC LIMIT {arg(limit)}"
        )

    def followed_posts() -> str:
        if postgres:
            return per_followed(
                "SELECT p.id FROM posts p WHERE p.author_id = f.followee_id"
                f" AND p.visibility IN ({followed_vis})",
                "p.id",
            )
        # SQLite reads each followed person's posts through (author_id, id, visibility) and sorts
        # them: the work is bounded by the posts of the people followed. Without statistics it
        # would rather use the index on visibility (nearly the whole table: most posts are
        # public); a unary plus keeps the column out of its index choice (at 1M posts: 4-7 ms
        # against 1-2 ms).
        return (
            f"SELECT id FROM posts WHERE author_id IN ({followed()})"
            f" AND +visibility IN ({followed_vis}){bounds('id')}"
            f" ORDER BY id DESC LIMIT {arg(limit)}"
        )

    def followed_shares() -> str:
        if postgres:
            return per_followed(
                "SELECT s.post_id AS id FROM shares s WHERE s.actor_id = f.followee_id"
                f" AND s.post_visibility IN ({shared_vis})",
                "s.post_id",
            )
        return (
            f"SELECT post_id AS id FROM shares WHERE actor_id IN ({followed()})"
            f" AND post_visibility IN ({shared_vis}){bounds('post_id')}"
            f" ORDER BY post_id DESC LIMIT {arg(limit)}"
        )

    branches = [
        f"SELECT id FROM posts WHERE author_id = {arg(viewer_id)}{bounds('id')}"
        f" ORDER BY id DESC LIMIT {arg(limit)}",
        f"SELECT post_id AS id FROM post_recipients WHERE actor_id = {arg(viewer_id)}"
        f"{bounds('post_id')} ORDER BY post_id DESC LIMIT {arg(limit)}",
        followed_posts(),
        followed_shares(),
    ]
    union = " UNION ".join(f"SELECT id FROM ({sql}) AS b{n}" for n, sql in enumerate(branches, 1))
    sql = f"SELECT id FROM ({union}) AS home ORDER BY id DESC LIMIT {arg(limit)}"
    return sql, values


def company(*, local_only: bool = False) -> QuerySet[Post]:
    query = Post.filter(visibility__in=("public", "local"))
    return query.filter(local=True) if local_only else query


def profile(actor: Actor, viewer: Actor | None) -> QuerySet[Post]:
    """What ``viewer`` may see of ``actor``'s posts (the same rule as services.visibility)."""
    query = Post.filter(author_id=actor.id)
    if viewer is not None and viewer.id == actor.id:
        return query
    visible = Q(visibility__in=("public", "unlisted", "local"))
    if viewer is None:
        return query.filter(visibility__in=("public", "unlisted"))
    follows = Follow.filter(follower_id=viewer.id, followee_id=actor.id, accepted=True)
    addressed = PostRecipient.filter(actor_id=viewer.id).values("post_id")
    return query.filter(
        visible
        | Q(Q(visibility="followers"), Q(author_id__in=Subquery(follows.values("followee_id"))))
        | Q(id__in=Subquery(addressed))
    )
