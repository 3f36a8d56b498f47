"""Once-only callbacks: the stores, and the extension using them."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from taskrouter_flask import Assignment, Event, TaskRouter, accept
from taskrouter_flask.dedup import (
    DedupUnavailable,
    MemoryDedupStore,
    RedisDedupStore,
    event_key,
    store_from_setting,
)
from taskrouter_flask.testing import TaskRouterTestClient, assignment_payload, event_payload

from .conftest import TOKEN


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_memory_store_claims_once_and_expires() -> None:
    clock = FakeClock()
    store = MemoryDedupStore(ttl=10, clock=clock)
    assert store.claim("a") is True
    assert store.claim("a") is False
    clock.now = 10.5
    assert store.claim("a") is True
    store.release("a")
    assert store.claim("a") is True


def test_memory_store_is_bounded() -> None:
    store = MemoryDedupStore(ttl=100, max_entries=3)
    for key in "abcd":
        assert store.claim(key)
    assert store.claim("a") is True  # the oldest was dropped to stay within 3
    assert store.claim("d") is False


def test_memory_store_remembers_answers() -> None:
    clock = FakeClock()
    store = MemoryDedupStore(ttl=5, clock=clock)
    assert store.recall("k") is None
    store.remember("k", b'{"instruction":"accept"}')
    assert store.recall("k") == b'{"instruction":"accept"}'
    clock.now = 6
    assert store.recall("k") is None


def test_event_key_uses_the_sid_else_a_hash() -> None:
    assert event_key({"Sid": "EV" + "1" * 32, "EventType": "x"}) == "event:EV" + "1" * 32
    without = {"EventType": "task.created", "TaskSid": "WT1"}
    assert event_key(without) == event_key(dict(reversed(without.items())))
    assert event_key(without) != event_key({**without, "TaskSid": "WT2"})


def test_setting_chooses_the_store() -> None:
    assert store_from_setting(None) is None
    assert isinstance(store_from_setting("memory"), MemoryDedupStore)
    with pytest.raises(ValueError, match="TASKROUTER_DEDUP"):
        store_from_setting("sqlite://")


def make_app(**config: Any) -> tuple[Flask, TaskRouter, list[Any]]:
    app = Flask("dedup")
    app.config.update({"TASKROUTER_AUTH_TOKEN": TOKEN, **config})
    tr = TaskRouter(app)
    calls: list[Any] = []
    return app, tr, calls


def test_a_redelivered_event_is_dispatched_once() -> None:
    app, tr, calls = make_app()
    tr.event("*")(calls.append)
    client = TaskRouterTestClient(app)
    payload = event_payload("task.created")
    assert client.post_event(payload).status_code == 204
    assert client.post_event(payload).status_code == 204
    assert len(calls) == 1


def test_a_failed_dispatch_is_retried_on_redelivery() -> None:
    app, tr, calls = make_app()
    attempts: list[Event] = []

    @tr.event("*")
    def flaky(event: Event) -> None:
        attempts.append(event)
        if len(attempts) == 1:
            raise RuntimeError("database down")

    client = TaskRouterTestClient(app)
    payload = event_payload("task.created")
    assert client.post_event(payload).status_code == 500
    assert client.post_event(payload).status_code == 204
    assert client.post_event(payload).status_code == 204
    assert len(attempts) == 2


def test_a_repeated_assignment_gets_the_first_answer() -> None:
    app, tr, calls = make_app()
    answers = iter([accept(), {"instruction": "reject"}])

    @tr.assignment()
    def decide(assignment: Assignment) -> Any:
        calls.append(assignment)
        return next(answers)

    client = TaskRouterTestClient(app)
    payload = assignment_payload()
    first = client.post_assignment(payload)
    second = client.post_assignment(payload)
    assert first.json == second.json == {"instruction": "accept"}
    assert len(calls) == 1
    other = client.post_assignment(assignment_payload())
    assert other.json == {"instruction": "reject"}


def test_dedup_can_be_turned_off() -> None:
    app, tr, calls = make_app(TASKROUTER_DEDUP=None)
    tr.event("*")(calls.append)
    client = TaskRouterTestClient(app)
    payload = event_payload("task.created")
    client.post_event(payload)
    client.post_event(payload)
    assert len(calls) == 2


class BrokenStore:
    def claim(self, key: str) -> bool:
        raise DedupUnavailable("Redis is unavailable: connection refused")

    def release(self, key: str) -> None:
        raise DedupUnavailable("down")

    def remember(self, key: str, value: bytes) -> None:
        raise DedupUnavailable("down")

    def recall(self, key: str) -> bytes | None:
        raise DedupUnavailable("down")


def test_unreachable_store_fails_open_by_default(caplog: pytest.LogCaptureFixture) -> None:
    app, tr, calls = make_app(TASKROUTER_DEDUP=BrokenStore())
    tr.event("*")(calls.append)
    tr.assignment()(lambda a: accept())
    client = TaskRouterTestClient(app)
    assert client.post_event("task.created").status_code == 204
    assert client.post_assignment().json == {"instruction": "accept"}
    assert len(calls) == 1
    assert "without duplicate detection" in caplog.text


def test_unreachable_store_can_fail_closed() -> None:
    app, tr, calls = make_app(TASKROUTER_DEDUP=BrokenStore(), TASKROUTER_DEDUP_FAIL_OPEN=False)
    tr.event("*")(calls.append)
    response = TaskRouterTestClient(app).post_event("task.created")
    assert response.status_code == 503
    assert response.json["error"]["code"] == "dedup_unavailable"
    assert calls == []


# -- a real redis-server ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A redis-server of our own on a free loopback port (installed by .ci/run)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (.ci/run installs it)")
    pytest.importorskip("redis")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_redis_store_claims_once_and_expires(redis_url: str) -> None:
    store = RedisDedupStore(redis_url, prefix="t1:", ttl=1)
    assert store.claim("a") is True
    assert store.claim("a") is False
    time.sleep(1.2)
    assert store.claim("a") is True
    store.remember("ans", b"{}")
    assert store.recall("ans") == b"{}"


def test_redis_store_is_shared_between_apps(redis_url: str) -> None:
    calls: list[Any] = []
    apps = []
    for _ in range(2):
        app, tr, _unused = make_app(TASKROUTER_DEDUP=redis_url, TASKROUTER_DEDUP_PREFIX="t2:")
        tr.event("*")(calls.append)
        apps.append(app)
    payload = event_payload("task.created")
    for app in apps:
        assert TaskRouterTestClient(app).post_event(payload).status_code == 204
    assert len(calls) == 1


def test_redis_down_fails_open() -> None:
    pytest.importorskip("redis")
    url = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    app, tr, calls = make_app(TASKROUTER_DEDUP=url)
    tr.event("*")(calls.append)
    assert TaskRouterTestClient(app).post_event("task.created").status_code == 204
    assert len(calls) == 1
