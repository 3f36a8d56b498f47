"""The sandbox's REST API held against Twilio's API description, over real HTTP.

Every operation of the description is called with ``requests`` (HTTP basic
auth, form fields, no help from our client) against a running
:class:`~taskrouter_flask.sandbox.server.Sandbox`, on a world built the same
way: a workspace, its activities, a task channel, queues, workflows, workers
and a task holding a pending reservation. Each answer must have the
documented success status, JSON, every property of the description's schema
and links that stay on the sandbox. Malformed requests must be refused with
a 4xx in Twilio's error shape, never a 5xx.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from taskrouter_flask.sandbox.server import Sandbox
from taskrouter_flask.workflow import WorkflowConfiguration

from ..client.test_spec_coverage import SPEC_OPS, resolve
from .world import MISSING, NOWHERE, World, build_world, running_sandbox, workflow_configuration

TIMEOUT = 10
#: Fields that hold a URL the user chose, not one the sandbox builds.
USER_URLS = {"event_callback_url", "assignment_callback_url", "fallback_assignment_callback_url"}


class Api:
    """``requests`` against one sandbox: paths relative to its base URL, basic auth on."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.base_url = sandbox.base_url
        self.session = requests.Session()
        self.session.auth = (sandbox.account_sid, sandbox.auth_token)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else self.base_url + path
        return self.session.request(method, url, timeout=TIMEOUT, **kwargs)

    def get(self, path: str, params: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, params=params, **kwargs)

    def post(self, path: str, data: Any = None, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, data=data, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("DELETE", path, **kwargs)

    def created(self, path: str, data: Mapping[str, str]) -> dict[str, Any]:
        """POST and return the JSON of a 201."""
        response = self.post(path, dict(data))
        assert response.status_code == 201, (path, response.status_code, response.text)
        body: dict[str, Any] = response.json()
        return body

    def items(self, path: str, params: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
        """GET one page of a list and return its items."""
        response = self.get(path, dict(params or {}))
        assert response.status_code == 200, (path, response.status_code, response.text)
        body = response.json()
        items: list[dict[str, Any]] = body[body["meta"]["key"]]
        return items


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    """One sandbox for the module (each test builds its own workspace in it)."""
    yield from running_sandbox()


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[Api]:
    client = Api(sandbox)
    try:
        yield client
    finally:
        client.session.close()


# -- the world --------------------------------------------------------------------------------


def _wire(value: Any) -> str:
    if isinstance(value, WorkflowConfiguration):
        return value.to_json()
    return json.dumps(value) if isinstance(value, dict) else str(value)


class ApiMaker:
    """Builds the world with form fields over HTTP: no help from our client."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.ws = ""

    def workspace(self, friendly_name: str) -> str:
        sid: str = self.api.created("/v1/Workspaces", {"FriendlyName": friendly_name})["sid"]
        self.ws = f"/v1/Workspaces/{sid}"
        return sid

    def create(self, collection: str, **fields: Any) -> str:
        form = {to_pascal(name): _wire(value) for name, value in fields.items()}
        sid: str = self.api.created(f"{self.ws}/{collection}", form)["sid"]
        return sid

    def activities(self) -> Mapping[str, str]:
        return {a["friendly_name"]: a["sid"] for a in self.api.items(self.ws + "/Activities")}

    def reservation(self, task: str) -> tuple[str, str, str]:
        (reservation,) = self.api.items(f"{self.ws}/Tasks/{task}/Reservations")
        return reservation["sid"], reservation["reservation_status"], reservation["worker_sid"]

    def default_channel(self, worker: str) -> str:
        channels = self.api.items(f"{self.ws}/Workers/{worker}/Channels")
        (channel,) = [c for c in channels if c["task_channel_unique_name"] == "default"]
        sid: str = channel["sid"]
        return sid

    def first_event(self, event_type: str) -> str:
        sid: str = self.api.items(self.ws + "/Events", {"EventType": event_type})[0]["sid"]
        return sid


def to_pascal(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _configuration(queue: str, expression: str = "type == 'ticket'") -> str:
    return workflow_configuration(queue, expression).to_json()


@pytest.fixture
def world(api: Api) -> World:
    return build_world(ApiMaker(api), "Contract")


# -- one call per operation -----------------------------------------------------------------

Params = Callable[[World], dict[str, str]]
Check = Callable[[World, Any], None]


def _none(world: World) -> dict[str, str]:
    return {}


def _no_check(world: World, body: Any) -> None:
    return None


@dataclass(frozen=True)
class Case:
    """How to call one operation on a world.

    :param sid: the :class:`World` field that fills the path's ``{Sid}``.
    :param params: the query (GET) or form (POST) fields.
    :param body: a JSON body instead of form fields.
    :param if_match: send the resource's current ``ETag`` as ``If-Match``.
    :param check: more assertions on the decoded answer.
    """

    sid: str | None = None
    params: Params = _none
    body: Callable[[World], Any] | None = None
    if_match: bool = False
    check: Check = _no_check


def _items(body: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = body[body["meta"]["key"]]
    return items


def _field(name: str, value: Any) -> Check:
    def check(world: World, body: Any) -> None:
        assert body[name] == value, (name, body[name], value)

    return check


def _fields(**expected: Any) -> Check:
    def check(world: World, body: Any) -> None:
        assert {name: body[name] for name in expected} == expected

    return check


def _every(name: str, value: Any) -> Check:
    def check(world: World, body: Any) -> None:
        assert _items(body), "the list is empty: nothing checked"
        assert all(item[name] == value for item in _items(body)), (name, value)

    return check


def _is(name: str, attribute: str) -> Check:
    def check(world: World, body: Any) -> None:
        assert body[name] == getattr(world, attribute), (name, attribute)

    return check


def _event_types(*types: str) -> Check:
    def check(world: World, body: Any) -> None:
        assert set(types) <= {item["event_type"] for item in _items(body)}

    return check


def _all_sids(attribute: str) -> Check:
    def check(world: World, body: Any) -> None:
        assert [item["sid"] for item in _items(body)] == [getattr(world, attribute)]

    return check


CASES: dict[str, Case] = {
    # workspaces
    "ListWorkspace": Case(
        params=lambda w: {"FriendlyName": "Contract"}, check=_every("friendly_name", "Contract")
    ),
    "CreateWorkspace": Case(
        params=lambda w: {
            "FriendlyName": "Created",
            "Template": "FIFO",
            "MultiTaskEnabled": "true",
            "PrioritizeQueueOrder": "LIFO",
            "EventsFilter": "task.created,task.completed",
        },
        check=_fields(multi_task_enabled=True, prioritize_queue_order="LIFO"),
    ),
    "FetchWorkspace": Case(sid="workspace", check=_is("sid", "workspace")),
    "UpdateWorkspace": Case(
        sid="workspace",
        params=lambda w: {"FriendlyName": "Renamed", "DefaultActivitySid": w.available},
        check=_field("default_activity_name", "Available"),
    ),
    "DeleteWorkspace": Case(sid="workspace"),
    "FetchWorkspaceStatistics": Case(
        params=lambda w: {"Minutes": "60", "SplitByWaitTime": "10,60"},
        check=_is("workspace_sid", "workspace"),
    ),
    "FetchWorkspaceRealTimeStatistics": Case(
        params=lambda w: {"TaskChannel": "default"}, check=_field("total_tasks", 1)
    ),
    "FetchWorkspaceCumulativeStatistics": Case(
        params=lambda w: {"StartDate": "2025-12-31T23:00:00Z", "EndDate": "2026-01-01T01:00:00Z"},
        check=_field("reservations_created", 1),
    ),
    # activities
    "ListActivity": Case(params=lambda w: {"Available": "true"}, check=_every("available", True)),
    "CreateActivity": Case(
        params=lambda w: {"FriendlyName": "Lunch", "Available": "false"},
        check=_field("available", False),
    ),
    "FetchActivity": Case(sid="spare_activity", check=_field("friendly_name", "Break")),
    "UpdateActivity": Case(
        sid="spare_activity",
        params=lambda w: {"FriendlyName": "Long break"},
        check=_field("friendly_name", "Long break"),
    ),
    "DeleteActivity": Case(sid="spare_activity"),
    # events
    "ListEvent": Case(
        params=lambda w: {"TaskSid": w.task, "Minutes": "60"},
        check=_event_types("task.created", "reservation.created"),
    ),
    "FetchEvent": Case(sid="event", check=_field("event_type", "reservation.created")),
    # task channels
    "ListTaskChannel": Case(),
    "CreateTaskChannel": Case(
        params=lambda w: {
            "FriendlyName": "Fax",
            "UniqueName": "fax",
            "ChannelOptimizedRouting": "true",
        },
        check=_field("channel_optimized_routing", True),
    ),
    "FetchTaskChannel": Case(sid="channel", check=_field("unique_name", "support-chat")),
    "UpdateTaskChannel": Case(
        sid="channel",
        params=lambda w: {"FriendlyName": "Chat", "ChannelOptimizedRouting": "true"},
        check=_field("friendly_name", "Chat"),
    ),
    "DeleteTaskChannel": Case(sid="channel"),
    # task queues
    "ListTaskQueue": Case(params=lambda w: {"WorkerSid": w.worker}, check=_all_sids("queue")),
    "CreateTaskQueue": Case(
        params=lambda w: {
            "FriendlyName": "Gold",
            "TargetWorkers": "tier == 'gold'",
            "MaxReservedWorkers": "2",
            "TaskOrder": "LIFO",
            "ReservationActivitySid": w.unavailable,
            "AssignmentActivitySid": w.unavailable,
        },
        check=_field("reservation_activity_name", "Unavailable"),
    ),
    "FetchTaskQueue": Case(sid="queue", check=_field("friendly_name", "Support")),
    "UpdateTaskQueue": Case(
        sid="spare_queue",
        params=lambda w: {"TargetWorkers": "tier == 'gold'", "MaxReservedWorkers": "3"},
        check=_field("max_reserved_workers", 3),
    ),
    "DeleteTaskQueue": Case(sid="spare_queue"),
    "FetchTaskQueueStatistics": Case(
        params=lambda w: {"Minutes": "60"}, check=_is("task_queue_sid", "queue")
    ),
    "FetchTaskQueueRealTimeStatistics": Case(
        params=lambda w: {"TaskChannel": "default"}, check=_field("total_eligible_workers", 1)
    ),
    "FetchTaskQueueCumulativeStatistics": Case(
        params=lambda w: {"SplitByWaitTime": "5,30"}, check=_field("tasks_entered", 1)
    ),
    "ListTaskQueuesStatistics": Case(params=lambda w: {"FriendlyName": "Support"}),
    "CreateTaskQueueBulkRealTimeStatistics": Case(
        body=lambda w: {"TaskQueueSids": [w.queue, w.spare_queue]},
        check=_field("task_queue_response_count", 2),
    ),
    # workflows
    "ListWorkflow": Case(params=lambda w: {"FriendlyName": "Routing"}, check=_all_sids("workflow")),
    "CreateWorkflow": Case(
        params=lambda w: {
            "FriendlyName": "Escalations",
            "Configuration": _configuration(w.queue, "priority > 5"),
            "AssignmentCallbackUrl": NOWHERE,
            "TaskReservationTimeout": "300",
        },
        check=_field("task_reservation_timeout", 300),
    ),
    "FetchWorkflow": Case(sid="workflow", check=_field("friendly_name", "Routing")),
    "UpdateWorkflow": Case(
        sid="spare_workflow",
        params=lambda w: {
            "FriendlyName": "Overflow",
            "TaskReservationTimeout": "60",
            "ReEvaluateTasks": "true",
        },
        check=_field("task_reservation_timeout", 60),
    ),
    "DeleteWorkflow": Case(sid="spare_workflow"),
    "FetchWorkflowStatistics": Case(
        params=lambda w: {"Minutes": "60"}, check=_is("workflow_sid", "workflow")
    ),
    "FetchWorkflowRealTimeStatistics": Case(check=_field("total_tasks", 1)),
    "FetchWorkflowCumulativeStatistics": Case(
        params=lambda w: {"Minutes": "60"}, check=_field("tasks_entered", 1)
    ),
    # tasks and their reservations
    "ListTask": Case(
        params=lambda w: {"AssignmentStatus": "reserved", "WorkflowSid": w.workflow},
        check=_all_sids("task"),
    ),
    "CreateTask": Case(
        params=lambda w: {
            "WorkflowSid": w.workflow,
            "Attributes": json.dumps({"type": "ticket"}),
            "Priority": "5",
            "Timeout": "3600",
            "TaskChannel": "default",
        },
        check=_field("assignment_status", "pending"),  # Alice is busy with the first task
    ),
    "FetchTask": Case(sid="task", check=_field("assignment_status", "reserved")),
    "UpdateTask": Case(
        sid="task",
        params=lambda w: {"AssignmentStatus": "canceled", "Reason": "duplicate"},
        if_match=True,
        check=_field("assignment_status", "canceled"),
    ),
    "DeleteTask": Case(sid="task", if_match=True),
    "ListTaskReservation": Case(
        params=lambda w: {"ReservationStatus": "pending"}, check=_all_sids("reservation")
    ),
    "FetchTaskReservation": Case(sid="reservation", check=_is("worker_sid", "worker")),
    "UpdateTaskReservation": Case(
        sid="reservation",
        params=lambda w: {"ReservationStatus": "accepted"},
        if_match=True,
        check=_field("reservation_status", "accepted"),
    ),
    # workers, their channels, reservations and statistics
    "ListWorker": Case(
        params=lambda w: {"TargetWorkersExpression": "tier == 'gold'", "ActivityName": "Available"},
        check=_all_sids("worker"),
    ),
    "CreateWorker": Case(
        params=lambda w: {
            "FriendlyName": "Carol",
            "ActivitySid": w.offline,
            "Attributes": json.dumps({"tier": "gold"}),
        },
        check=_field("activity_name", "Offline"),
    ),
    "FetchWorker": Case(sid="worker", check=_field("friendly_name", "Alice")),
    "UpdateWorker": Case(
        sid="spare_worker",
        params=lambda w: {
            "FriendlyName": "Robert",
            "ActivitySid": w.unavailable,
            "Attributes": json.dumps({"tier": "bronze"}),
            "RejectPendingReservations": "true",
        },
        if_match=True,
        check=_field("activity_name", "Unavailable"),
    ),
    "DeleteWorker": Case(sid="spare_worker", if_match=True),
    "ListWorkerChannel": Case(),
    "FetchWorkerChannel": Case(sid="worker_channel", check=_field("assigned_tasks", 1)),
    "UpdateWorkerChannel": Case(
        sid="worker_channel",
        params=lambda w: {"Capacity": "2", "Available": "true"},
        check=_field("configured_capacity", 2),
    ),
    "ListWorkerReservation": Case(
        params=lambda w: {"ReservationStatus": "pending"}, check=_all_sids("reservation")
    ),
    "FetchWorkerReservation": Case(sid="reservation", check=_is("task_sid", "task")),
    "UpdateWorkerReservation": Case(
        sid="reservation",
        params=lambda w: {
            "Instruction": "dequeue",
            "DequeueFrom": "+15005550006",
            "DequeuePostWorkActivitySid": w.offline,
        },
        if_match=True,
        check=_field("reservation_status", "accepted"),
    ),
    "FetchWorkerStatistics": Case(params=lambda w: {"Minutes": "60", "TaskQueueSid": w.queue}),
    "FetchWorkersRealTimeStatistics": Case(
        params=lambda w: {"TaskChannel": "default"}, check=_field("total_workers", 2)
    ),
    "FetchWorkersCumulativeStatistics": Case(
        params=lambda w: {"Minutes": "60"}, check=_field("reservations_created", 1)
    ),
    "FetchWorkerInstanceStatistics": Case(
        params=lambda w: {"Minutes": "60"}, check=_is("worker_sid", "worker")
    ),
}


def test_every_operation_of_the_spec_has_a_case() -> None:
    assert len(SPEC_OPS) == 61
    assert set(CASES) == set(SPEC_OPS)


def _fill(path: str, world: World, case: Case) -> str:
    values = {
        "WorkspaceSid": world.workspace,
        "TaskSid": world.task,
        "WorkerSid": world.worker,
        "TaskQueueSid": world.queue,
        "WorkflowSid": world.workflow,
    }
    if case.sid is not None:
        values["Sid"] = getattr(world, case.sid)
    for name, value in values.items():
        path = path.replace("{" + name + "}", value)
    assert "{" not in path, f"unfilled path {path}"
    return path


def _success(spec: Mapping[str, Any]) -> tuple[int, dict[str, Any] | None]:
    """The documented success status, and the resolved schema of its JSON (if any)."""
    for status, answer in spec["responses"].items():
        if status.startswith("2"):
            content = answer.get("content", {}).get("application/json")
            return int(status), resolve(content["schema"]) if content else None
    raise AssertionError("no success answer in the spec")


def _own_urls(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every URL the sandbox built in a body: ``url``, ``*_url``, ``links``, page URLs."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{where}.{key}"
            if (
                isinstance(item, str)
                and key not in USER_URLS
                and (key == "url" or key.endswith("_url") or where.endswith(".links"))
            ):
                yield here, item
            else:
                yield from _own_urls(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _own_urls(item, f"{where}[{index}]")


def assert_schema(name: str, schema: Mapping[str, Any], body: Any, base_url: str) -> None:
    """Every property of the schema is in the body; every URL is on the sandbox."""
    assert isinstance(body, dict), name
    properties = schema["properties"]
    missing = sorted(set(properties) - set(body))
    assert not missing, f"{name}: missing {missing}"
    if "meta" in properties:
        meta = body["meta"]
        meta_missing = sorted(set(properties["meta"]["properties"]) - set(meta))
        assert not meta_missing, f"{name}: meta lacks {meta_missing}"
        key = meta["key"]
        assert key in properties and properties[key]["type"] == "array", (name, key)
        assert isinstance(meta["page_size"], int)
        items = body[key]
        assert isinstance(items, list) and items, f"{name}: an empty list checks nothing"
        item_properties = set(resolve(properties[key]["items"])["properties"])
        for item in items:
            absent = sorted(item_properties - set(item))
            assert not absent, f"{name}: an item lacks {absent}"
    for where, url in _own_urls(body):
        assert url.startswith(base_url + "/v1/"), f"{name}: {where} = {url!r}"


@pytest.mark.parametrize("name", sorted(CASES))
def test_operation(api: Api, world: World, name: str) -> None:
    method, spec_path, spec = SPEC_OPS[name]
    case = CASES[name]
    path = _fill(spec_path, world, case)
    headers: dict[str, str] = {}
    if case.if_match:
        current = api.get(path)
        assert current.status_code == 200 and current.headers.get("ETag"), current.text
        headers["If-Match"] = current.headers["ETag"]
    if case.body is not None:
        response = api.request(method, path, json=case.body(world), headers=headers)
    elif method == "GET":
        response = api.get(path, case.params(world), headers=headers)
    else:
        response = api.request(method, path, data=case.params(world), headers=headers)

    status, schema = _success(spec)
    assert response.status_code == status, (name, response.status_code, response.text)
    if status == 204:
        assert response.content == b""
        gone = api.get(path)
        assert gone.status_code == 404, f"{name}: still there after the delete"
        assert gone.json()["code"] == 20404
        return
    assert response.headers["Content-Type"].split(";")[0] == "application/json"
    assert schema is not None, name
    body = response.json()
    assert_schema(name, schema, body, api.base_url)
    case.check(world, body)


# -- refusals ---------------------------------------------------------------------------------


def assert_twilio_error(response: requests.Response, status: int, code: int | None = None) -> None:
    """A refusal in Twilio's shape: JSON ``code``, ``message``, ``more_info``, ``status``."""
    assert response.status_code == status, (response.status_code, response.text)
    assert 400 <= response.status_code < 500
    assert response.headers["Content-Type"].split(";")[0] == "application/json"
    body = response.json()
    assert set(body) >= {"code", "message", "more_info", "status"}, body
    assert body["status"] == status
    assert isinstance(body["code"], int) and not isinstance(body["code"], bool)
    assert isinstance(body["message"], str) and body["message"]
    assert body["more_info"] == f"https://www.twilio.com/docs/errors/{body['code']}"
    if code is not None:
        assert body["code"] == code, body


Request = Callable[[Api, World], requests.Response]


def _send(method: str, path: str, fields: Any = None, **kwargs: Any) -> Request:
    """A request on a world: ``{task}``-style names in the path, or as a whole field value, are
    the world's SIDs. A path not starting with ``/v1/`` is relative to the world's workspace.
    """

    def send(api: Api, w: World) -> requests.Response:
        sids = vars(w)
        url = path.format(**sids)
        url = url if url.startswith("/v1/") else w.path + url
        data = fields
        if isinstance(fields, dict):
            data = {k: _sid_or_text(sids, v) for k, v in fields.items()}
        if method == "GET":
            return api.get(url, data, **kwargs)
        return api.request(method, url, data=data, **kwargs)

    return send


def _sid_or_text(sids: Mapping[str, str], value: str) -> str:
    if value.startswith("{") and value.endswith("}") and value[1:-1] in sids:
        return sids[value[1:-1]]
    return value


def _get(path: str, params: Any = None) -> Request:
    return _send("GET", path, params)


def _post(path: str, fields: Any = None, **kwargs: Any) -> Request:
    return _send("POST", path, fields, **kwargs)


def _accept_twice(api: Api, w: World) -> requests.Response:
    path = f"{w.path}/Tasks/{w.task}/Reservations/{w.reservation}"
    assert api.post(path, {"ReservationStatus": "accepted"}).status_code == 200
    return api.post(path, {"ReservationStatus": "accepted"})


WF = "{workflow}"

#: Refused with 400 and Twilio's code 20001.
INVALID: dict[str, Request] = {
    # missing required parameters
    "CreateWorkspace without FriendlyName": _post("/v1/Workspaces", {"Template": "FIFO"}),
    "CreateWorkflow without Configuration": _post("/Workflows", {"FriendlyName": "x"}),
    "CreateTaskChannel without UniqueName": _post("/TaskChannels", {"FriendlyName": "x"}),
    "CreateWorker with an empty FriendlyName": _post("/Workers", {"FriendlyName": ""}),
    # unknown parameters
    "unknown form field": _post("/Activities", {"FriendlyName": "x", "Colour": "red"}),
    "unknown query parameter": _get("/Workers", {"Colour": "red"}),
    "form fields in the query of a POST": _post("/Activities?FriendlyName=x"),
    "a form field for the JSON operation": _post(
        "/TaskQueues/RealTimeStatistics", {"TaskQueueSids": "{queue}"}
    ),
    # wrong types
    "Priority=high": _post("/Tasks", {"WorkflowSid": WF, "Priority": "high"}),
    "MultiTaskEnabled=maybe": _post("", {"MultiTaskEnabled": "maybe"}),
    "ReEvaluateTasks=maybe": _post("/Workflows/{workflow}", {"ReEvaluateTasks": "maybe"}),
    "Timeout=1.5": _post("/Tasks", {"WorkflowSid": WF, "Timeout": "1.5"}),
    "Priority given twice": lambda api, w: api.post(
        w.path + "/Tasks", [("WorkflowSid", w.workflow), ("Priority", "1"), ("Priority", "2")]
    ),
    "Attributes that are not JSON": _post("/Workers", {"FriendlyName": "x", "Attributes": "{a"}),
    "Attributes that are a JSON list": _post("/Tasks", {"WorkflowSid": WF, "Attributes": "[]"}),
    "VirtualStartTime without a time zone": _post(
        "/Tasks", {"WorkflowSid": WF, "VirtualStartTime": "2025-12-31T10:00:00"}
    ),
    "Minutes=soon": _get("/Events", {"Minutes": "soon"}),
    "StartDate=yesterday": _get("/Statistics", {"StartDate": "yesterday"}),
    "Capacity=51": _post("/Workers/{worker}/Channels/{worker_channel}", {"Capacity": "51"}),
    "TaskOrder=RANDOM": _post("/TaskQueues", {"FriendlyName": "x", "TaskOrder": "RANDOM"}),
    "SplitByWaitTime=abc": _get("/CumulativeStatistics", {"SplitByWaitTime": "abc"}),
    "bulk statistics without a JSON body": _post(
        "/TaskQueues/RealTimeStatistics",
        b"not json",
        headers={"Content-Type": "application/json"},
    ),
    # expressions and configurations that do not parse
    "TargetWorkers (create)": _post("/TaskQueues", {"FriendlyName": "x", "TargetWorkers": "a HAS"}),
    "TargetWorkers (update)": _post("/TaskQueues/{queue}", {"TargetWorkers": "(("}),
    "TargetWorkersExpression": _get("/Workers", {"TargetWorkersExpression": "tier =="}),
    "EvaluateTaskAttributes": _get("/Tasks", {"EvaluateTaskAttributes": "a IN [1,"}),
    "EvaluateWorkerAttributes": _get("/TaskQueues", {"EvaluateWorkerAttributes": "tier"}),
    "a workflow filter expression": lambda api, w: api.post(
        w.path + "/Workflows",
        {"FriendlyName": "x", "Configuration": _configuration(w.queue, "type ==")},
    ),
    "a workflow configuration that is not JSON": _post(
        "/Workflows", {"FriendlyName": "x", "Configuration": "{"}
    ),
    # the state of a resource
    "accepting a reservation twice": _accept_twice,
    "deleting a worker who holds a reservation": _send("DELETE", "/Workers/{worker}"),
    "completing a task that is only reserved": _post(
        "/Tasks/{task}", {"AssignmentStatus": "completed"}
    ),
}

#: Refused with 404 and Twilio's code 20404.
UNKNOWN: dict[str, Request] = {
    "workspace": _get(f"/v1/Workspaces/WS{MISSING}"),
    "worker": _get(f"/Workers/WK{MISSING}"),
    "task, on update": _post(f"/Tasks/WT{MISSING}", {"Priority": "1"}),
    "activity, on delete": _send("DELETE", f"/Activities/WA{MISSING}"),
    "event": _get(f"/Events/EV{MISSING}"),
    "reservation of a task": _get(f"/Tasks/{{task}}/Reservations/WR{MISSING}"),
    "reservation under another worker": _get("/Workers/{spare_worker}/Reservations/{reservation}"),
    "worker in another workspace": _get(f"/v1/Workspaces/WS{MISSING}/Workers/{{worker}}"),
    "queue of a statistics path": _get(f"/TaskQueues/WQ{MISSING}/Statistics"),
    "activity named in an update": _post("/Workers/{worker}", {"ActivitySid": f"WA{MISSING}"}),
    "queue in a bulk statistics body": _post(
        "/TaskQueues/RealTimeStatistics", json={"TaskQueueSids": [f"WQ{MISSING}"]}
    ),
    "task channel named by a task": _post("/Tasks", {"WorkflowSid": WF, "TaskChannel": "fax"}),
}


@pytest.mark.parametrize("label", sorted(INVALID))
def test_invalid_requests_are_400(api: Api, world: World, label: str) -> None:
    assert_twilio_error(INVALID[label](api, world), 400, 20001)


@pytest.mark.parametrize("label", sorted(UNKNOWN))
def test_unknown_sids_are_404(api: Api, world: World, label: str) -> None:
    assert_twilio_error(UNKNOWN[label](api, world), 404, 20404)


def test_an_invalid_instruction_is_400_with_code_40001(api: Api, world: World) -> None:
    path = f"{world.path}/Tasks/{world.task}/Reservations/{world.reservation}"
    assert_twilio_error(api.post(path, {"Instruction": "teleport"}), 400, 40001)
    assert_twilio_error(api.post(path, {"Instruction": "call"}), 400, 40001)
    assert api.get(path).json()["reservation_status"] == "pending"


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("worker", "/Workers/{worker}"),
        ("task", "/Tasks/{task}"),
        ("reservation", "/Tasks/{task}/Reservations/{reservation}"),
        ("worker reservation", "/Workers/{worker}/Reservations/{reservation}"),
    ],
)
def test_a_stale_if_match_is_412(api: Api, world: World, kind: str, path: str) -> None:
    url = world.path + path.format(**vars(world))
    stale = api.get(url).headers["ETag"]
    if kind == "task":
        change = {"Attributes": json.dumps({"type": "ticket", "seen": True})}
    elif kind == "worker":
        change = {"Attributes": json.dumps({"skills": ["support"], "tier": "silver"})}
    else:
        change = {"ReservationStatus": "accepted"}
    assert api.post(url, change).status_code == 200
    current = api.get(url).headers["ETag"]
    assert current != stale
    refused = api.post(url, {}, headers={"If-Match": stale})
    assert_twilio_error(refused, 412)
    assert api.post(url, {}, headers={"If-Match": current}).status_code == 200


