"""The client over real HTTP: what goes on the wire, errors, retries and pages.

Every test talks to the scripted fake API of ``conftest.py`` over loopback,
through the public client only, and asserts on the requests it recorded.
"""

from __future__ import annotations

import base64
import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from taskrouter_flask import TaskRouterError
from taskrouter_flask.client import (
    ApiError,
    AuthenticationError,
    Conflict,
    InvalidRequest,
    InvalidResponse,
    NotFound,
    Page,
    PreconditionFailed,
    RateLimited,
    ServerError,
    TaskRouterClient,
    TransportError,
)
from taskrouter_flask.client.http import HttpTransport
from taskrouter_flask.models import Activity, Task, Worker

from .conftest import ACCOUNT, TOKEN, WORKSPACE, FakeApi

WORKSPACE_2 = "WS" + "c" * 32
WORKFLOW = "WW" + "d" * 32
TASK = "WT" + "e" * 32
WORKER = "WK" + "f" * 32
ACTIVITY = "WA" + "1" * 32
WORKERS_PATH = f"/v1/Workspaces/{WORKSPACE}/Workers"


# -- realistic resources ------------------------------------------------------------------------


def worker_resource(number: int, *, workspace: str = WORKSPACE) -> dict[str, Any]:
    sid = f"WK{number:032x}"
    return {
        "account_sid": ACCOUNT,
        "activity_name": "Available",
        "activity_sid": ACTIVITY,
        "attributes": json.dumps({"skills": ["billing"], "level": number}),
        "available": True,
        "date_created": "2024-03-01T09:00:00Z",
        "date_status_changed": "2024-03-01T09:30:00Z",
        "date_updated": "2024-03-01T09:30:00Z",
        "friendly_name": f"agent-{number}",
        "sid": sid,
        "workspace_sid": workspace,
        "url": f"https://taskrouter.twilio.com/v1/Workspaces/{workspace}/Workers/{sid}",
        "links": {
            "channels": f"https://taskrouter.twilio.com/v1/Workspaces/{workspace}/Workers/{sid}/Channels",
        },
    }


def task_resource() -> dict[str, Any]:
    return {
        "account_sid": ACCOUNT,
        "age": 0,
        "assignment_status": "pending",
        "attributes": '{"type":"ticket"}',
        "date_created": "2024-03-01T09:00:00Z",
        "date_updated": "2024-03-01T09:00:00Z",
        "priority": 5,
        "reason": None,
        "sid": TASK,
        "timeout": 3600,
        "workflow_sid": WORKFLOW,
        "workspace_sid": WORKSPACE,
        "url": f"https://taskrouter.twilio.com/v1/Workspaces/{WORKSPACE}/Tasks/{TASK}",
    }


def activity_resource() -> dict[str, Any]:
    return {
        "account_sid": ACCOUNT,
        "available": True,
        "date_created": "2024-03-01T09:00:00Z",
        "date_updated": "2024-03-01T09:00:00Z",
        "friendly_name": "Idle",
        "sid": ACTIVITY,
        "workspace_sid": WORKSPACE,
        "url": f"https://taskrouter.twilio.com/v1/Workspaces/{WORKSPACE}/Activities/{ACTIVITY}",
    }


def page_body(
    key: str,
    items: list[dict[str, Any]],
    *,
    page: int,
    next_page_url: str | None,
    path: str = WORKERS_PATH,
    page_size: int = 2,
) -> dict[str, Any]:
    origin = "https://taskrouter.twilio.com"
    return {
        "meta": {
            "first_page_url": f"{origin}{path}?PageSize={page_size}&Page=0",
            "key": key,
            "next_page_url": next_page_url,
            "page": page,
            "page_size": page_size,
            "previous_page_url": (
                f"{origin}{path}?PageSize={page_size}&Page={page - 1}" if page else None
            ),
            "url": f"{origin}{path}?PageSize={page_size}&Page={page}",
        },
        key: items,
    }


def empty_page(key: str, path: str) -> dict[str, Any]:
    return page_body(key, [], page=0, next_page_url=None, path=path, page_size=50)


