"""The extension through Flask: set-up, endpoints, signatures, mounting, errors."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Blueprint, Flask, request, url_for
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.test import Client

from taskrouter_flask import Assignment, Event, TaskRouter, accept, reject
from taskrouter_flask.testing import (
    TaskRouterTestClient,
    assignment_payload,
    event_payload,
    make_sid,
    signed_form,
)

from .conftest import SECONDARY_TOKEN, TOKEN

FORM = "application/x-www-form-urlencoded"


def twilio_signature(url: str, params: dict[str, str], token: str) -> str:
    """Twilio's documented algorithm, written independently of the package."""
    message = url + "".join(name + params[name] for name in sorted(params))
    digest = hmac.new(token.encode(), message.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def post(client: Any, path: str, params: dict[str, str], signature: str | None, **kw: Any) -> Any:
    headers = {} if signature is None else {"X-Twilio-Signature": signature}
    headers.update(kw.pop("headers", {}))
    return client.post(path, data=urlencode(params), content_type=FORM, headers=headers, **kw)


def make_app(**config: Any) -> tuple[Flask, TaskRouter]:
    app = Flask("tests")
    app.config.update({"TASKROUTER_AUTH_TOKEN": TOKEN, **config})
    tr = TaskRouter(app)
    tr.assignment()(lambda a: accept())
    return app, tr


# -- set-up -----------------------------------------------------------------------------


def test_init_app_stores_state_and_sets_defaults(app: Flask) -> None:
    assert "taskrouter" in app.extensions
    assert app.config["TASKROUTER_URL_PREFIX"] == "/taskrouter"
    assert app.config["TASKROUTER_MAX_BODY"] == 64 * 1024
    assert app.config["TASKROUTER_VALIDATE_SIGNATURES"] is True
    assert app.config["TASKROUTER_BASE_URL"] == "https://taskrouter.twilio.com"


def test_init_app_refuses_a_second_registration(app: Flask) -> None:
    with pytest.raises(RuntimeError, match="already has a TaskRouter"):
        TaskRouter().init_app(app)


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"TASKROUTER_AUTH_TOKEN": None}, "TASKROUTER_AUTH_TOKEN"),
        ({"TASKROUTER_URL_PREFIX": "taskrouter"}, "TASKROUTER_URL_PREFIX"),
        ({"TASKROUTER_PROXY_FIX": -1}, "TASKROUTER_PROXY_FIX"),
        ({"TASKROUTER_PUBLIC_BASE_URL": "example.com"}, "TASKROUTER_PUBLIC_BASE_URL"),
        ({"TASKROUTER_MAX_BODY": 0}, "TASKROUTER_MAX_BODY"),
        ({"TASKROUTER_UNMATCHED_ASSIGNMENT": "ignore"}, "TASKROUTER_UNMATCHED_ASSIGNMENT"),
    ],
)
def test_unusable_config_names_the_key(config: dict[str, Any], key: str) -> None:
    app = Flask("tests")
    app.config.update({"TASKROUTER_AUTH_TOKEN": TOKEN, **config})
    with pytest.raises(ValueError, match=key):
        TaskRouter(app)


def test_turning_validation_off_warns_and_accepts_unsigned(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING):
        app, _ = make_app(TASKROUTER_VALIDATE_SIGNATURES=False, TASKROUTER_AUTH_TOKEN=None)
    assert "TASKROUTER_VALIDATE_SIGNATURES is off" in caplog.text
    response = post(app.test_client(), "/taskrouter/assignment", assignment_payload(), None)
    assert response.status_code == 200


def test_one_extension_serves_several_apps_with_handlers_added_later() -> None:
    tr = TaskRouter()
    first, second = Flask("first"), Flask("second")
    first.config["TASKROUTER_AUTH_TOKEN"] = "token-one"
    second.config["TASKROUTER_AUTH_TOKEN"] = "token-two"
    tr.init_app(first)
    tr.init_app(second)
    seen: list[str] = []

    @tr.assignment()
    def handle(assignment: Assignment) -> Any:
        seen.append(assignment.reservation_sid)
        return accept()

    for app in (first, second):
        response = TaskRouterTestClient(app).post_assignment()
        assert response.json == {"instruction": "accept"}
    # A request signed with one app's token is refused by the other.
    params = assignment_payload()
    url = "http://localhost/taskrouter/assignment"
    response = post(
        second.test_client(),
        "/taskrouter/assignment",
        params,
        twilio_signature(url, params, "token-one"),
    )
    assert response.status_code == 403
    assert len(seen) == 2


