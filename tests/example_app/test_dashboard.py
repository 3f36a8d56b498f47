"""The dashboard's state, built from events, and its server-sent event stream."""

from __future__ import annotations

import json
import threading
from typing import Any

from example_app.dashboard import DashboardState, event_stream, task_label
from taskrouter_flask.testing import make_sid

from .conftest import EVERYONE_QUEUE, GOLD_QUEUE, SPANISH_QUEUE, START, event

GOLD_TICKET = {"type": "ticket", "customer_value": "Gold", "ref": "0001"}


class Clock:
    def __init__(self) -> None:
        self.now = float(START)

    def __call__(self) -> float:
        return self.now


def _state(clock: Clock | None = None) -> DashboardState:
    state = DashboardState(clock=clock or Clock())
    state.configure(
        queues=[
            (GOLD_QUEUE, "Gold Tickets", "skills HAS 'premium'"),
            (SPANISH_QUEUE, "Spanish", "languages HAS 'es'"),
            (EVERYONE_QUEUE, "Everyone", "1==1"),
        ],
        activities=["Offline", "Available", "Busy", "Wrap-up"],
        workers=[(make_sid("WK"), "Bob", "Available", {"skills": ["billing"]})],
    )
    return state


def _queue(state: DashboardState, name: str) -> dict[str, Any]:
    return next(q for q in state.snapshot()["queues"] if q["name"] == name)


def _lifecycle(state: DashboardState, task_sid: str, worker_sid: str, *, at: int) -> None:
    """A Gold ticket created at ``at``, reserved and accepted 4 s later, done 10 s later."""
    task = {"TaskSid": task_sid, "task_attributes": GOLD_TICKET, "TaskQueueSid": GOLD_QUEUE}
    worker = {"WorkerSid": worker_sid, "WorkerName": "Alice", "worker_attributes": {"level": 3}}
    reservation = make_sid("WR")
    steps: list[tuple[str, int, str, dict[str, Any]]] = [
        ("task.created", 0, "pending", {}),
        ("task-queue.entered", 0, "pending", {}),
        ("reservation.created", 4, "reserved", {**worker, "WorkerActivityName": "Available"}),
        ("reservation.accepted", 4, "assigned", {**worker, "WorkerActivityName": "Busy"}),
        ("task.wrapup", 8, "wrapping", {}),
        ("reservation.wrapup", 8, "wrapping", {**worker, "WorkerActivityName": "Wrap-up"}),
        ("task.completed", 10, "completed", {}),
        ("reservation.completed", 10, "completed", {**worker, "WorkerActivityName": "Wrap-up"}),
    ]
    for event_type, offset, status, extra in steps:
        if event_type.startswith("reservation."):
            extra = {**extra, "ReservationSid": reservation}
        state.apply(
            event(
                event_type,
                at=at + offset,
                TaskAge=offset,
                TaskAssignmentStatus=status,
                **task,
                **extra,
            )
        )


def test_task_labels_say_what_a_task_is() -> None:
    assert task_label(GOLD_TICKET) == "Gold ticket #0001"
    assert task_label({"type": "chat", "selected_language": "es"}) == "Chat (es)"


def test_a_waiting_task_counts_in_its_queue_with_its_wait() -> None:
    clock = Clock()
    state = _state(clock)
    state.apply(
        event(
            "task-queue.entered",
            at=START + 3,
            TaskSid=make_sid("WT"),
            TaskAge=3,
            TaskQueueSid=SPANISH_QUEUE,
            TaskAssignmentStatus="pending",
        )
    )
    clock.now = START + 20
    assert _queue(state, "Spanish")["depth"] == 1
    assert _queue(state, "Spanish")["longest_wait"] == 20  # from creation, not queue entry
    assert _queue(state, "Gold Tickets") == {
        "sid": GOLD_QUEUE,
        "name": "Gold Tickets",
        "target_workers": "skills HAS 'premium'",
        "depth": 0,
        "longest_wait": 0,
    }


