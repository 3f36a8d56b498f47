"""One application's support desk: its client, provisioned SIDs, state, handlers and traffic.

:func:`~example_app.create_app` makes one :class:`Desk` per application and
keeps it in ``app.extensions["support_desk"]``; the web routes reach it
through :func:`current_desk`. It is also where the end-of-run summary is
checked against TaskRouter's own statistics.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from taskrouter_flask.client import TaskRouterClient

from .dashboard import DashboardState, Totals
from .handlers import Handlers, Rules
from .provisioning import AVAILABLE, OFFLINE, QUEUES, Provisioned, provision
from .traffic import Behaviour, Simulator, TaskSpec, TrafficPlan, task_spec

if TYPE_CHECKING:
    from taskrouter_flask.extension import TaskRouter

__all__ = [
    "EXTENSION_KEY",
    "Desk",
    "NoAgentTokens",
    "NotProvisioned",
    "Summary",
    "current_desk",
]

log = logging.getLogger(__name__)

EXTENSION_KEY = "support_desk"


class NotProvisioned(RuntimeError):
    """The desk has no workspace yet (``SUPPORT_DESK_PROVISION`` is off, or it failed)."""


class NoAgentTokens(RuntimeError):
    """The desk cannot mint SDK tokens for its agents: the message says which setting is missing."""


@dataclass(frozen=True, slots=True)
class Summary:
    """The run's totals as the desk counted them from events, and as TaskRouter reports them."""

    seconds: float
    desk: Totals
    created: int
    assigned: int
    completed: int
    avg_acceptance: int
    reservations: dict[str, int]

    @property
    def agrees(self) -> bool:
        """Whether the event counts and TaskRouter's statistics say the same."""
        return (
            self.desk.created == self.created
            and self.desk.assigned == self.assigned
            and self.desk.completed == self.completed
            and round(self.desk.mean_wait) == self.avg_acceptance
        )

    def lines(self) -> list[str]:
        """The summary, as printed at the end of a run."""
        desk = self.desk
        rows = [
            f"Summary after {self.seconds:.1f} s",
            f"  {'':24} {'events':>8} {'statistics':>11}",
            f"  {'tasks created':24} {desk.created:>8} {self.created:>11}",
            f"  {'tasks assigned':24} {desk.assigned:>8} {self.assigned:>11}",
            f"  {'tasks completed':24} {desk.completed:>8} {self.completed:>11}",
            f"  {'mean wait (s)':24} {desk.mean_wait:>8.1f} {self.avg_acceptance:>11}",
            "  reservations: "
            + ", ".join(f"{key.replace('_', ' ')} {n}" for key, n in self.reservations.items()),
        ]
        if self.agrees:
            rows.append("  totals agree with TaskRouter's statistics")
        else:
            rows.append("  MISMATCH: the events received and TaskRouter's statistics disagree")
        return rows


