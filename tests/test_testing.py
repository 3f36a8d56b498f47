"""The testing helpers a user's own tests rely on, including the pytest plugin."""

from __future__ import annotations

import pytest

from taskrouter_flask.models import EVENT_TYPES
from taskrouter_flask.schemas import load_event
from taskrouter_flask.signature import validate_signature
from taskrouter_flask.testing import (
    assignment_payload,
    event_payload,
    make_assignment,
    make_event,
    make_sid,
    signed_form,
    signed_json,
)


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_type_has_a_payload_that_parses(event_type: str) -> None:
    payload = event_payload(event_type, task_attributes={"type": "ticket"})
    event = load_event(payload)
    assert event.type == event_type
    assert event.resource_sid and event.resource_type
    family = event_type.split(".")[0]
    if family == "reservation":
        assert event.reservation_sid == event.resource_sid
        assert event.task is not None and event.task.attributes == {"type": "ticket"}
        assert (event.worker is None) == (event_type == "reservation.failed")
    if family == "worker":
        assert event.worker is not None
    if family == "activity":
        assert event.activity is not None


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match="event_type"):
        event_payload("reservation.exploded")


def test_factories_take_overrides_and_extra_wire_fields() -> None:
    queue = make_sid("WQ")
    payload = assignment_payload(task_queue_sid=queue, task_age=9, TaskChannelUniqueName="chat")
    assert payload["TaskQueueSid"] == queue and payload["TaskAge"] == "9"
    assignment = make_assignment(worker_attributes={"skills": ["es"]}, TaskChannelUniqueName="chat")
    assert assignment.worker.attributes == {"skills": ["es"]}
    assert assignment.task.channel_unique_name == "chat"
    assert make_event("task.completed").task is not None


def test_make_sid_shape() -> None:
    sid = make_sid("WT")
    assert len(sid) == 34 and sid.startswith("WT")
    with pytest.raises(ValueError, match="prefix"):
        make_sid("wt")


def test_signed_requests_validate() -> None:
    url = "https://example.com/taskrouter/assignment"
    params = assignment_payload()
    body, headers = signed_form(url, params, "tok")
    assert validate_signature(url, params, headers["X-Twilio-Signature"], "tok")
    assert body.startswith(b"AccountSid=AC")
    signed_url, json_body, headers = signed_json(url, {"a": 1}, "tok")
    assert "bodySHA256=" in signed_url
    assert validate_signature(signed_url, json_body, headers["X-Twilio-Signature"], "tok")


def test_the_pytest_plugin_gives_a_user_three_line_tests(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest
        from flask import Flask
        from taskrouter_flask import TaskRouter, accept, reject

        tr = TaskRouter()

        @tr.assignment(when=lambda a: "billing" in a.worker.attributes.get("skills", []))
        def billing(assignment):
            return accept()

        @tr.assignment()
        def anything_else(assignment):
            return reject()

        @pytest.fixture
        def app():
            app = Flask("user_app")
            app.config["TASKROUTER_AUTH_TOKEN"] = "user-token"
            tr.init_app(app)
            return app
        """
    )
    pytester.makepyfile(
        """
        from taskrouter_flask import accept
        from taskrouter_flask.testing import make_assignment

        def test_billing_worker_accepts(taskrouter_client):
            response = taskrouter_client.post_assignment(worker_attributes={"skills": ["billing"]})
            assert response.json == {"instruction": "accept"}

        def test_others_reject(taskrouter_client):
            response = taskrouter_client.post_assignment(worker_attributes={"skills": []})
            assert response.json == {"instruction": "reject"}

        def test_handler_unit(app):
            from conftest import billing
            assert billing(make_assignment(worker_attributes={"skills": ["billing"]})) == accept()
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=3)


def test_the_sandbox_fixture_serves_the_worker_sdk(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import json

        import requests

        def test_an_agent_token_reads_its_worker(sandbox):
            client = sandbox.client()
            workspace = client.workspaces.create(friendly_name="desk").sid
            worker = sandbox.client(workspace).workers.create(friendly_name="ada").sid
            token = sandbox.worker_token(workspace, worker)
            body = {"url": f"Workspaces/{workspace}/Workers/{worker}", "method": "GET",
                    "params": {}, "token": token}
            answer = requests.post(sandbox.sdk_servers["ebServer"], data=json.dumps(body))
            assert answer.status_code == 200
            assert answer.json()["payload"]["friendly_name"] == "ada"
            assert sandbox.sdk_servers["wsServer"].startswith("ws://127.0.0.1:")
        """
    )
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
