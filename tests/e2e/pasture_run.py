"""Real-world payloads from ``fediverse-pasture-inputs`` fed through a real node's inbox.

The package (https://codeberg.org/funfedidev/fediverse-pasture-inputs) holds the oddly shaped
objects that the Fediverse Pasture support tables send to real servers. Each example is a dict
merged into a base ``Note`` (a ``null`` value removes the base field). Here every merged object is
moved onto the :class:`TestPeer`'s host (``attributedTo``, ids and the pasture host rewritten, all
other fields kept as they are), wrapped in a ``Create`` by a peer actor, signed (draft-cavage) and
POSTed to the node's shared inbox. What the node answered, what its worker made of it and what the
client API shows are collected as one :class:`Outcome` per example.

Used by ``tests/e2e/test_pasture.py``; run as a script it starts a node itself and writes the
result table::

    python -m tests.e2e.pasture_run --markdown docs/pasture.md

The package is installed without its dependencies (``pip install --no-deps
fediverse-pasture-inputs==0.3.0``): its own dependency, ``fediverse-pasture``, pulls in bovine,
pydantic, pillow and uvicorn and caps ``cryptography`` below 46. Only ``types.py`` needs it, for
one type (``fediverse_pasture.runner.entry.Entry``), so :func:`load_examples` stands in an empty
module for it when the real one is absent.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import importlib.metadata
import json
import sqlite3
import sys
import tempfile
import time
import types
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import asyncpg

from node.convert.html import ALLOWED_TAGS, html_to_text

from .harness import Api, Network, Node, database_kind
from .peer import PeerActor, TestPeer

PACKAGE = "fediverse-pasture-inputs"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
PASTURE_HOST = "http://pasture-one-actor"
PASTURE_ACTOR = f"{PASTURE_HOST}/actor"
PASTURE_RECIPIENT = "http://mitra/users/admin"  # the receiving server's admin in the base object
CHUNK = 20
SETTLE_SECONDS = 90.0

BASE_OBJECT: dict[str, Any] = {
    "@context": "https://www.w3.org/ns/activitystreams",
    "type": "Note",
    "attributedTo": PASTURE_ACTOR,
    "to": ["as:Public", PASTURE_RECIPIENT],
    "published": "2023-11-28T11:38:15Z",
    "content": "All fields",
}


class PastureUnavailable(RuntimeError):
    """fediverse-pasture-inputs is not installed."""


@dataclass(frozen=True)
class Example:
    input: str  # the package's name for the input (its support table), e.g. "html_tags"
    index: int  # position in that input's examples
    data: Mapping[str, Any]

    @property
    def name(self) -> str:
        return f"{self.input}[{self.index}]"

    @property
    def slug(self) -> str:
        return f"{self.input}/{self.index}"

    def has_text(self) -> bool:
        """Does the example carry readable text in content, contentMap or name?"""
        merged = {**BASE_OBJECT, **self.data}
        values: list[Any] = [merged.get("content"), merged.get("name")]
        for key in ("contentMap", "nameMap"):
            if isinstance(merged.get(key), Mapping):
                values.extend(merged[key].values())
        return any(isinstance(v, str) and html_to_text(v) for v in values)


def package_version() -> str:
    try:
        return importlib.metadata.version(PACKAGE)
    except importlib.metadata.PackageNotFoundError as exc:
        raise PastureUnavailable(f"{PACKAGE} is not installed") from exc


def _import_inputs() -> Any:
    try:
        return importlib.import_module("fediverse_pasture_inputs")
    except ModuleNotFoundError as exc:
        if exc.name == "fediverse_pasture_inputs":
            raise PastureUnavailable(f"{PACKAGE} is not installed") from exc
        if not (exc.name or "").startswith(("fediverse_pasture", "bovine")):
            raise
    # Installed with --no-deps: stand in the one type its types.py imports, just for the import.
    for name in list(sys.modules):
        if name.startswith("fediverse_pasture_inputs"):
            del sys.modules[name]
    stubs = ["fediverse_pasture", "fediverse_pasture.runner", "fediverse_pasture.runner.entry"]
    saved = {name: sys.modules.get(name) for name in stubs}
    for name in stubs:
        sys.modules[name] = types.ModuleType(name)
    sys.modules["fediverse_pasture.runner.entry"].Entry = type("Entry", (), {})  # type: ignore[attr-defined]
    try:
        return importlib.import_module("fediverse_pasture_inputs")
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


EXTRA_INPUT = "plein_extra"
EXTRA_EXAMPLES: list[dict[str, Any]] = [
    # Shapes the package does not have, of the kinds the node must survive: fields that are
    # not strings, odd attachment and tag shapes, very long fields, markup in plain-text fields.
    {"content": ["a list", "of strings"], "name": "content is a list"},
    {"content": 42, "name": "content is a number"},
    {"content": {"text": "an object"}, "contentMap": {"en": "from contentMap"}},
    {"content": None, "contentMap": {"en": ["not", "a string"], "de": "Deutsch"}},
    {"content": None, "name": "<b>only</b> a name & <script>alert(1)</script>"},
    {"type": "Article", "name": "<h1>Title</h1> with <i>markup</i>", "content": "body"},
    {"content": "summary not a string", "summary": ["a", "list"], "sensitive": "yes"},
    {"content": "attachment is a string", "attachment": "http://pasture-one-actor/a.png"},
    {"content": "attachment is a number", "attachment": 7},
    {"content": "attachments of mixed shapes", "attachment": [None, 1, "x", [], {}]},
    {"content": "tag is a string", "tag": "#test"},
    {"content": "tags of mixed shapes", "tag": [None, 3, {"type": "Hashtag"}, ["#x"]]},
    {"content": "url is a number", "url": 12},
    {"content": "very long url", "url": "http://pasture-one-actor/" + "u" * 3000},
    {"content": "very long inReplyTo", "inReplyTo": "http://pasture-one-actor/" + "r" * 3000},
    {"content": "<p>" + "very long content " * 20_000 + "</p>"},
    {"content": "very long summary", "summary": "cw " * 5000},
    {"type": "Article", "name": "very long name " * 500, "content": "body"},
    {"content": "published is garbage", "published": "yesterday"},
    {"content": "published is a number", "published": 1700000000},
    {"content": "to is a string", "to": "https://www.w3.org/ns/activitystreams#Public"},
    {"content": "to has odd members", "to": [None, 5, {"id": 7}, "as:Public"]},
    {"content": "likes with odd counts", "likes": {"totalItems": -5}, "shares": "many"},
    {"content": "inReplyTo is a number", "inReplyTo": 5},
    {"content": "nested markup " + "<blockquote>" * 200 + "deep" + "</blockquote>" * 200},
]


def extra_examples() -> list[Example]:
    """Plein's own odd shapes (not from the package), run and reported the same way."""
    return [Example(EXTRA_INPUT, i, data) for i, data in enumerate(EXTRA_EXAMPLES)]


