"""Claiming jobs is safe between workers: on SQLite and on PostgreSQL, with real databases.

Each worker process has its own owner name; these tests give several owners to one process, which
is what several processes look like to the database.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

from node.models import Delivery, InboxEntry
from node.stores import Leases

LEASE = timedelta(seconds=30)


async def queue_jobs(n: int, now: datetime) -> None:
    await Delivery.bulk_create(
        [
            Delivery(
                activity_id=f"https://a.test/activities/{i}",
                inbox=f"https://b.test/users/{i}/inbox",
                payload=b"{}",
                signer="https://a.test/users/alice",
                state="pending",
                next_attempt_at=now,
                created_at=now,
            )
            for i in range(n)
        ]
    )


def leases(owner: str, database: str) -> Leases:
    return Leases(Delivery, owner=owner, lease=LEASE, postgres=database == "postgres")


async def test_concurrent_workers_never_claim_the_same_job(database: str) -> None:
    # Given 400 due jobs and four workers claiming at the same time, in batches of 7
    now = datetime.now(UTC)
    await queue_jobs(400, now)
    workers = [leases(f"worker-{i}", database) for i in range(4)]
    claimed: Counter[int] = Counter()

    async def drain(worker: Leases) -> None:
        while rows := await worker.claim(limit=7, now=now):
            for row in rows:
                claimed[row.pk] += 1
                assert await worker.finish(row.pk, state="done", finished_at=now)
            await asyncio.sleep(0)

    # When they drain the queue together
    await asyncio.gather(*(drain(w) for w in workers))

    # Then every job was claimed once, by exactly one worker, and finished
    assert len(claimed) == 400
    assert set(claimed.values()) == {1}
    assert await Delivery.filter(state="done", lease_owner=None).count() == 400


async def test_a_dead_workers_jobs_return_when_its_lease_runs_out(database: str) -> None:
    # Given worker A claimed three jobs and then stopped renewing (it died)
    now = datetime.now(UTC)
    await queue_jobs(3, now)
    a, b = leases("a", database), leases("b", database)
    taken = await a.claim(limit=10, now=now)
    assert len(taken) == 3

    # When B looks before and after the lease ran out
    before = await b.claim(limit=10, now=now + LEASE - timedelta(seconds=1))
    after = await b.claim(limit=10, now=now + LEASE + timedelta(seconds=1))

    # Then B gets nothing while A's lease holds, and all three once it has run out
    assert before == []
    assert sorted(r.pk for r in after) == sorted(r.pk for r in taken)
    # and A, back from its stall, cannot overwrite the outcome B now owns
    assert not await a.finish(taken[0].pk, state="done")
    assert await b.finish(taken[0].pk, state="done")
    assert (await Delivery.get(id=taken[0].pk)).state == "done"


async def test_renewing_keeps_a_live_workers_jobs(database: str) -> None:
    # Given worker A claimed a job and renews its lease, as its heartbeat does
    now = datetime.now(UTC)
    await queue_jobs(1, now)
    a, b = leases("a", database), leases("b", database)
    (job,) = await a.claim(limit=1, now=now)
    later = now + LEASE - timedelta(seconds=5)
    assert await a.renew(later) == 1

    # When B looks after the first lease would have run out
    # Then the job is still A's
    assert await b.claim(limit=1, now=now + LEASE + timedelta(seconds=1)) == []
    assert await a.finish(job.pk, state="done")


async def test_release_all_hands_every_pending_job_back(database: str) -> None:
    # Given a single-process node's previous run held leases when it was killed
    now = datetime.now(UTC)
    await InboxEntry.create(
        activity_id="https://b.test/activities/1",
        signer="https://b.test/users/bob",
        payload=b"{}",
        next_attempt_at=now,
        received_at=now,
    )
    old = Leases(InboxEntry, owner="old", lease=LEASE, postgres=database == "postgres")
    assert len(await old.claim(limit=5, now=now)) == 1

    # When the restarted process releases every lease
    await old.release_all()

    # Then its new worker can claim the job at once
    new = Leases(InboxEntry, owner="new", lease=LEASE, postgres=database == "postgres")
    assert len(await new.claim(limit=5, now=now)) == 1
