"""Moving an account to another node (``Move``), both ways.

A Move is only honoured when the target account, fetched fresh (never from the cache), lists
the old account in its ``alsoKnownAs``. The local followers of the old account then follow the
new one and stop following the old one, each follower on its own: one failure does not stop
the others, and running the migration again only finishes what is left (it is idempotent).
"""

from __future__ import annotations

import logging
import secrets
from urllib.parse import urlsplit

from tortoise.transactions import in_transaction

from activitystreams import InvalidDocument, build
from federation.errors import FederationError

from ..errors import Conflict, Invalid, NotFound
from ..models import Actor, Follow
from ..runtime import Runtime
from ..stores import upsert_actor
from . import follows
from .actors import fetch_actor_document, resolve_actor
from .outbox import deliver, followers_inboxes

__all__ = ["fresh_target", "migrate_followers", "move_account", "resolve_aliases"]

log = logging.getLogger("plein.moves")

MAX_ALIASES = 10


async def fresh_target(rt: Runtime, old_uri: str, target_uri: str) -> Actor:
    """The Move target, fetched now, after checking that its ``alsoKnownAs`` lists ``old_uri``.

    Raises Invalid when the Move must be refused, NotFound when the target cannot be fetched
    now (worth retrying).
    """
    if target_uri == old_uri:
        raise Invalid("the target of a Move must be another account")
    if target_uri.startswith(rt.base_url + "/"):
        target = await Actor.filter(uri=target_uri, local=True).first()
        if target is None or target.type != "Person":
            raise Invalid(f"no local account {target_uri}")
    else:
        host = urlsplit(target_uri).netloc
        if not rt.settings.allows(host):
            raise Invalid(f"domain not allowed: {host}")
        try:
            doc = await fetch_actor_document(rt, target_uri)
        except FederationError as exc:
            raise NotFound(f"cannot fetch the target {target_uri}: {exc.message}") from exc
        except InvalidDocument as exc:
            raise Invalid(f"the target {target_uri} is not an actor: {exc.message}") from exc
        if doc.id != target_uri:
            raise Invalid(f"the document at {target_uri} is another actor ({doc.id})")
        if old_uri not in doc.also_known_as:
            raise Invalid(_alias_failure(target_uri, old_uri))
        return await upsert_actor(doc)
    if old_uri not in (target.also_known_as or []):
        raise Invalid(_alias_failure(target_uri, old_uri))
    return target


def _alias_failure(target_uri: str, old_uri: str) -> str:
    return f"alsoKnownAs check failed: the target {target_uri} does not list {old_uri}"


async def migrate_followers(rt: Runtime, old: Actor, new: Actor) -> list[str]:
    """Every local follower of ``old`` follows ``new`` and stops following ``old``.

    Returns the failures (one line per follower); the followers that succeeded are done, so a
    second run only retries the failed ones and never duplicates a follow.
    """
    rows = await Follow.filter(followee=old, follower__local=True).select_related("follower")
    failures: list[str] = []
    for row in rows:
        follower = row.follower
        try:
            await _move_follower(rt, follower, old, new)
        except Exception as exc:  # isolated per follower; the caller retries the rest later
            log.warning("moving follower %s to %s failed: %s", follower.uri, new.uri, exc)
            failures.append(f"{follower.uri}: {exc}")
    return failures


async def _move_follower(rt: Runtime, follower: Actor, old: Actor, new: Actor) -> None:
    if follower.id != new.id:
        # Returns the existing follow when there is one (a retry): no second Follow is sent.
        await follows.follow(rt, follower, new.uri)
    if old.local:
        await Follow.filter(follower=follower, followee=old).delete()
    else:
        await follows.unfollow(rt, follower, old.uri)  # Undo{Follow} to the old account


async def resolve_aliases(rt: Runtime, refs: list[str]) -> list[str]:
    """Handles or actor URLs of the person's other accounts, as actor ids."""
    if len(refs) > MAX_ALIASES:
        raise Invalid(f"also_known_as: at most {MAX_ALIASES} accounts")
    uris: list[str] = []
    for ref in refs:
        if not isinstance(ref, str) or not ref.strip():
            raise Invalid("also_known_as: a list of handles or actor URLs")
        actor = await resolve_actor(rt, ref)
        if actor.uri not in uris:
            uris.append(actor.uri)
    return uris


async def move_account(rt: Runtime, actor: Actor, target_ref: str) -> tuple[Actor, list[str]]:
    """Move the local ``actor`` to the account ``target_ref`` (handle or URL).

    Sends ``Move`` to the followers' inboxes and moves the local followers directly. Returns the
    actor and the followers that could not be moved (calling again retries them).
    """
    if not target_ref.strip():
        raise Invalid("target: missing (a handle user@host or an actor URL)")
    known = await resolve_actor(rt, target_ref)
    target = await fresh_target(rt, actor.uri, known.uri)
    if actor.moved_to_uri is not None and actor.moved_to_uri != target.uri:
        raise Conflict(f"this account has already moved to {actor.moved_to_uri}")
    if actor.moved_to_uri is None:
        async with in_transaction():
            actor.moved_to_uri = target.uri
            await actor.save()
            activity = build.move(
                id=f"{actor.uri}#moves/{secrets.token_hex(8)}",
                actor=actor.uri,
                target=target.uri,
                to=[actor.followers_uri or f"{actor.uri}/followers"],
                published=rt.clock(),
            )
            await deliver(rt, activity, signer=actor, inboxes=await followers_inboxes(actor))
    failures = await migrate_followers(rt, actor, target)
    return actor, failures