def test_decorators_return_the_function_and_work_imperatively(taskrouter: TaskRouter) -> None:
    def on_task(event: Event) -> None:
        pass

    def on_error(exc: Exception, payload: Any) -> None:
        pass

    assert taskrouter.event("task.created")(on_task) is on_task
    assert taskrouter.assignment(queue=make_sid("WQ"))(on_task) is on_task
    assert taskrouter.errorhandler()(on_error) is on_error


# -- assignment endpoint -------------------------------------------------------------------


def test_independently_signed_request_is_answered(app: Flask, taskrouter: TaskRouter) -> None:
    gold = make_sid("WQ")
    received: list[Assignment] = []

    @taskrouter.assignment(queue=gold, when=lambda a: a.task.attributes["type"] == "ticket")
    def gold_ticket(assignment: Assignment) -> Any:
        received.append(assignment)
        if "billing" in assignment.worker.attributes.get("skills", []):
            return accept()
        return reject(activity_sid=make_sid("WA"))

    params = assignment_payload(
        task_queue_sid=gold,
        task_attributes={"type": "ticket"},
        worker_attributes={"skills": ["billing"]},
        task_age=30,
    )
    url = "http://localhost/taskrouter/assignment"
    response = post(
        app.test_client(), "/taskrouter/assignment", params, twilio_signature(url, params, TOKEN)
    )
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.json == {"instruction": "accept"}
    assert received[0].task.age == 30
    assert received[0].raw["TaskQueueSid"] == gold


def test_none_is_an_empty_200(client: TaskRouterTestClient, taskrouter: TaskRouter) -> None:
    taskrouter.assignment()(lambda a: None)
    response = client.post_assignment()
    assert response.status_code == 200
    assert response.data == b""


@pytest.mark.parametrize(
    ("policy", "status", "body"),
    [("pending", 200, b""), ("accept", 200, b'{"instruction":"accept"}'), ("error", 500, None)],
)
def test_unmatched_policy_from_config(policy: str, status: int, body: bytes | None) -> None:
    app = Flask("tests")
    app.config.update(TASKROUTER_AUTH_TOKEN=TOKEN, TASKROUTER_UNMATCHED_ASSIGNMENT=policy)
    TaskRouter(app)
    response = TaskRouterTestClient(app).post_assignment()
    assert response.status_code == status
    if body is not None:
        assert response.data == body


def test_a_raising_handler_is_a_500_json_and_logged(
    client: TaskRouterTestClient, taskrouter: TaskRouter, caplog: pytest.LogCaptureFixture
) -> None:
    @taskrouter.assignment()
    def broken(assignment: Assignment) -> Any:
        raise LookupError("no such skill")

    response = client.post_assignment()
    assert response.status_code == 500
    assert response.json == {
        "error": {
            "code": "handler_error",
            "message": "a handler raised an error; the application log has the details",
        }
    }
    assert "LookupError: no such skill" in caplog.text
    assert "no such skill" not in response.get_data(as_text=True)


def test_errorhandler_chooses_the_answer_per_endpoint(
    client: TaskRouterTestClient, taskrouter: TaskRouter
) -> None:
    taskrouter.assignment()(lambda a: 1 / 0)
    taskrouter.event("*")(lambda e: 1 / 0)

    @taskrouter.errorhandler("assignment")
    def on_error(exc: Exception, assignment: Assignment) -> Any:
        return reject()

    assert client.post_assignment().json == {"instruction": "reject"}
    assert client.post_event("task.created").status_code == 500
    taskrouter.errorhandler("events")(lambda exc, event: None)
    assert client.post_event("task.created").status_code == 204


# -- events endpoint ------------------------------------------------------------------------


def test_events_are_parsed_and_dispatched(
    client: TaskRouterTestClient, taskrouter: TaskRouter
) -> None:
    seen: list[Event] = []
    taskrouter.event("reservation.*", "task.canceled")(seen.append)
    assert (
        client.post_event("reservation.accepted", task_attributes={"type": "chat"}).status_code
        == 204
    )
    assert client.post_event("task.canceled").status_code == 204
    assert client.post_event("worker.created").status_code == 204
    assert [e.type for e in seen] == ["reservation.accepted", "task.canceled"]
    assert seen[0].task is not None and seen[0].task.attributes == {"type": "chat"}
    assert seen[1].task is not None and seen[1].task.canceled_reason == "Task TTL Exceeded"


# -- refusals -------------------------------------------------------------------------------


def _tamperings() -> list[tuple[str, Any]]:
    def change(p: dict[str, str], url: str) -> tuple[dict[str, str], str]:
        return {**p, "TaskAge": "999"}, url

    def add(p: dict[str, str], url: str) -> tuple[dict[str, str], str]:
        return {**p, "Extra": "1"}, url

    def remove(p: dict[str, str], url: str) -> tuple[dict[str, str], str]:
        return {k: v for k, v in p.items() if k != "Timestamp"}, url

    def query(p: dict[str, str], url: str) -> tuple[dict[str, str], str]:
        return p, url + "?x=1"

    return [
        ("param changed", change),
        ("param added", add),
        ("param removed", remove),
        ("url changed", query),
    ]


