"""The endpoints over real HTTP: a threaded WSGI server on 127.0.0.1 and a real client."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask import Flask
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import make_server

from taskrouter_flask import Assignment, Event, TaskRouter, accept
from taskrouter_flask.testing import assignment_payload, event_payload, signed_form

from .conftest import TOKEN


@pytest.fixture
def served() -> Iterator[tuple[str, TaskRouter, list[Any]]]:
    """The extension in a Flask app mounted at /desk inside another WSGI app, served on loopback."""
    app = Flask("served")
    app.config["TASKROUTER_AUTH_TOKEN"] = TOKEN
    tr = TaskRouter(app)
    received: list[Any] = []

    @tr.assignment(when=lambda a: a.task.attributes.get("type") == "ticket")
    def ticket(assignment: Assignment) -> Any:
        received.append(assignment)
        return accept()

    @tr.event("task.*")
    def on_task(event: Event) -> None:
        received.append(event)

    root = DispatcherMiddleware(Flask("root"), {"/desk": app})
    server = make_server("127.0.0.1", 0, root, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/desk", tr, received
    finally:
        server.shutdown()
        thread.join(timeout=5)


def test_signed_callbacks_over_http(served: tuple[str, TaskRouter, list[Any]]) -> None:
    base, _, received = served
    with requests.Session() as session:
        url = f"{base}/taskrouter/assignment"
        body, headers = signed_form(
            url, assignment_payload(task_attributes={"type": "ticket"}), TOKEN
        )
        response = session.post(url, data=body, headers=headers, timeout=5)
        assert response.status_code == 200
        assert response.headers["Content-Type"] == "application/json"
        assert response.json() == {"instruction": "accept"}

        url = f"{base}/taskrouter/events"
        body, headers = signed_form(url, event_payload("task.completed"), TOKEN)
        assert session.post(url, data=body, headers=headers, timeout=5).status_code == 204

        body, headers = signed_form(url, event_payload("task.created"), "not-the-token")
        response = session.post(url, data=body, headers=headers, timeout=5)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "invalid_signature"
    assert [type(item).__name__ for item in received] == ["Assignment", "Event"]


def test_server_survives_garbage_and_a_truncated_body(
    served: tuple[str, TaskRouter, list[Any]],
) -> None:
    base, _, received = served
    host, port = base.split("//")[1].split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(
            b"POST /desk/taskrouter/assignment HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 500\r\n"
            b"X-Twilio-Signature: abc\r\n\r\nAccountSid=AC"
        )
        sock.shutdown(socket.SHUT_WR)
        reply = sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 4")
    with requests.Session() as session:
        response = session.post(
            f"{base}/taskrouter/assignment",
            data=b"\xff\xfe\x00garbage",
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": "x",
            },
            timeout=5,
        )
        # Undecodable form data cannot be signature-checked: refused before anything else.
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_payload"
        url = f"{base}/taskrouter/assignment"
        body, headers = signed_form(
            url, assignment_payload(task_attributes={"type": "ticket"}), TOKEN
        )
        assert session.post(url, data=body, headers=headers, timeout=5).status_code == 200
    assert len(received) == 1


def test_a_forged_host_header_is_a_json_400(served: tuple[str, TaskRouter, list[Any]]) -> None:
    """``Host: h/x?y=`` would otherwise become part of the URL whose signature is checked."""
    base, _, received = served
    url = f"{base}/taskrouter/events"
    body, headers = signed_form(url, event_payload("task.created"), TOKEN)
    for host in ("h/x?y=", "127.0.0.1/desk/taskrouter/events?", "a b"):
        response = requests.post(url, data=body, headers={**headers, "Host": host}, timeout=5)
        assert response.status_code == 400, host
        assert response.headers["Content-Type"] == "application/json"
        assert response.json()["error"] == {
            "code": "bad_host",
            "field": "Host",
            "message": f"the Host header is not a host[:port]: {host!r}",
        }
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 204
    assert len(received) == 1