def test_a_whole_lifecycle_shows_in_every_part_of_the_snapshot() -> None:
    clock = Clock()
    state = _state(clock)
    task, worker = make_sid("WT"), make_sid("WK")

    _lifecycle(state, task, worker, at=START)
    clock.now = START + 30
    snapshot = state.snapshot()

    assert snapshot["totals"] == {
        "created": 1,
        "assigned": 1,
        "completed": 1,
        "canceled": 0,
        "mean_wait": 4.0,
    }
    assert snapshot["outcomes"]["accepted"] == 1
    assert _queue(state, "Gold Tickets")["depth"] == 0
    alice = next(w for w in snapshot["workers"] if w["name"] == "Alice")
    assert alice["activity"] == "Wrap-up" and alice["task"] is None and alice["level"] == 3
    assert snapshot["log_total"] == 8
    assert snapshot["log"][0]["text"] == "Alice finished Gold ticket #0001"
    assert snapshot["log"][-1]["text"] == "Gold ticket #0001 created"
    accepted = next(e for e in snapshot["log"] if e["type"] == "reservation.accepted")
    assert accepted == {
        "n": 4,
        "t": START + 4,
        "type": "reservation.accepted",
        "text": "Alice accepted Gold ticket #0001 after 4 s",
        "level": "good",
    }
    gold = next(s for s in snapshot["chart"]["series"] if s["queue"] == "Gold Tickets")
    assert gold["points"] == [[START + 5.0, 4.0]]  # the 10-second bucket's middle, mean wait


def test_an_agent_shows_the_task_they_hold_until_it_ends() -> None:
    state = _state()
    task, worker = make_sid("WT"), make_sid("WK")
    common = {
        "TaskSid": task,
        "task_attributes": GOLD_TICKET,
        "TaskQueueSid": GOLD_QUEUE,
        "WorkerSid": worker,
        "WorkerName": "Alice",
        "ReservationSid": make_sid("WR"),
    }
    state.apply(event("reservation.created", TaskAssignmentStatus="reserved", **common))
    alice = next(w for w in state.snapshot()["workers"] if w["name"] == "Alice")
    assert alice["task"] == {"sid": task, "label": "Gold ticket #0001", "status": "reserved"}
    assert _queue(state, "Gold Tickets")["depth"] == 1  # reserved still waits

    state.apply(event("reservation.rejected", TaskAssignmentStatus="pending", **common))
    snapshot = state.snapshot()
    assert next(w for w in snapshot["workers"] if w["name"] == "Alice")["task"] is None
    assert snapshot["outcomes"]["rejected"] == 1
    assert snapshot["log"][0]["level"] == "bad"


def test_outcomes_count_each_kind_of_ending() -> None:
    state = _state()
    for event_type in (
        "reservation.accepted",
        "reservation.rejected",
        "reservation.timeout",
        "reservation.rescinded",
        "reservation.rescinded",
    ):
        state.apply(event(event_type, TaskAssignmentStatus="pending"))
    assert state.snapshot()["outcomes"] == {
        "accepted": 1,
        "rejected": 1,
        "timed_out": 1,
        "rescinded": 2,
        "canceled": 0,
    }


def test_tasks_created_on_the_dashboard_are_followed_step_by_step() -> None:
    state = _state()
    task = make_sid("WT")
    _lifecycle(state, task, make_sid("WK"), at=START)  # not from the dashboard: not followed
    followed = make_sid("WT")
    dashboard = {**GOLD_TICKET, "source": "dashboard"}
    state.apply(event("task.created", TaskSid=followed, task_attributes=dashboard))
    state.apply(
        event(
            "reservation.created",
            TaskSid=followed,
            task_attributes=dashboard,
            TaskAssignmentStatus="reserved",
            WorkerName="Bob",
        )
    )
    assert state.snapshot()["watched"] == [
        {
            "sid": followed,
            "label": "Gold ticket #0001",
            "status": "reserved",
            "worker": "Bob",
            "history": ["created", "reserved"],
        }
    ]


def test_old_waits_leave_the_chart() -> None:
    clock = Clock()
    state = _state(clock)
    _lifecycle(state, make_sid("WT"), make_sid("WK"), at=START)
    clock.now = START + 305
    assert all(not s["points"] for s in state.snapshot()["chart"]["series"])
    assert state.totals().mean_wait == 4.0  # the totals keep it


def test_the_log_keeps_the_latest_entries() -> None:
    state = DashboardState(log_size=3)
    for _ in range(5):
        state.apply(event("workspace.updated"))
    snapshot = state.snapshot()
    assert snapshot["log_total"] == 5
    assert [e["n"] for e in snapshot["log"]] == [5, 4, 3]


def test_the_stream_sends_a_snapshot_at_once_then_on_changes_until_closed() -> None:
    state = _state()
    stream = event_stream(state, extra=lambda: {"traffic": None}, sleep=lambda _: None)
    assert next(stream) == "retry: 2000\n\n"
    first = next(stream)
    assert first.startswith("event: snapshot\nid: ")
    data = json.loads(first.split("data: ", 1)[1])
    assert data["traffic"] is None and [q["name"] for q in data["queues"]][0] == "Gold Tickets"

    threading.Timer(0.05, lambda: state.apply(event("task.created"))).start()
    second = json.loads(next(stream).split("data: ", 1)[1])
    assert second["totals"]["created"] == 1

    state.close()
    assert list(stream) == []
