"""Provisioning is idempotent, by friendly name, and routes as the issue describes."""

from __future__ import annotations

from typing import Any

import pytest

from example_app.provisioning import (
    ACTIVITIES,
    EVENTS,
    EVERYONE,
    GOLD,
    MAX_AGENTS,
    QUEUES,
    SPANISH,
    WORKFLOW_NAME,
    WORKSPACE_NAME,
    provision,
    roster,
    workflow_configuration,
)
from taskrouter_flask.expressions import compile_expression

# Nothing listens there: the sandbox's callbacks fail fast, which these tests do not need.
EVENTS_URL = "http://127.0.0.1:9/taskrouter/events"
ASSIGNMENT_URL = "http://127.0.0.1:9/taskrouter/assignment"


def _provision(sandbox: Any, **options: Any) -> Any:
    return provision(
        sandbox.client(), events_url=EVENTS_URL, assignment_url=ASSIGNMENT_URL, **options
    )


def _counts(sandbox: Any, workspace_sid: str) -> dict[str, int]:
    client = sandbox.client(workspace_sid)
    return {
        "workspaces": len(list(sandbox.client().workspaces.list())),
        "activities": len(list(client.activities.list())),
        "queues": len(list(client.task_queues.list())),
        "workflows": len(list(client.workflows.list())),
        "workers": len(list(client.workers.list())),
    }


def test_first_run_creates_everything(sandbox: Any) -> None:
    provisioned = _provision(sandbox, agents=5)
    client = sandbox.client(provisioned.workspace_sid)
    workspace = client.workspaces.fetch(provisioned.workspace_sid)
    assert workspace.friendly_name == WORKSPACE_NAME
    assert workspace.event_callback_url == EVENTS_URL
    assert workspace.events_filter == ",".join(EVENTS)
    assert workspace.timeout_activity_sid == provisioned.activities["Offline"]
    assert workspace.default_activity_sid == provisioned.activities["Offline"]
    activities = {a.friendly_name: a.available for a in client.activities.list()}
    for name, available in ACTIVITIES:
        assert activities[name] is available
    queues = {q.friendly_name: q for q in client.task_queues.list()}
    assert {name: queues[name].target_workers for name in (GOLD, SPANISH, EVERYONE)} == {
        GOLD: "skills HAS 'premium'",
        SPANISH: "languages HAS 'es'",
        EVERYONE: "1==1",
    }
    assert queues[EVERYONE].max_reserved_workers == 2
    workflow = client.workflows.fetch(provisioned.workflow_sid)
    assert workflow.friendly_name == WORKFLOW_NAME
    assert workflow.assignment_callback_url == ASSIGNMENT_URL
    workers = {w.friendly_name: w for w in client.workers.list()}
    assert sorted(workers) == sorted(provisioned.workers)
    assert workers["Alice"].attributes == {}  # a list leaves attributes out
    alice = client.workers.fetch(workers["Alice"].sid).attributes
    assert set(alice) >= {"skills", "languages", "level", "handled_today"}
    assert "created workspace Support" in provisioned.changes


def test_a_second_run_changes_nothing_and_finds_the_same_sids(sandbox: Any) -> None:
    first = _provision(sandbox, agents=5)
    before = _counts(sandbox, first.workspace_sid)
    events = len(sandbox.engine.events)

    second = _provision(sandbox, agents=5)

    assert second == first
    assert second.changes == ()
    assert _counts(sandbox, first.workspace_sid) == before
    assert len(sandbox.engine.events) == events  # not even an update


def test_drift_is_repaired_and_new_agents_are_added(sandbox: Any) -> None:
    first = _provision(sandbox, agents=4)
    client = sandbox.client(first.workspace_sid)
    client.task_queues.update(first.queues[GOLD], target_workers="1==1")
    alice = first.workers["Alice"]
    client.workers.update(alice, attributes={"skills": [], "handled_today": 9})

    second = _provision(sandbox, agents=6, gold_timeout=45)

    assert "updated queue Gold Tickets" in second.changes
    assert "updated workflow Support Desk" in second.changes
    assert "updated worker Alice" in second.changes
    assert {"created worker Farid", "created worker Esperanza"} <= set(second.changes)
    assert client.task_queues.fetch(first.queues[GOLD]).target_workers == "skills HAS 'premium'"
    # The roster's attributes come back; the day's tally stays the worker's own.
    attributes = client.workers.fetch(alice).attributes
    assert "premium" in attributes["skills"] and attributes["handled_today"] == 9
    assert second.workflow_sid == first.workflow_sid
    assert len(list(client.workers.list())) == 6


