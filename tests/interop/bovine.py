"""bovine-herd as a real peer: its own virtual environment, a server process, a client.

bovine-herd 0.5.19 needs Quart < 0.20, so it cannot share our environment. :func:`bovine_python`
builds a virtual environment once, outside the repository (``~/.cache/plein/bovine-herd-0.5.19``,
or ``PLEIN_BOVINE_VENV``), and reuses it while it is complete. :class:`BovineServer` runs
``bovine_runner.py`` with that python on 127.0.0.1 in a temporary working directory, with its
own SQLite database and a JSON-LD cache pre-filled from our bundled contexts, so that it never
fetches a context from the network. :class:`BovineUser` acts as one bovine actor through
bovine's own client-to-server API: activities are POSTed to the actor's outbox and collections
read back, authenticated with Moo-Auth-1 (an Ed25519 ``did:key`` registered for the actor).
"""

from __future__ import annotations

import asyncio
import base64
import fcntl
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import aiohttp
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from activitystreams.loader import load_document
from activitystreams.multikey import ed25519_multibase, encode_base58btc
from tests.e2e.harness import stop_process

BOVINE_VERSION = "0.5.19"
RUNNER = Path(__file__).with_name("bovine_runner.py")
AS = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS}#Public"

# Every context bovine asks for in these tests; the bundled ones get their real content, the
# others (no term of theirs matters to bovine here) an empty context.
CONTEXT_URLS = (
    "https://www.w3.org/ns/activitystreams",
    "https://w3id.org/security/v1",
    "https://w3id.org/security/multikey/v1",
    "https://w3id.org/security/data-integrity/v1",
    "https://www.w3.org/ns/did/v1",
    "http://joinmastodon.org/ns",
)


class BovineUnavailable(Exception):
    """The bovine-herd environment could not be built (for example: PyPI is unreachable)."""


def venv_path() -> Path:
    configured = os.environ.get("PLEIN_BOVINE_VENV")
    if configured:
        return Path(configured)
    return Path.home() / ".cache" / "plein" / f"bovine-herd-{BOVINE_VERSION}"


def bovine_python(timeout: float = 600) -> Path:
    """The python of the bovine-herd environment, built first if missing or incomplete."""
    path = venv_path()
    python = path / "bin" / "python"
    done = path / ".plein-complete"
    if done.exists():
        return python
    try:
        return _build(path, python, done, timeout)
    except OSError as exc:
        raise BovineUnavailable(f"environment could not be built at {path}: {exc}") from exc


def _build(path: Path, python: Path, done: Path, timeout: float) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f".{path.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if done.exists():
            return python
        shutil.rmtree(path, ignore_errors=True)
        steps = [
            [sys.executable, "-m", "venv", str(path)],
            [
                str(python),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"bovine-herd=={BOVINE_VERSION}",
            ],
        ]
        for step in steps:
            try:
                result = subprocess.run(step, capture_output=True, text=True, timeout=timeout)
            except subprocess.TimeoutExpired as exc:
                raise BovineUnavailable(
                    f"environment could not be built at {path}: {' '.join(step[2:])} "
                    f"timed out after {timeout}s"
                ) from exc
            if result.returncode != 0:
                tail = (result.stderr or result.stdout)[-1500:]
                raise BovineUnavailable(
                    f"environment could not be built at {path}: {' '.join(step[2:])} "
                    f"failed (PyPI unreachable?): {tail}"
                )
        done.write_text(BOVINE_VERSION)
    return python


def prefill_jsonld_cache(workdir: Path, urls: tuple[str, ...] = CONTEXT_URLS) -> None:
    """Write bovine's JSON-LD cache (``bovine_jsonld_cache.sqlite``) from our bundled contexts."""
    with sqlite3.connect(workdir / "bovine_jsonld_cache.sqlite") as db:
        db.execute("CREATE TABLE IF NOT EXISTS jsonld (url TEXT PRIMARY KEY, context TEXT)")
        for url in urls:
            context = load_document(url)["document"].get("@context", {})
            db.execute("INSERT OR REPLACE INTO jsonld VALUES (?, ?)", (url, json.dumps(context)))
    db.close()


def did_key(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return f"did:key:{ed25519_multibase(raw)}"


@dataclass
class BovineServer:
    """One bovine-herd process on loopback."""

    python: Path
    workdir: Path
    port: int
    handles: tuple[str, ...]
    keys: dict[str, Ed25519PrivateKey] = field(default_factory=dict)
    actor_ids: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def netloc(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "bovine.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def fetch_attempts(self) -> list[str]:
        """Context URLs bovine wanted from the network (answered offline by the runner)."""
        return [
            line.rsplit(" ", 1)[-1]
            for line in self.log().splitlines()
            if "JSONLD FETCH ATTEMPT" in line
        ]

    async def start(self, session: aiohttp.ClientSession, timeout: float = 60) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        prefill_jsonld_cache(self.workdir)
        # -I: isolated, so that this folder (whose bovine.py is this module) does not shadow the
        # bovine package, and no PYTHON* variable of ours leaks into that environment.
        args = [str(self.python), "-I", str(RUNNER), "--port", str(self.port)]
        for handle in self.handles:
            self.keys[handle] = Ed25519PrivateKey.generate()
            args += ["--actor", f"{handle}={did_key(self.keys[handle])}"]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                args, cwd=self.workdir, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"bovine exited:\n{self.log()[-3000:]}")
            actors = self.workdir / "actors.json"
            if actors.exists():
                try:
                    async with session.get(f"{self.base_url}/.well-known/nodeinfo") as resp:
                        if resp.status == 200:
                            self.actor_ids = json.loads(actors.read_text())
                            return
                except aiohttp.ClientError:
                    pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"bovine did not start:\n{self.log()[-3000:]}")

    def stop(self) -> None:
        stop_process(self.process)

    def user(self, session: aiohttp.ClientSession, handle: str) -> BovineUser:
        return BovineUser(session, self.actor_ids[handle], self.keys[handle], f"{handle}")


