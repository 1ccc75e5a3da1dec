"""The running node: settings plus the shared components every service uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from federation.fetch import HttpClient
from federation.keys import SigningKey
from federation.resolve import KeyResolver

from .settings import Settings

__all__ = ["Runtime"]


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
