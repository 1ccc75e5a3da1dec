"""The inbox: the machine's floor, a real node's accept rate, its processing rate, its memory.

- **Floor**: for each prebuilt signed ``Create{Note}``: draft-cavage verify (RSA-2048, our
  ``federation.signatures.cavage``) with the digest check, ``orjson`` parse, one INSERT and one
  COMMIT, with no web framework and no ORM, in this process. SQLite: the stdlib driver on a file
  with the node's pragmas (WAL, synchronous=NORMAL), one request after the other (SQLite has
  one writer). PostgreSQL: asyncpg, the same work at the burst's concurrency (16 tasks, a pool
  of 16 connections), since one request after the other would only measure round trips.
- **Accept**: the same requests, presigned before timing, POSTed over HTTP by 16 clients to a
  real node's shared inbox; ``202`` per second, as a ratio of the floor.
- **Processing**: from the first request of the burst until the inbox worker has processed
  every activity (the Creates, replies to alice's posts that notify her, then one Like of each of
  alice's posts, which also notifies her), polled on ``GET /api/v1/admin/federation``.
- **Memory**: the node's RSS once idle (after start and one request) and its peak during the
  burst and the processing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson

from federation.keys import PublicKey, SigningKey, load_public_key
from federation.signatures.cavage import (
    sign_request,
    signature_params_from_headers,
    verify_request,
)
from tests.e2e.harness import Api, Network, create_pg_database, drop_pg_database, eventually
from tests.e2e.peer import PeerActor, TestPeer

from .http_floor import measure as http_floor_rate
from .memory import RssSampler, first_pid, memory_rows, rss_kib
from .table import MEASURED, NO_GOAL, Row, at_least

__all__ = [
    "ACCEPT_GOAL",
    "CONCURRENCY",
    "Signed",
    "burst",
    "create_note",
    "floor_postgres",
    "floor_sqlite",
    "presign",
    "run",
]

AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"
ACTIVITY_JSON = "application/activity+json"
CONCURRENCY = 16
ACCEPT_GOAL = 0.60  # of the floor


@dataclass(frozen=True, slots=True)
class Signed:
    """One request ready to send: the body and its signed headers."""

    activity_id: str
    body: bytes
    headers: dict[str, str]


def create_note(
    actor: PeerActor, tag: str, i: int, *, in_reply_to: str | None, mention: str | None
) -> dict[str, Any]:
    """A Create{Note} as Mastodon sends it: public, cc the followers (and a mentioned actor)."""
    note_id = f"{actor.id}/statuses/{tag}-{i}"
    cc = [f"{actor.id}/followers", *([mention] if mention else [])]
    note: dict[str, Any] = {
        "id": note_id,
        "type": "Note",
        "attributedTo": actor.id,
        "content": f"<p>Benchmark note {i}: the canteen opens at noon.</p>",
        "published": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "to": [PUBLIC],
        "cc": cc,
        "url": note_id,
    }
    if in_reply_to:
        note["inReplyTo"] = in_reply_to
    return {
        "@context": AS,
        "id": f"{note_id}/activity",
        "type": "Create",
        "actor": actor.id,
        "published": note["published"],
        "to": note["to"],
        "cc": cc,
        "object": note,
    }


def like(actor: PeerActor, tag: str, i: int, target: str) -> dict[str, Any]:
    return {
        "@context": AS,
        "id": f"{actor.id}/likes/{tag}-{i}",
        "type": "Like",
        "actor": actor.id,
        "object": target,
    }


def presign(activities: Iterable[dict[str, Any]], *, url: str, key: SigningKey) -> list[Signed]:
    """Sign every activity for ``url`` now, so that signing is not part of any timing."""
    out = []
    for activity in activities:
        body = orjson.dumps(activity)
        headers = sign_request(
            method="POST", url=url, key=key, body=body, headers={"Content-Type": ACTIVITY_JSON}
        )
        out.append(Signed(str(activity["id"]), body, headers))
    return out


async def burst(
    url: str, requests: Sequence[Signed], *, concurrency: int = CONCURRENCY
) -> tuple[float, Counter[int]]:
    """POST every request with ``concurrency`` clients; returns (seconds, count per status)."""
    statuses: Counter[int] = Counter()
    pending = iter(requests)
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=120)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def client() -> None:
            for request in pending:  # one iterator shared by every client
                try:
                    async with session.post(url, data=request.body, headers=request.headers) as r:
                        await r.read()
                        statuses[r.status] += 1
                except (aiohttp.ClientError, TimeoutError):
                    statuses[0] += 1

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(concurrency)))
        return time.perf_counter() - start, statuses


# The floor ----------------------------------------------------------------------------------

SQLITE_TABLE = """
CREATE TABLE inbox_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    activity_id VARCHAR(512) NOT NULL UNIQUE,
    signer VARCHAR(512) NOT NULL,
    payload BLOB NOT NULL,
    state VARCHAR(16) NOT NULL DEFAULT 'pending',
    attempts INT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    locked_until TIMESTAMP,
    lease_owner VARCHAR(96),
    last_error TEXT,
    received_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX idx_state ON inbox_entries (state);
