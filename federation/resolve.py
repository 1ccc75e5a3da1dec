"""Resolve a signature's keyId to a trusted public key: cache first, signed fetch second."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from urllib.parse import urldefrag, urlsplit

from activitystreams import InvalidDocument, parse_actor
from activitystreams.model import PublicKey
from activitystreams.vocab import ACTOR_TYPES

from .errors import FetchError, SignatureError
from .fetch import HttpClient
from .keys import SigningKey, multibase_to_pem
from .protocols import ActorStore, StoredKey

__all__ = ["KeyResolver"]

REFETCH_INTERVAL = 60.0  # seconds between two refetches of the same keyId
KEY_CACHE_SECONDS = 300.0  # how long a key found in the store is trusted without asking again
_MAX_TRACKED = 10_000  # keyIds whose last refetch is remembered (older entries are pruned)


class KeyResolver:
    """Find the public key for a keyId; fetch the owning actor with a signed GET when unknown.

    Accepts the three keyId forms seen in the wild (``actor#main-key``, ``actor/key`` documents
    that name their owner, and the bare actor URL) and never recurses deeper than one fetch of
    the key document plus one fetch of its owner. A keyId may also name an Ed25519 ``Multikey``
    the actor lists under ``assertionMethod`` (FEP-521a, ``actor#ed25519-key``); its controller
    must be the actor.
    """

    def __init__(
        self,
        store: ActorStore,
        client: HttpClient,
        instance_key: Callable[[], Awaitable[SigningKey]],
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._client = client
        self._instance_key = instance_key
        self._clock = clock
        self._last_refetch: dict[str, float] = {}
        # keyId -> (key, monotonic expiry): one database query per key per KEY_CACHE_SECONDS
        # instead of one per request. A rotated key is found by the refetch after a failed
        # verification, and the expiry bounds how long a key deleted by another process is used.
        self._keys: dict[str, tuple[StoredKey, float]] = {}

    async def cached(self, key_id: str) -> StoredKey | None:
        now = self._clock()
        hit = self._keys.get(key_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        key = await self._store.key(key_id)
        if key is not None:
            self._keep(key, now)
        return key

    async def stored(self, key_id: str) -> StoredKey | None:
        """The key as the store has it now, bypassing the cache (and refreshing it).

        After a failed verification with a cached key: the store may hold a newer key, put there
        by an ``Update`` of the actor that this or another process has processed meanwhile.
        """
        self._keys.pop(key_id, None)
        return await self.cached(key_id)

    def _keep(self, key: StoredKey, now: float) -> None:
        if len(self._keys) >= _MAX_TRACKED:
            self._keys = {k: v for k, v in self._keys.items() if v[1] > now}
            if len(self._keys) >= _MAX_TRACKED:
                self._keys.clear()
        self._keys[key.key_id] = (key, now + KEY_CACHE_SECONDS)

    async def resolve(self, key_id: str) -> StoredKey:
        key = await self.cached(key_id)
        if key is not None:
            return key
        return await self.fetch(key_id)

    def may_refetch(self, key_id: str) -> bool:
        """Claim the refetch of a cached key after a failed verification; False if too soon.

        One refetch per keyId per REFETCH_INTERVAL, counted from the last *refetch*: the first
        ordinary fetch (a cache miss) does not count, so a key rotated right after first
        contact is picked up at once. A True answer is the claim itself (the caller refetches
        once), so concurrent or repeated bad signatures cause at most one fetch a minute.
        """
        now = self._clock()
        last = self._last_refetch.get(key_id)
        if last is not None and now - last < REFETCH_INTERVAL:
            return False
        if len(self._last_refetch) >= _MAX_TRACKED:
            self._last_refetch = {
                k: t for k, t in self._last_refetch.items() if now - t < REFETCH_INTERVAL
            }
        self._last_refetch[key_id] = now
        return True

    async def fetch(self, key_id: str) -> StoredKey:
        """Fetch the key's owner with a signed GET, store it, and keep the key in the cache."""
        self._keys.pop(key_id, None)
        key = await self._fetch(key_id)
        self._keep(key, self._clock())
        return key

    async def _fetch(self, key_id: str) -> StoredKey:
        url, fragment = urldefrag(key_id)
        signer = await self._instance_key()
        try:
            doc = await self._client.get_json(url, key=signer)
            listed = _key_entry(doc, key_id)
            owner_url: str | None = None
            if _type_of(doc) not in ACTOR_TYPES:
                # A standalone key document (``owner`` + ``publicKeyPem``): fetch its owner.
                owner = doc.get("owner") or doc.get("controller")
                if not isinstance(owner, str):
                    raise SignatureError(f"key document {url} names no owner")
                owner_url = owner
                listed = _key_entry({"publicKey": doc}, key_id)
            elif listed is not None and doc.get("id") != url and "inbox" not in doc:
                # A stub actor served at the key URL (GoToSocial): the real actor is the owner.
                owner = listed.get("owner")
                if isinstance(owner, str) and owner != url:
                    owner_url = owner
            if owner_url is not None:
                if urldefrag(owner_url)[0] == url:
                    raise SignatureError(f"key document {url} names itself as owner")
                doc = await self._client.get_json(owner_url, key=signer)
            actor = parse_actor(doc)
        except FetchError as exc:
            raise SignatureError(f"could not fetch key {key_id}: {exc.message}") from exc
        except InvalidDocument as exc:
            raise SignatureError(f"key owner document is invalid: {exc.message}") from exc
        keys = actor.public_keys
        chosen = next((k for k in keys if k.id == key_id), None)
        multikey = next((k for k in actor.multikeys if k.id == key_id), None)
        if chosen is None and multikey is not None:
            # An Ed25519 key under assertionMethod (FEP-521a). The actor is remembered as
            # fetched: its RSA key stays the stored ``publicKey``.
            if multikey.controller != actor.id:
                raise SignatureError(
                    f"key {key_id} is controlled by {multikey.controller}, not {actor.id}"
                )
            await self._store.remember(actor)
            multikey_pem = multibase_to_pem(multikey.public_key_multibase)
            return StoredKey(key_id=key_id, owner=actor.id, pem=multikey_pem)
        if chosen is None and owner_url is not None and listed is not None:
            # The owner's document lists its key under another id (``#main-key``) while the
            # key URL serves the same key: trust it when both live on the owner's host.
            pem = listed.get("publicKeyPem")
            if (
                isinstance(pem, str)
                and listed.get("owner", actor.id) == actor.id
                and urlsplit(url).netloc == urlsplit(actor.id).netloc
            ):
                chosen = PublicKey(id=key_id, owner=actor.id, pem=pem)
        if chosen is None and not fragment and len(keys) == 1:
            chosen = keys[0]
        if chosen is None:
            raise SignatureError(f"actor {actor.id} has no public key {key_id}")
        if chosen.owner != actor.id:
            raise SignatureError(f"key {key_id} is owned by {chosen.owner}, not {actor.id}")
        # Cache under the keyId the peer signs with, so the next request finds it without a
        # fetch (the store looks keys up by key id, and by actor id for a bare actor keyId).
        stored_key = replace(chosen, id=key_id) if key_id != actor.id else chosen
        others = tuple(k for k in keys if k.id != stored_key.id)
        await self._store.remember(replace(actor, public_keys=(stored_key, *others)))
        return StoredKey(key_id=key_id, owner=actor.id, pem=chosen.pem)


def _key_entry(doc: dict[str, object], key_id: str) -> dict[str, object] | None:
    """The ``publicKey`` entry of ``doc`` whose id is ``key_id``."""
    value = doc.get("publicKey")
    for entry in value if isinstance(value, list) else [value]:
        if isinstance(entry, dict) and entry.get("id") == key_id:
            return entry
    return None


def _type_of(doc: dict[str, object]) -> str | None:
    value = doc.get("type")
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    return value if isinstance(value, str) else None
