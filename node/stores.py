"""The node's implementations of federation's storage interfaces, on tortoise-orm."""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar
from urllib.parse import urlsplit

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.models import Model
from tortoise.transactions import in_transaction

from activitystreams.model import Actor as ASActor
from federation.keys import multibase_to_pem
from federation.protocols import DeliveryJob, InboxRecord, StoredKey
from federation.states import (
    DELIVERY_TRANSITIONS,
    INBOX_TRANSITIONS,
    DeliveryState,
    InboxState,
    check_transition,
)

from .convert.html import sanitize_remote_html
from .models import Actor, Delivery, InboxEntry, Peer

__all__ = [
    "DbActorStore",
    "DbDeliveryQueue",
    "DbInboxLog",
    "DbPeerPreferences",
    "Leases",
    "worker_identity",
]

M = TypeVar("M", bound=Model)
log = logging.getLogger("plein.node")


def worker_identity() -> str:
    """A name for this worker process, unique across machines: host, pid and a random tag."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


class Leases:
    """Claims on the rows of one job table (inbox log or delivery queue), held by one process.

    A claimed row carries ``lease_owner`` and ``locked_until``. The owner renews its leases while
    it lives (``renew``); a process that dies stops renewing and its rows become claimable again
    when the lease runs out. On PostgreSQL the claim takes the rows with ``FOR UPDATE SKIP
    LOCKED`` so concurrent claimers on any machine never take the same row; a job is finished only
    by the process that still holds its lease.
    """

    def __init__(self, model: type[Model], *, owner: str, lease: timedelta, postgres: bool) -> None:
        self.model = model
        self.owner = owner
        self.lease = lease
        self._postgres = postgres

    async def claim(self, *, limit: int, now: datetime) -> list[Any]:
        async with in_transaction() as conn:
            query = (
                self.model.filter(state="pending", next_attempt_at__lte=now)
                .filter(Q(locked_until=None) | Q(locked_until__lt=now))
                .order_by("id")
                .limit(limit)
                .using_db(conn)
            )
            if self._postgres:
                query = query.select_for_update(skip_locked=True)
            rows = await query
            if rows:
                await (
                    self.model.filter(id__in=[r.pk for r in rows])
                    .using_db(conn)
                    .update(locked_until=now + self.lease, lease_owner=self.owner)
                )
        return list(rows)

    async def finish(self, row_id: int, **values: Any) -> bool:
        """Write a job's outcome if this process still holds its lease; False if it lost it."""
        done = await self.model.filter(id=row_id, lease_owner=self.owner).update(
            locked_until=None, lease_owner=None, **values
        )
        if not done:
            log.warning(
                "%s %s: lease lost (this worker stalled past its lease); its outcome is left to "
                "the worker that took it over",
                self.model._meta.db_table,
                row_id,
            )
        return bool(done)

    async def renew(self, now: datetime) -> int:
        """Extend every lease this process holds; called well within the lease period."""
        return await self.model.filter(
            state="pending", lease_owner=self.owner, locked_until__not_isnull=True
        ).update(locked_until=now + self.lease)

    async def release_all(self) -> None:
        """Hand back every lease of the table: only for a node that is one process (SQLite)."""
        await self.model.filter(state="pending").update(locked_until=None, lease_owner=None)


class DbActorStore:
    async def key(self, key_id: str) -> StoredKey | None:
        actor = await Actor.filter(key_id=key_id).first()
        if actor is None:
            multikey = await Actor.filter(ed25519_key_id=key_id).first()
            if multikey is not None and multikey.ed25519_public_multibase:
                pem = multibase_to_pem(multikey.ed25519_public_multibase)
                return StoredKey(key_id=key_id, owner=multikey.uri, pem=pem)
            # keyId forms: a bare actor URL, or a fragment we cached under the actor id
            actor = await Actor.filter(uri=key_id.split("#", 1)[0]).first()
            if actor is None or (actor.key_id != key_id and "#" in key_id):
                return None
        if actor.public_key_pem is None:
            return None
        return StoredKey(key_id=key_id, owner=actor.uri, pem=actor.public_key_pem)

    async def remember(self, actor: ASActor) -> None:
        await upsert_actor(actor)


