"""NodeInfo 2.1: the well-known discovery document and the node description."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["NODEINFO_REL", "NODEINFO_SCHEMA", "nodeinfo", "well_known"]

NODEINFO_REL = "http://nodeinfo.diaspora.software/ns/schema/2.1"
NODEINFO_SCHEMA = "http://nodeinfo.diaspora.software/ns/schema/2.1#"


def well_known(base_url: str) -> dict[str, Any]:
    """Return the ``/.well-known/nodeinfo`` document pointing at ``{base_url}/nodeinfo/2.1``."""
    return {"links": [{"rel": NODEINFO_REL, "href": f"{base_url.rstrip('/')}/nodeinfo/2.1"}]}


def nodeinfo(
    *,
    software_name: str = "plein",
    version: str,
    users_total: int,
    users_active_month: int,
    users_active_halfyear: int,
    local_posts: int,
    open_registrations: bool = False,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return a NodeInfo 2.1 document."""
    return {
        "version": "2.1",
        "software": {"name": software_name, "version": version},
        "protocols": ["activitypub"],
        "services": {"inbound": [], "outbound": []},
        "openRegistrations": open_registrations,
        "usage": {
            "users": {
                "total": users_total,
                "activeMonth": users_active_month,
                "activeHalfyear": users_active_halfyear,
            },
            "localPosts": local_posts,
        },
        "metadata": dict(metadata or {}),
    }
