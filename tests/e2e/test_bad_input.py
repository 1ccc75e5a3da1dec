"""Bad input to the client API and the public endpoints: a clear 4xx in JSON, and no change.

Each row here is a request a new user (or a hostile one) really sent while trying Plein.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from .harness import Api, Network, Node

pytestmark = pytest.mark.e2e

HUGE = "99999999999999999999999"


async def state(api: Api) -> Any:
    me = await api.me()
    return (
        [s["uri"] for s in await api.call("GET", "/timelines/home")],
        await api.call("GET", f"/accounts/{me['id']}/followers"),
        me,
    )


@pytest.fixture
async def node(network: Network) -> Node:
    return await network.node("hq", users=("alice", "dirk"))


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "words"),
    [
        ("GET", f"/statuses/{HUGE}", None, 404, "no post"),
        ("DELETE", f"/statuses/{HUGE}", None, 404, "no post"),
        ("GET", "/statuses/abc", None, 404, "no post"),
        ("GET", f"/accounts/{HUGE}", None, 404, "no account"),
        ("GET", f"/timelines/home?max_id={HUGE}", None, 400, "max_id"),
        ("GET", "/timelines/home?limit=ten", None, 400, "limit"),
        ("POST", "/statuses", {"status": "x", "in_reply_to_id": HUGE}, 404, "no post"),
        ("POST", "/statuses", {"status": None}, 400, "status"),
        ("POST", "/statuses", {"status": ["a"]}, 400, "status: must be a string"),
        ("POST", "/statuses", {"status": "x", "sensitive": "maybe"}, 400, "sensitive"),
        ("POST", "/statuses", {"status": "x", "visibility": "secret"}, 400, "visibility"),
        ("POST", "/statuses", {"status": "x" * 20_001}, 400, "longer than"),
        ("PATCH", "/accounts/update_credentials", {"locked": [0]}, 400, "locked"),
        ("GET", "/accounts/lookup?acct=" + "a" * 3000, None, 404, "no account"),
        ("GET", "/search?resolve=true&q=" + "a" * 3000, None, 200, ""),
        ("POST", "/follows", {"uri": "alice"}, 400, "yourself"),
        ("POST", "/follows", {"uri": "nobody@127.0.0.1:9"}, 404, "cannot find"),
        ("DELETE", "/timelines/home", None, 405, "method not allowed"),
    ],
)
async def test_given_bad_api_input_when_sent_then_a_json_4xx_and_nothing_changes(
    node: Node,
    session: aiohttp.ClientSession,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    status: int,
    words: str,
) -> None:
    alice = node.api(session, "alice")
    before = await state(alice)
    got, data = await alice.request(method, path, body)
    assert got == status, data
    assert isinstance(data, dict)
    if words:
        assert words in data["error"]
    assert await state(alice) == before


async def test_given_malformed_json_when_posting_then_the_error_says_so(
    node: Node, session: aiohttp.ClientSession
) -> None:
    headers = {"Authorization": "bearer token-hq-alice", "Content-Type": "application/json"}
    async with session.post(
        f"{node.base_url}/api/v1/statuses", data=b'{"status": "x"', headers=headers
    ) as resp:
        assert resp.status == 400
        assert "malformed JSON" in (await resp.json())["error"]


async def test_given_a_post_the_caller_may_not_see_when_reacting_or_editing_then_nothing_leaks(
    node: Node, session: aiohttp.ClientSession
) -> None:
    alice, dirk = node.api(session, "alice"), node.api(session, "dirk")
    secret = await alice.post("only for myself", visibility="followers")
    for path in ("unfavourite", "unreblog"):
        got, data = await dirk.request("POST", f"/statuses/{secret['id']}/{path}")
        assert got == 200 and "content" not in data and "only for myself" not in str(data)
    for method, body in (("PUT", {"status": "hijack"}), ("DELETE", None)):
        got, data = await dirk.request(method, f"/statuses/{secret['id']}", body)
        assert (got, data["error"]) == (404, f"no post {secret['id']}")
    assert (await alice.call("GET", f"/statuses/{secret['id']}"))["content"] == (
        "<p>only for myself</p>\n"
    )


async def test_given_an_accepted_follower_when_rejected_as_a_request_then_nothing_happens(
    node: Node, session: aiohttp.ClientSession
) -> None:
    alice, dirk = node.api(session, "alice"), node.api(session, "dirk")
    await dirk.follow("alice")
    me = await dirk.me()
    for action in ("reject", "authorize"):
        got, data = await alice.request("POST", f"/follow_requests/{me['id']}/{action}")
        assert (got, data["error"]) == (404, "no such follow request")
    assert [f["acct"] for f in await alice.followers()] == ["dirk"]


async def test_given_odd_public_requests_when_sent_then_json_4xx(
    node: Node, session: aiohttp.ClientSession
) -> None:
    base = node.base_url
    cases = [
        (f"{base}/.well-known/webfinger?resource=acct:{'a' * 5000}@{node.netloc}", 404),
        (f"{base}/inbox", 405),
        (f"{base}/nowhere", 404),
    ]
    for url, status in cases:
        async with session.get(url) as resp:
            assert resp.status == status, url
            assert "error" in await resp.json(content_type=None)
    async with session.get(f"{base}/@nobody") as resp:
        assert resp.status == 404
        assert "text/html" in resp.headers["Content-Type"]


async def test_given_an_inbox_body_that_never_completes_when_waiting_then_408_not_a_hang(
    node: Node,
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    writer.write(
        b"POST /inbox HTTP/1.1\r\nHost: " + node.netloc.encode() + b"\r\n"
        b"Content-Type: application/activity+json\r\nContent-Length: 100\r\n\r\n{}"
    )
    await writer.drain()
    status_line = await asyncio.wait_for(reader.readline(), timeout=40)
    writer.close()
    assert status_line.split()[1] == b"408"
