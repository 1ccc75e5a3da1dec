"""One node as several processes on PostgreSQL: web processes and workers share the database.

``plein run --web 2 --workers 3`` starts two web processes on one port and three worker processes;
every job is claimed by one worker at a time, a killed worker's jobs are taken over when its lease
runs out, and the supervisor starts a new worker in its place.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from .harness import Api, Network, database_kind, eventually
from .peer import TestPeer

pytestmark = pytest.mark.e2e

postgres_only = pytest.mark.skipif(
    database_kind() != "postgres",
    reason="several processes per node need PostgreSQL (this runs in the PostgreSQL pass)",
)


def children(pid: int) -> dict[int, str]:
    """The direct child processes of ``pid`` with their command lines, read from /proc."""
    found: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


def workers_of(parent: int) -> list[int]:
    return [pid for pid, cmd in children(parent).items() if " node worker" in cmd]


async def inbox_counts(api: Api) -> dict[str, int]:
    state = await api.call("GET", "/admin/federation")
    return state["inbox"]  # type: ignore[no-any-return]


@postgres_only
async def test_every_accepted_activity_is_processed_while_a_worker_is_killed(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    # Given a node of two web and three worker processes, and a peer actor pat
    node = await network.node("a", users=("alice",), args=("--web", "2", "--workers", "3"))
    assert node.process is not None
    alice = node.api(session, "alice")
    parent = node.process.pid

    async def three_workers() -> bool:
        return len(workers_of(parent)) == 3

    await eventually(three_workers)
    pat = peer.actor("pat")

    def create(i: int) -> dict[str, Any]:
        note = f"{pat.id}/notes/{i}"
        return {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": f"{note}/activity",
            "type": "Create",
            "actor": pat.id,
            "to": ["https://www.w3.org/ns/activitystreams#Public"],
            "object": {
                "id": note,
                "type": "Note",
                "attributedTo": pat.id,
                "content": f"<p>burst {i}</p>",
                "to": ["https://www.w3.org/ns/activitystreams#Public"],
            },
        }

    # When 300 signed Creates arrive, 20 at a time, and one worker is SIGKILLed halfway
    answers: Counter[int] = Counter()
    victim = workers_of(parent)[0]
    semaphore = asyncio.Semaphore(20)

    async def send(i: int) -> None:
        async with semaphore:
            if i == 150:
                os.kill(victim, signal.SIGKILL)
            code, _ = await peer.post(session, f"{node.base_url}/inbox", create(i), signer=pat)
            answers[code] += 1

    await asyncio.gather(*(send(i) for i in range(300)))
    assert answers == {202: 300}

    # Then every one is processed once the dead worker's leases have run out
    async def all_processed() -> bool:
        counts = await inbox_counts(alice)
        return counts.get("processed") == 300 and not counts.get("pending")

    await eventually(all_processed, timeout=60)
    statuses = await alice.call("GET", "/timelines/public?limit=40")
    assert len(statuses) == 40
    assert all(s["account"]["url"] == pat.id for s in statuses)

    # and the supervisor put a new worker in the killed one's place
    async def replaced() -> bool:
        pids = workers_of(parent)
        return len(pids) == 3 and victim not in pids

    await eventually(replaced, timeout=15)


@postgres_only
async def test_deliveries_from_three_workers_arrive_exactly_once(
    network: Network, session: aiohttp.ClientSession
) -> None:
    # Given alice on a node with three worker processes, followed from eight peer servers
    node = await network.node("a", users=("alice",), args=("--web", "2", "--workers", "3"))
    alice = node.api(session, "alice")
    me = await alice.me()
    peers = [TestPeer() for _ in range(8)]
    for p in peers:
        await p.start()
    try:
        for n, p in enumerate(peers):
            follower = p.actor(f"f{n}")
            follow = {
                "@context": "https://www.w3.org/ns/activitystreams",
                "id": f"{follower.id}/follows/1",
                "type": "Follow",
                "actor": follower.id,
                "object": me["url"],
            }
            code, text = await p.post(session, f"{node.base_url}/inbox", follow, signer=follower)
            assert code == 202, text

        async def all_accepted() -> bool:
            return all(any(a.get("type") == "Accept" for a in p.received) for p in peers)

        await eventually(all_accepted, timeout=30)

        # When she posts 15 times in a row
        posts = [await alice.post(f"Update {i} from head office") for i in range(15)]
        expected = {p["uri"] for p in posts}

        # Then each peer server receives each post once: no job ran in two workers
        def creates(p: TestPeer) -> Counter[str]:
            return Counter(
                a["object"]["id"]
                for a in p.received
                if a.get("type") == "Create" and isinstance(a.get("object"), dict)
            )

        async def all_delivered() -> bool:
            return all(set(creates(p)) == expected for p in peers)

        await eventually(all_delivered, timeout=60)
        await asyncio.sleep(1)  # a duplicate would come from a second worker about now
        for p in peers:
            assert set(creates(p).values()) == {1}
    finally:
        for p in peers:
            await p.close()


def test_several_processes_on_sqlite_are_refused_with_the_reason(tmp_path: Path) -> None:
    # Given a SQLite node
    env = os.environ | {"PLEIN_DATA_DIR": str(tmp_path), "PLEIN_BASE_URL": "http://127.0.0.1:1"}
    env.pop("PLEIN_DATABASE_URL", None)
    for args in (["run", "--workers", "2"], ["run", "--web", "2"], ["worker"]):
        # When it is asked to run as several processes
        result = subprocess.run(
            [sys.executable, "-m", "node", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        # Then it refuses, saying why, and changes nothing
        assert result.returncode != 0
        assert "need PostgreSQL" in result.stderr, result.stderr
    assert not (tmp_path / "plein.sqlite3").exists()