def load_examples() -> list[Example]:
    """Every example of every input of the package, in a stable order."""
    package = _import_inputs()
    examples: list[Example] = []
    for input_name in sorted(package.available):
        for index, data in enumerate(package.available[input_name].examples):
            examples.append(Example(input_name, index, data))
    return examples


# -- building the activities -------------------------------------------------------------------


def _rehost(value: Any, mapping: list[tuple[str, str]]) -> Any:
    """Replace the pasture hosts in every string, keeping every shape (lists, dicts, nulls)."""
    if isinstance(value, str):
        for old, new in mapping:
            if value.startswith(old):
                return new + value[len(old) :]
        for old, new in mapping:
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [_rehost(item, mapping) for item in value]
    if isinstance(value, dict):
        return {key: _rehost(item, mapping) for key, item in value.items()}
    return value


def object_id(peer: TestPeer, example: Example) -> str:
    return peer.url(f"/pasture/{example.slug}")


def activity_id(peer: TestPeer, example: Example) -> str:
    return peer.url(f"/pasture/{example.slug}/create")


def build_create(
    example: Example, peer: TestPeer, actor: PeerActor, recipient: str
) -> dict[str, Any]:
    """The example merged into the base Note, moved onto the peer's host, wrapped in a Create."""
    obj: dict[str, Any] = {**BASE_OBJECT, "id": object_id(peer, example)}
    for key, value in example.data.items():
        if value is None:
            obj.pop(key, None)
        else:
            obj[key] = value
    mapping = [
        (PASTURE_ACTOR, actor.id),
        (PASTURE_RECIPIENT, recipient),
        (PASTURE_HOST, peer.base_url),
    ]
    obj = _rehost(obj, mapping)
    to = obj.get("to") if isinstance(obj.get("to"), list | str) else [PUBLIC]
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": activity_id(peer, example),
        "type": "Create",
        "actor": actor.id,
        "to": to,
        "object": obj,
    }


