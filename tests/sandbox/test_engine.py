"""The routing engine, one behaviour per test, driven by a manual clock.

Each test builds a small workspace (see ``conftest.py``), acts through the
engine's public methods, and checks the records and the events the engine
recorded. Tests marked ``xfail(strict=True)`` show bugs found while writing
them; they start passing (and so failing the run) once the engine is fixed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from taskrouter_flask.sandbox import (
    InvalidArgument,
    InvalidTransition,
    NotFound,
    PreconditionFailed,
)
from taskrouter_flask.sandbox.engine import MAX_REJECTIONS
from taskrouter_flask.sandbox.lifecycle import MAX_ASSIGNMENT_REASON
from taskrouter_flask.sandbox.state import (
    ReservationRecord,
    ReservationStatus,
    TaskRecord,
    TaskStatus,
)
from taskrouter_flask.workflow import Filter, Target, WorkflowConfiguration

from .conftest import Workspace, WorkspaceFactory

PENDING = ReservationStatus.PENDING
CALL_SID = "CA" + "1" * 32


def serve_all(ws: Workspace) -> list[str]:
    """Accept and complete every reservation as it comes; the served tasks' names, in order."""
    served: list[str] = []
    while True:
        pending = [r for r in ws.engine.reservations.values() if r.status is PENDING]
        if not pending:
            return served
        (reservation,) = pending
        ws.engine.update_reservation(ws.sid, reservation.sid, reservation_status="accepted")
        task = ws.engine.tasks[reservation.task_sid]
        ws.complete(task)
        served.append(task.attributes["name"])


def holders(ws: Workspace, tasks: list[TaskRecord]) -> list[str]:
    return [ws.holder(task) for task in tasks]


def names(ws: Workspace, reservations: list[ReservationRecord]) -> list[str]:
    return [ws.engine.workers[r.worker_sid].friendly_name for r in reservations]


# -- workflows: filters and targets ---------------------------------------------------------


def test_first_matching_filter_wins_and_the_default_filter_takes_the_rest(ws: Workspace) -> None:
    for name in ("gold", "silver", "other"):
        ws.add_queue(name)
    ws.add_workflow(
        default="other",
        filters=[
            Filter("tier == 'gold'", (ws.target("gold"),), friendly_name="Gold"),
            Filter("tier IN ['gold', 'silver']", (ws.target("silver"),), friendly_name="Metal"),
        ],
    )

    gold = ws.task(attributes={"tier": "gold"})
    silver = ws.task(attributes={"tier": "silver"})
    bronze = ws.task(attributes={"tier": "bronze"})
    untiered = ws.task()

    assert gold.task_queue_sid == ws.queues["gold"].sid
    assert silver.task_queue_sid == ws.queues["silver"].sid
    assert bronze.task_queue_sid == ws.queues["other"].sid
    assert untiered.task_queue_sid == ws.queues["other"].sid
    matched = [
        event.fields["WorkflowFilterName"]
        for event in ws.engine.events
        if event.type == "workflow.target-matched"
    ]
    assert matched == ["Gold", "Metal", "Default Filter", "Default Filter"]


def test_target_timeout_moves_the_task_to_the_next_target(ws: Workspace) -> None:
    first, second = ws.add_queue("first"), ws.add_queue("second")
    ws.add_workflow(
        default="second",
        filters=[
            Filter("1 == 1", (ws.target("first", timeout=10), ws.target("second", timeout=20)))
        ],
    )
    task = ws.task()
    mark = ws.mark()

    ws.engine.advance(seconds=9)
    assert ws.types_since(mark) == []

    ws.engine.advance(seconds=1)
    assert ws.types_since(mark) == [
        "task-queue.timeout",
        "workflow.target-matched",
        "task-queue.moved",
    ]
    timed_out, _, moved = ws.events_since(mark)
    assert timed_out.resource_sid == first
    assert moved.resource_sid == second
    assert moved.fields["TaskQueueSid"] == second
    assert task.task_queue_sid == second
    assert task.status is TaskStatus.PENDING
    assert ws.queues["first"].waiting == []
    assert [key[2] for key in ws.queues["second"].waiting] == [task.sid]


def test_falling_off_the_last_target_cancels_the_task(ws: Workspace) -> None:
    ws.add_queue("first")
    ws.add_queue("second")
    ws.add_workflow(
        default="second",
        filters=[
            Filter("1 == 1", (ws.target("first", timeout=10), ws.target("second", timeout=20)))
        ],
    )
    task = ws.task()
    ws.engine.advance(seconds=10)
    mark = ws.mark()

    ws.engine.advance(seconds=20)

    assert ws.types_since(mark) == ["task-queue.timeout", "workflow.timeout", "task.canceled"]
    canceled = ws.events_since(mark, "task.canceled")[0]
    assert canceled.fields["TaskCanceledReason"] == "Workflow Timeout"
    assert canceled.fields["TaskAssignmentStatus"] == "canceled"
    assert task.status is TaskStatus.CANCELED
    assert task.reason == "Workflow Timeout"
    assert ws.queues["second"].waiting == []


def test_target_timeout_cancels_the_pending_reservation_before_moving_on(ws: Workspace) -> None:
    ws.add_queue("first")
    ws.add_queue("second", "team == 'second'")
    ws.add_workflow(
        default="second",
        filters=[Filter("1 == 1", (ws.target("first", timeout=10), ws.target("second")))],
    )
    ws.add_worker("alice")
    task = ws.task()
    reservation = ws.pending(task)
    mark = ws.mark()

    ws.engine.advance(seconds=10)

    assert ws.types_since(mark) == [
        "task-queue.timeout",
        "reservation.canceled",
        "workflow.target-matched",
        "task-queue.moved",
    ]
    assert reservation.status is ReservationStatus.CANCELED
    assert task.status is TaskStatus.PENDING
    assert ws.is_free("alice")


