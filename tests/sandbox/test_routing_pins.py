"""A task that names its worker: ``known_worker_sid``, ``known_worker_friendly_name`` and a
worker ``RoutingTarget``, each narrowing the candidates to one worker (or to none).

Routing checks these before a worker's capacity and the target's expression; the cases
here are the edges of that narrowing (a missing attribute, a value that is no SID, two
names that disagree), read through :meth:`Routing.candidates` and through the offers made.
"""

from __future__ import annotations

from typing import Any

import pytest

from taskrouter_flask.sandbox.state import TaskStatus

from .conftest import Workspace


@pytest.fixture
def pinned(ws: Workspace) -> Workspace:
    """A queue everyone is in, and three free workers."""
    ws.add_queue("everyone")
    for name in ("alice", "bob", "carol"):
        ws.add_worker(name)
    return ws


def test_known_worker_friendly_name_narrows_to_that_worker(pinned: Workspace) -> None:
    pinned.add_workflow(default=pinned.target("everyone", known_worker_friendly_name="task.who"))
    task = pinned.task(attributes={"who": "carol"})
    assert pinned.holder(task) == "carol"


def test_a_missing_known_worker_attribute_names_no_one(pinned: Workspace) -> None:
    """Without the attribute the task is not pinned: anyone in the queue may take it."""
    pinned.add_workflow(default=pinned.target("everyone", known_worker_sid="task.agent"))
    task = pinned.task(attributes={})
    assert pinned.holder(task) == "alice"


@pytest.mark.parametrize("value", [7, ["WK"], {"sid": "WK"}, True, "WK" + "0" * 32])
def test_a_known_worker_sid_that_is_no_workers_sid_matches_no_one(
    pinned: Workspace, value: Any
) -> None:
    pinned.add_workflow(default=pinned.target("everyone", known_worker_sid="task.agent"))
    task = pinned.task(attributes={"agent": value})
    assert task.status is TaskStatus.PENDING
    assert pinned.engine.routing.candidates(task, pinned.queues["everyone"]) == []


def test_a_routing_target_and_a_known_worker_that_disagree_match_no_one(
    pinned: Workspace,
) -> None:
    workflow = pinned.add_workflow(default=pinned.target("everyone", known_worker_sid="task.agent"))
    bob, carol = pinned.workers["bob"], pinned.workers["carol"]
    task = pinned.task(
        attributes={"agent": bob.sid}, routing_target=carol.sid, workflow_sid=workflow.sid
    )
    assert task.status is TaskStatus.PENDING
    agreeing = pinned.task(
        attributes={"agent": carol.sid}, routing_target=carol.sid, workflow_sid=workflow.sid
    )
    assert pinned.holder(agreeing) == "carol"


def test_candidates_for_one_worker_answer_whether_that_worker_may(pinned: Workspace) -> None:
    pinned.add_workflow(default=pinned.target("everyone", known_worker_friendly_name="task.who"))
    pinned.set_activity("bob", "Offline")
    task = pinned.task(attributes={"who": "bob"})
    assert task.status is TaskStatus.PENDING  # alice and carol are free, but it is bob's
    routing, queue = pinned.engine.routing, pinned.queues["everyone"]
    assert routing.candidates(task, queue, only=pinned.workers["alice"]) == []
    assert routing.candidates(task, queue, only=pinned.workers["bob"]) == []  # offline
    pinned.set_activity("bob", "Available")
    assert pinned.holder(task) == "bob"
