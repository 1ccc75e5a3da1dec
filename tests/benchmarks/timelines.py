"""Home timeline latency at company size (issue 4): a bulk-loaded social graph, a real node.

``run()`` makes a fresh database (a SQLite file in ``workdir`` or a new PostgreSQL database on
``PLEIN_TEST_PG``), applies the migrations by opening it the way the node does, bulk-loads
accounts, follows, posts, recipients, shares and likes with raw SQL (``executemany`` on SQLite,
``COPY`` on PostgreSQL), starts ``python -m node run`` on it, and has ``readers`` concurrent
readers, each with its own token, read the first page of ``GET /api/v1/timelines/home`` and then
the second one (``max_id``), over and over. It does so in phases (:class:`Phase`): at a reading
pace (a pause of about two seconds after the two pages: people scrolling), back to back (no
pause: the node's saturation, where latency is mostly the queue), and on PostgreSQL back to back
with two web processes. It reports p50/p99 latency and pages per second for each.

The graph: 80% of the accounts are local people (an ``accounts`` row each, one shared dummy
key), 20% are cached remote actors on four other nodes. Local people follow a heavy-tailed
number of others (median 120, from 3 to 600), chosen by popularity, and a few follows are still
pending; popular people post more. Posts are public, node-only, unlisted, followers-only or
direct, a quarter are replies (naming the parent's author, as the node does), some mention
people; a share and a like table sit beside them.

Quick try: ``python -m tests.benchmarks.timelines --accounts 2000 --posts 50000``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import math
import random
import sqlite3
import sys
import time
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson

from tests.e2e.harness import Node, create_pg_database, drop_pg_database, free_port

from .table import MEASURED, NO_GOAL, Row, at_most

__all__ = ["GOAL_P99_MS", "run"]

GOAL_P99_MS = 50.0
LOCAL_SHARE = 0.8
REMOTE_DOMAINS = ("maastricht.example", "eindhoven.example", "gent.example", "lyon.example")
LOCAL_VISIBILITY = (
    ("public", 55),
    ("local", 15),
    ("unlisted", 5),
    ("followers", 18),
    ("direct", 7),
)
REMOTE_VISIBILITY = (("public", 65), ("unlisted", 7), ("followers", 20), ("direct", 8))
CHUNK = 50_000
WORDS_TEXT = (
    "canteen menu meeting quarterly results team office Maastricht head parking badge coffee "
    "release sprint review customer project deadline holiday schedule training safety update "
    "welcome colleagues lunch roadmap budget travel policy printer network laptop building "
    "congratulations launch feedback survey question answer thanks everyone friday monday"
)
WORDS = WORDS_TEXT.split()


@dataclass
class Graph:
    """What the load made that the readers need to know."""

    reader_tokens: list[str]
    counts: dict[str, int] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# The data


def _weights(rng: random.Random, n: int) -> list[float]:
    """Heavy-tailed activity and popularity: a few people post and are followed a lot."""
    return [rng.lognormvariate(0.0, 1.1) for _ in range(n)]


def _pick(rng: random.Random, cum: Sequence[float], lo: int, hi: int) -> int:
    """A weighted index in [lo, hi) over cumulative weights ``cum`` (0-based)."""
    base = cum[lo - 1] if lo else 0.0
    x = base + rng.random() * (cum[hi - 1] - base)
    # bisect on the cumulative weights
    a, b = lo, hi - 1
    while a < b:
        m = (a + b) // 2
        if cum[m] < x:
            a = m + 1
        else:
            b = m
    return a


class Data:
    """Rows for every table, generated deterministically from ``seed``, streamed in chunks."""

    def __init__(self, *, accounts: int, posts: int, readers: int, base_url: str, seed: int):
        self.rng = random.Random(seed)
        self.base_url = base_url
        self.netloc = base_url.split("://", 1)[1]
        self.accounts = accounts
        self.n_local = max(readers + 2, min(accounts, round(accounts * LOCAL_SHARE)))
        self.n_posts = posts
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.start = self.now - timedelta(days=365)
        self.key_pem = _dummy_key()
        rng = self.rng
        weights = _weights(rng, accounts)
        self.cum = list(accumulate(weights))
        # Readers: local people spread over the popularity range.
        self.readers = sorted(rng.sample(range(1, self.n_local + 1), readers))
        self.texts = [" ".join(rng.choices(WORDS, k=rng.randint(8, 40))) for _ in range(2000)]
        # Pass 1 over the posts: author, visibility and parent, kept in compact arrays.
        local_vis = _table(LOCAL_VISIBILITY)
        remote_vis = _table(REMOTE_VISIBILITY)
        self.author = array("i", bytes(4 * (posts + 1)))
        self.vis = bytearray(posts + 1)
        self.parent = array("i", bytes(4 * (posts + 1)))
        self.vis_names = [name for name, _ in LOCAL_VISIBILITY + REMOTE_VISIBILITY]
        for i in range(1, posts + 1):
            a = _pick(rng, self.cum, 0, accounts) + 1
            self.author[i] = a
            table = local_vis if a <= self.n_local else remote_vis
            self.vis[i] = self.vis_names.index(table[rng.randrange(100)])
            if i > 10 and rng.random() < 0.25:
                self.parent[i] = rng.randint(max(1, i - 5000), i - 1)
        self.likes_count = array("i", bytes(4 * (posts + 1)))
        self.shares_count = array("i", bytes(4 * (posts + 1)))
        self.replies_count = array("i", bytes(4 * (posts + 1)))
        for i in range(1, posts + 1):
            if self.parent[i]:
                self.replies_count[self.parent[i]] += 1
        self.shares = self._reactions(posts // 20, public_only=True, counts=self.shares_count)
        self.likes = self._reactions(posts // 2, public_only=False, counts=self.likes_count)

    def visibility(self, post: int) -> str:
        return self.vis_names[self.vis[post]]

    def _reactions(self, n: int, *, public_only: bool, counts: array[int]) -> list[tuple[int, int]]:
        rng, seen, out = self.rng, set(), []
        allowed = ("public", "unlisted") if public_only else ("public", "unlisted", "local")
        for _ in range(n * 2):
            if len(out) >= n:
                break
            post = rng.randint(1, self.n_posts)
            if self.visibility(post) not in allowed:
                continue
            actor = _pick(rng, self.cum, 0, self.accounts) + 1
            key = (actor, post)
            if key in seen:
                continue
            seen.add(key)
            out.append(key)
            counts[post] += 1
        return out

    def stamp(self, i: int, n: int) -> datetime:
        return self.start + timedelta(seconds=(self.now - self.start).total_seconds() * i / n)

    def actor_uri(self, a: int) -> str:
        if a <= self.n_local:
            return f"{self.base_url}/users/u{a}"
        domain = REMOTE_DOMAINS[a % len(REMOTE_DOMAINS)]
        return f"https://{domain}/users/u{a}"

    @staticmethod
    def token(a: int) -> str:
        return f"bench-token-{a}"

    def actor_rows(self) -> Iterator[tuple[Any, ...]]:
        created = self.start - timedelta(days=30)
        for a in range(1, self.accounts + 1):
            local = a <= self.n_local
            uri = self.actor_uri(a)
            domain = self.netloc if local else uri.split("/")[2]
            shared = f"{self.base_url}/inbox" if local else f"https://{domain}/inbox"
            yield (
                a,
                uri,
                "Person",
                f"u{a}",
                domain,
                f"Person {a}",
                "",
                f"{uri}/inbox",
                shared,
                f"{uri}/outbox",
                f"{uri}/followers",
                f"{uri}#main-key",
                self.key_pem[1],
                a % 20 == 0,
                local,
                None if local else created,
                created,
                None,
                None,
                "[]",
                None,
            )

    ACTOR_COLUMNS = (
        "id",
        "uri",
        "type",
        "username",
        "domain",
        "name",
        "summary",
        "inbox",
        "shared_inbox",
        "outbox",
        "followers_uri",
        "key_id",
        "public_key_pem",
        "manually_approves",
        "local",
        "fetched_at",
        "created_at",
        "ed25519_key_id",
        "ed25519_public_multibase",
        "also_known_as",
        "moved_to_uri",
    )

    def account_rows(self) -> Iterator[tuple[Any, ...]]:
        created = self.start - timedelta(days=30)
        for a in range(1, self.n_local + 1):
            token_hash = hashlib.sha256(self.token(a).encode()).hexdigest()
            yield (a, f"u{a}", self.key_pem[0], token_hash, created, a, None)

    ACCOUNT_COLUMNS = (
        "id",
        "username",
        "private_key_pem",
        "token_hash",
        "created_at",
        "actor_id",
        "ed25519_private_pem",
    )

    def follow_rows(self) -> Iterator[tuple[Any, ...]]:
        rng, fid = self.rng, 0
        created = self.start
        most = max(1, self.accounts - 1)
        for a in range(1, self.n_local + 1):
            # heavy-tailed: a median of 120, some new colleagues follow only a few people
            want = min(most, max(3, round(rng.lognormvariate(math.log(120), 0.8))), 600)
            chosen: set[int] = set()
            tries = 0
            while len(chosen) < want and tries < want * 20:
                tries += 1
                b = _pick(rng, self.cum, 0, self.accounts) + 1
                if b != a:
                    chosen.add(b)
            for b in sorted(chosen):
                fid += 1
                accepted = rng.random() >= 0.03
                yield (fid, f"{self.actor_uri(a)}#follows/{fid}", accepted, created, b, a)

    FOLLOW_COLUMNS = ("id", "uri", "accepted", "created_at", "followee_id", "follower_id")

    def post_rows(self) -> Iterator[tuple[Any, ...]]:
        rng, n = self.rng, self.n_posts
        for i in range(1, n + 1):
            a = self.author[i]
            local = a <= self.n_local
            text = self.texts[rng.randrange(len(self.texts))]
            uri = f"{self.actor_uri(a)}/statuses/{i:x}"
            parent = self.parent[i] or None
            published = self.stamp(i, n)
            if not local:  # federation delivers a little late
                published -= timedelta(seconds=rng.randint(0, 600))
            yield (
                i,
                uri,
                "Note",
                f"<p>{text}</p>",
                text if local else None,
                "",
                False,
                self.visibility(i),
                f"{self.actor_uri(self.author[parent])}/statuses/{parent:x}" if parent else None,
                uri,
                published,
                None,
                local,
                self.likes_count[i],
                self.shares_count[i],
                self.replies_count[i],
                None,
                published,
                a,
                parent,
            )

    POST_COLUMNS = (
        "id",
        "uri",
        "type",
        "content",
        "source",
        "summary",
        "sensitive",
        "visibility",
        "in_reply_to_uri",
        "url",
        "published",
        "updated",
        "local",
        "likes_count",
        "shares_count",
        "replies_count",
        "counts_at",
        "created_at",
        "author_id",
        "in_reply_to_id",
    )

    def recipient_rows(self) -> Iterator[tuple[Any, ...]]:
        """Direct posts name 1-3 people, others mention 1-2 now and then, replies name the parent's
        author."""
        rng, rid = self.rng, 0
        for i in range(1, self.n_posts + 1):
            vis = self.visibility(i)
            names: set[int] = set()
            if vis == "direct":
                names.update(rng.randint(1, self.accounts) for _ in range(rng.randint(1, 3)))
            elif rng.random() < 0.08:
                names.update(rng.randint(1, self.accounts) for _ in range(rng.randint(1, 2)))
            if self.parent[i]:
                names.add(self.author[self.parent[i]])
            names.discard(self.author[i])
            for b in sorted(names):
                rid += 1
                yield (rid, b, i)

    RECIPIENT_COLUMNS = ("id", "actor_id", "post_id")

    def share_rows(self) -> Iterator[tuple[Any, ...]]:
        for sid, (actor, post) in enumerate(self.shares, 1):
            yield (
                sid,
                f"{self.actor_uri(actor)}#shares/{sid}",
                self.stamp(post, self.n_posts),
                actor,
                post,
                self.visibility(post),
            )

    SHARE_COLUMNS = ("id", "uri", "created_at", "actor_id", "post_id", "post_visibility")

    def like_rows(self) -> Iterator[tuple[Any, ...]]:
        for lid, (actor, post) in enumerate(self.likes, 1):
            yield (lid, None, "", self.stamp(post, self.n_posts), actor, post)

    LIKE_COLUMNS = ("id", "uri", "content", "created_at", "actor_id", "post_id")

    def tables(self) -> list[tuple[str, Sequence[str], Iterator[tuple[Any, ...]]]]:
        return [
            ("actors", self.ACTOR_COLUMNS, self.actor_rows()),
            ("accounts", self.ACCOUNT_COLUMNS, self.account_rows()),
            ("follows", self.FOLLOW_COLUMNS, self.follow_rows()),
            ("posts", self.POST_COLUMNS, self.post_rows()),
            ("post_recipients", self.RECIPIENT_COLUMNS, self.recipient_rows()),
            ("shares", self.SHARE_COLUMNS, self.share_rows()),
            ("likes", self.LIKE_COLUMNS, self.like_rows()),
        ]


def _table(weights: Sequence[tuple[str, int]]) -> list[str]:
    out = [name for name, weight in weights for _ in range(weight)]
    assert len(out) == 100
    return out


def _dummy_key() -> tuple[str, str]:
    """One RSA key pair for every bulk account (generating 21,000 would take minutes)."""
    from federation.keys import generate_rsa_keypair

    return generate_rsa_keypair()


def _chunks(rows: Iterator[tuple[Any, ...]], size: int = CHUNK) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---------------------------------------------------------------------------------------------
# Loading


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(" ")  # what tortoise stores
    return value


def _load_sqlite(path: Path, data: Data) -> dict[str, int]:
    counts: dict[str, int] = {}
    db = sqlite3.connect(path)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("PRAGMA cache_size=-500000")
        for table, columns, rows in data.tables():
            sql = (
                f'INSERT INTO "{table}" ({", ".join(columns)}) '
                f"VALUES ({', '.join('?' for _ in columns)})"
            )
            n = 0
            for chunk in _chunks(rows):
                db.executemany(sql, [tuple(map(_sqlite_value, r)) for r in chunk])
                db.commit()
                n += len(chunk)
            counts[table] = n
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.close()
    return counts


async def _load_postgres(url: str, data: Data) -> dict[str, int]:
    counts: dict[str, int] = {}
    conn = await asyncpg.connect(url)
    try:
        for table, columns, rows in data.tables():
            n = 0
            for chunk in _chunks(rows):
                await conn.copy_records_to_table(table, records=chunk, columns=list(columns))
                n += len(chunk)
            counts[table] = n
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f'(SELECT coalesce(max(id), 0) + 1 FROM "{table}"), false)'
            )
        # A bulk load leaves no statistics and no visibility map (index-only scans would visit
        # the heap anyway); autovacuum would do both within minutes on a live node.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()
    return counts


async def load(
    *,
    accounts: int,
    posts: int,
    readers: int,
    database: str,
    db_url: str,
    base_url: str,
    seed: int = 1,
) -> Graph:
    """Migrate the empty database the way the node does, then bulk-load the graph into it."""
    from node.db import open_database

    ctx = await open_database(db_url)
    await ctx.close_connections()
    data = Data(accounts=accounts, posts=posts, readers=readers, base_url=base_url, seed=seed)
    if database == "sqlite":
        path = Path(db_url.removeprefix("sqlite://"))
        counts = await asyncio.to_thread(_load_sqlite, path, data)
    else:
        counts = await _load_postgres(db_url, data)
    return Graph(reader_tokens=[data.token(a) for a in data.readers], counts=counts)


# ---------------------------------------------------------------------------------------------
# The node and the readers


@dataclass
class Sample:
    page1: list[float] = field(default_factory=list)
    page2: list[float] = field(default_factory=list)
    empty: int = 0
    failed: int = 0
    posts_seen: int = 0


async def _read(
    session: aiohttp.ClientSession, url: str, token: str, sample: Sample | None, page: int
) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    began = time.perf_counter()
    async with session.get(url, headers=headers) as resp:
        body = await resp.read()
        status = resp.status
    took = time.perf_counter() - began
    if sample is None:
        return []
    if status != 200:
        sample.failed += 1
        return []
    (sample.page1 if page == 1 else sample.page2).append(took)
    statuses: list[dict[str, Any]] = orjson.loads(body)
    if not statuses:
        sample.empty += 1
    sample.posts_seen += len(statuses)
    return statuses


async def _readers(
    session: aiohttp.ClientSession,
    base_url: str,
    tokens: list[str],
    requests: int,
    think_seconds: float,
) -> tuple[Sample, float]:
    home = f"{base_url}/api/v1/timelines/home"

    async def one_pass(token: str, sample: Sample | None) -> None:
        first = await _read(session, home, token, sample, 1)
        if sample is None or first:
            last = first[-1]["id"] if first else None
            url = f"{home}?max_id={last}" if last else home
            await _read(session, url, token, sample, 2)

    # Warm-up: every reader reads both pages once, untimed (connections, caches).
    await asyncio.gather(*(one_pass(t, None) for t in tokens))
    sample = Sample()
    remaining = [requests]

    async def reader(token: str, delay: float) -> None:
        await asyncio.sleep(delay)
        while remaining[0] > 0:
            remaining[0] -= 2
            await one_pass(token, sample)
            if think_seconds:
                await asyncio.sleep(think_seconds * random.uniform(0.5, 1.5))

    began = time.perf_counter()
    spread = think_seconds / max(1, len(tokens))
    await asyncio.gather(*(reader(t, i * spread) for i, t in enumerate(tokens)))
    return sample, time.perf_counter() - began


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


# ---------------------------------------------------------------------------------------------
# The benchmark


@dataclass(frozen=True, slots=True)
class Phase:
    """One way of reading: how long a reader pauses between passes, and the node's processes."""

    name: str
    think_seconds: float  # mean pause after reading page 1 and page 2 (uniform, 0.5x to 1.5x)
    web: int = 1  # web processes (`plein run --web N`; more than one needs PostgreSQL)


