"""Simulated traffic: customers creating tasks, and agents working them.

Three parts, so the random parts are deterministic and testable on their own:

* :class:`TrafficPlan` is the stream of arrivals: Poisson arrivals at
  ``rate`` per second, each a ticket, a call (with a ``call_sid``) or a chat
  with a mix of customer values, languages and priorities. The same seed gives
  the same stream.
* :class:`Behaviour` decides how an agent handles a task: how long a chat
  rings before they answer (or whether they miss it), how long they work and
  wrap up, whether they take a break after. Each decision depends only on
  the seed, the task's reference and the agent's name, so it does not depend
  on thread timing.
* :class:`Simulator` acts: one thread with a timer heap creates tasks through
  the REST client and, told of events by the desk's event handler, plays the
  agents (accept a ringing chat, wrap up, complete, go on a break, come back).

Everything the simulator does goes through the same REST API a real agent
desktop would use, so the sandbox (or TaskRouter) decides what happens.
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import random
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from taskrouter_flask import Event
from taskrouter_flask.client import TaskRouterClient
from taskrouter_flask.errors import TaskRouterError

from .provisioning import AVAILABLE, OFFLINE, WRAP_UP, Provisioned

__all__ = [
    "CHANNELS",
    "CUSTOMER_VALUES",
    "DEFAULT_HANDLE_TIME",
    "DEFAULT_RATE",
    "KINDS",
    "KIND_WEIGHTS",
    "LANGUAGES",
    "LANGUAGE_WEIGHTS",
    "VALUE_WEIGHTS",
    "Behaviour",
    "Handling",
    "Simulator",
    "TaskSpec",
    "TrafficPlan",
    "task_spec",
]

log = logging.getLogger(__name__)

KINDS = ("ticket", "call", "chat")
CUSTOMER_VALUES = ("Gold", "Silver", "Bronze")
LANGUAGES = ("en", "es", "fr")
#: The mix of arrivals: weights of :data:`KINDS`, :data:`CUSTOMER_VALUES`, :data:`LANGUAGES`.
KIND_WEIGHTS = (45, 35, 20)
VALUE_WEIGHTS = (20, 40, 40)
LANGUAGE_WEIGHTS = (75, 20, 5)
#: ``python -m example_app``'s traffic: arrivals per second and an agent's mean handle time.
#: With the default roster the agents are busy about 60% of the time at most, counted as if
#: each held one task at a time (a multitasking workspace, one task per channel, has more
#: room still), so the queues stay short. Four times the rate (``--rate 2``) overloads it.
DEFAULT_RATE = 0.5
DEFAULT_HANDLE_TIME = 8.0
#: The task channel of each kind of task.
CHANNELS = {"ticket": "default", "call": "voice", "chat": "chat"}
_BASE_PRIORITY = {"call": 10, "chat": 5, "ticket": 0}
_SUBJECTS = (
    "Cannot log in",
    "Refund for a double charge",
    "Upgrade my plan",
    "Invoice address is wrong",
    "App crashes on start",
    "Delivery is late",
    "Cancel my subscription",
    "Password reset email never arrives",
)
_CUSTOMERS = ("Ada", "Ben", "Cleo", "Dev", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jo")


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """A task to create: its attributes, priority and task channel."""

    ref: str
    attributes: dict[str, Any]
    priority: int
    channel: str


def task_spec(
    *,
    ref: str,
    kind: str,
    customer_value: str,
    language: str,
    subject: str = "",
    customer: str = "",
    priority: int | None = None,
    call_sid: str | None = None,
    source: str = "simulation",
) -> TaskSpec:
    """Build the task a customer's ticket, call or chat becomes.

    :param priority: default: calls 10, chats 5, tickets 0, plus 5 for Gold.
    :param call_sid: a call's SID; a random one when ``kind`` is ``call`` and none is given.
    """
    attributes: dict[str, Any] = {
        "type": kind,
        "customer_value": customer_value,
        "selected_language": language,
        "ref": ref,
        "source": source,
    }
    if subject:
        attributes["subject"] = subject
    if customer:
        attributes["customer"] = customer
    if kind == "call":
        attributes["call_sid"] = call_sid or "CA" + secrets.token_hex(16)
        attributes["from"] = "+15005550006"
    if priority is None:
        priority = _BASE_PRIORITY.get(kind, 0) + (5 if customer_value == "Gold" else 0)
    return TaskSpec(ref=ref, attributes=attributes, priority=priority, channel=CHANNELS[kind])


class TrafficPlan:
    """The arrivals: ``next()`` gives the seconds to wait and the task that then arrives.

    :param seed: the same seed gives the same stream (``None``: a random one).
    :param rate: mean arrivals per second.
    """

    def __init__(self, *, seed: int | None, rate: float) -> None:
        if rate <= 0:
            raise ValueError(f"rate: expected arrivals per second > 0, got {rate}")
        self.rate = rate
        self._random = random.Random(f"arrivals:{seed}" if seed is not None else None)
        self._count = itertools.count(1)

    def next(self) -> tuple[float, TaskSpec]:
        """The wait before the next arrival, and the task."""
        rng = self._random
        delay = rng.expovariate(self.rate)
        number = next(self._count)
        kind = rng.choices(KINDS, weights=KIND_WEIGHTS)[0]
        value = rng.choices(CUSTOMER_VALUES, weights=VALUE_WEIGHTS)[0]
        language = rng.choices(LANGUAGES, weights=LANGUAGE_WEIGHTS)[0]
        spec = task_spec(
            ref=f"{number:04d}",
            kind=kind,
            customer_value=value,
            language=language,
            subject=rng.choice(_SUBJECTS) if kind == "ticket" else "",
            customer=rng.choice(_CUSTOMERS),
            call_sid=f"CA{rng.getrandbits(128):032x}" if kind == "call" else None,
        )
        return delay, spec


@dataclass(frozen=True, slots=True)
class Handling:
    """How one agent handles one task, in seconds."""

    answers: bool
    ring: float
    talk: float
    wrap: float
    takes_break: bool
    pause: float


class Behaviour:
    """Agents' choices, a pure function of (seed, task reference, agent name).

    :param handle_time: the mean seconds an agent works on a task.
    """

    #: A ringing chat goes unanswered (and times out) this often.
    MISS_CHANCE = 0.2
    #: Seconds a chat rings before the agent answers: uniform between these.
    RING = (0.3, 2.0)
    #: Talk, wrap-up and time away (a break, or after a miss or a rejection), as multiples
    #: of ``handle_time``: uniform between these.
    TALK = (0.5, 1.5)
    WRAP = (0.1, 0.3)
    PAUSE = (2.0, 4.0)
    #: An agent takes a break after a task this often.
    BREAK_CHANCE = 0.05

    def __init__(self, *, seed: int | None, handle_time: float) -> None:
        if handle_time <= 0:
            raise ValueError(f"handle_time: expected seconds > 0, got {handle_time}")
        self.seed = seed if seed is not None else random.SystemRandom().getrandbits(32)
        self.handle_time = handle_time

    def handling(self, ref: str, agent: str, offer: int = 1) -> Handling:
        """How ``agent`` handles the task ``ref`` the ``offer``-th time it is offered to them.

        Each offer decides afresh (a chat missed once is not missed every time it comes
        back to the same agent, which would keep it bouncing between them).
        """
        key = f"{self.seed}:{ref}:{agent}" + (f":{offer}" if offer > 1 else "")
        rng = random.Random(key)
        mean = self.handle_time
        return Handling(
            answers=rng.random() >= self.MISS_CHANCE,
            ring=rng.uniform(*self.RING),
            talk=mean * rng.uniform(*self.TALK),
            wrap=mean * rng.uniform(*self.WRAP),
            takes_break=rng.random() < self.BREAK_CHANCE,
            pause=mean * rng.uniform(*self.PAUSE),
        )

    def comeback(self, agent: str, count: int) -> float:
        """Seconds until ``agent``, sent Offline for the ``count``-th time, is back."""
        rng = random.Random(f"{self.seed}:away:{agent}:{count}")
        return self.handle_time * rng.uniform(*self.PAUSE)


#: Per agent, the tasks whose offers are counted at most (the oldest are forgotten).
_OFFERS_KEPT = 200


@dataclass(slots=True)
class _Agent:
    sid: str
    name: str
    attributes: dict[str, Any]
    held: bool = False
    #: A person works this agent in the agent console: the simulation leaves them alone.
    at_console: bool = False
    away: int = 0
    handling: set[str] = field(default_factory=set)
    #: Task SID to how many times it was offered to this agent (the latest first to go).
    offers: dict[str, int] = field(default_factory=dict)


class _Scheduler:
    """A heap of (due, seq, action) run in order, on the monotonic clock by default.

    With a thread (the default) actions run on it as they fall due; without one
    (``threaded=False``, for a virtual clock) :meth:`run_due` runs them.
    """

    def __init__(
        self, name: str, *, clock: Callable[[], float] = time.monotonic, threaded: bool = True
    ) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._seq = itertools.count()
        self._wake = threading.Condition()
        self._stopped = False
        self.clock = clock
        self._thread = (
            threading.Thread(target=self._run, name=name, daemon=True) if threaded else None
        )

    def start(self) -> None:
        if self._thread is not None:
            self._thread.start()

    def call_later(self, delay: float, action: Callable[[], None]) -> None:
        self.call_at(self.clock() + delay, action)

    def call_at(self, due: float, action: Callable[[], None]) -> None:
        with self._wake:
            heapq.heappush(self._heap, (due, next(self._seq), action))
            self._wake.notify()

    def stop(self, timeout: float = 10.0) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify()
        thread = self._thread
        if thread is not None and thread.is_alive() and threading.current_thread() is not thread:
            thread.join(timeout)

    def next_due(self) -> float | None:
        """When the earliest action is due (``None``: nothing scheduled, or stopped)."""
        with self._wake:
            return self._heap[0][0] if self._heap and not self._stopped else None

    def run_due(self) -> int:
        """Run every action due by now, in order (those they schedule too); return how many."""
        count = 0
        while True:
            with self._wake:
                if self._stopped or not self._heap or self._heap[0][0] > self.clock():
                    return count
                _, _, action = heapq.heappop(self._heap)
            self._perform(action)
            count += 1

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._stopped:
                    delay = self._heap[0][0] - self.clock() if self._heap else None
                    if delay is not None and delay <= 0:
                        break
                    self._wake.wait(delay)
                if self._stopped:
                    return
                _, _, action = heapq.heappop(self._heap)
            self._perform(action)

    @staticmethod
    def _perform(action: Callable[[], None]) -> None:
        try:
            action()
        except Exception:  # one failed action must not stop the simulation
            log.exception("simulated traffic: an action failed")


class Simulator:
    """Customers and agents, acting through the REST API.

    :param client: a client bound to the desk's workspace.
    :param provisioned: the desk's SIDs and roster.
    :param paused: start with arrivals paused (agents still work).
    :param clock: seconds on a virtual clock (e.g. a test's): then no thread runs the
        simulation, and whoever moves the clock calls :meth:`run_due`.
    """

    def __init__(
        self,
        client: TaskRouterClient,
        *,
        provisioned: Provisioned,
        plan: TrafficPlan,
        behaviour: Behaviour,
        paused: bool = False,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.client = client
        self.provisioned = provisioned
        self.plan = plan
        self.behaviour = behaviour
        self._paused = threading.Event()
        if paused:
            self._paused.set()
        self._scheduler = (
            _Scheduler("simulated-traffic")
            if clock is None
            else _Scheduler("simulated-traffic", clock=clock, threaded=False)
        )
        self._agents = {
            provisioned.workers[profile.name]: _Agent(
                provisioned.workers[profile.name], profile.name, profile.attributes()
            )
            for profile in provisioned.agents
        }
        self._activities = provisioned.activities
        self._lock = threading.Lock()
        self.created = 0
        self.failures = 0
        self._running = False
        self._next_arrival = 0.0

    # -- control ----------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the simulation was started and not stopped."""
        return self._running

    @property
    def paused(self) -> bool:
        """Whether new arrivals are paused."""
        return self._paused.is_set()

    def pause(self) -> None:
        """Stop creating tasks; agents finish what they have."""
        self._paused.set()

    def resume(self) -> None:
        """Create tasks again."""
        self._paused.clear()

    def start(self, workers: Mapping[str, Mapping[str, Any]] | None = None) -> None:
        """Start: agents log in (Available) and the first customer is on their way.

        :param workers: worker SID to current attributes, so agents start from
            TaskRouter's tally rather than the roster's.
        """
        for sid, attributes in (workers or {}).items():
            if sid in self._agents:
                self._agents[sid].attributes = dict(attributes)
        self._running = True
        self._scheduler.start()
        for agent in self._agents.values():
            self._scheduler.call_later(0, functools.partial(self._set_activity, agent, AVAILABLE))
        delay, spec = self.plan.next()
        self._next_arrival = self._scheduler.clock() + delay
        self._scheduler.call_at(self._next_arrival, lambda: self._arrive(spec))

    def stop(self) -> None:
        """Stop arrivals and agents (what is in flight in TaskRouter stays as it is)."""
        self._running = False
        self._scheduler.stop()

    def next_due(self) -> float | None:
        """On a virtual clock: when the next action is due (``None``: none)."""
        return self._scheduler.next_due()

    def run_due(self) -> int:
        """On a virtual clock: act on everything due by now; return how many actions ran."""
        return self._scheduler.run_due()

    def hold(self, worker_sid: str, held: bool) -> None:
        """A supervisor set this agent's activity: the simulation stops changing it while held."""
        agent = self._agents.get(worker_sid)
        if agent is not None:
            agent.held = held

    def hand_over(self, worker_sid: str, at_console: bool) -> None:
        """A person takes this agent over in the console (``True``), or hands them back.

        While at the console the simulation neither answers the agent's reservations
        nor changes their activity; work it already has in hand is finished, without
        touching the activity. Handed back, the agent logs in again (Available) unless a
        supervisor holds them.
        """
        agent = self._agents.get(worker_sid)
        if agent is None or agent.at_console == at_console:
            return
        agent.at_console = at_console
        if not at_console and self._running:
            self._scheduler.call_later(0, functools.partial(self._set_activity, agent, AVAILABLE))

    def observe(self, event: Event) -> None:
        """The desk's event handler passes every event here; agents react on their thread."""
        if self._running and event.type.startswith("reservation."):
            self._scheduler.call_later(0, lambda: self._react(event))

    # -- customers ---------------------------------------------------------------------------

    def _arrive(self, spec: TaskSpec) -> None:
        if self._paused.is_set():
            self._next_arrival = self._scheduler.clock() + 0.2
            self._scheduler.call_at(self._next_arrival, lambda: self._arrive(spec))
            return
        if self._call(
            "create task",
            self.client.tasks.create,
            workflow_sid=self.provisioned.workflow_sid,
            attributes=spec.attributes,
            priority=spec.priority,
            task_channel=spec.channel,
        ):
            self.created += 1
        delay, following = self.plan.next()
        # Arrivals keep to their own timeline (a slow REST call does not lower the rate),
        # catching up at most one second of backlog.
        self._next_arrival = max(self._next_arrival + delay, self._scheduler.clock() - 1.0)
        self._scheduler.call_at(self._next_arrival, lambda: self._arrive(following))

    # -- agents ------------------------------------------------------------------------------

    def _react(self, event: Event) -> None:
        if event.worker is None or event.task is None or event.reservation_sid is None:
            return
        agent = self._agents.get(event.worker.sid)
        if agent is None or agent.at_console:
            return
        task, reservation = event.task, event.reservation_sid
        ref = str(task.attributes.get("ref") or task.sid)
        if event.type == "reservation.created":
            agent.offers[task.sid] = agent.offers.pop(task.sid, 0) + 1
            while len(agent.offers) > _OFFERS_KEPT:
                del agent.offers[next(iter(agent.offers))]
        handling = self.behaviour.handling(ref, agent.name, agent.offers.get(task.sid, 1))
        if event.type == "reservation.created" and task.attributes.get("type") == "chat":
            if handling.answers:
                self._scheduler.call_later(
                    handling.ring, lambda: self._answer(agent, task.sid, reservation)
                )
        elif event.type == "reservation.accepted":
            agent.handling.add(task.sid)
            self._scheduler.call_later(
                handling.talk, lambda: self._wrap_up(agent, task.sid, handling)
            )
        elif event.type in ("reservation.rejected", "reservation.timeout"):
            # Rejected over the daily limit, or missed: either way TaskRouter moves them to
            # Offline (the event itself still shows the activity they had before).
            agent.away += 1
            back = self.behaviour.comeback(agent.name, agent.away)
            new_day = event.type == "reservation.rejected"
            self._scheduler.call_later(back, lambda: self._come_back(agent, new_day=new_day))

    def _answer(self, agent: _Agent, task_sid: str, reservation_sid: str) -> None:
        if agent.at_console:
            return  # taken over while it rang: the person answers it, or not
        self._call(
            "accept reservation",
            self.client.tasks.reservations(task_sid).update,
            reservation_sid,
            reservation_status="accepted",
        )

    def _wrap_up(self, agent: _Agent, task_sid: str, handling: Handling) -> None:
        self._call("wrap up", self.client.tasks.update, task_sid, assignment_status="wrapping")
        self._set_activity(agent, WRAP_UP)
        self._scheduler.call_later(handling.wrap, lambda: self._complete(agent, task_sid, handling))

    def _complete(self, agent: _Agent, task_sid: str, handling: Handling) -> None:
        # The agent's tally and next activity first, while the task still holds them, so
        # TaskRouter cannot offer them a task between the two updates.
        agent.handling.discard(task_sid)
        agent.offers.pop(task_sid, None)
        handled = agent.attributes.get("handled_today", 0)
        agent.attributes["handled_today"] = (handled if isinstance(handled, int) else 0) + 1
        activity = None
        if not agent.held and not agent.at_console and not agent.handling:
            activity = OFFLINE if handling.takes_break else AVAILABLE
        self._update_worker(agent, attributes=dict(agent.attributes), activity=activity)
        self._call(
            "complete task",
            self.client.tasks.update,
            task_sid,
            assignment_status="completed",
            reason="resolved",
        )
        if activity == OFFLINE:
            agent.away += 1
            back = self.behaviour.comeback(agent.name, agent.away)
            self._scheduler.call_later(back, lambda: self._come_back(agent, new_day=False))

    def _come_back(self, agent: _Agent, *, new_day: bool) -> None:
        if agent.held or agent.at_console or not self._running:
            return
        try:
            worker = self.client.workers.fetch(agent.sid)
        except TaskRouterError as exc:
            log.debug("simulated traffic: fetching %s failed: %s", agent.name, exc)
            return
        if worker.activity_sid != self._activities[OFFLINE]:
            return  # not away after all (or someone else brought them back)
        if new_day:
            agent.attributes["handled_today"] = 0
            self._update_worker(agent, attributes=dict(agent.attributes), activity=AVAILABLE)
        else:
            self._set_activity(agent, AVAILABLE)

    def _set_activity(self, agent: _Agent, activity: str) -> None:
        self._update_worker(agent, attributes=None, activity=activity)

    def _update_worker(
        self, agent: _Agent, *, attributes: dict[str, Any] | None, activity: str | None
    ) -> None:
        changes: dict[str, Any] = {}
        if attributes is not None:
            changes["attributes"] = attributes
        if activity is not None and not agent.held and not agent.at_console:
            changes["activity_sid"] = self._activities[activity]
        if changes:
            self._call(f"update {agent.name}", self.client.workers.update, agent.sid, **changes)

    def _call(self, what: str, method: Callable[..., Any], *args: Any, **kwargs: Any) -> bool:
        """Call the REST API; a refusal (a race another agent or a timeout won) is logged."""
        if not self._running:
            return False
        try:
            method(*args, **kwargs)
        except TaskRouterError as exc:
            with self._lock:
                self.failures += 1
            log.debug("simulated traffic: %s refused: %s", what, exc)
            return False
        return True
