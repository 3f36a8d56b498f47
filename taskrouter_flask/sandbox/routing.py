"""Routing: which queue a task waits in, in what order, and which worker gets it.

Why a part of its own: this is TaskRouter's decision procedure (workflow
filters and targets, queue order, eligible workers and their order, and
the offers made when a task arrives or a worker becomes free), and it is
the part most often read against Twilio's documentation. It decides and
asks :class:`~.lifecycle.Lifecycle` to make the reservations; it keeps the
derived indexes (eligibility, waiting order, ready workers) true.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from ..expressions import compile_expression, walk
from ..workflow import Target, WorkflowConfiguration, parse_order_by
from .part import Part
from .scheduler import StepTimeout
from .state import (
    ACTIVE_RESERVATION,
    ReservationStatus,
    TaskQueueRecord,
    TaskRecord,
    TaskStatus,
    WorkerRecord,
)

__all__ = ["Routing"]


class Routing(Part):
    """Workflow filters and targets, queue order, candidates and offers."""

    def rebuild(self) -> None:
        """Recompute every derived index from the records (after a restore or a rollback).

        The indexes are the reservations of each task and each worker's occupying ones,
        each worker's channels, view and queues, each queue's eligible workers and
        waiting order, and the ready workers.
        """
        self.rebuild_reservations()
        self.rebuild_channels()
        self.rebuild_queues()
        store = self.store
        for worker in store.workers.values():
            self.refresh_view(worker)
            self.refresh_eligibility(worker)
        store.ready = set()
        store.ready_on = {}
        for worker in store.workers.values():
            self.refresh_ready(worker)
        store.direct = {}
        for task in store.tasks.values():
            if _is_direct(task) and self.routable(task):
                store.direct.setdefault(task.routing_target or "", set()).add(task.sid)

    def rebuild_reservations(self) -> None:
        """Each task's reservations, each worker's, and the ones occupying each worker."""
        store = self.store
        store.active = {sid: set() for sid in store.workers}
        store.task_reservations = {sid: [] for sid in store.tasks}
        store.worker_reservations = {}
        for reservation in store.reservations.values():
            store.task_reservations.setdefault(reservation.task_sid, []).append(reservation.sid)
            if reservation.worker_sid in store.workers:
                store.worker_reservations.setdefault(reservation.worker_sid, []).append(
                    reservation.sid
                )
            if reservation.status in ACTIVE_RESERVATION and reservation.worker_sid in store.active:
                store.active[reservation.worker_sid].add(reservation.sid)

    def rebuild_channels(self) -> None:
        """Each worker's channels; their queues are cleared, for eligibility to refill."""
        store = self.store
        for worker in store.workers.values():
            worker.channels = {}
            worker.queues = set()
        for record in store.worker_channels.values():
            owner = store.workers.get(record.worker_sid)
            if owner is not None:
                owner.channels[record.task_channel_sid] = record.sid

    def rebuild_queues(self) -> None:
        """Each queue's waiting order and its count per channel; eligibility is cleared."""
        store = self.store
        waiting: dict[str, list[tuple[int, int, str]]] = {sid: [] for sid in store.task_queues}
        store.waiting_channels = {}
        for task in store.tasks.values():
            if task.waiting_key is not None and task.task_queue_sid in waiting:
                # Keys are recomputed, not trusted: a journal written by an older version
                # ordered its queues by another rule.
                task.waiting_key = self.queue_key(task, store.task_queues[task.task_queue_sid])
                waiting[task.task_queue_sid].append(task.waiting_key)
                self.count_waiting(task, +1)
        for queue in store.task_queues.values():
            queue.eligible = set()
            queue.waiting = sorted(waiting[queue.sid])

    def used_capacity(self, worker_sid: str, channel_sid: str) -> int:
        return sum(
            1
            for sid in self.store.active.get(worker_sid, ())
            if self.store.tasks[self.store.reservations[sid].task_sid].task_channel_sid
            == channel_sid
        )

    def refresh_view(self, worker: WorkerRecord) -> None:
        activity = self.store.activities[worker.activity_sid]
        worker.view = {
            **worker.attributes,
            "sid": worker.sid,
            "friendly_name": worker.friendly_name,
            "activity_sid": activity.sid,
            "activity_name": activity.friendly_name,
        }

    def refresh_eligibility(self, worker: WorkerRecord) -> None:
        for queue in self.store.task_queues.values():
            if queue.workspace_sid == worker.workspace_sid:
                self.set_eligible(queue, worker)

    def set_eligible(self, queue: TaskQueueRecord, worker: WorkerRecord) -> None:
        if queue.target.evaluate(worker.attributes):
            queue.eligible.add(worker.sid)
            worker.queues.add(queue.sid)
        else:
            queue.eligible.discard(worker.sid)
            worker.queues.discard(queue.sid)

    def has_capacity(self, worker: WorkerRecord, task: TaskRecord | None = None) -> bool:
        """Whether the worker can take (this) task now: available activity and free capacity."""
        if not self.store.activities[worker.activity_sid].available:
            return False
        active = self.store.active[worker.sid]
        if not self.store.workspaces[worker.workspace_sid].multi_task_enabled:
            return not active
        if task is None:
            return any(
                self.channel_free(worker, channel_sid, ignore_capacity=False)
                for channel_sid in worker.channels
            )
        return self.channel_free(
            worker, task.task_channel_sid, ignore_capacity=task.ignore_capacity
        )

    def channel_free(
        self, worker: WorkerRecord, channel_sid: str, *, ignore_capacity: bool
    ) -> bool:
        record = self.store.worker_channels.get(worker.channels.get(channel_sid, ""))
        if record is None or not record.available:
            return False
        if ignore_capacity:
            return True
        return self.used_capacity(worker.sid, channel_sid) < record.configured_capacity

    def refresh_ready(self, worker: WorkerRecord) -> None:
        """Keep the indexes of workers who could take a task now up to date (in a
        multitasking workspace, per channel too)."""
        store = self.store
        present = worker.sid in store.workers
        if present and self.has_capacity(worker):
            store.ready.add(worker.sid)
        else:
            store.ready.discard(worker.sid)
        if not store.workspaces[worker.workspace_sid].multi_task_enabled:
            return
        available = present and store.activities[worker.activity_sid].available
        for channel_sid in worker.channels:
            bucket = store.ready_on.setdefault(channel_sid, set())
            if available and self.channel_free(worker, channel_sid, ignore_capacity=False):
                bucket.add(worker.sid)
            else:
                bucket.discard(worker.sid)

    def count_waiting(self, task: TaskRecord, change: int) -> None:
        counts = self.store.waiting_channels.setdefault(task.task_queue_sid or "", {})
        channel = None if task.ignore_capacity else task.task_channel_sid
        counts[channel] = counts.get(channel, 0) + change

    def step_exists(self, task: TaskRecord) -> bool:
        assert task.workflow_sid is not None
        config = self.store.workflows[task.workflow_sid].configuration
        if task.filter_index is None:
            return config.default_filter is not None and task.target_index == 0
        return task.filter_index < len(config.filters) and task.target_index < len(
            config.filters[task.filter_index].targets
        )

    def routable(self, task: TaskRecord) -> bool:
        return task.status in (TaskStatus.PENDING, TaskStatus.RESERVED)

    def enter_workflow(self, task: TaskRecord) -> None:
        assert task.workflow_sid is not None
        workflow = self.store.workflows[task.workflow_sid]
        config = workflow.configuration
        self.engine.emit(
            task.workspace_sid,
            "workflow.entered",
            f"Task {task.sid} entered workflow",
            "Workflow",
            workflow.sid,
            task=self.facts.task(task),
        )
        self.enter_filter(task, self.matching_filter(task, config, start=0))

    def matching_filter(
        self, task: TaskRecord, config: WorkflowConfiguration, *, start: int
    ) -> int | None:
        """The first filter from ``start`` on whose expression the task matches."""
        for index in range(start, len(config.filters)):
            if compile_expression(config.filters[index].expression).evaluate(task.attributes):
                return index
        return None

    def enter_filter(self, task: TaskRecord, filter_index: int | None) -> None:
        """Start the task on the first step of a filter (``None``: the default filter)."""
        task.filter_index = filter_index
        task.target_index = 0
        self.enter_target(task)

    def targets(self, task: TaskRecord) -> list[Target]:
        assert task.workflow_sid is not None
        config = self.store.workflows[task.workflow_sid].configuration
        if task.filter_index is None:
            assert config.default_filter is not None
            return [config.default_filter]
        return list(config.filters[task.filter_index].targets)

    def elapsed(self, task: TaskRecord) -> float:
        """The task's age in seconds, which its workflow steps' timeouts are measured against."""
        return (self.engine.now() - task.date_created).total_seconds()

    def enter_target(self, task: TaskRecord) -> None:
        """Place the task on its current step, passing over steps whose time is already up.

        Twilio measures a step's timeout against the task's age, the timeouts of a filter's
        steps adding up: in steps of 10 s each, the second ends when the task is 20 s old,
        however long it spent in the first. A task that enters a filter late (re-evaluated
        after an attributes change, say) starts at the step its age falls in; the age counts
        from creation, ``VirtualStartTime`` only orders the queue.
        """
        targets = self.targets(task)
        elapsed = self.elapsed(task)
        deadline = _deadline(targets, task.target_index)
        while deadline is not None and deadline <= elapsed:
            if task.target_index + 1 == len(targets):
                self.leave_workflow(task, skipped=False)
                return
            task.target_index += 1
            deadline = _deadline(targets, task.target_index)
        target = targets[task.target_index]
        queue_sid = target.queue or task.task_queue_sid
        assert queue_sid is not None
        task.priority = int(target.priority) if target.priority is not None else task.base_priority
        task.step += 1
        self.engine.emit(
            task.workspace_sid,
            "workflow.target-matched",
            f"Task {task.sid} matched a workflow target",
            "Workflow",
            task.workflow_sid or "",
            task=self.facts.task(task),
            filter_name=self.filter_name(task),
        )
        if deadline is not None:
            self.engine.schedule(deadline - elapsed, StepTimeout(task.sid, task.step))
        self.enter_queue(task, queue_sid, target)

    def filter_name(self, task: TaskRecord) -> str:
        if task.filter_index is None:
            return "Default Filter"
        assert task.workflow_sid is not None
        item = self.store.workflows[task.workflow_sid].configuration.filters[task.filter_index]
        return item.friendly_name or f"Filter {task.filter_index}"

    def enter_queue(self, task: TaskRecord, queue_sid: str, target: Target | None) -> None:
        previous = task.task_queue_sid
        self.leave_queue(task)
        queue = self.store.task_queues[queue_sid]
        task.task_queue_sid = queue_sid
        task.task_queue_entered_date = self.engine.now()
        event_type = (
            "task-queue.moved" if previous and previous != queue_sid else "task-queue.entered"
        )
        self.engine.emit(
            task.workspace_sid,
            event_type,
            f"Task {task.sid} entered queue {queue.friendly_name}",
            "TaskQueue",
            queue_sid,
            task=self.facts.task(task),
        )
        self.wait(task)
        reserved = self.match_task(task)
        if not reserved and target is not None and target.skip_if is not None:
            if compile_expression(target.skip_if).evaluate({"workers": self.worker_counts(queue)}):
                self.next_target(task, skipped=True)

    def queue_key(self, task: TaskRecord, queue: TaskQueueRecord) -> tuple[int, int, str]:
        """FIFO: higher priority first, then the oldest ``VirtualStartTime``; LIFO: the newest.

        The start time defaults to the creation time; creation order breaks ties. Twilio's
        queue-ordering page says LIFO "does not consider the Task priority", so a LIFO
        queue's key leaves it out.
        """
        order = _start_order(task)
        if queue.task_order == "LIFO":
            return (0, -order, task.sid)
        return (-task.priority, order, task.sid)

    def leave_queue(self, task: TaskRecord) -> None:
        key = task.waiting_key
        if key is None:
            return
        task.waiting_key = None
        queue = self.store.task_queues.get(task.task_queue_sid or "")
        if queue is None:
            return
        index = bisect.bisect_left(queue.waiting, key)
        if index < len(queue.waiting) and queue.waiting[index] == key:
            del queue.waiting[index]
            self.count_waiting(task, -1)

    @contextmanager
    def requeued(self, task: TaskRecord) -> Iterator[None]:
        """Take a waiting task out of its queue while what its place depends on changes
        (its virtual start time, its channel), and put it back after."""
        waiting = task.waiting_key is not None
        self.leave_queue(task)
        yield
        if waiting:
            self.wait(task)

    def wait(self, task: TaskRecord) -> None:
        """Put the task in its queue's waiting order, unless it is there already."""
        if task.waiting_key is not None:
            return
        queue = self.store.task_queues[task.task_queue_sid or ""]
        key = self.queue_key(task, queue)
        bisect.insort(queue.waiting, key)
        task.waiting_key = key
        self.count_waiting(task, +1)

    def resort(self, queue: TaskQueueRecord) -> None:
        tasks = [self.store.tasks[key[2]] for key in queue.waiting if key[2] in self.store.tasks]
        for task in tasks:
            task.waiting_key = self.queue_key(task, queue)
        queue.waiting = sorted(t.waiting_key for t in tasks if t.waiting_key is not None)

    def worker_counts(self, queue: TaskQueueRecord) -> dict[str, int]:
        counts = {"available": 0, "unavailable": 0, "total": len(queue.eligible)}
        for worker_sid in queue.eligible:
            worker = self.store.workers[worker_sid]
            if self.has_capacity(worker):
                counts["available"] += 1
            else:
                counts["unavailable"] += 1
            counts[worker.activity_sid] = counts.get(worker.activity_sid, 0) + 1
        return counts

    def step_timeout(self, task: TaskRecord) -> None:
        assert task.task_queue_sid is not None
        queue = self.store.task_queues[task.task_queue_sid]
        self.engine.emit(
            task.workspace_sid,
            "task-queue.timeout",
            f"Task {task.sid} timed out of queue {queue.friendly_name}",
            "TaskQueue",
            queue.sid,
            task=self.facts.task(task),
        )
        freed = self.lifecycle.cancel_pending(task)
        self.next_target(task, skipped=False)
        for worker in freed:
            self.worker_changed(worker)

    def next_target(self, task: TaskRecord, *, skipped: bool) -> None:
        targets = self.targets(task)
        if task.target_index + 1 < len(targets):
            task.target_index += 1
            self.enter_target(task)
            return
        self.leave_workflow(task, skipped=skipped)

    def leave_workflow(self, task: TaskRecord, *, skipped: bool) -> None:
        """The task is past its filter's last step.

        Skipped out of it, the task is evaluated as if it had not matched that filter (Twilio's
        words): the filters after it, then the default filter. Timed out of it, or with nothing
        left to try, it leaves the workflow and is canceled.
        """
        assert task.workflow_sid is not None
        config = self.store.workflows[task.workflow_sid].configuration
        if skipped and task.filter_index is not None:
            following = self.matching_filter(task, config, start=task.filter_index + 1)
            if following is not None or config.default_filter is not None:
                self.enter_filter(task, following)
                return
        event_type = "workflow.skipped" if skipped else "workflow.timeout"
        self.engine.emit(
            task.workspace_sid,
            event_type,
            f"Task {task.sid} left its workflow",
            "Workflow",
            task.workflow_sid or "",
            task=self.facts.task(task),
        )
        self.lifecycle.cancel_task(
            task, "Workflow Timeout", description=f"Task {task.sid} canceled: workflow timeout"
        )

    def target(self, task: TaskRecord) -> Target | None:
        if task.workflow_sid is None:
            return None
        return self.targets(task)[task.target_index]

    def wants_reservations(self, task: TaskRecord) -> int:
        """How many more reservations the task may get now."""
        if not self.routable(task) or task.task_queue_sid is None:
            return 0
        queue = self.store.task_queues[task.task_queue_sid]
        reservations = self.store.reservations
        pending = 0
        for sid in self.store.task_reservations.get(task.sid, ()):
            if reservations[sid].status is ReservationStatus.PENDING:
                pending += 1
        return max(0, queue.max_reserved_workers - pending)

    def candidates(
        self, task: TaskRecord, queue: TaskQueueRecord, only: WorkerRecord | None = None
    ) -> list[WorkerRecord]:
        """The workers who may take ``task`` now, best first (or whether ``only`` may)."""
        target = self.target(task)
        pool = self.pool(task, target, queue, only)
        if not pool:
            return []
        expression = compile_expression(target.expression) if target and target.expression else None
        reservations = self.store.reservations
        holding = {
            reservations[r].worker_sid
            for r in self.store.task_reservations[task.sid]
            if reservations[r].status in ACTIVE_RESERVATION
        }
        workers = self.store.workers
        found = []
        for worker_sid in pool:
            if worker_sid in holding:
                continue
            worker = workers[worker_sid]
            if not self.has_capacity(worker, task):
                continue
            if expression is not None and not expression.evaluate(
                {}, task=task.attributes, worker=worker.view
            ):
                continue
            found.append(worker)
        return _order_workers(found, target.order_by if target else None)

    def pool(
        self,
        task: TaskRecord,
        target: Target | None,
        queue: TaskQueueRecord,
        only: WorkerRecord | None,
    ) -> set[str]:
        """The queue's eligible workers who could have room (the ready indexes narrow them
        unless the task ignores capacity), and only the one the task names if it names one.
        Not always a copy: callers must not change it."""
        if only is not None:
            pool = {only.sid} & queue.eligible
        elif task.ignore_capacity:
            pool = queue.eligible
        elif self.store.workspaces[queue.workspace_sid].multi_task_enabled:
            pool = queue.eligible & self.store.ready_on.get(task.task_channel_sid, set())
        else:
            pool = queue.eligible & self.store.ready
        if (target and (target.known_worker_sid or target.known_worker_friendly_name)) or (
            task.routing_target or ""
        ).startswith("WK"):
            return self.pinned(task, target, pool)
        return pool

    def pinned(self, task: TaskRecord, target: Target | None, pool: set[str]) -> set[str]:
        """``pool`` narrowed to the worker the task names, if it names one: the target's
        ``known_worker_sid`` or ``known_worker_friendly_name`` (a task attribute), or a
        worker ``RoutingTarget``. A missing attribute names no one; a value that is not a
        string names a worker who cannot exist."""
        if target and target.known_worker_sid:
            pool = _named_sid(pool, _task_ref(task, target.known_worker_sid))
        if (task.routing_target or "").startswith("WK"):
            pool = _named_sid(pool, task.routing_target)
        if target and target.known_worker_friendly_name:
            name = _task_ref(task, target.known_worker_friendly_name)
            if name is not None:
                workers = self.store.workers
                pool = {sid for sid in pool if workers[sid].friendly_name == name}
        return pool

    def match_task(self, task: TaskRecord) -> bool:
        """Offer ``task`` to the best free workers; tell whether any reservation was made."""
        wanted = self.wants_reservations(task)
        if not wanted:
            return False
        queue = self.store.task_queues[task.task_queue_sid or ""]
        made = False
        for worker in self.candidates(task, queue)[:wanted]:
            self.lifecycle.reserve(task, worker, queue)
            made = True
        return made

    def match_queue(self, queue: TaskQueueRecord) -> None:
        for key in list(queue.waiting):
            task = self.store.tasks.get(key[2])
            if task is not None:
                self.match_task(task)

    def worker_changed(self, worker: WorkerRecord) -> None:
        """A worker may have become free: offer them a task routed straight to them, else
        the best waiting task of their queues.

        Across queues, the workspace's ``PrioritizeQueueOrder`` says which kind of queue
        (FIFO or LIFO) is served first; within a kind, each queue's own order compares.
        """
        workspace = self.store.workspaces[worker.workspace_sid]
        preferred = workspace.prioritize_queue_order
        while worker.sid in self.store.workers and self.has_capacity(worker):
            if self.offer_direct(worker):
                continue
            free = self.free_channels(worker) if workspace.multi_task_enabled else None
            best: _Offer | None = None
            for queue_sid in worker.queues:
                if free is not None and not self.waits_on(queue_sid, free):
                    continue
                queue = self.store.task_queues[queue_sid]
                kind = 0 if queue.task_order == preferred else 1
                best = self.best_offer(worker, queue, kind, free, best)
            if best is None:
                return
            self.lifecycle.reserve(best[1], worker, best[2])

    def free_channels(self, worker: WorkerRecord) -> set[str]:
        """In a multitasking workspace, the worker's channels with room (the ready_on index):
        a queue's waiting tasks on a full channel are passed over with a set lookup."""
        ready_on = self.store.ready_on
        return {channel for channel in worker.channels if worker.sid in ready_on.get(channel, ())}

    def waits_on(self, queue_sid: str, free: set[str]) -> bool:
        """Whether anything waits in the queue on a channel with room (or ignoring capacity)."""
        counts = self.store.waiting_channels.get(queue_sid, {})
        return bool(counts.get(None)) or any(counts.get(c) for c in free)

    def best_offer(
        self,
        worker: WorkerRecord,
        queue: TaskQueueRecord,
        kind: int,
        free: set[str] | None,
        best: _Offer | None,
    ) -> _Offer | None:
        """The first task of ``queue`` the worker may take, if it ranks before ``best``
        (``kind`` 0 for a queue of the workspace's preferred order); else ``best``."""
        tasks = self.store.tasks
        for key in queue.waiting:
            rank = (kind, key[0], key[1])
            if best is not None and rank >= best[0]:
                break
            task = tasks[key[2]]
            if free is not None and task.task_channel_sid not in free:
                if not task.ignore_capacity:
                    continue
            if not self.wants_reservations(task) or not self.has_capacity(worker, task):
                continue
            if self.candidates(task, queue, only=worker):
                return (rank, task, queue)
        return best

    # -- tasks routed straight to a worker ----------------------------------------------------

    def enter_direct(self, task: TaskRecord) -> None:
        """Offer a task whose ``RoutingTarget`` is a worker to that worker, in no queue.

        With ``ignore_capacity`` (its default then) it is reserved at once, whatever the
        worker's capacity and activity, as Twilio's task resource says; otherwise it waits
        until the worker can take it.
        """
        worker = self.store.workers[task.routing_target or ""]
        self.store.direct.setdefault(worker.sid, set()).add(task.sid)
        if task.ignore_capacity or self.has_capacity(worker, task):
            self.lifecycle.reserve(task, worker, None)

    def offer_direct(self, worker: WorkerRecord) -> bool:
        """Reserve the best pending task routed straight to ``worker``; tell whether one was."""
        waiting = self.store.direct.get(worker.sid)
        if not waiting:
            return False
        tasks = self.store.tasks
        for sid in sorted(waiting, key=lambda sid: _direct_key(tasks.get(sid))):
            task = tasks.get(sid)
            if task is None or not self.routable(task):
                waiting.discard(sid)
                continue
            if task.status is TaskStatus.PENDING and self.has_capacity(worker, task):
                self.lifecycle.reserve(task, worker, None)
                return True
        if not waiting:
            del self.store.direct[worker.sid]
        return False

    def reroute(self, task: TaskRecord) -> None:
        """Route a task again after a change (its attributes or priority)."""
        if task.workflow_sid is not None:
            self.enter_workflow(task)
        elif task.task_queue_sid is not None:
            self.wait(task)
            self.match_task(task)
        elif task.status is TaskStatus.PENDING:
            self.offer_direct(self.store.workers[task.routing_target or ""])


