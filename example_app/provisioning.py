"""Provision the support desk through the REST client: idempotent, by friendly name.

Everything the desk needs is declared here as data (the workspace, its
activities, three queues, the workflow and a roster of agents) and
:func:`provision` makes TaskRouter match it: what is missing is created, what
differs is updated, what is already right is left alone. Running it twice, or
against a workspace someone provisioned by hand, converges on the same state
and never makes duplicates, so the application can provision at every start,
against the local sandbox or against real TaskRouter.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from taskrouter_flask import Filter, Target, WorkflowConfiguration
from taskrouter_flask.client import TaskRouterClient
from taskrouter_flask.models import Workflow

__all__ = [
    "ACTIVITIES",
    "AVAILABLE",
    "BUSY",
    "EVENTS",
    "EVERYONE",
    "GOLD",
    "MAX_AGENTS",
    "OFFLINE",
    "QUEUES",
    "SPANISH",
    "WORKFLOW_NAME",
    "WORKSPACE_NAME",
    "WRAP_UP",
    "AgentProfile",
    "Provisioned",
    "QueueSpec",
    "roster",
    "provision",
    "workflow_configuration",
]

log = logging.getLogger(__name__)

WORKSPACE_NAME = "Support"
WORKFLOW_NAME = "Support Desk"

OFFLINE = "Offline"
AVAILABLE = "Available"
BUSY = "Busy"
WRAP_UP = "Wrap-up"
#: The desk's activities and whether each is available for work, in display order.
ACTIVITIES: tuple[tuple[str, bool], ...] = (
    (OFFLINE, False),
    (AVAILABLE, True),
    (BUSY, False),
    (WRAP_UP, False),
)

#: The events the desk subscribes to: what the dashboard and the agents use (routing
#: detail such as ``workflow.entered`` and ``workflow.target-matched`` is left out).
EVENTS = (
    "task.created",
    "task.updated",
    "task.canceled",
    "task.wrapup",
    "task.completed",
    "task.deleted",
    "task-queue.entered",
    "task-queue.moved",
    "task-queue.timeout",
    "reservation.created",
    "reservation.accepted",
    "reservation.rejected",
    "reservation.timeout",
    "reservation.canceled",
    "reservation.rescinded",
    "reservation.wrapup",
    "reservation.completed",
    "worker.activity.update",
    "worker.attributes.update",
    "workflow.timeout",
)

GOLD = "Gold Tickets"
SPANISH = "Spanish"
EVERYONE = "Everyone"


@dataclass(frozen=True, slots=True)
class QueueSpec:
    """A task queue as the desk wants it.

    :param max_reserved_workers: offer a task to this many agents at once; the
        first to accept wins and the others' reservations are rescinded.
    """

    name: str
    target_workers: str
    max_reserved_workers: int = 1


QUEUES: tuple[QueueSpec, ...] = (
    QueueSpec(GOLD, "skills HAS 'premium'"),
    QueueSpec(SPANISH, "languages HAS 'es'"),
    QueueSpec(EVERYONE, "1==1", max_reserved_workers=2),
)

_NAMES = (
    "Alice",
    "Bruno",
    "Chiara",
    "Dmitri",
    "Esperanza",
    "Farid",
    "Grace",
    "Hiro",
    "Ines",
    "Jonas",
    "Keiko",
    "Luis",
    "Maya",
    "Nikolai",
    "Olivia",
    "Pablo",
    "Quinn",
    "Rosa",
    "Sami",
    "Tomas",
    "Uma",
    "Victor",
    "Wen",
    "Ximena",
    "Yusuf",
    "Zoe",
    "Amara",
    "Bastien",
    "Carmen",
    "Diego",
)
#: The largest roster :func:`roster` can make.
MAX_AGENTS = len(_NAMES)


@dataclass(frozen=True, slots=True)
class AgentProfile:
    """One agent of the roster: a worker's name and attributes."""

    name: str
    skills: tuple[str, ...]
    languages: tuple[str, ...]
    level: int
    handled_today: int

    def attributes(self) -> dict[str, Any]:
        """The worker's attributes, as TaskRouter stores them."""
        return {
            "skills": list(self.skills),
            "languages": list(self.languages),
            "level": self.level,
            "handled_today": self.handled_today,
            "contact_uri": f"client:{self.name.lower()}",
        }


