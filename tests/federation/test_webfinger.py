"""WebFinger: resource forms on our side, self-link selection and lookup against a real server."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp import web

from federation.errors import BadRequest, FetchError, NotFound
from federation.fetch import HttpClient
from federation.webfinger import jrd, lookup, parse_resource, select_actor_link
from tests.cases import load_case


def resource_of(request_line: str) -> str | None:
    query = urlsplit(request_line.split(" ", 1)[1]).query
    values = parse_qs(query).get("resource")
    return values[0] if values else None


def test_webfinger_case_and_resource_forms() -> None:
    case = load_case("webfinger-case-and-resource-forms")
    requests = case["input"]["requests"]
    stored = case["input"]["stored_username"]
    hosts = {"hq.test"}
    for line in requests[:5]:
        assert parse_resource(resource_of(line), local_hosts=hosts) == stored, line
    # Unknown user: parses; the store answers 404.
    assert parse_resource(resource_of(requests[5]), local_hosts=hosts) == "nobody"
    with pytest.raises(BadRequest, match="missing resource") as missing:
        parse_resource(resource_of(requests[6]), local_hosts=hosts)
    assert missing.value.status == 400
    with pytest.raises(NotFound) as foreign:
        parse_resource(resource_of(requests[7]), local_hosts=hosts)
    assert foreign.value.status == 404
    document = jrd(
        subject=f"acct:{stored}@hq.test",
        actor_url=f"https://hq.test/users/{stored}",
        profile_url=f"https://hq.test/@{stored}",
    )
    assert document["subject"] == "acct:alice.jansen@hq.test"
    selves = [link for link in document["links"] if link["rel"] == "self"]
    assert selves == [
        {
            "rel": "self",
            "type": "application/activity+json",
            "href": "https://hq.test/users/alice.jansen",
        }
    ]


@pytest.mark.parametrize(
    ("resource", "error"),
    [
        ("acct:", BadRequest),
        ("acct:alice", BadRequest),
        ("acct:@hq.test", BadRequest),
        ("https://hq.test/notes/1", BadRequest),
        ("https://hq.test/users/", BadRequest),
        ("https://maastricht.test/users/alice", NotFound),
        ("https://hq.test:8443/users/alice", NotFound),
        ("   ", BadRequest),
    ],
)
def test_parse_resource_refusals(resource: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_resource(resource, local_hosts={"hq.test"})


def test_parse_resource_with_port() -> None:
    hosts = {"localhost:8000"}
    assert parse_resource("acct:Bob@LOCALHOST:8000", local_hosts=hosts) == "bob"
    assert parse_resource("http://localhost:8000/@bob/", local_hosts=hosts) == "bob"
    assert parse_resource("https://hq.test:443/users/x", local_hosts={"hq.test"}) == "x"


def test_webfinger_self_link_and_content_type() -> None:
    case = load_case("webfinger-self-link-and-content-type")
    body = case["input"]["remote_response_body"]
    assert select_actor_link(body) == "https://maastricht.test/users/bob"
    only_html = {"links": body["links"][:2]}
    with pytest.raises(NotFound):
        select_actor_link(only_html)
    assert (
        select_actor_link(
            {"links": [{"rel": "self", "type": "application/activity+json", "href": "u"}]}
        )
        == "u"
    )
    with pytest.raises(NotFound):
        select_actor_link(
            {"links": [{"rel": "self", "type": "application/ld+json", "href": "no-profile"}]}
        )


@pytest.fixture
async def jrd_server() -> AsyncIterator[tuple[str, list[str]]]:
    case = load_case("webfinger-self-link-and-content-type")
    seen: list[str] = []

    async def webfinger(request: web.Request) -> web.Response:
        seen.append(request.query_string)
        seen.append(request.headers.get("Accept", ""))
        return web.Response(
            body=json.dumps(case["input"]["remote_response_body"]).encode(),
            headers={"Content-Type": case["input"]["remote_response_headers"]["Content-Type"]},
        )

    app = web.Application()
    app.router.add_get("/.well-known/webfinger", webfinger)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_lookup_against_a_real_server(jrd_server: tuple[str, list[str]]) -> None:
    host, seen = jrd_server
    async with HttpClient(allow=lambda netloc: netloc == host, user_agent="plein-test") as client:
        actor = await lookup(client, f"@Bob@{host}", scheme="http")
        assert actor == "https://maastricht.test/users/bob"
        assert seen[0] == f"resource=acct:Bob@{host}"  # case kept as typed
        assert "application/jrd+json" in seen[1]
        with pytest.raises(BadRequest, match="invalid handle"):
            await lookup(client, "bob", scheme="http")
        with pytest.raises(FetchError, match="host not allowed"):
            await lookup(client, "bob@elsewhere.test", scheme="http")
