"""The worker SDK's side of the sandbox, from Python: the gateway, the socket, the clock.

These run without node: HTTP posts shaped as the SDK sends them, and a plain websocket
client reading what the server says. ``test_worker_sdk.py`` runs Twilio's real SDK.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from taskrouter_flask.sandbox.channels import HEARTBEAT_FRAME
from taskrouter_flask.sandbox.clock import ManualClock
from taskrouter_flask.sandbox.server import Sandbox

from .agents import KEY, SECRET, Desk, build_desk, gateway_post
from .sdk_driver import ROOT

START = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(clock=ManualClock(START), api_key_sid=KEY, api_key_secret=SECRET) as running:
        yield running


@pytest.fixture
def desk(sandbox: Sandbox) -> Desk:
    return build_desk(sandbox)


def _worker_url(desk: Desk, sid: str | None = None) -> str:
    return f"Workspaces/{desk.workspace}/Workers/{sid or desk.alice}"


def _available(desk: Desk, *sids: str) -> None:
    client = desk.sandbox.client(desk.workspace)
    for sid in sids or (desk.alice,):
        client.workers.update(sid, activity_sid=desk.activities["Available"])


class _Client:
    """A plain websocket client (``websockets``): ``receive`` gives ``None`` on a timeout."""

    def __init__(self, url: str) -> None:
        self._opened = connect(url, open_timeout=10)
        self.connection: ClientConnection = self._opened.__enter__()

    def receive(self, timeout: float) -> str | None:
        try:
            return str(self.connection.recv(timeout=timeout))
        except TimeoutError:
            return None

    def close(self) -> None:
        self._opened.__exit__(None, None, None)


def _connect(desk: Desk, token: str | None = None, **query: str) -> _Client:
    url = desk.sandbox.sdk_servers["wsServer"] + "?token=" + (token or desk.token())
    url += "".join(f"&{name}={value}" for name, value in query.items())
    return _Client(url)


def _close(*sockets: _Client) -> None:
    """Close client sockets, whether or not the server closed them first."""
    for ws in sockets:
        ws.close()


def _handshake(desk: Desk, token: str) -> requests.Response:
    """A websocket upgrade as a browser sends it, for a refusal's status and body."""
    url = desk.sandbox.sdk_servers["ebServer"] + "?token=" + token
    headers = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
    }
    return requests.get(url, headers=headers, timeout=10)


def _init(ws: _Client) -> dict[str, Any]:
    """The ``init`` frame every socket starts with (waiting for it, on a busy machine)."""
    frame = json.loads(ws.receive(timeout=10))
    assert frame["event_type"] == "init", frame
    return dict(frame)


def _frames(ws: _Client, timeout: float = 0.3) -> list[dict[str, Any]]:
    """Every frame the server sends within ``timeout`` of the last one."""
    frames = []
    while True:
        text = ws.receive(timeout=timeout)
        if text is None:
            return frames
        frames.append(json.loads(text))


def _sdk_properties() -> dict[str, list[str]]:
    """The field lists the SDK's descriptors require, read from the installed SDK itself."""
    source = ROOT / "node_modules" / "twilio-taskrouter" / "dist" / "index.commonjs2.js"
    if not source.exists():
        pytest.skip(f"the worker SDK is not installed: run `npm ci` in {ROOT} (.ci/run does)")
    found = re.findall(r"\.(\w+Properties)=\[([^\]]*)\]", source.read_text())
    return {name: json.loads(f"[{items}]") for name, items in found}


# -- the gateway ------------------------------------------------------------------------------


def test_every_payload_carries_every_field_the_sdk_requires(desk: Desk) -> None:
    properties = _sdk_properties()
    _available(desk)
    desk.create_task()
    token = desk.token()
    ws = f"Workspaces/{desk.workspace}"
    worker = gateway_post(desk.sandbox, token, _worker_url(desk)).json()["payload"]
    activities = gateway_post(desk.sandbox, token, f"{ws}/Activities", params={"PageSize": 1000})
    channels = gateway_post(desk.sandbox, token, _worker_url(desk) + "/WorkerChannels")
    reservations = gateway_post(
        desk.sandbox,
        token,
        _worker_url(desk) + "/Reservations",
        params={"Active": "true", "PageSize": 1000},
        apiVersion="v2",
    )
    [reservation] = reservations.json()["payload"]["contents"]
    checks = {
        "WorkerProperties": [worker],
        "ActivityProperties": activities.json()["payload"]["contents"],
        "ChannelProperties": channels.json()["payload"]["contents"],
        "ReservationProperties": [reservation],
        "TaskProperties": [reservation["task"]],
    }
    for name, payloads in checks.items():
        assert payloads, name
        for payload in payloads:
            missing = set(properties[name]) - set(payload)
            assert not missing, f"{name}: the SDK needs {sorted(missing)}"
    assert isinstance(worker["attributes"], str) and json.loads(worker["attributes"]) == {
        "name": "alice"
    }
    assert worker["date_created"] == int(START.timestamp())
    assert reservation["task"]["addons"] == "{}"
    assert json.loads(reservation["task"]["attributes"]) == {"type": "ticket"}


