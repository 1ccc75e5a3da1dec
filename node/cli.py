"""The ``plein`` command line: run a node, manage users, start the demo company."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import click

from .settings import Settings

__all__ = ["main"]

T = TypeVar("T")


def node_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every command that opens a node (also read from PLEIN_* variables)."""
    for option in reversed(
        [
            click.option("--base-url", help="Public URL of the node (PLEIN_BASE_URL)."),
            click.option("--data-dir", type=click.Path(path_type=Path), help="(PLEIN_DATA_DIR)"),
            click.option(
                "--database-url", help="sqlite://... or postgres://... (PLEIN_DATABASE_URL)"
            ),
            click.option("--name", help="Display name of the node (PLEIN_NAME)."),
            click.option(
                "--allow",
                help="Comma-separated peers (host or host:port) to federate with; '*' for any "
                "(PLEIN_ALLOW).",
            ),
        ]
    ):
        f = option(f)
    return f


def settings_from(
    base_url: str | None,
    data_dir: Path | None,
    database_url: str | None,
    name: str | None,
    allow: str | None,
    **extra: Any,
) -> Settings:
    allowed = tuple(h.strip() for h in allow.split(",") if h.strip()) if allow else None
    return Settings.from_env(
        base_url=base_url.rstrip("/") if base_url else None,
        data_dir=data_dir,
        database_url=database_url,
        name=name,
        allow=allowed,
        **extra,
    )


async def with_database(settings: Settings, work: Callable[[Any], Awaitable[T]]) -> T:
    """Open the node's database (applying migrations) and run ``work(runtime)`` inside it."""
    from .db import open_database
    from .runtime import build_runtime
    from .services.accounts import ensure_instance_actor

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ctx = await open_database(settings.db_url)
    rt = build_runtime(settings, user_agent="Plein-cli")
    client = rt.client
    try:
        with ctx:
            await ensure_instance_actor(rt)
            return await work(rt)
    finally:
        await client.close()
        with ctx:
            await ctx.close_connections()


@click.group()
def main() -> None:
    """Plein: a federated social intranet on ActivityPub."""


@main.command()
@node_options
@click.option(
    "--relay",
    "relay",
    is_flag=True,
    default=None,
    help="Also act as the company relay: other nodes subscribe, public posts spread (PLEIN_RELAY).",
)
@click.option(
    "--web",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Web processes sharing the port (more than 1 needs PostgreSQL).",
)
@click.option(
    "--workers",
    type=click.IntRange(min=0),
    default=None,
    help="Separate worker processes for the inbox and deliveries (needs PostgreSQL); without "
    "it the workers run inside the web process. 0: workers run elsewhere (`plein worker`).",
)
@click.option("--listen-fd", type=int, default=None, hidden=True)
def run(
    relay: bool | None, web: int, workers: int | None, listen_fd: int | None, **options: Any
) -> None:
    """Start one node: web server, inbox worker and delivery worker."""
    settings = settings_from(**options, relay=relay)
    if listen_fd is not None:  # one web process of a multi-process node (node/supervise.py)
        serve(replace(settings, run_workers=False), listen_fd=listen_fd)
        return
    if web == 1 and workers is None:
        serve(settings)
        return
    require_postgres(settings, "several processes per node")
    from .supervise import Supervisor

    asyncio.run(with_database(settings, _ready))  # migrate once, before the processes start
    click.echo(
        f"Plein node {settings.name} at {settings.base_url}: {web} web and {workers or 0} "
        f"worker processes ({settings.db_url})"
    )
    raise SystemExit(Supervisor(settings, web=web, workers=workers or 0).run())


async def _ready(rt: Any) -> None:
    return None


def require_postgres(settings: Settings, what: str) -> None:
    if not settings.uses_postgres:
        raise click.ClickException(
            f"{what} need PostgreSQL (--database-url postgres://...): a SQLite node is one "
            "process, and `plein run` alone runs its web server and workers"
        )


def serve(settings: Settings, *, listen_fd: int | None = None) -> None:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    from .app import create_app

    app = create_app(settings)
    config = Config()
    config.bind = [f"fd://{listen_fd}"] if listen_fd is not None else [settings.bind_address]
    config.accesslog = None
    config.graceful_timeout = 3

    async def main_loop() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        if listen_fd is None:
            click.echo(f"Plein node {settings.name} at {settings.base_url} ({settings.db_url})")
        await hypercorn_serve(app, config, shutdown_trigger=stop.wait)

    asyncio.run(main_loop())


