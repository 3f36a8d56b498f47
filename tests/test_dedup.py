"""Once-only callbacks: the stores' contract and the claim logic, with no Flask app.

Every store test runs against both stores: the per-process one and Redis (a
redis-server of our own on a loopback port, skipped when it is not installed).
The extension's use of them is at the end, through the test client.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from taskrouter_flask import Assignment, Event, TaskRouter, accept
from taskrouter_flask.dedup import (
    Claim,
    DedupStore,
    DedupUnavailable,
    MemoryDedupStore,
    Progress,
    RedisDedupStore,
    decode_reply,
    encode_reply,
    run_once,
    store_from_setting,
)
from taskrouter_flask.dispatch import Reply
from taskrouter_flask.testing import TaskRouterTestClient, assignment_payload, event_payload

from .conftest import TOKEN

LEASE = 0.3


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


# -- a real redis-server ----------------------------------------------------------------


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


@pytest.fixture(params=["memory", "redis"])
def store(request: pytest.FixtureRequest) -> DedupStore:
    """Each store, with a short lease and a prefix of its own per test."""
    if request.param == "memory":
        return MemoryDedupStore(ttl=60, lease=LEASE)
    url = request.getfixturevalue("redis_url")
    return RedisDedupStore(url, prefix=f"t{uuid.uuid4().hex[:8]}:", ttl=60, lease=LEASE)


# -- the stores' contract ---------------------------------------------------------------


def test_a_key_is_claimed_once_and_then_done(store: DedupStore) -> None:
    first = store.claim("k")
    assert first.state == "new" and first.token
    assert store.claim("k").state == "running"
    store.finish(first, b"200 {}")
    again = store.claim("k")
    assert (again.state, again.answer) == ("done", b"200 {}")


def test_a_lease_nobody_finishes_runs_out(store: DedupStore) -> None:
    """A process killed mid-handler (or a claim that landed after its sender gave up)."""
    abandoned = store.claim("k")
    assert abandoned.state == "new"
    assert store.claim("k").state == "running"
    time.sleep(LEASE + 0.15)
    retry = store.claim("k")
    assert retry.state == "new"
    # The late owner cannot release the new owner's lease.
    store.release(abandoned)
    assert store.claim("k").state == "running"
    store.release(retry)
    assert store.claim("k").state == "new"


def test_handler_progress_survives_a_release(store: DedupStore) -> None:
    claim = store.claim("k")
    store.handler_done(claim, "app.audit")
    store.release(claim)
    again = store.claim("k")
    assert again.state == "new"
    assert again.handlers_done == frozenset({"app.audit"})
    store.finish(again, b"204 ")
    assert store.claim("k").state == "done"


def test_a_waiter_is_woken_by_the_finish(store: DedupStore) -> None:
    claim = store.claim("k")
    answers: list[bytes | None] = []
    waiter = threading.Thread(target=lambda: answers.append(store.wait("k", 5.0)))
    started = time.monotonic()
    waiter.start()
    time.sleep(0.1)
    store.finish(claim, b'200 {"instruction":"accept"}')
    waiter.join(timeout=5)
    assert answers == [b'200 {"instruction":"accept"}']
    assert time.monotonic() - started < 2.0  # woken, not timed out


def test_a_waiter_is_told_of_a_release(store: DedupStore) -> None:
    claim = store.claim("k")
    answers: list[bytes | None] = []
    waiter = threading.Thread(target=lambda: answers.append(store.wait("k", 5.0)))
    started = time.monotonic()
    waiter.start()
    time.sleep(0.1)
    store.release(claim)
    waiter.join(timeout=5)
    assert answers == [None]
    assert time.monotonic() - started < 2.0


def test_a_wait_gives_up_after_its_timeout(store: DedupStore) -> None:
    store.claim("k")
    started = time.monotonic()
    assert store.wait("k", 0.2) is None
    assert 0.15 <= time.monotonic() - started < 2.0


def test_a_wait_for_a_finished_key_returns_at_once(store: DedupStore) -> None:
    store.finish(store.claim("k"), b"200 ")
    assert store.wait("k", 5.0) == b"200 "


def test_memory_store_is_bounded_and_expires() -> None:
    clock = FakeClock()
    store = MemoryDedupStore(ttl=10, lease=1, max_entries=3, clock=clock)
    for key in "abcd":
        store.finish(store.claim(key), b"204 ")
    assert store.claim("a").state == "new"  # the oldest was dropped to stay within 3
    assert store.claim("d").state == "done"
    clock.now = 10.5
    assert store.claim("d").state == "new"


def test_replies_round_trip_through_a_store() -> None:
    for reply in (Reply(200), Reply(200, {"instruction": "accept"}), Reply(500, {"e": 1})):
        assert decode_reply(encode_reply(reply)) == reply


def test_setting_chooses_the_store() -> None:
    assert store_from_setting(None) is None
    assert isinstance(store_from_setting("memory"), MemoryDedupStore)
    with pytest.raises(ValueError, match="TASKROUTER_DEDUP"):
        store_from_setting("sqlite://")
    with pytest.raises(ValueError, match="TASKROUTER_DEDUP_LEASE"):
        store_from_setting("memory", ttl=10, lease=10)


# -- the claim logic ------------------------------------------------------------------


def _counting(reply: Reply, calls: list[Progress]) -> Callable[[Progress], Reply]:
    def dispatch(progress: Progress) -> Reply:
        calls.append(progress)
        return reply

    return dispatch


def test_an_event_is_dispatched_once(store: DedupStore) -> None:
    calls: list[Progress] = []
    dispatch = _counting(Reply(204), calls)
    first = run_once(store, "event:1", dispatch, replay=False, fail_open=True)
    repeat = run_once(store, "event:1", dispatch, replay=False, fail_open=True)
    assert first == (Reply(204), "dispatched")
    assert repeat == (Reply(204), "duplicate")
    assert len(calls) == 1


def test_a_failed_event_runs_again_but_only_its_unfinished_handlers(store: DedupStore) -> None:
    attempts: list[frozenset[str]] = []

    def dispatch(progress: Progress) -> Reply:
        attempts.append(progress.done)
        assert progress.record is not None
        if "charge" not in progress.done:
            progress.record("charge")
        if len(attempts) == 1:
            return Reply(500, {"error": {"code": "handler_error"}})  # "notify" failed
        progress.record("notify")
        return Reply(204)

    assert run_once(store, "event:2", dispatch, replay=False, fail_open=True)[1] == "failed"
    assert run_once(store, "event:2", dispatch, replay=False, fail_open=True)[1] == "dispatched"
    assert run_once(store, "event:2", dispatch, replay=False, fail_open=True)[1] == "duplicate"
    assert attempts == [frozenset(), frozenset({"charge"})]


def test_a_repeated_assignment_gets_the_first_answer_even_a_5xx(store: DedupStore) -> None:
    calls: list[Progress] = []
    for reply in (Reply(200, {"instruction": "accept"}), Reply(500, {"error": {"code": "x"}})):
        key = f"assignment:{reply.status}"
        assert (
            run_once(store, key, _counting(reply, calls), replay=True, fail_open=True)[0] == reply
        )
        again = run_once(store, key, _counting(Reply(200), calls), replay=True, fail_open=True)
        assert again == (reply, "duplicate")
    assert len(calls) == 2


def test_a_repeat_waits_for_the_first_answer(store: DedupStore) -> None:
    release = threading.Event()
    calls: list[Progress] = []

    def slow(progress: Progress) -> Reply:
        calls.append(progress)
        release.wait(5)
        return Reply(200, {"instruction": "accept"})

    results: list[Any] = []
    first = threading.Thread(
        target=lambda: results.append(run_once(store, "a:1", slow, replay=True, fail_open=True))
    )
    first.start()
    time.sleep(0.1)
    repeats = [
        threading.Thread(
            target=lambda: results.append(
                run_once(store, "a:1", slow, replay=True, fail_open=True, wait=5.0)
            )
        )
        for _ in range(3)
    ]
    for thread in repeats:
        thread.start()
    time.sleep(0.1)
    release.set()
    for thread in (first, *repeats):
        thread.join(timeout=10)
    assert len(calls) == 1
    assert sorted(outcome for _, outcome in results) == ["dispatched"] + ["duplicate"] * 3
    assert [reply for reply, _ in results] == [Reply(200, {"instruction": "accept"})] * 4


def test_a_repeat_of_a_first_delivery_still_running_is_told_to_retry(store: DedupStore) -> None:
    store.claim("event:3")  # a first delivery whose process will never answer
    reply, outcome = run_once(
        store, "event:3", _counting(Reply(204), []), replay=False, fail_open=True, wait=0.1
    )
    assert (reply.status, outcome) == (503, "in_progress")
    assert reply.body is not None and reply.body["error"]["code"] == "in_progress"
    time.sleep(LEASE + 0.1)
    calls: list[Progress] = []
    assert run_once(store, "event:3", _counting(Reply(204), calls), replay=False, fail_open=True)[
        1
    ] == ("dispatched")
    assert len(calls) == 1


def test_a_repeat_outlasting_an_abandoned_lease_takes_it_over(store: DedupStore) -> None:
    """The lease was left by a delivery that will never answer; the waiting repeat runs it."""
    store.claim("event:5")
    calls: list[Progress] = []
    started = time.monotonic()
    reply, outcome = run_once(
        store, "event:5", _counting(Reply(204), calls), replay=False, fail_open=True, wait=3.0
    )
    assert (reply, outcome) == (Reply(204), "dispatched")
    assert len(calls) == 1
    assert time.monotonic() - started < LEASE + 1.0  # no longer than the lease needed


def test_a_dispatch_that_raises_gives_the_lease_back(store: DedupStore) -> None:
    def crash(progress: Progress) -> Reply:
        raise SystemExit(1)  # gunicorn's worker timeout, for one

    with pytest.raises(SystemExit):
        run_once(store, "event:4", crash, replay=False, fail_open=True)
    calls: list[Progress] = []
    run_once(store, "event:4", _counting(Reply(204), calls), replay=False, fail_open=True)
    assert len(calls) == 1


class BrokenStore:
    """Every call fails as an unreachable Redis does."""

    def claim(self, key: str) -> Claim:
        raise DedupUnavailable("Redis is unavailable: connection refused")

    def handler_done(self, claim: Claim, handler: str) -> None:
        raise DedupUnavailable("down")

    def finish(self, claim: Claim, answer: bytes) -> None:
        raise DedupUnavailable("down")

    def release(self, claim: Claim) -> None:
        raise DedupUnavailable("down")

    def wait(self, key: str, timeout: float) -> bytes | None:
        raise DedupUnavailable("down")


def test_an_unreachable_store_fails_open_or_closed() -> None:
    calls: list[Progress] = []
    opened = run_once(
        BrokenStore(), "e", _counting(Reply(204), calls), replay=False, fail_open=True
    )
    assert opened == (Reply(204), "dispatched")
    closed = run_once(
        BrokenStore(), "e", _counting(Reply(204), calls), replay=False, fail_open=False
    )
    assert closed[0].status == 503 and closed[1] == "unavailable"
    assert len(calls) == 1


def test_a_store_lost_after_the_claim_does_not_fail_the_callback() -> None:
    class LostAfterClaim(BrokenStore):
        def claim(self, key: str) -> Claim:
            return Claim(key, "new", "t")

    reply, outcome = run_once(
        LostAfterClaim(), "e", _counting(Reply(204), []), replay=False, fail_open=False
    )
    assert (reply, outcome) == (Reply(204), "dispatched")


# -- the extension using them -------------------------------------------------------------


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


def test_only_the_handlers_that_failed_run_on_redelivery() -> None:
    app, tr, _ = make_app()
    runs: list[str] = []

    @tr.event("task.created")
    def charge(event: Event) -> None:
        runs.append("charge")

    @tr.event("*")
    def notify(event: Event) -> None:
        runs.append("notify")
        if runs.count("notify") == 1:
            raise RuntimeError("mail server down")

    client = TaskRouterTestClient(app)
    payload = event_payload("task.created")
    assert client.post_event(payload).status_code == 500
    assert client.post_event(payload).status_code == 204
    assert client.post_event(payload).status_code == 204
    assert runs == ["charge", "notify", "notify"]


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


def test_a_repeated_assignment_whose_first_answer_was_a_500_gets_a_500() -> None:
    app, tr, calls = make_app()

    @tr.assignment()
    def broken(assignment: Assignment) -> Any:
        calls.append(assignment)
        raise RuntimeError("bug")

    client = TaskRouterTestClient(app)
    payload = assignment_payload()
    assert client.post_assignment(payload).status_code == 500
    repeat = client.post_assignment(payload)
    assert repeat.status_code == 500  # so Twilio tries the fallback URL again
    assert repeat.json["error"]["code"] == "handler_error"
    assert len(calls) == 1


def test_dedup_can_be_turned_off() -> None:
    app, tr, calls = make_app(TASKROUTER_DEDUP=None)
    tr.event("*")(calls.append)
    client = TaskRouterTestClient(app)
    payload = event_payload("task.created")
    client.post_event(payload)
    client.post_event(payload)
    assert len(calls) == 2


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