def test_lists_page_by_after_sid(desk: Desk) -> None:
    url = f"Workspaces/{desk.workspace}/Activities"
    seen: list[str] = []
    after = None
    for _ in range(10):
        params: dict[str, Any] = {"PageSize": 2}
        if after:
            params["AfterSid"] = after
        page = gateway_post(desk.sandbox, desk.token(), url, params=params).json()["payload"]
        seen += [a["sid"] for a in page["contents"]]
        after = page["after_sid"]
        if after is None:
            break
    assert seen == list(desk.activities.values())


def test_the_sdk_changes_state_through_the_same_engine_commands(desk: Desk) -> None:
    token = desk.token()
    moved = gateway_post(
        desk.sandbox,
        token,
        _worker_url(desk),
        "POST",
        {"ActivitySid": desk.activities["Available"], "Attributes": {"name": "alice", "x": 1}},
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["payload"]["activity_name"] == "Available"
    task = desk.create_task()
    [reservation] = desk.sandbox.client(desk.workspace).tasks.reservations(task).list()
    url = _worker_url(desk) + f"/Reservations/{reservation.sid}"
    accepted = gateway_post(desk.sandbox, token, url, "POST", {"ReservationStatus": "accepted"})
    assert accepted.json()["payload"]["reservation_status"] == "accepted"
    task_url = f"Workspaces/{desk.workspace}/Tasks/{task}"
    done = gateway_post(
        desk.sandbox, token, task_url, "POST", {"AssignmentStatus": "completed", "Reason": "ok"}
    )
    assert done.json()["payload"]["assignment_status"] == "completed"
    assert desk.sandbox.client(desk.workspace).tasks.fetch(task).assignment_status == "completed"


def test_if_match_is_checked_against_the_version(desk: Desk) -> None:
    stale = gateway_post(
        desk.sandbox,
        desk.token(),
        _worker_url(desk),
        "POST",
        {"ActivitySid": desk.activities["Available"]},
        **{"If-Match": "7"},
    )
    assert stale.status_code == 412, stale.text
    assert "message" in stale.json() and stale.json()["status"] == 412


@pytest.mark.parametrize(
    ("case", "status", "words"),
    [
        ("wrong secret", 401, "signature does not match"),
        ("expired", 401, "expired"),
        ("not yet valid", 401, "not valid yet"),
        ("unknown key", 401, "not an API key here"),
        ("not a token", 401, "not a JSON Web Token"),
        ("no token", 401, "missing"),
    ],
)
def test_bad_tokens_are_refused_with_401(desk: Desk, case: str, status: int, words: str) -> None:
    now = START.timestamp()
    token = {
        "wrong secret": desk.token(secret="another-secret-of-thirty-two-chr"),
        "expired": desk.token(ttl=60, now=now - 60),
        "not yet valid": desk.token(now=now + 600),
        "unknown key": desk.token(api_key_sid="SK" + "0" * 32),
        "not a token": "hello",
        "no token": "",
    }[case]
    answer = gateway_post(desk.sandbox, token, _worker_url(desk))
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["status"] == status and words in body["message"], body


def test_a_worker_token_reaches_only_its_own_worker_and_tasks(desk: Desk) -> None:
    alice = desk.token()
    other = gateway_post(desk.sandbox, alice, _worker_url(desk, desk.bob))
    assert other.status_code == 403 and desk.bob in other.json()["message"]
    moved = gateway_post(
        desk.sandbox,
        alice,
        _worker_url(desk, desk.bob),
        "POST",
        {"ActivitySid": desk.activities["Available"]},
    )
    assert moved.status_code == 403
    _available(desk, desk.bob)
    task = desk.create_task()  # reserved for bob, the only available worker
    task_url = f"Workspaces/{desk.workspace}/Tasks/{task}"
    assert gateway_post(desk.sandbox, alice, task_url).status_code == 403
    assert gateway_post(desk.sandbox, desk.token(desk.bob), task_url).status_code == 200
    supervisor = desk.token(role="supervisor")
    assert gateway_post(desk.sandbox, supervisor, _worker_url(desk, desk.bob)).status_code == 200
    assert gateway_post(desk.sandbox, supervisor, task_url).status_code == 200


def test_a_token_reaches_only_its_own_workspace(desk: Desk) -> None:
    other = desk.sandbox.client().workspaces.create(friendly_name="other").sid
    answer = gateway_post(desk.sandbox, desk.token(), f"Workspaces/{other}/Activities")
    assert answer.status_code == 403 and desk.workspace in answer.json()["message"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"not json", "expected a JSON object"),
        (b"[1, 2]", "expected a JSON object"),
        (b'{"url": "", "method": "GET"}', "url:"),
        (b'{"url": "Workspaces", "method": "PUT"}', "method:"),
        (b'{"url": "Workspaces", "method": "GET", "params": [1]}', "params:"),
        (b"\xff\xfe", "expected a JSON object"),
        (b'{"url": "x", "method": "GET", "params": {"a": NaN}}', "expected a JSON object"),
    ],
)
def test_malformed_posts_get_a_400_saying_what_was_wrong(
    sandbox: Sandbox, body: bytes, words: str
) -> None:
    answer = requests.post(sandbox.sdk_servers["ebServer"], data=body, timeout=10)
    assert answer.status_code == 400, answer.text
    assert words in answer.json()["message"]