@main.command()
@node_options
@click.option("--inbox/--no-inbox", default=True, help="Process the inbox log.")
@click.option("--delivery/--no-delivery", default=True, help="Deliver the outgoing queue.")
def worker(inbox: bool, delivery: bool, **options: Any) -> None:
    """Run inbox and delivery workers for a node whose web processes run elsewhere (PostgreSQL)."""
    settings = settings_from(**options)
    require_postgres(settings, "separate worker processes")
    if not (inbox or delivery):
        raise click.ClickException("nothing to do: both --no-inbox and --no-delivery")
    from .workers import Queues, WorkerSet

    async def work(rt: Any) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        workers = WorkerSet(rt, Queues.open(rt), inbox=inbox, delivery=delivery, listen=True)
        tasks = workers.start(stop)
        await stop.wait()
        _, pending = await asyncio.wait(tasks, timeout=5)
        for task in pending:
            task.cancel()

    asyncio.run(with_database(settings, work))


@main.group()
def user() -> None:
    """Manage local accounts."""


@user.command("add")
@click.argument("username")
@click.option("--display-name", default="", help="Full name shown to colleagues.")
@click.option("--summary", default="", help="Short profile text.")
@click.option("--approve-follows", is_flag=True, help="Followers need approval.")
@click.option("--token", default=None, help="Use this API token instead of a random one.")
@node_options
def user_add(
    username: str,
    display_name: str,
    summary: str,
    approve_follows: bool,
    token: str | None,
    **options: Any,
) -> None:
    """Create a local account and print its API token."""
    from .errors import NodeError
    from .services.accounts import create_account

    settings = settings_from(**options)

    async def work(rt: Any) -> str:
        account, api_token = await create_account(
            rt,
            username,
            display_name=display_name,
            summary=summary,
            manually_approves=approve_follows or None,
            token=token,
        )
        return f"{rt.actor_uri(account.username)}\ntoken: {api_token}"

    try:
        click.echo(asyncio.run(with_database(settings, work)))
    except NodeError as exc:
        raise click.ClickException(exc.message) from exc


@main.group()
def relay() -> None:
    """Subscribe this node to relays (the company relay spreads public posts to every node)."""


def _relay_command(settings: Settings, work: Callable[[Any], Awaitable[str]]) -> None:
    from .errors import NodeError

    try:
        click.echo(asyncio.run(with_database(settings, work)))
    except NodeError as exc:
        raise click.ClickException(exc.message) from exc


@relay.command("subscribe")
@click.argument("relay_actor_url")
@node_options
def relay_subscribe(relay_actor_url: str, **options: Any) -> None:
    """Follow the relay at RELAY_ACTOR_URL (sent once; a running node delivers it)."""
    from .services import relays

    async def work(rt: Any) -> str:
        sub = await relays.subscribe(rt, relay_actor_url)
        return f"{sub.relay_uri} {sub.state} (follow {sub.follow_uri})"

    _relay_command(settings_from(**options), work)


@relay.command("unsubscribe")
@click.argument("relay_actor_url")
@node_options
def relay_unsubscribe(relay_actor_url: str, **options: Any) -> None:
    """Stop following the relay (Undo of the Follow) and forget the subscription."""
    from .services import relays

    async def work(rt: Any) -> str:
        await relays.unsubscribe(rt, relay_actor_url)
        return f"unsubscribed from {relay_actor_url}"

    _relay_command(settings_from(**options), work)


@relay.command("list")
@node_options
def relay_list(**options: Any) -> None:
    """The relays this node subscribes to, one a line: actor URL and state."""
    from .services import relays

    async def work(rt: Any) -> str:
        rows = await relays.subscriptions()
        return "\n".join(f"{s.relay_uri} {s.state}" for s in rows) or "no relay subscriptions"

    _relay_command(settings_from(**options), work)


@main.command()
@node_options
def migrate(**options: Any) -> None:
    """Apply pending database migrations and exit."""
    settings = settings_from(**options)

    async def work(rt: Any) -> str:
        return f"database at {settings.db_url} is up to date"

    click.echo(asyncio.run(with_database(settings, work)))


@main.command()
@click.option("--dir", "directory", type=click.Path(path_type=Path), default=Path("plein-demo"))
@click.option("--port", default=8001, show_default=True, help="Port of the first node.")
@click.option("--exit-after-setup", is_flag=True, help="Stop once the scenario has run.")
def demo(directory: Path, port: int, exit_after_setup: bool) -> None:
    """Start a small company: a head-office node and a Maastricht node that federate."""
    from .demo import run_demo

    run_demo(directory, port, keep_running=not exit_after_setup)