def test_a_stale_if_match_on_delete_is_412_and_deletes_nothing(api: Api, world: World) -> None:
    url = f"{world.path}/Workers/{world.spare_worker}"
    stale = api.get(url).headers["ETag"]
    assert api.post(url, {"Attributes": json.dumps({"tier": "x"})}).status_code == 200
    assert_twilio_error(api.delete(url, headers={"If-Match": stale}), 412)
    assert api.get(url).status_code == 200
    current = api.get(url).headers["ETag"]
    assert api.delete(url, headers={"If-Match": current}).status_code == 204


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/Workers"),
        ("POST", "/Activities"),
        ("DELETE", "/Workers/{worker}"),
        ("GET", "/Statistics"),
    ],
)
@pytest.mark.parametrize("auth", ["none", "wrong password", "wrong account"])
def test_requests_without_valid_credentials_are_401(
    sandbox: Sandbox, world: World, method: str, path: str, auth: str
) -> None:
    url = sandbox.base_url + world.path + path.format(**vars(world))
    credentials = {
        "none": None,
        "wrong password": (sandbox.account_sid, sandbox.auth_token + "x"),
        "wrong account": ("AC" + "0" * 32, sandbox.auth_token),
    }[auth]
    data = {"FriendlyName": "x"} if method == "POST" else None
    response = requests.request(method, url, auth=credentials, data=data, timeout=TIMEOUT)
    assert_twilio_error(response, 401, 20003)


