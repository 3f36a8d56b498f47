"""The statistics resources over a scenario whose every figure is known, and against recounts.

The scenario (seconds after 2026-01-01T00:00:00Z; reservations time out after 30 s):

* queues Sales (alice, bob; two reservations per task) and Support (carol; moves her
  to Busy on acceptance); workflow Main: ``type == 'sales'`` to Sales, ``type ==
  'escalate'`` to Sales for 60 s then Support for 120 s, anything else to Support.
* 0: alice and bob Available. 100: T1 (sales) offered to both; 110: alice accepts,
  bob's offer is rescinded. 120: T2 (sales) offered to bob; 130: bob rejects and
  goes Unavailable. 190/200: T1 wraps up and completes; T2 is offered to alice;
  230: her offer times out and she goes Offline.
* 300: T3 (support, virtual start 250); 310: carol Available, offered T3;
  320: she accepts (T3 waited 70 s since its virtual start, 20 s in the queue).
* 330: T2 canceled (waited 210 s). 400: T4 (escalate); 460: moved to Support;
  580: times out of the workflow, canceled (waited 180 s).
* 600: T5 (sales, priority 5); 700: bob Available, offered T5; 710: alice
  Available, offered T5; 720: T5 canceled (waited 120 s), both offers canceled.
* 750: T7 (voice channel, straight to Support, priority 3, virtual start 600).
  760: T8 (support); 770: T8 deleted. 780: T6 (sales, priority 2) offered to
  alice and bob. Now is 800.
"""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskrouter_flask.sandbox import Engine, InvalidArgument, ManualClock, NotFound
from taskrouter_flask.sandbox import statistics as stats
from taskrouter_flask.sandbox.state import ReservationStatus, TaskStatus
from taskrouter_flask.workflow import Filter, Target, WorkflowConfiguration

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def iso(seconds: float) -> str:
    return at(seconds).strftime("%Y-%m-%dT%H:%M:%SZ")


def zeros() -> dict[str, int]:
    return {"avg": 0, "min": 0, "max": 0, "median": 0, "total": 0}


def waits(avg: int, low: int, high: int, median: int, total: int) -> dict[str, int]:
    return {"avg": avg, "min": low, "max": high, "median": median, "total": total}


def statuses(**counts: int) -> dict[str, int]:
    return {status.value: counts.get(status.value, 0) for status in TaskStatus}


@dataclass
class World:
    engine: Engine
    ws: str
    offline: str
    available: str
    unavailable: str
    busy: str
    sales: str
    support: str
    main: str
    alice: str
    bob: str
    carol: str
    tasks: dict[str, str]

    def activities(self, offline: int = 0, available: int = 0, busy: int = 0) -> list[Any]:
        return [
            {"sid": self.offline, "friendly_name": "Offline", "workers": offline},
            {"sid": self.available, "friendly_name": "Available", "workers": available},
            {"sid": self.unavailable, "friendly_name": "Unavailable", "workers": 0},
            {"sid": self.busy, "friendly_name": "Busy", "workers": busy},
        ]

    def durations(self, **rows: tuple[int, int, int, int]) -> list[Any]:
        """Expected activity_durations; each row is (avg, min, max, total)."""
        result = []
        for name, sid in (
            ("Offline", self.offline),
            ("Available", self.available),
            ("Unavailable", self.unavailable),
            ("Busy", self.busy),
        ):
            avg, low, high, total = rows.get(name, (0, 0, 0, 0))
            result.append(
                {
                    "sid": sid,
                    "friendly_name": name,
                    "avg": avg,
                    "min": low,
                    "max": high,
                    "total": total,
                }
            )
        return result


def pending_reservation(engine: Engine, task_sid: str, worker_sid: str) -> str:
    for reservation in engine.reservations_of_task(task_sid):
        if reservation.worker_sid == worker_sid and reservation.status is ReservationStatus.PENDING:
            return reservation.sid
    raise AssertionError(f"no pending reservation of {task_sid} for {worker_sid}")


