"""Once-only callbacks across processes: 2 gunicorn workers sharing a real redis-server.

Three callback apps run in the same gunicorn (see :func:`apps.create_dedup_apps`):
``/open`` fails open when Redis is gone, ``/closed`` fails closed, ``/ttl``
forgets a delivery after one second. Handlers write a file per call, so the
test counts calls across both worker processes; every answer names the worker
(``X-Worker-Pid``) that gave it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import requests

from taskrouter_flask.testing import assignment_payload, event_payload, signed_form

from ..resplit import variants
from .apps import read_records
from .conftest import TOKEN, RedisServer, Served, serve_gunicorn

ROUNDS = 5
DELIVERIES = 24  # concurrent deliveries of the same event, per round
HANDLER_DELAY = 0.2  # the assignment handler's, so that repeats arrive while it runs
ACCEPT = {"instruction": "accept"}


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    pid: str
    json: Any
    content_type: str
    seconds: float


@dataclass(frozen=True, slots=True)
class Cluster:
    served: Served
    records: Path
    redis: RedisServer

    def url(self, mount: str, endpoint: str) -> str:
        return f"{self.served.base}{mount}/taskrouter/{endpoint}"

    def post(self, mount: str, endpoint: str, payload: Mapping[str, str]) -> Reply:
        body, headers = signed_form(self.url(mount, endpoint), payload, TOKEN)
        return self.post_raw(mount, endpoint, body, headers)

    def post_raw(self, mount: str, endpoint: str, body: bytes, headers: Mapping[str, str]) -> Reply:
        url = self.url(mount, endpoint)
        started = time.monotonic()
        response = requests.post(url, data=body, headers=headers, timeout=10)
        return Reply(
            response.status_code,
            response.headers.get("X-Worker-Pid", "?"),
            response.json() if response.content else None,
            response.headers.get("Content-Type", ""),
            time.monotonic() - started,
        )

    def calls(self, mount: str, kind: str, key: str) -> int:
        return len(read_records(self.records, f"{mount.strip('/')}.{kind}", key))

    def concurrently(
        self, mount: str, endpoint: str, payload: Mapping[str, str], count: int
    ) -> list[Reply]:
        """Deliver ``payload`` ``count`` times at once (threads released by one barrier)."""
        barrier = threading.Barrier(count)

        def deliver() -> Reply:
            barrier.wait(timeout=10)
            return self.post(mount, endpoint, payload)

        with ThreadPoolExecutor(max_workers=count) as pool:
            futures = [pool.submit(deliver) for _ in range(count)]
            return [future.result(timeout=30) for future in futures]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    redis = RedisServer()  # skips when redis-server or the redis package is missing
    records = tmp_path_factory.mktemp("dedup-records")
    logs = tmp_path_factory.mktemp("dedup-logs")
    redis.start()
    try:
        env = {
            "FLASK_TASKROUTER_AUTH_TOKEN": TOKEN,
            "FLASK_TASKROUTER_DEDUP": redis.url,
            "FLASK_TR_RECORD_DIR": str(records),
            "FLASK_TR_HANDLER_DELAY": str(HANDLER_DELAY),
        }
        with serve_gunicorn(
            "tests.production.apps:create_dedup_apps()",
            env=env,
            log_dir=logs,
            workers=2,
            worker_class="sync",
            timeout=10,
        ) as served:
            yield Cluster(served, records, redis)
    finally:
        redis.stop()


@pytest.fixture
def redis_back(cluster: Cluster) -> Iterator[RedisServer]:
    """The test may stop or freeze Redis; it is running again afterwards."""
    try:
        yield cluster.redis
    finally:
        cluster.redis.thaw()
        if cluster.redis.process is None:
            cluster.redis.start()


def _assert_no_server_error(cluster: Cluster, replies: list[Reply]) -> None:
    assert cluster.served.alive(), cluster.served.log_tail()
    errors = [reply for reply in replies if reply.status >= 500 and reply.status != 503]
    assert not errors, errors
    assert "Error handling request" not in cluster.served.log_tail(200)


def test_concurrent_deliveries_of_one_event_are_dispatched_once(cluster: Cluster) -> None:
    pids_per_round = []
    for round_number in range(ROUNDS):
        payload = event_payload("reservation.accepted")
        replies = cluster.concurrently("/open", "events", payload, DELIVERIES)
        assert [reply.status for reply in replies] == [204] * DELIVERIES, replies
        assert cluster.calls("/open", "event", payload["Sid"]) == 1, f"round {round_number}"
        pids_per_round.append(sorted({reply.pid for reply in replies}))
    print(f"\n{ROUNDS} rounds of {DELIVERIES} concurrent deliveries, answered by {pids_per_round}")
    # The point is the race between processes: at least one round reached both workers.
    assert any(len(pids) >= 2 for pids in pids_per_round), pids_per_round


def test_a_repeated_assignment_gets_the_first_answer(cluster: Cluster) -> None:
    """The handler answers reject to a reservation it has seen: a repeat that reached it would."""
    payload = assignment_payload()
    first = cluster.post("/open", "assignment", payload)
    assert (first.status, first.json) == (200, ACCEPT)
    repeats = [cluster.post("/open", "assignment", payload) for _ in range(4)]
    assert [(r.status, r.json) for r in repeats] == [(200, ACCEPT)] * 4
    assert cluster.calls("/open", "assignment", payload["ReservationSid"]) == 1

    # Repeats arriving while the first delivery's handler is still running get its answer too.
    payload = assignment_payload()
    replies = cluster.concurrently("/open", "assignment", payload, 12)
    assert [(r.status, r.json) for r in replies] == [(200, ACCEPT)] * 12
    assert cluster.calls("/open", "assignment", payload["ReservationSid"]) == 1
    print(f"\nconcurrent repeats answered by workers {sorted({r.pid for r in replies})}")


def test_ttl_expiry_lets_a_redelivery_through(cluster: Cluster) -> None:
    """``/ttl`` keeps a delivery for TASKROUTER_DEDUP_TTL = 1 second."""
    event = event_payload("task.created")
    assignment = assignment_payload()
    assert cluster.post("/ttl", "events", event).status == 204
    assert cluster.post("/ttl", "assignment", assignment).json == ACCEPT
    started = time.monotonic()
    assert cluster.post("/ttl", "events", event).status == 204
    assert cluster.post("/ttl", "assignment", assignment).json == ACCEPT
    assert cluster.calls("/ttl", "event", event["Sid"]) == 1
    assert cluster.calls("/ttl", "assignment", assignment["ReservationSid"]) == 1
    time.sleep(max(0.0, 1.5 - (time.monotonic() - started)))
    assert cluster.post("/ttl", "events", event).status == 204
    assert cluster.calls("/ttl", "event", event["Sid"]) == 2
    again = cluster.post("/ttl", "assignment", assignment)
    assert again.status == 200
    assert cluster.calls("/ttl", "assignment", assignment["ReservationSid"]) == 2


def _refused_503(reply: Reply) -> bool:
    return (
        reply.status == 503
        and reply.content_type.startswith("application/json")
        and reply.json["error"]["code"] == "dedup_unavailable"
    )


def test_redis_stopped_mid_run(cluster: Cluster, redis_back: RedisServer) -> None:
    """Fail open: dispatched, 2xx. Fail closed: 503 JSON. Never a 5xx page; still serving."""
    before = event_payload("task.created")
    assert cluster.post("/closed", "events", before).status == 204
    redis_back.stop()
    replies = []
    events = [event_payload("task.created") for _ in range(4)]
    for event in events:
        replies.append(opened := cluster.post("/open", "events", event))
        assert opened.status == 204, opened
        assert cluster.calls("/open", "event", event["Sid"]) == 1
        replies.append(closed := cluster.post("/closed", "events", event))
        assert _refused_503(closed), closed
        assert cluster.calls("/closed", "event", event["Sid"]) == 0
    assignment = assignment_payload()
    replies.append(opened := cluster.post("/open", "assignment", assignment))
    assert (opened.status, opened.json) == (200, ACCEPT)
    replies.append(closed := cluster.post("/closed", "assignment", assignment))
    assert _refused_503(closed), closed
    assert cluster.calls("/closed", "assignment", assignment["ReservationSid"]) == 0
    slowest = max(reply.seconds for reply in replies)
    print(f"\nRedis stopped: {len(replies)} callbacks answered, slowest in {slowest:.2f} s")
    assert slowest < 2.0
    _assert_no_server_error(cluster, replies)

    # Redis comes back (empty: it keeps nothing on disk here): Twilio's retry is dispatched.
    redis_back.start()
    for event in events:
        assert cluster.post("/closed", "events", event).status == 204
        assert cluster.post("/closed", "events", event).status == 204
        assert cluster.calls("/closed", "event", event["Sid"]) == 1


def test_redis_hanging_mid_run(cluster: Cluster, redis_back: RedisServer) -> None:
    """Redis accepts connections but never answers (SIGSTOP): the same, after its timeout."""
    assert cluster.post("/open", "events", event_payload("task.created")).status == 204
    redis_back.freeze()
    replies = []
    event = event_payload("task.created")
    replies.append(opened := cluster.post("/open", "events", event))
    assert opened.status == 204
    assert cluster.calls("/open", "event", event["Sid"]) == 1
    replies.append(closed := cluster.post("/closed", "events", event_payload("task.created")))
    assert _refused_503(closed), closed
    assignment = assignment_payload()
    replies.append(opened := cluster.post("/open", "assignment", assignment))
    assert (opened.status, opened.json) == (200, ACCEPT)
    slowest = max(reply.seconds for reply in replies)
    print(f"\nRedis frozen: {len(replies)} callbacks answered, slowest in {slowest:.2f} s")
    assert slowest < 4.0  # Twilio waits 5 s for an assignment answer
    _assert_no_server_error(cluster, replies)


def test_an_event_refused_503_is_dispatched_when_redelivered(
    cluster: Cluster, redis_back: RedisServer
) -> None:
    """Fail-closed after a Redis *timeout*: the claim it sent lands when Redis resumes.

    That late claim is only a lease (``/closed`` holds one for 1 s), so Twilio's
    retry waits it out and runs the handler; before leases it was kept for the
    whole TTL and the event was lost. Whether the late claim lands first is a
    race (it did in 5 runs of 6), so a few events are tried.
    """
    lost = []
    for _ in range(4):
        event = event_payload("task.created")
        redis_back.freeze()
        try:
            assert _refused_503(cluster.post("/closed", "events", event))
        finally:
            redis_back.thaw()
        time.sleep(0.1)
        assert cluster.post("/closed", "events", event).status == 204  # Twilio's retry
        if cluster.calls("/closed", "event", event["Sid"]) != 1:
            lost.append(event["Sid"])
    assert not lost, f"refused with 503, then never dispatched: {lost}"


def test_resplit_signatures_do_not_replay_an_event(cluster: Cluster) -> None:
    """One captured event and every re-split of it that keeps its signature valid."""
    payload = event_payload("task.created")
    body, headers = signed_form(cluster.url("/open", "events"), payload, TOKEN)
    assert cluster.post_raw("/open", "events", body, headers).status == 204
    statuses = []
    for variant in variants(payload, 12):
        forged = cluster.post_raw("/open", "events", urlencode(variant).encode(), headers)
        statuses.append(forged.status)
    print(f"\n{len(statuses)} re-split deliveries answered {sorted(statuses)}")
    assert len(statuses) == 12
    assert set(statuses) <= {204, 400}, statuses
    assert 400 in statuses  # the variant without its Sid
    assert cluster.calls("/open", "event", payload["Sid"]) == 1
    assert len(read_records(cluster.records, "open.event")) == len(
        {record["key"] for record in read_records(cluster.records, "open.event")}
    )


@pytest.mark.parametrize("endpoint", ["events", "assignment"])
def test_a_worker_killed_mid_handler_is_completed_by_the_redelivery(
    cluster: Cluster, endpoint: str
) -> None:
    """SIGKILL a gunicorn worker inside the handler; Twilio's redelivery completes it once."""
    hold = {"hold": 30}
    if endpoint == "events":
        payload = event_payload("task.created", task_attributes=hold)
        key, kind = payload["Sid"], "event"
    else:
        payload = assignment_payload(task_attributes=hold)
        key, kind = payload["ReservationSid"], "assignment"
    outcome: list[object] = []

    def deliver() -> None:
        try:
            outcome.append(cluster.post("/lease", endpoint, payload))
        except requests.RequestException as exc:
            outcome.append(exc)

    first = threading.Thread(target=deliver)
    first.start()
    started_kind = f"lease.started.{endpoint.rstrip('s')}"
    deadline = time.monotonic() + 10
    while not (started := read_records(cluster.records, started_kind, key)):
        assert time.monotonic() < deadline, cluster.served.log_tail()
        time.sleep(0.02)
    os.kill(started[0]["pid"], signal.SIGKILL)
    first.join(timeout=15)
    assert outcome and isinstance(outcome[0], requests.RequestException), outcome

    redelivered = cluster.post("/lease", endpoint, payload)
    again = cluster.post("/lease", endpoint, payload)
    print(f"\nkilled worker {started[0]['pid']}; redelivery {redelivered}, repeat {again}")
    if endpoint == "events":
        assert (redelivered.status, again.status) == (204, 204)
    else:
        assert (redelivered.status, redelivered.json) == (200, ACCEPT)
        assert (again.status, again.json) == (200, ACCEPT)
    assert cluster.calls("/lease", kind, key) == 1
    assert len(read_records(cluster.records, started_kind, key)) == 1
    assert cluster.served.alive(), cluster.served.log_tail()