def test_a_refused_request_changes_nothing(sandbox: Sandbox, api: Api, world: World) -> None:
    before = len(api.items(world.path + "/Activities"))
    response = requests.post(
        sandbox.base_url + world.path + "/Activities",
        data={"FriendlyName": "Sneaky"},
        auth=(sandbox.account_sid, "nope"),
        timeout=TIMEOUT,
    )
    assert response.status_code == 401
    assert len(api.items(world.path + "/Activities")) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("DELETE", "/Workers"),
        ("PUT", "/Workers/{worker}"),
        ("POST", "/Events"),
        ("DELETE", "/Statistics"),
        ("PATCH", ""),
    ],
)
def test_a_wrong_method_is_405_json(api: Api, world: World, method: str, path: str) -> None:
    response = api.request(method, world.path + path.format(**vars(world)))
    assert_twilio_error(response, 405)


@pytest.mark.parametrize(
    "path",
    [
        "/v1/Nope",
        "/v2/Workspaces",
        "/v1/Workspaces/{workspace}/Nope",
        "/v1/Workspaces/{workspace}/Workers/{worker}/Nope",
        "/",
    ],
)
def test_an_unknown_path_is_404_json(api: Api, world: World, path: str) -> None:
    assert_twilio_error(api.get(path.format(**vars(world))), 404, 20404)


