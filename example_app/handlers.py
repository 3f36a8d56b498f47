"""The desk's TaskRouter handlers: what to do with each reservation, and what to make of events.

Assignment handlers are per queue and share one business rule: an agent who
has handled their daily limit of tasks is not given another; the reservation
is rejected and the agent moved to *Offline* (so TaskRouter does not offer
the task straight back to them). Otherwise a ticket is accepted, a call is
dequeued to the agent's phone, and a chat is left pending (an empty answer)
so it rings on the agent's desktop until they accept it through the REST API
(or the reservation times out). Wrap-up and the return to *Available* are the
agent's desktop's business (here, the simulated agents'), so a supervisor who
moves an agent keeps them where they were put. An agent a person works in the
agent console gets every reservation left pending (after the daily limit's
check): the person accepts or rejects it in the browser.

Event handlers keep the dashboard's state, pass events on to listeners (the
simulated agents), and write an audit log: one line per task, reservation and
activity change, on the ``example_app.audit`` logger.

The business logic is in plain methods of :class:`Handlers` (one object per
application, unit-testable with :func:`taskrouter_flask.testing.make_assignment`
/ ``make_event``). They are registered here, at import, on the module's
:data:`tr`, with queues given by friendly name: no SID is known yet (the
workspace is provisioned when the application is created), and the extension
looks the names up when the first callback needs them. Each registered
function hands the callback to the current application's :class:`Handlers`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from flask import current_app

from taskrouter_flask import Assignment, Event, Instruction, TaskRouter, accept, dequeue, reject

from .dashboard import DashboardState, task_label
from .provisioning import GOLD, OFFLINE, SPANISH, Provisioned

__all__ = ["DESK_NUMBER", "HANDLERS_KEY", "Handlers", "Rules", "current_handlers", "tr"]

log = logging.getLogger(__name__)
audit_log = logging.getLogger("example_app.audit")

#: The desk's caller ID when a call is dequeued to an agent (Twilio's magic test number).
DESK_NUMBER = "+15005550006"

_AUDITED = ("task.*", "reservation.*", "worker.activity.update")

#: Where an application keeps its :class:`Handlers` (``app.extensions[HANDLERS_KEY]``).
HANDLERS_KEY = "support_desk.handlers"

#: The desk's TaskRouter extension; :func:`example_app.create_app` calls ``tr.init_app(app)``.
tr = TaskRouter()


@dataclass(frozen=True, slots=True)
class Rules:
    """The business rules' parameters.

    :param daily_limit: tasks an agent handles in a day before being sent home.
    :param offline_sid: where a rejected agent goes (an unavailable activity).
    :param desk_number: the caller ID an agent sees when a call is dequeued to them.
    """

    daily_limit: int
    offline_sid: str
    desk_number: str = DESK_NUMBER

    @classmethod
    def for_desk(cls, provisioned: Provisioned, *, daily_limit: int) -> Rules:
        """The rules with the activity SIDs provisioning found."""
        return cls(daily_limit=daily_limit, offline_sid=provisioned.activities[OFFLINE])


@dataclass(slots=True)
class Handlers:
    """Every handler of the desk, with what they need.

    :param state: the dashboard's state, fed by :meth:`update_dashboard`.
    :param rules: set once provisioning is done; assignment handlers need it.
    :param listeners: called with each new event after the state took it.
    """

    state: DashboardState
    rules: Rules | None = None
    listeners: list[Callable[[Event], None]] = field(default_factory=list)
    #: The desk's workspace, once provisioned: events of any other are not the desk's.
    workspace_sid: str | None = None
    #: Workers a person works in the agent console (replaced whole, never changed in place).
    consoles: frozenset[str] = frozenset()

    # -- assignment handlers -----------------------------------------------------------------

    def gold_ticket(self, assignment: Assignment) -> Instruction | None:
        """A Gold ticket in the gold queue: accepted, unless the agent is at their limit."""
        if self._at_console(assignment):
            return self._over_limit(assignment)
        return self._over_limit(assignment) or accept()

    def spanish(self, assignment: Assignment) -> Instruction | None:
        """A task for a Spanish speaker: the limit, then by kind of task."""
        if self._at_console(assignment):
            return self._over_limit(assignment)
        return self._over_limit(assignment) or self._by_kind(assignment)

    def everyone(self, assignment: Assignment) -> Instruction | None:
        """Any other reservation (the fallback): the limit, then by kind of task."""
        if self._at_console(assignment):
            return self._over_limit(assignment)
        return self._over_limit(assignment) or self._by_kind(assignment)

    def _at_console(self, assignment: Assignment) -> bool:
        """Whether a person works this agent in the console: then only the limit answers."""
        return assignment.worker.sid in self.consoles

    def _over_limit(self, assignment: Assignment) -> Instruction | None:
        rules = self._rules()
        handled = assignment.worker.attributes.get("handled_today", 0)
        if isinstance(handled, int) and handled >= rules.daily_limit:
            log.info(
                "rejecting %s for %s: %s tasks handled today (limit %s); moving them to Offline",
                task_label(assignment.task.attributes),
                assignment.worker.sid,
                handled,
                rules.daily_limit,
            )
            return reject(activity_sid=rules.offline_sid)
        return None

    def _by_kind(self, assignment: Assignment) -> Instruction | None:
        rules = self._rules()
        attributes = assignment.task.attributes
        if attributes.get("type") == "call" and attributes.get("call_sid"):
            # Bridge the caller waiting in <Enqueue> to the agent's phone (their contact_uri).
            return dequeue(from_=rules.desk_number)
        if attributes.get("type") == "chat":
            return None  # pending: it rings on the agent's desktop, who accepts by REST
        return accept()

    def _rules(self) -> Rules:
        if self.rules is None:
            raise RuntimeError("the desk is not provisioned: no rules yet")
        return self.rules

    # -- event handlers ----------------------------------------------------------------------

    def update_dashboard(self, event: Event) -> None:
        """Every event: into the dashboard's state, then to the listeners (once per event SID)."""
        if self.workspace_sid is not None and event.workspace_sid != self.workspace_sid:
            log.info("%s event of workspace %s is not the desk's", event.type, event.workspace_sid)
            return
        if not self.state.apply(event):
            log.debug("event %s seen before; ignored", event.sid)
            return
        for listener in list(self.listeners):
            listener(event)

    def audit(self, event: Event) -> None:
        """Tasks, reservations and activity changes: one JSON line each on the audit logger."""
        record = {
            "at": event.timestamp.isoformat(),
            "event": event.type,
            "sid": event.sid,
            "task": event.task.sid if event.task else None,
            "task_status": event.task.assignment_status if event.task else None,
            "queue": event.task_queue_name,
            "reservation": event.reservation_sid,
            "worker": event.worker.friendly_name if event.worker else None,
            "activity": event.worker.activity_name if event.worker else None,
        }
        audit_log.info(json.dumps({k: v for k, v in record.items() if v is not None}))


def current_handlers() -> Handlers:
    """The handlers of the application answering the current callback."""
    handlers = current_app.extensions.get(HANDLERS_KEY)
    if not isinstance(handlers, Handlers):
        raise RuntimeError("this application has no support desk: build it with create_app()")
    return handlers


# -- registration, at import: queues by friendly name -------------------------------------------


@tr.assignment(queue=GOLD, when="type == 'ticket'")
def gold_ticket(assignment: Assignment) -> Instruction | None:
    """A ticket routed to the *Gold Tickets* queue."""
    return current_handlers().gold_ticket(assignment)


@tr.assignment(queue=SPANISH)
def spanish(assignment: Assignment) -> Instruction | None:
    """Anything routed to the *Spanish* queue."""
    return current_handlers().spanish(assignment)


@tr.assignment()
def everyone(assignment: Assignment) -> Instruction | None:
    """The fallback: any other reservation."""
    return current_handlers().everyone(assignment)


@tr.event("*")
def update_dashboard(event: Event) -> None:
    """Every event: the dashboard, then the listeners."""
    current_handlers().update_dashboard(event)


@tr.event(*_AUDITED)
def audit(event: Event) -> None:
    """Tasks, reservations and activity changes: the audit log."""
    current_handlers().audit(event)