def build_world() -> World:
    engine = Engine(ManualClock(T0))
    # Single-tasking: the figures below follow the queue activities' moves of the workers.
    ws = engine.create_workspace(friendly_name="Statistics", multi_task_enabled=False).sid
    names = {a.friendly_name: a.sid for a in engine.activities.values() if a.workspace_sid == ws}
    busy = engine.create_activity(ws, friendly_name="Busy", available=False).sid
    sales = engine.create_task_queue(
        ws, friendly_name="Sales", target_workers="skill == 'sales'", max_reserved_workers=2
    ).sid
    support = engine.create_task_queue(
        ws,
        friendly_name="Support",
        target_workers="skill == 'support'",
        assignment_activity_sid=busy,
    ).sid
    configuration = WorkflowConfiguration(
        filters=(
            Filter("type == 'sales'", (Target(queue=sales),), "sales"),
            Filter(
                "type == 'escalate'",
                (Target(queue=sales, timeout=60), Target(queue=support, timeout=120)),
                "escalate",
            ),
        ),
        default_filter=Target(queue=support),
    )
    main = engine.create_workflow(
        ws, friendly_name="Main", configuration=configuration, task_reservation_timeout=30
    ).sid
    alice = engine.create_worker(ws, friendly_name="alice", attributes={"skill": "sales"}).sid
    bob = engine.create_worker(ws, friendly_name="bob", attributes={"skill": "sales"}).sid
    carol = engine.create_worker(ws, friendly_name="carol", attributes={"skill": "support"}).sid
    w = World(
        engine,
        ws,
        names["Offline"],
        names["Available"],
        names["Unavailable"],
        busy,
        sales,
        support,
        main,
        alice,
        bob,
        carol,
        {},
    )
    e, t = engine, w.tasks
    e.update_worker(ws, alice, activity_sid=w.available)
    e.update_worker(ws, bob, activity_sid=w.available)

    e.advance(at(100))
    t["T1"] = e.create_task(ws, workflow_sid=main, attributes={"type": "sales"}).sid
    e.advance(at(110))
    e.update_reservation(ws, pending_reservation(e, t["T1"], alice), reservation_status="accepted")
    e.advance(at(120))
    t["T2"] = e.create_task(ws, workflow_sid=main, attributes={"type": "sales"}).sid
    e.advance(at(130))
    e.update_reservation(
        ws,
        pending_reservation(e, t["T2"], bob),
        reservation_status="rejected",
        worker_activity_sid=w.unavailable,
    )
    e.advance(at(190))
    e.update_task(ws, t["T1"], assignment_status="wrapping")
    e.advance(at(200))
    e.update_task(ws, t["T1"], assignment_status="completed")
    pending_reservation(e, t["T2"], alice)
    e.advance(at(230))  # alice's offer of T2 times out
    assert e.workers[alice].activity_sid == w.offline

    e.advance(at(300))
    t["T3"] = e.create_task(
        ws, workflow_sid=main, attributes={"type": "support"}, virtual_start_time=at(250)
    ).sid
    e.advance(at(310))
    e.update_worker(ws, carol, activity_sid=w.available)
    e.advance(at(320))
    e.update_reservation(ws, pending_reservation(e, t["T3"], carol), reservation_status="accepted")
    e.advance(at(330))
    e.update_task(ws, t["T2"], assignment_status="canceled")

    e.advance(at(400))
    t["T4"] = e.create_task(ws, workflow_sid=main, attributes={"type": "escalate"}).sid
    e.advance(at(600))  # moved at 460, out of the workflow at 580
    assert e.tasks[t["T4"]].status is TaskStatus.CANCELED
    t["T5"] = e.create_task(ws, workflow_sid=main, attributes={"type": "sales"}, priority=5).sid
    e.advance(at(700))
    e.update_worker(ws, bob, activity_sid=w.available)
    e.advance(at(710))
    e.update_worker(ws, alice, activity_sid=w.available)
    assert len(e.reservations_of_task(t["T5"])) == 2
    e.advance(at(720))
    e.update_task(ws, t["T5"], assignment_status="canceled")

    e.advance(at(750))
    t["T7"] = e.create_task(
        ws,
        task_queue_sid=support,
        task_channel="voice",
        priority=3,
        virtual_start_time=at(600),
    ).sid
    e.advance(at(760))
    t["T8"] = e.create_task(ws, workflow_sid=main, attributes={"type": "support"}).sid
    e.advance(at(770))
    e.delete_task(ws, t["T8"])
    e.advance(at(780))
    t["T6"] = e.create_task(ws, workflow_sid=main, attributes={"type": "sales"}, priority=2).sid
    e.advance(at(800))
    return w


@pytest.fixture
def world() -> World:
    return build_world()


# -- workspace -------------------------------------------------------------------------------


def test_workspace_real_time(world: World) -> None:
    assert stats.real_time(world.engine, stats.WorkspaceScope(world.ws)) == {
        "activity_statistics": world.activities(available=2, busy=1),
        "longest_task_waiting_age": 200,
        "longest_task_waiting_sid": world.tasks["T7"],
        "tasks_by_priority": {"0": 4, "2": 1, "3": 1, "5": 1},
        "tasks_by_status": statuses(pending=1, reserved=1, assigned=1, completed=1, canceled=3),
        "total_tasks": 7,
        "total_workers": 3,
    }


