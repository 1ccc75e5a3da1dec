"""A slow or hostile peer cannot stall or crash our outgoing HTTP.

A hostile server on 127.0.0.1 (aiohttp for HTTP-level tricks, raw asyncio sockets for broken
HTTP) offers every way a peer can misbehave when a node fetches an actor document or an object,
or delivers an activity: a body that trickles a byte at a time, a body without end, a body over
the cap (declared, streamed, or gzip-compressed), JSON nested far deeper than any parser allows,
redirect loops and redirects to another host, an actor served as HTML, a connection that is
accepted and never answered, headers that never end. Each request ends within the client's
total deadline with a FetchError that names the reason, and the same client keeps working.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import orjson
import pytest
from aiohttp import web

from federation.errors import FederationError, FetchError
from federation.fetch import HttpClient, ResponseTooLarge
from federation.keys import SigningKey, generate_rsa_keypair

AS_JSON = "application/activity+json"
TIMEOUT = 1.0  # the client's total deadline in these tests
SLACK = 1.5  # what the machine may add (2 cores shared with other test runs)
CAP = 200_000  # the client's byte cap in these tests
ACTOR = {"id": "x", "type": "Person", "inbox": "x/inbox"}


@dataclass
class Hostile:
    """The hostile HTTP server and a raw TCP server whose behaviour the test picks."""

    port: int = 0
    raw_port: int = 0
    raw_mode: str = "silent"
    raw_connections: int = 0
    writers: list[asyncio.StreamWriter] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def raw_url(self, path: str = "/actor") -> str:
        return f"http://127.0.0.1:{self.raw_port}{path}"


async def _trickle(request: web.Request) -> web.StreamResponse:
    """A JSON body sent one byte at a time, forever: it never goes idle long enough to time out
    on an idle timer, so only a total deadline ends it."""
    response = web.StreamResponse(headers={"Content-Type": AS_JSON})
    await response.prepare(request)
    with contextlib.suppress(ConnectionError, RuntimeError):
        await response.write(b'{"id": "')
        while True:
            await response.write(b"x")
            await asyncio.sleep(0.05)
    return response


async def _endless(request: web.Request) -> web.StreamResponse:
    """A chunked JSON body with no end and no Content-Length, as fast as the socket takes it."""
    response = web.StreamResponse(headers={"Content-Type": AS_JSON})
    await response.prepare(request)
    with contextlib.suppress(ConnectionError, RuntimeError):
        await response.write(b'{"summary": "')
        while True:
            await response.write(b"x" * 65536)
    return response


async def _huge(request: web.Request) -> web.Response:
    """Valid JSON twice the cap, with an honest Content-Length."""
    return web.Response(
        body=orjson.dumps({**ACTOR, "summary": "x" * 2 * CAP}), headers={"Content-Type": AS_JSON}
    )


GZIP_BOMB = b""


def _gzip_bomb() -> bytes:
    """About 20 KB that inflate to 20 MB of valid JSON."""
    global GZIP_BOMB
    if not GZIP_BOMB:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        parts = [packer.compress(b'{"summary": "')]
        parts += [packer.compress(b"x" * 1_000_000) for _ in range(20)]
        GZIP_BOMB = b"".join([*parts, packer.compress(b'"}'), packer.flush()])
    return GZIP_BOMB


async def _bomb(request: web.Request) -> web.Response:
    return web.Response(
        body=_gzip_bomb(), headers={"Content-Type": AS_JSON, "Content-Encoding": "gzip"}
    )


async def _deep(request: web.Request) -> web.Response:
    """100,000 nested arrays: 200 KB of syntactically fine JSON, far past any depth limit."""
    depth = int(request.query.get("depth", "100000"))
    return web.Response(body=b"[" * depth + b"]" * depth, headers={"Content-Type": AS_JSON})


async def _loop(request: web.Request) -> web.Response:
    raise web.HTTPFound("/loop")


async def _elsewhere(request: web.Request) -> web.Response:
    raise web.HTTPFound(request.query["to"])


async def _html(request: web.Request) -> web.Response:
    return web.Response(text="<html><body>Login</body></html>", content_type="text/html")


async def _no_type(request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps(ACTOR))


async def _hang(request: web.Request) -> web.Response:
    """Headers never come: the handler sleeps past every deadline."""
    await asyncio.sleep(3600)
    return web.Response()


async def _good(request: web.Request) -> web.Response:
    return web.Response(body=orjson.dumps(ACTOR), headers={"Content-Type": AS_JSON})


async def _inbox_trickle(request: web.Request) -> web.StreamResponse:
    await request.read()
    response = web.StreamResponse(status=202)
    await response.prepare(request)
    with contextlib.suppress(ConnectionError, RuntimeError):
        while True:
            await response.write(b".")
            await asyncio.sleep(0.05)
    return response


async def _inbox_endless(request: web.Request) -> web.StreamResponse:
    await request.read()
    response = web.StreamResponse(status=400)
    await response.prepare(request)
    with contextlib.suppress(ConnectionError, RuntimeError):
        while True:
            await response.write(b"e" * 65536)
    return response


async def _inbox_redirect(request: web.Request) -> web.Response:
    raise web.HTTPTemporaryRedirect("/inbox-elsewhere")


async def _raw_peer(
    state: Hostile, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Broken HTTP: silent after accepting, trickled status line, endless headers, garbage."""
    state.raw_connections += 1
    state.writers.append(writer)
    with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
        await reader.readuntil(b"\r\n\r\n")
        if state.raw_mode == "silent":
            await asyncio.sleep(3600)
        elif state.raw_mode == "trickled-status":
            for byte in b"HTTP/1.1 200 OK\r\n":
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(0.2)
            await asyncio.sleep(3600)
        elif state.raw_mode == "endless-headers":
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n")
            for number in range(10_000_000):
                writer.write(b"X-Junk-%d: %s\r\n" % (number, b"a" * 100))
                await writer.drain()
        elif state.raw_mode == "long-header":
            writer.write(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 1_000_000 + b"\r\n\r\n")
            await writer.drain()
        elif state.raw_mode == "garbage":
            writer.write(b"\x16\x03\x01 this is not HTTP at all\r\n\r\n")
            await writer.drain()
        elif state.raw_mode == "close":
            pass
        elif state.raw_mode == "short-body":
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n"
                b'Content-Length: 1000\r\n\r\n{"id": '
            )
            await writer.drain()
    writer.close()


