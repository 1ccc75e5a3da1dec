"""Outgoing: fan-out of one post to many follower nodes, and the delivery worker's throughput.

- **Fan-out**: alice on node A is followed by one person on each of N other real nodes (follows
  made through the client API with her handle). Time from her post to the moment every
  follower node has stored it (each polled with ``GET /api/v1/search?q=<uri>``, which reads the
  node's own database only). Nodes that cannot be started on this machine are replaced by
  lightweight receivers (followers served by :class:`Sink`), and the row says how many.
- **Delivery**: one node whose alice has F followers, each with its own inbox on :class:`Sink`
  (a loopback aiohttp server in this process that answers ``202`` without checking anything);
  alice posts P times and the F x P signed POSTs are timed. The node's CPU time over that window
  gives deliveries per CPU-second (per core), set against RSA-2048 signing alone with
  ``cryptography`` measured in the same run.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from activitystreams import build
from federation.keys import SigningKey, generate_rsa_keypair, load_private_key
from tests.e2e.harness import Api, Network, Node, eventually, free_port

from .inbox import AS, burst, presign
from .memory import cpu_seconds, first_pid
from .table import MEASURED, NO_GOAL, Row, at_least

__all__ = ["DELIVERY_GOAL", "Sink", "delivery", "fanout", "sign_rate"]

DELIVERY_GOAL = 0.70  # of RSA-2048 signing alone, per core
QUIET = {"PLEIN_POLL_SECONDS": "2"}  # idle nodes poll their queues less often


class Sink:
    """Many follower actors on one loopback server: actor documents, and inboxes answering 202.

    Every actor shares one RSA key pair (each under its own keyId), so that a thousand
    followers cost one key generation.
    """

    def __init__(self) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        private_pem, self.public_pem = generate_rsa_keypair()
        self._private = load_private_key(private_pem)
        self.received: dict[str, list[dict[str, Any]]] = {}  # inbox path -> activities
        self.count = 0
        self._runner: web.AppRunner | None = None

    def actor_id(self, name: str) -> str:
        return f"{self.base_url}/users/{name}"

    def key(self, name: str) -> SigningKey:
        return SigningKey(f"{self.actor_id(name)}#main-key", self._private)

    def document(self, name: str) -> dict[str, Any]:
        actor = self.actor_id(name)
        return build.actor_document(
            id=actor,
            type="Person",
            preferred_username=name,
            name=name,
            summary="",
            inbox=f"{actor}/inbox",
            outbox=f"{actor}/outbox",
            followers=f"{actor}/followers",
            following=f"{actor}/following",
            shared_inbox=None,  # one delivery per follower: nothing merges them
            key_id=f"{actor}#main-key",
            public_key_pem=self.public_pem,
            manually_approves_followers=False,
            url=actor,
            published=None,
        )

    async def start(self) -> None:
        app = web.Application()
        app.router.add_get("/users/{name}", self._actor)
        app.router.add_post("/{tail:.*}", self._inbox)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def close(self) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _actor(self, request: web.Request) -> web.Response:
        body = orjson.dumps(self.document(request.match_info["name"]))
        return web.Response(body=body, content_type="application/activity+json")

    async def _inbox(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.count += 1
        self.received.setdefault(request.path, []).append(orjson.loads(body))
        return web.Response(status=202)

    def reset(self) -> None:
        self.count = 0
        self.received.clear()

    def follows(self, names: list[str], target: str) -> list[dict[str, Any]]:
        return [
            {
                "@context": AS,
                "id": f"{self.actor_id(name)}/follows/1",
                "type": "Follow",
                "actor": self.actor_id(name),
                "object": target,
            }
            for name in names
        ]

    async def follow(self, names: list[str], target: str, inbox: str) -> None:
        """Each named actor follows ``target`` (signed Follows to ``inbox``), all at once."""
        signed = [
            presign([activity], url=inbox, key=self.key(name))[0]
            for name, activity in zip(names, self.follows(names, target), strict=True)
        ]
        _, statuses = await burst(inbox, signed)
        assert statuses[202] == len(names), f"follows to {inbox}: {dict(statuses)}"

    async def wait_count(self, n: int, timeout: float) -> float:
        """Wait until ``n`` POSTs arrived; returns the monotonic time it happened."""
        deadline = time.monotonic() + timeout
        while self.count < n:
            if time.monotonic() > deadline:
                raise AssertionError(f"sink received {self.count} of {n} in {timeout} s")
            await asyncio.sleep(0.005)
        return time.perf_counter()


def sign_rate(samples: int) -> float:
    """RSA-2048 PKCS#1 v1.5 / SHA-256 signatures per CPU-second, with ``cryptography`` alone."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    message = (
        b"(request-target): post /users/follower/inbox\nhost: 127.0.0.1:40000\n"
        b"date: Thu, 03 Dec 2026 12:00:00 GMT\n"
        b"digest: SHA-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
        b"content-type: application/activity+json"
    )
    start = time.process_time()
    for _ in range(samples):
        key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return samples / (time.process_time() - start)


async def settled(api: Api, timeout: float) -> dict[str, Any]:
    """The admin federation view once nothing is pending in the inbox or the delivery queue."""

    async def check() -> dict[str, Any]:
        state: dict[str, Any] = await api.call("GET", "/admin/federation")
        busy = state["inbox"].get("pending") or state["deliveries"].get("pending")
        return {} if busy else state

    return await eventually(check, timeout=timeout, interval=0.1)


