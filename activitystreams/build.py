"""Builders of outgoing ActivityStreams JSON, written the way Mastodon reads it.

No JSON-LD compaction: the Public collection is always the full IRI, ``to``/``cc`` are always
arrays, and every extension term used is declared in :data:`CONTEXT`. Objects embedded in an
activity do not repeat ``@context``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from activitystreams.audience import canonical
from activitystreams.vocab import AS_CONTEXT, MULTIKEY_CONTEXT, SECURITY_CONTEXT

__all__ = [
    "ACTOR_CONTEXT_WITH_MULTIKEY",
    "CONTEXT",
    "accept",
    "activity",
    "actor_document",
    "announce",
    "create",
    "delete",
    "follow",
    "format_datetime",
    "like",
    "move",
    "note",
    "ordered_collection",
    "ordered_collection_page",
    "reject",
    "tombstone",
    "undo",
    "update",
]

_TERMS: dict[str, str] = {
    "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag",
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
    "toot": "http://joinmastodon.org/ns#",
    "Emoji": "toot:Emoji",
    "discoverable": "toot:discoverable",
}

CONTEXT: list[str | dict[str, str]] = [AS_CONTEXT, SECURITY_CONTEXT, _TERMS]

ACTOR_CONTEXT_WITH_MULTIKEY: list[str | dict[str, Any]] = [
    AS_CONTEXT,
    SECURITY_CONTEXT,
    MULTIKEY_CONTEXT,
    {
        **_TERMS,
        "assertionMethod": {
            "@id": "https://w3id.org/security#assertionMethod",
            "@type": "@id",
            "@container": "@set",
        },
    },
]
"""The context of an actor that lists a Multikey (FEP-521a): ``Multikey``, ``controller`` and
``publicKeyMultibase`` come from multikey/v1 (a type-scoped context), ``assertionMethod`` is
declared here (data-integrity/v1 defines it only inside proofs)."""

ObjectValue = str | Mapping[str, Any]


def _context() -> list[str | dict[str, str]]:
    return copy.deepcopy(CONTEXT)


def format_datetime(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC; a naive datetime is taken as UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _embed(value: ObjectValue) -> str | dict[str, Any]:
    if isinstance(value, str):
        return value
    return {key: item for key, item in value.items() if key != "@context"}


def actor_document(
    *,
    id: str,
    type: str,
    preferred_username: str,
    name: str | None,
    summary: str | None,
    inbox: str,
    outbox: str,
    followers: str,
    following: str,
    shared_inbox: str | None,
    key_id: str,
    public_key_pem: str,
    manually_approves_followers: bool,
    url: str | None,
    published: datetime | None,
    icon_url: str | None = None,
    ed25519_key_id: str | None = None,
    ed25519_public_multibase: str | None = None,
    also_known_as: Sequence[str] = (),
    moved_to: str | None = None,
) -> dict[str, Any]:
    """An actor document (Person, Group, Service, ...) with its RSA key and shared inbox.

    With ``ed25519_key_id`` and ``ed25519_public_multibase`` the document also lists that key
    under ``assertionMethod`` as a FEP-521a ``Multikey`` controlled by the actor.
    ``also_known_as`` (the person's other accounts) is published as ``alsoKnownAs``, always an
    array; ``moved_to`` as ``movedTo`` (declared in ``@context`` the way Mastodon does).
    """
    multikey = ed25519_key_id is not None and ed25519_public_multibase is not None
    doc: dict[str, Any] = {
        "@context": copy.deepcopy(ACTOR_CONTEXT_WITH_MULTIKEY) if multikey else _context(),
        "id": id,
        "type": type,
        "preferredUsername": preferred_username,
        "inbox": inbox,
        "outbox": outbox,
        "followers": followers,
        "following": following,
        "manuallyApprovesFollowers": manually_approves_followers,
        "publicKey": {"id": key_id, "owner": id, "publicKeyPem": public_key_pem},
    }
    if name is not None:
        doc["name"] = name
    if summary is not None:
        doc["summary"] = summary
    if shared_inbox is not None:
        doc["endpoints"] = {"sharedInbox": shared_inbox}
    if url is not None:
        doc["url"] = url
    if published is not None:
        doc["published"] = format_datetime(published)
    if icon_url is not None:
        doc["icon"] = {"type": "Image", "url": icon_url}
    if also_known_as:
        doc["alsoKnownAs"] = list(also_known_as)
    if moved_to is not None:
        doc["movedTo"] = moved_to
        doc["@context"][-1]["movedTo"] = {"@id": "as:movedTo", "@type": "@id"}
    if multikey:
        doc["assertionMethod"] = [
            {
                "id": ed25519_key_id,
                "type": "Multikey",
                "controller": id,
                "publicKeyMultibase": ed25519_public_multibase,
            }
        ]
    return doc


def note(
    *,
    id: str,
    attributed_to: str,
    content: str,
    to: Iterable[str],
    cc: Iterable[str],
    published: datetime,
    type: str = "Note",
    in_reply_to: str | None = None,
    url: str | None = None,
    summary: str | None = None,
    sensitive: bool = False,
    updated: datetime | None = None,
    name: str | None = None,
    content_map: Mapping[str, str] | None = None,
    likes: ObjectValue | None = None,
    shares: ObjectValue | None = None,
    replies: ObjectValue | None = None,
    tags: Sequence[Mapping[str, Any]] | None = None,
    attachments: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Note (or Article, Question, ... via ``type``) with list-valued, canonical to/cc."""
    doc: dict[str, Any] = {
        "@context": _context(),
        "id": id,
        "type": type,
        "attributedTo": attributed_to,
        "content": content,
        "to": list(canonical(to)),
        "cc": list(canonical(cc)),
        "published": format_datetime(published),
        "sensitive": sensitive,
    }
    optional: dict[str, Any] = {
        "inReplyTo": in_reply_to,
        "url": url,
        "summary": summary,
        "name": name,
        "updated": format_datetime(updated) if updated is not None else None,
        "contentMap": dict(content_map) if content_map is not None else None,
        "likes": _embed(likes) if likes is not None else None,
        "shares": _embed(shares) if shares is not None else None,
        "replies": _embed(replies) if replies is not None else None,
        "tag": [dict(tag) for tag in tags] if tags is not None else None,
        "attachment": [dict(item) for item in attachments] if attachments is not None else None,
    }
    doc.update({key: value for key, value in optional.items() if value is not None})
    return doc


def activity(
    *,
    type: str,
    id: str,
    actor: str,
    object: ObjectValue,
    to: Iterable[str] = (),
    cc: Iterable[str] = (),
    published: datetime | None = None,
    target: str | None = None,
) -> dict[str, Any]:
    """Any activity; an embedded ``object`` loses its own ``@context``."""
    doc: dict[str, Any] = {
        "@context": _context(),
        "id": id,
        "type": type,
        "actor": actor,
        "object": _embed(object),
        "to": list(canonical(to)),
        "cc": list(canonical(cc)),
    }
    if published is not None:
        doc["published"] = format_datetime(published)
    if target is not None:
        doc["target"] = target
    return doc


def _audience_of(
    object: ObjectValue, to: Iterable[str], cc: Iterable[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    to_ids, cc_ids = tuple(to), tuple(cc)
    if not to_ids and not cc_ids and isinstance(object, Mapping):
        raw_to, raw_cc = object.get("to", ()), object.get("cc", ())
        to_ids = tuple(raw_to) if isinstance(raw_to, list | tuple) else (raw_to,)
        cc_ids = tuple(raw_cc) if isinstance(raw_cc, list | tuple) else (raw_cc,)
    return to_ids, cc_ids


def create(
    *,
    id: str,
    actor: str,
    object: ObjectValue,
    to: Iterable[str] = (),
    cc: Iterable[str] = (),
    published: datetime | None = None,
) -> dict[str, Any]:
    """Create; without to/cc it copies the embedded object's audience."""
    to_ids, cc_ids = _audience_of(object, to, cc)
    return activity(
        type="Create", id=id, actor=actor, object=object, to=to_ids, cc=cc_ids, published=published
    )


def update(
    *,
    id: str,
    actor: str,
    object: ObjectValue,
    to: Iterable[str] = (),
    cc: Iterable[str] = (),
    published: datetime | None = None,
) -> dict[str, Any]:
    """Update; without to/cc it copies the embedded object's audience."""
    to_ids, cc_ids = _audience_of(object, to, cc)
    return activity(
        type="Update", id=id, actor=actor, object=object, to=to_ids, cc=cc_ids, published=published
    )


def delete(
    *,
    id: str,
    actor: str,
    object: ObjectValue,
    to: Iterable[str] = (),
    cc: Iterable[str] = (),
    published: datetime | None = None,
) -> dict[str, Any]:
    """Delete of an object (an id or a Tombstone) or of an actor."""
    return activity(
        type="Delete", id=id, actor=actor, object=object, to=to, cc=cc, published=published
    )


def follow(*, id: str, actor: str, object: str, to: Iterable[str] | None = None) -> dict[str, Any]:
    """Follow of ``object``, addressed to it unless ``to`` says otherwise."""
    return activity(
        type="Follow", id=id, actor=actor, object=object, to=(object,) if to is None else to
    )


def accept(*, id: str, actor: str, object: ObjectValue, to: Iterable[str] = ()) -> dict[str, Any]:
    """Accept of a Follow (embed the Follow so peers need not fetch it)."""
    return activity(type="Accept", id=id, actor=actor, object=object, to=to)


def reject(*, id: str, actor: str, object: ObjectValue, to: Iterable[str] = ()) -> dict[str, Any]:
    """Reject of a Follow."""
    return activity(type="Reject", id=id, actor=actor, object=object, to=to)


def undo(
    *,
    id: str,
    actor: str,
    object: ObjectValue,
    to: Iterable[str] = (),
    cc: Iterable[str] = (),
) -> dict[str, Any]:
    """Undo of an earlier activity (embedded, with its id)."""
    return activity(type="Undo", id=id, actor=actor, object=object, to=to, cc=cc)


def like(
    *,
    id: str,
    actor: str,
    object: str,
    to: Iterable[str] = (),
    cc: Iterable[str] = (),
    content: str | None = None,
) -> dict[str, Any]:
    """Like of an object; ``content`` carries an emoji reaction (Misskey style)."""
    doc = activity(type="Like", id=id, actor=actor, object=object, to=to, cc=cc)
    if content is not None:
        doc["content"] = content
    return doc


def announce(
    *,
    id: str,
    actor: str,
    object: str,
    to: Iterable[str] = (),
    cc: Iterable[str] = (),
    published: datetime | None = None,
) -> dict[str, Any]:
    """Announce (boost) of an object by reference, as Mastodon sends it."""
    return activity(
        type="Announce", id=id, actor=actor, object=object, to=to, cc=cc, published=published
    )


def move(
    *,
    id: str,
    actor: str,
    target: str,
    to: Iterable[str] = (),
    cc: Iterable[str] = (),
    published: datetime | None = None,
) -> dict[str, Any]:
    """Move of ``actor`` to the account ``target`` (whose ``alsoKnownAs`` lists ``actor``)."""
    return activity(
        type="Move",
        id=id,
        actor=actor,
        object=actor,
        to=to,
        cc=cc,
        published=published,
        target=target,
    )


def tombstone(*, id: str, former_type: str, deleted: datetime) -> dict[str, Any]:
    """The Tombstone served in place of a deleted object."""
    return {
        "@context": _context(),
        "id": id,
        "type": "Tombstone",
        "formerType": former_type,
        "deleted": format_datetime(deleted),
    }


def ordered_collection(
    *,
    id: str,
    total_items: int,
    first: str | None = None,
    ordered_items: Sequence[ObjectValue] | None = None,
) -> dict[str, Any]:
    """An OrderedCollection (outbox, followers, ...), paged via ``first`` or inline items."""
    doc: dict[str, Any] = {
        "@context": _context(),
        "id": id,
        "type": "OrderedCollection",
        "totalItems": total_items,
    }
    if first is not None:
        doc["first"] = first
    if ordered_items is not None:
        doc["orderedItems"] = [_embed(item) for item in ordered_items]
    return doc


def ordered_collection_page(
    *,
    id: str,
    part_of: str,
    ordered_items: Sequence[ObjectValue],
    next: str | None = None,
    prev: str | None = None,
) -> dict[str, Any]:
    """One page of an OrderedCollection."""
    doc: dict[str, Any] = {
        "@context": _context(),
        "id": id,
        "type": "OrderedCollectionPage",
        "partOf": part_of,
        "orderedItems": [_embed(item) for item in ordered_items],
    }
    if next is not None:
        doc["next"] = next
    if prev is not None:
        doc["prev"] = prev
    return doc