def test_workspace_real_time_by_channel(world: World) -> None:
    voice = stats.real_time(world.engine, stats.WorkspaceScope(world.ws), task_channel="voice")
    assert voice["tasks_by_status"] == statuses(pending=1)
    assert (voice["total_tasks"], voice["tasks_by_priority"]) == (1, {"3": 1})
    assert voice["longest_task_waiting_sid"] == world.tasks["T7"]
    default = stats.real_time(world.engine, stats.WorkspaceScope(world.ws), task_channel="default")
    assert default["total_tasks"] == 6
    assert default["longest_task_waiting_sid"] == world.tasks["T6"]
    assert default["longest_task_waiting_age"] == 20


def test_workspace_cumulative_default_window(world: World) -> None:
    assert stats.cumulative(
        world.engine, stats.WorkspaceScope(world.ws), split_by_wait_time="10,200"
    ) == {
        "avg_task_acceptance_time": 40,
        "start_time": iso(-100),
        "end_time": iso(800),
        "reservations_created": 9,
        "reservations_accepted": 2,
        "reservations_rejected": 1,
        "reservations_timed_out": 1,
        "reservations_canceled": 2,
        "reservations_rescinded": 1,
        "split_by_wait_time": {
            "10": {
                "above": {"tasks_canceled": 3, "reservations_accepted": 1},
                "below": {"tasks_canceled": 0, "reservations_accepted": 1},
            },
            "200": {
                "above": {"tasks_canceled": 1, "reservations_accepted": 0},
                "below": {"tasks_canceled": 2, "reservations_accepted": 2},
            },
        },
        "wait_duration_until_accepted": waits(40, 10, 70, 40, 80),
        "wait_duration_until_canceled": waits(170, 120, 210, 180, 510),
        "tasks_canceled": 3,
        "tasks_completed": 1,
        "tasks_created": 8,
        "tasks_deleted": 1,
        "tasks_moved": 1,
        "tasks_timed_out_in_workflow": 1,
    }


def test_workspace_cumulative_last_five_minutes(world: World) -> None:
    figures = stats.cumulative(world.engine, stats.WorkspaceScope(world.ws), minutes=5)
    assert figures == {
        "avg_task_acceptance_time": 0,
        "start_time": iso(500),
        "end_time": iso(800),
        "reservations_created": 4,
        "reservations_accepted": 0,
        "reservations_rejected": 0,
        "reservations_timed_out": 0,
        "reservations_canceled": 2,
        "reservations_rescinded": 0,
        "split_by_wait_time": None,
        "wait_duration_until_accepted": zeros(),
        "wait_duration_until_canceled": waits(150, 120, 180, 150, 300),
        "tasks_canceled": 2,
        "tasks_completed": 0,
        "tasks_created": 4,
        "tasks_deleted": 1,
        "tasks_moved": 0,
        "tasks_timed_out_in_workflow": 1,
    }
    # The same window, as the REST layer may pass it: strings.
    assert stats.cumulative(world.engine, stats.WorkspaceScope(world.ws), minutes="5") == figures


def test_workspace_cumulative_between_dates_includes_both_ends(world: World) -> None:
    figures = stats.cumulative(
        world.engine, stats.WorkspaceScope(world.ws), start_date=at(100), end_date=iso(330)
    )
    assert (figures["start_time"], figures["end_time"]) == (iso(100), iso(330))
    assert {k: v for k, v in figures.items() if k.startswith("reservations_")} == {
        "reservations_created": 5,
        "reservations_accepted": 2,
        "reservations_rejected": 1,
        "reservations_timed_out": 1,
        "reservations_canceled": 0,
        "reservations_rescinded": 1,
    }
    assert (figures["tasks_created"], figures["tasks_canceled"], figures["tasks_completed"]) == (
        3,
        1,
        1,
    )
    assert figures["wait_duration_until_canceled"] == waits(210, 210, 210, 210, 210)
    assert figures["avg_task_acceptance_time"] == 40
    # A window after everything happened counts nothing.
    later = stats.cumulative(world.engine, stats.WorkspaceScope(world.ws), start_date=at(790))
    assert later["reservations_created"] == 0
    assert later["tasks_created"] == 0


