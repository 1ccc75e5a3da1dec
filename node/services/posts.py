"""Posts: write, edit (history kept), delete (tombstone everywhere), threads."""

from __future__ import annotations

import secrets
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from activitystreams import build
from activitystreams.audience import Visibility

from ..convert.html import render_markdown
from ..convert.to_as import addressing, note_document
from ..errors import Forbidden, Invalid, NotFound
from ..ids import parse_id
from ..models import Actor, Notification, Post, PostEdit, PostRecipient, Tombstone
from ..runtime import Runtime
from .mentions import find_mentions, link_mentions
from .outbox import deliver, post_audience_inboxes
from .visibility import may_see

__all__ = [
    "MAX_POST_CHARS",
    "create_post",
    "delete_post",
    "edit_post",
    "get_post",
    "recipients_of",
    "thread",
]

MAX_POST_CHARS = 20_000
VISIBILITIES = {v.value for v in Visibility}


def _check_text(text: str) -> str:
    text = text.strip()
    if not text:
        raise Invalid("status: empty")
    if len(text) > MAX_POST_CHARS:
        raise Invalid(f"status: longer than {MAX_POST_CHARS} characters")
    return text


async def get_post(post_id: int | str) -> Post:
    post = await Post.filter(id=parse_id(post_id, "post")).select_related("author").first()
    if post is None:
        raise NotFound(f"no post {post_id}")
    return post


async def create_post(
    rt: Runtime,
    author: Actor,
    text: str,
    *,
    visibility: str = "public",
    in_reply_to: int | str | None = None,
    summary: str = "",
    sensitive: bool = False,
    type_: str = "Note",
) -> Post:
    if author.moved_to_uri is not None:
        raise Invalid(f"this account has moved to {author.moved_to_uri} and can no longer post")
    text = _check_text(text)
    if visibility not in VISIBILITIES:
        raise Invalid(f"visibility: one of {', '.join(sorted(VISIBILITIES))}")
    parent = await get_post(in_reply_to) if in_reply_to is not None else None
    if parent is not None and not await may_see(parent, author.id, viewer_is_local=True):
        raise NotFound(f"no post {in_reply_to}")
    mentions = await find_mentions(rt, text)
    recipients = [actor for _, actor in mentions if actor.id != author.id]
    if (
        parent is not None
        and parent.author_id != author.id
        and all(r.id != parent.author_id for r in recipients)
    ):
        recipients.insert(0, parent.author)
    if visibility == Visibility.DIRECT and not recipients:
        raise Invalid("visibility: a direct post must name someone (@name or @name@node)")
    now = rt.clock()
    uri = f"{author.uri}/statuses/{secrets.token_hex(8)}"
    async with in_transaction():
        post = await Post.create(
            uri=uri,
            author=author,
            type=type_,
            content=link_mentions(render_markdown(text), mentions),
            source=text,
            summary=summary.strip(),
            sensitive=sensitive or bool(summary.strip()),
            visibility=visibility,
            in_reply_to_uri=parent.uri if parent else None,
            in_reply_to=parent,
            url=uri,
            published=now,
            local=True,
        )
        if parent is not None:
            await Post.filter(id=parent.id).update(replies_count=F("replies_count") + 1)
        for recipient in recipients:
            await PostRecipient.create(post=post, actor=recipient)
            if recipient.local:
                await Notification.create(
                    recipient=recipient, kind="mention", from_actor=author, post=post
                )
        if visibility != Visibility.LOCAL:
            note = note_document(post, author, recipients)
            activity = build.create(
                id=f"{uri}/activity",
                actor=author.uri,
                object=note,
                to=note["to"],
                cc=note["cc"],
                published=now,
            )
            await deliver(
                rt, activity, signer=author, inboxes=await post_audience_inboxes(post, author)
            )
    return post


