"""Every example of fediverse-pasture-inputs (and Plein's own odd shapes) through a real inbox.

See ``tests/e2e/pasture_run.py`` for how the examples are built; ``docs/pasture.md`` is the
table of what became of each. Skipped when the package is not installed (it is installed with
``pip install --no-deps fediverse-pasture-inputs==0.3.0``, see docs/pasture.md).
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from node.convert.html import html_to_text

from .harness import Network
from .pasture_run import (
    Example,
    PastureUnavailable,
    build_create,
    extra_examples,
    html_problems,
    load_examples,
    run,
)
from .peer import TestPeer

pytestmark = pytest.mark.e2e

try:
    PACKAGE_EXAMPLES = load_examples()
except PastureUnavailable as exc:
    pytest.skip(str(exc), allow_module_level=True)


async def test_pasture_inputs_through_a_real_inbox(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    node = await network.node("pasture", users=("alice",))
    alice = node.api(session, "alice")
    examples = PACKAGE_EXAMPLES + extra_examples()
    assert len(PACKAGE_EXAMPLES) > 200  # the whole package was read, not one input

    outcomes = await run(session, node, alice, peer, examples)

    problems: list[str] = []
    for o in outcomes:
        name = o.example.name
        if o.status >= 500:
            problems.append(f"{name}: {o.status} {o.body[:200]}")
        elif o.status >= 400:
            if not o.error:
                problems.append(f"{name}: {o.status} without a JSON error: {o.body[:200]}")
        elif o.status != 202:
            problems.append(f"{name}: unexpected {o.status}")
        elif o.state == "pending" and not (o.last_error or "").startswith("cannot fetch"):
            # Only a by-reference object whose fetch failed may wait for a retry.
            problems.append(f"{name}: left pending: {o.last_error}")
        elif o.state not in ("processed", "rejected", "pending"):
            problems.append(f"{name}: left {o.state}: {o.last_error}")
        elif o.state == "rejected" and not o.last_error:
            problems.append(f"{name}: rejected without a reason")
        elif o.state == "processed" and not o.accepted:
            problems.append(f"{name}: processed but not stored")
        if not o.accepted:
            continue
        problems += [f"{name}: {p}" for p in html_problems(o.content or "")]
        if o.example.has_text() and not html_to_text(o.content or ""):
            problems.append(f"{name}: has text, stored with empty content")
        if o.visibility == "public":  # alice can see it: the client API renders the stored HTML
            if o.api_status is None:
                problems.append(f"{name}: stored but not found by search")
            elif o.api_status["content"] != o.content:
                problems.append(f"{name}: the API shows other content than stored")
    assert not problems, "\n".join(problems)

    accepted = sum(o.accepted for o in outcomes)
    assert accepted >= len(outcomes) * 0.9, f"only {accepted} of {len(outcomes)} accepted"
    assert "Traceback" not in node.log_path.read_text(errors="replace")
    # The node still answers, to peers and to its users.
    async with session.get(f"{node.base_url}/.well-known/nodeinfo") as resp:
        assert resp.status == 200
    assert (await alice.me())["username"] == "alice"


async def test_burst_of_first_contacts_gives_no_5xx(
    network: Network, session: aiohttp.ClientSession, peer: TestPeer
) -> None:
    """A new peer's first 20 activities at once: every one must be answered 202, none 500."""
    node = await network.node("burst", users=("alice",))
    actor = peer.actor("newcomer")
    recipient = (await node.api(session, "alice").me())["uri"]
    examples = [Example("burst", i, {"content": f"burst {i}"}) for i in range(20)]
    answers = await asyncio.gather(
        *(
            peer.post(
                session,
                f"{node.base_url}/inbox",
                build_create(e, peer, actor, recipient),
                signer=actor,
            )
            for e in examples
        )
    )
    assert [status for status, _ in answers] == [202] * 20, answers