def test_workspace_cumulative_by_channel(world: World) -> None:
    voice = stats.cumulative(world.engine, stats.WorkspaceScope(world.ws), task_channel="voice")
    assert voice["tasks_created"] == 1
    assert voice["reservations_created"] == 0
    assert voice["tasks_canceled"] == 0


def test_workspace_statistics_combines_both(world: World) -> None:
    both = stats.combined(world.engine, stats.WorkspaceScope(world.ws), minutes=5)
    assert both == {
        "cumulative": stats.cumulative(world.engine, stats.WorkspaceScope(world.ws), minutes=5),
        "realtime": stats.real_time(world.engine, stats.WorkspaceScope(world.ws)),
    }


# -- workflow ------------------------------------------------------------------------------------


def test_workflow_real_time_leaves_out_tasks_outside_it(world: World) -> None:
    assert stats.real_time(world.engine, stats.WorkflowScope(world.ws, world.main)) == {
        "longest_task_waiting_age": 20,
        "longest_task_waiting_sid": world.tasks["T6"],
        "tasks_by_priority": {"0": 4, "2": 1, "5": 1},
        "tasks_by_status": statuses(reserved=1, assigned=1, completed=1, canceled=3),
        "total_tasks": 6,
    }


def test_workflow_cumulative(world: World) -> None:
    assert stats.cumulative(world.engine, stats.WorkflowScope(world.ws, world.main)) == {
        "avg_task_acceptance_time": 40,
        "start_time": iso(-100),
        "end_time": iso(800),
        "reservations_created": 9,
        "reservations_accepted": 2,
        "reservations_rejected": 1,
        "reservations_timed_out": 1,
        "reservations_canceled": 2,
        "reservations_rescinded": 1,
        "split_by_wait_time": None,
        "wait_duration_until_accepted": waits(40, 10, 70, 40, 80),
        "wait_duration_until_canceled": waits(170, 120, 210, 180, 510),
        "tasks_canceled": 3,
        "tasks_completed": 1,
        "tasks_entered": 7,
        "tasks_deleted": 1,
        "tasks_moved": 1,
        "tasks_timed_out_in_workflow": 1,
    }


def test_workflow_statistics(world: World) -> None:
    both = stats.combined(world.engine, stats.WorkflowScope(world.ws, world.main), minutes=5)
    assert both["realtime"] == stats.real_time(
        world.engine, stats.WorkflowScope(world.ws, world.main)
    )
    assert both["cumulative"]["tasks_entered"] == 3  # T5, T8, T6
    assert both["cumulative"]["tasks_timed_out_in_workflow"] == 1


# -- task queues -------------------------------------------------------------------------------


def sales_real_time(world: World) -> dict[str, Any]:
    return {
        "activity_statistics": world.activities(available=2),
        "longest_task_waiting_age": 20,
        "longest_task_waiting_sid": world.tasks["T6"],
        "longest_relative_task_age_in_queue": 20,
        "longest_relative_task_sid_in_queue": world.tasks["T6"],
        "tasks_by_priority": {"0": 2, "2": 1, "5": 1},
        "tasks_by_status": statuses(reserved=1, completed=1, canceled=2),
        "total_available_workers": 2,
        "total_eligible_workers": 2,
        "total_tasks": 4,
    }


def support_real_time(world: World) -> dict[str, Any]:
    return {
        "activity_statistics": world.activities(busy=1),
        "longest_task_waiting_age": 200,
        "longest_task_waiting_sid": world.tasks["T7"],
        "longest_relative_task_age_in_queue": 50,
        "longest_relative_task_sid_in_queue": world.tasks["T7"],
        "tasks_by_priority": {"0": 2, "3": 1},
        "tasks_by_status": statuses(pending=1, assigned=1, canceled=1),
        "total_available_workers": 0,
        "total_eligible_workers": 1,
        "total_tasks": 3,
    }


def test_task_queue_real_time(world: World) -> None:
    assert stats.real_time(
        world.engine, stats.TaskQueueScope(world.ws, world.sales)
    ) == sales_real_time(world)
    assert stats.real_time(
        world.engine, stats.TaskQueueScope(world.ws, world.support)
    ) == support_real_time(world)


