"""Find actors: local ones by name, remote ones by handle (WebFinger) or URI (signed fetch)."""

from __future__ import annotations

from urllib.parse import urlsplit

from activitystreams import Actor as ASActor
from activitystreams import InvalidDocument, parse_actor
from federation import webfinger
from federation.errors import FederationError

from ..errors import Invalid, NotFound
from ..models import Actor
from ..runtime import Runtime
from ..stores import upsert_actor
from .accounts import signing_key

__all__ = ["MAX_REF", "fetch_actor", "fetch_actor_document", "find_actor", "resolve_actor"]

MAX_REF = 500  # longer than any actor URL or handle this node stores


async def find_actor(rt: Runtime, ref: str) -> Actor | None:
    """A known actor by URI, ``user@host`` / ``@user@host`` handle, or local username."""
    ref = ref.strip()
    if len(ref) > MAX_REF:
        return None
    if ref.startswith(("http://", "https://")):
        return await Actor.filter(uri=ref).first()
    handle = ref.lstrip("@")
    if "@" not in handle:
        return await Actor.filter(local=True, username=handle.lower(), type="Person").first()
    user, host = handle.rsplit("@", 1)
    if host.lower() == rt.settings.netloc.lower():
        return await Actor.filter(local=True, username=user.lower(), type="Person").first()
    return await Actor.filter(username__iexact=user, domain=host.lower()).first()


async def resolve_actor(rt: Runtime, ref: str) -> Actor:
    """Like find_actor, but look a remote actor up (WebFinger, signed GET) when unknown."""
    actor = await find_actor(rt, ref)
    if actor is not None:
        return actor
    ref = ref.strip()
    if not ref.startswith(("http://", "https://")):
        handle = ref.lstrip("@")
        if "@" not in handle:
            raise NotFound(f"no local account {handle}")
        scheme = urlsplit(rt.base_url).scheme
        try:
            ref = await webfinger.lookup(rt.client, handle, scheme=scheme)
        except FederationError as exc:
            raise NotFound(f"cannot find {handle}: {exc.message}") from exc
        known = await Actor.filter(uri=ref).first()
        if known is not None:
            return known
    return await fetch_actor(rt, ref)


async def fetch_actor_document(rt: Runtime, uri: str) -> ASActor:
    """The actor document at ``uri``, fetched now with a signed GET (never from the cache).

    Raises federation's FederationError when it cannot be fetched and InvalidDocument when it
    is not an actor.
    """
    key = await signing_key(rt, rt.instance_actor_uri)
    return parse_actor(await rt.client.get_json(uri, key=key))


async def fetch_actor(rt: Runtime, uri: str) -> Actor:
    if not rt.settings.allows(urlsplit(uri).netloc):
        raise Invalid(f"domain not allowed: {urlsplit(uri).netloc}")
    try:
        parsed = await fetch_actor_document(rt, uri)
    except FederationError as exc:
        raise NotFound(f"cannot fetch {uri}: {exc.message}") from exc
    except InvalidDocument as exc:
        raise Invalid(f"{uri} is not an actor: {exc.message}") from exc
    return await upsert_actor(parsed)