def test_calls_the_gateway_does_not_serve_are_named(desk: Desk) -> None:
    token = desk.token(role="admin")
    transfer = gateway_post(desk.sandbox, token, _worker_url(desk) + "/Transfers", "POST")
    assert transfer.status_code == 404 and "transfers" in transfer.json()["message"]
    queues = gateway_post(desk.sandbox, token, f"Workspaces/{desk.workspace}/TaskQueues")
    assert queues.status_code == 404 and "ListTaskQueue" in queues.json()["message"]
    unknown = gateway_post(desk.sandbox, token, _worker_url(desk), "POST", {"Colour": "red"})
    assert unknown.status_code == 400 and "Colour" in unknown.json()["message"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    url=st.text(max_size=60),
    method=st.sampled_from(["GET", "POST", "DELETE", None]),
    params=st.dictionaries(
        st.text(max_size=12),
        st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
        max_size=4,
    ),
)
def test_no_post_is_answered_with_a_server_error(
    desk: Desk, url: str, method: str | None, params: dict[str, Any]
) -> None:
    body = json.dumps({"url": url, "method": method, "params": params, "token": desk.token()})
    answer = requests.post(desk.sandbox.sdk_servers["ebServer"], data=body, timeout=10)
    assert answer.status_code < 500, answer.text
    assert isinstance(answer.json()["message"], str) or "payload" in answer.json()


def test_a_browser_on_another_origin_may_call(sandbox: Sandbox) -> None:
    preflight = requests.options(
        sandbox.sdk_servers["ebServer"],
        headers={
            "Origin": "http://127.0.0.1:5000",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "clientversion,apiversion,if-match",
        },
        timeout=10,
    )
    assert preflight.status_code == 204
    allowed = preflight.headers["Access-Control-Allow-Headers"].lower()
    assert {"clientversion", "apiversion", "if-match"} <= {h.strip() for h in allowed.split(",")}
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"


def test_a_plain_get_is_told_what_the_path_is(sandbox: Sandbox) -> None:
    answer = requests.get(sandbox.sdk_servers["ebServer"], timeout=10)
    assert answer.status_code == 400 and "websocket" in answer.json()["message"]


# -- the socket -----------------------------------------------------------------------------


def test_the_socket_starts_with_init_and_carries_the_workers_own_events(desk: Desk) -> None:
    alice = _connect(desk, desk.token(ttl=600))
    bob = _connect(desk, desk.token(desk.bob))
    try:
        init = _init(alice)
        assert _frames(alice) == []
        assert init == {
            "event_type": "init",
            "payload": {
                "channel_id": desk.alice,
                "account_sid": desk.sandbox.account_sid,
                "workspace_sid": desk.workspace,
                "token_lifetime": 600_000,
            },
        }
        _init(bob)
        _available(desk)
        desk.create_task()
        kinds = [f["event_type"] for f in _frames(alice)]
        assert kinds == ["worker.activity.update", "reservation.created"]
        assert _frames(bob) == []
    finally:
        _close(alice, bob)