def test_task_queue_cumulative(world: World) -> None:
    sales = stats.cumulative(world.engine, stats.TaskQueueScope(world.ws, world.sales))
    assert sales == {
        "avg_task_acceptance_time": 10,
        "start_time": iso(-100),
        "end_time": iso(800),
        "reservations_created": 8,
        "reservations_accepted": 1,
        "reservations_rejected": 1,
        "reservations_timed_out": 1,
        "reservations_canceled": 2,
        "reservations_rescinded": 1,
        "split_by_wait_time": None,
        "wait_duration_until_accepted": waits(10, 10, 10, 10, 10),
        "wait_duration_until_canceled": waits(165, 120, 210, 165, 330),
        "wait_duration_in_queue_until_accepted": waits(10, 10, 10, 10, 10),
        "tasks_canceled": 2,
        "tasks_completed": 1,
        "tasks_deleted": 0,
        "tasks_entered": 5,
        "tasks_moved": 0,
    }
    support = stats.cumulative(world.engine, stats.TaskQueueScope(world.ws, world.support))
    assert support == {
        "avg_task_acceptance_time": 70,
        "start_time": iso(-100),
        "end_time": iso(800),
        "reservations_created": 1,
        "reservations_accepted": 1,
        "reservations_rejected": 0,
        "reservations_timed_out": 0,
        "reservations_canceled": 0,
        "reservations_rescinded": 0,
        "split_by_wait_time": None,
        "wait_duration_until_accepted": waits(70, 70, 70, 70, 70),
        "wait_duration_until_canceled": waits(180, 180, 180, 180, 180),
        "wait_duration_in_queue_until_accepted": waits(20, 20, 20, 20, 20),
        "tasks_canceled": 1,
        "tasks_completed": 0,
        "tasks_deleted": 1,
        "tasks_entered": 4,
        "tasks_moved": 1,
    }


def test_task_queue_split_by_wait_time(world: World) -> None:
    figures = stats.cumulative(
        world.engine,
        stats.TaskQueueScope(world.ws, world.support),
        split_by_wait_time=" 70, 180,70",
    )
    assert figures["split_by_wait_time"] == {
        "70": {
            "above": {"tasks_canceled": 1, "reservations_accepted": 0},
            "below": {"tasks_canceled": 0, "reservations_accepted": 1},
        },
        "180": {
            "above": {"tasks_canceled": 0, "reservations_accepted": 0},
            "below": {"tasks_canceled": 1, "reservations_accepted": 1},
        },
    }


def test_task_queue_statistics_and_list(world: World) -> None:
    one = stats.combined(world.engine, stats.TaskQueueScope(world.ws, world.sales))
    assert one["realtime"] == sales_real_time(world)
    assert one["cumulative"] == stats.cumulative(
        world.engine, stats.TaskQueueScope(world.ws, world.sales)
    )
    listed = stats.task_queues_statistics(world.engine, world.ws)
    assert [item["task_queue_sid"] for item in listed] == [world.sales, world.support]
    assert listed[0] == {"task_queue_sid": world.sales, **one}
    named = stats.task_queues_statistics(world.engine, world.ws, friendly_name="Support")
    assert [item["task_queue_sid"] for item in named] == [world.support]
    assert named[0]["realtime"] == support_real_time(world)
    assert stats.task_queues_statistics(world.engine, world.ws, friendly_name="Nope") == []


def test_task_queue_bulk_real_time(world: World) -> None:
    bulk = stats.task_queue_bulk_real_time(world.engine, world.ws, [world.support, world.sales])
    assert bulk["task_queue_response_count"] == 2
    relative = ("longest_relative_task_age_in_queue", "longest_relative_task_sid_in_queue")
    for item, expected in zip(
        bulk["task_queue_data"], (support_real_time(world), sales_real_time(world)), strict=True
    ):
        for key in relative:
            del expected[key]
        assert item.pop("task_queue_sid") in (world.support, world.sales)
        assert item == expected
    with pytest.raises(InvalidArgument):
        stats.task_queue_bulk_real_time(world.engine, world.ws, [])
    with pytest.raises(InvalidArgument):
        stats.task_queue_bulk_real_time(world.engine, world.ws, [world.sales] * 51)
    with pytest.raises(NotFound):
        stats.task_queue_bulk_real_time(world.engine, world.ws, ["WQ" + "0" * 32])


# -- workers -------------------------------------------------------------------------------


def test_workers_real_time(world: World) -> None:
    assert stats.real_time(world.engine, stats.WorkersScope(world.ws)) == {
        "activity_statistics": world.activities(available=2, busy=1),
        "total_workers": 3,
    }