@pytest.fixture
async def hostile() -> AsyncIterator[Hostile]:
    state = Hostile()
    app = web.Application()
    for path, handler in {
        "/trickle": _trickle,
        "/endless": _endless,
        "/huge": _huge,
        "/bomb": _bomb,
        "/deep": _deep,
        "/loop": _loop,
        "/elsewhere": _elsewhere,
        "/html": _html,
        "/no-type": _no_type,
        "/hang": _hang,
        "/good": _good,
    }.items():
        app.router.add_get(path, handler)
    app.router.add_post("/inbox-trickle", _inbox_trickle)
    app.router.add_post("/inbox-endless", _inbox_endless)
    app.router.add_post("/inbox-redirect", _inbox_redirect)
    app.router.add_post("/inbox-hang", _hang)
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.2)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    state.port = runner.addresses[0][1]
    raw = await asyncio.start_server(lambda r, w: _raw_peer(state, r, w), "127.0.0.1", 0)
    state.raw_port = raw.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        raw.close()
        for writer in state.writers:
            writer.transport.abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(raw.wait_closed(), 2)
        await runner.cleanup()


@pytest.fixture
def key() -> SigningKey:
    return SigningKey.from_pem("http://127.0.0.1/actor#main-key", generate_rsa_keypair(1024)[0])


def client_for(state: Hostile) -> HttpClient:
    allowed = {
        f"127.0.0.1:{state.port}",
        f"localhost:{state.port}",
        f"127.0.0.1:{state.raw_port}",
    }
    return HttpClient(
        allow=lambda netloc: netloc in allowed,
        user_agent="plein-test",
        max_response_bytes=CAP,
        timeout_seconds=TIMEOUT,
        max_redirects=3,
    )


