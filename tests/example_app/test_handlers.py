"""The desk's handlers: the daily-limit rule per queue, and events feeding the dashboard."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from example_app.dashboard import DashboardState
from example_app.handlers import DESK_NUMBER, Handlers, Rules
from taskrouter_flask import Event, accept, dequeue, reject
from taskrouter_flask.testing import make_assignment, make_sid

from .conftest import WORKSPACE, event

OFFLINE = make_sid("WA")


@pytest.fixture
def handlers() -> Handlers:
    rules = Rules(daily_limit=25, offline_sid=OFFLINE)
    return Handlers(DashboardState(), rules=rules)


def _assignment(kind: str, handled: int, **task: Any) -> Any:
    return make_assignment(
        task_attributes={"type": kind, "customer_value": "Gold", **task},
        worker_attributes={"skills": ["premium"], "handled_today": handled},
    )


@pytest.mark.parametrize("handler", ["gold_ticket", "spanish", "everyone"])
def test_an_agent_at_the_daily_limit_is_rejected_and_sent_offline(
    handlers: Handlers, handler: str
) -> None:
    answer = getattr(handlers, handler)(_assignment("ticket", handled=25))
    assert answer == reject(activity_sid=OFFLINE)


@pytest.mark.parametrize("handler", ["gold_ticket", "spanish", "everyone"])
def test_an_agent_under_the_limit_gets_a_ticket(handlers: Handlers, handler: str) -> None:
    assert getattr(handlers, handler)(_assignment("ticket", handled=24)) == accept()


def test_a_worker_without_a_tally_is_under_the_limit(handlers: Handlers) -> None:
    assignment = make_assignment(task_attributes={"type": "ticket"})
    assert handlers.gold_ticket(assignment) == accept()


def test_a_call_is_dequeued_to_the_agent(handlers: Handlers) -> None:
    answer = handlers.everyone(_assignment("call", handled=0, call_sid=make_sid("CA")))
    assert answer == dequeue(from_=DESK_NUMBER)
    assert answer is not None
    assert answer.to_dict() == {"instruction": "dequeue", "from": DESK_NUMBER}


def test_a_call_without_a_call_sid_is_accepted(handlers: Handlers) -> None:
    assert handlers.spanish(_assignment("call", handled=0)) == accept()


def test_a_chat_is_left_pending_to_ring_on_the_desktop(handlers: Handlers) -> None:
    assert handlers.spanish(_assignment("chat", handled=3)) is None
    assert handlers.everyone(_assignment("chat", handled=3)) is None


def test_without_rules_an_assignment_handler_says_so() -> None:
    with pytest.raises(RuntimeError, match="not provisioned"):
        Handlers(DashboardState()).gold_ticket(_assignment("ticket", handled=0))


def test_events_feed_the_dashboard_then_the_listeners_once(handlers: Handlers) -> None:
    heard: list[Event] = []
    handlers.listeners.append(heard.append)
    created = event("task.created", TaskSid=make_sid("WT"), task_attributes={"type": "chat"})

    handlers.update_dashboard(created)
    handlers.update_dashboard(created)  # redelivered: same event SID

    assert heard == [created]
    assert handlers.state.totals().created == 1


def test_the_audit_log_has_one_json_line_per_event(
    handlers: Handlers, caplog: pytest.LogCaptureFixture
) -> None:
    task_sid = make_sid("WT")
    accepted = event(
        "reservation.accepted",
        TaskSid=task_sid,
        TaskAssignmentStatus="assigned",
        TaskQueueName="Gold Tickets",
        WorkerName="Alice",
        WorkerActivityName="Busy",
    )
    with caplog.at_level(logging.INFO, logger="example_app.audit"):
        handlers.audit(accepted)
    (record,) = [r for r in caplog.records if r.name == "example_app.audit"]
    line = json.loads(record.getMessage())
    assert line == {
        "at": "2026-01-01T00:00:00+00:00",
        "event": "reservation.accepted",
        "sid": accepted.sid,
        "task": task_sid,
        "task_status": "assigned",
        "queue": "Gold Tickets",
        "reservation": accepted.reservation_sid,
        "worker": "Alice",
        "activity": "Busy",
    }


def test_events_of_another_workspace_are_not_the_desks(handlers: Handlers) -> None:
    heard: list[Event] = []
    handlers.listeners.append(heard.append)
    handlers.workspace_sid = make_sid("WS")
    handlers.update_dashboard(event("task.created", TaskSid=make_sid("WT")))
    assert heard == [] and handlers.state.totals().created == 0

    handlers.workspace_sid = WORKSPACE
    handlers.update_dashboard(event("task.created", TaskSid=make_sid("WT")))
    assert len(heard) == 1 and handlers.state.totals().created == 1
