"""Typed settings of one node, read from arguments or PLEIN_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

from federation.states import RetryPolicy

__all__ = ["Settings"]


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything a node needs to start; nothing is read at import time."""

    base_url: str = "http://127.0.0.1:8000"
    name: str = "Plein"
    data_dir: Path = Path("plein-data")
    database_url: str = ""  # empty: SQLite in data_dir
    bind: str = ""  # empty: host:port of base_url
    allow: tuple[str, ...] = ("*",)  # peer hosts (host or host:port) we federate with
    manual_follow_approval_default: bool = False
    language: str = "en"
    max_inbox_bytes: int = 1_000_000
    delivery_policy: RetryPolicy = field(default_factory=RetryPolicy)
    inbox_policy: RetryPolicy = field(
        default_factory=lambda: RetryPolicy(
            first_delay=timedelta(seconds=5), horizon=timedelta(hours=6)
        )
    )
    poll_seconds: float = 2.0
    lease_seconds: float = 30.0  # a claimed job returns to the queue if its worker stops renewing
    run_workers: bool = True  # the inbox and delivery workers run inside the web process
    relay: bool = False  # also act as the company relay (docs/operators.md)

    @property
    def netloc(self) -> str:
        return urlsplit(self.base_url).netloc

    @property
    def db_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{(self.data_dir / 'plein.sqlite3').resolve()}"

    @property
    def uses_postgres(self) -> bool:
        return self.db_url.startswith(("postgres", "asyncpg"))

    @property
    def bind_address(self) -> str:
        """Where to listen: PLEIN_BIND, else the base URL's host:port (port 8000 if it has none)."""
        if self.bind:
            return self.bind
        return self.netloc if urlsplit(self.base_url).port else "127.0.0.1:8000"

    def allows(self, netloc: str) -> bool:
        """May we federate with this peer? Entries match a host:port or a host on any port."""
        if "*" in self.allow or netloc == self.netloc:
            return True
        host = netloc.rsplit(":", 1)[0] if not netloc.endswith("]") else netloc
        return netloc in self.allow or host in self.allow

    def to_env(self) -> dict[str, str]:
        """The PLEIN_* variables that give another process of this node the same settings."""
        env = {
            "PLEIN_BASE_URL": self.base_url,
            "PLEIN_NAME": self.name,
            "PLEIN_DATA_DIR": str(self.data_dir),
            "PLEIN_DATABASE_URL": self.db_url,
            "PLEIN_ALLOW": ",".join(self.allow),
            "PLEIN_POLL_SECONDS": str(self.poll_seconds),
            "PLEIN_LEASE_SECONDS": str(self.lease_seconds),
        }
        if self.bind:
            env["PLEIN_BIND"] = self.bind
        if self.relay:
            env["PLEIN_RELAY"] = "1"
        return env

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        env = os.environ
        settings = cls()
        values: dict[str, object] = {}
        if "PLEIN_BASE_URL" in env:
            values["base_url"] = env["PLEIN_BASE_URL"].rstrip("/")
        if "PLEIN_NAME" in env:
            values["name"] = env["PLEIN_NAME"]
        if "PLEIN_DATA_DIR" in env:
            values["data_dir"] = Path(env["PLEIN_DATA_DIR"])
        if "PLEIN_DATABASE_URL" in env:
            values["database_url"] = env["PLEIN_DATABASE_URL"]
        if "PLEIN_BIND" in env:
            values["bind"] = env["PLEIN_BIND"]
        if "PLEIN_ALLOW" in env:
            values["allow"] = tuple(h.strip() for h in env["PLEIN_ALLOW"].split(",") if h.strip())
        if "PLEIN_RETRY_SECONDS" in env:  # first retry delay, for tests and drills
            first = timedelta(seconds=float(env["PLEIN_RETRY_SECONDS"]))
            values["delivery_policy"] = replace(settings.delivery_policy, first_delay=first)
            values["inbox_policy"] = replace(settings.inbox_policy, first_delay=first)
        if "PLEIN_RETRY_HORIZON_SECONDS" in env:  # give-up horizon, for tests and drills
            horizon = timedelta(seconds=float(env["PLEIN_RETRY_HORIZON_SECONDS"]))
            delivery = values.get("delivery_policy", settings.delivery_policy)
            inbox = values.get("inbox_policy", settings.inbox_policy)
            values["delivery_policy"] = replace(delivery, horizon=horizon)  # type: ignore[type-var]
            values["inbox_policy"] = replace(inbox, horizon=horizon)  # type: ignore[type-var]
        if env.get("PLEIN_RELAY", "").lower() in ("1", "true", "yes"):
            values["relay"] = True
        if "PLEIN_POLL_SECONDS" in env:
            values["poll_seconds"] = float(env["PLEIN_POLL_SECONDS"])
        if "PLEIN_LEASE_SECONDS" in env:
            values["lease_seconds"] = float(env["PLEIN_LEASE_SECONDS"])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(settings, **values)  # type: ignore[arg-type]