@pytest.mark.parametrize(("label", "tamper"), _tamperings())
def test_each_single_tampering_is_403(
    app: Flask, taskrouter: TaskRouter, label: str, tamper: Any
) -> None:
    called: list[Assignment] = []
    taskrouter.assignment()(called.append)
    params = assignment_payload()
    signature = twilio_signature("http://localhost/taskrouter/assignment", params, TOKEN)
    tampered, url = tamper(params, "/taskrouter/assignment")
    response = post(app.test_client(), url, tampered, signature)
    assert response.status_code == 403, label
    assert response.json["error"]["code"] == "invalid_signature"
    assert called == []


@pytest.mark.parametrize(
    "signature",
    [
        None,
        "",
        "not base64!",
        twilio_signature("http://localhost/taskrouter/assignment", {}, "wrong"),
    ],
)
def test_missing_or_wrong_signature_is_403(app: Flask, signature: str | None) -> None:
    response = post(app.test_client(), "/taskrouter/assignment", assignment_payload(), signature)
    assert response.status_code == 403
    assert response.mimetype == "application/json"


def test_wrong_token_is_403(app: Flask) -> None:
    params = assignment_payload()
    signature = twilio_signature("http://localhost/taskrouter/assignment", params, "another-token")
    assert post(app.test_client(), "/taskrouter/assignment", params, signature).status_code == 403


def test_token_rotation_accepts_either_token() -> None:
    app, _ = make_app(TASKROUTER_SECONDARY_AUTH_TOKEN=SECONDARY_TOKEN)
    url = "http://localhost/taskrouter/assignment"
    for token in (TOKEN, SECONDARY_TOKEN):
        params = assignment_payload()
        response = post(
            app.test_client(),
            "/taskrouter/assignment",
            params,
            twilio_signature(url, params, token),
        )
        assert response.status_code == 200


def test_signature_failure_logs_the_variant_that_would_match(
    app: Flask, caplog: pytest.LogCaptureFixture
) -> None:
    params = assignment_payload()
    signature = twilio_signature("https://localhost/taskrouter/assignment", params, TOKEN)
    with caplog.at_level(logging.WARNING):
        response = post(app.test_client(), "/taskrouter/assignment", params, signature)
    assert response.status_code == 403
    assert (
        "would have matched https://localhost/taskrouter/assignment (the scheme https)"
        in caplog.text
    )
    assert TOKEN not in caplog.text
    assert "https" not in response.get_data(as_text=True)


def test_malformed_payload_is_400_naming_the_field(client: TaskRouterTestClient) -> None:
    response = client.post_assignment(TaskAttributes="{oops")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_payload"
    assert response.json["error"]["field"] == "TaskAttributes"
    response = client.post_event(event_payload("task.created", TaskAge="old"))
    assert response.status_code == 400
    assert response.json["error"]["field"] == "TaskAge"


def test_incomplete_payload_is_400(client: TaskRouterTestClient) -> None:
    params = assignment_payload()
    del params["ReservationSid"]
    response = client.post_assignment(params)
    assert response.status_code == 400
    assert response.json["error"]["field"] == "ReservationSid"


