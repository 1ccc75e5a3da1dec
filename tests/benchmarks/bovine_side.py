"""bovine-herd 0.5.19 side by side with Plein, on the same machine, in the same run.

bovine-herd runs as in ``tests/interop`` (its own cached virtual environment, its own SQLite
database, JSON-LD contexts pre-filled so that nothing is fetched from the network).

- **Inbox accept**: the same burst as Plein's (presigned ``Create{Note}`` from a
  :class:`TestPeer` actor, 16 clients), POSTed to bovine's actor inbox after one warm-up request
  (bovine fetches the peer's key with a signed GET, served by the peer on loopback). Not quite
  like-for-like: bovine answers ``202`` once the signature is verified and a background task is
  started, without committing the activity first; Plein commits before it answers.
- **Delivery**: bovine has no follower list we can fill from outside without its users
  accepting each follow by hand, so its actor posts a Note *addressed* to F actors of the
  :class:`Sink` through its client-to-server outbox; bovine fetches each actor and POSTs to
  its inbox. Timed from the outbox POST until the sink has all F; a first post to the same
  actors warms its caches. Plein's number is its delivery row's wall rate.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp

from tests.e2e.harness import free_port
from tests.e2e.peer import TestPeer
from tests.interop.bovine import PUBLIC, BovineServer, BovineUnavailable, bovine_python

from .fanout import Sink
from .inbox import CONCURRENCY, burst, create_note, presign
from .memory import wait_idle
from .table import NO_GOAL, Row, not_run

__all__ = ["ACCEPT_NAME", "DELIVERY_NAME", "run"]

ACCEPT_NAME = (
    f"bovine-herd 0.5.19 inbox accept (its SQLite): the same signed Create{{Note}} burst, "
    f"{CONCURRENCY} clients, 202 per second"
)
DELIVERY_NAME = "bovine-herd 0.5.19 delivery (its SQLite): one Note addressed to {n} sink actors"
GOAL = NO_GOAL


async def run(
    *,
    requests: int,
    recipients: int,
    workdir: Path,
    plein_accept: float | None,
    plein_delivery: float | None,
) -> list[Row]:
    accept_name, delivery_name = ACCEPT_NAME, DELIVERY_NAME.format(n=recipients)
    try:
        python = bovine_python()
    except BovineUnavailable as exc:
        reason = f"bovine-herd unavailable: {exc.args[0][:120]}"
        return [not_run(accept_name, GOAL, reason), not_run(delivery_name, GOAL, reason)]
    peer = TestPeer()
    await peer.start()
    sink = Sink()
    await sink.start()
    async with aiohttp.ClientSession() as session:
        server = BovineServer(python, workdir / "bovine", free_port(), ("moocow",))
        try:
            await server.start(session)
            cow = server.user(session, "moocow")
            inbox = (await cow.actor())["inbox"]
            bovine, statuses = await _accept(peer, cow.actor_id, inbox, requests)
            assert server.process is not None
            busy = await wait_idle(server.process.pid)
            return [
                _accept_row(accept_name, bovine, statuses, busy, plein_accept),
                await _delivery(cow, sink, recipients, delivery_name, plein_delivery),
            ]
        finally:
            server.stop()
            await sink.close()
            await peer.close()


async def _accept(
    peer: TestPeer, cow_id: str, inbox: str, requests: int
) -> tuple[float, Counter[int]]:
    """Accepted (202) per second, and the count of every status (the warm-up included)."""
    actor = peer.actor("sender")
    warm = presign(
        [create_note(actor, "warm", 0, in_reply_to=None, mention=cow_id)], url=inbox, key=actor.key
    )
    _, warm_status = await burst(inbox, warm, concurrency=1)
    creates = [
        create_note(actor, "b", i, in_reply_to=None, mention=cow_id) for i in range(requests)
    ]
    signed = presign(creates, url=inbox, key=actor.key)
    seconds, statuses = await burst(inbox, signed)
    return statuses[202] / seconds, warm_status + statuses


def _accept_row(
    name: str, bovine: float, statuses: Counter[int], busy: float, plein: float | None
) -> Row:
    value = f"{bovine:,.0f}/s (then busy {busy:.1f} s processing in the background)"
    bad = {s: n for s, n in statuses.items() if s != 202}
    if bad:
        value += " (not accepted: " + ", ".join(f"{n}x {s or 'error'}" for s, n in bad.items())
        value += ")"
    if plein is None:
        return Row(name, value, GOAL, "not compared: Plein's inbox rows were not run")
    value += f"; Plein {plein:,.0f}/s = {plein / bovine:.1f}x"
    return Row(name, value, GOAL, f"Plein {plein / bovine:.1f}x bovine")


async def _delivery(cow: Any, sink: Sink, recipients: int, name: str, plein: float | None) -> Row:
    names = [f"b{i}" for i in range(recipients)]
    to = [PUBLIC, *(sink.actor_id(n) for n in names)]

    async def post(text: str) -> float:
        sink.reset()
        start = time.perf_counter()
        await cow.send(
            {
                "type": "Create",
                "to": to,
                "object": {
                    "type": "Note",
                    "attributedTo": cow.actor_id,
                    "content": text,
                    "to": to,
                },
            }
        )
        end = await sink.wait_count(recipients, timeout=60 + recipients)
        return end - start

    await post("warm-up")
    seconds = await post("Delivery benchmark: the canteen opens at noon")
    bovine = recipients / seconds
    value = f"{bovine:,.0f} deliveries/s wall ({seconds:.2f} s)"
    how = " (bovine delivers to addressed actors; Plein to followers)"
    if plein is None:
        return Row(name + how, value, GOAL, "not compared: Plein's delivery row was not run")
    value += f"; Plein {plein:,.0f}/s = {plein / bovine:.1f}x"
    return Row(name + how, value, GOAL, f"Plein {plein / bovine:.1f}x bovine")
