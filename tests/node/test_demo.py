"""`plein demo` never deletes a folder it did not make, and refuses ports that are taken."""

from __future__ import annotations

import socket
from pathlib import Path

import click
import pytest

from node.demo import MARKER, _prepare


def test_given_a_folder_with_other_files_when_the_demo_prepares_then_it_refuses(
    tmp_path: Path,
) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(click.ClickException, match="not made by `plein demo`"):
        _prepare(tmp_path, [])
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_given_an_earlier_demo_folder_when_prepared_then_it_starts_afresh(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    _prepare(folder, [])
    (folder / "hq").mkdir()
    _prepare(folder, [])
    assert sorted(p.name for p in folder.iterdir()) == [MARKER]


def test_given_a_port_in_use_when_prepared_then_it_says_which(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with pytest.raises(click.ClickException, match=f"port {port} is in use"):
            _prepare(tmp_path / "demo", [port])
