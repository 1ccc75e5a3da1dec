"""Likes and shares. The post's own node is authoritative for its counts (docs/federation.md)."""

from __future__ import annotations

import secrets

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from activitystreams import build
from activitystreams.vocab import PUBLIC

from ..errors import Invalid
from ..models import Actor, Like, Notification, Post, Share
from ..runtime import Runtime
from .outbox import deliver, followers_inboxes
from .posts import get_post, push_counts

__all__ = ["like", "share", "unlike", "unshare"]


async def like(rt: Runtime, actor: Actor, post_id: int | str) -> Post:
    post = await get_post(post_id)
    if post.visibility == "direct" and post.author_id != actor.id:
        raise Invalid("direct posts cannot be liked")
    async with in_transaction():
        row, created = await Like.get_or_create(
            actor=actor, post=post, defaults={"uri": f"{actor.uri}/likes/{secrets.token_hex(8)}"}
        )
        if not created:
            return post
        await Post.filter(id=post.id).update(likes_count=F("likes_count") + 1)
        await post.refresh_from_db()
        if post.author.local:
            if post.author_id != actor.id:
                await Notification.create(
                    recipient=post.author, kind="favourite", from_actor=actor, post=post
                )
            await push_counts(rt, post)
        else:
            activity = build.like(
                id=row.uri or "", actor=actor.uri, object=post.uri, to=[post.author.uri]
            )
            await deliver(rt, activity, signer=actor, inboxes=[post.author.inbox])
    return post


async def unlike(rt: Runtime, actor: Actor, post_id: int | str) -> Post:
    post = await get_post(post_id)
    async with in_transaction():
        row = await Like.filter(actor=actor, post=post).first()
        if row is None:
            return post
        await row.delete()
        await Post.filter(id=post.id).update(likes_count=F("likes_count") - 1)
        await post.refresh_from_db()
        if post.author.local:
            await push_counts(rt, post)
        else:
            liked = build.like(
                id=row.uri or "", actor=actor.uri, object=post.uri, to=[post.author.uri]
            )
            liked.pop("@context", None)
            activity = build.undo(
                id=f"{row.uri}/undo", actor=actor.uri, object=liked, to=[post.author.uri]
            )
            await deliver(rt, activity, signer=actor, inboxes=[post.author.inbox])
    return post


async def share(rt: Runtime, actor: Actor, post_id: int | str) -> Post:
    post = await get_post(post_id)
    if post.visibility not in ("public", "unlisted"):
        raise Invalid("only public posts can be shared")
    async with in_transaction():
        row, created = await Share.get_or_create(
            actor=actor,
            post=post,
            defaults={
                "uri": f"{actor.uri}/shares/{secrets.token_hex(8)}",
                "post_visibility": post.visibility,
            },
        )
        if not created:
            return post
        await Post.filter(id=post.id).update(shares_count=F("shares_count") + 1)
        await post.refresh_from_db()
        activity = build.announce(
            id=row.uri or "",
            actor=actor.uri,
            object=post.uri,
            to=[PUBLIC],
            cc=[post.author.uri, actor.followers_uri or f"{actor.uri}/followers"],
            published=rt.clock(),
        )
        inboxes = await followers_inboxes(actor)
        if not post.author.local:
            inboxes.append(post.author.inbox)
        else:
            if post.author_id != actor.id:
                await Notification.create(
                    recipient=post.author, kind="reblog", from_actor=actor, post=post
                )
            await push_counts(rt, post)
        await deliver(rt, activity, signer=actor, inboxes=inboxes)
    return post


async def unshare(rt: Runtime, actor: Actor, post_id: int | str) -> Post:
    post = await get_post(post_id)
    async with in_transaction():
        row = await Share.filter(actor=actor, post=post).first()
        if row is None:
            return post
        await row.delete()
        await Post.filter(id=post.id).update(shares_count=F("shares_count") - 1)
        await post.refresh_from_db()
        announced = build.announce(
            id=row.uri or "", actor=actor.uri, object=post.uri, to=[PUBLIC], cc=[post.author.uri]
        )
        announced.pop("@context", None)
        activity = build.undo(id=f"{row.uri}/undo", actor=actor.uri, object=announced, to=[PUBLIC])
        inboxes = await followers_inboxes(actor)
        if post.author.local:
            await push_counts(rt, post)
        else:
            inboxes.append(post.author.inbox)
        await deliver(rt, activity, signer=actor, inboxes=inboxes)
    return post