def serve_referenced_notes(peer: TestPeer, actor: PeerActor) -> None:
    """The notes that inReplyTo and quote examples point at, so that fetching them works."""
    for n in (1, 2):
        path = f"/assets/note{n}.jsonap"
        peer.objects[path] = {
            "@context": "https://www.w3.org/ns/activitystreams",
            "id": peer.url(path),
            "type": "Note",
            "attributedTo": actor.id,
            "to": [PUBLIC],
            "content": f"Note {n}, referenced by the pasture examples",
            "published": "2024-01-06T13:11:45Z",
        }


# -- running ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    example: Example
    object_id: str
    activity_id: str
    status: int  # the inbox's answer
    error: str | None = None  # the JSON error of a refusal
    body: str = ""
    state: str | None = None  # the inbox entry's state after processing
    last_error: str | None = None
    stored_type: str | None = None
    content: str | None = None  # as stored (sanitised HTML)
    summary: str | None = None
    visibility: str | None = None
    api_status: dict[str, Any] | None = None  # the client API's view, when visible to the user

    @property
    def accepted(self) -> bool:
        return self.stored_type is not None

    @property
    def reason(self) -> str:
        if self.status >= 400:
            return f"{self.status} {self.error or self.body[:200]}"
        if self.state == "rejected":
            return f"{self.status}, then rejected: {self.last_error}"
        if self.state == "pending":
            return f"{self.status}, then waiting to retry: {self.last_error}"
        return f"{self.status}, then {self.state}: {self.last_error}"


def _json_error(text: str) -> str | None:
    try:
        data = json.loads(text)
    except ValueError:
        return None
    error = data.get("error") if isinstance(data, dict) else None
    return error if isinstance(error, str) and error else None