def test_workers_cumulative(world: World) -> None:
    assert stats.cumulative(world.engine, stats.WorkersScope(world.ws)) == {
        "start_time": iso(-100),
        "end_time": iso(800),
        "activity_durations": world.durations(
            Offline=(395, 310, 480, 790),
            Available=(187, 10, 320, 560),
            Unavailable=(570, 570, 570, 570),
            Busy=(480, 480, 480, 480),
        ),
        "reservations_created": 9,
        "reservations_accepted": 2,
        "reservations_rejected": 1,
        "reservations_timed_out": 1,
        "reservations_canceled": 2,
        "reservations_rescinded": 1,
    }


def test_workers_cumulative_window_clips_activity_time(world: World) -> None:
    figures = stats.cumulative(world.engine, stats.WorkersScope(world.ws), minutes=5)
    assert figures["activity_durations"] == world.durations(
        Offline=(210, 210, 210, 210),
        Available=(95, 90, 100, 190),
        Unavailable=(200, 200, 200, 200),
        Busy=(300, 300, 300, 300),
    )
    assert figures["reservations_created"] == 4
    assert figures["reservations_canceled"] == 2
    # A window in the past uses the stints that were open then.
    past = stats.cumulative(
        world.engine, stats.WorkersScope(world.ws), start_date=at(100), end_date=at(200)
    )
    assert past["activity_durations"] == world.durations(
        Offline=(100, 100, 100, 100),
        Available=(65, 30, 100, 130),
        Unavailable=(70, 70, 70, 70),
    )


def test_workers_statistics_for_a_queue(world: World) -> None:
    assert stats.combined(
        world.engine, stats.WorkersScope(world.ws, task_queue_sid=world.sales)
    ) == {
        "cumulative": {
            "start_time": iso(-100),
            "end_time": iso(800),
            "activity_durations": world.durations(
                Offline=(480, 480, 480, 480),
                Available=(275, 230, 320, 550),
                Unavailable=(570, 570, 570, 570),
            ),
            "reservations_created": 8,
            "reservations_accepted": 1,
            "reservations_rejected": 1,
            "reservations_timed_out": 1,
            "reservations_canceled": 2,
            "reservations_rescinded": 1,
        },
        "realtime": {"activity_statistics": world.activities(available=2), "total_workers": 2},
    }
    by_name = stats.combined(world.engine, stats.WorkersScope(world.ws, task_queue_name="Support"))
    assert by_name["realtime"] == {
        "activity_statistics": world.activities(busy=1),
        "total_workers": 1,
    }
    assert by_name["cumulative"]["reservations_accepted"] == 1


def test_worker_instance_statistics(world: World) -> None:
    assert stats.combined(world.engine, stats.WorkerScope(world.ws, world.alice)) == {
        "cumulative": {
            "start_time": iso(-100),
            "end_time": iso(800),
            "activity_durations": world.durations(
                Offline=(480, 480, 480, 480), Available=(320, 320, 320, 320)
            ),
            "reservations_created": 4,
            "reservations_accepted": 1,
            "reservations_rejected": 0,
            "reservations_timed_out": 1,
            "reservations_canceled": 1,
            "reservations_rescinded": 0,
        }
    }


def test_deleted_worker_keeps_their_time() -> None:
    engine = Engine(ManualClock(T0))
    ws = engine.create_workspace(friendly_name="w").sid
    act = {a.friendly_name: a.sid for a in engine.activities.values()}
    dave = engine.create_worker(ws, friendly_name="dave").sid
    engine.create_worker(ws, friendly_name="erin")
    engine.advance(at(60))
    engine.update_worker(ws, dave, activity_sid=act["Available"])
    engine.advance(at(100))
    engine.delete_worker(ws, dave)
    engine.advance(at(200))
    rows = {
        row["friendly_name"]: row
        for row in stats.cumulative(engine, stats.WorkersScope(ws))["activity_durations"]
    }
    assert rows["Offline"] | {"sid": ""} == {  # dave 60 s, erin 200 s
        "sid": "",
        "friendly_name": "Offline",
        "avg": 130,
        "min": 60,
        "max": 200,
        "total": 260,
    }
    assert (rows["Available"]["total"], rows["Available"]["min"]) == (40, 40)
    only_erin = stats.cumulative(engine, stats.WorkersScope(ws, friendly_name="erin"))
    assert [row["total"] for row in only_erin["activity_durations"]] == [200, 0, 0]
    assert stats.real_time(engine, stats.WorkersScope(ws))["total_workers"] == 1