async def delivery(
    *, database: str, followers: int, posts: int, workdir: Path, sign_samples: int
) -> list[Row]:
    """Deliveries per second (wall) and per CPU-second of the node, against signing alone."""
    sink = Sink()
    await sink.start()
    async with aiohttp.ClientSession() as session:
        bed = Network(workdir / f"delivery-{database}", session, database)
        try:
            node = await bed.node("delivery", users=("alice",))
            alice = node.api(session, "alice")
            alice_uri = (await alice.me())["uri"]
            names = [f"f{i}" for i in range(followers)]
            await sink.follow(names, alice_uri, f"{node.base_url}/inbox")
            await sink.wait_count(followers, timeout=60 + followers / 5)  # the Accepts
            await settled(alice, timeout=60)
            sink.reset()
            pid = first_pid(bed)
            cpu_start = cpu_seconds(pid)
            start = time.perf_counter()
            for i in range(posts):
                await alice.post(f"Delivery benchmark post {i}")
            end = await sink.wait_count(followers * posts, timeout=60 + followers * posts / 20)
            cpu = cpu_seconds(pid) - cpu_start
        finally:
            await bed.close()
            await sink.close()
    n = followers * posts
    wall = n / (end - start)
    per_cpu = n / cpu if cpu > 0 else float("inf")
    signing = await asyncio.to_thread(sign_rate, sign_samples)
    ratio = per_cpu / signing
    db = "SQLite" if database == "sqlite" else "PostgreSQL"
    return [
        Row(
            f"signed deliveries per core ({db}): {followers} followers' inboxes x {posts} posts "
            "to a loopback sink, per CPU-second of the node, vs RSA-2048 signing alone",
            f"{per_cpu:,.0f}/CPU-s = {ratio * 100:.0f}% of signing ({signing:,.0f}/s); "
            f"wall {wall:,.0f}/s",
            f">= {DELIVERY_GOAL * 100:.0f}% of signing",
            at_least(ratio, DELIVERY_GOAL),
        )
    ]


@dataclass
class FanoutResult:
    real_nodes: int
    receivers: int
    arrivals: list[float] = field(default_factory=list)  # seconds after the post, per follower


async def _start_followers(bed: Network, count: int, parallel: int) -> list[Node]:
    """Start up to ``count`` follower nodes, ``parallel`` at a time; stop at the first failure."""
    started: list[Node] = []
    for first in range(0, count, parallel):
        batch = range(first, min(first + parallel, count))
        results = await asyncio.gather(
            *(bed.node(f"f{i:02d}", users=("u",), env=QUIET) for i in batch),
            return_exceptions=True,
        )
        ok = [r for r in results if isinstance(r, Node)]
        started += ok
        if len(ok) < len(results):
            break
    return started


async def fanout(
    *, database: str, nodes: int, workdir: Path, parallel: int = 3
) -> tuple[list[Row], FanoutResult]:
    sink = Sink()
    await sink.start()
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        bed = Network(workdir / f"fanout-{database}", session, database)
        # The follower nodes keep SQLite whatever the origin's database: each node of a real
        # network has a server of its own, and fifty nodes' pools on this machine's one
        # PostgreSQL would pass its max_connections (100).
        followers_bed = Network(workdir / f"fanout-{database}-followers", session, "sqlite")
        try:
            origin = await bed.node("origin", users=("alice",), env=QUIET)
            alice = origin.api(session, "alice")
            alice_uri = (await alice.me())["uri"]
            followers = await _start_followers(followers_bed, nodes, parallel)
            result = FanoutResult(real_nodes=len(followers), receivers=nodes - len(followers))
            apis = [node.api(session, "u") for node in followers]
            await asyncio.gather(*(api.follow(f"alice@{origin.netloc}") for api in apis))
            names = [f"r{i}" for i in range(result.receivers)]
            if names:
                await sink.follow(names, alice_uri, f"{origin.base_url}/inbox")

            async def all_follow() -> bool:
                return len(await alice.followers()) == nodes

            await eventually(all_follow, timeout=60 + nodes)
            await settled(alice, timeout=60)
            sink.reset()
            start = time.perf_counter()
            post = await alice.post("Fan-out benchmark: the canteen opens at noon")
            waiting = dict(enumerate(apis))
            seen: set[str] = set()
            deadline = time.monotonic() + 60 + nodes
            while waiting or len(seen) < result.receivers:
                found = await asyncio.gather(
                    *(api.find_status(post["uri"]) for api in waiting.values())
                )
                now = time.perf_counter() - start
                for i, status in zip(list(waiting), found, strict=True):
                    if status is not None:
                        result.arrivals.append(now)
                        del waiting[i]
                for path in sink.received:
                    if path not in seen:
                        seen.add(path)
                        result.arrivals.append(time.perf_counter() - start)
                if time.monotonic() > deadline:
                    raise AssertionError(f"{len(waiting)} follower nodes never got the post")
                await asyncio.sleep(0.02)
        finally:
            await followers_bed.close()
            await bed.close()
            await sink.close()
    db = "SQLite" if database == "sqlite" else "PostgreSQL"
    last = max(result.arrivals)
    how = f"{result.real_nodes} real follower nodes"
    if result.receivers:
        how += (
            f" + {result.receivers} lightweight receivers (only {result.real_nodes} nodes "
            "could be started here)"
        )
    rows = [
        Row(
            f"fan-out ({db} origin): a post by alice, followed from {nodes} nodes ({how}), "
            "until every follower has it",
            f"{last:.2f} s (median {statistics.median(result.arrivals):.2f} s)",
            NO_GOAL,
            MEASURED,
        )
    ]
    return rows, result
