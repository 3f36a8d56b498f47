"""The fields an event callback carries, in TaskRouter's wire names.

Why a part of its own: this is the one place that knows how Twilio spells
the facts of a task, worker, reservation, queue, activity or channel in an
event (``TaskSid``, ``WorkerActivityName``, ...), so that routing and the
lifecycle speak of records and never of CamelCase strings.
"""

from __future__ import annotations

import json

from .part import Part
from .state import (
    ActivityRecord,
    TaskChannelRecord,
    TaskQueueRecord,
    TaskRecord,
    TaskStatus,
    WorkerChannelRecord,
    WorkerRecord,
)

__all__ = ["Wire"]


class Wire(Part):
    """Event fields for each kind of record."""

    def task_fields(self, task: TaskRecord) -> dict[str, str]:
        fields = {
            "TaskSid": task.sid,
            "TaskAttributes": json.dumps(task.attributes),
            "TaskAge": str(self.engine.task_age(task)),
            "TaskPriority": str(task.priority),
            "TaskAssignmentStatus": task.status.value,
            "TaskChannelSid": task.task_channel_sid,
            "TaskChannelUniqueName": self.store.task_channels[task.task_channel_sid].unique_name,
        }
        workflow = self.store.workflows.get(task.workflow_sid or "")
        if task.workflow_sid:
            fields["WorkflowSid"] = task.workflow_sid
            if workflow is not None:
                fields["WorkflowName"] = workflow.friendly_name
        queue = self.store.task_queues.get(task.task_queue_sid or "")
        if task.task_queue_sid:
            fields["TaskQueueSid"] = task.task_queue_sid
            if queue is not None:
                fields["TaskQueueName"] = queue.friendly_name
        if task.status is TaskStatus.CANCELED and task.reason:
            fields["TaskCanceledReason"] = task.reason
        if task.status is TaskStatus.COMPLETED and task.reason:
            fields["TaskCompletedReason"] = task.reason
        return fields

    def worker_fields(self, worker: WorkerRecord) -> dict[str, str]:
        activity = self.store.activities[worker.activity_sid]
        return {
            "WorkerSid": worker.sid,
            "WorkerName": worker.friendly_name,
            "WorkerAttributes": json.dumps(worker.attributes),
            "WorkerActivitySid": activity.sid,
            "WorkerActivityName": activity.friendly_name,
            "WorkerVersion": str(worker.revision),
        }

    def activity_fields(self, activity: ActivityRecord) -> dict[str, str]:
        return {
            "ActivitySid": activity.sid,
            "ActivityName": activity.friendly_name,
            "ActivityAvailable": "true" if activity.available else "false",
        }

    def channel_fields(self, channel: TaskChannelRecord) -> dict[str, str]:
        return {
            "TaskChannelSid": channel.sid,
            "TaskChannelName": channel.friendly_name,
            "TaskChannelUniqueName": channel.unique_name,
            "TaskChannelOptimizedRouting": "true" if channel.channel_optimized_routing else "false",
        }

    def capacity_fields(self, record: WorkerChannelRecord) -> dict[str, str]:
        used = self.routing.used_capacity(record.worker_sid, record.task_channel_sid)
        return {
            "WorkerChannelAvailable": "true" if record.available else "false",
            "WorkerChannelAvailableCapacity": str(max(0, record.configured_capacity - used)),
            "WorkerChannelTaskCount": str(used),
        }

    def queue_fields(self, queue: TaskQueueRecord) -> dict[str, str]:
        return {
            "TaskQueueSid": queue.sid,
            "TaskQueueName": queue.friendly_name,
            "TaskQueueTargetExpression": queue.target_workers,
        }
