"""Events in TaskRouter's wire names: the fields an event callback carries.

Why one module: this is the only place that knows how Twilio spells the facts
of an event (``TaskSid``, ``WorkerActivityName``, ``TaskQueueTargetExpression``,
...). The callback sender posts these fields, and the Events resource renders
them as ``event_data``; the engine itself only ever holds typed facts.
"""

from __future__ import annotations

import json

from .state import EventRecord

__all__ = ["event_fields"]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def event_fields(event: EventRecord) -> dict[str, str]:
    """The event's callback fields (without the envelope: ``Sid``, ``EventType``, ...)."""
    fields = {
        "AccountSid": event.account_sid,
        "WorkspaceSid": event.workspace_sid,
        "WorkspaceName": event.workspace_name,
    }
    task = event.task
    if task is not None:
        fields["TaskSid"] = task.sid
        fields["TaskAttributes"] = json.dumps(task.attributes)
        fields["TaskAge"] = str(task.age)
        fields["TaskPriority"] = str(task.priority)
        fields["TaskAssignmentStatus"] = task.status
        fields["TaskChannelSid"] = task.channel_sid
        fields["TaskChannelUniqueName"] = task.channel_unique_name
        if task.workflow_sid:
            fields["WorkflowSid"] = task.workflow_sid
            if task.workflow_name is not None:
                fields["WorkflowName"] = task.workflow_name
        if task.queue_sid:
            fields["TaskQueueSid"] = task.queue_sid
            if task.queue_name is not None:
                fields["TaskQueueName"] = task.queue_name
        if task.canceled_reason:
            fields["TaskCanceledReason"] = task.canceled_reason
        if task.completed_reason:
            fields["TaskCompletedReason"] = task.completed_reason
    if event.reservation_sid is not None:
        fields["ReservationSid"] = event.reservation_sid
    worker = event.worker
    if worker is not None:
        fields["WorkerSid"] = worker.sid
        fields["WorkerName"] = worker.name
        fields["WorkerAttributes"] = json.dumps(worker.attributes)
        fields["WorkerActivitySid"] = worker.activity_sid
        fields["WorkerActivityName"] = worker.activity_name
        fields["WorkerVersion"] = str(worker.version)
    change = event.change
    if change is not None:
        fields["WorkerPreviousActivitySid"] = change.previous_activity_sid
        fields["WorkerTimeInPreviousActivity"] = str(change.time_in_previous_ms // 1000)
        fields["WorkerTimeInPreviousActivityMs"] = str(change.time_in_previous_ms)
    activity = event.activity
    if activity is not None:
        fields["ActivitySid"] = activity.sid
        fields["ActivityName"] = activity.name
        fields["ActivityAvailable"] = _flag(activity.available)
    channel = event.channel
    if channel is not None:
        fields["TaskChannelSid"] = channel.sid
        fields["TaskChannelName"] = channel.name
        fields["TaskChannelUniqueName"] = channel.unique_name
        fields["TaskChannelOptimizedRouting"] = _flag(channel.optimized_routing)
    capacity = event.capacity
    if capacity is not None:
        fields["TaskChannelSid"] = capacity.channel_sid
        fields["TaskChannelUniqueName"] = capacity.channel_unique_name
        fields["WorkerChannelAvailable"] = _flag(capacity.available)
        fields["WorkerChannelAvailableCapacity"] = str(capacity.available_capacity)
        fields["WorkerChannelTaskCount"] = str(capacity.task_count)
        if capacity.previous_capacity is not None:
            fields["WorkerChannelPreviousCapacity"] = str(capacity.previous_capacity)
    queue = event.queue
    if queue is not None:
        fields["TaskQueueSid"] = queue.sid
        fields["TaskQueueName"] = queue.name
        fields["TaskQueueTargetExpression"] = queue.target_expression
    workflow = event.workflow
    if workflow is not None:
        fields["WorkflowSid"] = workflow.sid
        fields["WorkflowName"] = workflow.name
    if event.filter_name is not None:
        fields["WorkflowFilterName"] = event.filter_name
    return fields
