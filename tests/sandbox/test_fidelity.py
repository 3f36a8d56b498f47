"""The sandbox behaves as Twilio documents TaskRouter, parameter by parameter.

Each test names the passage it rests on (pages under twilio.com/docs/taskrouter/, and the
parameter descriptions of Twilio's OpenAPI description of TaskRouter v1). Routing rules are
tested through the engine; what a client sends is tested over real HTTP through our client
and through Twilio's helper library. ``docs/sandbox-fidelity.md`` lists the same rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import requests

from taskrouter_flask.client import InvalidRequest, TaskRouterClient
from taskrouter_flask.sandbox import InvalidArgument
from taskrouter_flask.sandbox.clock import ManualClock
from taskrouter_flask.sandbox.server import Sandbox
from taskrouter_flask.sandbox.state import ReservationStatus, TaskStatus
from taskrouter_flask.workflow import Filter, Target, WorkflowConfiguration

from .conftest import Workspace, WorkspaceFactory

PENDING = ReservationStatus.PENDING


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(clock=ManualClock()) as server:
        yield server


@pytest.fixture
def client(sandbox: Sandbox) -> TaskRouterClient:
    workspace = sandbox.client().workspaces.create(friendly_name="Fidelity")
    return sandbox.client(workspace.sid)


def _raw(sandbox: Sandbox, method: str, path: str, **fields: str) -> requests.Response:
    """A request as any HTTP client would send it, form fields spelled by hand."""
    return requests.request(
        method,
        f"{sandbox.base_url}/v1/{path}",
        data=fields if method == "POST" else None,
        params=fields if method == "GET" else None,
        auth=(sandbox.account_sid, sandbox.auth_token),
        timeout=10,
    )


# -- workspaces (api/workspace; CreateWorkspace in the API description) --------------------


def test_a_new_workspace_is_multi_tasking(client: TaskRouterClient) -> None:
    """``MultiTaskEnabled``: "all workspaces should be created as multi-tasking. The default
    is `true`"."""
    assert client.workspaces.fetch(client.workspace_sid or "").multi_task_enabled is True


@pytest.mark.parametrize(("template", "queues", "workflows"), [("NONE", 0, 0), ("FIFO", 1, 1)])
def test_templates(sandbox: Sandbox, template: str, queues: int, workflows: int) -> None:
    """``Template``: "Can be: `NONE` or `FIFO` and the default is `NONE`"; NONE gives "only
    a set of default activities"."""
    created = _raw(sandbox, "POST", "Workspaces", FriendlyName="T", Template=template)
    assert created.status_code == 201, created.text
    sid = created.json()["sid"]
    assert len(_raw(sandbox, "GET", f"Workspaces/{sid}/TaskQueues").json()["task_queues"]) == queues
    assert len(_raw(sandbox, "GET", f"Workspaces/{sid}/Workflows").json()["workflows"]) == workflows
    names = [
        a["friendly_name"]
        for a in _raw(sandbox, "GET", f"Workspaces/{sid}/Activities").json()["activities"]
    ]
    assert names == ["Offline", "Available", "Unavailable"]


def test_an_unknown_template_names_the_choices(sandbox: Sandbox) -> None:
    response = _raw(sandbox, "POST", "Workspaces", FriendlyName="T", Template="LIFO")
    assert response.status_code == 400
    assert "Template: expected one of NONE, FIFO" in response.json()["message"]


def test_a_multi_tasking_workspace_stays_so_without_a_legacy_one(sandbox: Sandbox) -> None:
    """UpdateWorkspace ``MultiTaskEnabled``: "A multi-tasking Workspace can't be updated to
    single-tasking unless ... another (legacy) single-tasking Workspace exists"."""
    fresh = Sandbox(clock=ManualClock())
    with fresh:
        admin = fresh.client()
        workspace = admin.workspaces.create(friendly_name="Multi")
        with pytest.raises(InvalidRequest, match="MultiTaskEnabled"):
            admin.workspaces.update(workspace.sid, multi_task_enabled=False)
        admin.workspaces.create(friendly_name="Legacy", multi_task_enabled=False)
        assert (
            admin.workspaces.update(workspace.sid, multi_task_enabled=False).multi_task_enabled
            is False
        )