def test_empty_workspace() -> None:
    engine = Engine(ManualClock(T0))
    ws = engine.create_workspace(friendly_name="w").sid
    realtime = stats.real_time(engine, stats.WorkspaceScope(ws))
    assert realtime["tasks_by_status"] == statuses()
    assert realtime["tasks_by_priority"] == {}
    assert (realtime["longest_task_waiting_age"], realtime["longest_task_waiting_sid"]) == (0, None)
    cumulative = stats.cumulative(engine, stats.WorkspaceScope(ws))
    assert cumulative["wait_duration_until_accepted"] == zeros()
    assert cumulative["avg_task_acceptance_time"] == 0


# -- refusals ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "window",
    [
        {"minutes": 0},
        {"minutes": -5},
        {"minutes": "ten"},
        {"minutes": True},
        {"start_date": at(300), "end_date": at(200)},
        {"start_date": at(900)},
        {"start_date": "yesterday"},
        {"split_by_wait_time": "10,x"},
        {"split_by_wait_time": ""},
        {"split_by_wait_time": "-5"},
    ],
)
def test_bad_windows_are_refused(world: World, window: dict[str, Any]) -> None:
    with pytest.raises(InvalidArgument):
        stats.cumulative(world.engine, stats.WorkspaceScope(world.ws), **window)


def test_unknown_resources_are_not_found(world: World) -> None:
    e, ws = world.engine, world.ws
    unknown = "0" * 32
    calls: list[Callable[[], object]] = [
        lambda: stats.real_time(e, stats.WorkspaceScope("WS" + unknown)),
        lambda: stats.cumulative(e, stats.WorkspaceScope("WS" + unknown)),
        lambda: stats.combined(e, stats.WorkflowScope(ws, "WW" + unknown)),
        lambda: stats.combined(e, stats.TaskQueueScope(ws, "WQ" + unknown)),
        lambda: stats.combined(e, stats.WorkerScope(ws, "WK" + unknown)),
        lambda: stats.combined(e, stats.WorkersScope(ws, task_queue_sid="WQ" + unknown)),
        lambda: stats.combined(e, stats.WorkersScope(ws, task_queue_name="Nope")),
        lambda: stats.real_time(e, stats.WorkspaceScope(ws), task_channel="fax"),
        lambda: stats.cumulative(e, stats.WorkspaceScope(ws), task_channel="fax"),
    ]
    for call in calls:
        with pytest.raises(NotFound):
            call()


def test_a_window_is_read_once_and_serves_both_halves(world: World) -> None:
    window = stats.Window.read(
        world.engine, world.ws, minutes="5", task_channel="voice", split_by_wait_time="60,10,60"
    )
    assert (window.start, window.end) == (at(500), at(800))
    assert window.channel_sid == world.engine.task_channel(world.ws, "voice").sid
    assert window.thresholds == (60, 10)
    # A combined answer is its two halves over that one window.
    scope = stats.WorkspaceScope(world.ws)
    both = stats.combined(
        world.engine, scope, minutes=5, task_channel="voice", split_by_wait_time="60,10"
    )
    assert both == {
        "cumulative": scope.cumulative(world.engine, window),
        "realtime": scope.real_time(world.engine, window.channel_sid),
    }
    assert both["realtime"]["total_tasks"] == 1  # T7, the only voice task


def test_each_scope_takes_only_its_own_parameters(world: World) -> None:
    e, ws = world.engine, world.ws
    with pytest.raises(TypeError, match="split_by_wait_time"):
        stats.cumulative(e, stats.WorkersScope(ws), split_by_wait_time="10")
    with pytest.raises(TypeError, match="minutes"):
        stats.real_time(e, stats.WorkspaceScope(ws), minutes=5)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="mintues"):
        stats.cumulative(e, stats.WorkspaceScope(ws), mintues=5)  # type: ignore[call-arg]
    # TaskRouter has no real-time statistics of one worker: its combined ones are cumulative.
    with pytest.raises(TypeError, match="no real-time"):
        stats.real_time(e, stats.WorkerScope(ws, world.alice))
    assert list(stats.combined(e, stats.WorkerScope(ws, world.alice))) == ["cumulative"]


def test_the_resource_is_refused_before_its_parameters(world: World) -> None:
    """Every scope checks its workspace and resource first, then the window and channel."""
    unknown = stats.TaskQueueScope(world.ws, "WQ" + "0" * 32)
    for compute in (stats.real_time, stats.cumulative, stats.combined):
        with pytest.raises(NotFound, match="task queue"):
            compute(world.engine, unknown, task_channel="fax")


def test_the_queue_list_refuses_a_bad_window_even_with_no_queue_to_list(world: World) -> None:
    for window in ({"task_channel": "fax"}, {"split_by_wait_time": "x"}, {"minutes": 0}):
        with pytest.raises((InvalidArgument, NotFound)):
            stats.task_queues_statistics(world.engine, world.ws, friendly_name="Nope", **window)


