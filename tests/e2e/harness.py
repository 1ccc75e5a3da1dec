"""Real node processes on loopback, for end-to-end tests.

``PLEIN_TEST_DATABASE=postgres`` gives every node its own fresh PostgreSQL database on the
server named by ``PLEIN_TEST_PG`` (default postgres://postgres@127.0.0.1:5432/test); otherwise
each node has its own SQLite file. Nodes are started with ``python -m node run``, exactly as an
operator would, and driven over HTTP: the client API with bearer tokens, and ActivityPub with
real signatures from :class:`TestPeer`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import asyncpg

T = TypeVar("T")

REPO = Path(__file__).resolve().parents[2]
# Test nodes federate with loopback only: a payload naming an outside host can never make a node
# open a connection off this machine.
LOOPBACK = "127.0.0.1,localhost"
PG_URL = os.environ.get("PLEIN_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")


def database_kind() -> str:
    return os.environ.get("PLEIN_TEST_DATABASE", "sqlite")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def create_pg_database() -> str:
    name = f"plein_e2e_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    base = PG_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


async def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """SIGTERM, then SIGKILL if it has not ended after 10 s."""
    if process and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def eventually(
    check: Callable[[], Awaitable[T]], *, timeout: float = 20.0, interval: float = 0.2
) -> T:
    """Poll ``check`` until it returns a truthy value (or stops raising AssertionError)."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while True:
        try:
            result = await check()
            if result:
                return result
        except AssertionError as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s: {last!r}")
        await asyncio.sleep(interval)


@dataclass
class Api:
    """The client API of one node as one user."""

    session: aiohttp.ClientSession
    base_url: str
    token: str

    async def request(
        self, method: str, path: str, body: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"}
        async with self.session.request(
            method, f"{self.base_url}/api/v1{path}", json=body, headers=headers
        ) as resp:
            try:
                data = await resp.json(content_type=None)
            except ValueError:
                data = await resp.text()
            return resp.status, data

    async def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        status, data = await self.request(method, path, body)
        assert status < 400, f"{method} {path}: {status} {data}"
        return data

    async def me(self) -> dict[str, Any]:
        return await self.call("GET", "/accounts/verify_credentials")  # type: ignore[no-any-return]

    async def post(self, text: str, **extra: Any) -> dict[str, Any]:
        return await self.call("POST", "/statuses", {"status": text, **extra})  # type: ignore[no-any-return]

    async def follow(self, handle: str) -> dict[str, Any]:
        return await self.call("POST", "/follows", {"uri": handle})  # type: ignore[no-any-return]

    async def find_status(self, uri: str) -> dict[str, Any] | None:
        found = await self.call("GET", f"/search?q={uri}")
        return found["statuses"][0] if found["statuses"] else None

    async def wait_status(self, uri: str, timeout: float = 20.0) -> dict[str, Any]:
        return await eventually(lambda: self.find_status(uri), timeout=timeout)

    async def following(self) -> list[dict[str, Any]]:
        me = await self.me()
        return await self.call("GET", f"/accounts/{me['id']}/following")  # type: ignore[no-any-return]

    async def followers(self) -> list[dict[str, Any]]:
        me = await self.me()
        return await self.call("GET", f"/accounts/{me['id']}/followers")  # type: ignore[no-any-return]


@dataclass
class Node:
    name: str
    port: int
    data_dir: Path
    database_url: str
    allow: str = LOOPBACK
    extra_env: dict[str, str] = field(default_factory=dict)
    args: tuple[str, ...] = ()  # extra arguments of `plein run`, e.g. ("--workers", "3")
    process: subprocess.Popen[bytes] | None = None
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"http://{self.netloc}"

    @property
    def log_path(self) -> Path:
        return self.data_dir / "node.log"

    def env(self) -> dict[str, str]:
        return (
            os.environ
            | {
                "PLEIN_BASE_URL": self.base_url,
                "PLEIN_NAME": self.name,
                "PLEIN_DATA_DIR": str(self.data_dir),
                "PLEIN_DATABASE_URL": self.database_url,
                "PLEIN_ALLOW": self.allow,
                "PLEIN_POLL_SECONDS": "0.5",
                "PLEIN_RETRY_SECONDS": "0.5",
                # a killed PostgreSQL node's leases run out in seconds (renewed every second)
                "PLEIN_LEASE_SECONDS": "3",
                "PYTHONPATH": str(REPO),
            }
            | self.extra_env
        )

    def add_user(self, username: str, *args: str) -> str:
        token = f"token-{self.name}-{username}"
        result = subprocess.run(
            [sys.executable, "-m", "node", "user", "add", username, "--token", token, *args],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        self.tokens[username] = token
        return token

    async def start(self, session: aiohttp.ClientSession) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "node", "run", *self.args],
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"node {self.name} exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                async with session.get(f"{self.base_url}/.well-known/nodeinfo") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"node {self.name} did not start:\n{self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        stop_process(self.process)

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, as in a power cut."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def api(self, session: aiohttp.ClientSession, username: str) -> Api:
        return Api(session, self.base_url, self.tokens[username])


@dataclass
class Network:
    """Start nodes; every node is stopped and its database dropped at the end of the test.

    ``database`` is "sqlite" (a file in each node's folder under ``tmp``) or "postgres" (a fresh
    database per node); by default what ``PLEIN_TEST_DATABASE`` says.
    """

    tmp: Path
    session: aiohttp.ClientSession
    database: str = field(default_factory=database_kind)
    nodes: list[Node] = field(default_factory=list)
    pg_urls: list[str] = field(default_factory=list)

    async def node(
        self,
        name: str,
        *,
        users: tuple[str, ...] = (),
        allow: str | None = None,
        start: bool = True,
        env: dict[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> Node:
        if self.database == "postgres":
            url = await create_pg_database()
            self.pg_urls.append(url)
        else:
            url = f"sqlite://{self.tmp / name / 'plein.sqlite3'}"
        node = Node(
            name=name,
            port=free_port(),
            data_dir=self.tmp / name,
            database_url=url,
            allow=allow or LOOPBACK,
            extra_env=env or {},
            args=args,
        )
        node.data_dir.mkdir(parents=True, exist_ok=True)
        self.nodes.append(node)  # stopped at close even if it fails to start
        for user in users:
            # `plein user add` is a process of its own: off the event loop, so that several
            # nodes can be set up side by side.
            await asyncio.to_thread(node.add_user, user)
        if start:
            await node.start(self.session)
        return node

    async def close(self) -> None:
        await asyncio.gather(*(asyncio.to_thread(node.stop) for node in self.nodes))
        for url in self.pg_urls:
            await drop_pg_database(url)