@pytest.mark.parametrize("resource", ["Workspaces", "Activities", "Workers", "TaskChannels"])
def test_names_are_at_most_64_characters(
    sandbox: Sandbox, client: TaskRouterClient, resource: str
) -> None:
    """``FriendlyName`` of workspaces, activities, workers and task channels: "It can be up to
    64 characters long"."""
    path = resource if resource == "Workspaces" else f"Workspaces/{client.workspace_sid}/{resource}"
    extra = {"UniqueName": "x" * 8} if resource == "TaskChannels" else {}
    response = _raw(sandbox, "POST", path, FriendlyName="n" * 65, **extra)
    assert response.status_code == 400
    assert "FriendlyName: at most 64 characters, got 65" in response.json()["message"]
    assert _raw(sandbox, "POST", path, FriendlyName="n" * 64, **extra).status_code == 201


# -- booleans (api/activity, api/worker, api/task) --------------------------------------------


@pytest.mark.parametrize(
    ("value", "available"),
    [
        ("true", True),
        ("1", True),
        ("yes", True),
        ("YES", True),
        ("false", False),
        ("0", False),
        ("no", False),
        ("anything", False),
    ],
)
def test_available_reads_true_1_yes_as_true_and_the_rest_as_false(
    sandbox: Sandbox, client: TaskRouterClient, value: str, available: bool
) -> None:
    """CreateActivity ``Available``: "A value of `true`, `1`, or `yes` specifies the Activity
    is available. All other values specify that it is not"; the worker list filter reads it
    the same way."""
    path = f"Workspaces/{client.workspace_sid}"
    created = _raw(sandbox, "POST", f"{path}/Activities", FriendlyName="A", Available=value)
    assert created.status_code == 201
    assert created.json()["available"] is available
    client.workers.create(friendly_name="w", activity_sid=created.json()["sid"])
    listed = _raw(sandbox, "GET", f"{path}/Workers", Available=value).json()["workers"]
    assert [w["friendly_name"] for w in listed] == ["w"]
    assert all(w["available"] is available for w in listed)


def test_other_booleans_take_1_and_0_and_refuse_nonsense(
    sandbox: Sandbox, client: TaskRouterClient
) -> None:
    path = f"Workspaces/{client.workspace_sid}"
    assert _raw(sandbox, "POST", path, MultiTaskEnabled="1").json()["multi_task_enabled"] is True
    refused = _raw(sandbox, "POST", path, MultiTaskEnabled="maybe")
    assert refused.status_code == 400
    assert "MultiTaskEnabled: expected true or false" in refused.json()["message"]


# -- lists (api/task, api/worker) ---------------------------------------------------------------


def test_lists_leave_attributes_out_and_a_fetch_has_them(
    sandbox: Sandbox, client: TaskRouterClient
) -> None:
    """Task and Worker ``attributes``: "it will only be displayed in FETCH action that returns
    a single resource. Otherwise, it will be null"."""
    worker = client.workers.create(friendly_name="alice", attributes={"skill": "x"})
    path = f"Workspaces/{client.workspace_sid}/Workers"
    (listed,) = _raw(sandbox, "GET", path).json()["workers"]
    assert listed["attributes"] is None
    assert json.loads(_raw(sandbox, "GET", f"{path}/{worker.sid}").json()["attributes"]) == {
        "skill": "x"
    }
    assert client.workers.fetch(worker.sid).attributes == {"skill": "x"}
    (model,) = client.workers.list()
    assert model.attributes == {}


def test_task_list_ordering(sandbox: Sandbox, client: TaskRouterClient) -> None:
    """ListTask ``Ordering``: "`Attribute` can be either `DateCreated`, `Priority`, or
    `VirtualStartTime` ... The only ordering pairing not allowed is DateCreated and
    VirtualStartTime"."""
    queue = client.task_queues.create(friendly_name="q")
    now = sandbox.clock.now()
    first = client.tasks.create(task_queue_sid=queue.sid, priority=1)
    second = client.tasks.create(
        task_queue_sid=queue.sid, priority=5, virtual_start_time=now - timedelta(hours=1)
    )
    path = f"Workspaces/{client.workspace_sid}/Tasks"

    def order(value: str) -> list[str]:
        return [t["sid"] for t in _raw(sandbox, "GET", path, Ordering=value).json()["tasks"]]

    assert order("VirtualStartTime:asc") == [second.sid, first.sid]
    assert order("DateCreated:asc") == [first.sid, second.sid]
    assert order("Priority:desc,DateCreated:asc") == [second.sid, first.sid]
    refused = _raw(sandbox, "GET", path, Ordering="DateCreated:asc,VirtualStartTime:desc")
    assert refused.status_code == 400
    assert "cannot be combined" in refused.json()["message"]


