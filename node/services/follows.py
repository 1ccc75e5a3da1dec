"""Follows: request, accept (automatic unless the profile asks for approval), reject, undo."""

from __future__ import annotations

import secrets
from typing import Any

from tortoise.transactions import in_transaction

from activitystreams import build

from ..errors import Invalid, NotFound
from ..models import Actor, Follow, Notification
from ..runtime import Runtime
from .actors import resolve_actor
from .outbox import deliver

__all__ = ["accept_follow", "follow", "reject_follow", "unfollow"]


def _follow_doc(follow_uri: str, follower: Actor, followee: Actor) -> dict[str, Any]:
    doc = build.follow(id=follow_uri, actor=follower.uri, object=followee.uri, to=[followee.uri])
    return doc


async def follow(rt: Runtime, follower: Actor, target_ref: str) -> Follow:
    target = await resolve_actor(rt, target_ref)
    if target.id == follower.id:
        raise Invalid("you cannot follow yourself")
    existing = await Follow.filter(follower=follower, followee=target).first()
    if existing is not None:
        return existing
    uri = f"{follower.uri}/follows/{secrets.token_hex(8)}"
    async with in_transaction():
        row = await Follow.create(uri=uri, follower=follower, followee=target, accepted=False)
        if target.local:
            if not target.manually_approves:
                row.accepted = True
                await row.save()
            await Notification.create(
                recipient=target,
                kind="follow_request" if target.manually_approves else "follow",
                from_actor=follower,
            )
        else:
            await deliver(
                rt, _follow_doc(uri, follower, target), signer=follower, inboxes=[target.inbox]
            )
    return row


async def unfollow(rt: Runtime, follower: Actor, target_ref: str) -> None:
    target = await resolve_actor(rt, target_ref)
    row = await Follow.filter(follower=follower, followee=target).first()
    if row is None:
        return
    async with in_transaction():
        await row.delete()
        if not target.local:
            followed = _follow_doc(row.uri or "", follower, target)
            followed.pop("@context", None)
            activity = build.undo(
                id=f"{row.uri}/undo", actor=follower.uri, object=followed, to=[target.uri]
            )
            await deliver(rt, activity, signer=follower, inboxes=[target.inbox])


async def accept_follow(rt: Runtime, followee: Actor, follower_id: int) -> Follow:
    """Approve a pending follow request of a local account."""
    row = (
        await Follow.filter(followee=followee, follower_id=follower_id, accepted=False)
        .select_related("follower")
        .first()
    )
    if row is None:
        raise NotFound("no such follow request")
    async with in_transaction():
        row.accepted = True
        await row.save()
        if not row.follower.local:
            await send_accept(rt, row, followee, row.follower)
    return row


async def reject_follow(rt: Runtime, followee: Actor, follower_id: int) -> None:
    row = (
        await Follow.filter(followee=followee, follower_id=follower_id, accepted=False)
        .select_related("follower")
        .first()
    )
    if row is None:
        raise NotFound("no such follow request")
    async with in_transaction():
        await row.delete()
        if not row.follower.local:
            followed = _follow_doc(row.uri or "", row.follower, followee)
            followed.pop("@context", None)
            activity = build.reject(
                id=f"{followee.uri}#rejects/{secrets.token_hex(8)}",
                actor=followee.uri,
                object=followed,
                to=[row.follower.uri],
            )
            await deliver(rt, activity, signer=followee, inboxes=[row.follower.inbox])


async def send_accept(rt: Runtime, row: Follow, followee: Actor, follower: Actor) -> None:
    followed = _follow_doc(row.uri or "", follower, followee)
    followed.pop("@context", None)
    activity = build.accept(
        id=f"{followee.uri}#accepts/{secrets.token_hex(8)}",
        actor=followee.uri,
        object=followed,
        to=[follower.uri],
    )
    await deliver(rt, activity, signer=followee, inboxes=[follower.inbox])