# -- pagination -------------------------------------------------------------------------------


@pytest.fixture
def seven_workers(api: Api) -> tuple[str, list[str]]:
    """A workspace holding exactly seven workers."""
    workspace = api.created("/v1/Workspaces", {"FriendlyName": "Paging"})["sid"]
    sids = [
        api.created(f"/v1/Workspaces/{workspace}/Workers", {"FriendlyName": f"W{i}"})["sid"]
        for i in range(7)
    ]
    return workspace, sids


def _walk(api: Api, url: str, params: Mapping[str, str]) -> list[dict[str, Any]]:
    """Follow ``next_page_url`` from the first page; return every page's body."""
    pages = []
    response = api.get(url, dict(params))
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append(body)
        next_url = body["meta"]["next_page_url"]
        if next_url is None:
            return pages
        assert next_url.startswith(api.base_url + "/v1/")
        assert len(pages) < 10, "next_page_url never ends"
        response = api.get(next_url)


def test_following_next_page_url_lists_every_worker_once(
    api: Api, seven_workers: tuple[str, list[str]]
) -> None:
    workspace, sids = seven_workers
    pages = _walk(api, f"/v1/Workspaces/{workspace}/Workers", {"PageSize": "3"})
    assert [len(page["workers"]) for page in pages] == [3, 3, 1]
    listed = [worker["sid"] for page in pages for worker in page["workers"]]
    assert sorted(listed) == sorted(sids)
    assert len(set(listed)) == 7
    assert [page["meta"]["page"] for page in pages] == [0, 1, 2]
    assert all(page["meta"]["page_size"] == 3 for page in pages)
    assert all(page["meta"]["key"] == "workers" for page in pages)
    assert pages[0]["meta"]["previous_page_url"] is None
    assert all(page["meta"]["previous_page_url"] for page in pages[1:])
    assert len({page["meta"]["first_page_url"] for page in pages}) == 1


