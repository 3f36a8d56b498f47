"""Fixtures for the routing engine: a manual clock, an engine, and a small workspace builder."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from taskrouter_flask.sandbox import Engine, ManualClock
from taskrouter_flask.sandbox.state import (
    EventRecord,
    ReservationRecord,
    ReservationStatus,
    TaskQueueRecord,
    TaskRecord,
    WorkerRecord,
    WorkflowRecord,
    WorkspaceRecord,
)
from taskrouter_flask.workflow import Filter, Target, WorkflowConfiguration


@dataclass
class Workspace:
    """A workspace in an engine, with its activities, queues and workers reachable by name."""

    engine: Engine
    record: WorkspaceRecord
    activities: dict[str, str] = field(default_factory=dict)
    queues: dict[str, TaskQueueRecord] = field(default_factory=dict)
    workers: dict[str, WorkerRecord] = field(default_factory=dict)

    @property
    def sid(self) -> str:
        return self.record.sid

    # -- building -------------------------------------------------------------------------

    def add_activity(self, name: str, *, available: bool = False) -> str:
        activity = self.engine.create_activity(self.sid, friendly_name=name, available=available)
        self.activities[name] = activity.sid
        return activity.sid

    def add_queue(self, name: str, target_workers: str = "1==1", **options: Any) -> str:
        for key in ("reservation_activity_sid", "assignment_activity_sid"):
            if options.get(key) in self.activities:
                options[key] = self.activities[options[key]]
        queue = self.engine.create_task_queue(
            self.sid, friendly_name=name, target_workers=target_workers, **options
        )
        self.queues[name] = queue
        return queue.sid

    def add_worker(
        self, name: str, *, activity: str = "Available", **attributes: Any
    ) -> WorkerRecord:
        worker = self.engine.create_worker(
            self.sid,
            friendly_name=name,
            activity_sid=self.activities[activity],
            attributes=attributes,
        )
        self.workers[name] = worker
        return worker

    def add_workflow(
        self,
        *,
        default: str | Target,
        filters: Sequence[Filter] = (),
        name: str = "Routing",
        **options: Any,
    ) -> WorkflowRecord:
        """A workflow; ``default`` is a queue name or a full :class:`Target`."""
        default_target = default if isinstance(default, Target) else self.target(default)
        configuration = WorkflowConfiguration(filters=tuple(filters), default_filter=default_target)
        return self.engine.create_workflow(
            self.sid, friendly_name=name, configuration=configuration, **options
        )

    def target(self, queue: str, **options: Any) -> Target:
        """A workflow target naming a queue by its friendly name."""
        return Target(queue=self.queues[queue].sid, **options)

    # -- acting ---------------------------------------------------------------------------

    def task(self, **options: Any) -> TaskRecord:
        return self.engine.create_task(self.sid, **options)

    def set_activity(self, worker: str, activity: str, **options: Any) -> None:
        self.engine.update_worker(
            self.sid, self.workers[worker].sid, activity_sid=self.activities[activity], **options
        )

    def activity_of(self, worker: str) -> str:
        return self.engine.activities[self.workers[worker].activity_sid].friendly_name

    def reservations(
        self, task: TaskRecord, status: ReservationStatus | None = None
    ) -> list[ReservationRecord]:
        found = self.engine.reservations_of_task(task.sid)
        return [r for r in found if status is None or r.status is status]

    def pending(self, task: TaskRecord) -> ReservationRecord:
        """The task's one pending reservation."""
        (reservation,) = self.reservations(task, ReservationStatus.PENDING)
        return reservation

    def holder(self, task: TaskRecord) -> str:
        """The friendly name of the worker holding the task's one pending reservation."""
        return self.engine.workers[self.pending(task).worker_sid].friendly_name

    def accept(self, task: TaskRecord) -> ReservationRecord:
        reservation = self.pending(task)
        self.engine.update_reservation(self.sid, reservation.sid, reservation_status="accepted")
        return reservation

    def complete(self, task: TaskRecord) -> None:
        self.engine.update_task(self.sid, task.sid, assignment_status="completed", reason="done")

    def is_free(self, worker: str) -> bool:
        return self.engine.has_capacity(self.workers[worker])

    # -- events ---------------------------------------------------------------------------

    def mark(self) -> int:
        """A bookmark in the event log, for :meth:`events_since`."""
        return len(self.engine.events)

    def events_since(self, mark: int, *types: str) -> list[EventRecord]:
        events = self.engine.events[mark:]
        return [e for e in events if not types or e.type in types]

    def types_since(self, mark: int) -> list[str]:
        return [event.type for event in self.engine.events[mark:]]


WorkspaceFactory = Callable[..., Workspace]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def engine(clock: ManualClock) -> Engine:
    return Engine(clock)


@pytest.fixture
def make_workspace(engine: Engine) -> WorkspaceFactory:
    """Build a workspace: ``make_workspace(activities={"Busy": False}, multi_task_enabled=True)``.

    The default activities (Offline, Available, Unavailable) are always there.
    """

    def build(*, activities: dict[str, bool] | Iterable[str] = (), **options: Any) -> Workspace:
        # Single-tasking unless asked (Twilio's default is multi-tasking; these tests were
        # written for the worker-activity rules of single-tasking workspaces).
        options.setdefault("multi_task_enabled", False)
        record = engine.create_workspace(friendly_name="Support", **options)
        workspace = Workspace(engine, record)
        for activity in engine.activities.values():
            if activity.workspace_sid == record.sid:
                workspace.activities[activity.friendly_name] = activity.sid
        extra = activities if isinstance(activities, dict) else dict.fromkeys(activities, False)
        for name, available in extra.items():
            workspace.add_activity(name, available=available)
        return workspace

    return build


@pytest.fixture
def ws(make_workspace: WorkspaceFactory) -> Workspace:
    """A single-tasking workspace with the default activities and nothing else."""
    return make_workspace()
