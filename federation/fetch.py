"""Safe outgoing HTTP on aiohttp: allowlisted hosts, size and time limits, same-host redirects.

Every request is refused before any connection when ``allow`` rejects its host. Responses are
read as a stream with a byte cap; redirects are followed by hand, only to the same scheme, host
and port, and re-signed at each hop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
import orjson
from yarl import URL

from federation.errors import FetchError
from federation.keys import SigningKey
from federation.signatures import rfc9421
from federation.signatures.cavage import sign_request

__all__ = [
    "ACTIVITY_ACCEPT",
    "CAVAGE",
    "RFC9421",
    "SIGNATURE_SCHEMES",
    "HostNotAllowed",
    "HttpClient",
    "ResponseTooLarge",
]

ACTIVITY_ACCEPT = 'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
RFC9421 = "rfc9421"  # RFC 9421 HTTP Message Signatures (Signature-Input + Signature)
CAVAGE = "cavage"  # draft-cavage-http-signatures-12 (Signature with keyId=...)
SIGNATURE_SCHEMES = (RFC9421, CAVAGE)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_POST_TEXT_LIMIT = 1000
_CHUNK = 64 * 1024


class HostNotAllowed(FetchError):
    """The URL's host is not on the allowlist (or the scheme is not http/https)."""


class ResponseTooLarge(FetchError):
    """The response body passed the byte cap."""