def test_heartbeats_follow_the_sandboxs_clock_and_change_nothing(desk: Desk) -> None:
    ws = _connect(desk)
    try:
        _init(ws)
        engine = desk.sandbox.engine
        before = (engine.next_timer(), len(engine.events_for(desk.workspace)))
        desk.sandbox.advance(14.9)
        assert _frames(ws) == []
        desk.sandbox.advance(0.1)
        assert [json.dumps(f) for f in _frames(ws)] == [HEARTBEAT_FRAME]
        desk.sandbox.advance(45)  # three periods in one step: one heartbeat, not a backlog
        assert len(_frames(ws)) == 1
        assert (engine.next_timer(), len(engine.events_for(desk.workspace))) == before
    finally:
        _close(ws)


def test_an_expired_token_closes_its_socket_and_cannot_open_another(desk: Desk) -> None:
    token = desk.token(ttl=30)
    ws = _connect(desk, token)
    _init(ws)
    desk.sandbox.advance(30)
    try:
        with pytest.raises(ConnectionClosed):
            ws.receive(timeout=2)
    finally:
        _close(ws)
    again = _handshake(desk, token)
    assert again.status_code == 401 and "expired" in again.json()["message"]


def test_a_refused_token_gets_no_socket(desk: Desk) -> None:
    refused = _handshake(desk, desk.token(secret="another-secret-of-thirty-two-chr"))
    assert refused.status_code == 401
    assert "signature does not match" in refused.json()["message"]
    assert _handshake(desk, desk.token()).status_code == 101


def test_close_existing_sessions_leaves_only_the_new_one(desk: Desk) -> None:
    first = _connect(desk)
    _init(first)
    second = _connect(desk, closeExistingSessions="true")
    try:
        with pytest.raises(ConnectionClosed):
            first.receive(timeout=2)
        _init(second)
        assert len(desk.sandbox.channels.sessions(desk.alice)) == 1
        third = _connect(desk, closeExistingSessions="false")
        _init(third)
        assert len(desk.sandbox.channels.sessions(desk.alice)) == 2
        _close(third)
    finally:
        _close(first, second)


def _activity_of(desk: Desk, sid: str) -> str:
    return str(desk.sandbox.client(desk.workspace).workers.fetch(sid).activity_name)


def _wait_for_sessions(desk: Desk, count: int) -> None:
    import time

    deadline = time.monotonic() + 5
    while len(desk.sandbox.channels.sessions(desk.alice)) != count:
        assert time.monotonic() < deadline, "the sandbox did not notice the socket closing"
        time.sleep(0.02)


def test_a_browser_that_leaves_takes_its_worker_offline_unless_it_said_not_to(desk: Desk) -> None:
    _available(desk)
    ws = _connect(desk, setWorkerOfflineIfDisconnected="false")
    _init(ws)
    _close(ws)
    _wait_for_sessions(desk, 0)
    assert _activity_of(desk, desk.alice) == "Available"
    ws = _connect(desk)  # Twilio's default: offline when disconnected
    _init(ws)
    _close(ws)
    _wait_for_sessions(desk, 0)
    assert _activity_of(desk, desk.alice) == "Offline"


def test_stopping_the_sandbox_closes_every_socket(desk: Desk) -> None:
    _available(desk)
    ws = _connect(desk)
    _init(ws)
    desk.sandbox.stop()
    try:
        with pytest.raises(ConnectionClosed):
            ws.receive(timeout=5)
    finally:
        _close(ws)
    assert desk.sandbox.engine.workers[desk.alice].activity_sid == desk.activities["Available"]


def test_the_request_log_never_holds_a_token(desk: Desk, caplog: pytest.LogCaptureFixture) -> None:
    token = desk.token(secret="another-secret-of-thirty-two-chr")
    with caplog.at_level("DEBUG", logger="taskrouter_flask.sandbox"):
        assert _handshake(desk, token).status_code == 401
    assert "wschannels?token=..." in caplog.text
    assert token not in caplog.text