# -- against recounts ------------------------------------------------------------------------

ACTION_NAMES = "create accept reject wrap complete cancel delete activity wait".split()
ACTIONS = st.lists(
    st.tuples(st.sampled_from(ACTION_NAMES), st.integers(min_value=0, max_value=1_000)),
    max_size=30,
)


def run_actions(world: World, actions: list[tuple[str, int]]) -> None:
    e, ws = world.engine, world.ws
    kinds = ("sales", "support", "escalate")
    for action, n in actions:
        tasks = [t for t in e.tasks.values() if t.workspace_sid == ws]
        pending = [r for r in e.reservations.values() if r.status is ReservationStatus.PENDING]
        if action == "create":
            e.create_task(
                ws,
                workflow_sid=world.main,
                attributes={"type": kinds[n % 3]},
                priority=n % 4,
                task_channel=("default", "voice")[n % 2],
            )
        elif action in ("accept", "reject") and pending:
            status = "accepted" if action == "accept" else "rejected"
            e.update_reservation(ws, pending[n % len(pending)].sid, reservation_status=status)
        elif action in ("wrap", "complete", "cancel", "delete") and tasks:
            task = tasks[n % len(tasks)]
            wanted = {"wrap": "wrapping", "complete": "completed", "cancel": "canceled"}
            if action == "delete":
                e.delete_task(ws, task.sid)
            elif wanted[action] != task.status.value and TaskStatus(wanted[action]) in {
                TaskStatus.PENDING: {TaskStatus.CANCELED},
                TaskStatus.RESERVED: {TaskStatus.CANCELED},
                TaskStatus.ASSIGNED: {TaskStatus.WRAPPING, TaskStatus.COMPLETED},
                TaskStatus.WRAPPING: {TaskStatus.COMPLETED},
            }.get(task.status, set()):
                e.update_task(ws, task.sid, assignment_status=wanted[action])
        elif action == "activity":
            worker = (world.alice, world.bob, world.carol)[n % 3]
            activity = (world.offline, world.available, world.unavailable, world.busy)[n % 4]
            e.update_worker(ws, worker, activity_sid=activity)
        elif action == "wait":
            e.advance(seconds=n % 200)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(actions=ACTIONS)
def test_real_time_agrees_with_a_recount(actions: list[tuple[str, int]]) -> None:
    world = build_world()
    e, ws = world.engine, world.ws
    start = e.now()
    run_actions(world, actions)
    tasks = [t for t in e.tasks.values() if t.workspace_sid == ws]

    realtime = stats.real_time(e, stats.WorkspaceScope(ws))
    recount = Counter(task.status.value for task in tasks)
    assert realtime["tasks_by_status"] == {s.value: recount[s.value] for s in TaskStatus}
    assert realtime["total_tasks"] == len(tasks) == sum(realtime["tasks_by_priority"].values())
    waiting = [t for t in tasks if t.status in (TaskStatus.PENDING, TaskStatus.RESERVED)]
    assert realtime["longest_task_waiting_age"] == max((e.task_wait(t) for t in waiting), default=0)
    assert sum(a["workers"] for a in realtime["activity_statistics"]) == 3

    queues = [
        stats.real_time(e, stats.TaskQueueScope(ws, sid)) for sid in (world.sales, world.support)
    ]
    assert sum(q["total_tasks"] for q in queues) == realtime["total_tasks"]
    for status in TaskStatus:
        assert (
            sum(q["tasks_by_status"][status.value] for q in queues)
            == realtime["tasks_by_status"][status.value]
        )
    by_channel = [
        stats.real_time(e, stats.WorkspaceScope(ws), task_channel=name)["total_tasks"]
        for name in ("default", "voice")
    ]
    assert sum(by_channel) == realtime["total_tasks"]

    since_start = stats.cumulative(e, stats.WorkspaceScope(ws), start_date=T0)
    created = since_start["tasks_created"]
    assert created == len(tasks) + since_start["tasks_deleted"]
    assert since_start["reservations_accepted"] <= since_start["reservations_created"]
    # The scenario created its 8 tasks before ``start``; a window from then counts the rest.
    recent = stats.cumulative(e, stats.WorkspaceScope(ws), start_date=start)
    assert recent["tasks_created"] == created - 8


def test_module_is_pure() -> None:
    code = (
        "import sys, taskrouter_flask.sandbox.statistics;"
        " sys.exit('flask' in sys.modules or 'werkzeug' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