def test_oversized_body_is_413() -> None:
    small = Flask("tests")
    small.config.update(TASKROUTER_AUTH_TOKEN=TOKEN, TASKROUTER_MAX_BODY=1024)
    TaskRouter(small)
    client = TaskRouterTestClient(small)
    response = client.post_assignment(Padding="x" * 2000)
    assert response.status_code == 413
    assert response.json["error"]["code"] == "payload_too_large"
    # Without a Content-Length the limit still holds.
    body, headers = signed_form("http://localhost/taskrouter/assignment", {"A": "x" * 5000}, TOKEN)
    response = small.test_client().post(
        "/taskrouter/assignment",
        input_stream=io.BytesIO(body),
        headers={**headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"])
def test_wrong_method_is_405_json(app: Flask, method: str) -> None:
    response = app.test_client().open("/taskrouter/events", method=method)
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    if method != "HEAD":
        assert response.json["error"]["code"] == "method_not_allowed"


def test_wrong_content_type_is_415(app: Flask) -> None:
    response = app.test_client().post(
        "/taskrouter/assignment", data="hi", content_type="text/plain"
    )
    assert response.status_code == 415
    assert response.json["error"]["code"] == "unsupported_media_type"


def test_errors_stay_json_in_an_app_with_html_error_pages() -> None:
    app, tr = make_app()
    tr.event("*")(lambda e: 1 / 0)
    for code in (400, 403, 405, 413, 415, 500):
        app.register_error_handler(
            code, lambda exc: ("<html>oops</html>", getattr(exc, "code", 500))
        )
    client = app.test_client()
    assert client.get("/taskrouter/assignment").mimetype == "application/json"
    assert (
        post(client, "/taskrouter/assignment", assignment_payload(), "bad").mimetype
        == "application/json"
    )
    response = TaskRouterTestClient(app).post_event("task.created")
    assert response.status_code == 500
    assert response.mimetype == "application/json"


# -- JSON bodies ----------------------------------------------------------------------------


def test_json_body_with_body_sha256_is_accepted(
    client: TaskRouterTestClient, taskrouter: TaskRouter
) -> None:
    seen: list[Assignment] = []
    taskrouter.assignment()(lambda a: seen.append(a) or accept())
    payload: dict[str, Any] = dict(assignment_payload(task_attributes={"type": "ticket"}))
    payload["TaskAge"] = 5
    response = client.post_json("/taskrouter/assignment", payload)
    assert response.status_code == 200
    assert seen[0].task.age == 5
    assert seen[0].task.attributes == {"type": "ticket"}


def test_json_body_without_body_sha256_or_tampered_is_403(app: Flask) -> None:
    body = json.dumps(assignment_payload()).encode()
    url = "http://localhost/taskrouter/assignment"
    signature = twilio_signature(url, {}, TOKEN)
    client = app.test_client()
    response = client.post(
        "/taskrouter/assignment",
        data=body,
        content_type="application/json",
        headers={"X-Twilio-Signature": signature},
    )
    assert response.status_code == 403
    digest = hashlib.sha256(body).hexdigest()
    signed_url = f"{url}?bodySHA256={digest}"
    response = client.post(
        f"/taskrouter/assignment?bodySHA256={digest}",
        data=body.replace(b"TaskAge", b"TaskAgf"),
        content_type="application/json",
        headers={"X-Twilio-Signature": twilio_signature(signed_url, {}, TOKEN)},
    )
    assert response.status_code == 403


def test_invalid_json_body_is_400(app: Flask) -> None:
    body = b"[" * 5000
    digest = hashlib.sha256(body).hexdigest()
    url = f"http://localhost/taskrouter/events?bodySHA256={digest}"
    response = app.test_client().post(
        f"/taskrouter/events?bodySHA256={digest}",
        data=body,
        content_type="application/json",
        headers={"X-Twilio-Signature": twilio_signature(url, {}, TOKEN)},
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "invalid_payload"


# -- mounting ---------------------------------------------------------------------------------


def test_custom_prefix_beside_the_apps_own_blueprints() -> None:
    app = Flask("tests")
    app.config["TASKROUTER_AUTH_TOKEN"] = TOKEN
    own = Blueprint("own", __name__)
    own.add_url_rule("/health", "health", lambda: "ok")
    app.register_blueprint(own)
    tr = TaskRouter(app, url_prefix="/hooks/twilio")
    tr.assignment()(lambda a: accept())
    assert app.test_client().get("/health").data == b"ok"
    params = assignment_payload()
    url = "http://localhost/hooks/twilio/assignment"
    response = post(
        app.test_client(), "/hooks/twilio/assignment", params, twilio_signature(url, params, TOKEN)
    )
    assert response.json == {"instruction": "accept"}
    with app.test_request_context():
        assert tr.assignment_url() == url
        assert tr.events_url() == "http://localhost/hooks/twilio/events"


def test_behind_werkzeug_proxy_fix() -> None:
    app, _ = make_app()
    app.wsgi_app = ProxyFix(app.wsgi_app, x_proto=1, x_host=1)  # type: ignore[method-assign]
    params = assignment_payload()
    public = "https://support.example.com/taskrouter/assignment"
    response = post(
        app.test_client(),
        "/taskrouter/assignment",
        params,
        twilio_signature(public, params, TOKEN),
        headers={"X-Forwarded-Proto": "https", "X-Forwarded-Host": "support.example.com"},
    )
    assert response.status_code == 200


def test_trusted_proxy_setting_reads_forwarded_headers() -> None:
    app, _ = make_app(TASKROUTER_PROXY_FIX=1)
    params = assignment_payload()
    public = "https://support.example.com:8443/base/taskrouter/assignment"
    forwarded = {
        "X-Forwarded-Proto": "http, https",
        "X-Forwarded-Host": "evil.example, support.example.com",
        "X-Forwarded-Port": "8443",
        "X-Forwarded-Prefix": "/base",
    }
    signature = twilio_signature(public, params, TOKEN)
    client = app.test_client()
    assert (
        post(client, "/taskrouter/assignment", params, signature, headers=forwarded).status_code
        == 200
    )
    # Without the setting the same headers are not trusted.
    untrusting, _ = make_app()
    assert (
        post(
            untrusting.test_client(), "/taskrouter/assignment", params, signature, headers=forwarded
        ).status_code
        == 403
    )


def test_public_base_url_override() -> None:
    app, tr = make_app(TASKROUTER_PUBLIC_BASE_URL="https://abc123.tunnel.example/")
    params = assignment_payload()
    public = "https://abc123.tunnel.example/taskrouter/assignment"
    response = post(
        app.test_client(), "/taskrouter/assignment", params, twilio_signature(public, params, TOKEN)
    )
    assert response.status_code == 200
    assert tr.assignment_url(app) == public
    assert TaskRouterTestClient(app).post_assignment().status_code == 200


def test_inside_dispatcher_middleware_at_a_sub_path() -> None:
    app, tr = make_app()
    outer = Flask("outer")
    mounted = DispatcherMiddleware(outer, {"/support": app})
    params = assignment_payload()
    url = "http://localhost/support/taskrouter/assignment"
    client = Client(mounted)
    response = client.post(
        "/support/taskrouter/assignment",
        data=urlencode(params),
        content_type=FORM,
        headers={"X-Twilio-Signature": twilio_signature(url, params, TOKEN)},
    )
    assert response.status_code == 200
    assert response.json == {"instruction": "accept"}


def test_the_raw_query_string_is_signed_as_received(app: Flask) -> None:
    params = assignment_payload()
    path = "/taskrouter/assignment?tenant=acme%20corp&x=%7E"
    url = "http://localhost" + path
    response = post(app.test_client(), path, params, twilio_signature(url, params, TOKEN))
    assert response.status_code == 200


def test_urls_need_a_request_a_server_name_or_a_public_base_url() -> None:
    app, tr = make_app()
    with pytest.raises(RuntimeError, match="TASKROUTER_PUBLIC_BASE_URL"):
        tr.assignment_url(app)
    app.config["SERVER_NAME"] = "support.example.com"
    assert tr.events_url(app) == "http://support.example.com/taskrouter/events"


# -- queues and workflows by friendly name ----------------------------------------------------


class _Listing:
    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.calls = 0

    def list(self, **filters: Any) -> Any:
        self.calls += 1
        return iter(self.items)


class _NamesClient:
    """Stands in for the app's REST client, scoped to one workspace."""

    def __init__(self, queues: dict[str, str], workflows: dict[str, str] | None = None) -> None:
        from taskrouter_flask.models import TaskQueue, Workflow

        self.task_queues = _Listing([TaskQueue(sid=s, friendly_name=n) for n, s in queues.items()])
        self.workflows = _Listing(
            [Workflow(sid=s, friendly_name=n) for n, s in (workflows or {}).items()]
        )


def _serve_names(app: Flask, fake: _NamesClient) -> list[str]:
    """Make ``app``'s name cache list through ``fake``; returns the workspaces it was asked for."""
    asked: list[str] = []

    def client_for(workspace_sid: str) -> Any:
        asked.append(workspace_sid)
        return fake

    app.extensions["taskrouter"].names.client_for = client_for
    return asked


def test_a_handler_registered_by_queue_name_answers_its_queue(
    app: Flask, taskrouter: TaskRouter, client: TaskRouterTestClient
) -> None:
    gold, other, workspace = make_sid("WQ"), make_sid("WQ"), make_sid("WS")

    @taskrouter.assignment(queue="Gold Tickets")
    def gold_ticket(assignment: Assignment) -> Any:
        return accept()

    taskrouter.assignment()(lambda a: reject())
    fake = _NamesClient({"Gold Tickets": gold, "Other": other})
    asked = _serve_names(app, fake)

    response = client.post_assignment(task_queue_sid=gold, workspace_sid=workspace)
    assert response.json == {"instruction": "accept"}
    response = client.post_assignment(task_queue_sid=other, workspace_sid=workspace)
    assert response.json == {"instruction": "reject"}
    # Names are looked up in the callback's own workspace, once for both callbacks.
    assert asked == [workspace] and fake.task_queues.calls == 1


def test_an_unknown_queue_name_is_passed_over_with_a_warning(
    app: Flask,
    taskrouter: TaskRouter,
    client: TaskRouterTestClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    taskrouter.assignment(queue="Platinum")(lambda a: accept())
    _serve_names(app, _NamesClient({"Gold Tickets": make_sid("WQ")}))
    workspace = make_sid("WS")
    with caplog.at_level(logging.WARNING):
        response = client.post_assignment(workspace_sid=workspace)
        client.post_assignment(workspace_sid=workspace)
    assert response.status_code == 200 and response.data == b""  # the "pending" policy
    unknown = [r.getMessage() for r in caplog.records if "no task queue named" in r.getMessage()]
    assert unknown == [
        f"workspace {workspace} has no task queue named 'Platinum': assignment handler"
        " test_an_unknown_queue_name_is_passed_over_with_a_warning.<locals>.<lambda>"
        " (queue='Platinum') does not match until one exists"
    ]


def test_names_without_credentials_answer_500_saying_why(
    taskrouter: TaskRouter, client: TaskRouterTestClient, caplog: pytest.LogCaptureFixture
) -> None:
    taskrouter.assignment(queue="Gold Tickets")(lambda a: accept())
    with caplog.at_level(logging.ERROR):
        response = client.post_assignment()
    assert response.status_code == 500
    assert "cannot resolve queue names" in caplog.text
    assert "tr.client needs TASKROUTER_ACCOUNT_SID" in caplog.text


def test_check_names_fails_fast_on_an_unknown_name(app: Flask, taskrouter: TaskRouter) -> None:
    from taskrouter_flask import NameResolutionError

    gold, flow, workspace = make_sid("WQ"), make_sid("WW"), make_sid("WS")
    taskrouter.assignment(queue="Gold Tickets", workflow="Support Desk")(lambda a: accept())
    asked = _serve_names(app, _NamesClient({"Gold Tickets": gold}, {"Support Desk": flow}))
    with pytest.raises(NameResolutionError, match="needs a workspace"):
        taskrouter.check_names(app)
    assert taskrouter.check_names(app, workspace_sid=workspace) == {
        "queue": {"Gold Tickets": frozenset({gold})},
        "workflow": {"Support Desk": frozenset({flow})},
    }
    assert asked == [workspace, workspace]
    taskrouter.assignment(queue="Spanish")(lambda a: accept())
    with app.app_context(), pytest.raises(NameResolutionError) as raised:
        taskrouter.check_names(workspace_sid=workspace)
    assert raised.value.names == ("Spanish",)
    assert f"workspace {workspace} has no task queue named 'Spanish'" in str(raised.value)


# -- decorators, bare and called ----------------------------------------------------------


def test_bare_and_called_decorators_register_the_same(app: Flask, taskrouter: TaskRouter) -> None:
    seen: list[str] = []

    @taskrouter.event
    def bare_event(event: Event) -> None:
        seen.append("bare")

    @taskrouter.event()
    def called_event(event: Event) -> None:
        seen.append("called")

    @taskrouter.event("task.created")
    def patterned_event(event: Event) -> None:
        seen.append("patterned")

    @taskrouter.assignment
    def bare_assignment(assignment: Assignment) -> Any:
        raise RuntimeError("boom")

    @taskrouter.errorhandler
    def on_error(exc: Exception, payload: Any) -> Any:
        seen.append(f"error:{exc}")
        return reject()

    assert callable(bare_event) and callable(bare_assignment) and callable(on_error)
    client = TaskRouterTestClient(app)
    assert client.post_event("task.created").status_code == 204
    assert seen == ["bare", "called", "patterned"]
    assert client.post_event("worker.created").status_code == 204
    assert seen[3:] == ["bare", "called"]
    # The bare assignment handler is the fallback; the bare error handler covers it.
    assert client.post_assignment().json == {"instruction": "reject"}
    assert seen[-1] == "error:boom"


def test_called_decorators_register_the_same_as_bare(app: Flask, taskrouter: TaskRouter) -> None:
    @taskrouter.assignment()
    def fallback(assignment: Assignment) -> Any:
        raise RuntimeError("boom")

    @taskrouter.errorhandler()
    def on_error(exc: Exception, payload: Any) -> Any:
        return accept()

    assert TaskRouterTestClient(app).post_assignment().json == {"instruction": "accept"}


def test_imperative_bare_registration(app: Flask, taskrouter: TaskRouter) -> None:
    def handle(assignment: Assignment) -> Any:
        return accept()

    assert taskrouter.assignment(handle) is handle
    assert TaskRouterTestClient(app).post_assignment().json == {"instruction": "accept"}


@pytest.mark.parametrize(
    ("register", "error", "message"),
    [
        (lambda tr: tr.assignment(make_sid("WQ")), TypeError, r"@tr\.assignment: expected to"),
        (lambda tr: tr.assignment()(42), TypeError, r"@tr\.assignment: expected a function"),
        (lambda tr: tr.assignment(lambda: None), TypeError, r"@tr\.assignment: the handler"),
        (lambda tr: tr.event(42), TypeError, r"@tr\.event: expected event types"),
        (lambda tr: tr.event("task.created", print), TypeError, r"@tr\.event: expected event"),
        (lambda tr: tr.event()("not a function"), TypeError, r"@tr\.event: expected a function"),
        (lambda tr: tr.event(lambda a, b: None), TypeError, r"@tr\.event: the handler"),
        (lambda tr: tr.event("task created"), None, None),
        (lambda tr: tr.errorhandler("event"), ValueError, r"@tr\.errorhandler: expected 'ass"),
        (lambda tr: tr.errorhandler(1), TypeError, r"@tr\.errorhandler: expected 'assignment"),
        (lambda tr: tr.errorhandler()(None), TypeError, r"@tr\.errorhandler: expected a func"),
        (lambda tr: tr.errorhandler(lambda exc: None), TypeError, "taking 2 arguments"),
    ],
)
def test_decorator_misuse_fails_at_registration(
    taskrouter: TaskRouter, register: Any, error: type[Exception] | None, message: str | None
) -> None:
    if error is None:  # a pattern of the wrong shape is refused once the handler is given
        with pytest.raises(ValueError, match="event pattern"):
            register(taskrouter)(lambda event: None)
        return
    with pytest.raises(error, match=message):
        register(taskrouter)
    assert not taskrouter.dispatcher.assignment_routes
    assert not taskrouter.dispatcher.event_routes
    assert not taskrouter.dispatcher.error_handlers


def test_handlers_with_defaults_or_varargs_are_accepted(taskrouter: TaskRouter) -> None:
    taskrouter.event(lambda *args: None)
    taskrouter.assignment(lambda assignment, extra=None: None)
    taskrouter.errorhandler(lambda exc, payload, *rest: None)
    taskrouter.event(print)  # a builtin: registered whether or not its signature is readable
    assert len(taskrouter.dispatcher.event_routes) == 2


# -- settings are read once ---------------------------------------------------------------


def test_urls_outside_a_request_from_the_public_base_url() -> None:
    app, tr = make_app(TASKROUTER_PUBLIC_BASE_URL="https://desk.example.com/support/")
    assert tr.assignment_url(app) == "https://desk.example.com/support/taskrouter/assignment"
    assert tr.events_url(app) == "https://desk.example.com/support/taskrouter/events"
    with app.app_context():
        assert tr.events_url() == "https://desk.example.com/support/taskrouter/events"


def test_urls_without_an_app_or_context_say_to_pass_the_app() -> None:
    _, tr = make_app(TASKROUTER_PUBLIC_BASE_URL="https://desk.example.com")
    with pytest.raises(RuntimeError, match=r"pass the application, tr\.events_url\(app\)"):
        tr.events_url()


def test_url_error_names_both_settings_and_says_before_init_app() -> None:
    app, tr = make_app()
    with pytest.raises(RuntimeError) as caught:
        tr.assignment_url(app)
    message = str(caught.value)
    assert "TASKROUTER_PUBLIC_BASE_URL" in message and "SERVER_NAME" in message
    assert "before TaskRouter(app) / init_app(app)" in message


def test_public_base_url_set_after_init_app_is_an_error_not_ignored() -> None:
    app, tr = make_app()
    app.config["TASKROUTER_PUBLIC_BASE_URL"] = "https://late.example.com"
    with pytest.raises(RuntimeError, match="TASKROUTER_PUBLIC_BASE_URL changed after init_app"):
        tr.assignment_url(app)
    # The signature check keeps using the URL init_app read (none): the app's own URL.
    assert TaskRouterTestClient(app).post_assignment().status_code == 200


def test_settings_are_read_once_at_init_app() -> None:
    app, tr = make_app(TASKROUTER_MAX_BODY=2048)
    app.config["TASKROUTER_MAX_BODY"] = 10
    app.config["TASKROUTER_AUTH_TOKEN"] = "changed-later"
    settings = app.extensions["taskrouter"].settings
    assert settings.max_body == 2048 and settings.auth_tokens == (TOKEN,)
    params = assignment_payload()
    url = "http://localhost/taskrouter/assignment"
    response = post(
        app.test_client(), "/taskrouter/assignment", params, twilio_signature(url, params, TOKEN)
    )
    assert response.status_code == 200


def test_settings_repr_hides_secrets() -> None:
    app, _ = make_app(TASKROUTER_ACCOUNT_SID=make_sid("AC"), TASKROUTER_API_KEY_SECRET="s3cr3t")
    text = repr(app.extensions["taskrouter"].settings)
    assert TOKEN not in text and "s3cr3t" not in text


@pytest.mark.parametrize(
    ("config", "key"),
    [
        ({"TASKROUTER_BASE_URL": "taskrouter.example.com"}, "TASKROUTER_BASE_URL"),
        ({"TASKROUTER_ACCOUNT_SID": 42}, "TASKROUTER_ACCOUNT_SID"),
        ({"TASKROUTER_WORKSPACE_SID": ["WS"]}, "TASKROUTER_WORKSPACE_SID"),
    ],
)
def test_unusable_client_settings_fail_at_init_app(config: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=key):
        make_app(**config)


# -- the blueprint ------------------------------------------------------------------------


def test_the_endpoints_belong_to_a_blueprint_with_its_hooks() -> None:
    tr = TaskRouter()
    hooked: list[str | None] = []

    @tr.blueprint.before_request
    def before() -> None:
        hooked.append(request.blueprint)

    app = Flask("blueprint")
    app.config.update(TASKROUTER_AUTH_TOKEN=TOKEN)

    @app.get("/health")
    def health() -> str:
        return "ok"

    tr.init_app(app)
    assert app.blueprints["taskrouter"] is tr.blueprint
    with app.test_request_context():
        assert url_for("taskrouter.assignment") == "/taskrouter/assignment"
        assert url_for("taskrouter.events", _external=True) == "http://localhost/taskrouter/events"
    TaskRouterTestClient(app).post_event("task.created")
    app.test_client().get("/health")
    assert hooked == ["taskrouter"]  # the hook ran for the callback only


def test_one_blueprint_serves_several_apps_at_their_own_prefixes() -> None:
    tr = TaskRouter()
    apps = []
    for prefix in ("/one", "/two"):
        app = Flask(prefix.strip("/"))
        app.config.update(TASKROUTER_AUTH_TOKEN=TOKEN, TASKROUTER_URL_PREFIX=prefix)
        tr.init_app(app)
        apps.append(app)
    tr.event("*")(lambda event: None)
    for app, prefix in zip(apps, ("/one", "/two"), strict=True):
        with app.test_request_context():
            assert url_for("taskrouter.events") == f"{prefix}/events"
        assert TaskRouterTestClient(app).post_event("task.created").status_code == 204


# -- hosts ----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["h/x?y=", "example.com:80x", "a b", "ex@mple.com", "[::1"])
def test_a_host_that_is_not_host_and_port_is_a_400_before_signature_work(
    app: Flask, host: str, caplog: pytest.LogCaptureFixture
) -> None:
    body, headers = signed_form(
        "http://localhost/taskrouter/events", event_payload("task.created"), TOKEN
    )
    response = app.test_client().post(
        "/taskrouter/events", data=body, headers={**headers, "Host": host}
    )
    assert response.status_code == 400
    assert response.json["error"]["code"] == "bad_host"
    assert "X-Twilio-Signature" not in caplog.text  # no signature was checked


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1:5000", "[::1]:8080", "desk.example.com."])
def test_valid_hosts_are_checked_as_usual(app: Flask, host: str) -> None:
    client = TaskRouterTestClient(app, base_url=f"http://{host}")
    assert client.post_event("task.created").status_code == 204


def test_a_bad_forwarded_host_from_a_trusted_proxy_is_a_400() -> None:
    app = Flask("proxied")
    app.config.update(TASKROUTER_AUTH_TOKEN=TOKEN, TASKROUTER_PROXY_FIX=1)
    TaskRouter(app)
    response = TaskRouterTestClient(app).client.post(
        "/taskrouter/events",
        data=b"x=1",
        headers={"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-Host": "a/b"},
    )
    assert (response.status_code, response.json["error"]["code"]) == (400, "bad_host")


def test_trusted_hosts_are_honoured_with_a_json_400() -> None:
    app = Flask("trusted")
    app.config.update(TASKROUTER_AUTH_TOKEN=TOKEN, TRUSTED_HOSTS=["desk.example.com"])
    TaskRouter(app)
    trusted = TaskRouterTestClient(app, base_url="https://desk.example.com")
    assert trusted.post_event("task.created").status_code == 204
    untrusted = TaskRouterTestClient(app, base_url="https://evil.example.net")
    response = untrusted.post_event("task.created")
    assert response.status_code == 400
    assert response.json["error"]["code"] == "untrusted_host"


def test_trusted_hosts_apply_to_a_forwarded_host() -> None:
    app = Flask("trusted")
    app.config.update(
        TASKROUTER_AUTH_TOKEN=TOKEN, TASKROUTER_PROXY_FIX=1, TRUSTED_HOSTS=["desk.example.com"]
    )
    TaskRouter(app)
    response = TaskRouterTestClient(app, base_url="https://desk.example.com").client.post(
        "/taskrouter/events",
        data=b"x=1",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Forwarded-Host": "evil.example.net",
        },
        base_url="https://desk.example.com",
    )
    assert (response.status_code, response.json["error"]["code"]) == (400, "untrusted_host")


def test_trusted_hosts_must_be_a_list() -> None:
    app = Flask("trusted")
    app.config.update(TASKROUTER_AUTH_TOKEN=TOKEN, TRUSTED_HOSTS="desk.example.com")
    with pytest.raises(ValueError, match="TRUSTED_HOSTS: expected a list"):
        TaskRouter(app)
