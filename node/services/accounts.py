"""Local accounts and the instance actor: keys, tokens, and signing keys for deliveries."""

from __future__ import annotations

import hashlib
import re
import secrets

from tortoise.transactions import in_transaction

from activitystreams import build
from federation.keys import (
    SigningKey,
    generate_ed25519_keypair,
    generate_rsa_keypair,
    pem_to_multibase,
)

from ..convert.html import render_markdown
from ..convert.to_as import actor_document
from ..errors import Conflict, Invalid, NotFound
from ..models import Account, Actor
from ..runtime import Runtime
from .outbox import deliver, followers_inboxes

__all__ = [
    "INSTANCE_USERNAME",
    "authenticate",
    "create_account",
    "ensure_instance_actor",
    "signing_key",
    "update_profile",
]

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,62}$")
INSTANCE_USERNAME = "_instance"


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_account(
    rt: Runtime,
    username: str,
    *,
    display_name: str = "",
    summary: str = "",
    manually_approves: bool | None = None,
    token: str | None = None,
) -> tuple[Account, str]:
    """Create a local person with an RSA and an Ed25519 key; return the account and its token."""
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise Invalid(
            "username: use 1-63 lower-case letters, digits, '_', '.' or '-', starting with a "
            "letter or digit"
        )
    if await Account.filter(username=username).exists():
        raise Conflict(f"username {username} is taken")
    return await _create(
        rt,
        username=username,
        uri=rt.actor_uri(username),
        type_="Person",
        display_name=display_name or username,
        summary=summary,
        manually_approves=(
            rt.settings.manual_follow_approval_default
            if manually_approves is None
            else manually_approves
        ),
        token=token,
    )


async def _create(
    rt: Runtime,
    *,
    username: str,
    uri: str,
    type_: str,
    display_name: str,
    summary: str,
    manually_approves: bool,
    token: str | None,
) -> tuple[Account, str]:
    private_pem, public_pem = generate_rsa_keypair()
    # The extra Ed25519 key (FEP-521a), published under assertionMethod. Accounts created before
    # it existed stay RSA-only: RSA remains the key every delivery and fetch is signed with.
    ed25519_private_pem, ed25519_public_pem = generate_ed25519_keypair()
    token = token or secrets.token_urlsafe(32)
    async with in_transaction():
        actor = await Actor.create(
            uri=uri,
            type=type_,
            username=username,
            domain=rt.settings.netloc,
            name=display_name,
            summary=summary,
            inbox=f"{uri}/inbox" if type_ == "Person" else rt.shared_inbox,
            shared_inbox=rt.shared_inbox,
            outbox=f"{uri}/outbox",
            followers_uri=f"{uri}/followers",
            key_id=f"{uri}#main-key",
            public_key_pem=public_pem,
            ed25519_key_id=f"{uri}#ed25519-key",
            ed25519_public_multibase=pem_to_multibase(ed25519_public_pem),
            manually_approves=manually_approves,
            local=True,
        )
        account = await Account.create(
            actor=actor,
            username=username,
            private_key_pem=private_pem,
            ed25519_private_pem=ed25519_private_pem,
            token_hash=_token_hash(token),
        )
    return account, token


async def ensure_instance_actor(rt: Runtime) -> Actor:
    """The node's own actor (``/actor``): signs key fetches and other node-level requests."""
    actor = await Actor.filter(uri=rt.instance_actor_uri).first()
    if actor is not None:
        return actor
    account, _ = await _create(
        rt,
        username=INSTANCE_USERNAME,
        uri=rt.instance_actor_uri,
        type_="Application",
        display_name=rt.settings.name,
        summary=f"The Plein node {rt.settings.netloc}",
        manually_approves=False,
        token=None,
    )
    await account.fetch_related("actor")
    return account.actor


async def authenticate(token: str) -> Account:
    account = await Account.filter(token_hash=_token_hash(token)).select_related("actor").first()
    if account is None or account.username == INSTANCE_USERNAME:
        raise NotFound("no account for this token")
    return account


async def signing_key(rt: Runtime, actor_uri: str) -> SigningKey:
    """The loaded private key of a local actor (PEM parsing costs ~56 ms: done once)."""
    key = rt.keys.get(actor_uri)
    if key is None:
        account = await Account.filter(actor__uri=actor_uri).select_related("actor").first()
        if account is None:
            raise NotFound(f"no local actor {actor_uri}")
        key = SigningKey.from_pem(f"{actor_uri}#main-key", account.private_key_pem)
        rt.keys[actor_uri] = key
    return key


async def update_profile(
    rt: Runtime,
    actor: Actor,
    *,
    display_name: str | None = None,
    summary: str | None = None,
    manually_approves: bool | None = None,
    also_known_as: list[str] | None = None,
) -> Actor:
    """Change a profile and tell the followers' nodes (``Update`` of the actor).

    ``also_known_as`` are actor ids (already resolved) of the person's other accounts.
    """
    if display_name is not None:
        display_name = display_name.strip()
        if len(display_name) > 100:
            raise Invalid("display_name: longer than 100 characters")
        actor.name = display_name or actor.username
    if summary is not None:
        if len(summary) > 2000:
            raise Invalid("note: longer than 2000 characters")
        actor.summary = render_markdown(summary) if summary.strip() else ""
    if manually_approves is not None:
        actor.manually_approves = manually_approves
    if also_known_as is not None:
        actor.also_known_as = list(also_known_as)
    async with in_transaction():
        await actor.save()
        doc = actor_document(actor)
        context = doc.pop("@context")
        activity = build.update(
            id=f"{actor.uri}#updates/{secrets.token_hex(8)}",
            actor=actor.uri,
            object=doc,
            to=[f"{actor.uri}/followers"],
            cc=[],
        )
        # The actor's context declares its Multikey terms too (a superset of build.CONTEXT).
        activity["@context"] = context
        await deliver(rt, activity, signer=actor, inboxes=await followers_inboxes(actor))
    return actor
