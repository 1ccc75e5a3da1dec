"""WebFinger (RFC 7033): resource parsing and JRD building for our server, lookup for peers."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

from federation.errors import BadRequest, NotFound
from federation.fetch import HttpClient

__all__ = [
    "AS_PROFILE",
    "JRD_ACCEPT",
    "PROFILE_PAGE_REL",
    "jrd",
    "lookup",
    "parse_resource",
    "select_actor_link",
]

AS_PROFILE = "https://www.w3.org/ns/activitystreams"
JRD_ACCEPT = "application/jrd+json, application/json"
PROFILE_PAGE_REL = "http://webfinger.net/rel/profile-page"
_DEFAULT_PORTS = {"http": 80, "https": 443}
_BAD_USER_CHARS = frozenset("/?#@ \t\r\n")


def _valid_user(user: str) -> bool:
    return bool(user) and not any(ch in _BAD_USER_CHARS for ch in user)


def _split_acct(value: str) -> tuple[str, str] | None:
    """Split ``user@host`` / ``@user@host`` into (user, host), or None if it is not that shape."""
    text = value[1:] if value.startswith("@") else value
    user, sep, host = text.rpartition("@")
    if not sep or not _valid_user(user) or not host or any(c in host for c in "/?# "):
        return None
    return user, host


def parse_resource(resource: str | None, *, local_hosts: Collection[str]) -> str:
    """Return the local username named by a WebFinger resource, lower-cased for lookup.

    Accepts ``acct:user@host``, ``acct:@user@host``, ``user@host`` (any letter case in user and
    host) and the URL forms ``https://host/users/user`` and ``https://host/@user``. Raises
    BadRequest for a missing or unparsable resource and NotFound for a host that is not ours.
    """
    if resource is None or not resource.strip():
        raise BadRequest("missing resource")
    text = resource.strip()
    hosts = {host.lower() for host in local_hosts}
    lowered = text.lower()
    if lowered.startswith(("http://", "https://")):
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise BadRequest(f"unparsable resource: {text}") from None
        host = (parts.hostname or "").lower()
        if port is not None and port != _DEFAULT_PORTS[parts.scheme.lower()]:
            host = f"{host}:{port}"
        if host not in hosts:
            raise NotFound(f"resource is not on this host: {host}")
        path = parts.path.rstrip("/")
        if path.startswith("/users/"):
            user = path[len("/users/") :]
        elif path.startswith("/@"):
            user = path[len("/@") :]
        else:
            raise BadRequest(f"unparsable resource: {text}")
        if not _valid_user(user):
            raise BadRequest(f"unparsable resource: {text}")
        return user.lower()
    if lowered.startswith("acct:"):
        text = text[len("acct:") :]
    split = _split_acct(text)
    if split is None:
        raise BadRequest(f"unparsable resource: {resource.strip()}")
    user, host = split
    if host.lower() not in hosts:
        raise NotFound(f"resource is not on this host: {host.lower()}")
    return user.lower()


def jrd(
    *,
    subject: str,
    actor_url: str,
    profile_url: str | None = None,
    aliases: Sequence[str] = (),
) -> dict[str, Any]:
    """Build the JRD for a local actor: exactly one rel=self link, of type activity+json."""
    links: list[dict[str, str]] = [
        {"rel": "self", "type": "application/activity+json", "href": actor_url}
    ]
    if profile_url is not None:
        links.append({"rel": PROFILE_PAGE_REL, "type": "text/html", "href": profile_url})
    document: dict[str, Any] = {"subject": subject}
    if aliases:
        document["aliases"] = list(aliases)
    document["links"] = links
    return document


def _is_activity_type(media_type: str) -> bool:
    mime, _, params = media_type.partition(";")
    mime = mime.strip().lower()
    if mime == "application/activity+json":
        return True
    if mime != "application/ld+json":
        return False
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "profile" and AS_PROFILE in value.strip().strip('"').split():
            return True
    return False


def select_actor_link(jrd: Mapping[str, Any]) -> str:
    """Return the href of the rel=self ActivityPub link, wherever it sits; NotFound if none."""
    links = jrd.get("links")
    if isinstance(links, list):
        for link in links:
            if not isinstance(link, Mapping) or link.get("rel") != "self":
                continue
            media_type, href = link.get("type"), link.get("href")
            if (
                isinstance(media_type, str)
                and isinstance(href, str)
                and href
                and _is_activity_type(media_type)
            ):
                return href
    raise NotFound("no ActivityPub self link in the WebFinger document")


async def lookup(client: HttpClient, handle: str, *, scheme: str = "https") -> str:
    """Resolve ``user@host`` or ``@user@host`` to an actor URL (unsigned GET; case kept)."""
    text = handle.strip()
    if text.lower().startswith("acct:"):
        text = text[len("acct:") :]
    split = _split_acct(text)
    if split is None:
        raise BadRequest(f"invalid handle: {handle}")
    user, host = split
    resource = quote(f"acct:{user}@{host}", safe=":@")
    url = f"{scheme}://{host}/.well-known/webfinger?resource={resource}"
    document = await client.get_json(url, accept=JRD_ACCEPT)
    return select_actor_link(document)
