"""Timelines: home (you and whom you follow), company-wide (every public post), profile."""

from __future__ import annotations

from tortoise.expressions import Q, Subquery
from tortoise.queryset import QuerySet

from ..models import Actor, Follow, Post, PostRecipient, Share

__all__ = ["MAX_LIMIT", "company", "home", "page", "profile"]

MAX_LIMIT = 40


def page(
    query: QuerySet[Post], *, limit: int, max_id: int | None, since_id: int | None
) -> QuerySet[Post]:
    limit = max(1, min(limit, MAX_LIMIT))
    if max_id is not None:
        query = query.filter(id__lt=max_id)
    if since_id is not None:
        query = query.filter(id__gt=since_id)
    # Newest arrival first, by id, so that max_id/since_id paging never skips or repeats a post.
    return query.select_related("author").order_by("-id").limit(limit)


def home(viewer: Actor) -> QuerySet[Post]:
    """Your posts, the posts of people you follow and what they shared, and posts naming you."""
    followed = Follow.filter(follower_id=viewer.id, accepted=True).values("followee_id")
    shared = Share.filter(actor_id__in=Subquery(followed)).values("post_id")
    addressed = PostRecipient.filter(actor_id=viewer.id).values("post_id")
    return Post.filter(
        Q(author_id=viewer.id)
        | Q(id__in=Subquery(addressed))
        | Q(
            Q(author_id__in=Subquery(followed)),
            Q(visibility__in=("public", "unlisted", "followers", "local")),
        )
        | Q(Q(id__in=Subquery(shared)), Q(visibility__in=("public", "unlisted")))
    )


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