class Desk:
    """The support desk of one application.

    :param tr: the application's TaskRouter extension.
    :param state: the dashboard's state.
    """

    def __init__(self, *, tr: TaskRouter, state: DashboardState) -> None:
        self.tr = tr
        self.state = state
        self.handlers = Handlers(state)
        self.provisioned: Provisioned | None = None
        self.client: TaskRouterClient | None = None
        self.simulator: Simulator | None = None
        self.started_at = datetime.now(tz=UTC)
        self._refs = itertools.count(1)
        self._lock = threading.Lock()

    # -- provisioning -------------------------------------------------------------------------

    def provision(self, app: Flask) -> Provisioned:
        """Provision (idempotently), check the handlers' queue names, load the dashboard.

        The handlers were registered at import with queue names (see
        :mod:`.handlers`); checking them now fails fast on a name the
        workspace lacks, and fills the extension's name cache.
        """
        config = app.config
        client = self.tr.client_for(app)
        provisioned = provision(
            client,
            events_url=self.tr.events_url(app),
            assignment_url=self.tr.assignment_url(app),
            agents=config["SUPPORT_DESK_AGENTS"],
            daily_limit=config["SUPPORT_DESK_DAILY_LIMIT"],
            gold_timeout=config["SUPPORT_DESK_GOLD_TIMEOUT"],
            reservation_timeout=config["SUPPORT_DESK_RESERVATION_TIMEOUT"],
        )
        self.client = client.for_workspace(provisioned.workspace_sid)
        self.handlers.rules = Rules.for_desk(
            provisioned, daily_limit=config["SUPPORT_DESK_DAILY_LIMIT"]
        )
        self.handlers.workspace_sid = provisioned.workspace_sid
        self.tr.check_names(app, workspace_sid=provisioned.workspace_sid)
        self.provisioned = provisioned
        self._load_state(provisioned)
        self.started_at = datetime.now(tz=UTC)
        return provisioned

    def _load_state(self, provisioned: Provisioned) -> None:
        client = self._client()
        names = {sid: name for name, sid in provisioned.activities.items()}
        targets = {spec.name: spec.target_workers for spec in QUEUES}
        self.state.configure(
            queues=[(sid, name, targets[name]) for name, sid in provisioned.queues.items()],
            activities=list(provisioned.activities),
            # Lists leave attributes out (TaskRouter shows them only on a fetch), so each
            # worker of the roster is fetched.
            workers=[
                (w.sid, w.friendly_name or w.sid, names.get(w.activity_sid or ""), w.attributes)
                for w in (client.workers.fetch(sid) for sid in provisioned.workers.values())
            ],
        )

    def _client(self) -> TaskRouterClient:
        if self.client is None:
            raise NotProvisioned("the desk is not provisioned")
        return self.client

    def _provisioned(self) -> Provisioned:
        if self.provisioned is None:
            raise NotProvisioned("the desk is not provisioned")
        return self.provisioned

    # -- traffic ------------------------------------------------------------------------------

    def start_traffic(
        self, *, rate: float, seed: int | None, handle_time: float, paused: bool = False
    ) -> Simulator:
        """Start simulated customers and agents.

        :raises NotProvisioned: before :meth:`provision`.
        """
        provisioned = self._provisioned()
        client = self._client()
        simulator = Simulator(
            client,
            provisioned=provisioned,
            plan=TrafficPlan(seed=seed, rate=rate),
            behaviour=Behaviour(seed=seed, handle_time=handle_time),
            paused=paused,
        )
        current = {
            sid: client.workers.fetch(sid).attributes for sid in provisioned.workers.values()
        }
        self.handlers.listeners.append(simulator.observe)
        simulator.start(current)
        self.simulator = simulator
        return simulator

    def traffic_status(self) -> dict[str, Any] | None:
        """``{"paused": bool, "rate": float}``, or ``None`` without simulated traffic."""
        simulator = self.simulator
        if simulator is None or not simulator.running:
            return None
        return {"paused": simulator.paused, "rate": simulator.plan.rate}

    # -- controls -----------------------------------------------------------------------------

    def create_task(
        self,
        *,
        kind: str,
        customer_value: str,
        language: str,
        priority: int | None,
        subject: str,
    ) -> tuple[str, TaskSpec]:
        """Create a task as a customer would (from the dashboard); return its SID and spec.

        :raises NotProvisioned: before :meth:`provision`.
        :raises TaskRouterError: if TaskRouter refuses it.
        """
        provisioned = self._provisioned()
        with self._lock:
            ref = f"D{next(self._refs):03d}"
        spec = task_spec(
            ref=ref,
            kind=kind,
            customer_value=customer_value,
            language=language,
            subject=subject,
            priority=priority,
            source="dashboard",
        )
        task = self._client().tasks.create(
            workflow_sid=provisioned.workflow_sid,
            attributes=spec.attributes,
            priority=spec.priority,
            task_channel=spec.channel,
        )
        return task.sid, spec

    def set_activity(self, worker_sid: str, activity: str) -> None:
        """Move an agent to an activity, as a supervisor; simulated agents leave them be.

        :raises KeyError: for a worker or activity that is not the desk's.
        :raises TaskRouterError: if TaskRouter refuses it.
        """
        provisioned = self._provisioned()
        if worker_sid not in provisioned.workers.values():
            raise KeyError(worker_sid)
        activity_sid = provisioned.activities[activity]
        self._client().workers.update(worker_sid, activity_sid=activity_sid)
        if self.simulator is not None:
            self.simulator.hold(worker_sid, activity != AVAILABLE)

    # -- the agent console ------------------------------------------------------------------

    def worker_name(self, worker_sid: str) -> str | None:
        """The name of one of the desk's agents (``None``: not the desk's, or not provisioned)."""
        provisioned = self.provisioned
        if provisioned is None:
            return None
        return next((n for n, sid in provisioned.workers.items() if sid == worker_sid), None)

    def take_over(self, worker_sid: str) -> None:
        """A person works this agent in the console: reservations wait for them, not the simulation.

        :raises KeyError: for a worker that is not the desk's.
        """
        if self.worker_name(worker_sid) is None:
            raise KeyError(worker_sid)
        with self._lock:
            self.handlers.consoles = self.handlers.consoles | {worker_sid}
        if self.simulator is not None:
            self.simulator.hand_over(worker_sid, True)

    def hand_back(self, worker_sid: str) -> None:
        """The console lets the agent go: the simulation works them again."""
        with self._lock:
            self.handlers.consoles = self.handlers.consoles - {worker_sid}
        if self.simulator is not None:
            self.simulator.hand_over(worker_sid, False)

    def at_console(self) -> frozenset[str]:
        """The agents a person works in the console now."""
        return self.handlers.consoles

    def worker_token(self, app: Flask, worker_sid: str, *, ttl: int = 3600) -> str:
        """An access token for the TaskRouter SDK, for one of the desk's agents.

        :raises KeyError: for a worker that is not the desk's.
        :raises NoAgentTokens: naming the settings that are missing (an API key).
        """
        provisioned = self._provisioned()
        name = self.worker_name(worker_sid)
        if name is None:
            raise KeyError(worker_sid)
        try:
            return self.tr.worker_token(
                worker_sid,
                ttl=ttl,
                identity=name,
                workspace_sid=provisioned.workspace_sid,
                app=app,
            )
        except RuntimeError as exc:  # the extension names the missing settings
            raise NoAgentTokens(str(exc)) from None

    # -- the end --------------------------------------------------------------------------------

    def close_desk(self) -> None:
        """Stop the simulation and send every agent Offline, so nothing more gets assigned."""
        if self.simulator is not None:
            self.simulator.stop()
        if self.provisioned is None or self.client is None:
            return
        offline = self.provisioned.activities[OFFLINE]
        for sid in self.provisioned.workers.values():
            self.client.workers.update(sid, activity_sid=offline)

    def summary(self, seconds: float) -> Summary:
        """The desk's totals beside TaskRouter's cumulative statistics since provisioning."""
        stats = self._client().workspace_cumulative_statistics(start_date=self.started_at)
        return Summary(
            seconds=seconds,
            desk=self.state.totals(),
            created=stats.tasks_created or 0,
            assigned=stats.reservations_accepted or 0,
            completed=stats.tasks_completed or 0,
            avg_acceptance=stats.avg_task_acceptance_time or 0,
            reservations={
                "accepted": stats.reservations_accepted or 0,
                "rejected": stats.reservations_rejected or 0,
                "timed_out": stats.reservations_timed_out or 0,
                "rescinded": stats.reservations_rescinded or 0,
            },
        )

    def stop(self) -> None:
        """Stop the simulation and end the dashboard's event streams."""
        if self.simulator is not None:
            self.simulator.stop()
        self.state.close()


def current_desk() -> Desk:
    """The desk of the application handling the current request."""
    desk = current_app.extensions[EXTENSION_KEY]
    assert isinstance(desk, Desk)
    return desk
