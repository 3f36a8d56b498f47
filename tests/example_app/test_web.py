"""The dashboard page, its event stream and the controls: good input works, bad input is a 4xx.

Every request here comes with the operator's session (``test_agent_console.py`` checks
what happens without it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from example_app import create_app
from example_app.runner import SupportDesk
from example_app.traffic import DEFAULT_RATE
from example_app.web import MAX_CONTROL_BODY

from .conftest import signed_in, wait_for


@pytest.fixture
def offline_app() -> Flask:
    """The app without a workspace: pages and validation, no TaskRouter behind."""
    return create_app(
        {"TESTING": True, "TASKROUTER_AUTH_TOKEN": "token", "SUPPORT_DESK_PROVISION": False}
    )


@pytest.fixture
def client(offline_app: Flask) -> FlaskClient:
    """A test client signed in as the operator."""
    client = offline_app.test_client()
    key = offline_app.config["SUPPORT_DESK_SIGN_IN_KEY"]
    assert client.get(f"/?key={key}").status_code == 303
    return client


@pytest.fixture(scope="module")
def operator(live_desk: SupportDesk) -> Iterator[requests.Session]:
    """An HTTP session signed in to the running desk."""
    with signed_in(live_desk) as session:
        yield session


def _error(response: Any) -> dict[str, Any]:
    assert response.mimetype == "application/json", response.data
    error: dict[str, Any] = response.get_json()["error"]
    return error


# -- pages -----------------------------------------------------------------------------------


def test_the_dashboard_page_and_its_assets_are_served_locally(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<title>Support desk · live</title>" in html
    assert 'src="/static/dashboard.js"' in html and 'href="/static/dashboard.css"' in html
    assert "http://" not in html and "https://" not in html  # no CDN, nothing remote
    for label in ("Type", "Customer value", "Language", "Priority", "Subject"):
        assert f">{label}" in html
    for asset in ("/static/dashboard.js", "/static/dashboard.css"):
        with client.get(asset) as response:
            assert response.status_code == 200


def test_the_state_is_there_before_provisioning(client: FlaskClient) -> None:
    data = client.get("/api/state").get_json()
    assert data["queues"] == [] and data["traffic"] is None and data["log_total"] == 0


# -- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({}, "type", "Missing data for required field."),
        ({"type": "fax"}, "type", "Must be one of: ticket, call, chat."),
        ({"type": "ticket", "customer_value": "Platinum"}, "customer_value", "Must be one of"),
        ({"type": "ticket", "selected_language": "de"}, "selected_language", "Must be one of"),
        ({"type": "ticket", "priority": 101}, "priority", "greater than or equal to 0"),
        ({"type": "ticket", "priority": 2.5}, "priority", "Not a valid integer."),
        ({"type": "ticket", "priority": True}, "priority", "Not a valid integer."),
        ({"type": "ticket", "priority": "5"}, "priority", "Not a valid integer."),
        ({"type": "ticket", "subject": "x" * 121}, "subject", "Longer than maximum length 120."),
        ({"type": "ticket", "subject": 5}, "subject", "Not a valid string."),
        ({"type": "ticket", "queue": "Gold"}, "queue", "unknown field"),
    ],
)
def test_a_bad_new_task_is_a_400_naming_the_field(
    client: FlaskClient, body: dict[str, Any], field: str, message: str
) -> None:
    response = client.post("/api/tasks", json=body)
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid_request" and error["field"] == field
    assert message in error["message"]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/tasks", "[1, 2]"),
        ("/api/traffic", '"paused"'),
        ("/api/workers/WK0/activity", "null"),
    ],
)
def test_a_body_that_is_not_an_object_is_a_400(client: FlaskClient, path: str, body: str) -> None:
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert _error(response) == {"code": "invalid_request", "message": "expected a JSON object"}


def test_broken_json_is_a_400(client: FlaskClient) -> None:
    response = client.post("/api/tasks", data="{oops", content_type="application/json")
    assert response.status_code == 400 and _error(response)["code"] == "invalid_json"


def test_a_form_post_is_a_415(client: FlaskClient) -> None:
    response = client.post("/api/tasks", data={"type": "ticket"})
    assert response.status_code == 415 and _error(response)["code"] == "unsupported_media_type"


def test_a_huge_body_is_a_413(client: FlaskClient) -> None:
    body = json.dumps({"type": "ticket", "subject": "x" * MAX_CONTROL_BODY})
    response = client.post("/api/tasks", data=body, content_type="application/json")
    assert response.status_code == 413 and _error(response)["code"] == "payload_too_large"


def test_paused_must_be_a_boolean(client: FlaskClient) -> None:
    for body in ({}, {"paused": "yes"}, {"paused": None}):
        response = client.post("/api/traffic", json=body)
        assert response.status_code == 400 and _error(response)["field"] == "paused"


def test_an_unknown_activity_is_a_400(client: FlaskClient) -> None:
    response = client.post("/api/workers/WK0/activity", json={"activity": "Lunch"})
    assert response.status_code == 400 and _error(response)["field"] == "activity"


def test_an_unknown_worker_is_a_404(client: FlaskClient) -> None:
    response = client.post("/api/workers/WKnope/activity", json={"activity": "Offline"})
    assert response.status_code == 404 and _error(response)["code"] == "not_found"


def test_traffic_control_without_traffic_is_a_409(client: FlaskClient) -> None:
    response = client.post("/api/traffic", json={"paused": True})
    assert response.status_code == 409 and _error(response)["code"] == "no_traffic"


def test_a_good_task_without_a_workspace_is_a_503(client: FlaskClient) -> None:
    response = client.post("/api/tasks", json={"type": "ticket"})
    assert response.status_code == 503 and _error(response)["code"] == "not_provisioned"


def test_api_routing_errors_are_json_but_pages_stay_html(client: FlaskClient) -> None:
    wrong_method = client.get("/api/tasks")
    assert wrong_method.status_code == 405 and "POST" in wrong_method.headers["Allow"]
    assert _error(wrong_method)["code"] == "method_not_allowed"
    assert _error(client.get("/api/nothing"))["code"] == "not_found"
    assert client.get("/nothing").mimetype == "text/html"


# -- against the running desk ---------------------------------------------------------------------


def test_the_event_stream_sends_a_snapshot_over_http(
    live_desk: SupportDesk, operator: requests.Session
) -> None:
    url = live_desk.local_url + "/api/stream"
    with operator.get(url, stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/event-stream")
        assert response.headers["Cache-Control"] == "no-cache"
        lines = response.iter_lines(decode_unicode=True)
        message: dict[str, str] = {}
        for line in lines:
            if not line:
                if message.get("event") == "snapshot":
                    break
                message = {}
                continue
            key, _, value = line.partition(": ")
            message[key] = value
    data = json.loads(message["data"])
    assert [q["name"] for q in data["queues"]] == ["Gold Tickets", "Spanish", "Everyone"]
    assert len(data["workers"]) == 6
    assert data["traffic"] == {"paused": True, "rate": DEFAULT_RATE}
    assert data["daily_limit"] == 1000
    assert message["id"] == str(data["version"])
    workers = {w["sid"] for w in data["workers"]}
    assert set(data["consoles"]) == workers and data["at_console"] == []
    assert all(data["consoles"][sid].startswith(f"/agents/{sid}?t=") for sid in workers)


def test_a_task_created_through_the_api_is_routed_and_completed(
    live_desk: SupportDesk, operator: requests.Session
) -> None:
    response = operator.post(
        live_desk.local_url + "/api/tasks",
        json={
            "type": "chat",
            "customer_value": "Gold",
            "selected_language": "es",
            "subject": "Hola",
        },
        timeout=10,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["attributes"]["source"] == "dashboard"
    assert created["priority"] == 10  # a chat (5), from a Gold customer (+5)

    def followed() -> dict[str, Any] | None:
        watched = live_desk.desk.state.snapshot()["watched"]
        return next((w for w in watched if w["sid"] == created["sid"]), None)

    done = wait_for(
        lambda: (t := followed()) and t["status"] == "completed" and t, what="completion"
    )
    assert done["history"][:3] == ["created", "reserved", "assigned"]
    task = live_desk.desk.client.tasks.fetch(created["sid"])  # type: ignore[union-attr]
    assert task.assignment_status == "completed"
    assert task.task_queue_friendly_name == "Spanish"


def test_a_supervisor_moves_an_agent_and_the_simulation_leaves_them_be(
    live_desk: SupportDesk, operator: requests.Session
) -> None:
    desk = live_desk.desk
    assert desk.provisioned is not None and desk.client is not None
    sid = desk.provisioned.workers["Bruno"]
    url = f"{live_desk.local_url}/api/workers/{sid}/activity"

    response = operator.post(url, json={"activity": "Offline"}, timeout=10)

    assert response.json() == {"worker": sid, "activity": "Offline"}
    assert desk.client.workers.fetch(sid).activity_name == "Offline"
    wait_for(
        lambda: any(
            w["sid"] == sid and w["activity"] == "Offline" for w in desk.state.snapshot()["workers"]
        ),
        what="the dashboard to show Bruno Offline",
    )
    response = operator.post(url, json={"activity": "Available"}, timeout=10)
    assert response.status_code == 200
    assert desk.client.workers.fetch(sid).activity_name == "Available"


def test_traffic_is_paused_and_resumed(live_desk: SupportDesk, operator: requests.Session) -> None:
    url = live_desk.local_url + "/api/traffic"
    assert operator.post(url, json={"paused": False}, timeout=10).json() == {
        "paused": False,
        "rate": DEFAULT_RATE,
    }
    assert operator.post(url, json={"paused": True}, timeout=10).json()["paused"] is True
    assert live_desk.desk.simulator is not None and live_desk.desk.simulator.paused