@dataclass
class BovineUser:
    """One bovine actor, driven through bovine's client-to-server API with Moo-Auth-1."""

    session: aiohttp.ClientSession
    actor_id: str
    key: Ed25519PrivateKey
    handle: str
    _actor: dict[str, Any] | None = None

    def _headers(self, method: str, url: str, body: bytes | None) -> dict[str, str]:
        parts = urlsplit(url)
        date = formatdate(usegmt=True)
        # bovine verifies "(request-target)" against the path alone, without the query.
        fields = [
            ("(request-target)", f"{method.lower()} {parts.path}"),
            ("host", parts.netloc),
            ("date", date),
        ]
        headers = {"Date": date, "Accept": "application/activity+json"}
        if body is not None:
            digest = "sha-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()
            fields.append(("digest", digest))
            headers["Digest"] = digest
        message = "\n".join(f"{name}: {value}" for name, value in fields).encode()
        headers["Authorization"] = f"Moo-Auth-1 {did_key(self.key)}"
        headers["X-Moo-Signature"] = "z" + encode_base58btc(self.key.sign(message))
        return headers

    async def get(self, url: str) -> Any:
        async with self.session.get(url, headers=self._headers("GET", url, None)) as resp:
            assert resp.status == 200, f"GET {url}: {resp.status} {await resp.text()}"
            return await resp.json(content_type=None)

    async def actor(self) -> dict[str, Any]:
        if self._actor is None:
            self._actor = await self.get(self.actor_id)
        return self._actor

    async def send(self, activity: dict[str, Any]) -> str:
        """POST an activity to the actor's outbox; returns the id bovine gave it."""
        me = await self.actor()
        body = json.dumps({"@context": AS, "actor": self.actor_id, **activity}).encode()
        headers = self._headers("POST", me["outbox"], body)
        headers["Content-Type"] = "application/activity+json"
        async with self.session.post(me["outbox"], data=body, headers=headers) as resp:
            text = await resp.text()
            assert resp.status == 201, f"POST outbox: {resp.status} {text}"
            return resp.headers["Location"]

    async def items(self, collection: str) -> list[Any]:
        """Every item of one of the actor's collections (inbox, outbox, followers, following)."""
        return await self.items_at((await self.actor())[collection])

    async def items_at(self, url: str) -> list[Any]:
        """Every item of a collection bovine serves (its pages followed)."""
        page = await self.get(url)
        items: list[Any] = list(page.get("orderedItems", page.get("items", [])))
        link = page.get("first")
        while isinstance(link, str):
            page = await self.get(link)
            items += page.get("orderedItems", page.get("items", []))
            link = page.get("next")
        return items

    async def retrieve(self, object_id: str) -> dict[str, Any] | None:
        """An object as bovine holds it (its store first), through the actor's proxyUrl."""
        url = (await self.actor())["endpoints"]["proxyUrl"]
        body = urlencode({"id": object_id}).encode()
        headers = self._headers("POST", url, body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        async with self.session.post(url, data=body, headers=headers) as resp:
            if resp.status != 200:
                return None
            return await resp.json(content_type=None)  # type: ignore[no-any-return]

    async def inbox_activities(self) -> list[dict[str, Any]]:
        found = []
        for item in await self.items("inbox"):
            activity = item if isinstance(item, dict) else await self.retrieve(item)
            if activity:
                found.append(activity)
        return found

    # What a bovine user does; shapes as bovine's ActivityFactory builds them.

    async def follow(self, target: str) -> str:
        return await self.send({"type": "Follow", "object": target, "to": [target]})

    async def accept(self, follow: dict[str, Any]) -> str:
        actor = follow["actor"] if isinstance(follow["actor"], str) else follow["actor"]["id"]
        return await self.send({"type": "Accept", "object": follow["id"], "to": [actor]})

    async def undo(self, activity_id: str, to: list[str]) -> str:
        return await self.send({"type": "Undo", "object": activity_id, "to": to})

    async def like(self, object_id: str, author: str) -> str:
        return await self.send({"type": "Like", "object": object_id, "to": [author]})

    async def post(
        self, content: str, *, in_reply_to: str | None = None, to: list[str] | None = None
    ) -> str:
        """A public Note to followers (and ``to``); returns the id of the Create."""
        me = await self.actor()
        note: dict[str, Any] = {
            "type": "Note",
            "attributedTo": self.actor_id,
            "content": content,
            "to": [PUBLIC, *(to or [])],
            "cc": [me["followers"]],
        }
        if in_reply_to:
            note["inReplyTo"] = in_reply_to
        return await self.send(
            {"type": "Create", "object": note, "to": note["to"], "cc": note["cc"]}
        )
