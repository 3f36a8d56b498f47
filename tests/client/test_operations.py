"""Each operation through its public method: the request sent, and the answer parsed.

The fake API answers with the example responses of Twilio's API description,
so every model is parsed from a realistic, complete resource.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from taskrouter_flask.client import OPERATIONS, TaskRouterClient
from taskrouter_flask.models import Statistics, Task, Workflow

from .conftest import WORKSPACE, FakeApi
from .test_spec_coverage import SPEC_OPS

S = "XX" + "1" * 32
TASK = "WT" + "2" * 32
WORKER = "WK" + "3" * 32
QUEUE = "WQ" + "4" * 32
FLOW = "WW" + "5" * 32
PATH_VALUES = {
    "WorkspaceSid": WORKSPACE,
    "Sid": S,
    "TaskSid": TASK,
    "WorkerSid": WORKER,
    "TaskQueueSid": QUEUE,
    "WorkflowSid": FLOW,
}

Call = Callable[[TaskRouterClient], Any]

CALLS: dict[str, tuple[Call, dict[str, str]]] = {
    # workspaces
    "ListWorkspace": (
        lambda c: list(c.workspaces.list(friendly_name="Support")),
        {"FriendlyName": "Support"},
    ),
    "CreateWorkspace": (
        lambda c: c.workspaces.create(friendly_name="Support", template="FIFO"),
        {"FriendlyName": "Support", "Template": "FIFO"},
    ),
    "FetchWorkspace": (lambda c: c.workspaces.fetch(S), {}),
    "UpdateWorkspace": (
        lambda c: c.workspaces.update(S, multi_task_enabled=True),
        {"MultiTaskEnabled": "true"},
    ),
    "DeleteWorkspace": (lambda c: c.workspaces.delete(S), {}),
    "FetchWorkspaceStatistics": (lambda c: c.workspace_statistics(minutes=30), {"Minutes": "30"}),
    "FetchWorkspaceRealTimeStatistics": (
        lambda c: c.workspace_real_time_statistics(task_channel="voice"),
        {"TaskChannel": "voice"},
    ),
    "FetchWorkspaceCumulativeStatistics": (
        lambda c: c.workspace_cumulative_statistics(split_by_wait_time="5,30"),
        {"SplitByWaitTime": "5,30"},
    ),
    # activities
    "ListActivity": (lambda c: list(c.activities.list(available=True)), {"Available": "true"}),
    "CreateActivity": (
        lambda c: c.activities.create(friendly_name="Idle", available=True),
        {"FriendlyName": "Idle", "Available": "true"},
    ),
    "FetchActivity": (lambda c: c.activities.fetch(S), {}),
    "UpdateActivity": (
        lambda c: c.activities.update(S, friendly_name="Away"),
        {"FriendlyName": "Away"},
    ),
    "DeleteActivity": (lambda c: c.activities.delete(S), {}),
    # events
    "ListEvent": (
        lambda c: list(c.events.list(event_type="reservation.accepted", minutes=60)),
        {"EventType": "reservation.accepted", "Minutes": "60"},
    ),
    "FetchEvent": (lambda c: c.events.fetch(S), {}),
    # task channels
    "ListTaskChannel": (lambda c: list(c.task_channels.list()), {}),
    "CreateTaskChannel": (
        lambda c: c.task_channels.create(friendly_name="Chat", unique_name="chat"),
        {"FriendlyName": "Chat", "UniqueName": "chat"},
    ),
    "FetchTaskChannel": (lambda c: c.task_channels.fetch(S), {}),
    "UpdateTaskChannel": (
        lambda c: c.task_channels.update(S, channel_optimized_routing=False),
        {"ChannelOptimizedRouting": "false"},
    ),
    "DeleteTaskChannel": (lambda c: c.task_channels.delete(S), {}),
    # task queues
    "ListTaskQueue": (
        lambda c: list(c.task_queues.list(friendly_name="Gold")),
        {"FriendlyName": "Gold"},
    ),
    "CreateTaskQueue": (
        lambda c: c.task_queues.create(
            friendly_name="Gold", target_workers="tier == 'gold'", max_reserved_workers=2
        ),
        {"FriendlyName": "Gold", "TargetWorkers": "tier == 'gold'", "MaxReservedWorkers": "2"},
    ),
    "FetchTaskQueue": (lambda c: c.task_queues.fetch(S), {}),
    "UpdateTaskQueue": (
        lambda c: c.task_queues.update(S, task_order="LIFO"),
        {"TaskOrder": "LIFO"},
    ),
    "DeleteTaskQueue": (lambda c: c.task_queues.delete(S), {}),
    "FetchTaskQueueStatistics": (lambda c: c.task_queues.statistics(QUEUE), {}),
    "FetchTaskQueueRealTimeStatistics": (lambda c: c.task_queues.real_time_statistics(QUEUE), {}),
    "FetchTaskQueueCumulativeStatistics": (
        lambda c: c.task_queues.cumulative_statistics(QUEUE, minutes=5),
        {"Minutes": "5"},
    ),
    "ListTaskQueuesStatistics": (lambda c: list(c.task_queues.statistics_of_all()), {}),
    "CreateTaskQueueBulkRealTimeStatistics": (
        lambda c: c.task_queues.real_time_statistics_of_many(task_queue_sids=[QUEUE]),
        {},
    ),
    # workflows
    "ListWorkflow": (lambda c: list(c.workflows.list()), {}),
    "CreateWorkflow": (
        lambda c: c.workflows.create(
            friendly_name="Tickets",
            configuration={"task_routing": {"filters": [], "default_filter": {"queue": QUEUE}}},
            task_reservation_timeout=120,
        ),
        {
            "FriendlyName": "Tickets",
            "Configuration": '{"task_routing":{"filters":[],"default_filter":{"queue":"'
            + QUEUE
            + '"}}}',
            "TaskReservationTimeout": "120",
        },
    ),
    "FetchWorkflow": (lambda c: c.workflows.fetch(S), {}),
    "UpdateWorkflow": (
        lambda c: c.workflows.update(S, re_evaluate_tasks="true"),
        {"ReEvaluateTasks": "true"},
    ),
    "DeleteWorkflow": (lambda c: c.workflows.delete(S), {}),
    "FetchWorkflowStatistics": (lambda c: c.workflows.statistics(FLOW), {}),
    "FetchWorkflowRealTimeStatistics": (lambda c: c.workflows.real_time_statistics(FLOW), {}),
    "FetchWorkflowCumulativeStatistics": (lambda c: c.workflows.cumulative_statistics(FLOW), {}),
    # tasks and their reservations
    "ListTask": (
        lambda c: list(c.tasks.list(assignment_status="pending")),
        {"AssignmentStatus": "pending"},
    ),
    "CreateTask": (
        lambda c: c.tasks.create(
            workflow_sid=FLOW, attributes={"type": "ticket"}, priority=5, timeout=3600
        ),
        {
            "WorkflowSid": FLOW,
            "Attributes": '{"type":"ticket"}',
            "Priority": "5",
            "Timeout": "3600",
        },
    ),
    "FetchTask": (lambda c: c.tasks.fetch(S), {}),
    "UpdateTask": (
        lambda c: c.tasks.update(S, assignment_status="canceled", reason="duplicate"),
        {"AssignmentStatus": "canceled", "Reason": "duplicate"},
    ),
    "DeleteTask": (lambda c: c.tasks.delete(S), {}),
    "ListTaskReservation": (
        lambda c: list(c.tasks.reservations(TASK).list(reservation_status="pending")),
        {"ReservationStatus": "pending"},
    ),
    "FetchTaskReservation": (lambda c: c.tasks.reservations(TASK).fetch(S), {}),
    "UpdateTaskReservation": (
        lambda c: c.tasks.reservations(TASK).update(S, reservation_status="accepted"),
        {"ReservationStatus": "accepted"},
    ),
    # workers, their channels, reservations and statistics
    "ListWorker": (
        lambda c: list(c.workers.list(target_workers_expression="tier == 'gold'")),
        {"TargetWorkersExpression": "tier == 'gold'"},
    ),
    "CreateWorker": (
        lambda c: c.workers.create(friendly_name="Alice", attributes={"tier": "gold"}),
        {"FriendlyName": "Alice", "Attributes": '{"tier":"gold"}'},
    ),
    "FetchWorker": (lambda c: c.workers.fetch(S), {}),
    "UpdateWorker": (
        lambda c: c.workers.update(
            S, activity_sid="WA" + "6" * 32, reject_pending_reservations=True
        ),
        {"ActivitySid": "WA" + "6" * 32, "RejectPendingReservations": "true"},
    ),
    "DeleteWorker": (lambda c: c.workers.delete(S), {}),
    "ListWorkerChannel": (lambda c: list(c.workers.channels(WORKER).list()), {}),
    "FetchWorkerChannel": (lambda c: c.workers.channels(WORKER).fetch(S), {}),
    "UpdateWorkerChannel": (
        lambda c: c.workers.channels(WORKER).update(S, capacity=3, available=True),
        {"Capacity": "3", "Available": "true"},
    ),
    "ListWorkerReservation": (lambda c: list(c.workers.reservations(WORKER).list()), {}),
    "FetchWorkerReservation": (lambda c: c.workers.reservations(WORKER).fetch(S), {}),
    "UpdateWorkerReservation": (
        lambda c: c.workers.reservations(WORKER).update(
            S, instruction="dequeue", dequeue_from="+15005550006"
        ),
        {"Instruction": "dequeue", "DequeueFrom": "+15005550006"},
    ),
    "FetchWorkerStatistics": (
        lambda c: c.workers.statistics_of_all(minutes=10),
        {"Minutes": "10"},
    ),
    "FetchWorkersRealTimeStatistics": (lambda c: c.workers.real_time_statistics_of_all(), {}),
    "FetchWorkersCumulativeStatistics": (lambda c: c.workers.cumulative_statistics_of_all(), {}),
    "FetchWorkerInstanceStatistics": (lambda c: c.workers.statistics(WORKER), {}),
}


def test_the_table_covers_every_operation() -> None:
    assert set(CALLS) == set(OPERATIONS)


def example_answer(name: str) -> tuple[int, Any]:
    _, _, spec = SPEC_OPS[name]
    for status in ("200", "201", "204"):
        answer = spec["responses"].get(status)
        if answer is None:
            continue
        examples = answer.get("content", {}).get("application/json", {}).get("examples", {})
        values = [example["value"] for example in examples.values()]
        return int(status), (values[0] if values else None)
    raise AssertionError(f"{name}: no success answer in the spec")


def expected_path(name: str) -> str:
    path = OPERATIONS[name].path
    for key, value in PATH_VALUES.items():
        path = path.replace("{" + key + "}", value)
    return path


@pytest.mark.parametrize("name", sorted(CALLS))
def test_operation_request_and_answer(api: FakeApi, client: TaskRouterClient, name: str) -> None:
    call, fields = CALLS[name]
    operation = OPERATIONS[name]
    status, body = example_answer(name)
    if operation.paged and isinstance(body, dict):
        body = {**body, "meta": {**body["meta"], "next_page_url": None}}
    api.reply(status, body)
    result = call(client)

    assert len(api.requests) == 1
    sent = api.requests[0]
    assert (sent.method, sent.path) == (operation.method, expected_path(name))
    received = sent.query if operation.method == "GET" else sent.form
    assert {k: received[k] for k in received} == fields
    if operation.json_body:
        assert sent.headers["Content-Type"] == "application/json"
        assert b'"TaskQueueSids"' in sent.body

    if operation.model is None:
        assert result is None
        return
    items = result if isinstance(result, list) else [result]
    assert items, name
    for item in items:
        assert isinstance(item, operation.model)
        assert item.raw  # every field received is kept
        for f in dataclasses.fields(item):
            if (
                f.name in item.raw
                and isinstance(item.raw[f.name], str)
                and f.name.startswith("date")
            ):
                assert getattr(item, f.name).tzinfo is not None


def test_parsed_values_are_typed(api: FakeApi, client: TaskRouterClient) -> None:
    api.reply(200, example_answer("FetchTask")[1])
    task = client.tasks.fetch(S)
    assert isinstance(task, Task)
    assert isinstance(task.attributes, dict)
    assert task.date_created is not None and task.date_created.year == 2014
    api.reply(200, example_answer("FetchWorkflow")[1])
    workflow = client.workflows.fetch(S)
    assert isinstance(workflow, Workflow)
    # The spec's example is a YAML document, which is kept as text.
    assert isinstance(workflow.configuration, str)
    assert workflow.configuration.startswith("task-routing:")
    api.reply(200, example_answer("FetchWorkspaceStatistics")[1])
    stats = client.workspace_statistics()
    assert isinstance(stats, Statistics) and isinstance(stats.cumulative, dict)
