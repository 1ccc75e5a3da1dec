"""Queue outgoing activities: one delivery row per target inbox, in the caller's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from federation.worker import merge_inboxes

from ..models import Actor, Delivery, Follow, Post, RelaySubscription
from ..runtime import Runtime

__all__ = ["deliver", "followers_inboxes", "post_audience_inboxes"]


async def deliver(
    rt: Runtime, activity: dict[str, Any], *, signer: Actor, inboxes: Iterable[str]
) -> int:
    """Enqueue ``activity`` for every remote inbox (local inboxes never go over HTTP)."""
    local_prefix = rt.base_url + "/"
    targets = [i for i in dict.fromkeys(inboxes) if not i.startswith(local_prefix)]
    if not targets:
        return 0
    payload = orjson.dumps(activity)
    now = rt.clock()
    await Delivery.bulk_create(
        [
            Delivery(
                activity_id=activity["id"],
                inbox=inbox,
                payload=payload,
                signer=signer.uri,
                state="pending",
                next_attempt_at=now,
                created_at=now,
            )
            for inbox in targets
        ]
    )
    rt.wake_delivery()
    return len(targets)


async def followers_inboxes(actor: Actor) -> list[str]:
    rows = await Follow.filter(followee=actor, accepted=True, follower__local=False).values_list(
        "follower__inbox", "follower__shared_inbox"
    )
    return merge_inboxes([(inbox, shared) for inbox, shared in rows])


async def post_audience_inboxes(post: Post, author: Actor) -> list[str]:
    """Every inbox that holds (or should hold) a copy: followers, the replied-to author, and
    the remote actors who interacted with the post (repliers, likers, sharers)."""
    targets: list[tuple[str, str | None]] = []
    if post.visibility != "direct":
        rows = await Follow.filter(
            followee=author, accepted=True, follower__local=False
        ).values_list("follower__inbox", "follower__shared_inbox")
        targets += [(i, s) for i, s in rows]
    if post.in_reply_to_id is not None:
        parent = await Post.filter(id=post.in_reply_to_id).select_related("author").first()
        if parent is not None and not parent.author.local:
            targets.append((parent.author.inbox, parent.author.shared_inbox))
    for model_rows in (
        await Post.filter(in_reply_to_id=post.id, author__local=False).values_list(
            "author__inbox", "author__shared_inbox"
        ),
        await post.like_rows.filter(actor__local=False).values_list(
            "actor__inbox", "actor__shared_inbox"
        ),
        await post.share_rows.filter(actor__local=False).values_list(
            "actor__inbox", "actor__shared_inbox"
        ),
        await post.recipients.filter(actor__local=False).values_list(
            "actor__inbox", "actor__shared_inbox"
        ),
    ):
        targets += [(i, s) for i, s in model_rows]
    if post.local and post.visibility == "public":  # the company relays this node subscribed to
        relays = await RelaySubscription.filter(state="accepted").values_list("inbox", flat=True)
        targets += [(str(inbox), None) for inbox in relays]
    return merge_inboxes(targets)
