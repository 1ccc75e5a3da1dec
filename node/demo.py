"""``plein demo``: a head-office node and a Maastricht node, federating on this machine."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import click

__all__ = ["run_demo"]


@dataclass
class DemoNode:
    key: str
    name: str
    port: int
    directory: Path
    people: list[tuple[str, str, str]]  # username, display name, summary
    tokens: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.netloc}"

    def env(self, allow: str) -> dict[str, str]:
        return os.environ | {
            "PLEIN_BASE_URL": self.url,
            "PLEIN_NAME": self.name,
            "PLEIN_DATA_DIR": str(self.directory),
            "PLEIN_DATABASE_URL": f"sqlite://{(self.directory / 'plein.sqlite3').resolve()}",
            "PLEIN_ALLOW": allow,
            "PLEIN_POLL_SECONDS": "1",
        }


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "node", *args]


MARKER = ".plein-demo"


def _prepare(directory: Path, ports: list[int]) -> None:
    """Start afresh in ``directory``, but only ever delete a folder an earlier demo made."""
    if directory.exists():
        if not (directory / MARKER).exists() and any(directory.iterdir()):
            raise click.ClickException(
                f"{directory} exists and was not made by `plein demo`; choose another --dir"
            )
        shutil.rmtree(directory)
    for port in ports:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                raise click.ClickException(
                    f"port {port} is in use (another demo still running?); choose another --port"
                )
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("made by plein demo; deleted by the next run\n")


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_demo(directory: Path, port: int, *, keep_running: bool = True) -> None:
    _prepare(directory, [port, port + 1])
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    nodes = [
        DemoNode(
            "hq",
            "Head office",
            port,
            directory / "hq",
            [
                ("alice", "Alice Jansen", "Internal communication"),
                ("dirk", "Dirk de Vries", "IT, head office"),
            ],
        ),
        DemoNode(
            "maastricht",
            "Maastricht",
            port + 1,
            directory / "maastricht",
            [
                ("bob", "Bob Peeters", "Field technician, Maastricht"),
                ("sanne", "Sanne Hermans", "Shop manager, Maastricht"),
            ],
        ),
    ]
    allow = ",".join(n.netloc for n in nodes)
    for node in nodes:
        node.directory.mkdir(parents=True)
        for username, display, summary in node.people:
            token = f"demo-{node.key}-{username}"
            subprocess.run(
                _command(
                    "user",
                    "add",
                    username,
                    "--display-name",
                    display,
                    "--summary",
                    summary,
                    "--token",
                    token,
                ),
                env=node.env(allow),
                check=True,
                capture_output=True,
            )
            node.tokens[username] = token
    try:
        for node in nodes:
            log = (node.directory / "node.log").open("wb")
            node.process = subprocess.Popen(
                _command("run"), env=node.env(allow), stdout=log, stderr=subprocess.STDOUT
            )
        asyncio.run(_scenario(nodes))
        _print_summary(nodes, directory)
        if keep_running:
            click.echo("\nThe nodes keep running; press Ctrl-C to stop them.")
            while all(n.process and n.process.poll() is None for n in nodes):
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        for node in nodes:
            if node.process and node.process.poll() is None:
                node.process.terminate()
        for node in nodes:
            if node.process:
                try:
                    node.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    node.process.kill()
        click.echo("Stopped.")


class Api:
    def __init__(self, session: aiohttp.ClientSession, node: DemoNode, username: str) -> None:
        self.session = session
        self.node = node
        self.headers = {"Authorization": f"Bearer {node.tokens[username]}"}

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        url = f"{self.node.url}/api/v1{path}"
        async with self.session.request(method, url, json=body, headers=self.headers) as resp:
            data = await resp.json()
            if resp.status >= 400:
                raise click.ClickException(f"{method} {url}: {resp.status} {data}")
            return data

    async def find_status(self, uri: str, timeout: float = 20) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = await self.call("GET", f"/search?q={uri}")
            if found["statuses"]:
                return found["statuses"][0]  # type: ignore[no-any-return]
            await asyncio.sleep(0.3)
        raise click.ClickException(f"{uri} did not reach {self.node.name}")


async def _wait_up(session: aiohttp.ClientSession, node: DemoNode) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if node.process and node.process.poll() is not None:
            raise click.ClickException(f"{node.name} exited; see {node.directory / 'node.log'}")
        try:
            async with session.get(f"{node.url}/.well-known/nodeinfo") as resp:
                if resp.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.2)
    raise click.ClickException(f"{node.name} did not start; see {node.directory / 'node.log'}")


async def _scenario(nodes: list[DemoNode]) -> None:
    hq, mt = nodes
    async with aiohttp.ClientSession() as session:
        for node in nodes:
            await _wait_up(session, node)
        alice, dirk = Api(session, hq, "alice"), Api(session, hq, "dirk")
        bob, sanne = Api(session, mt, "bob"), Api(session, mt, "sanne")
        click.echo("Following across nodes ...")
        await alice.call("POST", "/follows", {"uri": f"bob@{mt.netloc}"})
        await bob.call("POST", "/follows", {"uri": f"alice@{hq.netloc}"})
        await sanne.call("POST", "/follows", {"uri": f"alice@{hq.netloc}"})
        await dirk.call("POST", "/follows", {"uri": f"bob@{mt.netloc}"})
        await dirk.call("POST", "/follows", {"uri": "alice"})
        await _wait_followers(alice, 2)
        click.echo("Posting ...")
        news = await alice.call(
            "POST",
            "/statuses",
            {"status": "**New canteen opens Monday** at head office. Tell us what you think!"},
        )
        field_post = await bob.call(
            "POST", "/statuses", {"status": "Replaced the cooling unit at the Vaals shop today."}
        )
        news_at_mt = await bob.find_status(news["uri"])
        await bob.call(
            "POST",
            "/statuses",
            {
                "status": "Great news, will Maastricht get one too?",
                "in_reply_to_id": news_at_mt["id"],
            },
        )
        await bob.call("POST", f"/statuses/{news_at_mt['id']}/favourite")
        await sanne.call("POST", f"/statuses/{news_at_mt['id']}/favourite")
        field_at_hq = await dirk.find_status(field_post["uri"])
        await dirk.call("POST", f"/statuses/{field_at_hq['id']}/favourite")
        await alice.call("POST", f"/statuses/{news['id']}/favourite")
        click.echo("Waiting for the likes to replicate ...")
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            at_hq = await alice.call("GET", f"/statuses/{news['id']}")
            at_mt = await sanne.call("GET", f"/statuses/{news_at_mt['id']}")
            if at_hq["favourites_count"] == 3 and at_mt["favourites_count"] == 3:
                break
            await asyncio.sleep(0.3)
        click.echo(
            f"Canteen news: {at_hq['favourites_count']} likes at head office, "
            f"{at_mt['favourites_count']} at Maastricht; "
            f"{at_hq['replies_count']} reply at head office."
        )


async def _wait_followers(api: Api, count: int) -> None:
    me = await api.call("GET", "/accounts/verify_credentials")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        following = await api.call("GET", f"/accounts/{me['id']}/following")
        if len(following) >= 1:
            return
        await asyncio.sleep(0.3)
    raise click.ClickException("the follow was not accepted in time")


def _print_summary(nodes: list[DemoNode], directory: Path) -> None:
    click.echo("\nPlein demo: two nodes federating")
    for node in nodes:
        click.echo(f"  {node.name:12} {node.url}/   (data in {node.directory})")
        for username, display, _ in node.people:
            click.echo(
                f"    {display:15} {node.url}/@{username}   API token: {node.tokens[username]}"
            )
    hq = nodes[0]
    click.echo(
        f"\nTry: curl -H 'Authorization: Bearer demo-hq-alice' {hq.url}/api/v1/timelines/home"
    )
