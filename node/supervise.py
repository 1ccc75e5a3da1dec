"""``plein run --web N --workers M``: one node as several processes on this machine.

The parent binds the listening socket once and hands it to N web processes (each a Hypercorn
server on the inherited socket; the kernel spreads connections between them), and starts M
``plein worker`` processes. It restarts a process that dies, and on SIGTERM or SIGINT stops them
all. Processes on other machines join the same node by running ``plein run --web N --workers 0``
or ``plein worker`` against the same PostgreSQL database.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

from .settings import Settings

__all__ = ["Supervisor"]

log = logging.getLogger("plein.node")

RESTART_DELAY = 1.0  # seconds before a process that died is started again (doubled, capped)
RESTART_DELAY_MAX = 30.0


@dataclass
class Child:
    role: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    delay: float = RESTART_DELAY
    started: float = 0.0


@dataclass
class Supervisor:
    settings: Settings
    web: int
    workers: int
    children: list[Child] = field(default_factory=list)
    _stopping: bool = False

    def listen(self) -> socket.socket:
        host, _, port = self.settings.bind_address.rpartition(":")
        host = host.strip("[]")
        sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(port)))
        sock.listen(1024)
        sock.set_inheritable(True)
        return sock

    def run(self) -> int:
        sock = self.listen()
        env = os.environ | self.settings.to_env()
        python = [sys.executable, "-m", "node"]
        fd = str(sock.fileno())
        self.children = [
            Child("web", [*python, "run", "--web", "1", "--workers", "0", "--listen-fd", fd])
            for _ in range(self.web)
        ] + [Child("worker", [*python, "worker"]) for _ in range(self.workers)]
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._stop)
        try:
            for child in self.children:
                self._start(child, env, sock)
            while not self._stopping:
                for child in self.children:
                    if child.process is not None and child.process.poll() is not None:
                        self._restart(child, env, sock)
                time.sleep(0.2)
        finally:
            self._terminate()
            sock.close()
        return 0

    def _start(self, child: Child, env: dict[str, str], sock: socket.socket) -> None:
        child.process = subprocess.Popen(child.argv, env=env, pass_fds=(sock.fileno(),))
        child.started = time.monotonic()
        log.info("started %s process %d", child.role, child.process.pid)

    def _restart(self, child: Child, env: dict[str, str], sock: socket.socket) -> None:
        assert child.process is not None
        code = child.process.returncode
        if time.monotonic() - child.started > 60:  # it ran a while: a fresh failure
            child.delay = RESTART_DELAY
        print(
            f"plein: {child.role} process {child.process.pid} exited with {code}; "
            f"starting another in {child.delay:.0f} s",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(child.delay)
        child.delay = min(child.delay * 2, RESTART_DELAY_MAX)
        if not self._stopping:
            self._start(child, env, sock)

    def _stop(self, _signum: int, _frame: object) -> None:
        self._stopping = True

    def _terminate(self) -> None:
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for process in running:
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