@pytest.mark.parametrize("resource", ["Workers", "TaskQueues"])
def test_worker_and_queue_ordering_sorts_or_refuses(
    sandbox: Sandbox, client: TaskRouterClient, resource: str
) -> None:
    path = f"Workspaces/{client.workspace_sid}/{resource}"
    for name in ("b", "a", "c"):
        _raw(sandbox, "POST", path, FriendlyName=name)
    key = "workers" if resource == "Workers" else "task_queues"

    def names(value: str) -> list[str]:
        response = _raw(sandbox, "GET", path, Ordering=value)
        return [item["friendly_name"] for item in response.json()[key]]

    assert names("FriendlyName:asc") == ["a", "b", "c"]
    assert names("DateCreated:desc") == ["c", "a", "b"]
    refused = _raw(sandbox, "GET", path, Ordering="Size:asc")
    assert refused.status_code == 400
    assert "Ordering: expected" in refused.json()["message"]


# -- tasks: RoutingTarget and IgnoreCapacity (api/task) ----------------------------------------


def test_routing_target_a_worker_reserves_that_worker_at_once(
    sandbox: Sandbox, client: TaskRouterClient
) -> None:
    """CreateTask ``RoutingTarget``: "A SID of a Worker, Queue, or Workflow to route a Task
    to"; ``IgnoreCapacity``: "The default value of `IgnoreCapacity` is `true` when the
    `RoutingTarget` is set to a Worker SID" and routes it "without respecting their capacity
    and availability"."""
    offline = client.workers.create(friendly_name="offline")  # the default activity: Offline
    task = client.tasks.create(routing_target=offline.sid, attributes={"kind": "callback"})
    assert task.ignore_capacity is True
    assert task.task_queue_sid is None and task.workflow_sid is None
    (reservation,) = client.tasks.reservations(task.sid).list()
    assert reservation.worker_sid == offline.sid
    assert client.tasks.fetch(task.sid).assignment_status == "reserved"


def test_routing_target_a_worker_with_capacity_respected_waits_for_them(
    ws: Workspace,
) -> None:
    alice = ws.add_worker("alice", activity="Offline")
    ws.add_worker("bob")

    task = ws.engine.create_task(ws.sid, routing_target=alice.sid, ignore_capacity=False)

    assert task.status is TaskStatus.PENDING
    ws.set_activity("alice", "Available")
    assert ws.holder(task) == "alice"


def test_routing_target_a_worker_through_a_workflow_offers_only_them(ws: Workspace) -> None:
    ws.add_queue("support")
    workflow = ws.add_workflow(default="support")
    ws.add_worker("alice")
    bob = ws.add_worker("bob")

    task = ws.engine.create_task(ws.sid, workflow_sid=workflow.sid, routing_target=bob.sid)

    assert task.task_queue_sid == ws.queues["support"].sid
    assert ws.holder(task) == "bob"


def test_routing_target_a_queue_or_a_workflow(sandbox: Sandbox, client: TaskRouterClient) -> None:
    gold = client.task_queues.create(friendly_name="gold")
    other = client.task_queues.create(friendly_name="other")
    config = WorkflowConfiguration(default_filter=_target(other.sid))
    for name in ("one", "two"):  # two workflows: WorkflowSid would be required
        client.workflows.create(friendly_name=name, configuration=config)
    workflow = next(iter(client.workflows.list(friendly_name="two")))

    straight = client.tasks.create(routing_target=gold.sid)
    routed = client.tasks.create(routing_target=workflow.sid)

    assert (straight.task_queue_sid, straight.workflow_sid) == (gold.sid, None)
    assert (routed.task_queue_sid, routed.workflow_sid) == (other.sid, workflow.sid)
    listed = client.tasks.list(routing_target=gold.sid)
    assert [t.sid for t in listed] == [straight.sid]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"RoutingTarget": "XX" + "0" * 32}, "RoutingTarget: expected the SID of a worker"),
        ({"RoutingTarget": "WK" + "0" * 32}, "not found"),
        ({"IgnoreCapacity": "true"}, "IgnoreCapacity: only for a task whose RoutingTarget"),
    ],
)
def test_routing_target_refusals(
    sandbox: Sandbox, client: TaskRouterClient, fields: dict[str, str], message: str
) -> None:
    response = _raw(sandbox, "POST", f"Workspaces/{client.workspace_sid}/Tasks", **fields)
    assert response.status_code in (400, 404)
    assert message in response.json()["message"]