def roster(agents: int, *, daily_limit: int) -> list[AgentProfile]:
    """The first ``agents`` agents: a fixed mix of skills, languages and levels.

    Every third agent speaks Spanish and every third has the ``premium`` skill
    (so any roster of three or more serves every queue); a few start the day
    one task short of ``daily_limit``, so the business rule shows early.

    :raises ValueError: if ``agents`` is not between 1 and :data:`MAX_AGENTS`.
    """
    if not 1 <= agents <= MAX_AGENTS:
        raise ValueError(f"agents: expected 1 to {MAX_AGENTS}, got {agents}")
    profiles = []
    for index, name in enumerate(_NAMES[:agents]):
        skills = ["billing"] if index % 2 == 0 else ["technical"]
        if index % 3 == 0 or index % 5 == 2:
            skills.insert(0, "premium")
        languages = ["en", "es"] if index % 3 == 1 else ["en"]
        if index % 7 == 4:
            languages.append("fr")
        handled = daily_limit - 1 if index % 5 == 4 else (index * 5) % max(1, daily_limit // 2)
        profiles.append(
            AgentProfile(
                name=name,
                skills=tuple(skills),
                languages=tuple(languages),
                level=1 + (index * 3) % 5,
                handled_today=max(0, handled),
            )
        )
    return profiles


def workflow_configuration(
    queues: Mapping[str, str], *, gold_timeout: int
) -> WorkflowConfiguration:
    """The desk's routing: Gold tickets first to the gold queue, Spanish to Spanish, rest to all.

    :param queues: queue name to SID.
    :param gold_timeout: seconds a Gold ticket waits for a premium agent before
        it escalates to everyone.
    """
    return WorkflowConfiguration(
        filters=(
            Filter(
                "customer_value == 'Gold' AND type == 'ticket'",
                targets=(
                    Target(queue=queues[GOLD], timeout=gold_timeout, order_by="worker.level DESC"),
                    Target(queue=queues[EVERYONE]),
                ),
                friendly_name="Gold tickets",
            ),
            Filter(
                "selected_language == 'es'",
                targets=(Target(queue=queues[SPANISH]),),
                friendly_name="Spanish",
            ),
        ),
        default_filter=Target(queue=queues[EVERYONE]),
    ).check()


@dataclass(frozen=True, slots=True)
class Provisioned:
    """The SIDs of what :func:`provision` found or made.

    :param activities: activity name to SID, for the desk's four activities.
    :param queues: queue name to SID.
    :param workers: agent name to worker SID.
    :param agents: the roster, in order.
    :param changes: what this run created or updated, e.g. ``"created queue Spanish"``.
    """

    workspace_sid: str
    workflow_sid: str
    activities: Mapping[str, str]
    queues: Mapping[str, str]
    workers: Mapping[str, str]
    agents: tuple[AgentProfile, ...] = ()
    changes: tuple[str, ...] = field(default=(), compare=False)

    def activity_name(self, sid: str) -> str | None:
        """The name of activity ``sid``, if it is one of the desk's."""
        return next((name for name, known in self.activities.items() if known == sid), None)


def provision(
    client: TaskRouterClient,
    *,
    events_url: str,
    assignment_url: str,
    agents: int = 12,
    daily_limit: int = 25,
    gold_timeout: int = 30,
    reservation_timeout: int = 12,
) -> Provisioned:
    """Make TaskRouter hold the support desk, creating or updating only what differs.

    :param client: a client for the account (its workspace SID is not used).
    :param events_url: the workspace's ``EventCallbackUrl`` (``tr.events_url()``).
    :param assignment_url: the workflow's ``AssignmentCallbackUrl`` (``tr.assignment_url()``).
    :param agents: how many agents of :func:`roster` to have.
    :param daily_limit: where the roster's near-limit agents start.
    :param gold_timeout: seconds before a Gold ticket escalates to everyone.
    :param reservation_timeout: seconds an agent has to accept a reservation.
    :raises TaskRouterError: if TaskRouter refuses a change.
    """
    changes: list[str] = []
    events_filter = ",".join(EVENTS)
    workspace = next(iter(client.workspaces.list(friendly_name=WORKSPACE_NAME, limit=1)), None)
    if workspace is None:
        workspace = client.workspaces.create(
            friendly_name=WORKSPACE_NAME, event_callback_url=events_url, events_filter=events_filter
        )
        changes.append(f"created workspace {WORKSPACE_NAME}")
    ws = client.for_workspace(workspace.sid)

    activities = _activities(ws, changes)
    wanted: dict[str, Any] = {
        "event_callback_url": events_url,
        "events_filter": events_filter,
        "default_activity_sid": activities[OFFLINE],
        "timeout_activity_sid": activities[OFFLINE],
    }
    current = {key: getattr(workspace, key) for key in wanted}
    if current != wanted:
        ws.workspaces.update(workspace.sid, **{k: v for k, v in wanted.items() if current[k] != v})
        changes.append(f"updated workspace {WORKSPACE_NAME}")

    queues = _queues(ws, activities, changes)
    workflow_sid = _workflow(
        ws,
        workflow_configuration(queues, gold_timeout=gold_timeout),
        assignment_url=assignment_url,
        reservation_timeout=reservation_timeout,
        changes=changes,
    )
    profiles = roster(agents, daily_limit=daily_limit)
    workers = _workers(ws, profiles, activities, changes)
    for change in changes:
        log.info("provisioning: %s", change)
    return Provisioned(
        workspace_sid=workspace.sid,
        workflow_sid=workflow_sid,
        activities=activities,
        queues=queues,
        workers=workers,
        agents=tuple(profiles),
        changes=tuple(changes),
    )


def _activities(ws: TaskRouterClient, changes: list[str]) -> dict[str, str]:
    existing = {a.friendly_name: a for a in ws.activities.list()}
    sids = {}
    for name, available in ACTIVITIES:
        activity = existing.get(name)
        if activity is None:
            activity = ws.activities.create(friendly_name=name, available=available)
            changes.append(f"created activity {name}")
        elif activity.available is not None and activity.available != available:
            # An activity's availability cannot change; say so rather than route wrongly.
            log.warning(
                "activity %s exists with available=%s; the desk expects %s",
                name,
                activity.available,
                available,
            )
        sids[name] = activity.sid
    return sids


def _queues(
    ws: TaskRouterClient, activities: Mapping[str, str], changes: list[str]
) -> dict[str, str]:
    existing = {q.friendly_name: q for q in ws.task_queues.list()}
    sids = {}
    for spec in QUEUES:
        wanted: dict[str, Any] = {
            "target_workers": spec.target_workers,
            "max_reserved_workers": spec.max_reserved_workers,
            "assignment_activity_sid": activities[BUSY],
        }
        queue = existing.get(spec.name)
        if queue is None:
            queue = ws.task_queues.create(friendly_name=spec.name, **wanted)
            changes.append(f"created queue {spec.name}")
        else:
            differs = {k: v for k, v in wanted.items() if getattr(queue, k) != v}
            if differs:
                ws.task_queues.update(queue.sid, **differs)
                changes.append(f"updated queue {spec.name}")
        sids[spec.name] = queue.sid
    return sids


def _workflow(
    ws: TaskRouterClient,
    config: WorkflowConfiguration,
    *,
    assignment_url: str,
    reservation_timeout: int,
    changes: list[str],
) -> str:
    workflow = next(iter(ws.workflows.list(friendly_name=WORKFLOW_NAME, limit=1)), None)
    if workflow is None:
        created = ws.workflows.create(
            friendly_name=WORKFLOW_NAME,
            configuration=config,
            assignment_callback_url=assignment_url,
            task_reservation_timeout=reservation_timeout,
        )
        changes.append(f"created workflow {WORKFLOW_NAME}")
        return created.sid
    differs: dict[str, Any] = {}
    if _configuration_of(workflow) != config.to_dict():
        differs["configuration"] = config
    if workflow.assignment_callback_url != assignment_url:
        differs["assignment_callback_url"] = assignment_url
    if workflow.task_reservation_timeout != reservation_timeout:
        differs["task_reservation_timeout"] = reservation_timeout
    if differs:
        ws.workflows.update(workflow.sid, **differs)
        changes.append(f"updated workflow {WORKFLOW_NAME}")
    return workflow.sid


def _configuration_of(workflow: Workflow) -> dict[str, Any] | None:
    document = workflow.configuration
    if document is None:
        return None
    try:
        if isinstance(document, str):
            return WorkflowConfiguration.from_json(document).to_dict()
        return WorkflowConfiguration.from_dict(document).to_dict()
    except ValueError:  # unreadable: replace it
        return None


def _workers(
    ws: TaskRouterClient,
    profiles: Sequence[AgentProfile],
    activities: Mapping[str, str],
    changes: list[str],
) -> dict[str, str]:
    existing = {w.friendly_name: w for w in ws.workers.list()}
    sids = {}
    for profile in profiles:
        worker = existing.get(profile.name)
        attributes = profile.attributes()
        if worker is None:
            worker = ws.workers.create(
                friendly_name=profile.name,
                attributes=attributes,
                activity_sid=activities[AVAILABLE],
            )
            changes.append(f"created worker {profile.name}")
        else:
            # Lists leave attributes out (TaskRouter shows them only on a fetch).
            worker = ws.workers.fetch(worker.sid)
            # The roster decides skills, languages and level; today's tally is the worker's own.
            merged = {**attributes, **{"handled_today": worker.attributes.get("handled_today", 0)}}
            merged = {**worker.attributes, **merged}
            if merged != worker.attributes:
                ws.workers.update(worker.sid, attributes=merged)
                changes.append(f"updated worker {profile.name}")
        sids[profile.name] = worker.sid
    return sids
