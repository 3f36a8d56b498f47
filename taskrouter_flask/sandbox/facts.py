"""What an event records about each resource, taken from the records at that moment.

Why a part of its own: an event must keep what was true when it happened (a
task's age and queue, a worker's activity), while the records go on
changing. Routing and the lifecycle ask this part for those facts as typed
values; how Twilio spells them in a callback is :mod:`.wire`'s business.
"""

from __future__ import annotations

from .part import Part
from .state import (
    ActivityFacts,
    ActivityRecord,
    CapacityFacts,
    ChannelFacts,
    QueueFacts,
    TaskChannelRecord,
    TaskFacts,
    TaskQueueRecord,
    TaskRecord,
    TaskStatus,
    WorkerChannelRecord,
    WorkerFacts,
    WorkerRecord,
    WorkflowFacts,
    WorkflowRecord,
)

__all__ = ["Facts"]


class Facts(Part):
    """The facts of each kind of record, for events."""

    def task(self, task: TaskRecord, *, queue_sid: str | None = None) -> TaskFacts:
        """The task as it is now; ``queue_sid`` names another queue (a reservation's)."""
        store = self.store
        workflow = store.workflows.get(task.workflow_sid or "")
        queue_sid = queue_sid or task.task_queue_sid
        queue = store.task_queues.get(queue_sid or "")
        status = task.status
        # Positional, in TaskFacts' field order: one is built for nearly every event.
        return TaskFacts(
            task.sid,
            task.attributes,
            self.engine.task_wait(task),
            task.priority,
            str(status),
            task.task_channel_sid,
            store.task_channels[task.task_channel_sid].unique_name,
            task.workflow_sid,
            workflow.friendly_name if workflow is not None else None,
            queue_sid,
            queue.friendly_name if queue is not None else None,
            task.reason if status is TaskStatus.CANCELED else None,
            task.reason if status is TaskStatus.COMPLETED else None,
        )

    def worker(self, worker: WorkerRecord) -> WorkerFacts:
        activity = self.store.activities[worker.activity_sid]
        return WorkerFacts(
            sid=worker.sid,
            name=worker.friendly_name,
            attributes=worker.attributes,
            activity_sid=activity.sid,
            activity_name=activity.friendly_name,
            version=worker.revision,
        )

    def activity(self, activity: ActivityRecord) -> ActivityFacts:
        return ActivityFacts(activity.sid, activity.friendly_name, activity.available)

    def channel(self, channel: TaskChannelRecord) -> ChannelFacts:
        return ChannelFacts(
            channel.sid,
            channel.friendly_name,
            channel.unique_name,
            channel.channel_optimized_routing,
        )

    def capacity(
        self, record: WorkerChannelRecord, *, previous: int | None = None
    ) -> CapacityFacts:
        used = self.routing.used_capacity(record.worker_sid, record.task_channel_sid)
        channel = self.store.task_channels[record.task_channel_sid]
        return CapacityFacts(
            channel_sid=channel.sid,
            channel_unique_name=channel.unique_name,
            available=record.available,
            available_capacity=max(0, record.configured_capacity - used),
            task_count=used,
            previous_capacity=previous,
        )

    def queue(self, queue: TaskQueueRecord) -> QueueFacts:
        return QueueFacts(queue.sid, queue.friendly_name, queue.target_workers)

    def workflow(self, workflow: WorkflowRecord) -> WorkflowFacts:
        return WorkflowFacts(workflow.sid, workflow.friendly_name)