def test_filters_are_kept_across_pages(api: Api, seven_workers: tuple[str, list[str]]) -> None:
    workspace, sids = seven_workers
    ws = f"/v1/Workspaces/{workspace}"
    for sid in sids[:5]:
        api.post(f"{ws}/Workers/{sid}", {"Attributes": json.dumps({"team": "red"})})
    pages = _walk(
        api, ws + "/Workers", {"PageSize": "2", "TargetWorkersExpression": "team == 'red'"}
    )
    listed = [worker["sid"] for page in pages for worker in page["workers"]]
    assert sorted(listed) == sorted(sids[:5])
    assert all("TargetWorkersExpression=" in page["meta"]["url"] for page in pages)


def test_the_previous_page_url_goes_back(api: Api, seven_workers: tuple[str, list[str]]) -> None:
    workspace, _ = seven_workers
    pages = _walk(api, f"/v1/Workspaces/{workspace}/Workers", {"PageSize": "3"})
    back = api.get(pages[1]["meta"]["previous_page_url"]).json()
    assert [w["sid"] for w in back["workers"]] == [w["sid"] for w in pages[0]["workers"]]


@pytest.mark.parametrize(
    "params",
    [
        {"PageToken": "garbage"},
        {"PageToken": "PT-3"},
        {"PageToken": "PTabc"},
        {"PageToken": "PT"},
        {"PageSize": "0"},
        {"PageSize": "1001"},
        {"PageSize": "three"},
        {"Page": "-1"},
    ],
    ids=lambda params: "&".join(f"{k}={v}" for k, v in params.items()),
)
def test_invalid_paging_parameters_are_400(
    api: Api, seven_workers: tuple[str, list[str]], params: dict[str, str]
) -> None:
    workspace, _ = seven_workers
    response = api.get(f"/v1/Workspaces/{workspace}/Workers", {"PageSize": "3", **params})
    assert_twilio_error(response, 400, 20001)