def script_worker_pages(api: FakeApi) -> None:
    """Three pages of workers (2, 2, 1), each ``next_page_url`` on the fake's own origin."""
    next_1 = f"{api.url}{WORKERS_PATH}?PageSize=2&Page=1&PageToken=PAwk2"
    next_2 = f"{api.url}{WORKERS_PATH}?PageSize=2&Page=2&PageToken=PAwk4"
    api.reply(
        200,
        page_body(
            "workers", [worker_resource(1), worker_resource(2)], page=0, next_page_url=next_1
        ),
    )
    api.reply(
        200,
        page_body(
            "workers", [worker_resource(3), worker_resource(4)], page=1, next_page_url=next_2
        ),
    )
    api.reply(200, page_body("workers", [worker_resource(5)], page=2, next_page_url=None))


def twilio_error(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def strict_client(api: FakeApi) -> Iterator[TaskRouterClient]:
    """A client that never retries: the first answer is the one reported."""
    with TaskRouterClient(
        ACCOUNT, TOKEN, WORKSPACE, base_url=api.url, max_retries=0, backoff_factor=0.01, timeout=2
    ) as client:
        yield client


# -- 1. requests --------------------------------------------------------------------------------


def test_basic_auth_and_user_agent(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(200, worker_resource(1))
    client.workers.fetch(WORKER)

    (request,) = api.requests
    expected = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert request.headers["Authorization"] == f"Basic {expected}"
    assert request.headers["User-Agent"].startswith("taskrouter-flask/")
    assert request.method == "GET"
    assert request.path == f"{WORKERS_PATH}/{WORKER}"


def test_the_token_is_never_logged(
    api: FakeApi, client: TaskRouterClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    api.reply(200, worker_resource(1))
    api.reply(404, twilio_error(404, 20404, "not found"))
    client.workers.fetch(WORKER)
    with pytest.raises(NotFound):
        client.workers.fetch(WORKER)

    assert caplog.records, "the transport logs each request at DEBUG"
    expected = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert TOKEN not in caplog.text
    assert expected not in caplog.text


def test_create_task_form_encoding(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(201, task_resource())
    task = client.tasks.create(
        workflow_sid=WORKFLOW, attributes={"type": "ticket"}, priority=5, timeout=3600
    )

    (request,) = api.requests
    assert request.method == "POST"
    assert request.path == f"/v1/Workspaces/{WORKSPACE}/Tasks"
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.form.to_dict() == {
        "WorkflowSid": WORKFLOW,
        "Attributes": '{"type":"ticket"}',
        "Priority": "5",
        "Timeout": "3600",
    }
    assert not request.query
    assert isinstance(task, Task)
    assert task.sid == TASK
    assert task.attributes == {"type": "ticket"}


@pytest.mark.parametrize(("available", "wire"), [(True, "true"), (False, "false")])
def test_booleans_are_true_and_false(
    api: FakeApi, client: TaskRouterClient, available: bool, wire: str
) -> None:
    api.reply(201, activity_resource())
    activity = client.activities.create(friendly_name="Idle", available=available)

    assert api.requests[0].form.to_dict() == {"FriendlyName": "Idle", "Available": wire}
    assert isinstance(activity, Activity)


def test_datetimes_are_iso8601_utc(api: FakeApi, client: TaskRouterClient) -> None:
    plus_two = timezone(timedelta(hours=2))
    api.reply(200, empty_page("events", f"/v1/Workspaces/{WORKSPACE}/Events"))
    api.reply(201, task_resource())

    events = list(
        client.events.list(
            start_date=datetime(2024, 5, 1, 12, 30, 15),  # naive: taken as UTC
            end_date=datetime(2024, 5, 1, 14, 0, tzinfo=plus_two),  # aware: converted
        )
    )
    client.tasks.create(
        workflow_sid=WORKFLOW, virtual_start_time=datetime(2024, 5, 1, 8, 0, tzinfo=UTC)
    )

    assert events == []
    get, post = api.requests
    assert get.query.to_dict() == {
        "StartDate": "2024-05-01T12:30:15Z",
        "EndDate": "2024-05-01T12:00:00Z",
    }
    assert post.form["VirtualStartTime"] == "2024-05-01T08:00:00Z"


def test_lists_and_dicts_are_compact_json(api: FakeApi, client: TaskRouterClient) -> None:
    configuration = {
        "task_routing": {
            "filters": [{"expression": "type == 'ticket'", "targets": [{"queue": "WQ" + "2" * 32}]}]
        }
    }
    api.reply(201, task_resource())
    api.reply(201, {"sid": WORKFLOW, "friendly_name": "Tickets", "configuration": "{}"})

    client.tasks.create(
        workflow_sid=WORKFLOW, attributes={"type": "ticket", "skills": ["billing", "es"]}
    )
    client.workflows.create(friendly_name="Tickets", configuration=configuration)

    task_form, flow_form = (r.form for r in api.requests)
    assert task_form["Attributes"] == '{"type":"ticket","skills":["billing","es"]}'
    assert json.loads(task_form["Attributes"]) == {"type": "ticket", "skills": ["billing", "es"]}
    assert flow_form["Configuration"] == json.dumps(configuration, separators=(",", ":"))


def test_array_query_parameter_is_repeated(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(200, empty_page("tasks", f"/v1/Workspaces/{WORKSPACE}/Tasks"))

    list(client.tasks.list(assignment_status=["pending", "reserved"]))

    assert api.requests[0].query.getlist("AssignmentStatus") == ["pending", "reserved"]


def test_array_form_field_is_repeated(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(200, {"sid": "WR" + "3" * 32, "reservation_status": "accepted"})

    client.tasks.reservations(TASK).update(
        "WR" + "3" * 32,
        instruction="call",
        call_from="+15558675309",
        call_url="https://example.com/agent",
        status_callback_event=["initiated", "answered"],
    )

    assert api.requests[0].form.getlist("StatusCallbackEvent") == ["initiated", "answered"]


def test_none_values_are_not_sent(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(201, task_resource())
    client.tasks.create(workflow_sid=WORKFLOW, priority=None, task_channel=None, attributes=None)

    assert api.requests[0].form.to_dict() == {"WorkflowSid": WORKFLOW}


def test_if_match_is_a_header(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(200, task_resource())
    client.tasks.update(TASK, assignment_status="canceled", reason="duplicate", if_match="3")

    (request,) = api.requests
    assert request.headers["If-Match"] == "3"
    assert request.form.to_dict() == {"AssignmentStatus": "canceled", "Reason": "duplicate"}
    assert request.path == f"/v1/Workspaces/{WORKSPACE}/Tasks/{TASK}"


def test_no_if_match_header_without_if_match(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(200, task_resource())
    client.tasks.update(TASK, priority=9)

    assert "If-Match" not in api.requests[0].headers


def test_get_filters_are_query_parameters(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(200, empty_page("events", f"/v1/Workspaces/{WORKSPACE}/Events"))
    list(client.events.list(event_type="reservation.accepted", minutes=60))

    (request,) = api.requests
    assert request.method == "GET"
    assert request.path == f"/v1/Workspaces/{WORKSPACE}/Events"
    assert request.query.to_dict() == {"EventType": "reservation.accepted", "Minutes": "60"}
    assert request.body == b""
    assert not request.form


# -- 2. bad arguments ---------------------------------------------------------------------------


def test_unknown_keyword_is_refused_before_any_request(
    api: FakeApi, client: TaskRouterClient
) -> None:
    with pytest.raises(TypeError) as caught:
        client.tasks.create(workflow_sid=WORKFLOW, atributes={"type": "ticket"})

    message = str(caught.value)
    assert "atributes" in message
    assert "accepted:" in message
    for accepted in ("attributes", "priority", "timeout", "workflow_sid", "task_channel"):
        assert accepted in message
    assert api.requests == []


def test_unknown_filter_on_list_is_refused_at_the_call(
    api: FakeApi, client: TaskRouterClient
) -> None:
    with pytest.raises(TypeError, match="colour"):
        client.workers.list(colour="blue")
    assert api.requests == []


def test_if_match_is_refused_where_the_api_has_no_if_match(
    api: FakeApi, client: TaskRouterClient
) -> None:
    with pytest.raises(TypeError, match="if_match"):
        client.activities.update(ACTIVITY, friendly_name="Away", if_match="1")
    assert api.requests == []


def test_missing_required_argument(api: FakeApi, client: TaskRouterClient) -> None:
    with pytest.raises(TypeError, match="friendly_name"):
        client.workers.create()
    with pytest.raises(TypeError, match="friendly_name"):
        client.workers.create(friendly_name=None, attributes={"skills": []})
    assert api.requests == []


@pytest.mark.parametrize("sid", [f"{WORKER}/Statistics", "../../Workspaces", "WK1?x=1", "WK1#x"])
def test_sid_that_is_not_a_sid(api: FakeApi, client: TaskRouterClient, sid: str) -> None:
    with pytest.raises(ValueError, match="must be a SID"):
        client.workers.fetch(sid)
    with pytest.raises(ValueError, match="must be a SID"):
        client.workers.delete(sid)
    assert api.requests == []


def test_workspace_call_without_a_workspace(api: FakeApi) -> None:
    with TaskRouterClient(ACCOUNT, TOKEN, base_url=api.url, backoff_factor=0.01, timeout=2) as bare:
        with pytest.raises(ValueError, match="workspace"):
            bare.workers.create(friendly_name="agent")
        with pytest.raises(ValueError, match="workspace"):
            bare.tasks.fetch(TASK)
        with pytest.raises(ValueError, match="workspace"):
            bare.workspace_statistics()
        with pytest.raises(ValueError, match="workspace"):
            next(bare.workers.list())
    assert api.requests == []


def test_list_without_a_workspace_fails_at_the_call(api: FakeApi) -> None:
    with TaskRouterClient(ACCOUNT, TOKEN, base_url=api.url, backoff_factor=0.01, timeout=2) as bare:
        with pytest.raises(ValueError, match="workspace"):
            bare.workers.list()
    assert api.requests == []


def test_list_with_a_bad_parent_sid_fails_at_the_call(
    api: FakeApi, client: TaskRouterClient
) -> None:
    with pytest.raises(ValueError, match="must be a SID"):
        client.workers.reservations(f"{WORKER}/../x").list()
    assert api.requests == []


def test_for_workspace_uses_the_other_workspace_and_shares_the_transport(
    api: FakeApi, client: TaskRouterClient
) -> None:
    other = client.for_workspace(WORKSPACE_2)
    api.reply(200, worker_resource(7, workspace=WORKSPACE_2))
    api.reply(200, worker_resource(8))

    worker = other.workers.fetch(WORKER)
    client.workers.fetch(WORKER)

    assert other.transport is client.transport
    assert other.workspace_sid == WORKSPACE_2
    assert client.workspace_sid == WORKSPACE
    assert [r.path for r in api.requests] == [
        f"/v1/Workspaces/{WORKSPACE_2}/Workers/{WORKER}",
        f"{WORKERS_PATH}/{WORKER}",
    ]
    assert worker.workspace_sid == WORKSPACE_2


# -- 3. errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (400, 20001, InvalidRequest),
        (401, 20003, AuthenticationError),
        (403, 20403, AuthenticationError),
        (404, 20404, NotFound),
        (409, 20409, Conflict),
        (412, 20412, PreconditionFailed),
        (429, 20429, RateLimited),
        (500, 20500, ServerError),
        (502, 20502, ServerError),
        (503, 20503, ServerError),
    ],
)
def test_error_answers_become_typed_errors(
    api: FakeApi,
    strict_client: TaskRouterClient,
    status: int,
    code: int,
    error: type[ApiError],
) -> None:
    body = twilio_error(status, code, f"The requested resource was refused ({status})")
    api.reply(status, body)

    with pytest.raises(error) as caught:
        strict_client.workers.fetch(WORKER)

    exc = caught.value
    assert type(exc) is error
    assert isinstance(exc, ApiError)
    assert isinstance(exc, TaskRouterError)
    assert exc.status == status
    assert exc.code == code
    assert exc.message == body["message"]
    assert exc.more_info == f"https://www.twilio.com/docs/errors/{code}"
    assert exc.method == "GET"
    assert exc.url == f"{api.url}{WORKERS_PATH}/{WORKER}"
    assert str(code) in str(exc)
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, InvalidRequest), (404, NotFound), (412, PreconditionFailed), (502, ServerError)],
)
def test_error_with_a_non_json_body(
    api: FakeApi, strict_client: TaskRouterClient, status: int, error: type[ApiError]
) -> None:
    api.reply(
        status, b"<html><body>Bad Gateway</body></html>", headers={"Content-Type": "text/html"}
    )

    with pytest.raises(error) as caught:
        strict_client.tasks.update(TASK, priority=1, if_match="2")

    exc = caught.value
    assert exc.status == status
    assert exc.code is None
    assert exc.more_info is None
    assert exc.message == f"the API answered {status}"
    assert exc.method == "POST"


def test_post_error_is_typed_too(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(412, twilio_error(412, 20001, "The If-Match header does not match"))
    with pytest.raises(PreconditionFailed) as caught:
        client.tasks.update(TASK, priority=1, if_match="2")
    assert caught.value.code == 20001
    assert len(api.requests) == 1


def test_success_with_a_non_json_body(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(200, b"<html>OK</html>", headers={"Content-Type": "text/html"})
    with pytest.raises(InvalidResponse) as caught:
        client.workers.fetch(WORKER)
    assert isinstance(caught.value, TaskRouterError)
    assert isinstance(caught.value.__cause__, ValueError)


def test_success_that_is_not_the_resource(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(200, {"friendly_name": "no sid here"})
    with pytest.raises(InvalidResponse, match="FetchWorker"):
        client.workers.fetch(WORKER)


def test_closed_port_is_a_transport_error() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    with TaskRouterClient(ACCOUNT, TOKEN, WORKSPACE, base_url=url, max_retries=0, timeout=2) as c:
        with pytest.raises(TransportError) as caught:
            c.workers.fetch(WORKER)

    exc = caught.value
    assert isinstance(exc, TaskRouterError)
    assert not isinstance(exc, ApiError)
    assert exc.__cause__ is not None
    assert TOKEN not in str(exc)


# -- 4. retries ---------------------------------------------------------------------------------


def test_get_is_retried_on_503(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(503, twilio_error(503, 20503, "Service unavailable"))
    api.reply(200, worker_resource(1))

    worker = client.workers.fetch(WORKER)

    assert worker.friendly_name == "agent-1"
    assert len(api.requests) == 2
    assert all(r.method == "GET" for r in api.requests)


def test_get_is_retried_on_429_after_retry_after(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(429, twilio_error(429, 20429, "Too many requests"), headers={"Retry-After": "1"})
    api.reply(200, worker_resource(1))

    started = time.monotonic()
    client.workers.fetch(WORKER)
    elapsed = time.monotonic() - started

    assert len(api.requests) == 2
    assert elapsed >= 0.9


def test_post_is_retried_on_429(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(429, twilio_error(429, 20429, "Too many requests"))
    api.reply(201, task_resource())

    task = client.tasks.create(workflow_sid=WORKFLOW, attributes={"type": "ticket"})

    assert task.sid == TASK
    assert len(api.requests) == 2
    first, second = api.requests
    assert first.method == second.method == "POST"
    assert first.form == second.form
    assert second.form["Attributes"] == '{"type":"ticket"}'


def test_post_is_not_retried_on_503(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(503, twilio_error(503, 20503, "Service unavailable"))
    api.reply(201, task_resource())

    with pytest.raises(ServerError):
        client.tasks.create(workflow_sid=WORKFLOW)
    assert len(api.requests) == 1


def test_post_is_not_retried_after_a_read_timeout(api: FakeApi) -> None:
    delay = 0.6
    api.reply(201, task_resource(), delay=delay)
    api.reply(201, task_resource())
    with TaskRouterClient(
        ACCOUNT, TOKEN, WORKSPACE, base_url=api.url, backoff_factor=0.01, timeout=(2, 0.3)
    ) as c:
        started = time.monotonic()
        with pytest.raises(TransportError) as caught:
            c.tasks.create(workflow_sid=WORKFLOW)
        elapsed = time.monotonic() - started

    assert len(api.requests) == 1
    assert caught.value.__cause__ is not None
    assert elapsed < delay
    time.sleep(delay - elapsed + 0.1)  # let the fake finish answering into the closed socket


def test_get_is_retried_after_a_read_timeout(api: FakeApi) -> None:
    api.reply(200, worker_resource(1), delay=0.6)
    api.reply(200, worker_resource(2))
    with TaskRouterClient(
        ACCOUNT, TOKEN, WORKSPACE, base_url=api.url, backoff_factor=0.01, timeout=(2, 0.2)
    ) as c:
        worker = c.workers.fetch(WORKER)

    assert worker.friendly_name == "agent-2"
    assert len(api.requests) == 2
    time.sleep(0.5)  # let the fake finish answering the abandoned request


def test_retries_are_bounded(api: FakeApi) -> None:
    for _ in range(5):
        api.reply(503, twilio_error(503, 20503, "Service unavailable"))
    with TaskRouterClient(
        ACCOUNT, TOKEN, WORKSPACE, base_url=api.url, max_retries=2, backoff_factor=0.01, timeout=2
    ) as c:
        with pytest.raises(ServerError) as caught:
            c.workers.fetch(WORKER)

    assert len(api.requests) == 3
    assert caught.value.status == 503
    assert caught.value.code == 20503


def test_post_429_retries_are_bounded_too(api: FakeApi) -> None:
    for _ in range(5):
        api.reply(429, twilio_error(429, 20429, "Too many requests"))
    with TaskRouterClient(
        ACCOUNT, TOKEN, WORKSPACE, base_url=api.url, max_retries=2, backoff_factor=0.01, timeout=2
    ) as c:
        with pytest.raises(RateLimited):
            c.tasks.create(workflow_sid=WORKFLOW)

    assert len(api.requests) == 3


# -- 5. pagination ------------------------------------------------------------------------------


def test_list_follows_next_page_url(api: FakeApi, client: TaskRouterClient) -> None:
    script_worker_pages(api)

    workers = list(client.workers.list())

    assert [w.friendly_name for w in workers] == [f"agent-{n}" for n in range(1, 6)]
    assert all(isinstance(w, Worker) for w in workers)
    first = workers[0]
    assert first.sid == f"WK{1:032x}"
    assert first.attributes == {"skills": ["billing"], "level": 1}
    assert first.date_created == datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    assert first.raw["attributes"] == json.dumps({"skills": ["billing"], "level": 1})
    assert first.raw["friendly_name"] == "agent-1"
    assert [(r.method, r.path) for r in api.requests] == [("GET", WORKERS_PATH)] * 3
    assert [r.query.to_dict() for r in api.requests] == [
        {},
        {"PageSize": "2", "Page": "1", "PageToken": "PAwk2"},
        {"PageSize": "2", "Page": "2", "PageToken": "PAwk4"},
    ]


def test_list_is_lazy(api: FakeApi, client: TaskRouterClient) -> None:
    script_worker_pages(api)

    workers = client.workers.list()
    assert api.requests == []

    assert next(workers).friendly_name == "agent-1"
    assert len(api.requests) == 1
    assert next(workers).friendly_name == "agent-2"
    assert len(api.requests) == 1
    assert next(workers).friendly_name == "agent-3"
    assert len(api.requests) == 2


def test_limit_stops_without_fetching_more(api: FakeApi, client: TaskRouterClient) -> None:
    script_worker_pages(api)

    workers = list(client.workers.list(limit=3))

    assert [w.friendly_name for w in workers] == ["agent-1", "agent-2", "agent-3"]
    assert len(api.requests) == 2


def test_limit_zero_sends_nothing(api: FakeApi, client: TaskRouterClient) -> None:
    assert list(client.workers.list(limit=0)) == []
    assert api.requests == []


def test_page_size_is_sent(api: FakeApi, client: TaskRouterClient) -> None:
    script_worker_pages(api)

    list(client.workers.list(page_size=2, available=True, limit=1))

    (request,) = api.requests
    assert request.query.to_dict() == {"PageSize": "2", "Available": "true"}


def test_next_page_url_on_another_host_is_followed_on_our_base_url(
    api: FakeApi, client: TaskRouterClient
) -> None:
    elsewhere = f"https://taskrouter.twilio.com{WORKERS_PATH}?PageSize=2&Page=1&PageToken=x"
    api.reply(
        200,
        page_body(
            "workers", [worker_resource(1), worker_resource(2)], page=0, next_page_url=elsewhere
        ),
    )
    api.reply(200, page_body("workers", [worker_resource(3)], page=1, next_page_url=None))

    workers = list(client.workers.list())

    assert len(workers) == 3
    assert len(api.requests) == 2
    second = api.requests[1]
    assert second.path == WORKERS_PATH
    assert second.query.to_dict() == {"PageSize": "2", "Page": "1", "PageToken": "x"}
    expected = base64.b64encode(f"{ACCOUNT}:{TOKEN}".encode()).decode()
    assert second.headers["Authorization"] == f"Basic {expected}"


def test_page_and_next_page(api: FakeApi, client: TaskRouterClient) -> None:
    script_worker_pages(api)

    first = client.workers.page(page_size=2)
    assert isinstance(first, Page)
    assert [w.friendly_name for w in first.items] == ["agent-1", "agent-2"]
    assert [w.sid for w in first] == [w.sid for w in first.items]
    assert first.meta["page"] == 0
    assert first.next_page_url is not None
    assert len(api.requests) == 1
    assert api.requests[0].query.to_dict() == {"PageSize": "2"}

    second = first.next_page()
    assert second is not None
    assert [w.friendly_name for w in second.items] == ["agent-3", "agent-4"]
    third = second.next_page()
    assert third is not None
    assert [w.friendly_name for w in third.items] == ["agent-5"]
    assert third.next_page_url is None
    assert third.next_page() is None
    assert len(api.requests) == 3


@pytest.mark.parametrize(
    "body",
    [
        {"workers": [worker_resource(1)]},
        {"meta": "workers", "workers": []},
        {"meta": {"key": "workers", "next_page_url": None}},
        {"meta": {"key": "tasks", "next_page_url": None}, "workers": []},
        [worker_resource(1)],
    ],
    ids=["no-meta", "meta-not-object", "no-items", "wrong-key", "a-list"],
)
def test_malformed_page_is_invalid_response(
    api: FakeApi, client: TaskRouterClient, body: Any
) -> None:
    api.reply(200, body)
    with pytest.raises(InvalidResponse):
        list(client.workers.list())
    api.reply(200, body)
    with pytest.raises(InvalidResponse):
        client.workers.page()


def test_error_on_a_later_page_surfaces_from_the_iterator(
    api: FakeApi, strict_client: TaskRouterClient
) -> None:
    api.reply(
        200,
        page_body(
            "workers",
            [worker_resource(1)],
            page=0,
            next_page_url=f"{api.url}{WORKERS_PATH}?PageSize=1&Page=1&PageToken=PA1",
        ),
    )
    api.reply(404, twilio_error(404, 20404, "Page token expired"))

    workers = strict_client.workers.list()
    assert next(workers).friendly_name == "agent-1"
    with pytest.raises(NotFound):
        next(workers)


# -- 6. delete ----------------------------------------------------------------------------------


def test_delete_returns_none_on_204(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(204)

    result = client.workers.delete(WORKER, if_match="4")  # type: ignore[func-returns-value]

    assert result is None
    (request,) = api.requests
    assert request.method == "DELETE"
    assert request.path == f"{WORKERS_PATH}/{WORKER}"
    assert request.headers["If-Match"] == "4"
    assert request.body == b""


def test_next_page_urls_are_rebased_on_a_base_url_with_a_path() -> None:
    transport = HttpTransport(ACCOUNT, TOKEN, base_url="http://127.0.0.1:9/prefix")
    foreign = "https://taskrouter.twilio.com/v1/Workspaces/WS1/Workers?Page=1&PageToken=x"
    assert (
        transport.url_for(foreign)
        == "http://127.0.0.1:9/prefix/v1/Workspaces/WS1/Workers?Page=1&PageToken=x"
    )
    own = "http://127.0.0.1:9/prefix/v1/Workers?Page=2"
    assert transport.url_for(own) == own
    assert transport.url_for("/v1/Workers") == "http://127.0.0.1:9/prefix/v1/Workers"
    transport.close()


def test_a_404_is_the_package_wide_not_found(api: FakeApi, client: TaskRouterClient) -> None:
    import taskrouter_flask
    from taskrouter_flask.sandbox.errors import NotFound as EngineNotFound

    api.reply(404, twilio_error(404, 20404, "not found"))
    with pytest.raises(taskrouter_flask.NotFound) as caught:
        client.workers.fetch(WORKER)
    assert isinstance(caught.value, NotFound) and isinstance(caught.value, ApiError)
    assert caught.value.status == 404 and caught.value.code == 20404
    assert not isinstance(caught.value, EngineNotFound)
