"""The sandbox's HTTP server: keep-alive without a thread per request, and its fallback.

Measured speed is the benchmark's business (``benchmarks/bench_sandbox.py``); these check
the behaviour the speed rests on, over real sockets on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import socket
import threading
import time
from base64 import b64encode
from collections.abc import Iterator

import pytest
import requests

from taskrouter_flask.sandbox.api import MAX_BODY
from taskrouter_flask.sandbox.clock import ManualClock
from taskrouter_flask.sandbox.server import Sandbox


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(clock=ManualClock(), server="uvicorn") as running:
        yield running


def _auth(sandbox: Sandbox) -> dict[str, str]:
    pair = f"{sandbox.account_sid}:{sandbox.auth_token}".encode()
    return {"Authorization": "Basic " + b64encode(pair).decode()}


def test_requests_share_one_kept_alive_connection(sandbox: Sandbox) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", sandbox.port, timeout=10)
    try:
        statuses = []
        took = []
        for _ in range(20):
            started = time.perf_counter()
            connection.request("GET", "/v1/Workspaces", headers=_auth(sandbox))
            response = connection.getresponse()
            body = json.loads(response.read())
            took.append(time.perf_counter() - started)
            statuses.append(response.status)
            socket_used = connection.sock
            assert response.getheader("Connection", "keep-alive").lower() != "close"
        assert statuses == [200] * 20 and body["workspaces"] == []
        assert connection.sock is socket_used  # never reconnected
        # With Nagle's algorithm left on, each answer's body would wait for the client's
        # delayed ACK: 40 ms on Linux. Far above any real cost, so not a speed test.
        assert sorted(took)[len(took) // 2] < 0.02, took
    finally:
        connection.close()


def test_no_thread_is_started_per_request_or_connection(sandbox: Sandbox) -> None:
    requests.get(sandbox.base_url + "/v1/Workspaces", headers=_auth(sandbox), timeout=10)
    before = threading.active_count()
    for _ in range(30):  # a new connection each time
        answer = requests.get(
            sandbox.base_url + "/v1/Workspaces", headers=_auth(sandbox), timeout=10
        )
        assert answer.status_code == 200
        assert threading.active_count() <= before
    assert threading.active_count() <= before


def test_a_slow_body_holds_up_nobody(sandbox: Sandbox) -> None:
    slow = socket.create_connection(("127.0.0.1", sandbox.port), timeout=10)
    try:
        slow.sendall(
            b"POST /v1/Workspaces HTTP/1.1\r\nHost: x\r\nContent-Type:"
            b" application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nFriendly"
        )
        started = time.monotonic()
        answer = requests.get(
            sandbox.base_url + "/v1/Workspaces", headers=_auth(sandbox), timeout=10
        )
        assert answer.status_code == 200
        assert time.monotonic() - started < 2
    finally:
        slow.close()


def test_an_oversized_body_is_a_413_in_json(sandbox: Sandbox) -> None:
    answer = requests.post(
        sandbox.base_url + "/v1/Workspaces",
        data=b"x" * (MAX_BODY + 1),
        headers={**_auth(sandbox), "Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert answer.status_code == 413
    assert answer.json()["status"] == 413 and "larger than" in answer.json()["message"]


def test_percent_encoded_paths_and_repeated_headers_reach_the_app(sandbox: Sandbox) -> None:
    client = sandbox.client()
    workspace = client.workspaces.create(friendly_name="Grüße & co").sid
    found = requests.get(
        sandbox.base_url + "/v1/Workspaces",
        params={"FriendlyName": "Grüße & co"},
        headers=_auth(sandbox),
        timeout=10,
    ).json()["workspaces"]
    assert [w["sid"] for w in found] == [workspace]
    encoded = requests.get(
        sandbox.base_url + f"/v1/Workspaces/%57%53{workspace[2:]}",
        headers=_auth(sandbox),
        timeout=10,
    )
    assert encoded.status_code == 200 and encoded.json()["sid"] == workspace


def test_werkzeug_serves_the_rest_api_and_says_what_the_socket_needs() -> None:
    with Sandbox(clock=ManualClock(), server="werkzeug") as sandbox:
        answer = requests.get(
            sandbox.base_url + "/v1/Workspaces", headers=_auth(sandbox), timeout=10
        )
        assert answer.status_code == 200
        upgrade = requests.get(
            sandbox.sdk_servers["ebServer"] + "?token=x",
            headers={
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version": "13",
            },
            timeout=10,
        )
        assert upgrade.status_code == 501
        assert "taskrouter-flask[sandbox]" in upgrade.json()["message"]


def test_an_unknown_server_is_refused() -> None:
    with pytest.raises(ValueError, match="server: expected auto, uvicorn or werkzeug"):
        Sandbox(server="gunicorn")  # type: ignore[arg-type]
