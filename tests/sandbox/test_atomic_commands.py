"""Commands are atomic: a refused or failing command leaves no trace at all.

Why: a REST client that gets a 4xx must be able to trust that nothing
happened: no attribute changed, no version moved, no event was recorded and
no callback left. These properties drive the engine with random commands,
many of them invalid, from random states, and compare the engine's whole
exported state (records, counters, events, timers) before and after each
refused one. A second property makes commands fail half-way, after they
have already changed things, to show the transaction undoes those changes
too, indexes included.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from taskrouter_flask.sandbox import Engine, EngineError, ManualClock
from taskrouter_flask.sandbox.engine import Commit
from taskrouter_flask.sandbox.server import Sandbox
from taskrouter_flask.sandbox.state import EventRecord, ReservationStatus
from taskrouter_flask.workflow import Filter, Target, WorkflowConfiguration

START = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)

Command = Callable[[Engine, "World"], object]


class World:
    """An engine with one workspace mid-flow, and the SIDs a command may aim at."""

    def __init__(self) -> None:
        self.engine = Engine(ManualClock(START), seed=11)
        engine = self.engine
        self.ws = engine.create_workspace(friendly_name="Atomic").sid
        activities = {a.friendly_name: a.sid for a in engine.activities.values()}
        self.available, self.offline = activities["Available"], activities["Offline"]
        self.sales = engine.create_task_queue(
            self.ws, friendly_name="Sales", target_workers="skills HAS 'sales'"
        ).sid
        self.anyone = engine.create_task_queue(self.ws, friendly_name="Anyone").sid
        self.workflow = engine.create_workflow(
            self.ws,
            friendly_name="Route",
            configuration=WorkflowConfiguration(
                filters=(
                    Filter(
                        expression="type == 'sales'",
                        targets=(Target(queue=self.sales, timeout=30), Target(queue=self.anyone)),
                    ),
                ),
                default_filter=Target(queue=self.anyone),
            ),
            task_reservation_timeout=20,
        ).sid
        for index, skills in enumerate((["sales"], [], ["sales"])):
            engine.create_worker(
                self.ws,
                friendly_name=f"w{index}",
                activity_sid=self.available if index < 2 else self.offline,
                attributes={"skills": skills},
            )
        for kind in ("sales", "other", "sales", "sales"):
            engine.create_task(self.ws, workflow_sid=self.workflow, attributes={"type": kind})
        pending = [r for r in engine.reservations.values() if r.status is ReservationStatus.PENDING]
        engine.update_reservation(self.ws, pending[0].sid, reservation_status="accepted")

    def pick(self, table: str, index: int) -> str:
        sids = list(getattr(self.engine, table))
        return sids[index % len(sids)] if sids else "XX" + "0" * 32


_DEEP: dict[str, Any] = {}
_node = _DEEP
for _ in range(200):
    _node["a"] = {}
    _node = _node["a"]

_ATTRIBUTES = st.sampled_from(
    [{"skills": ["sales"]}, {"skills": []}, {"type": "sales"}, _DEEP, {"n": float("nan")}]
)
_NAME = st.sampled_from(["", "  ", "renamed", "w1"])
_ACTIVITY = st.sampled_from(["Available", "Offline", "unknown"])
_INDEX = st.integers(0, 20)


def _activity(world: World, name: str) -> str:
    if name == "unknown":
        return "WA" + "f" * 32
    return world.available if name == "Available" else world.offline


@st.composite
def commands(draw: st.DrawFn) -> Command:
    """One command, with arguments that are often invalid."""
    kind = draw(
        st.sampled_from(
            [
                "update_worker",
                "update_task",
                "update_reservation",
                "create_task",
                "create_worker",
                "update_queue",
                "update_workflow",
                "delete_worker",
                "delete_queue",
                "update_capacity",
                "instruction",
            ]
        )
    )
    index = draw(_INDEX)
    if kind == "update_worker":
        name = draw(st.none() | _NAME)
        attributes = draw(st.none() | _ATTRIBUTES)
        activity = draw(st.none() | _ACTIVITY)
        reject = draw(st.booleans())

        def run(engine: Engine, world: World) -> object:
            return engine.update_worker(
                world.ws,
                world.pick("workers", index),
                friendly_name=name,
                attributes=attributes,
                activity_sid=_activity(world, activity) if activity else None,
                reject_pending_reservations=reject,
            )

        return run
    if kind == "update_task":
        attributes = draw(st.none() | _ATTRIBUTES)
        priority = draw(st.none() | st.sampled_from([0, 3, -1, 2**40, True]))
        status = draw(st.none() | st.sampled_from(["canceled", "wrapping", "completed", "bogus"]))
        channel = draw(st.none() | st.sampled_from(["chat", "nope"]))

        def run(engine: Engine, world: World) -> object:
            return engine.update_task(
                world.ws,
                world.pick("tasks", index),
                attributes=attributes,
                priority=priority,
                assignment_status=status,
                task_channel=channel,
            )

        return run
    if kind == "update_reservation":
        status = draw(st.sampled_from(["accepted", "rejected", "completed", "wrapping", "x"]))
        activity = draw(st.none() | _ACTIVITY)

        def run(engine: Engine, world: World) -> object:
            return engine.update_reservation(
                world.ws,
                world.pick("reservations", index),
                reservation_status=status,
                worker_activity_sid=_activity(world, activity) if activity else None,
            )

        return run
    if kind == "instruction":
        instruction = draw(st.sampled_from(["accept", "reject", "dequeue", "call", "fly"]))

        def run(engine: Engine, world: World) -> object:
            reservation = engine.reservations[world.pick("reservations", index)]
            return engine.apply_instruction(reservation, {"instruction": instruction})

        return run
    if kind == "create_task":
        attributes = draw(_ATTRIBUTES)
        priority = draw(st.sampled_from([0, 5, -3, 2**31]))
        timeout = draw(st.sampled_from([None, 0, 60, 2_000_000]))
        channel = draw(st.sampled_from([None, "voice", "nope"]))

        def run(engine: Engine, world: World) -> object:
            return engine.create_task(
                world.ws,
                workflow_sid=world.workflow,
                attributes=attributes,
                priority=priority,
                timeout=timeout,
                task_channel=channel,
            )

        return run
    if kind == "create_worker":
        name = draw(_NAME)
        attributes = draw(_ATTRIBUTES)
        activity = draw(st.none() | _ACTIVITY)

        def run(engine: Engine, world: World) -> object:
            return engine.create_worker(
                world.ws,
                friendly_name=name,
                attributes=attributes,
                activity_sid=_activity(world, activity) if activity else None,
            )

        return run
    if kind == "update_queue":
        changes = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "friendly_name": _NAME,
                    "target_workers": st.sampled_from(["1==1", "skills HAS", "x =="]),
                    "max_reserved_workers": st.sampled_from([1, 2, 0, 51]),
                    "task_order": st.sampled_from(["FIFO", "LIFO", "RANDOM"]),
                    "reservation_activity_sid": _ACTIVITY,
                },
            )
        )

        def run(engine: Engine, world: World) -> object:
            given = dict(changes)
            if "reservation_activity_sid" in given:
                given["reservation_activity_sid"] = _activity(
                    world, given["reservation_activity_sid"]
                )
            return engine.update_task_queue(world.ws, world.pick("task_queues", index), **given)

        return run
    if kind == "update_workflow":
        changes = draw(
            st.fixed_dictionaries(
                {},
                optional={
                    "friendly_name": _NAME,
                    "configuration": st.sampled_from(["{}", "not json", '{"task_routing": {}}']),
                    "task_reservation_timeout": st.sampled_from([10, 0, 100_000]),
                },
            )
        )

        def run(engine: Engine, world: World) -> object:
            return engine.update_workflow(world.ws, world.workflow, **changes)

        return run
    if kind == "delete_worker":

        def run(engine: Engine, world: World) -> object:
            engine.delete_worker(world.ws, world.pick("workers", index))
            return None

        return run
    if kind == "delete_queue":

        def run(engine: Engine, world: World) -> object:
            engine.delete_task_queue(world.ws, world.pick("task_queues", index))
            return None

        return run
    capacity = draw(st.sampled_from([0, 2, -1, 51, "3"]))

    def run(engine: Engine, world: World) -> object:
        worker = world.pick("workers", index)
        channels = engine.worker_channels_of(worker)
        return engine.update_worker_channel(world.ws, worker, channels[0].sid, capacity=capacity)

    return run


def _watch(engine: Engine) -> tuple[list[EventRecord], list[Commit]]:
    heard: list[EventRecord] = []
    commits: list[Commit] = []
    engine.listeners.append(heard.append)
    engine.committers.append(commits.append)
    return heard, commits


def _indexes(engine: Engine) -> dict[str, Any]:
    """The derived indexes, copied, as comparable values."""
    store = engine.store
    return copy.deepcopy(
        {
            "active": store.active,
            "task_reservations": store.task_reservations,
            "worker_reservations": store.worker_reservations,
            "ready": store.ready,
            "eligible": {sid: q.eligible for sid, q in store.task_queues.items()},
            "waiting": {sid: q.waiting for sid, q in store.task_queues.items()},
            "queues": {sid: w.queues for sid, w in store.workers.items()},
            "channels": {sid: w.channels for sid, w in store.workers.items()},
            "view": {sid: w.view for sid, w in store.workers.items()},
        }
    )


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(commands(), min_size=1, max_size=12), st.integers(0, 60))
def test_a_refused_command_leaves_the_whole_state_as_it_was(
    steps: list[Command], seconds: int
) -> None:
    world = World()
    engine = world.engine
    engine.advance(seconds=seconds)
    heard, commits = _watch(engine)
    refused = 0
    for step in steps:
        before, events_before, commits_before = engine.export(), len(heard), len(commits)
        try:
            step(engine, world)
        except EngineError:
            refused += 1
            assert engine.export() == before
            assert len(heard) == events_before, "a refused command told a listener"
            assert len(commits) == commits_before, "a refused command was committed"
    # Whatever was refused, the indexes still agree with the records.
    kept = _indexes(engine)
    engine.routing.rebuild()
    assert _indexes(engine) == kept


class Boom(Exception):
    """A failure half-way through a command (not an engine refusal)."""


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commands(), st.integers(1, 6))
def test_a_command_that_fails_half_way_is_undone_indexes_included(
    step: Command, fail_at: int
) -> None:
    world = World()
    engine = world.engine
    heard, commits = _watch(engine)
    before = engine.export()
    indexes_before = _indexes(engine)
    emit = engine.emit
    calls = 0

    def failing_emit(*args: Any, **kwargs: Any) -> EventRecord:
        nonlocal calls
        calls += 1
        if calls == fail_at:
            raise Boom
        return emit(*args, **kwargs)

    engine.emit = failing_emit  # type: ignore[method-assign]
    try:
        step(engine, world)
    except (Boom, EngineError):
        assert engine.export() == before
        assert _indexes(engine) == indexes_before
        assert heard == [] and commits == []
    finally:
        engine.emit = emit  # type: ignore[method-assign]


def test_a_failing_journal_undoes_the_command() -> None:
    """A commit the journal could not write is not applied, and nobody hears of it."""
    world = World()
    engine = world.engine
    heard, _ = _watch(engine)
    before = engine.export()

    def full_disk(commit: Commit) -> None:
        raise OSError("no space left on device")

    engine.committers.insert(0, full_disk)
    with pytest.raises(OSError, match="no space"):
        engine.create_task(world.ws, workflow_sid=world.workflow, attributes={"type": "sales"})
    assert engine.export() == before
    assert heard == []


def test_a_worker_update_with_an_unknown_activity_changes_nothing() -> None:
    world = World()
    engine = world.engine
    heard, _ = _watch(engine)
    worker = engine.workers[world.pick("workers", 1)]
    revision, attributes, name = worker.revision, worker.attributes, worker.friendly_name
    with pytest.raises(EngineError, match="activity"):
        engine.update_worker(
            world.ws,
            worker.sid,
            attributes={"skills": ["sales"]},
            friendly_name="renamed",
            activity_sid="WA" + "f" * 32,
        )
    assert (worker.revision, worker.attributes, worker.friendly_name) == (
        revision,
        attributes,
        name,
    )
    assert heard == []


def test_over_http_a_refused_update_sends_no_callback_and_changes_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """PATCH a worker's Attributes with an unknown ActivitySid: 404, and nothing else."""
    caplog.set_level(logging.ERROR, logger="taskrouter_flask.sandbox.callbacks")
    with Sandbox(clock=ManualClock(START), seed=5) as sandbox:
        workspace = sandbox.client().workspaces.create(
            friendly_name="Atomic HTTP", event_callback_url="http://127.0.0.1:9/events"
        )
        client = sandbox.client(workspace.sid)
        worker = client.workers.create(friendly_name="ana", attributes={"skills": []})
        assert sandbox.drain(5)
        delivered, events = len(sandbox.callbacks.deliveries), len(sandbox.engine.events)
        response = requests.post(
            f"{sandbox.base_url}/v1/Workspaces/{workspace.sid}/Workers/{worker.sid}",
            data={"Attributes": '{"skills": ["sales"]}', "ActivitySid": "WA" + "f" * 32},
            auth=(sandbox.account_sid, sandbox.auth_token),
            timeout=5,
        )
        assert response.status_code == 404, response.text
        assert "WA" + "f" * 32 in response.json()["message"]
        fetched = client.workers.fetch(worker.sid)
        assert fetched.attributes == {"skills": []}
        assert sandbox.engine.workers[worker.sid].revision == 0
        assert sandbox.drain(5)
        assert len(sandbox.callbacks.deliveries) == delivered
        assert len(sandbox.engine.events) == events