async def _rows(node: Node, sql: str) -> list[dict[str, Any]]:
    """Read the node's own database (both backends); for the report and the assertions."""
    if node.database_url.startswith("sqlite://"):
        path = node.database_url.removeprefix("sqlite://")
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as conn:
            conn.row_factory = sqlite3.Row
            return [dict(row) for row in conn.execute(sql)]
    conn = await asyncpg.connect(node.database_url)
    try:
        return [dict(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


UNTRIED = "SELECT activity_id FROM inbox_entries WHERE state = 'pending' AND last_error IS NULL"


async def settle(node: Node, api: Api, timeout: float = SETTLE_SECONDS) -> None:
    """Wait until every inbox entry has been tried at least once (raise on timeout).

    An entry may stay ``pending`` with its error by design: a Create whose object is only a
    reference (the reader takes an embedded object without ``type`` for one) is fetched, and a
    failed fetch is retried later (test_cases_inbox: create-or-announce-by-reference).
    """
    deadline = time.monotonic() + timeout
    while True:
        state: dict[str, Any] = await api.call("GET", "/admin/federation")
        if not state["inbox"].get("pending") or not await _rows(node, UNTRIED):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"inbox still has untried entries after {timeout}s: {state}")
        await asyncio.sleep(0.3)


async def search(api: Api, uri: str) -> dict[str, Any] | None:
    found = await api.call("GET", f"/search?q={quote(uri, safe='')}")
    return found["statuses"][0] if found["statuses"] else None


async def run(
    session: aiohttp.ClientSession,
    node: Node,
    api: Api,
    peer: TestPeer,
    examples: list[Example],
) -> list[Outcome]:
    """POST every example (in chunks), wait for the worker, collect what became of each."""
    actor = peer.actor("pasture")
    serve_referenced_notes(peer, actor)
    recipient = (await api.me())["uri"]
    inbox = f"{node.base_url}/inbox"

    async def send(example: Example) -> Outcome:
        activity = build_create(example, peer, actor, recipient)
        status, text = await peer.post(session, inbox, activity, signer=actor)
        return Outcome(
            example=example,
            object_id=activity["object"].get("id") or "",
            activity_id=activity["id"],
            status=status,
            error=_json_error(text) if status >= 400 else None,
            body=text,
        )

    # The first request alone: the node fetches and stores the peer actor's key once. (A burst
    # of first contacts races in storing the actor; test_pasture.py has that case on its own.)
    outcomes: list[Outcome] = [await send(examples[0])] if examples else []
    for start in range(1, len(examples), CHUNK):
        outcomes.extend(await asyncio.gather(*(send(e) for e in examples[start : start + CHUNK])))
    await settle(node, api)

    entries = {
        row["activity_id"]: row
        for row in await _rows(node, "SELECT activity_id, state, last_error FROM inbox_entries")
    }
    posts = {
        row["uri"]: row
        for row in await _rows(node, "SELECT uri, type, content, summary, visibility FROM posts")
    }
    for outcome in outcomes:
        entry = entries.get(outcome.activity_id)
        if entry is not None:
            outcome.state = entry["state"]
            outcome.last_error = entry["last_error"]
        post = posts.get(outcome.object_id) if outcome.status < 400 else None
        if post is not None:
            outcome.stored_type = post["type"]
            outcome.content = post["content"]
            outcome.summary = post["summary"]
            outcome.visibility = post["visibility"]
            outcome.api_status = await search(api, outcome.object_id)
    return outcomes


# -- checking what is shown ---------------------------------------------------------------------


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.hrefs.extend(v or "" for k, v in attrs if k == "href")


def html_problems(html: str) -> list[str]:
    """Why this stored HTML is not what the sanitiser may produce (empty list: fine)."""
    parser = _Tags()
    parser.feed(html)
    parser.close()
    problems = [f"tag <{t}> kept" for t in sorted(parser.tags - ALLOWED_TAGS)]
    problems += [
        f"href {h!r} kept" for h in parser.hrefs if not h.startswith(("http://", "https://"))
    ]
    return problems


# -- the report ---------------------------------------------------------------------------------


def _cell(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;") or "—"


def _example_cell(example: Example) -> str:
    return "`" + _cell(json.dumps(example.data, ensure_ascii=False), 70).replace("`", "'") + "`"


def render_markdown(outcomes: list[Outcome], *, version: str, database: str) -> str:
    accepted = [o for o in outcomes if o.accepted]
    refused_http = [o for o in outcomes if 400 <= o.status < 500]
    errors_5xx = [o for o in outcomes if o.status >= 500]
    refused_worker = [o for o in outcomes if o.status < 400 and not o.accepted]
    extras = sum(o.example.input == EXTRA_INPUT for o in outcomes)
    today = datetime.now(UTC).date().isoformat()
    lines = [
        "# Real payloads: fediverse-pasture-inputs through a Plein inbox",
        "",
        "<!-- generated by `python -m tests.e2e.pasture_run --markdown docs/pasture.md`;"
        " do not edit by hand -->",
        "",
        f"- Date: {today}",
        f"- Package: `{PACKAGE}` {version}"
        " (https://codeberg.org/funfedidev/fediverse-pasture-inputs)",
        f"- Database: {database}",
        f"- Install: `pip install --no-deps {PACKAGE}=={version}` (with its dependencies it pulls"
        " in fediverse-pasture, bovine, pydantic, pillow and uvicorn, and caps `cryptography`"
        " below 46); regenerate with the command in the comment above",
        f"- Examples: {len(outcomes)} ({len(outcomes) - extras} from the package, {extras} of"
        f" Plein's own in `{EXTRA_INPUT}`); accepted and stored: {len(accepted)}; "
        f"refused at the inbox (4xx): {len(refused_http)}; "
        f"accepted (202) then rejected by the worker: {len(refused_worker)}; "
        f"server errors (5xx): {len(errors_5xx)}",
        "",
        "Each example is merged into the pasture's base `Note` (a `null` removes the base field),",
        "moved onto a test peer's host (`attributedTo`, `id` and the pasture host rewritten,",
        "every other field kept as it is), wrapped in a `Create`, signed and POSTed to the",
        "node's shared inbox. *Stored as* is the post type the node stored; *shown* is the start",
        "of the plain text of the stored (sanitised) content, with the summary (content warning)",
        "in brackets. The test `tests/e2e/test_pasture.py` checks the same run: no 5xx, every",
        "refusal a 4xx with a JSON `error`, nothing left pending, no traceback in the node log,",
        "sanitised and non-empty content for every accepted example that has text.",
        "",
        f"The last section, `{EXTRA_INPUT}`, is not from the package: Plein's own odd shapes"
        " (fields that are not strings, odd attachment and tag shapes, very long fields,",
        "markup in plain-text fields), defined in `tests/e2e/pasture_run.py`.",
        "",
        "Note: the `html_bad` inputs of 0.3.0 contain literal `<$tag>$tag</$tag>` (a template",
        "bug in the package), so they are shown as text, not as the tags they meant to test.",
        "",
    ]
    by_input: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_input.setdefault(outcome.example.input, []).append(outcome)
    for input_name, group in by_input.items():
        ok = sum(o.accepted for o in group)
        lines += [
            f"## {input_name} ({ok} of {len(group)} accepted)",
            "",
            "| # | example (fields merged into the base Note) | result | stored as | shown |",
            "|---|---|---|---|---|",
        ]
        for o in group:
            if o.accepted:
                text = html_to_text(o.content or "")
                if o.summary:
                    text = f"[{o.summary}] {text}"
                result = "accepted"
                stored = f"{o.stored_type} ({o.visibility})"
                shown = _cell(text)
            else:
                result = "refused: " + _cell(o.reason, 120)
                stored = shown = "—"
            cells = [str(o.example.index), _example_cell(o.example), result, stored, shown]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines)


# -- as a script --------------------------------------------------------------------------------


async def _main(markdown: Path | None, keep: Path | None) -> int:
    examples = load_examples() + extra_examples()
    version = package_version()
    with tempfile.TemporaryDirectory(prefix="plein-pasture-") as tmp_dir:
        tmp = keep or tmp_dir
        async with aiohttp.ClientSession() as session:
            peer = TestPeer()
            await peer.start()
            network = Network(tmp=Path(tmp), session=session)
            try:
                node = await network.node("pasture", users=("alice",))
                outcomes = await run(session, node, node.api(session, "alice"), peer, examples)
                tracebacks = node.log_path.read_text(errors="replace").count("Traceback")
            finally:
                await network.close()
                await peer.close()
    accepted = sum(o.accepted for o in outcomes)
    print(
        f"{len(outcomes)} examples: {accepted} accepted, {len(outcomes) - accepted} refused; "
        f"5xx: {sum(o.status >= 500 for o in outcomes)}; tracebacks in node.log: {tracebacks}"
    )
    if markdown is not None:
        markdown.write_text(render_markdown(outcomes, version=version, database=database_kind()))
        print(f"wrote {markdown}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--markdown", type=Path, help="write the result table to this file")
    parser.add_argument("--keep", type=Path, help="run the node in this folder and keep it")
    args = parser.parse_args()
    raise SystemExit(asyncio.run(_main(args.markdown, args.keep)))


if __name__ == "__main__":
    main()
