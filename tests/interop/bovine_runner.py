"""Start bovine-herd on loopback: run by the bovine virtual environment's python, never by ours.

This file must not import Plein's packages (they are not installed in that environment).

    python bovine_runner.py --port 8123 --actor alice=did:key:z6Mk... [--actor ...]

It works in the current directory: the SQLite database ``bovine.sqlite3``, the JSON-LD cache
``bovine_jsonld_cache.sqlite`` (pre-filled by the test before this starts) and ``actors.json``,
written once the actors are registered: ``{"alice": "http://127.0.0.1:8123/endpoints/..."}``.
Then it serves until SIGTERM. Any JSON-LD context missing from the cache is logged as
``JSONLD FETCH ATTEMPT <url>`` and answered with an empty context: bovine never reaches the
network for a context.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
from pathlib import Path

log = logging.getLogger("bovine_runner")


def offline_contexts() -> None:
    """Cut bovine's network document loader (used on a cache miss): log the URL and fail, so
    bovine falls back to its own answer (an empty context) without touching the network."""
    import bovine.jsonld

    def offline_loader(**kwargs: object) -> object:
        def load(url: str, options: object = None) -> dict[str, object]:
            log.warning("JSONLD FETCH ATTEMPT %s", url)
            raise OSError(f"offline: {url}")

        return load

    bovine.jsonld.requests_document_loader = offline_loader


async def register(db_url: str, domain: str, actors: dict[str, str]) -> dict[str, str]:
    from bovine_store import bovine_admin_store
    from bovine_store.utils.cli import create_tables

    await create_tables(db_url)
    ids: dict[str, str] = {}
    async with bovine_admin_store(db_url=db_url, domain=domain) as store:
        for handle, did_key in actors.items():
            bovine_name = await store.register(handle)
            await store.add_identity_string_to_actor(bovine_name, "plein-test", did_key)
            actor = await store.actor_for_name(bovine_name)
            await actor.session.close()
            ids[handle] = actor.actor_object.id
    return ids


async def serve(port: int, db_url: str) -> None:
    from bovine_herd import BovineHerd
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config
    from quart import Quart

    app = Quart(__name__)
    BovineHerd(app, db_url=db_url)
    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.accesslog = "-"
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    await hypercorn_serve(app, config, shutdown_trigger=stop.wait)  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--actor", action="append", default=[], help="handle=did:key:...")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    offline_contexts()
    db_url = "sqlite://bovine.sqlite3"
    domain = f"http://127.0.0.1:{args.port}"
    actors = dict(item.split("=", 1) for item in args.actor)
    ids = asyncio.run(register(db_url, domain, actors))
    Path("actors.json.tmp").write_text(json.dumps(ids))
    Path("actors.json.tmp").rename("actors.json")
    asyncio.run(serve(args.port, db_url))


if __name__ == "__main__":
    main()
