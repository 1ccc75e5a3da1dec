"""Resolve a signature's keyId to a trusted public key: cache first, signed fetch second."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from urllib.parse import urldefrag

from activitystreams import InvalidDocument, parse_actor
from activitystreams.vocab import ACTOR_TYPES

from .errors import FetchError, SignatureError
from .fetch import HttpClient
from .keys import SigningKey
from .protocols import ActorStore, StoredKey

__all__ = ["KeyResolver"]

REFETCH_INTERVAL = 60.0  # seconds between two refetches of the same keyId


class KeyResolver:
    """Find the public key for a keyId; fetch the owning actor with a signed GET when unknown.

    Accepts the three keyId forms seen in the wild (``actor#main-key``, ``actor/key`` documents
    that name their owner, and the bare actor URL) and never recurses deeper than one fetch of
    the key document plus one fetch of its owner.
    """

    def __init__(
        self,
        store: ActorStore,
        client: HttpClient,
        instance_key: Callable[[], Awaitable[SigningKey]],
    ) -> None:
        self._store = store
        self._client = client
        self._instance_key = instance_key
        self._last_fetch: dict[str, float] = {}

    async def cached(self, key_id: str) -> StoredKey | None:
        return await self._store.key(key_id)

    async def resolve(self, key_id: str) -> StoredKey:
        key = await self._store.key(key_id)
        if key is not None:
            return key
        return await self.fetch(key_id)

    def may_refetch(self, key_id: str) -> bool:
        """A failed verification may refetch a cached key once a minute, never in a loop."""
        last = self._last_fetch.get(key_id)
        return last is None or time.monotonic() - last > REFETCH_INTERVAL

    async def fetch(self, key_id: str) -> StoredKey:
        self._last_fetch[key_id] = time.monotonic()
        url, fragment = urldefrag(key_id)
        signer = await self._instance_key()
        try:
            doc = await self._client.get_json(url, key=signer)
            if _type_of(doc) not in ACTOR_TYPES:
                # A standalone key document (``owner`` + ``publicKeyPem``): fetch its owner.
                owner = doc.get("owner") or doc.get("controller")
                if not isinstance(owner, str):
                    raise SignatureError(f"key document {url} names no owner")
                doc = await self._client.get_json(owner, key=signer)
            actor = parse_actor(doc)
        except FetchError as exc:
            raise SignatureError(f"could not fetch key {key_id}: {exc.message}") from exc
        except InvalidDocument as exc:
            raise SignatureError(f"key owner document is invalid: {exc.message}") from exc
        keys = actor.public_keys
        chosen = next((k for k in keys if k.id == key_id), None)
        if chosen is None and not fragment and len(keys) == 1:
            chosen = keys[0]
        if chosen is None:
            raise SignatureError(f"actor {actor.id} has no public key {key_id}")
        if chosen.owner != actor.id:
            raise SignatureError(f"key {key_id} is owned by {chosen.owner}, not {actor.id}")
        await self._store.remember(actor)
        return StoredKey(key_id=key_id, owner=actor.id, pem=chosen.pem)


def _type_of(doc: dict[str, object]) -> str | None:
    value = doc.get("type")
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    return value if isinstance(value, str) else None
