"""Typed, immutable shapes that the tolerant reader produces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from activitystreams.audience import is_public as _is_public

__all__ = ["Activity", "Actor", "Collection", "Multikey", "Object", "PollOption", "PublicKey"]


@dataclass(frozen=True, slots=True)
class PublicKey:
    """An actor's PEM public key, as published in ``publicKey``."""

    id: str
    owner: str
    pem: str


@dataclass(frozen=True, slots=True)
class Multikey:
    """An Ed25519 key listed under ``assertionMethod`` (FEP-521a), already checked to decode.

    ``public_key_multibase`` is ``z6Mk...``; ``raw`` is the 32-byte public key it encodes.
    """

    id: str
    controller: str
    public_key_multibase: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class Actor:
    """A Person, Group, Service, Application or Organization."""

    id: str
    type: str
    preferred_username: str | None
    name: str | None
    summary: str | None
    inbox: str
    outbox: str | None
    followers: str | None
    following: str | None
    shared_inbox: str | None
    public_keys: tuple[PublicKey, ...]
    manually_approves_followers: bool
    url: str | None
    also_known_as: tuple[str, ...]
    icon_url: str | None
    raw: Mapping[str, Any]
    multikeys: tuple[Multikey, ...] = ()  # Ed25519 keys from assertionMethod (FEP-521a)


@dataclass(frozen=True, slots=True)
class PollOption:
    """One answer of a Question, with the votes its origin counted."""

    name: str
    votes: int


@dataclass(frozen=True, slots=True)
class Collection:
    """A Collection, OrderedCollection or one of their pages; items are ids or embedded objects."""

    id: str | None
    type: str
    total_items: int | None
    first: str | None
    next: str | None
    prev: str | None
    part_of: str | None
    items: tuple[str | Mapping[str, Any], ...]
    raw: Mapping[str, Any]

    @property
    def is_page(self) -> bool:
        return self.type.endswith("Page")


@dataclass(frozen=True, slots=True)
class Object:
    """A content object (Note, Article, Video, ...); unknown types land here too."""

    id: str | None
    type: str
    attributed_to: tuple[str, ...]
    content: str | None
    content_map: Mapping[str, str]
    summary: str | None
    name: str | None
    in_reply_to: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bto: tuple[str, ...]
    bcc: tuple[str, ...]
    audience: tuple[str, ...]
    published: datetime | None
    updated: datetime | None
    sensitive: bool
    url: str | None
    tags: tuple[Mapping[str, Any], ...]
    attachments: tuple[Mapping[str, Any], ...]
    raw: Mapping[str, Any]
    options: tuple[PollOption, ...] = ()  # a Question's answers (oneOf or anyOf)
    multiple_choice: bool = False  # anyOf
    closed: datetime | None = None  # closed or endTime

    @property
    def is_public(self) -> bool:
        """True when Public is in to or cc (public or unlisted)."""
        return _is_public(self.to + self.cc)

    def author_for(self, actor: str) -> str | None:
        """The attributedTo entry that is ``actor`` (the signer), or None if it is not listed."""
        return actor if actor in self.attributed_to else None


@dataclass(frozen=True, slots=True)
class Activity:
    """An activity; ``object`` is the parsed embedded object, None when only referenced."""

    id: str | None
    type: str
    actor: str
    object_id: str | None
    object: Object | Activity | Actor | None
    target: str | None
    to: tuple[str, ...]
    cc: tuple[str, ...]
    bto: tuple[str, ...]
    bcc: tuple[str, ...]
    audience: tuple[str, ...]
    published: datetime | None
    content: str | None
    raw: Mapping[str, Any]

    @property
    def is_public(self) -> bool:
        """True when Public is in to or cc (public or unlisted)."""
        return _is_public(self.to + self.cc)
