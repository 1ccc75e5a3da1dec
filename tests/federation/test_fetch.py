"""HttpClient against a real aiohttp server on 127.0.0.1: signing, caps, redirects, timeouts."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from federation.errors import FederationError, FetchError
from federation.fetch import HostNotAllowed, HttpClient, ResponseTooLarge
from federation.keys import SigningKey, generate_rsa_keypair, load_public_key
from federation.signatures import verify_request
from tests.cases import load_case

KEY_ID = "https://hq.test/actor#main-key"
AS_JSON = "application/activity+json"


@dataclass
class Server:
    port: int
    hits: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture(scope="module")
def pems() -> tuple[str, str]:
    return generate_rsa_keypair()


@pytest.fixture
def key(pems: tuple[str, str]) -> SigningKey:
    return SigningKey.from_pem(KEY_ID, pems[0])


def json_response(data: Any, content_type: str = AS_JSON) -> web.Response:
    return web.Response(body=json.dumps(data).encode(), headers={"Content-Type": content_type})


@pytest.fixture
async def server(pems: tuple[str, str]) -> AsyncIterator[Server]:
    public_key = load_public_key(pems[1])
    state = Server(port=0)

    async def signed(request: web.Request) -> web.Response:
        body = await request.read() if request.can_read_body else None
        try:
            params = verify_request(
                method=request.method,
                target=request.raw_path,
                headers=request.headers,
                body=body,
                public_key=public_key,
            )
        except FederationError as exc:
            return web.Response(status=exc.status, text=exc.message)
        state.verified.append(request.raw_path)
        if request.method == "POST":
            return web.Response(status=202, text=f"accepted {len(body or b'')} bytes")
        return json_response({"id": request.raw_path, "keyId": params.key_id})

    async def sized(request: web.Request) -> web.Response:
        size = int(request.match_info["size"])
        filler = "x" * max(0, size - 30)
        return json_response({"summary": filler})

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": AS_JSON})
        await response.prepare(request)
        await response.write(b'{"summary": "')
        try:
            for _ in range(50_000_000 // 65536 + 1):
                await response.write(b"x" * 65536)
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query.get("to", "/redirect"))

    async def slow(request: web.Request) -> web.Response:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.release.wait(), 5)
        return json_response({})

    async def plain(request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        if kind == "html":
            return web.Response(text="<html></html>", content_type="text/html")
        if kind == "list":
            return json_response([1, 2])
        if kind == "broken":
            return web.Response(body=b"{not json", headers={"Content-Type": AS_JSON})
        if kind == "jrd":
            return json_response({"subject": "x"}, "application/jrd+json; charset=utf-8")
        if kind == "ld":
            ld = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
            return json_response({"ok": 1}, ld)
        if kind == "json":
            return json_response({"ok": 1}, "application/json")
        if kind == "big-post":
            return web.Response(status=400, text="e" * 5000)
        return web.Response(status=410, text="gone")

    @web.middleware
    async def count(request: web.Request, handler: Any) -> web.StreamResponse:
        state.hits.append(request.path_qs)
        result: web.StreamResponse = await handler(request)
        return result

    app = web.Application(middlewares=[count])
    app.router.add_route("*", "/signed/{tail:.*}", signed)
    app.router.add_get("/sized/{size}", sized)
    app.router.add_get("/endless", endless)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/slow", slow)
    app.router.add_route("*", "/plain/{kind}", plain)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    state.port = runner.addresses[0][1]
    try:
        yield state
    finally:
        state.release.set()
        await runner.cleanup()


def client_for(server: Server, **options: Any) -> HttpClient:
    allowed = {f"127.0.0.1:{server.port}", f"localhost:{server.port}"}
    return HttpClient(allow=lambda netloc: netloc in allowed, user_agent="plein-test", **options)


async def test_signed_get_is_verified_by_the_server(server: Server, key: SigningKey) -> None:
    path = "/signed/users/alice/followers_synchronization?authority=https%3A%2F%2Fhq.test&b=1"
    async with client_for(server) as client:
        data = await client.get_json(server.url(path), key=key)
    assert data == {"id": path, "keyId": KEY_ID}
    assert server.verified == [path]


async def test_unsigned_get_is_refused_by_the_server(server: Server) -> None:
    async with client_for(server) as client:
        with pytest.raises(FetchError, match="HTTP 401"):
            await client.get_json(server.url("/signed/x"))


async def test_same_host_redirect_is_followed_and_resigned(server: Server, key: SigningKey) -> None:
    async with client_for(server) as client:
        data = await client.get_json(server.url("/redirect?to=/signed/b"), key=key)
    assert data["id"] == "/signed/b"
    assert server.verified == ["/signed/b"]


async def test_redirect_to_another_host_is_refused(server: Server, key: SigningKey) -> None:
    elsewhere = server.url("/signed/b", host="localhost")
    async with client_for(server) as client:
        with pytest.raises(FetchError, match="redirect to another host refused"):
            await client.get_json(server.url(f"/redirect?to={elsewhere}"), key=key)
    assert server.verified == []
    assert all(not hit.startswith("/signed") for hit in server.hits)


async def test_too_many_redirects(server: Server) -> None:
    async with client_for(server, max_redirects=2) as client:
        with pytest.raises(FetchError, match="too many redirects"):
            await client.get_json(server.url("/redirect"))


async def test_payload_size_limits(server: Server) -> None:
    case = load_case("payload-size-limits")
    sizes = [item["response_bytes"] for item in case["input"]["outbound_fetch"]]
    assert sizes == [300_000, 130_000, 50_000_000]
    async with client_for(server) as client:
        for size in sizes[:2]:
            data = await client.get_json(server.url(f"/sized/{size}"))
            assert len(data["summary"]) > size - 100
        with pytest.raises(ResponseTooLarge, match="response larger than 2000000 bytes"):
            await client.get_json(server.url(f"/sized/{sizes[2]}"))
        # Streamed without a Content-Length: aborted at the cap, not after 50 MB.
        with pytest.raises(FetchError, match="response larger than 2000000 bytes"):
            await client.get_json(server.url("/endless"))


async def test_slow_server_times_out(server: Server) -> None:
    async with client_for(server, timeout_seconds=0.3) as client:
        started = asyncio.get_running_loop().time()
        with pytest.raises(FetchError, match="timed out"):
            await client.get_json(server.url("/slow"))
        assert asyncio.get_running_loop().time() - started < 2


async def test_host_not_allowed_is_refused_before_connecting(server: Server) -> None:
    async with HttpClient(allow=lambda netloc: False, user_agent="plein-test") as client:
        with pytest.raises(HostNotAllowed, match=f"host not allowed: 127.0.0.1:{server.port}"):
            await client.get_json(server.url("/plain/json"))
        with pytest.raises(HostNotAllowed, match="host not allowed"):
            await client.post(
                server.url("/signed/inbox"),
                b"{}",
                key=SigningKey.from_pem(KEY_ID, generate_rsa_keypair(1024)[0]),
            )
    assert server.hits == []


async def test_non_http_scheme_is_refused() -> None:
    async with HttpClient(allow=lambda netloc: True, user_agent="plein-test") as client:
        with pytest.raises(FetchError, match="scheme not allowed: file"):
            await client.get_json("file:///etc/passwd")


@pytest.mark.parametrize("kind", ["jrd", "ld", "json"])
async def test_any_json_content_type(server: Server, kind: str) -> None:
    async with client_for(server) as client:
        assert await client.get_json(server.url(f"/plain/{kind}"))


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("html", "non-JSON content type"),
        ("list", "not an object"),
        ("broken", "invalid JSON"),
        ("gone", "HTTP 410"),
    ],
)
async def test_bad_responses(server: Server, kind: str, message: str) -> None:
    async with client_for(server) as client:
        with pytest.raises(FetchError, match=message):
            await client.get_json(server.url(f"/plain/{kind}"))


async def test_body_read_fully(server: Server, key: SigningKey) -> None:
    """A 70 KB signed POST arrives whole and its digest verifies on the server."""
    case = load_case("body-read-fully")
    shape = case["input"]["body_shape"]
    shape["object"]["content"] = "<p>" + "x" * 70_000 + "</p>"
    body = json.dumps(shape).encode()
    async with client_for(server) as client:
        status, text = await client.post(server.url("/signed/inbox"), body, key=key)
    assert (status, text) == (202, f"accepted {len(body)} bytes")
    assert server.verified == ["/signed/inbox"]


async def test_post_truncates_response_text(server: Server, key: SigningKey) -> None:
    async with client_for(server) as client:
        status, text = await client.post(server.url("/plain/big-post"), b"{}", key=key)
    assert status == 400
    assert text == "e" * 1000


async def test_post_network_error(server: Server, key: SigningKey) -> None:
    async with HttpClient(allow=lambda netloc: True, user_agent="plein-test") as client:
        with pytest.raises(FetchError, match=r"POST http://127\.0\.0\.1:1/inbox failed"):
            await client.post("http://127.0.0.1:1/inbox", b"{}", key=key)