CREATE INDEX idx_next ON inbox_entries (next_attempt_at);
"""

PG_TABLE = """
CREATE TABLE inbox_entries (
    id BIGSERIAL PRIMARY KEY,
    activity_id VARCHAR(512) NOT NULL UNIQUE,
    signer VARCHAR(512) NOT NULL,
    payload BYTEA NOT NULL,
    state VARCHAR(16) NOT NULL DEFAULT 'pending',
    attempts INT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ,
    lease_owner VARCHAR(96),
    last_error TEXT,
    received_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ
);
CREATE INDEX idx_state ON inbox_entries (state);
CREATE INDEX idx_next ON inbox_entries (next_attempt_at);
"""


def _verify(request: Signed, keys: dict[str, PublicKey]) -> tuple[str, dict[str, Any]]:
    """What every inbox must do per request: find the key, verify, check the digest, parse."""
    params = signature_params_from_headers(request.headers)
    key = keys[params.key_id]
    verify_request(
        method="POST",
        target="/inbox",
        headers=request.headers,
        body=request.body,
        public_key=key,
        params=params,
    )
    activity = orjson.loads(request.body)
    return params.key_id, activity


def floor_sqlite(requests: Sequence[Signed], public_pem: str, key_id: str, path: Path) -> float:
    """Requests per second: verify + digest + parse + INSERT + COMMIT, one after the other."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SQLITE_TABLE)
        keys = {key_id: load_public_key(public_pem)}
        insert = (
            "INSERT INTO inbox_entries (activity_id, signer, payload, next_attempt_at, "
            "received_at) VALUES (?, ?, ?, ?, ?)"
        )
        start = time.perf_counter()
        for request in requests:
            signer, activity = _verify(request, keys)
            now = datetime.now(UTC).isoformat()
            db.execute("BEGIN")
            db.execute(insert, (activity["id"], signer, request.body, now, now))
            db.execute("COMMIT")
        elapsed = time.perf_counter() - start
    finally:
        db.close()
    return len(requests) / elapsed


async def floor_postgres(
    requests: Sequence[Signed], public_pem: str, key_id: str, *, concurrency: int = CONCURRENCY
) -> float:
    """The same on PostgreSQL with asyncpg, ``concurrency`` requests in flight (autocommit)."""
    url = await create_pg_database()
    try:
        pool = await asyncpg.create_pool(url, min_size=concurrency, max_size=concurrency)
        try:
            await pool.execute(PG_TABLE)
            keys = {key_id: load_public_key(public_pem)}
            insert = (
                "INSERT INTO inbox_entries (activity_id, signer, payload, next_attempt_at, "
                "received_at) VALUES ($1, $2, $3, $4, $5)"
            )
            pending = iter(requests)

            async def worker() -> None:
                async with pool.acquire() as conn:
                    for request in pending:
                        signer, activity = _verify(request, keys)
                        now = datetime.now(UTC)
                        await conn.execute(insert, activity["id"], signer, request.body, now, now)

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - start
        finally:
            await pool.close()
    finally:
        await drop_pg_database(url)
    return len(requests) / elapsed


# The node -----------------------------------------------------------------------------------


async def inbox_counts(api: Api) -> dict[str, int]:
    state = await api.call("GET", "/admin/federation")
    return {str(k): int(v) for k, v in state["inbox"].items()}


async def wait_processed(api: Api, expected: int, timeout: float) -> dict[str, int]:
    """Poll until ``expected`` inbox entries are finished (processed, rejected or dead)."""

    async def done() -> dict[str, int]:
        counts = await inbox_counts(api)
        finished = sum(n for state, n in counts.items() if state != "pending")
        return counts if finished >= expected else {}

    return await eventually(done, timeout=timeout, interval=0.1)


def _refused(statuses: Counter[int], ok: int = 202) -> str:
    bad = {s: n for s, n in statuses.items() if s != ok}
    if not bad:
        return ""
    return " (not accepted: " + ", ".join(f"{n}x {s or 'error'}" for s, n in bad.items()) + ")"


@dataclass
class Measured:
    """Numbers other rows compare with (bovine's accept burst is set against these)."""

    floor: float = 0.0
    accept: float = 0.0


async def run(
    *,
    database: str,
    requests: int,
    likes: int,
    workdir: Path,
    memory: bool = True,
    measured: Measured | None = None,
) -> list[Row]:
    """Floor, accept, processing (and memory) rows on one database ("sqlite" or "postgres")."""
    measured = measured if measured is not None else Measured()
    peer = TestPeer()
    await peer.start()
    async with aiohttp.ClientSession() as session:
        bed = Network(workdir / f"inbox-{database}", session, database)
        try:
            return await _run(bed, peer, session, database, requests, likes, memory, measured)
        finally:
            await bed.close()
            await peer.close()