def _origin(url: str) -> tuple[str, str, int, str]:
    """Return (scheme, host, port, netloc) for an http(s) URL or raise HostNotAllowed."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise HostNotAllowed(f"invalid URL: {url}") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise HostNotAllowed(f"scheme not allowed: {scheme or 'none'}")
    host = (parts.hostname or "").lower()
    if not host:
        raise HostNotAllowed(f"URL has no host: {url}")
    port = port if port is not None else _DEFAULT_PORTS[scheme]
    shown = f"[{host}]" if ":" in host else host
    netloc = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    return scheme, host, port, netloc


def _is_json(content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    if mime == "application/json":
        return True
    return mime.startswith("application/") and mime.endswith("+json")


class HttpClient:
    """An HTTP client for federation: one aiohttp session, created lazily in the running loop."""

    def __init__(
        self,
        *,
        allow: Callable[[str], bool],
        user_agent: str,
        max_response_bytes: int = 2_000_000,
        timeout_seconds: float = 10,
        max_redirects: int = 3,
        max_connections: int = 100,
        max_connections_per_host: int = 32,
    ) -> None:
        self._allow = allow
        # A per-host cap under the total: a peer that hangs every request can hold at most
        # this many connections until the deadline, never the whole pool (other peers' fetches
        # and deliveries would queue behind it).
        self.max_connections = max_connections
        self.max_connections_per_host = max_connections_per_host
        self._user_agent = user_agent
        self.max_response_bytes = max_response_bytes
        self.timeout_seconds = timeout_seconds
        self.max_redirects = max_redirects
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the session (safe to call more than once)."""
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self.max_connections, limit_per_host=self.max_connections_per_host
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                headers={"User-Agent": self._user_agent},
                timeout=aiohttp.ClientTimeout(total=self.timeout_seconds),
                trust_env=False,
            )
        return self._session

    def _check_allowed(self, url: str) -> tuple[str, str, int, str]:
        origin = _origin(url)
        if not self._allow(origin[3]):
            raise HostNotAllowed(f"host not allowed: {origin[3]}")
        return origin

    async def _read_capped(self, response: aiohttp.ClientResponse, url: str) -> bytes:
        limit = self.max_response_bytes
        declared = response.content_length
        if declared is not None and declared > limit:
            response.close()
            raise ResponseTooLarge(f"response larger than {limit} bytes: {url}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(_CHUNK):
            size += len(chunk)
            if size > limit:
                response.close()  # drop the connection instead of draining the rest
                raise ResponseTooLarge(f"response larger than {limit} bytes: {url}")
            chunks.append(chunk)
        return b"".join(chunks)

    async def get_json(
        self, url: str, *, key: SigningKey | None = None, accept: str = ACTIVITY_ACCEPT
    ) -> dict[str, Any]:
        """GET a JSON object, signed when ``key`` is given.

        Raises FetchError for a host that is not allowed, a redirect to another origin, too many
        redirects, a non-2xx status, a body over the cap, a timeout, a non-JSON content type,
        invalid JSON, or JSON that is not an object.
        """
        origin = self._check_allowed(url)
        session = self._get_session()
        current = url
        try:
            async with asyncio.timeout(self.timeout_seconds):
                for _hop in range(self.max_redirects + 1):
                    base = {"Accept": accept}
                    headers = (
                        sign_request(method="GET", url=current, key=key, headers=base)
                        if key is not None
                        else base
                    )
                    async with session.get(
                        URL(current, encoded=True), headers=headers, allow_redirects=False
                    ) as response:
                        if response.status in _REDIRECTS:
                            location = response.headers.get("Location")
                            if not location:
                                raise FetchError(f"redirect without Location from {current}")
                            target = urljoin(current, location)
                            if _origin(target)[:3] != origin[:3]:
                                raise FetchError(f"redirect to another host refused: {target}")
                            current = target
                            continue
                        if not 200 <= response.status < 300:
                            raise FetchError(f"GET {current} answered HTTP {response.status}")
                        content_type = response.headers.get("Content-Type", "")
                        if not _is_json(content_type):
                            raise FetchError(
                                f"GET {current} answered non-JSON content type {content_type!r}"
                            )
                        body = await self._read_capped(response, current)
                    break
                else:
                    raise FetchError(f"too many redirects (more than {self.max_redirects}): {url}")
        except TimeoutError:
            raise FetchError(f"GET {url} timed out after {self.timeout_seconds} s") from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"GET {current} failed: {type(exc).__name__}: {exc}") from None
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise FetchError(f"GET {current} returned invalid JSON") from None
        if not isinstance(data, dict):
            raise FetchError(f"GET {current} returned JSON that is not an object")
        return data

    async def post(
        self,
        url: str,
        body: bytes,
        *,
        key: SigningKey,
        content_type: str = "application/activity+json",
        scheme: str = CAVAGE,
    ) -> tuple[int, str]:
        """POST a signed body; return the status and at most 1000 characters of the response.

        ``scheme`` is ``CAVAGE`` (draft-cavage ``Signature`` with ``Digest``) or ``RFC9421``
        (``Signature-Input`` + ``Signature`` with ``Content-Digest``). Redirects are not
        followed. Network errors and timeouts raise FetchError.
        """
        self._check_allowed(url)
        if scheme not in SIGNATURE_SCHEMES:
            raise ValueError(f"unknown signature scheme: {scheme}")
        session = self._get_session()
        sign = rfc9421.sign_request if scheme == RFC9421 else sign_request
        headers = sign(
            method="POST", url=url, key=key, body=body, headers={"Content-Type": content_type}
        )
        try:
            async with (
                asyncio.timeout(self.timeout_seconds),
                session.post(
                    URL(url, encoded=True), data=body, headers=headers, allow_redirects=False
                ) as response,
            ):
                raw = b""
                while len(raw) < _POST_TEXT_LIMIT * 4 and not response.content.at_eof():
                    chunk = await response.content.read(_POST_TEXT_LIMIT * 4 - len(raw))
                    if not chunk:
                        break
                    raw += chunk
                if not response.content.at_eof():
                    response.close()
                try:
                    text = raw.decode(response.charset or "utf-8", errors="replace")
                except LookupError:
                    text = raw.decode("utf-8", errors="replace")
                return response.status, text[:_POST_TEXT_LIMIT]
        except TimeoutError:
            raise FetchError(f"POST {url} timed out after {self.timeout_seconds} s") from None
        except aiohttp.ClientError as exc:
            raise FetchError(f"POST {url} failed: {type(exc).__name__}: {exc}") from None
