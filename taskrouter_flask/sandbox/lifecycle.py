"""The lifecycles of reservations and tasks, and what each step does to the worker.

Why a part of its own: every policy about a reservation lives here and only
here: what a timeout, a rejection, an acceptance or a completion does to the
task, the worker's activity and capacity, and who is offered work next.
Every status change goes through the transition tables of :mod:`.state`.

The max assignment count: Twilio's limits page
(https://www.twilio.com/docs/taskrouter/limits) gives "Max Assignment Count",
1,000: the "Number of times a Task can move from status pending to reserved
before being cancelled. In a multi-reservation setup, the simultaneous
reservation of multiple workers equates to only a single Task state change".
So every move of a task from pending to reserved counts (in :meth:`Lifecycle.reserve`),
whatever ends the reservation afterwards: a rejection, a timeout, a rescind or
a cancel. Reservations made while the task is already reserved do not count.
The count is kept in ``TaskRecord.rejections`` (the record's field keeps its
old name; it now counts moves, not rejections). When a task that has moved
:data:`MAX_ASSIGNMENT_COUNT` times is back to pending, it is canceled there
and then with the reason :data:`MAX_ASSIGNMENT_REASON`; and a task is never
reserved a 1,001st time (a move back to pending by a step timeout or a
re-evaluation, which reroutes the task at once, meets the check in
:meth:`Lifecycle.reserve`). Twilio documents no reason text for this cancel;
``"Task TTL Exceeded or Max assignment count exceeded"`` is the
``TaskCanceledReason`` that applications handling Twilio's ``task.canceled``
events test for, so the sandbox uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import InstructionError
from ..instructions import instruction_from_dict
from .bounds import MAX_ASSIGNMENT_COUNT
from .errors import InvalidArgument, InvalidTransition, NotFound
from .part import Part
from .resources import DEFAULT_RESERVATION_TIMEOUT, check_revision
from .scheduler import ReservationTimeout
from .state import (
    ActivityChange,
    ReservationRecord,
    ReservationStatus,
    TaskQueueRecord,
    TaskRecord,
    TaskStatus,
    WorkerRecord,
    check_transition,
)

__all__ = ["MAX_ASSIGNMENT_COUNT", "MAX_ASSIGNMENT_REASON", "MAX_REJECTIONS", "Lifecycle"]

#: The old name of :data:`MAX_ASSIGNMENT_COUNT`, kept for its importers: the limit counts every
#: move from pending to reserved, rejected or not.
MAX_REJECTIONS = MAX_ASSIGNMENT_COUNT
#: The ``reason`` (``TaskCanceledReason``) of a task canceled at the max assignment count.
MAX_ASSIGNMENT_REASON = "Task TTL Exceeded or Max assignment count exceeded"


class Lifecycle(Part):
    """Reservations and task statuses: reserve, accept, reject, time out, wrap up, complete."""

    def time_out(self, reservation: ReservationRecord) -> None:
        """A pending reservation was not answered in time: the worker goes to the
        workspace's timeout activity and the task is offered again."""
        self.end_reservation(reservation, ReservationStatus.TIMEOUT)

    def reservation_event(self, reservation: ReservationRecord, event_type: str, text: str) -> None:
        task = self.store.tasks[reservation.task_sid]
        worker = self.store.workers.get(reservation.worker_sid)
        name = worker.friendly_name if worker else reservation.worker_sid
        self.engine.emit(
            reservation.workspace_sid,
            event_type,
            f"Reservation {reservation.sid} {text} by worker {name}",
            "Reservation",
            reservation.sid,
            task=self.facts.task(task, queue_sid=reservation.task_queue_sid),
            reservation_sid=reservation.sid,
            worker=self.facts.worker(worker) if worker is not None else None,
        )

    def set_activity(self, worker: WorkerRecord, activity_sid: str) -> None:
        if worker.activity_sid == activity_sid:
            return
        previous = self.store.activities[worker.activity_sid]
        now = self.engine.now()
        elapsed = now - worker.date_status_changed
        worker.activity_sid = activity_sid
        worker.date_status_changed = now
        worker.revision += 1
        activity = self.store.activities[activity_sid]
        if activity.available and not previous.available:
            worker.idle_since = now
        self.routing.refresh_view(worker)
        self.routing.refresh_ready(worker)
        self.engine.emit(
            worker.workspace_sid,
            "worker.activity.update",
            f"Worker {worker.friendly_name} updated to {activity.friendly_name} Activity",
            "Worker",
            worker.sid,
            worker=self.facts.worker(worker),
            change=ActivityChange(previous.sid, int(elapsed.total_seconds() * 1000)),
        )

    def check_task_status(self, task: TaskRecord, status: str) -> TaskStatus:
        """The status ``status`` names, if the task may move to it now.

        :raises InvalidArgument: for a status a task cannot be given by request.
        :raises InvalidTransition: for a move its lifecycle does not have.
        """
        try:
            new = TaskStatus(status)
        except ValueError:
            new = TaskStatus.PENDING  # refused below, with the same message
        if new not in _REQUESTABLE_TASK_STATUSES:
            raise InvalidArgument(
                f"AssignmentStatus: expected canceled, wrapping or completed, got {status!r}"
            )
        check_transition("task", task.sid, task.status, new)
        return new

    def set_task_status(self, task: TaskRecord, status: str, reason: str | None) -> None:
        new = self.check_task_status(task, status)
        if new is TaskStatus.CANCELED:
            self.cancel_task(task, reason or "canceled", description=f"Task {task.sid} canceled")
        elif new is TaskStatus.WRAPPING:
            self.task_transition(task, new, "task.wrapup", f"Task {task.sid} wrapping")
            for reservation in self.engine.reservations_of_task(task.sid):
                if reservation.status is ReservationStatus.ACCEPTED:
                    self.reservation_transition(reservation, ReservationStatus.WRAPPING)
        else:
            task.reason = reason
            self.task_transition(task, new, "task.completed", f"Task {task.sid} completed")
            for reservation in self.engine.reservations_of_task(task.sid):
                if reservation.status in (ReservationStatus.ACCEPTED, ReservationStatus.WRAPPING):
                    self.end_reservation(reservation, ReservationStatus.COMPLETED)

    def task_transition(
        self, task: TaskRecord, new: TaskStatus, event_type: str | None, description: str = ""
    ) -> None:
        check_transition("task", task.sid, task.status, new)
        task.status = new
        task.revision += 1
        task.date_updated = self.engine.now()
        if event_type is not None:
            self.engine.emit(
                task.workspace_sid,
                event_type,
                description,
                "Task",
                task.sid,
                task=self.facts.task(task),
            )

    def cancel_task(self, task: TaskRecord, reason: str, *, description: str) -> None:
        task.reason = reason
        self.routing.leave_queue(task)
        self.task_transition(task, TaskStatus.CANCELED, "task.canceled", description)
        for reservation in self.engine.reservations_of_task(task.sid):
            if reservation.status is ReservationStatus.PENDING:
                self.end_reservation(reservation, ReservationStatus.CANCELED)

    def cancel_at_max_assignments(self, task: TaskRecord) -> None:
        """Cancel a task that has moved from pending to reserved too often (see the module)."""
        self.cancel_task(
            task,
            MAX_ASSIGNMENT_REASON,
            description=(
                f"Task {task.sid} canceled: it moved from pending to reserved"
                f" {task.rejections} times, the max assignment count"
            ),
        )

    def cancel_pending(self, task: TaskRecord) -> list[WorkerRecord]:
        """Cancel the task's pending reservations before it moves; return the freed workers."""
        freed = []
        for reservation in self.engine.reservations_of_task(task.sid):
            if reservation.status is ReservationStatus.PENDING:
                self.end_reservation(reservation, ReservationStatus.CANCELED, match=False)
                freed.append(self.store.workers[reservation.worker_sid])
        return freed

    def reserve(
        self, task: TaskRecord, worker: WorkerRecord, queue: TaskQueueRecord | None
    ) -> None:
        """Reserve ``task`` for ``worker``, from ``queue`` (``None``: a task routed straight
        to the worker by its ``RoutingTarget``): a pending reservation, and the task reserved.

        The worker's revision goes up with it, as Twilio's worker SDK expects: on
        ``reservation.created`` it raises its own copy of the worker's version, which it
        sends as ``If-Match`` when version checks are on.

        A pending task that has already moved to reserved :data:`MAX_ASSIGNMENT_COUNT` times
        is canceled instead; a task no longer pending or reserved is left alone.
        """
        if not self.routing.routable(task):
            return
        if task.status is TaskStatus.PENDING and task.rejections >= MAX_ASSIGNMENT_COUNT:
            self.cancel_at_max_assignments(task)
            return
        now = self.engine.now()
        reservation = ReservationRecord(
            sid=self.store.new_sid("WR"),
            workspace_sid=task.workspace_sid,
            task_sid=task.sid,
            worker_sid=worker.sid,
            task_queue_sid=queue.sid if queue is not None else None,
            status=ReservationStatus.PENDING,
            date_created=now,
            date_updated=now,
        )
        self.store.add(reservation)
        self.store.task_reservations[task.sid].append(reservation.sid)
        self.store.worker_reservations.setdefault(worker.sid, []).append(reservation.sid)
        self.store.active[worker.sid].add(reservation.sid)
        worker.revision += 1
        self.routing.refresh_ready(worker)
        if task.status is TaskStatus.PENDING:
            task.rejections += 1  # one more move from pending to reserved
            self.task_transition(task, TaskStatus.RESERVED, None)
        if self.routing.wants_reservations(task) == 0:
            self.routing.leave_queue(task)
        self.reservation_event(reservation, "reservation.created", "created")
        workspace = self.store.workspaces[worker.workspace_sid]
        if (
            queue is not None
            and queue.reservation_activity_sid
            and not workspace.multi_task_enabled
        ):
            self.set_activity(worker, queue.reservation_activity_sid)
        timeout = (
            self.store.workflows[task.workflow_sid].task_reservation_timeout
            if task.workflow_sid
            else DEFAULT_RESERVATION_TIMEOUT
        )
        self.engine.schedule(timeout, ReservationTimeout(reservation.sid))

    def update_reservation(
        self,
        workspace_sid: str,
        sid: str,
        *,
        task_sid: str | None = None,
        worker_sid: str | None = None,
        reservation_status: str | None = None,
        worker_activity_sid: str | None = None,
        instruction: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        if_match: str | None = None,
    ) -> ReservationRecord:
        """Accept, reject, wrap up or complete a reservation, or apply an instruction.

        :param parameters: the instruction's parameters (snake_case, as in a callback answer).
        """
        reservation = self.engine.reservation(workspace_sid, sid)
        if task_sid is not None and reservation.task_sid != task_sid:
            raise NotFound(f"reservation {sid} was not found for task {task_sid}")
        if worker_sid is not None and reservation.worker_sid != worker_sid:
            raise NotFound(f"reservation {sid} was not found for worker {worker_sid}")
        check_revision("reservation", sid, reservation.revision, if_match)
        if worker_activity_sid is not None:
            self.engine.activity(workspace_sid, worker_activity_sid)
        if instruction is not None:
            self.apply_instruction(reservation, {"instruction": instruction, **(parameters or {})})
        elif reservation_status is not None:
            self.set_reservation_status(reservation, reservation_status, worker_activity_sid)
        elif worker_activity_sid is not None:
            worker = self.store.workers[reservation.worker_sid]
            self.set_activity(worker, worker_activity_sid)
            self.routing.worker_changed(worker)
        return reservation

    def apply_instruction(self, reservation: ReservationRecord, data: Mapping[str, Any]) -> None:
        """Carry out an assignment instruction (from a callback answer or the REST API).

        :raises InvalidArgument: if the instruction is not valid.
        :raises InvalidTransition: if the reservation is no longer pending.
        """
        try:
            built = instruction_from_dict(data)
        except InstructionError as exc:
            raise InvalidArgument(f"Instruction: {exc}", code=40001) from exc
        if built is None:
            return
        payload = built.to_dict()
        name = str(payload["instruction"])
        if reservation.status is not ReservationStatus.PENDING:
            raise InvalidTransition(
                f"reservation {reservation.sid} is {reservation.status.value}, not pending:"
                f" the {name} instruction cannot apply",
                code={"dequeue": 40135, "call": 40114, "redirect": 40123}.get(name, 20001),
            )
        if name == "reject":
            activity = payload.get("activity_sid")
            self.set_reservation_status(
                reservation, "rejected", activity if isinstance(activity, str) else None
            )
            return
        if name != "accept":
            reservation.instruction = payload
        if name in ("call", "redirect") and not payload.get("accept"):
            return  # recorded; the worker accepts later, as after a real call
        self.set_reservation_status(reservation, "accepted", None)

    def set_reservation_status(
        self, reservation: ReservationRecord, status: str, activity_sid: str | None
    ) -> None:
        try:
            new = ReservationStatus(status)
        except ValueError:
            raise InvalidArgument(f"ReservationStatus: unknown status {status!r}") from None
        task = self.store.tasks[reservation.task_sid]
        if new is ReservationStatus.ACCEPTED:
            check_transition("reservation", reservation.sid, reservation.status, new)
            self.accept(reservation)
        elif new is ReservationStatus.REJECTED:
            check_transition("reservation", reservation.sid, reservation.status, new)
            if activity_sid is not None:
                self.engine.activity(reservation.workspace_sid, activity_sid)
            self.end_reservation(reservation, new, activity_sid=activity_sid)
        elif new in (ReservationStatus.WRAPPING, ReservationStatus.COMPLETED):
            # Only the reservation that holds the task can wrap it up or complete it.
            check_transition("reservation", reservation.sid, reservation.status, new)
            self.set_task_status(task, new.value, None)
        elif new is ReservationStatus.CANCELED:
            check_transition("reservation", reservation.sid, reservation.status, new)
            self.end_reservation(reservation, new)
        else:
            raise InvalidArgument(
                "ReservationStatus: expected accepted, rejected, wrapping or completed,"
                f" got {status!r}"
            )

    def accept(self, reservation: ReservationRecord) -> None:
        task = self.store.tasks[reservation.task_sid]
        self.reservation_transition(reservation, ReservationStatus.ACCEPTED, emit=False)
        self.routing.leave_queue(task)
        self.task_transition(task, TaskStatus.ASSIGNED, None)
        self.reservation_emit(reservation)
        freed = []
        for other in self.engine.reservations_of_task(task.sid):
            if other.sid != reservation.sid and other.status is ReservationStatus.PENDING:
                self.end_reservation(other, ReservationStatus.RESCINDED, match=False)
                freed.append(self.store.workers[other.worker_sid])
        queue = self.store.task_queues.get(reservation.task_queue_sid or "")
        worker = self.store.workers[reservation.worker_sid]
        if (
            queue is not None
            and queue.assignment_activity_sid
            and not self.store.workspaces[worker.workspace_sid].multi_task_enabled
        ):
            self.set_activity(worker, queue.assignment_activity_sid)
        for other_worker in freed:
            self.routing.worker_changed(other_worker)

    def reservation_transition(
        self, reservation: ReservationRecord, new: ReservationStatus, *, emit: bool = True
    ) -> None:
        """Change a reservation's status through its lifecycle table.

        :param emit: record its event now; callers that first bring the task up to
            date pass ``False`` and call :meth:`_reservation_emit` after.
        """
        check_transition("reservation", reservation.sid, reservation.status, new)
        reservation.status = new
        reservation.revision += 1
        reservation.date_updated = self.engine.now()
        if emit:
            self.reservation_emit(reservation)

    def reservation_emit(self, reservation: ReservationRecord) -> None:
        event_type, text = _RESERVATION_EVENTS[reservation.status]
        self.reservation_event(reservation, event_type, text)

    def end_reservation(
        self,
        reservation: ReservationRecord,
        new: ReservationStatus,
        *,
        activity_sid: str | None = None,
        match: bool = True,
    ) -> None:
        """Finish a reservation: free the worker, return the task to its queue if needed."""
        self.reservation_transition(reservation, new, emit=False)
        worker = self.store.workers[reservation.worker_sid]
        self.store.active[worker.sid].discard(reservation.sid)
        worker.idle_since = self.engine.now()
        self.routing.refresh_ready(worker)
        task = self.store.tasks[reservation.task_sid]
        # Not accepted, a task still being routed goes back to routing (the activity changes
        # below route nothing, so this holds until then).
        returned = new in _UNACCEPTED and self.routing.routable(task)
        if returned:
            self.unreserve(task)
        # The event shows the task as it now is; the worker's activity change follows it.
        self.reservation_emit(reservation)
        self.activity_after(reservation, worker, activity_sid)
        if returned:
            self.offer_again(task, match=match)
        if match:
            self.routing.worker_changed(worker)

    def unreserve(self, task: TaskRecord) -> None:
        """A reserved task whose last pending reservation ended is pending again."""
        if task.status is TaskStatus.RESERVED and not any(
            r.status is ReservationStatus.PENDING
            for r in self.engine.reservations_of_task(task.sid)
        ):
            self.task_transition(task, TaskStatus.PENDING, None)

    def activity_after(
        self, reservation: ReservationRecord, worker: WorkerRecord, activity_sid: str | None
    ) -> None:
        """Move the worker as the reservation's end asks: the workspace's timeout activity
        after a timeout, the post-work activity its instruction named once it is completed,
        then ``activity_sid`` (a rejection's ``WorkerActivitySid``)."""
        if reservation.status is ReservationStatus.TIMEOUT:
            timeout_activity = self.store.workspaces[worker.workspace_sid].timeout_activity_sid
            if timeout_activity:
                self.set_activity(worker, timeout_activity)
        if reservation.status is ReservationStatus.COMPLETED and reservation.instruction:
            post_work = reservation.instruction.get("post_work_activity_sid")
            if post_work and post_work in self.store.activities:
                self.set_activity(worker, post_work)
        if activity_sid is not None:
            self.set_activity(worker, activity_sid)

    def offer_again(self, task: TaskRecord, *, match: bool) -> None:
        """Back in its queue, offered again (``match``) unless it has moved from pending
        to reserved the most times Twilio allows, which cancels it."""
        if match and task.status is TaskStatus.PENDING and task.rejections >= MAX_ASSIGNMENT_COUNT:
            self.cancel_at_max_assignments(task)
        elif task.task_queue_sid is not None:
            self.routing.wait(task)
            if match:
                self.routing.match_task(task)


#: How a reservation ends without being accepted, which returns its task to routing.
_UNACCEPTED = frozenset(
    {
        ReservationStatus.REJECTED,
        ReservationStatus.TIMEOUT,
        ReservationStatus.CANCELED,
        ReservationStatus.RESCINDED,
    }
)

_REQUESTABLE_TASK_STATUSES = frozenset(
    {TaskStatus.CANCELED, TaskStatus.WRAPPING, TaskStatus.COMPLETED}
)

_RESERVATION_EVENTS = {
    ReservationStatus.ACCEPTED: ("reservation.accepted", "accepted"),
    ReservationStatus.REJECTED: ("reservation.rejected", "rejected"),
    ReservationStatus.TIMEOUT: ("reservation.timeout", "timed out"),
    ReservationStatus.CANCELED: ("reservation.canceled", "canceled"),
    ReservationStatus.RESCINDED: ("reservation.rescinded", "rescinded"),
    ReservationStatus.WRAPPING: ("reservation.wrapup", "wrapping"),
    ReservationStatus.COMPLETED: ("reservation.completed", "completed"),
}
