"""API keys authenticate with the sandbox as they do with Twilio.

Twilio recommends an API key (a ``SK...`` SID and its secret) over the account's auth token
for HTTP basic auth (twilio.com/docs/iam/api-keys). The sandbox takes one from its command
line, from ``Sandbox(...)`` and, under ``flask taskrouter sandbox``, from the application's
own ``TASKROUTER_API_KEY_SID`` / ``TASKROUTER_API_KEY_SECRET``.
"""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from taskrouter_flask.client import AuthenticationError, TaskRouterClient
from taskrouter_flask.sandbox.clock import ManualClock
from taskrouter_flask.sandbox.server import Sandbox

from . import keyed_app

KEY = "SK" + "0f" * 16
SECRET = "an-api-key-secret"
READY = re.compile(r"TaskRouter sandbox on (http://\S+)")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keyed() -> Iterator[Sandbox]:
    with Sandbox(clock=ManualClock(), api_key_sid=KEY, api_key_secret=SECRET) as sandbox:
        yield sandbox


def test_our_client_authenticates_with_an_api_key(keyed: Sandbox) -> None:
    client = TaskRouterClient(KEY, SECRET, base_url=keyed.base_url)
    workspace = client.workspaces.create(friendly_name="Keyed", template="FIFO")
    assert workspace.account_sid == keyed.account_sid
    assert [w.sid for w in keyed.client().workspaces.list()] == [workspace.sid]


def test_twilios_library_authenticates_with_an_api_key(keyed: Sandbox) -> None:
    twilio = pytest.importorskip("twilio.rest")
    client = twilio.Client(KEY, SECRET, keyed.account_sid)
    client.taskrouter.base_url = keyed.base_url
    workspace = client.taskrouter.v1.workspaces.create(friendly_name="Keyed")
    assert workspace.sid.startswith("WS")


@pytest.mark.parametrize(
    ("username", "password"),
    [(KEY, "wrong"), ("SK" + "00" * 16, SECRET), (KEY, ""), ("", SECRET)],
)
def test_a_wrong_key_or_secret_is_a_401(keyed: Sandbox, username: str, password: str) -> None:
    response = requests.get(
        f"{keyed.base_url}/v1/Workspaces", auth=(username, password), timeout=10
    )
    assert response.status_code == 401
    assert response.json()["code"] == 20003
    client = TaskRouterClient(username or "x", password or "x", base_url=keyed.base_url)
    with pytest.raises(AuthenticationError):
        list(client.workspaces.list())


def test_the_account_token_still_works_beside_a_key(keyed: Sandbox) -> None:
    assert list(keyed.client().workspaces.list()) == []


@pytest.mark.parametrize(
    ("sid", "secret", "message"),
    [
        (KEY, None, "give both or neither"),
        (None, SECRET, "give both or neither"),
        ("AC" + "0f" * 16, SECRET, "expected 'SK' and 32 hex digits"),
        (KEY, "   ", "non-blank"),
    ],
)
def test_half_or_malformed_keys_are_refused(
    sid: str | None, secret: str | None, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Sandbox(api_key_sid=sid, api_key_secret=secret)


def _serve(command: list[str]) -> Iterator[str]:
    """Run a sandbox command line until it prints its URL; yield the URL; stop it."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=env
    )
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                line = lines.get(timeout=0.1)
            except queue.Empty:
                if process.poll() is not None:
                    break
                continue
            seen.append(line)
            match = READY.search(line)
            if match:
                yield match.group(1)
                return
        raise AssertionError(f"{command} did not start: {''.join(seen)}")
    finally:
        process.kill()
        process.wait(timeout=10)
        reader.join(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


def test_the_module_command_line_takes_an_api_key() -> None:
    command = [sys.executable, "-m", "taskrouter_flask.sandbox", "--port", "0"]
    command += ["--api-key-sid", KEY, "--api-key-secret", SECRET]
    for url in _serve(command):
        client = TaskRouterClient(KEY, SECRET, base_url=url)
        assert client.workspaces.create(friendly_name="CLI").sid.startswith("WS")


def test_the_module_command_line_refuses_half_a_key() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "taskrouter_flask.sandbox", "--api-key-sid", KEY],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--api-key-sid and --api-key-secret: give both or neither" in result.stderr


def test_flask_taskrouter_sandbox_accepts_the_apps_own_client() -> None:
    command = [sys.executable, "-m", "flask", "--app", "tests.sandbox.keyed_app:create_app"]
    command += ["taskrouter", "sandbox", "--port", "0"]
    for url in _serve(command):
        app = keyed_app.create_app(base_url=url)
        client = app.extensions["taskrouter"].get_client()
        assert client.transport._auth[0] == keyed_app.API_KEY_SID  # the key, not the token
        workspace = client.workspaces.create(friendly_name="Own client", template="FIFO")
        assert workspace.account_sid == keyed_app.ACCOUNT_SID