def test_routing_target_through_twilios_library(sandbox: Sandbox, client: TaskRouterClient) -> None:
    twilio = pytest.importorskip("twilio.rest")
    library = twilio.Client(sandbox.account_sid, sandbox.auth_token)
    library.taskrouter.base_url = sandbox.base_url
    worker = client.workers.create(friendly_name="target")
    task = library.taskrouter.v1.workspaces(client.workspace_sid).tasks.create(
        routing_target=worker.sid, attributes=json.dumps({"kind": "direct"})
    )
    assert (task.routing_target, task.ignore_capacity, task.assignment_status) == (
        worker.sid,
        True,
        "reserved",
    )


# -- queues (api/task-queue, queue-ordering-last-first-out-lifo) --------------------------------


def test_prioritize_queue_order_serves_that_kind_of_queue_first(
    make_workspace: WorkspaceFactory,
) -> None:
    """Workspace ``PrioritizeQueueOrder``: which kind of queue (FIFO or LIFO) a worker in both
    is served from first."""
    for preferred in ("FIFO", "LIFO"):
        ws = make_workspace(prioritize_queue_order=preferred)
        ws.add_queue("fifo", task_order="FIFO")
        ws.add_queue("lifo", task_order="LIFO")
        ws.add_workflow(
            default="fifo",
            filters=[Filter("kind == 'lifo'", (ws.target("lifo"),))],
        )
        fifo_task = ws.task(attributes={"kind": "fifo"})
        ws.engine.advance(seconds=1)
        lifo_task = ws.task(attributes={"kind": "lifo"})
        ws.add_worker("alice")
        expected = fifo_task if preferred == "FIFO" else lifo_task
        assert [r.task_sid for r in ws.engine.reservations_of_worker(ws.workers["alice"].sid)] == [
            expected.sid
        ]


def test_a_target_timeout_written_as_text_is_read(ws: Workspace) -> None:
    """workflow-configuration shows ``"timeout": "<duration>"`` quoted, like ``priority``."""
    ws.add_queue("first")
    ws.add_queue("second")
    ws.add_workflow(
        default="second",
        filters=[
            Filter("1 == 1", (ws.target("first", timeout="30", priority="4"), ws.target("second")))
        ],
    )
    task = ws.task()
    assert (task.task_queue_sid, task.priority) == (ws.queues["first"].sid, 4)
    ws.engine.advance(seconds=30)
    assert task.task_queue_sid == ws.queues["second"].sid


def test_the_guides_old_task_creation_field_is_accepted_when_harmless(
    sandbox: Sandbox, client: TaskRouterClient
) -> None:
    """The seed Ruby guide creates a task with ``assignment_status: 'pending'``."""
    client.task_queues.create(friendly_name="q")
    workflow_config = WorkflowConfiguration(
        default_filter=_target(next(iter(client.task_queues.list())).sid)
    )
    client.workflows.create(friendly_name="only", configuration=workflow_config)
    path = f"Workspaces/{client.workspace_sid}/Tasks"
    created = _raw(sandbox, "POST", path, Attributes="{}", AssignmentStatus="pending")
    assert created.status_code == 201
    refused = _raw(sandbox, "POST", path, Attributes="{}", AssignmentStatus="assigned")
    assert refused.status_code == 400
    assert "AssignmentStatus: CreateTask accepts it only as pending" in refused.json()["message"]


def test_virtual_start_time_in_the_future_is_refused_over_http(client: TaskRouterClient) -> None:
    queue = client.task_queues.create(friendly_name="q")
    with pytest.raises(InvalidRequest, match="VirtualStartTime: cannot be in the future"):
        client.tasks.create(
            task_queue_sid=queue.sid, virtual_start_time=client_now(client) + timedelta(days=1)
        )


def client_now(client: TaskRouterClient) -> Any:
    return client.workspaces.fetch(client.workspace_sid or "").date_created


def _target(queue_sid: str) -> Target:
    return Target(queue=queue_sid)


def test_engine_refuses_ignore_capacity_without_a_worker_target(ws: Workspace) -> None:
    ws.add_queue("q")
    ws.add_workflow(default="q")
    with pytest.raises(InvalidArgument, match="IgnoreCapacity"):
        ws.task(ignore_capacity=True)
