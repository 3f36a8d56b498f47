"""``flask taskrouter trigger`` and ``flask taskrouter sign``: signed callbacks for debugging."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from flask import Flask
from werkzeug.serving import make_server

from taskrouter_flask import Assignment, Event, TaskRouter, accept, compute_signature

TOKEN = "cli-test-token-0123456789abcdef"


@dataclass
class Received:
    events: list[Event] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)


@dataclass
class Live:
    app: Flask
    url: str
    received: Received


@pytest.fixture
def live() -> Iterator[Live]:
    """An app with a TaskRouter, served on a free port of 127.0.0.1."""
    app = Flask("cli-test")
    app.config.update(TESTING=True, TASKROUTER_AUTH_TOKEN=TOKEN)
    tr = TaskRouter(app)
    received = Received()

    @tr.event()
    def on_event(event: Event) -> None:
        received.events.append(event)

    @tr.assignment()
    def on_assignment(assignment: Assignment) -> object:
        received.assignments.append(assignment)
        return accept()

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield Live(app, f"http://127.0.0.1:{server.server_port}", received)
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()


def _invoke(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["taskrouter", *args])
    return result.exit_code, result.output


def test_trigger_sends_a_signed_event_the_app_accepts(live: Live) -> None:
    url = live.url + "/taskrouter/events"
    code, output = _invoke(
        live.app,
        "trigger",
        "reservation.accepted",
        "--url",
        url,
        "--task-attributes",
        '{"type": "ticket", "customer_value": "Gold"}',
    )
    assert code == 0, output
    assert output.strip() == f"POST {url} (reservation.accepted) -> 204"
    (event,) = live.received.events
    assert event.type == "reservation.accepted"
    assert event.task is not None and event.task.attributes["customer_value"] == "Gold"
    assert event.worker is not None and event.reservation_sid is not None


def test_trigger_assignment_prints_the_instruction(live: Live) -> None:
    url = live.url + "/taskrouter/assignment"
    code, output = _invoke(
        live.app,
        "trigger",
        "assignment",
        "--url",
        url,
        "--worker-attributes",
        '{"skills": ["premium"], "handled_today": 3}',
        "-p",
        "TaskAge=42",
    )
    assert code == 0, output
    assert output.strip() == f'POST {url} (assignment) -> 200 {{"instruction":"accept"}}'
    (assignment,) = live.received.assignments
    assert assignment.worker.attributes["skills"] == ["premium"]
    assert assignment.task.age == 42


def test_trigger_many_shows_a_progress_bar_and_a_tally(live: Live) -> None:
    url = live.url + "/taskrouter/events"
    code, output = _invoke(live.app, "trigger", "task.created", "--url", url, "--count", "25")
    assert code == 0, output
    assert "Sending 25 task.created callbacks" in output
    assert output.strip().endswith(f"POST {url} (task.created): 204 x25")
    assert len({event.sid for event in live.received.events}) == 25  # fresh SIDs each time


def test_trigger_with_the_wrong_token_reports_the_403(live: Live) -> None:
    url = live.url + "/taskrouter/events"
    code, output = _invoke(
        live.app, "trigger", "task.created", "--url", url, "--auth-token", "a guess"
    )
    assert code == 1
    assert f"POST {url} (task.created) -> 403" in output
    assert "1 of 1 refused (403: the signature did not match" in output
    assert live.received.events == []


def test_trigger_signs_for_the_url_given(live: Live) -> None:
    # The app sees 127.0.0.1; a URL naming localhost signs something else.
    url = live.url.replace("127.0.0.1", "localhost") + "/taskrouter/events"
    code, output = _invoke(live.app, "trigger", "task.created", "--url", url)
    assert code == 0, output  # the Host header says localhost too, so it matches
    assert len(live.received.events) == 1


def test_trigger_refuses_an_unknown_event_type_with_a_suggestion(live: Live) -> None:
    code, output = _invoke(live.app, "trigger", "reservation.acepted", "--url", live.url)
    assert code == 2
    assert "did you mean reservation.accepted" in output


def test_trigger_refuses_bad_attributes_and_params(live: Live) -> None:
    code, output = _invoke(
        live.app, "trigger", "task.created", "--url", live.url, "--task-attributes", "[1]"
    )
    assert code == 2 and "expected a JSON object" in output
    code, output = _invoke(live.app, "trigger", "task.created", "--url", live.url, "-p", "oops")
    assert code == 2 and "expected NAME=VALUE" in output


def test_trigger_says_when_nothing_listens(live: Live) -> None:
    code, output = _invoke(
        live.app, "trigger", "task.created", "--url", "http://127.0.0.1:9/taskrouter/events"
    )
    assert code == 1 and "could not send to http://127.0.0.1:9/taskrouter/events" in output


def test_trigger_needs_a_token(live: Live) -> None:
    live.app.config["TASKROUTER_AUTH_TOKEN"] = None
    code, output = _invoke(live.app, "trigger", "task.created", "--url", live.url)
    assert code == 2 and "give --auth-token, or set TASKROUTER_AUTH_TOKEN" in output


def test_sign_prints_the_signature(live: Live) -> None:
    url = "https://example.com/taskrouter/events?x=1"
    code, output = _invoke(
        live.app, "sign", "--url", url, "EventType=task.created", "TaskAge=3", "Empty="
    )
    assert code == 0, output
    expected = compute_signature(
        url, {"EventType": "task.created", "TaskAge": "3", "Empty": ""}, TOKEN
    )
    assert output.strip() == expected


def test_sign_with_repeated_fields_and_another_token(live: Live) -> None:
    url = "https://example.com/hook"
    code, output = _invoke(
        live.app, "sign", "--url", url, "--auth-token", "other", "D=2", "D=1", "A=x=y"
    )
    assert code == 0, output
    assert output.strip() == compute_signature(url, {"D": ["2", "1"], "A": "x=y"}, "other")


def test_sign_refuses_a_param_without_a_value(live: Live) -> None:
    code, output = _invoke(live.app, "sign", "--url", "https://example.com", "novalue")
    assert code == 2 and "expected NAME=VALUE" in output
