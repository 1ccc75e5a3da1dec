"""This node's subscriptions to relays (case relay-subscription-follow), the node side only.

A subscription is a ``Follow`` of the Public collection (full IRI, never ``as:Public``) from
the node's own actor (``/actor``), addressed to the relay actor with ``to`` as an array. It is
sent once, when the operator subscribes: nothing re-sends it on a restart, and a subscription
the relay rejected stays rejected until the operator unsubscribes and subscribes again.
"""

from __future__ import annotations

import secrets
from typing import Any

from tortoise.transactions import in_transaction

from activitystreams import build
from activitystreams.vocab import PUBLIC

from ..errors import Conflict, Invalid, NotFound
from ..models import Actor, RelaySubscription
from ..runtime import Runtime
from .accounts import ensure_instance_actor
from .actors import MAX_REF, fetch_actor
from .outbox import deliver

__all__ = ["is_relay", "subscribe", "subscription_json", "subscriptions", "unsubscribe"]


def _follow_doc(sub: RelaySubscription, instance: Actor) -> dict[str, Any]:
    return build.follow(id=sub.follow_uri, actor=instance.uri, object=PUBLIC, to=[sub.relay_uri])


async def subscribe(rt: Runtime, relay_url: str) -> RelaySubscription:
    """Fetch the relay actor, record the subscription (pending) and send the Follow."""
    relay_url = relay_url.strip()
    if not relay_url.startswith(("http://", "https://")) or len(relay_url) > MAX_REF:
        raise Invalid("relay: the URL of the relay's actor")
    relay = await fetch_actor(rt, relay_url)
    existing = await RelaySubscription.filter(relay_uri=relay.uri).first()
    if existing is not None:
        if existing.state == "rejected":
            raise Conflict(
                f"the relay {relay.uri} rejected this node's subscription; "
                "unsubscribe first to ask again"
            )
        return existing  # pending or accepted: the Follow was sent already
    instance = await ensure_instance_actor(rt)
    async with in_transaction():
        sub = await RelaySubscription.create(
            relay_uri=relay.uri,
            inbox=relay.inbox,
            follow_uri=f"{instance.uri}#follows/relay-{secrets.token_hex(8)}",
            state="pending",
        )
        await deliver(rt, _follow_doc(sub, instance), signer=instance, inboxes=[sub.inbox])
    return sub


async def unsubscribe(rt: Runtime, relay_url: str) -> None:
    """Remove the subscription; unless the relay rejected it, send ``Undo{Follow}``."""
    sub = await RelaySubscription.filter(relay_uri=relay_url.strip()).first()
    if sub is None:
        raise NotFound(f"no subscription to {relay_url}")
    instance = await ensure_instance_actor(rt)
    async with in_transaction():
        if sub.state != "rejected":
            followed = _follow_doc(sub, instance)
            followed.pop("@context", None)
            undo = build.undo(
                id=f"{sub.follow_uri}/undo", actor=instance.uri, object=followed, to=[sub.relay_uri]
            )
            await deliver(rt, undo, signer=instance, inboxes=[sub.inbox])
        await sub.delete()


async def subscriptions() -> list[RelaySubscription]:
    return await RelaySubscription.all().order_by("id")


async def is_relay(actor: Actor) -> bool:
    """True for an actor this node subscribed to as a relay (its Announces are not shares)."""
    return await RelaySubscription.filter(relay_uri=actor.uri).exists()


def subscription_json(sub: RelaySubscription) -> dict[str, Any]:
    return {
        "relay": sub.relay_uri,
        "inbox": sub.inbox,
        "follow": sub.follow_uri,
        "state": sub.state,
        "created_at": sub.created_at.isoformat() if sub.created_at else None,
        "updated_at": sub.updated_at.isoformat() if sub.updated_at else None,
    }
