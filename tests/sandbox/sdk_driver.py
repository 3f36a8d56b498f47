"""Twilio's real worker SDK in node, driven from Python: for the tests and the benchmark.

:class:`SdkDriver` runs ``worker_sdk_driver.cjs`` under node with the repository's pinned
``twilio-taskrouter`` (``npm ci`` at the root installs it) and turns its JSON lines into
waits: ``wait_for(event="ready", name="alice")``. :func:`unavailable` says why it cannot run
here (no node, or the SDK not installed), for a skip that says so.
"""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["ROOT", "SdkDriver", "unavailable"]

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = Path(__file__).with_name("worker_sdk_driver.cjs")
SDK = ROOT / "node_modules" / "twilio-taskrouter" / "package.json"


def unavailable() -> str | None:
    """Why the SDK cannot be driven here, or ``None`` when it can."""
    if shutil.which("node") is None:
        return "node is not installed: the worker SDK runs in node (.ci/run installs it)"
    if not SDK.exists():
        return f"the worker SDK is not installed: run `npm ci` in {ROOT} (.ci/run does)"
    return None


class SdkDriver:
    """One node process hosting any number of SDK workers, each known by a name."""

    def __init__(self) -> None:
        reason = unavailable()
        if reason is not None:
            raise RuntimeError(reason)
        self.process = subprocess.Popen(
            ["node", str(SCRIPT)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self._ids = 0
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for(event="started", timeout=20)

    def _read(self) -> None:
        assert self.process.stdout is not None
        for text in self.process.stdout:
            try:
                self.lines.put(json.loads(text))
            except ValueError:
                self.lines.put({"event": "noise", "text": text})
        self.lines.put({"event": "exited"})

    def send(self, op: str, **fields: Any) -> int:
        """Send one command; returns its id (see :meth:`reply`)."""
        self._ids += 1
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"id": self._ids, "op": op, **fields}) + "\n")
        self.process.stdin.flush()
        return self._ids

    def call(self, op: str, timeout: float = 10, **fields: Any) -> dict[str, Any]:
        """Send a command and wait for its result; an SDK failure raises ``AssertionError``."""
        reply = self.reply(self.send(op, **fields), timeout)
        assert reply["ok"], f"{op} failed in the SDK: {reply.get('error')}"
        return dict(reply.get("result") or {})

    def reply(self, command_id: int, timeout: float = 10) -> dict[str, Any]:
        return self.wait_until(lambda line: line.get("reply") == command_id, timeout)

    def wait_for(self, timeout: float = 10, **fields: Any) -> dict[str, Any]:
        """The first line, from now or already seen and not yet taken, with these fields."""
        return self.wait_until(
            lambda line: all(line.get(k) == v for k, v in fields.items()), timeout, str(fields)
        )

    def wait_until(
        self, wanted: Callable[[dict[str, Any]], bool], timeout: float, what: str = ""
    ) -> dict[str, Any]:
        for index, line in enumerate(self.seen):
            if wanted(line):
                return self.seen.pop(index)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                recent = "\n".join(json.dumps(line) for line in self.seen[-15:])
                raise AssertionError(f"the SDK never said {what or 'it'}; last lines:\n{recent}")
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                continue
            if line.get("event") == "crash":
                raise AssertionError(f"the SDK crashed: {line.get('message')}")
            if line.get("event") == "exited":
                raise AssertionError(f"node exited: {self._stderr()}")
            if wanted(line):
                return line
            self.seen.append(line)

    def _stderr(self) -> str:
        if self.process.poll() is None or self.process.stderr is None:
            return ""
        return self.process.stderr.read()[-2000:]

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.send("exit")
                self.process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait(timeout=5)
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                try:
                    pipe.close()
                except OSError:
                    pass

    def __enter__(self) -> SdkDriver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