def test_a_new_callback_url_updates_the_workspace_and_the_workflow(sandbox: Any) -> None:
    first = _provision(sandbox, agents=3)
    second = provision(
        sandbox.client(),
        events_url="http://127.0.0.1:9/other/events",
        assignment_url="http://127.0.0.1:9/other/assignment",
        agents=3,
    )
    client = sandbox.client(first.workspace_sid)
    assert second.changes == ("updated workspace Support", "updated workflow Support Desk")
    assert client.workspaces.fetch(first.workspace_sid).event_callback_url.endswith("/other/events")
    workflow = client.workflows.fetch(first.workflow_sid)
    assert workflow.assignment_callback_url == "http://127.0.0.1:9/other/assignment"


@pytest.mark.parametrize(
    ("attributes", "queue"),
    [
        ({"type": "ticket", "customer_value": "Gold"}, GOLD),
        ({"type": "call", "customer_value": "Gold", "selected_language": "es"}, SPANISH),
        ({"type": "ticket", "customer_value": "Silver", "selected_language": "es"}, SPANISH),
        ({"type": "chat", "customer_value": "Bronze", "selected_language": "en"}, EVERYONE),
    ],
)
def test_the_workflow_routes_each_kind_of_task(
    sandbox: Any, attributes: dict[str, Any], queue: str
) -> None:
    provisioned = _provision(sandbox, agents=3)
    client = sandbox.client(provisioned.workspace_sid)
    task = client.tasks.create(workflow_sid=provisioned.workflow_sid, attributes=attributes)
    assert client.tasks.fetch(task.sid).task_queue_sid == provisioned.queues[queue]


def test_a_gold_ticket_nobody_takes_escalates_to_everyone(sandbox: Any) -> None:
    provisioned = _provision(sandbox, agents=3, gold_timeout=30)
    client = sandbox.client(provisioned.workspace_sid)
    offline = provisioned.activities["Offline"]
    for sid in provisioned.workers.values():
        client.workers.update(sid, activity_sid=offline)
    task = client.tasks.create(
        workflow_sid=provisioned.workflow_sid,
        attributes={"type": "ticket", "customer_value": "Gold"},
    )
    sandbox.advance(29)
    assert client.tasks.fetch(task.sid).task_queue_sid == provisioned.queues[GOLD]
    sandbox.advance(1)
    assert client.tasks.fetch(task.sid).task_queue_sid == provisioned.queues[EVERYONE]


def test_the_workflow_configuration_is_valid() -> None:
    sids = {spec.name: "WQ" + f"{n:032x}" for n, spec in enumerate(QUEUES)}
    config = workflow_configuration(sids, gold_timeout=30)
    assert config.validate() == []
    gold = config.filters[0]
    assert gold.expression == "customer_value == 'Gold' AND type == 'ticket'"
    assert [t.queue for t in gold.targets] == [sids[GOLD], sids[EVERYONE]]
    assert gold.targets[0].timeout == 30


@pytest.mark.parametrize("agents", [3, 4, 12, MAX_AGENTS])
def test_every_roster_of_three_or_more_serves_every_queue(agents: int) -> None:
    profiles = roster(agents, daily_limit=25)
    assert len({p.name for p in profiles}) == agents
    for spec in QUEUES:
        target = compile_expression(spec.target_workers)
        assert any(target.evaluate(p.attributes()) for p in profiles), spec.name
    assert all(0 <= p.handled_today < 25 for p in profiles)


def test_a_roster_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError, match="agents: expected 1 to 30"):
        roster(MAX_AGENTS + 1, daily_limit=25)
