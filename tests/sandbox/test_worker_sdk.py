"""Twilio's real, unmodified worker SDK (``twilio-taskrouter``, run in node) on the sandbox.

Each test starts agents in node through :class:`.sdk_driver.SdkDriver`, works tasks the way
an agent's browser does, and checks what the sandbox's REST API says afterwards. Without node
or the SDK (``npm ci`` at the repository's root), they are skipped, saying which is missing.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from taskrouter_flask.sandbox.server import Sandbox

from .agents import KEY, SECRET, Desk, build_desk, gateway_post
from .sdk_driver import SdkDriver, unavailable

pytestmark = pytest.mark.skipif(unavailable() is not None, reason=str(unavailable()))


@pytest.fixture
def desk() -> Iterator[Desk]:
    with Sandbox(api_key_sid=KEY, api_key_secret=SECRET, tick=0.02) as sandbox:
        yield build_desk(sandbox)


@pytest.fixture
def sdk() -> Iterator[SdkDriver]:
    with SdkDriver() as driver:
        yield driver


def _start(desk: Desk, sdk: SdkDriver, name: str, worker: str, **options: Any) -> dict[str, Any]:
    sdk.call(
        "connect",
        name=name,
        token=desk.token(worker),
        options={**desk.sandbox.sdk_servers, "closeExistingSessions": True, **options},
    )
    return sdk.wait_for(event="ready", name=name, timeout=20)


def _rest(desk: Desk) -> Any:
    return desk.sandbox.client(desk.workspace)


@pytest.mark.parametrize("version_check", [False, True], ids=["plain", "version-checked"])
def test_an_agent_works_a_task_from_reservation_to_completion(
    desk: Desk, sdk: SdkDriver, version_check: bool
) -> None:
    if version_check:
        # The SDK keeps its own copy of the worker's version. connectActivitySid's answer
        # may land after a reservation.created that raised that copy, and set it back
        # (a race in the SDK itself), so this run changes activity by a call it waits for.
        ready = _start(desk, sdk, "alice", desk.alice, enableVersionCheck=True)
        sdk.call("activity", name="alice", activity=desk.activities["Available"])
    else:
        ready = _start(
            desk, sdk, "alice", desk.alice, connectActivitySid=desk.activities["Available"]
        )
    assert ready["sid"] == desk.alice
    deadline = time.monotonic() + 10
    while _rest(desk).workers.fetch(desk.alice).activity_name != "Available":
        assert time.monotonic() < deadline, "connectActivitySid was not applied"
        time.sleep(0.05)

    task = desk.create_task(type="ticket", customer="Ada")
    created = sdk.wait_for(event="reservationCreated", name="alice")
    assert created["task"] == task and created["status"] == "pending"
    assert created["attributes"] == {"type": "ticket", "customer": "Ada"}
    assert created["queue"] == "support"
    reservation = created["reservation"]

    assert sdk.call("accept", name="alice", reservation=reservation)["status"] == "accepted"
    sdk.wait_for(event="reservation.accepted", name="alice", reservation=reservation)
    assert _rest(desk).tasks.fetch(task).assignment_status == "assigned"

    assert sdk.call("wrapUpTask", name="alice", reservation=reservation)["status"] == "wrapping"
    sdk.wait_for(event="reservation.wrapup", name="alice", reservation=reservation)
    assert sdk.call("completeTask", name="alice", reservation=reservation)["status"] == "completed"
    sdk.wait_for(event="reservation.completed", name="alice", reservation=reservation)
    assert _rest(desk).tasks.fetch(task).assignment_status == "completed"

    moved = sdk.call("activity", name="alice", activity=desk.activities["Unavailable"])
    assert moved == {"activity": "Unavailable"}
    assert _rest(desk).workers.fetch(desk.alice).activity_name == "Unavailable"
    changed = _rest(desk).workers.update(desk.alice, activity_sid=desk.activities["Available"])
    assert changed.activity_name == "Available"
    assert sdk.wait_for(event="activityUpdated", name="alice")["activity"] == "Available"
    assert not [line for line in sdk.seen if line.get("event") == "error"], sdk.seen


def test_a_rejected_reservation_goes_to_the_next_agent(desk: Desk, sdk: SdkDriver) -> None:
    available = desk.activities["Available"]
    _start(desk, sdk, "alice", desk.alice, connectActivitySid=available)
    _start(desk, sdk, "bob", desk.bob, connectActivitySid=available)
    time.sleep(0.3)  # both activities applied
    task = desk.create_task()
    first = sdk.wait_until(lambda line: line.get("event") == "reservationCreated", 10)
    other = "bob" if first["name"] == "alice" else "alice"
    sdk.call("reject", name=first["name"], reservation=first["reservation"])
    second = sdk.wait_for(event="reservationCreated", name=other)
    assert second["task"] == task


def test_a_token_with_a_wrong_secret_is_refused(desk: Desk, sdk: SdkDriver) -> None:
    wrong = desk.token(secret="not-the-api-key-secret-32-chars!")
    sdk.call(
        "connect",
        name="mallory",
        token=wrong,
        options={**desk.sandbox.sdk_servers, "closeExistingSessions": True},
    )
    sdk.wait_for(event="error", name="mallory", timeout=10)
    time.sleep(1.0)
    assert not [line for line in sdk.seen if line.get("event") == "ready"]
    assert desk.sandbox.channels.sessions() == []
    refused = gateway_post(desk.sandbox, wrong, f"Workspaces/{desk.workspace}/Workers/{desk.alice}")
    assert refused.status_code == 401


def test_a_worker_token_is_refused_for_another_worker(desk: Desk, sdk: SdkDriver) -> None:
    _start(desk, sdk, "alice", desk.alice)
    alice = desk.token(desk.alice)
    bobs = f"Workspaces/{desk.workspace}/Workers/{desk.bob}"
    read = gateway_post(desk.sandbox, alice, bobs)
    moved = gateway_post(
        desk.sandbox, alice, bobs, "POST", {"ActivitySid": desk.activities["Available"]}
    )
    assert (read.status_code, moved.status_code) == (403, 403)
    assert _rest(desk).workers.fetch(desk.bob).activity_name == "Offline"


def test_the_sdk_reconnects_after_the_server_closes_its_socket(desk: Desk, sdk: SdkDriver) -> None:
    _start(desk, sdk, "alice", desk.alice, connectActivitySid=desk.activities["Available"])
    [session] = desk.sandbox.channels.sessions(desk.alice)
    session.close("closed by the test")
    sdk.wait_for(event="disconnected", name="alice")
    again = sdk.wait_for(event="ready", name="alice", timeout=20)
    assert again["sid"] == desk.alice
    time.sleep(0.3)
    task = desk.create_task()
    assert sdk.wait_for(event="reservationCreated", name="alice")["task"] == task


def test_an_expired_token_ends_the_session_until_a_new_one_is_given(
    desk: Desk, sdk: SdkDriver
) -> None:
    sdk.call(
        "connect",
        name="alice",
        token=desk.token(desk.alice, ttl=7),
        options={**desk.sandbox.sdk_servers, "closeExistingSessions": True},
    )
    sdk.wait_for(event="ready", name="alice", timeout=20)
    sdk.wait_for(event="tokenExpired", name="alice", timeout=10)  # 5 s before the end
    sdk.wait_for(event="disconnected", name="alice", timeout=10)  # the sandbox closes it
    expired = gateway_post(
        desk.sandbox,
        desk.token(desk.alice, ttl=1, now=time.time() - 1),
        f"Workspaces/{desk.workspace}/Activities",
    )
    assert expired.status_code == 401
    sdk.call("updateToken", name="alice", token=desk.token(desk.alice))
    sdk.wait_for(event="ready", name="alice", timeout=20)
