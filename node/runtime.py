"""The running node: settings plus the shared components every service uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from federation.fetch import HttpClient
from federation.keys import SigningKey
from federation.resolve import KeyResolver

from .settings import Settings
from .stores import DbActorStore

__all__ = ["Runtime", "build_runtime"]


@dataclass(slots=True)
class Runtime:
    settings: Settings
    client: HttpClient
    resolver: KeyResolver
    postgres: bool
    wake_delivery: Callable[[], None] = lambda: None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    keys: dict[str, SigningKey] = field(default_factory=dict)  # loaded once per local actor

    @property
    def base_url(self) -> str:
        return self.settings.base_url

    def actor_uri(self, username: str) -> str:
        return f"{self.settings.base_url}/users/{username}"

    @property
    def instance_actor_uri(self) -> str:
        return f"{self.settings.base_url}/actor"

    @property
    def shared_inbox(self) -> str:
        return f"{self.settings.base_url}/inbox"


def build_runtime(settings: Settings, *, user_agent: str) -> Runtime:
    """The shared components of one node: HTTP client, key resolver (signing as the node)."""
    client = HttpClient(allow=settings.allows, user_agent=user_agent)

    async def instance_key() -> SigningKey:
        from .services.accounts import signing_key  # services import this module

        return await signing_key(rt, f"{settings.base_url}/actor")

    rt = Runtime(
        settings=settings,
        client=client,
        resolver=KeyResolver(DbActorStore(), client, instance_key),
        postgres=settings.uses_postgres,
    )
    return rt
