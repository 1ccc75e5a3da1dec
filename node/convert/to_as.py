"""From the node's rows to ActivityStreams documents (outgoing JSON)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from activitystreams import build
from activitystreams.audience import Visibility
from activitystreams.vocab import PUBLIC

from ..models import Actor, Post

__all__ = ["actor_document", "addressing", "note_document"]


def actor_document(actor: Actor) -> dict[str, Any]:
    return build.actor_document(
        id=actor.uri,
        type=actor.type,
        preferred_username=actor.username if actor.type == "Person" else actor.domain,
        name=actor.name,
        summary=actor.summary,
        inbox=actor.inbox,
        outbox=actor.outbox or f"{actor.uri}/outbox",
        followers=actor.followers_uri or f"{actor.uri}/followers",
        following=f"{actor.uri}/following",
        shared_inbox=actor.shared_inbox,
        key_id=actor.key_id or f"{actor.uri}#main-key",
        public_key_pem=actor.public_key_pem or "",
        manually_approves_followers=actor.manually_approves,
        url=actor.uri,
        published=actor.created_at,
        ed25519_key_id=actor.ed25519_key_id,
        ed25519_public_multibase=actor.ed25519_public_multibase,
        also_known_as=[str(u) for u in actor.also_known_as or []],
        moved_to=actor.moved_to_uri,
    )


def addressing(visibility: str, author: Actor, mentions: list[str]) -> tuple[list[str], list[str]]:
    """to and cc for a post of this visibility (full Public IRI, always lists)."""
    followers = author.followers_uri or f"{author.uri}/followers"
    if visibility == Visibility.PUBLIC:
        return [PUBLIC], [followers, *mentions]
    if visibility == Visibility.UNLISTED:
        return [followers], [PUBLIC, *mentions]
    if visibility == Visibility.FOLLOWERS:
        return [followers], list(mentions)
    return list(mentions), []


def note_document(post: Post, author: Actor, recipients: Sequence[Actor] = ()) -> dict[str, Any]:
    """The post as a Note; ``recipients`` are the people it names (mentions, reply target)."""
    to, cc = addressing(post.visibility, author, [r.uri for r in recipients])
    tags = [
        {
            "type": "Mention",
            "href": r.uri,
            "name": f"@{r.username}@{r.domain}",
        }
        for r in recipients
    ]
    return build.note(
        tags=tags,
        id=post.uri,
        type=post.type,
        attributed_to=author.uri,
        content=post.content,
        to=to,
        cc=cc,
        published=post.published,
        updated=post.updated,
        in_reply_to=post.in_reply_to_uri,
        url=post.url or post.uri,
        summary=post.summary or None,
        sensitive=post.sensitive,
        likes={"id": f"{post.uri}/likes", "type": "Collection", "totalItems": post.likes_count},
        shares={"id": f"{post.uri}/shares", "type": "Collection", "totalItems": post.shares_count},
        replies={
            "id": f"{post.uri}/replies",
            "type": "Collection",
            "totalItems": post.replies_count,
        },
    )