async def edit_post(
    rt: Runtime, editor: Actor, post_id: int | str, text: str, *, summary: str | None = None
) -> Post:
    post = await get_post(post_id)
    if post.author_id != editor.id:
        raise Forbidden("only the author may edit a post")
    text = _check_text(text)
    now = rt.clock()
    async with in_transaction():
        await PostEdit.create(post=post, content=post.content, summary=post.summary, edited_at=now)
        post.content = link_mentions(render_markdown(text), await find_mentions(rt, text))
        post.source = text
        if summary is not None:
            post.summary = summary.strip()
        post.updated = now
        await post.save()
        if post.visibility != Visibility.LOCAL:
            await _send_update(rt, post, editor, suffix=f"edit-{now.timestamp():.6f}")
    return post


async def _send_update(rt: Runtime, post: Post, author: Actor, *, suffix: str) -> None:
    # Stamp first, then read the counts: a copy applies the newest stamp, so the counts sent with
    # it must include every like committed before that moment (a like committed later sends its
    # own, newer Update). Counts read before the stamp could be older than another Update's.
    now = rt.clock()
    fresh = await Post.filter(id=post.id).values("likes_count", "shares_count")
    if fresh:
        post.likes_count = fresh[0]["likes_count"]
        post.shares_count = fresh[0]["shares_count"]
    note = note_document(post, author, await recipients_of(post))
    activity: dict[str, Any] = build.update(
        id=f"{post.uri}#{suffix}", actor=author.uri, object=note, to=note["to"], cc=note["cc"]
    )
    # Microseconds: copies apply count updates only when newer than the last one they applied.
    activity["published"] = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    await deliver(rt, activity, signer=author, inboxes=await post_audience_inboxes(post, author))


async def push_counts(rt: Runtime, post: Post) -> None:
    """The owner of a post tells every copy its current like and share counts."""
    await post.fetch_related("author")
    if not post.local or post.visibility == Visibility.LOCAL:
        return
    await _send_update(rt, post, post.author, suffix=f"counts-{rt.clock().timestamp():.6f}")


async def delete_post(rt: Runtime, deleter: Actor, post_id: int | str) -> None:
    post = await get_post(post_id)
    if post.author_id != deleter.id:
        raise Forbidden("only the author may delete a post")
    now = rt.clock()
    async with in_transaction():
        inboxes = await post_audience_inboxes(post, deleter)
        to, cc = addressing(post.visibility, deleter, [r.uri for r in await recipients_of(post)])
        if post.in_reply_to_id is not None:
            await Post.filter(id=post.in_reply_to_id).update(replies_count=F("replies_count") - 1)
        await Tombstone.get_or_create(
            uri=post.uri, defaults={"former_type": post.type, "deleted_at": now}
        )
        await post.delete()
        if post.visibility != Visibility.LOCAL:
            activity = build.delete(
                id=f"{post.uri}#delete",
                actor=deleter.uri,
                object=build.tombstone(id=post.uri, former_type=post.type, deleted=now),
                to=to,
                cc=cc,
                published=now,
            )
            await deliver(rt, activity, signer=deleter, inboxes=inboxes)


async def recipients_of(post: Post) -> list[Actor]:
    rows = await PostRecipient.filter(post_id=post.id).select_related("actor").order_by("id")
    return [row.actor for row in rows]


async def thread(post: Post) -> tuple[list[Post], list[Post]]:
    """Ancestors (oldest first, depth-capped) and descendants (breadth first) of a post."""
    ancestors: list[Post] = []
    seen = {post.id}
    current = post
    while current.in_reply_to_id is not None and len(ancestors) < 50:
        parent = await Post.filter(id=current.in_reply_to_id).select_related("author").first()
        if parent is None or parent.id in seen:
            break
        seen.add(parent.id)
        ancestors.insert(0, parent)
        current = parent
    descendants: list[Post] = []
    frontier = [post.id]
    while frontier and len(descendants) < 500:
        children = (
            await Post.filter(in_reply_to_id__in=frontier)
            .select_related("author")
            .order_by("published")
        )
        children = [c for c in children if c.id not in seen]
        seen.update(c.id for c in children)
        descendants += children
        frontier = [c.id for c in children]
    return ancestors, descendants