async def _run(
    bed: Network,
    peer: TestPeer,
    session: aiohttp.ClientSession,
    database: str,
    requests: int,
    likes: int,
    memory: bool,
    measured: Measured,
) -> list[Row]:
    actor = peer.actor("sender")
    key = actor.key
    node = await bed.node("inbox", users=("alice",))
    alice = node.api(session, "alice")
    alice_uri = (await alice.me())["uri"]
    inbox_url = f"{node.base_url}/inbox"
    parents = [
        (await alice.post(f"Post {i} for the benchmark"))["uri"] for i in range(max(likes, 1))
    ]

    # The floor, on the same requests (signed for the node's inbox).
    creates = [
        create_note(actor, "b", i, in_reply_to=parents[i % len(parents)], mention=alice_uri)
        for i in range(requests)
    ]
    signed = presign(creates, url=inbox_url, key=key)
    if database == "postgres":
        floor = await floor_postgres(signed, actor.public_pem, actor.key_id)
        floor_how = f"asyncpg, {CONCURRENCY} in flight"
    else:
        floor = await asyncio.to_thread(
            floor_sqlite, signed, actor.public_pem, actor.key_id, bed.tmp / "floor.sqlite3"
        )
        floor_how = "sqlite3, WAL, synchronous=NORMAL"
    measured.floor = floor
    http_floor = await http_floor_rate(signed)

    # Warm the node: it fetches the peer's key once, then knows it.
    warm = presign(
        [create_note(actor, "warm", 0, in_reply_to=None, mention=None)], url=inbox_url, key=key
    )
    _, warm_status = await burst(inbox_url, warm, concurrency=1)
    assert warm_status == Counter({202: 1}), f"warm-up request: {dict(warm_status)}"
    await wait_processed(alice, 1, timeout=30)
    await asyncio.sleep(1.0)
    idle_kib = rss_kib(first_pid(bed))

    liked = presign([like(actor, "b", i, parents[i]) for i in range(likes)], url=inbox_url, key=key)
    async with RssSampler(first_pid(bed)) as sampler:
        start = time.perf_counter()
        seconds, statuses = await burst(inbox_url, signed)
        _, like_statuses = await burst(inbox_url, liked)
        counts = await wait_processed(alice, 1 + requests + likes, timeout=60 + requests / 5)
        processing_seconds = time.perf_counter() - start
    accepted = statuses[202]
    accept = accepted / seconds
    measured.accept = accept
    processed = counts.get("processed", 0) - 1  # the warm-up request
    total = requests + likes
    notes = _refused(statuses) + _refused(like_statuses)
    if processed != total:
        notes += f" ({total - processed} not processed: {counts})"
    db = "SQLite" if database == "sqlite" else "PostgreSQL"
    rows = [
        Row(
            f"inbox floor ({db}): signed Create{{Note}} verified (RSA-2048 draft-cavage + digest), "
            f"parsed and committed, no framework, one process ({floor_how})",
            f"{floor:,.0f}/s",
            "reference (100%)",
            "reference",
        ),
        Row(
            f"web stack ceiling: Quart on Hypercorn answering 202 to the same POSTs with no work "
            f"at all, one process, {CONCURRENCY} clients",
            f"{http_floor:,.0f}/s = {http_floor / floor * 100:.0f}% of the {db} floor",
            "reference",
            "reference",
        ),
        Row(
            f"inbox accept ({db}): signed Create{{Note}} POSTs to one node's shared inbox, "
            f"{CONCURRENCY} clients, 202 per second",
            f"{accept:,.0f}/s = {accept / floor * 100:.0f}% of floor, "
            f"{accept / http_floor * 100:.0f}% of the web stack ceiling{notes}",
            f">= {ACCEPT_GOAL * 100:.0f}% of floor",
            at_least(accept / floor, ACCEPT_GOAL) if accepted == requests else "missed: refusals",
        ),
        Row(
            f"inbox processing ({db}): {requests} Create{{Note}} replies (post + notification) and "
            f"{likes} Likes (like + notification), first request to last processed",
            f"{processed / processing_seconds:,.0f} activities/s = "
            f"{processed / processing_seconds / floor * 100:.0f}% of floor "
            f"({processing_seconds:.1f} s, {processing_seconds - seconds:.1f} s after the burst)",
            NO_GOAL,
            MEASURED if processed == total else "missed: not all processed",
        ),
    ]
    if memory:
        rows += memory_rows(
            idle_kib=idle_kib,
            peak_kib=sampler.peak_kib,
            database=db,
            load=f"the {requests}-request burst and its processing",
        )
    return rows
