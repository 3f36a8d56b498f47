"""With its defaults the desk reaches a steady state: offered load stays below capacity.

Two checks. The first is arithmetic: from the traffic mix, the agents' behaviour
and the roster, the agent-seconds each task costs and the utilisation of every
skill group, counted as if each agent held one task at a time (a multitasking
workspace only adds room, so this errs on the safe side). The second runs the
whole desk — the sandbox's routing engine on a :class:`ManualClock`, the app
answering its callbacks over HTTP, and the simulated customers and agents on the
same virtual clock — for several virtual minutes of default traffic, and checks
that no queue grows.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from example_app import create_app
from example_app.__main__ import build_parser
from example_app.desk import EXTENSION_KEY, Desk
from example_app.provisioning import EVERYONE, GOLD, QUEUES, SPANISH, roster
from example_app.traffic import (
    CUSTOMER_VALUES,
    KIND_WEIGHTS,
    KINDS,
    LANGUAGE_WEIGHTS,
    LANGUAGES,
    VALUE_WEIGHTS,
    Behaviour,
    Simulator,
    TrafficPlan,
)
from taskrouter_flask.sandbox import ManualClock
from taskrouter_flask.sandbox.server import Sandbox

#: Busy at most this share of the time, per skill group, with the defaults.
MAX_UTILISATION = 0.75
#: Seconds an agent has to answer a ringing chat (the app's default).
RESERVATION_TIMEOUT = 12


@dataclass(frozen=True)
class Defaults:
    rate: float
    handle_time: float
    agents: int
    daily_limit: int


def cli_defaults() -> Defaults:
    """What ``python -m example_app`` runs with when given no options."""
    args = build_parser().parse_args([])
    return Defaults(args.rate, args.handle_time, args.agents, args.daily_limit)


def _share(values: tuple[str, ...], weights: tuple[float, ...], value: str) -> float:
    return weights[values.index(value)] / sum(weights)


def agent_seconds_per_task(d: Defaults, *, kind: str, reservations: int) -> float:
    """Mean agent-seconds one task of ``kind`` costs, one task per agent at a time.

    Talk and wrap-up; breaks after a task and the time away they cost; the daily
    limit's rejection and time away, once per ``daily_limit`` tasks; and for a chat,
    the ringing of each of its ``reservations`` and a missed one's timeout and time away.
    """
    b = Behaviour
    mean = d.handle_time
    cost = mean * (sum(b.TALK) / 2 + sum(b.WRAP) / 2)
    away = mean * sum(b.PAUSE) / 2
    cost += b.BREAK_CHANCE * away + away / d.daily_limit
    if kind == "chat":
        ring = sum(b.RING) / 2
        cost += reservations * (ring + b.MISS_CHANCE * (RESERVATION_TIMEOUT + away))
    return cost


def utilisation(d: Defaults) -> dict[str, float]:
    """Offered agent-seconds per second over the agents who can take them, per group.

    ``Everyone``: every task (all agents can take any queue's task after escalation);
    ``Spanish``: the Spanish tasks that are not Gold tickets, over the Spanish speakers;
    ``Gold Tickets``: Gold tickets over the premium agents.
    """
    profiles = roster(d.agents, daily_limit=d.daily_limit)
    spanish_agents = sum("es" in p.languages for p in profiles)
    premium_agents = sum("premium" in p.skills for p in profiles)
    gold = _share(CUSTOMER_VALUES, VALUE_WEIGHTS, "Gold")
    spanish = _share(LANGUAGES, LANGUAGE_WEIGHTS, "es")
    reserved = {spec.name: spec.max_reserved_workers for spec in QUEUES}
    load = {EVERYONE: 0.0, SPANISH: 0.0, GOLD: 0.0}
    for kind in KINDS:
        share = _share(KINDS, KIND_WEIGHTS, kind)
        gold_share = gold if kind == "ticket" else 0.0
        to_spanish = share * (1 - gold_share) * spanish
        to_everyone = share * (1 - gold_share) * (1 - spanish)
        to_gold = share * gold_share
        load[SPANISH] += to_spanish * agent_seconds_per_task(
            d, kind=kind, reservations=reserved[SPANISH]
        )
        load[GOLD] += to_gold * agent_seconds_per_task(d, kind=kind, reservations=reserved[GOLD])
        load[EVERYONE] += (to_spanish + to_gold) * agent_seconds_per_task(
            d, kind=kind, reservations=1
        ) + to_everyone * agent_seconds_per_task(d, kind=kind, reservations=reserved[EVERYONE])
    return {
        EVERYONE: d.rate * load[EVERYONE] / d.agents,
        SPANISH: d.rate * load[SPANISH] / spanish_agents,
        GOLD: d.rate * load[GOLD] / premium_agents,
    }


def test_the_defaults_offer_less_load_than_every_skill_group_can_take() -> None:
    d = cli_defaults()
    busy = utilisation(d)
    assert all(u <= MAX_UTILISATION for u in busy.values()), busy
    # The demo stays lively: at least one task every two seconds, agents visibly at work.
    assert d.rate >= 0.5 and busy[EVERYONE] >= 0.4, busy


def test_a_missed_chat_is_decided_afresh_each_time_it_comes_back() -> None:
    """Otherwise a chat every Spanish speaker misses bounces between them for ever."""
    behaviour = Behaviour(seed=1, handle_time=8.0)
    missed = [
        (ref, agent)
        for ref in (f"{n:04d}" for n in range(1, 200))
        for agent in ("Bruno", "Esperanza")
        if not behaviour.handling(ref, agent).answers
    ]
    assert missed
    assert all(behaviour.handling(r, a) == behaviour.handling(r, a, 1) for r, a in missed)
    answered_later = [
        any(behaviour.handling(r, a, offer).answers for offer in range(2, 6)) for r, a in missed
    ]
    assert sum(answered_later) >= 0.9 * len(missed)


# -- the desk on a virtual clock -------------------------------------------------------------


@dataclass
class VirtualDesk:
    clock: ManualClock
    sandbox: Sandbox
    desk: Desk
    simulator: Simulator
    started: float

    def seconds(self) -> float:
        return self.clock.now().timestamp() - self.started

    def settle(self) -> None:
        """Deliver every callback and let the agents act on what is due, until quiet."""
        while True:
            assert self.sandbox.drain(10.0), "callbacks not delivered"
            if not self.simulator.run_due():
                return

    def run_until(self, until: float) -> None:
        """Move the virtual clock to ``until`` seconds, stopping at everything due on the way."""
        self.settle()
        while self.seconds() < until:
            due = [until]
            if (agent := self.simulator.next_due()) is not None:
                due.append(agent)
            if (timer := self.sandbox.engine.next_timer()) is not None:
                due.append(timer.timestamp() - self.started)
            # Whole microseconds, rounded up (the clock's resolution), so the step gets there.
            step = math.ceil(max(0.0, min(due) - self.seconds()) * 1e6) / 1e6
            self.sandbox.advance(step)
            self.settle()

    def queues(self) -> dict[str, tuple[int, int]]:
        """Per queue: tasks waiting (pending or reserved) and the longest wait in seconds."""
        client = self.desk.client
        assert client is not None and self.desk.provisioned is not None
        found = {}
        for name, sid in self.desk.provisioned.queues.items():
            stats = client.task_queues.real_time_statistics(sid)
            by_status = stats.tasks_by_status or {}
            waiting = int(by_status.get("pending", 0)) + int(by_status.get("reserved", 0))
            found[name] = (waiting, int(stats.longest_task_waiting_age or 0))
        return found


class _Quiet(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


@contextlib.contextmanager
def running(d: Defaults, *, seed: int) -> Iterator[VirtualDesk]:
    """The desk with simulated traffic as ``d`` says, on a virtual clock at 0 s."""
    token = "0" * 32
    clock = ManualClock()
    sandbox = Sandbox(auth_token=token, clock=clock, seed=seed).start()
    server: BaseWSGIServer | None = None
    thread: threading.Thread | None = None
    simulator: Simulator | None = None
    try:
        server = make_server(
            "127.0.0.1", 0, lambda environ, start: [], threaded=True, request_handler=_Quiet
        )
        app = create_app(
            {
                "TASKROUTER_ACCOUNT_SID": sandbox.account_sid,
                "TASKROUTER_AUTH_TOKEN": token,
                "TASKROUTER_BASE_URL": sandbox.base_url,
                "TASKROUTER_PUBLIC_BASE_URL": f"http://127.0.0.1:{server.server_port}",
                "SUPPORT_DESK_AGENTS": d.agents,
                "SUPPORT_DESK_DAILY_LIMIT": d.daily_limit,
                "SUPPORT_DESK_RESERVATION_TIMEOUT": RESERVATION_TIMEOUT,
            }
        )
        server.app = app
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
        thread.daemon = True
        thread.start()
        desk = app.extensions[EXTENSION_KEY]
        assert isinstance(desk, Desk) and desk.client and desk.provisioned
        started = clock.now().timestamp()
        simulator = Simulator(
            desk.client,
            provisioned=desk.provisioned,
            plan=TrafficPlan(seed=seed, rate=d.rate),
            behaviour=Behaviour(seed=seed, handle_time=d.handle_time),
            clock=lambda: clock.now().timestamp() - started,
        )
        desk.handlers.listeners.append(simulator.observe)
        workers = {
            sid: desk.client.workers.fetch(sid).attributes
            for sid in desk.provisioned.workers.values()
        }
        simulator.start(workers)
        yield VirtualDesk(clock, sandbox, desk, simulator, started)
    finally:
        if simulator is not None:
            simulator.stop()
        sandbox.stop()
        if server is not None:
            if thread is not None:
                server.shutdown()
                thread.join(5)
            server.server_close()


def sample(d: Defaults, *, seed: int, minutes: int) -> tuple[int, list[dict[str, tuple[int, int]]]]:
    """Tasks created, and each queue's (waiting, longest wait) at the end of every minute."""
    with running(d, seed=seed) as desk:
        samples = []
        for minute in range(1, minutes + 1):
            desk.run_until(minute * 60)
            samples.append(desk.queues())
        return desk.simulator.created, samples


#: Virtual minutes of default traffic (about 20 s of real time).
MINUTES = 4


def test_default_traffic_reaches_a_steady_state() -> None:
    d = cli_defaults()
    created, samples = sample(d, seed=3, minutes=MINUTES)
    report = "\n".join(f"minute {n}: {row}" for n, row in enumerate(samples, 1))
    assert created >= MINUTES * 60 * d.rate * 0.7, report
    for name in (GOLD, SPANISH, EVERYONE):
        depths = [row[name][0] for row in samples]
        longest = [row[name][1] for row in samples]
        # Bounded: a handful waiting at most, nobody waiting for minutes ...
        assert max(depths) <= 8 and max(longest) <= 60, report
        # ... and no upward trend: the second half no worse than the first, give or take.
        half = len(samples) // 2
        assert sum(depths[half:]) <= sum(depths[:half]) + 2 * half, report
