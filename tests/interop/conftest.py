"""Fixtures for interoperability tests: real peers (other software) beside real Plein nodes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.e2e.conftest import network, session
from tests.e2e.harness import free_port

from .bovine import BovineServer, BovineUnavailable, bovine_python

__all__ = ["bovine", "bovine_venv_python", "network", "session"]


@pytest.fixture(scope="session")
def bovine_venv_python() -> Path:
    """The bovine-herd environment's python; the tests are skipped, saying why, without it."""
    try:
        return bovine_python()
    except BovineUnavailable as exc:
        pytest.skip(f"bovine-herd {exc.args[0]}")


@pytest.fixture
async def bovine(
    bovine_venv_python: Path, tmp_path: Path, session: aiohttp.ClientSession
) -> AsyncIterator[BovineServer]:
    server = BovineServer(bovine_venv_python, tmp_path / "bovine", free_port(), ("moocow",))
    try:
        await server.start(session)
        yield server
    finally:
        server.stop()
