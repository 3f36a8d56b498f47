"""The callback_handled signal and the slow-handler warning."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from taskrouter_flask import Assignment, Event, TaskRouter, accept, callback_handled
from taskrouter_flask.testing import TaskRouterTestClient, assignment_payload, event_payload

from .conftest import TOKEN


@pytest.fixture
def app() -> Flask:
    app = Flask("signals")
    app.config.update(TASKROUTER_AUTH_TOKEN=TOKEN, TASKROUTER_SLOW_HANDLER=0.05)
    tr = TaskRouter(app)

    @tr.assignment()
    def decide(assignment: Assignment) -> Any:
        if assignment.task.attributes.get("slow"):
            time.sleep(0.1)
        if assignment.task.attributes.get("broken"):
            raise RuntimeError("bug")
        return accept()

    @tr.event("*")
    def audit(event: Event) -> None:
        pass

    return app


@pytest.fixture
def received(app: Flask) -> Iterator[list[dict[str, Any]]]:
    seen: list[dict[str, Any]] = []

    def receive(sender: Flask, **extra: Any) -> None:
        seen.append({"sender": sender, **extra})

    with callback_handled.connected_to(receive, app):
        yield seen


def test_each_callback_is_announced_with_its_outcome(
    app: Flask, received: list[dict[str, Any]]
) -> None:
    client = TaskRouterTestClient(app)
    event = event_payload("task.created")
    client.post_event(event)
    client.post_event(event)
    client.post_assignment(task_attributes={"broken": True})
    client.post_form("/taskrouter/events", event, signature="bm9wZQ==")
    summary = [(r["endpoint"], r["outcome"], r["status"]) for r in received]
    assert summary == [
        ("events", "dispatched", 204),
        ("events", "duplicate", 204),
        ("assignment", "failed", 500),
        ("events", "refused", 403),
    ]
    assert all(r["sender"] is app for r in received)
    assert all(0 <= r["duration"] < 5 for r in received)


def test_another_apps_callbacks_are_not_announced_to_a_receiver_of_this_one(
    app: Flask, received: list[dict[str, Any]]
) -> None:
    other = Flask("other")
    other.config.update(TASKROUTER_AUTH_TOKEN=TOKEN)
    TaskRouter(other)
    TaskRouterTestClient(other).post_event("task.created")
    assert received == []


def test_a_failing_receiver_does_not_change_the_answer(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(sender: Flask, **extra: Any) -> None:
        raise RuntimeError("metrics backend down")

    with callback_handled.connected_to(broken, app):
        response = TaskRouterTestClient(app).post_assignment(assignment_payload())
    assert response.json == {"instruction": "accept"}
    assert "receiver of taskrouter_flask.callback_handled failed" in caplog.text


def test_a_slow_handler_is_logged_at_warning(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    client = TaskRouterTestClient(app)
    client.post_assignment(task_attributes={"slow": True})
    slow = [r for r in caplog.records if "slower than 0.05 s" in r.getMessage()]
    assert [r.levelname for r in slow] == ["WARNING"]
    assert "decide" in slow[0].getMessage()
    caplog.clear()
    client.post_assignment()
    assert not [r for r in caplog.records if "slower than" in r.getMessage()]