async def timed(call: Awaitable[Any]) -> tuple[BaseException | None, float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        await call
    except Exception as exc:  # the test inspects what was raised
        return exc, loop.time() - started
    return None, loop.time() - started


async def assert_still_usable(client: HttpClient, state: Hostile) -> None:
    """The same client fetches a good document right after the hostile one."""
    doc, elapsed = await asyncio.wait_for(_fetch_good(client, state), TIMEOUT + SLACK)
    assert doc == ACTOR
    assert elapsed < TIMEOUT


async def _fetch_good(client: HttpClient, state: Hostile) -> tuple[dict[str, Any], float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    doc = await client.get_json(state.url("/good"))
    return doc, loop.time() - started


HTTP_CASES: dict[str, tuple[Callable[[Hostile], str], type[FetchError], str]] = {
    "trickled body": (lambda s: s.url("/trickle"), FetchError, f"timed out after {TIMEOUT} s"),
    "endless body": (lambda s: s.url("/endless"), ResponseTooLarge, f"larger than {CAP} bytes"),
    "huge JSON": (lambda s: s.url("/huge"), ResponseTooLarge, f"larger than {CAP} bytes"),
    "gzip bomb": (lambda s: s.url("/bomb"), ResponseTooLarge, f"larger than {CAP} bytes"),
    "deep nesting": (lambda s: s.url("/deep"), FetchError, "invalid JSON"),
    "redirect loop": (lambda s: s.url("/loop"), FetchError, "too many redirects"),
    "redirect to another host": (
        lambda s: s.url(f"/elsewhere?to={s.url('/good', host='localhost')}"),
        FetchError,
        "redirect to another host refused",
    ),
    "html for an actor": (lambda s: s.url("/html"), FetchError, "non-JSON content type 'text/html"),
    "no content type": (lambda s: s.url("/no-type"), FetchError, "non-JSON content type"),
    "never answers": (lambda s: s.url("/hang"), FetchError, f"timed out after {TIMEOUT} s"),
}
RAW_CASES: dict[str, str] = {
    "silent": f"timed out after {TIMEOUT} s",
    "trickled-status": f"timed out after {TIMEOUT} s",
    "endless-headers": "Too many headers",
    "long-header": "failed: .*more than 8190 bytes",
    "garbage": "failed: ",
    "close": "failed: ServerDisconnectedError",
    "short-body": "failed: ClientPayloadError",
}


@pytest.mark.parametrize("case", sorted(HTTP_CASES))
async def test_given_a_hostile_http_peer_when_fetching_then_a_named_fetch_error_in_time(
    hostile: Hostile, key: SigningKey, case: str
) -> None:
    url, error, reason = HTTP_CASES[case]
    async with client_for(hostile) as client:
        # Given a peer that misbehaves in one way
        # When we fetch a document from it (signed, as the key resolver does)
        exc, elapsed = await timed(client.get_json(url(hostile), key=key))

        # Then the fetch ends within the total deadline with a FetchError naming the reason
        assert isinstance(exc, error), (case, exc)
        assert "http://" in exc.message, exc.message  # names the URL
        assert exc.status == 502
        assert reason in exc.message, (case, exc.message)
        assert elapsed < TIMEOUT + SLACK, (case, elapsed)

        # and the same client keeps working
        await assert_still_usable(client, hostile)


@pytest.mark.parametrize("mode", sorted(RAW_CASES))
async def test_given_a_peer_speaking_broken_http_when_fetching_then_a_named_fetch_error_in_time(
    hostile: Hostile, mode: str
) -> None:
    # Given a peer that accepts the connection and then breaks HTTP in one way
    hostile.raw_mode = mode
    async with client_for(hostile) as client:
        # When we fetch an actor from it
        exc, elapsed = await timed(client.get_json(hostile.raw_url()))

        # Then the fetch ends within the total deadline with a FetchError naming the reason
        assert isinstance(exc, FetchError), (mode, exc)
        assert exc.status == 502
        assert exc.message.startswith(f"GET {hostile.raw_url()}"), exc.message
        assert re.search(RAW_CASES[mode], exc.message), (mode, exc.message)
        assert elapsed < TIMEOUT + SLACK, (mode, elapsed)

        # and the same client keeps working
        await assert_still_usable(client, hostile)


@pytest.mark.parametrize(
    ("path", "outcome"),
    [
        ("/inbox-hang", f"timed out after {TIMEOUT} s"),
        ("/inbox-trickle", f"timed out after {TIMEOUT} s"),
        ("/inbox-endless", (400, "e" * 1000)),
        ("/inbox-redirect", (307, "307: Temporary Redirect")),
    ],
)
async def test_given_a_hostile_inbox_when_delivering_then_an_answer_or_fetch_error_in_time(
    hostile: Hostile, key: SigningKey, path: str, outcome: str | tuple[int, str]
) -> None:
    async with client_for(hostile) as client:
        # Given an inbox that hangs, trickles its answer, answers without end, or redirects
        # When we deliver an activity to it
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            answer: tuple[int, str] | FederationError = await client.post(
                hostile.url(path), b'{"type": "Like"}', key=key
            )
        except FetchError as exc:
            answer = exc
        elapsed = loop.time() - started

        # Then the delivery ends within the deadline: a timeout FetchError, or the status with
        # at most 1000 characters of the answer (redirects are never followed)
        if isinstance(outcome, str):
            assert isinstance(answer, FetchError), answer
            assert outcome in answer.message and answer.message.startswith("POST "), answer
        else:
            assert answer == outcome
        assert elapsed < TIMEOUT + SLACK, elapsed

        # and the same client keeps working
        await assert_still_usable(client, hostile)


async def test_given_many_hanging_fetches_when_a_good_peer_is_fetched_then_it_is_not_starved(
    hostile: Hostile,
) -> None:
    async with client_for(hostile) as client:
        # Given more hanging fetches in flight than a connection pool holds
        hanging = [
            asyncio.ensure_future(timed(client.get_json(hostile.url(f"/hang?n={n}"))))
            for n in range(120)
        ]
        await asyncio.sleep(0.2)

        # When a good document is fetched meanwhile (another host name: another peer)
        loop = asyncio.get_running_loop()
        started = loop.time()
        doc = await client.get_json(hostile.url("/good", host="localhost"))

        # Then it answers at once, not after the hostile peer's deadline
        assert doc == ACTOR
        assert loop.time() - started < TIMEOUT / 2

        # and every hanging fetch still ends in time with a named timeout
        results = await asyncio.gather(*hanging)
        for exc, elapsed in results:
            assert isinstance(exc, FetchError) and "timed out" in exc.message, exc
            assert elapsed < TIMEOUT + SLACK
