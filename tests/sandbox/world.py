"""The small workspace the contract tests run on, described once and built two ways.

``test_contract.py`` builds it over raw HTTP (form fields, no help from our
client), so that the API is held against Twilio's description on its own;
``test_client_against_sandbox.py`` builds it through our client, so that each
client method meets real SIDs. What the world holds is written here once, as
:func:`build_world` over a :class:`Maker`; each test module supplies the way of
making it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from taskrouter_flask.sandbox import ManualClock
from taskrouter_flask.sandbox.server import Sandbox
from taskrouter_flask.workflow import Filter, Target, WorkflowConfiguration

__all__ = [
    "MISSING",
    "NOWHERE",
    "Maker",
    "World",
    "build_world",
    "running_sandbox",
    "workflow_configuration",
]

#: 32 hex digits no resource has: with a prefix, a SID that is not found.
MISSING = "00000000000000000000000000000000"
#: Nothing listens there: a workflow may name it without any callback being sent.
NOWHERE = "http://127.0.0.1:9/assignment"


@dataclass(frozen=True)
class World:
    """SIDs of a small workspace; the "spare" resources are free to update and delete."""

    workspace: str
    offline: str
    available: str
    unavailable: str
    spare_activity: str
    channel: str
    queue: str
    spare_queue: str
    workflow: str
    spare_workflow: str
    worker: str
    spare_worker: str
    worker_channel: str
    task: str
    reservation: str
    event: str

    @property
    def path(self) -> str:
        return f"/v1/Workspaces/{self.workspace}"


class Maker(Protocol):
    """How one test module creates and reads resources (raw HTTP, or our client)."""

    def workspace(self, friendly_name: str) -> str:
        """Create a workspace; from now on the others act in it."""
        ...

    def create(self, collection: str, **fields: Any) -> str:
        """Create one resource of ``collection`` (``"Activities"``, ``"TaskQueues"`` ...).

        ``fields`` are snake_case names with Python values (dicts for attributes, a
        :class:`WorkflowConfiguration` for a configuration).
        """
        ...

    def activities(self) -> Mapping[str, str]:
        """The workspace's activities by friendly name."""
        ...

    def reservation(self, task: str) -> tuple[str, str, str]:
        """The task's one reservation: its SID, status and worker SID."""
        ...

    def default_channel(self, worker: str) -> str:
        """The SID of the worker's channel for the ``default`` task channel."""
        ...

    def first_event(self, event_type: str) -> str:
        """The SID of the first event of ``event_type``."""
        ...


def workflow_configuration(
    queue: str, expression: str = "type == 'ticket'"
) -> WorkflowConfiguration:
    """Tickets to ``queue``, and everything else to it too."""
    target = Target(queue=queue)
    return WorkflowConfiguration(
        filters=(Filter(expression, (target,), friendly_name="Tickets"),), default_filter=target
    )


def build_world(make: Maker, name: str) -> World:
    """Create the world, each step an ordinary request, and hold a pending reservation."""
    workspace = make.workspace(name)
    activities = make.activities()
    spare_activity = make.create("Activities", friendly_name="Break")
    channel = make.create("TaskChannels", friendly_name="Support chat", unique_name="support-chat")
    queue = make.create("TaskQueues", friendly_name="Support", target_workers="'support' IN skills")
    spare_queue = make.create(
        "TaskQueues", friendly_name="Platinum", target_workers="tier == 'platinum'"
    )
    configuration = workflow_configuration(queue)
    workflow = make.create("Workflows", friendly_name="Routing", configuration=configuration)
    spare_workflow = make.create("Workflows", friendly_name="Spare", configuration=configuration)
    worker = make.create(
        "Workers",
        friendly_name="Alice",
        activity_sid=activities["Available"],
        attributes={"skills": ["support"], "tier": "gold"},
    )
    spare_worker = make.create("Workers", friendly_name="Bob")
    task = make.create("Tasks", workflow_sid=workflow, attributes={"type": "ticket"}, priority=1)
    reservation, status, reserved = make.reservation(task)
    assert (status, reserved) == ("pending", worker)
    return World(
        workspace=workspace,
        offline=activities["Offline"],
        available=activities["Available"],
        unavailable=activities["Unavailable"],
        spare_activity=spare_activity,
        channel=channel,
        queue=queue,
        spare_queue=spare_queue,
        workflow=workflow,
        spare_workflow=spare_workflow,
        worker=worker,
        spare_worker=spare_worker,
        worker_channel=make.default_channel(worker),
        task=task,
        reservation=reservation,
        event=make.first_event("reservation.created"),
    )


def running_sandbox() -> Iterator[Sandbox]:
    """One sandbox on a manual clock, for a module's fixture (each test builds its own world)."""
    with Sandbox(clock=ManualClock(), seed=0) as running:
        yield running
