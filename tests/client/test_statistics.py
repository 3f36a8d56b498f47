"""The statistics methods' one naming scheme, and the former names kept for one release.

``statistics(sid)`` is one member's, ``statistics_of_all()`` the whole collection's,
``real_time_statistics_of_many(...)`` several named queues'; ``real_time_`` and
``cumulative_`` ask for one half. The former names still work, warn, and send exactly
the request of the name that replaces them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from taskrouter_flask.client import OPERATIONS, TaskRouterClient

from .conftest import WORKSPACE, FakeApi

QUEUE = "WQ" + "4" * 32
WORKER = "WK" + "3" * 32
FLOW = "WW" + "5" * 32

Call = Callable[[TaskRouterClient], Any]

#: Former name -> (a call by the former name, the same call by the new name, the new name).
RENAMED: dict[str, tuple[Call, Call, str]] = {
    "TaskQueues.list_statistics()": (
        lambda c: list(c.task_queues.list_statistics(friendly_name="Gold", minutes=30)),
        lambda c: list(c.task_queues.statistics_of_all(friendly_name="Gold", minutes=30)),
        "TaskQueues.statistics_of_all()",
    ),
    "TaskQueues.bulk_real_time_statistics(body)": (
        lambda c: c.task_queues.bulk_real_time_statistics({"TaskQueueSids": [QUEUE]}),
        lambda c: c.task_queues.real_time_statistics_of_many(task_queue_sids=[QUEUE]),
        "TaskQueues.real_time_statistics_of_many(task_queue_sids=[...])",
    ),
    "Workers.statistics() without a worker SID": (
        lambda c: c.workers.statistics(minutes=10, task_queue_sid=QUEUE),
        lambda c: c.workers.statistics_of_all(minutes=10, task_queue_sid=QUEUE),
        "Workers.statistics_of_all()",
    ),
    "Workers.real_time_statistics()": (
        lambda c: c.workers.real_time_statistics(task_channel="voice"),
        lambda c: c.workers.real_time_statistics_of_all(task_channel="voice"),
        "Workers.real_time_statistics_of_all()",
    ),
    "Workers.cumulative_statistics()": (
        lambda c: c.workers.cumulative_statistics(minutes=5),
        lambda c: c.workers.cumulative_statistics_of_all(minutes=5),
        "Workers.cumulative_statistics_of_all()",
    ),
    "Workers.instance_statistics()": (
        lambda c: c.workers.instance_statistics(WORKER, minutes=60),
        lambda c: c.workers.statistics(WORKER, minutes=60),
        "Workers.statistics(sid)",
    ),
}

EMPTY_PAGE = {
    "task_queues_statistics": [],
    "meta": {"key": "task_queues_statistics", "next_page_url": None},
}


def _answer(api: FakeApi, call: str) -> None:
    api.reply(200, EMPTY_PAGE if "list_statistics" in call else {})


@pytest.mark.parametrize("old", sorted(RENAMED))
def test_a_former_name_warns_and_sends_what_its_new_name_sends(
    api: FakeApi, client: TaskRouterClient, old: str
) -> None:
    by_old_name, by_new_name, new = RENAMED[old]
    _answer(api, old)
    with pytest.warns(DeprecationWarning) as warned:
        by_old_name(client)
    (warning,) = warned
    message = str(warning.message)
    assert message.startswith(f"{old} is deprecated and will be removed in the next release")
    assert message.endswith(f"use {new}")
    assert warning.filename == __file__  # it points at the caller, not at the client

    _answer(api, old)
    by_new_name(client)
    sent_old, sent_new = api.requests
    assert (sent_old.method, sent_old.path) == (sent_new.method, sent_new.path)
    assert sent_old.query == sent_new.query
    assert sent_old.form == sent_new.form
    assert sent_old.body == sent_new.body


def test_the_new_names_cover_every_statistics_operation(
    api: FakeApi, client: TaskRouterClient
) -> None:
    """Each statistics operation has exactly one method by the new scheme."""
    calls: dict[str, Call] = {
        "FetchWorkspaceStatistics": lambda c: c.workspaces.statistics(WORKSPACE),
        "FetchWorkspaceRealTimeStatistics": lambda c: c.workspaces.real_time_statistics(WORKSPACE),
        "FetchWorkspaceCumulativeStatistics": lambda c: c.workspaces.cumulative_statistics(
            WORKSPACE
        ),
        "FetchWorkflowStatistics": lambda c: c.workflows.statistics(FLOW),
        "FetchWorkflowRealTimeStatistics": lambda c: c.workflows.real_time_statistics(FLOW),
        "FetchWorkflowCumulativeStatistics": lambda c: c.workflows.cumulative_statistics(FLOW),
        "FetchTaskQueueStatistics": lambda c: c.task_queues.statistics(QUEUE),
        "FetchTaskQueueRealTimeStatistics": lambda c: c.task_queues.real_time_statistics(QUEUE),
        "FetchTaskQueueCumulativeStatistics": lambda c: c.task_queues.cumulative_statistics(QUEUE),
        "ListTaskQueuesStatistics": lambda c: list(c.task_queues.statistics_of_all()),
        "CreateTaskQueueBulkRealTimeStatistics": lambda c: (
            c.task_queues.real_time_statistics_of_many(task_queue_sids=(QUEUE,))
        ),
        "FetchWorkerInstanceStatistics": lambda c: c.workers.statistics(WORKER),
        "FetchWorkerStatistics": lambda c: c.workers.statistics_of_all(),
        "FetchWorkersRealTimeStatistics": lambda c: c.workers.real_time_statistics_of_all(),
        "FetchWorkersCumulativeStatistics": lambda c: c.workers.cumulative_statistics_of_all(),
    }
    assert set(calls) == {name for name in OPERATIONS if name.endswith("Statistics")}
    sids = {"WorkspaceSid": WORKSPACE, "WorkflowSid": FLOW, "TaskQueueSid": QUEUE}
    for name, call in calls.items():
        api.reply(200, EMPTY_PAGE if name.startswith("List") else {})
        call(client)
        sent = api.requests[-1]
        operation = OPERATIONS[name]
        expected = operation.path.format(**sids, WorkerSid=WORKER)
        assert (sent.method, sent.path) == (operation.method, expected), name


def test_bulk_real_time_statistics_take_a_sequence_of_sids(
    api: FakeApi, client: TaskRouterClient
) -> None:
    api.reply(200, {})
    client.task_queues.real_time_statistics_of_many(task_queue_sids=[QUEUE, "WQ" + "6" * 32])
    assert api.requests[0].body == (
        b'{"TaskQueueSids": ["' + QUEUE.encode() + b'", "WQ' + b"6" * 32 + b'"]}'
    )
    for wrong in (QUEUE, [QUEUE, 7]):
        with pytest.raises(TypeError, match="task_queue_sids: expected a sequence"):
            client.task_queues.real_time_statistics_of_many(task_queue_sids=wrong)  # type: ignore[arg-type]
    assert len(api.requests) == 1  # refused before any request


def test_one_workers_statistics_take_no_worker_filters(
    api: FakeApi, client: TaskRouterClient
) -> None:
    """One worker's statistics are a window only; the filters are the whole collection's."""
    with pytest.raises(TypeError, match="task_queue_sid"):
        client.workers.statistics(WORKER, task_queue_sid=QUEUE)
    assert api.requests == []