# -- bugs found ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/Events", {"Minutes": "10000000000"}),
        ("/Statistics", {"Minutes": "10000000000"}),
        ("/CumulativeStatistics", {"Minutes": "10000000000"}),
        ("/TaskQueues/{queue}/CumulativeStatistics", {"Minutes": "10000000000"}),
        ("/Workers/{worker}/Statistics", {"Minutes": "10000000000"}),
        ("/Events", {"EndDate": "0001-01-01T00:05:00Z"}),
        ("/Statistics", {"EndDate": "0001-01-01T00:05:00Z"}),
    ],
)
def test_a_window_before_year_one_is_a_400(
    api: Api, world: World, path: str, params: dict[str, str]
) -> None:
    response = api.get(world.path + path.format(**vars(world)), params)
    assert_twilio_error(response, 400)


DEEP = '{"a":' * 2000 + "1" + "}" * 2000


@pytest.mark.parametrize(
    "request_",
    [
        _post("/Tasks", {"WorkflowSid": WF, "Attributes": DEEP}),
        _post("/Workers", {"FriendlyName": "Deep", "Attributes": DEEP}),
        _post("/Workflows", {"FriendlyName": "Deep", "Configuration": DEEP}),
        _get("/TaskQueues", {"EvaluateWorkerAttributes": DEEP}),
        _post("/TaskQueues/RealTimeStatistics", DEEP, headers={"Content-Type": "application/json"}),
    ],
    ids=["task-attributes", "worker-attributes", "configuration", "evaluate", "bulk-body"],
)
def test_deeply_nested_json_is_a_400(api: Api, world: World, request_: Request) -> None:
    assert_twilio_error(request_(api, world), 400)


def test_a_virtual_start_time_with_an_offset_is_echoed_in_utc(api: Api, world: World) -> None:
    task = api.created(
        world.path + "/Tasks",
        {"WorkflowSid": world.workflow, "VirtualStartTime": "2025-12-31T12:00:00+05:00"},
    )
    assert task["virtual_start_time"] == "2025-12-31T07:00:00Z"


def test_virtual_start_times_before_1900_are_a_400(api: Api, world: World) -> None:
    """Twilio's ``VirtualStartTime``: "Value can't be in the future or before the year of
    1900"."""
    response = api.post(
        world.path + "/Tasks",
        {"WorkflowSid": world.workflow, "VirtualStartTime": "0999-06-01T00:00:00Z"},
    )
    assert_twilio_error(response, 400)
    assert "VirtualStartTime" in response.json()["message"]


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity"])
def test_attributes_with_nan_are_a_400(api: Api, world: World, value: str) -> None:
    response = api.post(
        world.path + "/Tasks", {"WorkflowSid": world.workflow, "Attributes": f'{{"a": {value}}}'}
    )
    assert_twilio_error(response, 400)