#: A waiting task offered to a worker: its rank across the worker's queues, it, its queue.
_Offer = tuple[tuple[int, int, int], TaskRecord, TaskQueueRecord]


#: Room for the creation sequence under a start time's microseconds in a queue key.
_SEQ_SPACE = 1 << 40


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _is_direct(task: TaskRecord) -> bool:
    """Whether the task was routed straight to a worker, through no workflow or queue."""
    return (
        task.workflow_sid is None
        and task.task_queue_sid is None
        and (task.routing_target or "").startswith("WK")
    )


def _start_order(task: TaskRecord) -> int:
    """The task's place by virtual start time (its creation time by default), then creation."""
    start = task.virtual_start_time or task.date_created
    return _micros(start) * _SEQ_SPACE + task.seq


def _direct_key(task: TaskRecord | None) -> tuple[int, int]:
    """Tasks routed straight to a worker: higher priority first, then the oldest."""
    if task is None:
        return (0, 0)
    return (-task.priority, _start_order(task))


def _deadline(targets: list[Target], index: int) -> float | None:
    """When, in seconds of task age, step ``index`` ends; ``None`` if it does not time out."""
    if targets[index].timeout is None:
        return None
    return float(sum(int(target.timeout or 0) for target in targets[: index + 1]))


def _order_workers(workers: list[WorkerRecord], order_by: str | None) -> list[WorkerRecord]:
    workers.sort(key=lambda w: (w.idle_since, w.seq))
    if order_by:
        # Stable sorts, last key first: each earlier key dominates the later ones.
        for path, descending in reversed(parse_order_by(order_by) or ()):
            present = [w for w in workers if _sortable(walk(w.view, path))]
            missing = [w for w in workers if not _sortable(walk(w.view, path))]
            # Numbers and strings do not compare: numbers sort before strings.
            present.sort(
                key=lambda w: (isinstance(walk(w.view, path), str), walk(w.view, path)),
                reverse=descending,
            )
            workers = present + missing
    return workers


def _sortable(value: Any) -> bool:
    return isinstance(value, int | float | str) and not isinstance(value, bool)


def _task_ref(task: TaskRecord, reference: str) -> Any:
    return walk(task.attributes, reference.split(".")[1:])


def _named_sid(pool: set[str], sid: Any) -> set[str]:
    """``pool`` narrowed to the worker SID a task names (``None``: named no one)."""
    if sid is None:
        return pool
    return {sid} & pool if isinstance(sid, str) else set()
