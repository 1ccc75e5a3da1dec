"""What federation needs from the application, as small interfaces the node implements.

federation never imports node: it talks to storage and to the application only through these.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from activitystreams.model import Activity, Actor

__all__ = [
    "ActivityHandler",
    "ActorStore",
    "DeliveryJob",
    "DeliveryQueue",
    "DocumentSource",
    "InboxLog",
    "InboxRecord",
    "PeerPreferences",
    "StoredKey",
]


@dataclass(frozen=True, slots=True)
class StoredKey:
    """A public key we trust for ``owner`` (an actor id)."""

    key_id: str
    owner: str
    pem: str


class ActorStore(Protocol):
    """Remote actors and their keys, cached by the node."""

    async def key(self, key_id: str) -> StoredKey | None: ...

    async def remember(self, actor: Actor) -> None:
        """Store or refresh a fetched actor document and its keys."""


@dataclass(frozen=True, slots=True)
class InboxRecord:
    id: int
    activity_id: str
    signer: str
    payload: bytes
    attempts: int
    received_at: datetime


class InboxLog(Protocol):
    """The durable log of accepted activities: the inbox queue."""

    async def record(self, *, activity_id: str, signer: str, payload: bytes) -> bool:
        """Commit the activity; return False when this activity id was already recorded."""

    async def claim(self, *, limit: int, now: datetime) -> Sequence[InboxRecord]:
        """Take up to ``limit`` due records for processing (no other worker gets them)."""

    async def finish(
        self, record: InboxRecord, *, state: str, error: str | None, retry_at: datetime | None
    ) -> None:
        """Record the outcome: processed, rejected, or errored (retried at ``retry_at``)."""


@dataclass(frozen=True, slots=True)
class DeliveryJob:
    id: int
    inbox: str
    payload: bytes
    signer: str  # local actor id whose key signs the delivery
    attempts: int
    created_at: datetime


class DeliveryQueue(Protocol):
    async def claim(self, *, limit: int, now: datetime) -> Sequence[DeliveryJob]: ...

    async def finish(
        self,
        job: DeliveryJob,
        *,
        state: str,
        status: int | None,
        error: str | None,
        retry_at: datetime | None,
    ) -> None: ...


class PeerPreferences(Protocol):
    """What we learned about each peer server: which signature scheme its inbox accepts.

    ``host`` is the inbox URL's netloc (``host`` or ``host:port``); a scheme is ``"rfc9421"`` or
    ``"cavage"`` (``federation.fetch.RFC9421`` / ``CAVAGE``).
    """

    async def scheme(self, host: str) -> str | None:
        """The scheme that last worked for ``host``, or None when we do not know yet."""

    async def remember(self, host: str, scheme: str) -> None:
        """Record that ``scheme`` worked for ``host``."""


class DocumentSource(Protocol):
    """Serves the node's ActivityPub documents (actors, objects, collections)."""

    async def document(
        self, path: str, query: Mapping[str, str], requester: str | None
    ) -> dict[str, Any] | None:
        """The JSON document at ``path`` as ``requester`` (the signer) may see it, or None."""

    async def is_public_key_document(self, path: str) -> bool:
        """True for documents that must be served unsigned (actors: key bootstrap)."""

    async def webfinger(self, username: str) -> str | None:
        """The actor id of a local username (already lower-cased), or None."""

    async def nodeinfo_usage(self) -> Mapping[str, int]:
        """users_total, users_active_month, users_active_halfyear, local_posts."""


class ActivityHandler(Protocol):
    """The application's side effects for one accepted activity (one transaction).

    Raise ``federation.errors.Rejected`` to refuse it by policy, ``RetryLater`` when it cannot be
    applied yet; any other exception counts as an error and is retried with backoff.
    """

    async def handle(self, activity: Activity, *, signer: str) -> None: ...