async def upsert_actor(doc: ASActor) -> Actor:
    """Store or refresh a remote actor from its (verified or fetched) document."""
    key = doc.public_keys[0] if doc.public_keys else None
    values: dict[str, Any] = {
        "type": doc.type,
        "username": doc.preferred_username or doc.id.rstrip("/").rsplit("/", 1)[-1],
        "domain": urlsplit(doc.id).netloc,
        "name": doc.name or "",
        "summary": sanitize_remote_html(doc.summary or ""),
        "inbox": doc.inbox,
        "shared_inbox": doc.shared_inbox,
        "outbox": doc.outbox,
        "followers_uri": doc.followers,
        "manually_approves": doc.manually_approves_followers,
        "also_known_as": [u for u in doc.also_known_as if len(u) <= 512][:20],
        "fetched_at": datetime.now().astimezone(),
    }
    if key is not None:
        values["key_id"] = key.id
        values["public_key_pem"] = key.pem
    multikey = next((k for k in doc.multikeys if k.controller == doc.id), None)
    values["ed25519_key_id"] = multikey.id if multikey else None
    values["ed25519_public_multibase"] = multikey.public_key_multibase if multikey else None
    existing = await Actor.filter(uri=doc.id).first()
    if existing is None:
        try:
            return await Actor.create(uri=doc.id, local=False, **values)
        except IntegrityError:
            # A concurrent request (a new peer's first burst) stored it a moment ago.
            existing = await Actor.get(uri=doc.id)
    if existing.local:
        return existing
    await Actor.filter(id=existing.id).update(**values)
    await existing.refresh_from_db()
    return existing


class DbInboxLog:
    def __init__(self, *, postgres: bool, owner: str, lease: timedelta) -> None:
        self.leases = Leases(InboxEntry, owner=owner, lease=lease, postgres=postgres)

    async def record(self, *, activity_id: str, signer: str, payload: bytes) -> bool:
        """One INSERT on the hot path; the unique activity id turns a duplicate into False."""
        now = datetime.now().astimezone()
        try:
            await InboxEntry.create(
                activity_id=activity_id,
                signer=signer,
                payload=payload,
                state=InboxState.PENDING,
                next_attempt_at=now,
                received_at=now,
            )
        except IntegrityError:
            return False
        return True

    async def claim(self, *, limit: int, now: datetime) -> Sequence[InboxRecord]:
        rows = await self.leases.claim(limit=limit, now=now)
        return [
            InboxRecord(
                id=r.id,
                activity_id=r.activity_id,
                signer=r.signer,
                payload=bytes(r.payload),
                attempts=r.attempts,
                received_at=r.received_at,
            )
            for r in rows
        ]

    async def finish(
        self, record: InboxRecord, *, state: str, error: str | None, retry_at: datetime | None
    ) -> None:
        check_transition(INBOX_TRANSITIONS, InboxState.PENDING, state)  # type: ignore[arg-type]
        now = datetime.now().astimezone()
        await self.leases.finish(
            record.id,
            state=state,
            attempts=record.attempts + (0 if state == InboxState.PROCESSED else 1),
            last_error=error,
            next_attempt_at=retry_at or now,
            finished_at=None if state == InboxState.PENDING else now,
        )


class DbDeliveryQueue:
    def __init__(self, *, postgres: bool, owner: str, lease: timedelta) -> None:
        self.leases = Leases(Delivery, owner=owner, lease=lease, postgres=postgres)

    async def claim(self, *, limit: int, now: datetime) -> Sequence[DeliveryJob]:
        rows = await self.leases.claim(limit=limit, now=now)
        return [
            DeliveryJob(
                id=r.id,
                inbox=r.inbox,
                payload=bytes(r.payload),
                signer=r.signer,
                attempts=r.attempts,
                created_at=r.created_at,
            )
            for r in rows
        ]

    async def finish(
        self,
        job: DeliveryJob,
        *,
        state: str,
        status: int | None,
        error: str | None,
        retry_at: datetime | None,
    ) -> None:
        check_transition(DELIVERY_TRANSITIONS, DeliveryState.PENDING, state)  # type: ignore[arg-type]
        now = datetime.now().astimezone()
        await self.leases.finish(
            job.id,
            state=state,
            attempts=job.attempts + 1,
            last_status=status,
            last_error=error,
            next_attempt_at=retry_at or now,
            finished_at=None if state == DeliveryState.PENDING else now,
        )


class DbPeerPreferences:
    """Which signature scheme each peer host accepts, in the ``peers`` table.

    Answers are cached in memory (one row per peer, read on every delivery); another process's
    newer answer is picked up at the next 401, which makes the worker knock with the other scheme.
    """

    def __init__(self) -> None:
        self._cache: dict[str, str | None] = {}

    async def scheme(self, host: str) -> str | None:
        if host not in self._cache:
            row = await Peer.filter(host=host).first()
            self._cache[host] = row.signature_scheme if row else None
        return self._cache[host]

    async def remember(self, host: str, scheme: str) -> None:
        if not await Peer.filter(host=host).update(signature_scheme=scheme):
            try:
                await Peer.create(host=host, signature_scheme=scheme)
            except IntegrityError:  # another worker created it meanwhile
                await Peer.filter(host=host).update(signature_scheme=scheme)
        self._cache[host] = scheme