# -- queue order ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("task_order", "expected"),
    [
        ("FIFO", ["high-1", "high-2", "low-1", "low-2"]),
        # twilio.com/docs/taskrouter/queue-ordering-last-first-out-lifo: "Unlike FIFO
        # ordering, LIFO ordering does not consider the Task priority".
        ("LIFO", ["high-2", "low-2", "high-1", "low-1"]),
    ],
)
def test_higher_priority_first_then_oldest_or_newest_by_task_order(
    ws: Workspace, task_order: str, expected: list[str]
) -> None:
    ws.add_queue("support", task_order=task_order)
    ws.add_workflow(default="support")
    for name, priority in (("low-1", 0), ("high-1", 5), ("low-2", 0), ("high-2", 5)):
        ws.task(attributes={"name": name}, priority=priority)
        ws.engine.advance(seconds=1)

    ws.add_worker("alice")

    assert serve_all(ws) == expected


def test_a_worker_becoming_available_takes_the_oldest_waiting_task(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice", activity="Offline")
    tasks = []
    for index in range(3):
        tasks.append(ws.task(attributes={"name": f"t{index}"}))
        ws.engine.advance(seconds=5)
    assert all(task.status is TaskStatus.PENDING for task in tasks)
    mark = ws.mark()

    ws.set_activity("alice", "Available")

    assert ws.types_since(mark) == ["worker.activity.update", "reservation.created"]
    assert ws.pending(tasks[0]).worker_sid == ws.workers["alice"].sid
    assert [t.status for t in tasks] == [
        TaskStatus.RESERVED,
        TaskStatus.PENDING,
        TaskStatus.PENDING,
    ]


# -- which worker ---------------------------------------------------------------------------


def test_a_worker_outside_target_workers_never_gets_the_task_until_their_attributes_match(
    ws: Workspace,
) -> None:
    ws.add_queue("billing", "skills HAS 'billing'")
    ws.add_workflow(default="billing")
    bob = ws.add_worker("bob", skills=["sales"])
    task = ws.task()
    ws.engine.advance(seconds=600)
    assert task.status is TaskStatus.PENDING
    assert ws.engine.reservations_of_task(task.sid) == []
    mark = ws.mark()

    ws.engine.update_worker(ws.sid, bob.sid, attributes={"skills": ["sales", "billing"]})

    assert ws.types_since(mark) == ["worker.attributes.update", "reservation.created"]
    assert ws.holder(task) == "bob"
    assert json.loads(ws.events_since(mark)[0].fields["WorkerAttributes"]) == {
        "skills": ["sales", "billing"]
    }


def test_target_expression_compares_task_and_worker_attributes(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default=ws.target("support", expression="task.language == worker.language"))
    ws.add_worker("alice", language="en")  # longest idle, but does not speak French
    ws.add_worker("bob", language="fr")

    french = ws.task(attributes={"language": "fr"})
    german = ws.task(attributes={"language": "de"})

    assert ws.holder(french) == "bob"
    assert german.status is TaskStatus.PENDING
    assert ws.is_free("alice")


def test_target_expression_sees_the_workers_built_in_fields(ws: Workspace) -> None:
    ws.add_activity("Overflow", available=True)
    ws.add_queue("support")
    ws.add_workflow(
        default=ws.target("support", expression="worker.activity_name == task.activity")
    )
    ws.add_worker("alice")
    ws.add_worker("bob", activity="Overflow")

    task = ws.task(attributes={"activity": "Overflow"})

    assert ws.holder(task) == "bob"


def test_known_worker_sid_routes_only_to_that_worker(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default=ws.target("support", known_worker_sid="task.agent"))
    ws.add_worker("alice")
    bob = ws.add_worker("bob", activity="Offline")

    task = ws.task(attributes={"agent": bob.sid})
    assert task.status is TaskStatus.PENDING  # alice is free, but the task is bob's

    ws.set_activity("bob", "Available")
    assert ws.holder(task) == "bob"


def test_skip_if_skips_a_step_with_no_available_worker(ws: Workspace) -> None:
    first, second = ws.add_queue("first", "team == 'first'"), ws.add_queue("second")
    ws.add_workflow(
        default="second",
        filters=[
            Filter(
                "1 == 1",
                (
                    ws.target("first", timeout=100, skip_if="workers.available == 0"),
                    ws.target("second"),
                ),
            )
        ],
    )
    ws.add_worker("frank", activity="Offline", team="first")
    ws.add_worker("sam", team="second")
    mark = ws.mark()

    task = ws.task()

    assert ws.types_since(mark) == [
        "task.created",
        "workflow.entered",
        "workflow.target-matched",
        "task-queue.entered",
        "workflow.target-matched",
        "task-queue.moved",
        "reservation.created",
    ]
    entered, moved = ws.events_since(mark, "task-queue.entered", "task-queue.moved")
    assert (entered.resource_sid, moved.resource_sid) == (first, second)
    assert ws.holder(task) == "sam"
    assert ws.engine.now() == ws.engine.events[mark].timestamp  # no time passed


def test_skip_if_is_not_applied_when_a_reservation_is_made(ws: Workspace) -> None:
    ws.add_queue("first", "team == 'first'")
    ws.add_queue("second")
    ws.add_workflow(
        default="second",
        filters=[
            Filter(
                "1 == 1",
                (
                    ws.target("first", timeout=100, skip_if="workers.available == 0"),
                    ws.target("second"),
                ),
            )
        ],
    )
    ws.add_worker("frank", team="first")
    ws.add_worker("sam", activity="Offline", team="second")

    task = ws.task()

    assert task.task_queue_sid == ws.queues["first"].sid
    assert ws.holder(task) == "frank"


def test_a_filter_skipped_on_its_last_step_is_treated_as_not_matched(ws: Workspace) -> None:
    """twilio.com/docs/taskrouter/worker-presence: "If a Task skips a filter, it will be
    evaluated as if the Task didn't match the filter"."""
    ws.add_queue("first")
    ws.add_queue("second")
    ws.add_queue("fallback")
    ws.add_workflow(
        default="fallback",
        filters=[
            Filter("1 == 1", (ws.target("first", skip_if="workers.available == 0"),)),
            Filter("kind == 'x'", (ws.target("second"),)),
            Filter("1 == 1", (ws.target("second"),)),
        ],
    )

    task = ws.task()

    assert task.task_queue_sid == ws.queues["second"].sid
    assert task.filter_index == 2
    assert task.status is TaskStatus.PENDING


def test_a_skipped_filter_with_no_filter_after_it_falls_to_the_default(ws: Workspace) -> None:
    ws.add_queue("first")
    ws.add_queue("fallback")
    ws.add_workflow(
        default="fallback",
        filters=[Filter("1 == 1", (ws.target("first", skip_if="workers.available == 0"),))],
    )

    task = ws.task()

    assert task.task_queue_sid == ws.queues["fallback"].sid
    assert task.status is TaskStatus.PENDING


def test_a_skipped_default_filter_cancels_with_workflow_skipped(ws: Workspace) -> None:
    ws.add_queue("first")
    ws.add_workflow(default=ws.target("first", skip_if="workers.available == 0"))
    mark = ws.mark()

    task = ws.task()

    assert ws.types_since(mark)[-2:] == ["workflow.skipped", "task.canceled"]
    assert task.status is TaskStatus.CANCELED


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("worker.level DESC", ["bob", "carol", "alice", "dave"]),
        ("worker.level ASC", ["alice", "carol", "bob", "dave"]),
    ],
)
def test_order_by_chooses_the_worker_missing_attributes_last(
    ws: Workspace, order_by: str, expected: list[str]
) -> None:
    ws.add_queue("support")
    ws.add_workflow(default=ws.target("support", order_by=order_by))
    ws.add_worker("dave")  # longest idle, but has no level
    ws.add_worker("alice", level=1)
    ws.add_worker("bob", level=3)
    ws.add_worker("carol", level=2)

    tasks = [ws.task() for _ in range(4)]

    assert holders(ws, tasks) == expected