PACED = Phase("reading pace (pause 2 s after two pages)", 2.0)
BACK_TO_BACK = Phase("back to back (no pause)", 0.0)
BACK_TO_BACK_2 = Phase("back to back, 2 web processes", 0.0, web=2)


def phases_for(database: str) -> list[Phase]:
    if database == "postgres":
        return [PACED, BACK_TO_BACK, BACK_TO_BACK_2]
    return [PACED, BACK_TO_BACK]


async def run(
    *,
    accounts: int,
    posts: int,
    readers: int,
    requests: int,
    database: str,
    workdir: Path,
    phases: Sequence[Phase] | None = None,
    seed: int = 1,
    keep: bool = False,
) -> list[Row]:
    """Load the graph into a fresh ``database`` ("sqlite" or "postgres"), start a node, and read
    ``requests`` pages in each phase (by default: at a reading pace, then back to back, and on
    PostgreSQL back to back on two web processes)."""
    if database not in ("sqlite", "postgres"):
        raise ValueError(f"database: sqlite or postgres, not {database!r}")
    label = "SQLite" if database == "sqlite" else "PostgreSQL"
    workdir.mkdir(parents=True, exist_ok=True)
    if database == "sqlite":
        path = workdir / "timelines.sqlite3"
        for leftover in workdir.glob("timelines.sqlite3*"):
            leftover.unlink()
        db_url = f"sqlite://{path}"
    else:
        db_url = await create_pg_database()
    port = free_port()
    results: list[tuple[Phase, Sample, float]] = []
    try:
        began = time.perf_counter()
        base_url = f"http://127.0.0.1:{port}"
        graph = await load(
            accounts=accounts,
            posts=posts,
            readers=readers,
            database=database,
            db_url=db_url,
            base_url=base_url,
            seed=seed,
        )
        load_seconds = time.perf_counter() - began
        connector = aiohttp.TCPConnector(limit=readers + 5)
        timeout = aiohttp.ClientTimeout(total=120)
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            for phase in phases or phases_for(database):
                args = ("--web", str(phase.web), "--workers", "1") if phase.web > 1 else ()
                node = Node(
                    name="timelines",
                    port=port,
                    data_dir=workdir / "node",
                    database_url=db_url,
                    args=args,
                )
                try:
                    await node.start(session)
                    sample, elapsed = await _readers(
                        session, base_url, graph.reader_tokens, requests, phase.think_seconds
                    )
                finally:
                    node.stop()
                results.append((phase, sample, elapsed))
    finally:
        if keep:
            print(f"kept database: {db_url}", file=sys.stderr)
        elif database == "postgres":
            await drop_pg_database(db_url)
        else:
            for leftover in workdir.glob("timelines.sqlite3*"):
                leftover.unlink()
    measured = (NO_GOAL, MEASURED)
    load_text = (
        f"{load_seconds:.0f} s ({graph.counts['actors']:,} accounts, "
        f"{graph.counts['posts']:,} posts, {graph.counts['follows']:,} follows)"
    )
    rows = [Row(f"timelines data load, {label}", load_text, *measured)]
    bad = total = 0
    for phase, sample, elapsed in results:
        done = sample.page1 + sample.page2
        if not done:
            raise RuntimeError(f"{phase.name}: no timeline request succeeded")
        bad += sample.empty + sample.failed
        total += len(done) + sample.failed
        p50, p99 = _percentile(done, 0.5), _percentile(done, 0.99)
        if database == "postgres":
            goal, verdict = f"< {GOAL_P99_MS:.0f} ms", at_most(p99 * 1000, GOAL_P99_MS)
        else:
            goal, verdict = measured
        where = f"{label}, {readers} readers, {phase.name}"
        rows += [
            Row(f"home timeline p50 / p99, {where}", f"{_ms(p50)} / {_ms(p99)}", goal, verdict),
            Row(f"home timeline pages/s, {where}", f"{len(done) / elapsed:.0f}", *measured),
        ]
    rows.append(
        Row(
            f"empty or failed home pages, {label}",
            f"{bad} of {total}",
            "0",
            "met" if bad == 0 else f"missed: {bad} empty or failed",
        )
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=2_000)
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--requests", type=int, default=2_000)
    parser.add_argument("--database", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/plein-bench-timelines"))
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args(argv)
    kinds = ("sqlite", "postgres") if args.database == "both" else (args.database,)
    for kind in kinds:
        rows = asyncio.run(
            run(
                accounts=args.accounts,
                posts=args.posts,
                readers=args.readers,
                requests=args.requests,
                database=kind,
                workdir=args.workdir / kind,
                keep=args.keep,
            )
        )
        for row in rows:
            print(f"{row.name:<60} {row.value:>32}  {row.goal:>8}  {row.verdict}")


if __name__ == "__main__":
    main()
