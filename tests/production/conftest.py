"""Real servers for the production tests: gunicorn on a pre-bound loopback socket, redis-server.

Every process started here is stopped when its context ends, also when a test
fails; every wait is bounded. Network is 127.0.0.1 only.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from benchmarks._common import Served, gunicorn_process, stop_process

from ..conftest import TOKEN

__all__ = ["TOKEN", "RedisServer", "Served", "free_port", "require_gunicorn", "serve_gunicorn"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]

#: Filled by the hostile-input suite, printed at the end of the session.
SUMMARY: dict[str, int] = {}


def free_port() -> int:
    """A port nothing listens on right now (for redis-server, which binds by itself)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def require_gunicorn() -> None:
    """Skip the calling test when gunicorn cannot run here."""
    if os.name != "posix" or importlib.util.find_spec("gunicorn") is None:
        pytest.skip("gunicorn is not installed (pip install -e '.[dev]' installs it)")


@contextlib.contextmanager
def serve_gunicorn(
    target: str,
    *,
    env: Mapping[str, str],
    log_dir: Path,
    workers: int = 2,
    worker_class: str = "sync",
    threads: int = 1,
    timeout: int = 10,
) -> Iterator[Served]:
    """Serve ``target`` (``module:factory()``) under gunicorn on 127.0.0.1, as the benchmarks do."""
    require_gunicorn()
    options = (
        f"--workers={workers}",
        f"--worker-class={worker_class}",
        f"--threads={threads}",
        f"--timeout={timeout}",
    )
    with gunicorn_process(
        target, app_dir=PROJECT_ROOT, log_dir=log_dir, options=options, env=env
    ) as served:
        yield served


class RedisServer:
    """A redis-server of our own on a free loopback port, that a test may stop or freeze."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not installed (.ci/run installs it)")
        pytest.importorskip("redis")
        self.binary = binary
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> None:
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited with {self.process.returncode}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server is not answering on port {self.port}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.thaw()
            stop_process(self.process)
            self.process = None

    def freeze(self) -> None:
        """Stop the process without closing its socket: connections hang instead of failing."""
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGCONT)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if SUMMARY:
        terminalreporter.section("production: hostile HTTP input")
        for name, count in SUMMARY.items():
            terminalreporter.write_line(f"{name}: {count}")