def test_without_order_by_the_longest_idle_worker_is_chosen(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    for name in ("alice", "bob", "carol"):
        ws.add_worker(name, activity="Offline")
    for name in ("carol", "alice", "bob"):
        ws.set_activity(name, "Available")
        ws.engine.advance(seconds=10)

    first = ws.task(attributes={"name": "first"})
    assert ws.holder(first) == "carol"

    ws.accept(first)
    ws.complete(first)  # carol is idle again, but only since now
    ws.engine.advance(seconds=1)
    second, third = ws.task(), ws.task()
    assert holders(ws, [second, third]) == ["alice", "bob"]


# -- reservations ---------------------------------------------------------------------------


def test_multi_reservation_reserves_three_and_rescinds_the_others_on_accept(
    ws: Workspace,
) -> None:
    ws.add_queue("support", max_reserved_workers=3)
    ws.add_workflow(default="support")
    for name in ("alice", "bob", "carol", "dave"):
        ws.add_worker(name)

    task = ws.task()

    pending = ws.reservations(task, PENDING)
    assert names(ws, pending) == ["alice", "bob", "carol"]
    assert task.status is TaskStatus.RESERVED
    assert ws.is_free("dave")
    mark = ws.mark()

    ws.engine.update_reservation(ws.sid, pending[1].sid, reservation_status="accepted")

    assert ws.types_since(mark) == [
        "reservation.accepted",
        "reservation.rescinded",
        "reservation.rescinded",
    ]
    assert [r.status for r in pending] == [
        ReservationStatus.RESCINDED,
        ReservationStatus.ACCEPTED,
        ReservationStatus.RESCINDED,
    ]
    assert task.status is TaskStatus.ASSIGNED
    assert [ws.is_free(name) for name in ("alice", "bob", "carol")] == [True, False, True]

    # the rescinded workers are offered new work straight away
    follow_up = ws.task()
    assert sorted(names(ws, ws.reservations(follow_up))) == ["alice", "carol", "dave"]


def test_a_task_goes_back_to_pending_only_when_all_its_reservations_end(ws: Workspace) -> None:
    ws.add_queue("support", max_reserved_workers=2)
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    ws.add_worker("bob")
    task = ws.task()
    first, second = ws.reservations(task, PENDING)
    offline = ws.activities["Offline"]

    ws.engine.update_reservation(
        ws.sid, first.sid, reservation_status="rejected", worker_activity_sid=offline
    )
    assert task.status is TaskStatus.RESERVED

    ws.engine.update_reservation(
        ws.sid, second.sid, reservation_status="rejected", worker_activity_sid=offline
    )
    assert task.status is TaskStatus.PENDING
    assert [key[2] for key in ws.queues["support"].waiting] == [task.sid]


def test_reservation_timeout_moves_the_worker_to_the_timeout_activity(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support", task_reservation_timeout=20)
    ws.add_worker("alice")
    ws.add_worker("bob")
    task = ws.task()
    reservation = ws.pending(task)
    assert ws.holder(task) == "alice"

    ws.engine.advance(seconds=19)
    assert reservation.status is PENDING
    mark = ws.mark()

    ws.engine.advance(seconds=1)

    assert ws.types_since(mark) == [
        "reservation.timeout",
        "worker.activity.update",
        "reservation.created",
    ]
    assert reservation.status is ReservationStatus.TIMEOUT
    update = ws.events_since(mark, "worker.activity.update")[0]
    assert update.resource_sid == ws.workers["alice"].sid
    assert update.fields["WorkerActivityName"] == "Offline"
    assert update.fields["WorkerPreviousActivitySid"] == ws.activities["Available"]
    assert update.fields["WorkerTimeInPreviousActivity"] == "20"
    assert ws.activity_of("alice") == "Offline"
    assert ws.holder(task) == "bob"


def test_reservation_timeout_with_no_other_worker_returns_the_task_to_pending(
    ws: Workspace,
) -> None:
    unavailable = ws.activities["Unavailable"]
    ws.engine.update_workspace(ws.sid, timeout_activity_sid=unavailable)
    ws.add_queue("support")
    ws.add_workflow(default="support", task_reservation_timeout=20)
    ws.add_worker("alice")
    task = ws.task()

    ws.engine.advance(seconds=20)

    assert task.status is TaskStatus.PENDING
    assert ws.activity_of("alice") == "Unavailable"
    assert [key[2] for key in ws.queues["support"].waiting] == [task.sid]
    assert ws.reservations(task, PENDING) == []

    ws.set_activity("alice", "Available")
    assert ws.holder(task) == "alice"


def test_reject_with_an_activity_moves_the_worker_and_offers_the_task_to_the_next(
    ws: Workspace,
) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    ws.add_worker("bob")
    task = ws.task()
    reservation = ws.pending(task)
    mark = ws.mark()

    ws.engine.update_reservation(
        ws.sid,
        reservation.sid,
        reservation_status="rejected",
        worker_activity_sid=ws.activities["Unavailable"],
    )

    assert ws.types_since(mark) == [
        "reservation.rejected",
        "worker.activity.update",
        "reservation.created",
    ]
    assert reservation.status is ReservationStatus.REJECTED
    assert ws.activity_of("alice") == "Unavailable"
    assert ws.holder(task) == "bob"
    # The field counts moves from pending to reserved (Twilio's max assignment count):
    # reserved for alice, then again for bob.
    assert task.rejections == 2


def test_reject_instruction_with_activity_sid(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    ws.add_worker("bob")
    task = ws.task()
    reservation = ws.pending(task)

    ws.engine.apply_instruction(
        reservation, {"instruction": "reject", "activity_sid": ws.activities["Offline"]}
    )

    assert reservation.status is ReservationStatus.REJECTED
    assert ws.activity_of("alice") == "Offline"
    assert ws.holder(task) == "bob"


def test_a_worker_who_rejects_without_changing_activity_is_offered_the_task_again(
    ws: Workspace,
) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task()
    first = ws.pending(task)

    ws.engine.apply_instruction(first, {"instruction": "reject"})

    second = ws.pending(task)
    assert second.sid != first.sid
    assert ws.holder(task) == "alice"
    assert ws.activity_of("alice") == "Available"


def test_the_thousandth_rejection_cancels_the_task(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task()

    rejections = 0
    for _ in range(MAX_REJECTIONS + 5):
        if task.status is TaskStatus.CANCELED:
            break
        reservation = ws.pending(task)
        ws.engine.update_reservation(ws.sid, reservation.sid, reservation_status="rejected")
        rejections += 1

    assert MAX_REJECTIONS == 1000
    assert rejections == MAX_REJECTIONS
    assert task.status is TaskStatus.CANCELED
    assert task.reason == MAX_ASSIGNMENT_REASON
    assert ws.engine.events[-1].type == "task.canceled"
    assert ws.engine.events[-2].type == "reservation.rejected"
    assert ws.reservations(task, PENDING) == []
    assert ws.is_free("alice")


def test_task_ttl_cancels_the_task_and_its_pending_reservation(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task(timeout=30)
    reservation = ws.pending(task)
    ws.engine.advance(seconds=29)
    assert task.status is TaskStatus.RESERVED
    mark = ws.mark()

    ws.engine.advance(seconds=2)

    assert ws.types_since(mark) == ["task.canceled", "reservation.canceled"]
    canceled = ws.events_since(mark)[0]
    assert canceled.description == "Task TTL Exceeded"
    assert canceled.fields["TaskCanceledReason"] == "Task TTL Exceeded"
    assert (canceled.timestamp - ws.engine.events[mark - 1].timestamp).total_seconds() == 30
    assert task.status is TaskStatus.CANCELED
    assert task.reason == "Task TTL Exceeded"
    assert reservation.status is ReservationStatus.CANCELED
    assert ws.is_free("alice")


def test_task_ttl_leaves_an_assigned_task_alone(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task(timeout=30)
    ws.accept(task)

    ws.engine.advance(seconds=31)

    assert task.status is TaskStatus.ASSIGNED


# -- completing work ------------------------------------------------------------------------


def test_wrapping_then_completed_frees_the_worker_for_the_next_task(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    first = ws.task()
    second = ws.task()
    reservation = ws.accept(first)
    assert second.status is TaskStatus.PENDING
    mark = ws.mark()

    ws.engine.update_task(ws.sid, first.sid, assignment_status="wrapping")

    assert ws.types_since(mark) == ["task.wrapup", "reservation.wrapup"]
    assert first.status is TaskStatus.WRAPPING
    assert reservation.status is ReservationStatus.WRAPPING
    assert second.status is TaskStatus.PENDING  # alice is still busy wrapping up
    mark = ws.mark()

    ws.engine.update_task(ws.sid, first.sid, assignment_status="completed", reason="resolved")

    assert ws.types_since(mark) == [
        "task.completed",
        "reservation.completed",
        "reservation.created",
    ]
    completed = ws.events_since(mark, "task.completed")[0]
    assert completed.fields["TaskCompletedReason"] == "resolved"
    assert first.status is TaskStatus.COMPLETED
    assert reservation.status is ReservationStatus.COMPLETED
    assert ws.holder(second) == "alice"


def test_reservation_status_updates_drive_the_task(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task()
    reservation = ws.accept(task)

    ws.engine.update_reservation(ws.sid, reservation.sid, reservation_status="wrapping")
    assert (task.status, reservation.status) == (TaskStatus.WRAPPING, ReservationStatus.WRAPPING)

    ws.engine.update_reservation(ws.sid, reservation.sid, reservation_status="completed")
    assert (task.status, reservation.status) == (
        TaskStatus.COMPLETED,
        ReservationStatus.COMPLETED,
    )


def test_queue_reservation_and_assignment_activities_move_a_single_tasking_worker(
    make_workspace: WorkspaceFactory,
) -> None:
    ws = make_workspace(activities=("Reserved", "Busy"))
    ws.add_queue("support", reservation_activity_sid="Reserved", assignment_activity_sid="Busy")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    mark = ws.mark()

    task = ws.task()

    assert ws.types_since(mark)[-2:] == ["reservation.created", "worker.activity.update"]
    assert ws.activity_of("alice") == "Reserved"
    mark = ws.mark()

    ws.accept(task)

    assert ws.types_since(mark) == ["reservation.accepted", "worker.activity.update"]
    assert ws.activity_of("alice") == "Busy"
    update = ws.events_since(mark, "worker.activity.update")[0]
    assert update.fields["WorkerPreviousActivitySid"] == ws.activities["Reserved"]


@pytest.mark.parametrize(
    "instruction",
    [
        {"instruction": "dequeue", "from": "+15550100", "to": "+15550199"},
        {
            "instruction": "call",
            "from": "+15550100",
            "url": "https://example.com/twiml",
            "accept": True,
        },
        {"instruction": "conference", "from": "+15550100"},
        {
            "instruction": "redirect",
            "call_sid": CALL_SID,
            "url": "https://example.com/twiml",
            "accept": True,
        },
    ],
    ids=lambda data: data["instruction"],
)
def test_voice_instructions_are_recorded_and_accept_the_reservation(
    ws: Workspace, instruction: dict[str, str]
) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task()
    reservation = ws.pending(task)
    mark = ws.mark()

    ws.engine.apply_instruction(reservation, instruction)

    assert ws.types_since(mark) == ["reservation.accepted"]
    assert reservation.status is ReservationStatus.ACCEPTED
    assert task.status is TaskStatus.ASSIGNED
    assert reservation.instruction is not None
    assert reservation.instruction["instruction"] == instruction["instruction"]
    assert {k: reservation.instruction[k] for k in instruction} == instruction


@pytest.mark.parametrize(
    "instruction",
    [
        {"instruction": "call", "from": "+15550100", "url": "https://example.com/twiml"},
        {"instruction": "redirect", "call_sid": CALL_SID, "url": "https://example.com/twiml"},
    ],
    ids=lambda data: data["instruction"],
)
def test_call_and_redirect_without_accept_leave_the_reservation_pending(
    ws: Workspace, instruction: dict[str, str]
) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task()
    reservation = ws.pending(task)
    mark = ws.mark()

    ws.engine.apply_instruction(reservation, instruction)

    assert ws.types_since(mark) == []
    assert reservation.status is ReservationStatus.PENDING
    assert reservation.instruction is not None
    assert reservation.instruction["instruction"] == instruction["instruction"]
    ws.accept(task)
    assert task.status is TaskStatus.ASSIGNED


def test_an_instruction_through_update_reservation(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task()
    reservation = ws.pending(task)

    ws.engine.update_reservation(
        ws.sid,
        reservation.sid,
        instruction="conference",
        parameters={"from": "+15550100", "timeout": 30},
    )

    assert reservation.status is ReservationStatus.ACCEPTED
    assert reservation.instruction == {
        "instruction": "conference",
        "from": "+15550100",
        "timeout": 30,
    }


@pytest.mark.parametrize("name", ["dequeue", "conference"])
def test_post_work_activity_moves_the_worker_when_the_task_completes(
    make_workspace: WorkspaceFactory, name: str
) -> None:
    ws = make_workspace(activities=("Wrap Up",))
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task()
    ws.engine.apply_instruction(
        ws.pending(task),
        {
            "instruction": name,
            "from": "+15550100",
            "post_work_activity_sid": ws.activities["Wrap Up"],
        },
    )
    assert ws.activity_of("alice") == "Available"
    mark = ws.mark()

    ws.complete(task)

    assert ws.types_since(mark) == [
        "task.completed",
        "reservation.completed",
        "worker.activity.update",
    ]
    assert ws.activity_of("alice") == "Wrap Up"


# -- refusals -------------------------------------------------------------------------------


@pytest.fixture
def assigned(ws: Workspace) -> tuple[Workspace, TaskRecord]:
    """A workspace whose only worker, alice, has accepted its only task."""
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task()
    ws.accept(task)
    return ws, task


def test_accepting_a_completed_reservation_is_an_invalid_transition(
    assigned: tuple[Workspace, TaskRecord],
) -> None:
    ws, task = assigned
    (reservation,) = ws.reservations(task)
    ws.complete(task)

    with pytest.raises(InvalidTransition):
        ws.engine.update_reservation(ws.sid, reservation.sid, reservation_status="accepted")
    with pytest.raises(InvalidTransition):
        ws.engine.apply_instruction(reservation, {"instruction": "accept"})
    with pytest.raises(InvalidTransition) as refused:
        ws.engine.apply_instruction(reservation, {"instruction": "dequeue", "from": "+15550100"})
    assert refused.value.code == 40135
    assert reservation.status is ReservationStatus.COMPLETED


def test_task_status_changes_the_lifecycle_does_not_have_are_refused(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    pending = ws.task()
    for status in ("completed", "wrapping"):
        with pytest.raises(InvalidTransition):
            ws.engine.update_task(ws.sid, pending.sid, assignment_status=status)
    assert pending.status is TaskStatus.PENDING

    ws.engine.update_task(ws.sid, pending.sid, assignment_status="canceled", reason="gone")
    for status in ("canceled", "completed"):
        with pytest.raises(InvalidTransition):
            ws.engine.update_task(ws.sid, pending.sid, assignment_status=status)
    assert pending.status is TaskStatus.CANCELED
    assert pending.reason == "gone"


def test_an_assigned_task_cannot_be_canceled(assigned: tuple[Workspace, TaskRecord]) -> None:
    ws, task = assigned
    with pytest.raises(InvalidTransition):
        ws.engine.update_task(ws.sid, task.sid, assignment_status="canceled")
    assert task.status is TaskStatus.ASSIGNED


def test_if_match_with_a_stale_revision_is_refused(
    assigned: tuple[Workspace, TaskRecord],
) -> None:
    ws, task = assigned
    (reservation,) = ws.reservations(task)
    alice = ws.workers["alice"]
    stale_task, stale_worker = str(task.revision - 1), str(alice.revision - 1)

    with pytest.raises(PreconditionFailed) as refused:
        ws.engine.update_task(ws.sid, task.sid, assignment_status="completed", if_match=stale_task)
    assert refused.value.status == 412
    with pytest.raises(PreconditionFailed):
        ws.engine.update_worker(ws.sid, alice.sid, attributes={}, if_match=stale_worker)
    with pytest.raises(PreconditionFailed):
        ws.engine.update_reservation(
            ws.sid, reservation.sid, reservation_status="completed", if_match="999"
        )
    assert task.status is TaskStatus.ASSIGNED

    ws.engine.update_task(
        ws.sid, task.sid, assignment_status="completed", if_match=f'"{task.revision}"'
    )
    assert task.status is TaskStatus.COMPLETED


def test_unknown_sids_are_not_found(ws: Workspace, make_workspace: WorkspaceFactory) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    alice = ws.add_worker("alice")
    missing = "0" * 32
    other = make_workspace()

    with pytest.raises(NotFound) as refused:
        ws.engine.task(ws.sid, "WT" + missing)
    assert refused.value.status == 404
    with pytest.raises(NotFound):
        ws.engine.update_reservation(ws.sid, "WR" + missing, reservation_status="accepted")
    with pytest.raises(NotFound):
        ws.engine.update_worker(ws.sid, "WK" + missing, activity_sid=ws.activities["Offline"])
    with pytest.raises(NotFound):
        ws.engine.create_task(ws.sid, workflow_sid="WW" + missing)
    with pytest.raises(NotFound):
        ws.engine.workspace("WS" + missing)
    with pytest.raises(NotFound):  # a worker of another workspace
        ws.engine.worker(other.sid, alice.sid)
    with pytest.raises(NotFound):  # an activity of another workspace
        ws.engine.update_worker(ws.sid, alice.sid, activity_sid=other.activities["Available"])


def test_an_unknown_reject_activity_is_not_found_and_changes_nothing(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task()
    reservation = ws.pending(task)

    with pytest.raises(NotFound):
        ws.engine.update_reservation(
            ws.sid,
            reservation.sid,
            reservation_status="rejected",
            worker_activity_sid="WA" + "0" * 32,
        )
    assert reservation.status is PENDING


@pytest.mark.parametrize("target_workers", ["skills HAS", "level = 3", "a-b == 1"])
def test_a_bad_target_workers_expression_is_an_invalid_argument(
    ws: Workspace, target_workers: str
) -> None:
    with pytest.raises(InvalidArgument):
        ws.add_queue("support", target_workers)
    assert ws.engine.task_queues == {}


def test_an_empty_target_workers_queue_holds_its_tasks(ws: Workspace) -> None:
    """Twilio's CreateTaskQueue ``TargetWorkers``: "If this value is empty, Tasks will wait in
    the TaskQueue until they are deleted or moved"."""
    ws.add_queue("parking", "")
    ws.add_workflow(default="parking")
    ws.add_worker("alice")

    task = ws.task()

    assert task.status is TaskStatus.PENDING
    assert ws.engine.task_queues[task.task_queue_sid or ""].eligible == set()


@pytest.mark.parametrize("value", [0, 51, -1, True, "3"])
def test_max_reserved_workers_must_be_1_to_50(ws: Workspace, value: object) -> None:
    with pytest.raises(InvalidArgument):
        ws.add_queue("support", max_reserved_workers=value)
    queue = ws.engine.task_queues[ws.add_queue("support", max_reserved_workers=50)]
    with pytest.raises(InvalidArgument):
        ws.engine.update_task_queue(ws.sid, queue.sid, max_reserved_workers=value)
    assert queue.max_reserved_workers == 50


@pytest.mark.parametrize(
    "options",
    [
        {"priority": -1},
        {"priority": 2**31},
        {"priority": "high"},
        {"priority": 1.5},
        {"priority": True},
        {"timeout": 0},
        {"timeout": 1_209_601},
        {"timeout": "60"},
        {"attributes": "not json"},
        {"attributes": "[1, 2]"},
        {"task_channel": "fax"},
    ],
    ids=repr,
)
def test_bad_task_arguments_are_refused(ws: Workspace, options: dict[str, object]) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    with pytest.raises((InvalidArgument, NotFound)):
        ws.task(**options)
    assert ws.engine.tasks == {}


def test_bad_workflow_arguments_are_refused(ws: Workspace) -> None:
    queue = ws.add_queue("support")
    bad_filter = WorkflowConfiguration(
        filters=(Filter("tier ==", (Target(queue=queue),)),), default_filter=Target(queue=queue)
    )
    with pytest.raises(InvalidArgument):
        ws.engine.create_workflow(ws.sid, friendly_name="Bad", configuration=bad_filter)
    with pytest.raises(InvalidArgument):
        ws.engine.create_workflow(ws.sid, friendly_name="Bad", configuration="{not json")
    with pytest.raises(NotFound):
        ws.engine.create_workflow(
            ws.sid,
            friendly_name="Bad",
            configuration=WorkflowConfiguration(default_filter=Target(queue="WQ" + "0" * 32)),
        )
    for timeout in (0, 86_401):
        with pytest.raises(InvalidArgument):
            ws.add_workflow(default="support", task_reservation_timeout=timeout)
    assert ws.engine.workflows == {}


def test_bad_reservation_updates_are_refused(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task()
    reservation = ws.pending(task)

    for status in ("bogus", "pending", "timeout", "rescinded"):
        with pytest.raises(InvalidArgument):
            ws.engine.update_reservation(ws.sid, reservation.sid, reservation_status=status)
    with pytest.raises(InvalidArgument):
        ws.engine.apply_instruction(reservation, {"instruction": "transfer"})
    with pytest.raises(InvalidArgument):
        ws.engine.apply_instruction(reservation, {"instruction": "call", "from": "+15550100"})
    with pytest.raises(InvalidTransition):  # the task is only reserved
        ws.engine.update_reservation(ws.sid, reservation.sid, reservation_status="completed")
    assert reservation.status is PENDING
    assert task.status is TaskStatus.RESERVED


# -- exact event sequences ------------------------------------------------------------------


def test_event_sequence_of_a_simple_accept_flow(ws: Workspace) -> None:
    ws.add_queue("support")
    workflow = ws.add_workflow(default="support")
    alice = ws.add_worker("alice")
    mark = ws.mark()

    task = ws.task(attributes={"type": "ticket"})
    reservation = ws.pending(task)
    ws.accept(task)
    ws.complete(task)

    assert ws.types_since(mark) == [
        "task.created",
        "workflow.entered",
        "workflow.target-matched",
        "task-queue.entered",
        "reservation.created",
        "reservation.accepted",
        "task.completed",
        "reservation.completed",
    ]
    events = ws.events_since(mark)
    assert [e.resource_sid for e in events] == [
        task.sid,
        workflow.sid,
        workflow.sid,
        ws.queues["support"].sid,
        reservation.sid,
        reservation.sid,
        task.sid,
        reservation.sid,
    ]
    created = events[4]
    assert created.resource_type == "Reservation"
    assert created.fields["TaskSid"] == task.sid
    assert created.fields["WorkerSid"] == alice.sid
    assert created.fields["WorkerName"] == "alice"
    assert created.fields["ReservationSid"] == reservation.sid
    assert created.fields["TaskQueueSid"] == ws.queues["support"].sid
    assert created.fields["WorkflowSid"] == workflow.sid
    assert created.fields["TaskAssignmentStatus"] == "reserved"
    assert json.loads(created.fields["TaskAttributes"]) == {"type": "ticket"}
    assert events[0].fields["TaskAssignmentStatus"] == "pending"
    assert events[-1].fields["TaskAssignmentStatus"] == "completed"
    assert all(e.fields["WorkspaceSid"] == ws.sid for e in events)


def test_reservation_accepted_event_carries_the_assigned_task_status(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task()
    mark = ws.mark()

    ws.accept(task)

    accepted = ws.events_since(mark, "reservation.accepted")[0]
    assert accepted.fields["TaskAssignmentStatus"] == "assigned"


def test_event_sequence_of_a_reservation_timeout_flow(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support", task_reservation_timeout=30)
    alice = ws.add_worker("alice")
    bob = ws.add_worker("bob")
    mark = ws.mark()

    task = ws.task()
    ws.engine.advance(seconds=30)
    ws.engine.advance(seconds=30)

    assert ws.types_since(mark) == [
        "task.created",
        "workflow.entered",
        "workflow.target-matched",
        "task-queue.entered",
        "reservation.created",  # alice
        "reservation.timeout",
        "worker.activity.update",  # alice -> Offline
        "reservation.created",  # bob
        "reservation.timeout",
        "worker.activity.update",  # bob -> Offline
    ]
    events = ws.events_since(mark)
    assert [e.fields["WorkerSid"] for e in events[4:]] == [alice.sid] * 3 + [bob.sid] * 3
    assert [e.timestamp for e in events[5:8]] == [events[5].timestamp] * 3
    assert (events[5].timestamp - events[4].timestamp).total_seconds() == 30
    assert task.status is TaskStatus.PENDING


# -- multitasking ---------------------------------------------------------------------------


def test_multitasking_worker_takes_up_to_their_channel_capacity(
    make_workspace: WorkspaceFactory,
) -> None:
    ws = make_workspace(multi_task_enabled=True, activities=("Reserved", "Busy"))
    ws.add_queue("chat", reservation_activity_sid="Reserved", assignment_activity_sid="Busy")
    ws.add_workflow(default="chat")
    alice = ws.add_worker("alice")
    chat = ws.engine.task_channel(ws.sid, "chat")
    (channel,) = [
        c for c in ws.engine.worker_channels_of(alice.sid) if c.task_channel_sid == chat.sid
    ]
    ws.engine.update_worker_channel(ws.sid, alice.sid, channel.sid, capacity=2)
    mark = ws.mark()

    tasks = [ws.task(task_channel="chat") for _ in range(3)]

    assert [t.status for t in tasks] == [
        TaskStatus.RESERVED,
        TaskStatus.RESERVED,
        TaskStatus.PENDING,
    ]
    assert holders(ws, tasks[:2]) == ["alice", "alice"]
    ws.accept(tasks[0])
    ws.accept(tasks[1])
    assert "worker.activity.update" not in ws.types_since(mark)
    assert ws.activity_of("alice") == "Available"

    # a voice task still fits: capacity is per channel
    voice = ws.task(task_channel="voice")
    assert ws.holder(voice) == "alice"

    ws.complete(tasks[0])
    assert ws.holder(tasks[2]) == "alice"


# -- bugs -----------------------------------------------------------------------------------


def test_reject_pending_reservations_leaves_the_worker_without_reservations(
    ws: Workspace,
) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task()
    first = ws.pending(task)

    ws.set_activity("alice", "Offline", reject_pending_reservations=True)

    assert first.status is ReservationStatus.REJECTED
    assert task.status is TaskStatus.PENDING
    assert ws.reservations(task, PENDING) == []


def test_a_rejected_reservation_cannot_complete_the_task(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    ws.add_worker("bob")
    task = ws.task()
    rejected = ws.pending(task)
    ws.engine.update_reservation(
        ws.sid,
        rejected.sid,
        reservation_status="rejected",
        worker_activity_sid=ws.activities["Offline"],
    )
    accepted = ws.accept(task)

    with pytest.raises(InvalidTransition):
        ws.engine.update_reservation(ws.sid, rejected.sid, reservation_status="completed")
    assert task.status is TaskStatus.ASSIGNED
    assert accepted.status is ReservationStatus.ACCEPTED


def test_order_by_with_mixed_attribute_types_does_not_crash(ws: Workspace) -> None:
    ws.add_queue("support")
    ws.add_workflow(default=ws.target("support", order_by="worker.level DESC"))
    ws.add_worker("alice", level=3)
    ws.add_worker("bob", level="senior")

    task = ws.task()

    assert task.status is TaskStatus.RESERVED


def test_a_worker_freed_by_a_target_timeout_takes_other_waiting_work(ws: Workspace) -> None:
    ws.add_queue("first", "team == 'first'")
    ws.add_queue("second", "team == 'second'")
    ws.add_workflow(
        default="first",
        filters=[Filter("escalate == true", (ws.target("first", timeout=10), ws.target("second")))],
    )
    ws.add_worker("alice", team="first")
    escalating = ws.task(attributes={"escalate": True})
    waiting = ws.task()
    assert ws.holder(escalating) == "alice"

    ws.engine.advance(seconds=10)

    assert escalating.task_queue_sid == ws.queues["second"].sid
    assert ws.is_free("alice") is False
    assert names(ws, ws.reservations(waiting, PENDING)) == ["alice"]


def test_a_worker_freed_by_rerouting_takes_other_waiting_work(ws: Workspace) -> None:
    ws.add_queue("first", "team == 'first'")
    ws.add_queue("second", "team == 'second'")
    ws.add_workflow(default="first", filters=[Filter("escalate == true", (ws.target("second"),))])
    ws.add_worker("alice", team="first")
    task = ws.task()
    waiting = ws.task()
    assert ws.holder(task) == "alice"

    ws.engine.update_task(ws.sid, task.sid, attributes={"escalate": True})

    assert task.task_queue_sid == ws.queues["second"].sid
    assert ws.is_free("alice") is False
    assert names(ws, ws.reservations(waiting, PENDING)) == ["alice"]


def test_a_priority_update_reorders_a_queue_task(ws: Workspace) -> None:
    queue = ws.add_queue("support")
    ws.task(task_queue_sid=queue, attributes={"name": "first"})
    urgent = ws.task(task_queue_sid=queue, attributes={"name": "urgent"})

    ws.engine.update_task(ws.sid, urgent.sid, priority=5)
    ws.add_worker("alice")

    assert serve_all(ws) == ["urgent", "first"]


def test_a_priority_update_leaves_no_stale_waiting_entry(ws: Workspace) -> None:
    ws.add_queue("support", max_reserved_workers=2)
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    task = ws.task()
    assert [key[2] for key in ws.queues["support"].waiting] == [task.sid]  # wants one more

    ws.engine.update_task(ws.sid, task.sid, priority=5)
    ws.accept(task)

    assert task.status is TaskStatus.ASSIGNED
    assert ws.queues["support"].waiting == []


def test_a_smaller_workflow_configuration_does_not_break_routing(ws: Workspace) -> None:
    first = ws.add_queue("first")
    workflow = ws.add_workflow(
        default="first",
        filters=[
            Filter("a == 1", (ws.target("first"),)),
            Filter("b == 1", (ws.target("first", timeout=10), ws.target("first"))),
        ],
    )
    task = ws.task(attributes={"b": 1})

    ws.engine.update_workflow(
        ws.sid,
        workflow.sid,
        configuration=WorkflowConfiguration(default_filter=Target(queue=first)),
    )
    ws.add_worker("alice")  # routing the waiting task consults its (stale) target
    ws.engine.advance(seconds=10)

    assert task.status is TaskStatus.RESERVED


# -- step timeouts count from the task's age -----------------------------------------------------
# twilio.com/docs/taskrouter/task-evaluation: "the queue timeout will be based on the current
# age of the Task", the steps' timeouts adding up ("the sum of Q1 and Q2 timeouts").


def _three_steps(ws: Workspace, **first: Any) -> None:
    for name in ("first", "second", "third"):
        ws.add_queue(name)
    ws.add_workflow(
        default="third",
        filters=[
            Filter(
                "kind == 'call'",
                (
                    ws.target("first", timeout=10, **first),
                    ws.target("second", timeout=10),
                    ws.target("third"),
                ),
            )
        ],
    )


def test_a_task_re_evaluated_late_starts_at_the_step_its_age_falls_in(ws: Workspace) -> None:
    _three_steps(ws)
    task = ws.task(attributes={"kind": "other"})
    ws.engine.advance(seconds=15)

    ws.engine.update_task(ws.sid, task.sid, attributes=json.dumps({"kind": "call"}))

    assert task.task_queue_sid == ws.queues["second"].sid
    ws.engine.advance(seconds=4.9)
    assert task.task_queue_sid == ws.queues["second"].sid
    ws.engine.advance(seconds=0.1)
    assert task.task_queue_sid == ws.queues["third"].sid


def test_a_skipped_step_leaves_its_time_to_the_next(ws: Workspace) -> None:
    _three_steps(ws, skip_if="workers.available == 0")

    task = ws.task(attributes={"kind": "call"})

    assert task.task_queue_sid == ws.queues["second"].sid
    ws.engine.advance(seconds=19)
    assert task.task_queue_sid == ws.queues["second"].sid
    ws.engine.advance(seconds=1)
    assert task.task_queue_sid == ws.queues["third"].sid


def test_a_virtual_start_time_orders_the_queue_but_not_the_steps(ws: Workspace) -> None:
    """The task resource: ``virtual_start_time`` gives "the ordering for routing"; ``age`` is
    "the number of seconds since the Task was created", and the steps count from the age."""
    _three_steps(ws)
    first = ws.task(attributes={"kind": "call"})
    early = ws.task(
        attributes={"kind": "call"}, virtual_start_time=ws.engine.now() - timedelta(seconds=25)
    )

    assert early.task_queue_sid == ws.queues["first"].sid
    waiting = ws.engine.task_queues[ws.queues["first"].sid].waiting
    assert [key[2] for key in waiting] == [early.sid, first.sid]
    assert ws.engine.task_age(early) == 0


def test_a_virtual_start_time_in_the_future_or_before_1900_is_refused(ws: Workspace) -> None:
    """Twilio's ``VirtualStartTime``: "Value can't be in the future or before the year of
    1900"."""
    ws.add_queue("first")
    ws.add_workflow(default="first")
    with pytest.raises(InvalidArgument, match="future"):
        ws.task(virtual_start_time=ws.engine.now() + timedelta(seconds=1))
    with pytest.raises(InvalidArgument, match="1900"):
        ws.task(virtual_start_time=datetime(1899, 12, 31, tzinfo=UTC))


def test_a_new_virtual_start_time_moves_the_task_in_its_queue(ws: Workspace) -> None:
    ws.add_queue("first")
    ws.add_workflow(default="first")
    older, newer = ws.task(), ws.task()

    ws.engine.update_task(
        ws.sid, newer.sid, virtual_start_time=ws.engine.now() - timedelta(hours=1)
    )

    waiting = ws.engine.task_queues[ws.queues["first"].sid].waiting
    assert [key[2] for key in waiting] == [newer.sid, older.sid]


def test_a_task_re_evaluated_past_every_step_leaves_the_workflow(ws: Workspace) -> None:
    ws.add_queue("first")
    ws.add_queue("other")
    ws.add_workflow(
        default="other",
        filters=[Filter("kind == 'call'", (ws.target("first", timeout=5),))],
    )
    task = ws.task(attributes={"kind": "other"})
    ws.engine.advance(seconds=60)

    ws.engine.update_task(ws.sid, task.sid, attributes=json.dumps({"kind": "call"}))

    assert task.status is TaskStatus.CANCELED


def test_not_found_is_the_package_wide_not_found(ws: Workspace) -> None:
    import taskrouter_flask
    from taskrouter_flask.client import NotFound as ClientNotFound

    with pytest.raises(taskrouter_flask.NotFound) as caught:
        ws.engine.task(ws.sid, "WT" + "0" * 32)
    assert isinstance(caught.value, NotFound) and caught.value.code == 20404
    assert not isinstance(caught.value, ClientNotFound)
