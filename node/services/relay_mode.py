"""The company relay: a node in relay mode accepts subscriptions and spreads public posts.

Subscribers follow the relay's actor (``/actor``) with a Follow whose object is the Public
collection (any spelling: full IRI, ``as:Public``, ``Public``; Mastodon style) or the relay actor
itself (LitePub style). The relay answers with an Accept that embeds the Follow as received, and
announces every public post it receives from a subscriber to every other subscriber, by URI.
"""

from __future__ import annotations

import hashlib
from typing import Any

from tortoise.transactions import in_transaction

from activitystreams import Activity, build
from activitystreams.vocab import PUBLIC, PUBLIC_SPELLINGS
from federation.worker import merge_inboxes

from ..models import Actor, Follow, Post
from ..runtime import Runtime
from .outbox import deliver

__all__ = ["accept_subscriber", "is_subscription", "spread"]


def is_subscription(rt: Runtime, activity: Activity) -> bool:
    """A Follow of the Public collection (any spelling) or of this node's own actor."""
    target = activity.object_id or ""
    return target in PUBLIC_SPELLINGS or target == rt.instance_actor_uri


_ECHOED = ("id", "type", "actor", "object", "to", "cc")


def _flat(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    )


async def accept_subscriber(rt: Runtime, activity: Activity, subscriber: Actor) -> None:
    relay = await Actor.get(uri=rt.instance_actor_uri)
    # The Follow as sent, in the fields a subscriber matches its Accept by (LitePub relays
    # compare them); anything else it carried is not echoed back.
    follow: dict[str, Any] = {k: v for k, v in activity.raw.items() if k in _ECHOED and _flat(v)}
    async with in_transaction():
        row, _ = await Follow.get_or_create(
            follower=subscriber, followee=relay, defaults={"uri": activity.id, "accepted": True}
        )
        if row.uri != activity.id or not row.accepted:
            row.uri, row.accepted = activity.id, True
            await row.save()
        accept = build.accept(
            id=f"{relay.uri}#accepts/{_digest(activity.id or subscriber.uri)}",
            actor=relay.uri,
            object=follow,
            to=[subscriber.uri],
        )
        await deliver(rt, accept, signer=relay, inboxes=[subscriber.inbox])


async def spread(rt: Runtime, post: Post, origin: Actor) -> int:
    """Announce a public post from a subscriber's node to every other subscribed node."""
    if post.visibility != "public":
        return 0
    relay = await Actor.get(uri=rt.instance_actor_uri)
    rows = await Follow.filter(followee=relay, accepted=True, follower__local=False).values_list(
        "follower__inbox", "follower__shared_inbox", "follower__domain"
    )
    inboxes = merge_inboxes(
        [(inbox, shared) for inbox, shared, domain in rows if domain != origin.domain]
    )
    if not inboxes:
        return 0
    announce = build.announce(
        id=f"{relay.uri}#announces/{_digest(post.uri)}",
        actor=relay.uri,
        object=post.uri,
        to=[PUBLIC],
        cc=[f"{relay.uri}/followers"],
        published=rt.clock(),
    )
    return await deliver(rt, announce, signer=relay, inboxes=inboxes)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
