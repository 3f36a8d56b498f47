"""Benchmark the sandbox over real HTTP: routing, listing, persistence, worker SDK, Prism.

Five parts, each measured in several rounds in one process; figures are medians
of rounds, and a ratio is the median of each round's own ratio.

1. Routing: a :class:`~taskrouter_flask.sandbox.server.Sandbox` on the real
   clock, and a Flask application with our extension whose assignment handler
   answers ``accept()``, served on 127.0.0.1 (werkzeug, threaded). Each round
   creates N tasks through our REST client, one request after another, then
   waits until every task is ``assigned``: ``sandbox.drain()`` for the
   callbacks, then polling the task list, bounded in time. Reported: tasks
   created per second, tasks created *and* assigned per second (first create
   to last assignment), and each task's latency from ``task.created`` to
   ``reservation.accepted`` as the engine recorded them. Between rounds the
   tasks are completed, which frees the workers.
2. Listing: 1,000 workers listed from the sandbox by our client
   (``client.workers.list(page_size=50)``) and by the official ``twilio``
   library (``workspaces(sid).workers.list(page_size=50)``, with its TaskRouter
   domain's ``base_url`` pointed at the sandbox), alternating round by round
   (the order flips every round). A third line, plain ``requests`` fetching the
   same pages and decoding the JSON without building any model, is the floor
   both stand on. The ratio is time(ours) / time(twilio): below 1 means ours
   is faster.
3. Persistence: sandboxes started with ``data=`` (a SQLite journal, durable:
   every commit synced to disk before the answer). Two of them run side by
   side on the real clock, one holding 1,000 tasks and one 10,000 (pending in
   their queue: no workers), both filled straight through the engine in one
   transaction. Each round times ``POST /v1/Workspaces/{sid}/Tasks`` one
   request at a time on each (plain ``requests``, one keep-alive session per
   sandbox), the order flipping every round; the tasks a round created are
   then deleted through the engine, untimed, so the counts stay put. The
   ratio (target at most 1.5x) is the median of each round's median(10k) /
   median(1k). A third sandbox, with 1,000 tasks and no journal, runs in the
   same rounds: the reference for the journal's share. Then an engine on a
   manual clock (set to the real time) routes tasks to completion, as
   ``bench_engine`` does, until it holds 100,000 events; a
   :class:`~taskrouter_flask.sandbox.journal.Journal` is written from it at
   once, and a restart is timed: ``Sandbox(data=path)`` constructed again
   (target under 2 s), and ``Journal(path).load()`` alone.
4. Worker SDK: a sandbox on the real clock with an API key, one queue targeting
   every worker, a workflow without an assignment callback, and 50 workers each
   connected through Twilio's own worker SDK (``twilio-taskrouter`` from
   ``node_modules``, all in one node process run by ``tests/sandbox/sdk_driver.py``).
   Once every worker is ``ready``, tasks are created one at a time with
   ``POST .../Tasks`` (plain ``requests``, keep-alive); each is timed from just
   before the POST (``time.time()``) to the ``at`` stamp (node's ``Date.now()``,
   the same wall clock, whole milliseconds) of the SDK's ``reservationCreated``
   for it. The task is then canceled through REST, and its ``reservation.canceled``
   awaited, untimed, so the next task finds the worker free. Reported: p50, p99 and
   max (target p99 under 50 ms); the POST's own round trip in the same requests is
   the baseline, and the engine's ``reservation.created`` stamp splits the rest
   into routing and delivery. Skipped, with the reason printed, without node or
   the SDK (``npm ci`` at the repository root installs it).
5. Prism: the alternative for offline tests, Stoplight's Prism (``@stoplight/prism-cli``,
   pinned) mocking Twilio's TaskRouter v1 OpenAPI description (``--spec``): stateless,
   it answers each request with the description's example. It is installed by npm into a
   cache outside the repository (``--prism-cache``) on first use, and run as ``prism mock
   <spec> -h 127.0.0.1 -p <port>``. The sandbox (real clock) holds one workspace of 100
   Available workers, a queue and a workflow without callbacks. Both are sent the same
   three requests, with the same paths, SIDs and basic auth, by ``wrk`` (keep-alive, a Lua
   script per request): GET one worker, GET the workers with ``PageSize=50`` and POST a
   task (the sandbox keeps every task created). Each cell, a request at 1 connection or at
   16, runs the two servers back to back, the order flipping every round. Reported per
   cell: the median rate of each, the median of the rounds' ratios sandbox/Prism with the
   rounds' spread against the issue's targets (1.5x, 1.0x for the list), the medians of
   p50 and p99 (at 16 connections the sandbox's p99 should be below Prism's), and the
   load average before and after. Skipped, with the reason printed, without wrk, npm or
   the description.

Run ``python -m benchmarks.bench_sandbox`` (about five minutes, part 5 about three) or add
``--quick`` (about a minute). Nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import gc
import json
import logging
import math
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import requests
from flask import Flask

from taskrouter_flask import Assignment, Instruction, TaskRouter, accept
from taskrouter_flask.client import TaskRouterClient
from taskrouter_flask.sandbox import ManualClock
from taskrouter_flask.sandbox.clock import SystemClock
from taskrouter_flask.sandbox.journal import Journal
from taskrouter_flask.sandbox.server import Sandbox

if not __package__:  # run as a file (python benchmarks/bench_sandbox.py)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common
from benchmarks import bench_engine

__all__ = ["build_receiver", "main"]

#: Print one figure; this benchmark's labels are wider than the others'.
_row = functools.partial(common.row, widths=(40, 14))

ASSIGNMENT_PATH = "/taskrouter/assignment"
LIST_PAGE_SIZE = 50
#: Part 3: the tasks the two journaled sandboxes hold, the target ratio of their create
#: latencies, the events of the store a restart reads, and the restart's target.
STORE_SMALL = 1_000
STORE_LARGE = 10_000
CREATE_RATIO_TARGET = 1.5
RESTART_EVENTS = 100_000
RESTART_TARGET_S = 2.0
#: Part 4: the target p99 from a task's POST to the SDK's ``reservationCreated``, and how
#: long to wait for any one SDK line before giving up.
SDK_LATENCY_TARGET_MS = 50.0
SDK_WAIT_S = 10.0


@dataclass(frozen=True, slots=True)
class Plan(common.Plan):
    """The routing rounds' tasks, workers and time limit; the listing's workers and rounds."""

    tasks: int
    workers: int
    routing_cap: float
    list_workers: int
    list_rounds: int
    persist_rounds: int
    persist_batch: int
    restart_rounds: int
    sdk_workers: int
    sdk_tasks: int
    sdk_rounds: int
    sdk_cap: float
    compare_rounds: int
    compare_seconds: int


FULL = Plan(
    "full",
    rounds=7,
    tasks=300,
    workers=300,
    routing_cap=60.0,
    list_workers=1000,
    list_rounds=15,
    persist_rounds=7,
    persist_batch=100,
    restart_rounds=2,
    sdk_workers=50,
    sdk_tasks=200,
    sdk_rounds=3,
    sdk_cap=60.0,
    compare_rounds=5,
    compare_seconds=3,
)
QUICK = Plan(
    "quick",
    rounds=3,
    tasks=100,
    workers=100,
    routing_cap=30.0,
    list_workers=1000,
    list_rounds=7,
    persist_rounds=3,
    persist_batch=50,
    restart_rounds=1,
    sdk_workers=50,
    sdk_tasks=100,
    sdk_rounds=3,
    sdk_cap=30.0,
    compare_rounds=2,
    compare_seconds=1,
)


# -- servers -----------------------------------------------------------------------------


def build_receiver(auth_token: str) -> Flask:
    """The callback receiver: our extension, signatures checked, every assignment accepted."""
    app = Flask(__name__)
    app.config["TASKROUTER_AUTH_TOKEN"] = auth_token
    taskrouter = TaskRouter(app)

    @taskrouter.assignment()
    def take_everything(assignment: Assignment) -> Instruction:
        return accept()

    return app


# -- 1. routing throughput ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _RoutingRound:
    tasks: int
    create_seconds: float
    total_seconds: float
    latencies: list[float]

    @property
    def create_rate(self) -> float:
        return self.tasks / self.create_seconds

    @property
    def routed_rate(self) -> float:
        return self.tasks / self.total_seconds


def _assigned(client: TaskRouterClient, sids: set[str]) -> int:
    listed = client.tasks.list(assignment_status="assigned", page_size=1000)
    return sum(1 for task in listed if task.sid in sids)


def _latencies(sandbox: Sandbox, sids: set[str]) -> list[float]:
    """Seconds from ``task.created`` to ``reservation.accepted``, per task, from the engine."""
    events = sandbox.locked(lambda: list(sandbox.engine.events))
    created: dict[str, float] = {}
    accepted: dict[str, float] = {}
    for event in events:
        if event.type == "task.created" and event.resource_sid in sids:
            created[event.resource_sid] = event.timestamp.timestamp()
        elif event.type == "reservation.accepted":
            task_sid = event.fields.get("TaskSid", "")
            if task_sid in sids:
                accepted[task_sid] = event.timestamp.timestamp()
    return sorted(accepted[sid] - created[sid] for sid in accepted if sid in created)


def _routing_round(
    sandbox: Sandbox, client: TaskRouterClient, workflow_sid: str, n: int, cap: float
) -> _RoutingRound:
    gc.collect()
    start = time.perf_counter()
    sids = {
        client.tasks.create(workflow_sid=workflow_sid, attributes={"type": "bench", "n": i}).sid
        for i in range(n)
    }
    created = time.perf_counter()
    deadline = start + cap
    sandbox.drain(timeout=max(0.1, deadline - time.perf_counter()))
    done = _assigned(client, sids)
    while done < n:
        if time.perf_counter() > deadline:
            raise common.BenchmarkError(
                f"only {done} of {n} tasks were assigned within {cap:.0f} s"
            )
        time.sleep(0.01)
        done = _assigned(client, sids)
    finished = time.perf_counter()
    latencies = _latencies(sandbox, sids)
    for sid in sids:  # free the workers for the next round (not timed)
        client.tasks.update(sid, assignment_status="completed", reason="benchmark")
    return _RoutingRound(n, created - start, finished - start, latencies)


def run_routing(plan: Plan) -> None:
    """Part 1: tasks created and routed per second, accepted by a real callback receiver."""
    with (
        Sandbox() as sandbox,
        common.serve_in_thread(build_receiver(sandbox.auth_token), threaded=True) as port,
    ):
        callback_url = f"http://127.0.0.1:{port}{ASSIGNMENT_PATH}"
        with sandbox.client(timeout=10) as root:
            workspace = root.workspaces.create(friendly_name="Routing benchmark")
        with sandbox.client(workspace.sid, timeout=10) as client:
            available = next(iter(client.activities.list(friendly_name="Available"))).sid
            queue = client.task_queues.create(friendly_name="Everyone", target_workers="1==1")
            workflow = client.workflows.create(
                friendly_name="Accept all",
                configuration={"task_routing": {"default_filter": {"queue": queue.sid}}},
                assignment_callback_url=callback_url,
            )
            for i in range(plan.workers):
                client.workers.create(friendly_name=f"agent-{i}", activity_sid=available)
            # Warm-up, not counted; it also proves the receiver accepts signed callbacks.
            _routing_round(sandbox, client, workflow.sid, min(10, plan.tasks), plan.routing_cap)
            rounds = [
                _routing_round(sandbox, client, workflow.sid, plan.tasks, plan.routing_cap)
                for _ in range(plan.rounds)
            ]
            deliveries = list(sandbox.callbacks.deliveries)
    refused = [d for d in deliveries if not d.outcome.startswith("applied")]
    print(
        "1. Routing over HTTP: Sandbox (real clock) -> assignment callback -> Flask app with"
        " taskrouter_flask answering accept()\n"
        f"   {plan.tasks} tasks x {plan.rounds} rounds, created one by one through our client;"
        f" {plan.workers} single-tasking workers, one queue, no event callbacks"
    )
    create_rates = [r.create_rate for r in rounds]
    routed_rates = [r.routed_rate for r in rounds]
    _row(
        "tasks created",
        f"{statistics.median(create_rates):,.0f} /s",
        f"({common.spread(create_rates, '.0f')})",
    )
    _row(
        "tasks created and assigned",
        f"{statistics.median(routed_rates):,.0f} /s",
        f"({common.spread(routed_rates, '.0f')})",
    )
    lag = [r.total_seconds - r.create_seconds for r in rounds]
    _row("last create -> all assigned", f"{statistics.median(lag) * 1e3:,.0f} ms")
    latencies = sorted(value for r in rounds for value in r.latencies)
    if latencies:
        _row(
            "task.created -> reservation.accepted",
            f"p50 {common.percentile(latencies, 0.5) * 1e3:.1f} ms",
            f"p90 {common.percentile(latencies, 0.9) * 1e3:.1f} ms"
            f"  p99 {common.percentile(latencies, 0.99) * 1e3:.1f} ms  (n={len(latencies)})",
        )
    if refused:
        _row("assignment callbacks not applied", f"{len(refused)}", refused[0].outcome)


# -- 2. listing 1,000 workers: ours against twilio ---------------------------------------


def _twilio_workers(sandbox: Sandbox, workspace_sid: str) -> Callable[[], list[str]] | None:
    """List workers with the official library, its TaskRouter domain on the sandbox."""
    try:
        from twilio.rest import Client
    except ImportError:
        return None
    twilio = Client(sandbox.account_sid, sandbox.auth_token)
    # The domain object is created once and cached; its base_url is what every URI joins.
    twilio.taskrouter.base_url = sandbox.base_url
    workers = twilio.taskrouter.v1.workspaces(workspace_sid).workers

    def run() -> list[str]:
        return [worker.sid for worker in workers.list(page_size=LIST_PAGE_SIZE)]

    return run


def _plain_workers(sandbox: Sandbox, workspace_sid: str) -> Callable[[], list[str]]:
    """The floor: the same pages with plain requests and json, no models."""
    session = requests.Session()
    session.auth = (sandbox.account_sid, sandbox.auth_token)
    first = f"{sandbox.base_url}/v1/Workspaces/{workspace_sid}/Workers?PageSize={LIST_PAGE_SIZE}"

    def run() -> list[str]:
        sids: list[str] = []
        url: str | None = first
        while url:
            body: dict[str, Any] = session.get(url, timeout=10).json()
            sids.extend(worker["sid"] for worker in body["workers"])
            url = body["meta"]["next_page_url"]
        return sids

    return run


def _timed(run: Callable[[], list[str]], expected: int) -> float:
    gc.collect()
    start = time.perf_counter()
    sids = run()
    seconds = time.perf_counter() - start
    if len(sids) != expected:
        raise common.BenchmarkError(f"listed {len(sids)} workers, expected {expected}")
    return seconds


def run_listing(plan: Plan) -> None:
    """Part 2: our client against twilio's, listing the same workers from the same sandbox."""
    n = plan.list_workers
    with Sandbox() as sandbox:
        with sandbox.client(timeout=10) as root:
            workspace = root.workspaces.create(friendly_name="Listing benchmark").sid

        def populate() -> None:
            for i in range(n):
                sandbox.engine.create_worker(
                    workspace, friendly_name=f"agent-{i:04d}", attributes={"team": i % 7}
                )

        sandbox.locked(populate)  # setup straight into the engine, not timed
        ours_client = sandbox.client(workspace, timeout=10)

        def ours() -> list[str]:
            return [worker.sid for worker in ours_client.workers.list(page_size=LIST_PAGE_SIZE)]

        theirs = _twilio_workers(sandbox, workspace)
        plain = _plain_workers(sandbox, workspace)
        reference = sorted(plain())
        if sorted(ours()) != reference:
            raise common.BenchmarkError("our client listed other workers than the plain requests")
        pages = -(-n // LIST_PAGE_SIZE)
        print(
            f"2. Listing {n:,} workers from the sandbox, page size {LIST_PAGE_SIZE}"
            f" ({pages} requests per listing), {plan.list_rounds} interleaved rounds"
        )
        if theirs is None:
            print("   twilio is not installed (pip install -e '.[bench]'): only ours is timed")
            ours_s = [_timed(ours, n) for _ in range(plan.list_rounds)]
            _row("taskrouter_flask client", f"{statistics.median(ours_s) * 1e3:,.0f} ms")
            return
        if sorted(theirs()) != reference:
            raise common.BenchmarkError("twilio listed other workers than the plain requests")
        for run in (plain, ours, theirs):  # warm-up, not counted
            _timed(run, n)
        theirs_s, ours_s = common.interleave(
            plan.list_rounds, lambda: _timed(theirs, n), lambda: _timed(ours, n)
        )
        plain_s = [_timed(plain, n) for _ in range(plan.list_rounds)]
        ours_client.close()
    ratios = [o / t for o, t in zip(ours_s, theirs_s, strict=True)]
    for label, times in (
        ("twilio (baseline)", theirs_s),
        ("taskrouter_flask client", ours_s),
        ("plain requests + json (floor)", plain_s),
    ):
        median = statistics.median(times)
        _row(
            label,
            f"{median * 1e3:,.0f} ms",
            f"{n / median:,.0f} workers/s  ({common.spread(times, '.3f')} s)",
        )
    _row("time ratio ours/twilio", f"{statistics.median(ratios):.2f}", f"({common.spread(ratios)})")


# -- 3. persistence: create latency against the store's size, and restart ----------------


@dataclass(frozen=True, slots=True)
class _Filled:
    """A started sandbox, the workspace it holds, and a keep-alive session on it."""

    sandbox: Sandbox
    workspace_sid: str
    workflow_sid: str
    tasks_url: str
    session: requests.Session


def _filled(stack: contextlib.ExitStack, path: Path | None, tasks: int) -> _Filled:
    """A sandbox journaling to ``path`` (none if ``None``; real clock) with ``tasks`` pending tasks.

    The store is filled straight through the engine, in one transaction (the commands
    nest in it), so it is one journal commit rather than one per task; then served.
    """
    sandbox = Sandbox(data=path)
    stack.callback(sandbox.stop)
    engine = sandbox.engine

    def populate() -> tuple[str, str]:
        with engine.transaction():
            workspace = engine.create_workspace(friendly_name=f"Store of {tasks:,} tasks").sid
            queue = engine.create_task_queue(
                workspace, friendly_name="Backlog", target_workers="1==1"
            ).sid
            workflow = engine.create_workflow(
                workspace,
                friendly_name="To the backlog",
                configuration={"task_routing": {"default_filter": {"queue": queue}}},
            ).sid
            for index in range(tasks):
                engine.create_task(
                    workspace, workflow_sid=workflow, attributes={"type": "stored", "n": index}
                )
        return workspace, workflow

    workspace, workflow = sandbox.locked(populate)
    sandbox.start()
    session = requests.Session()
    stack.callback(session.close)
    session.auth = (sandbox.account_sid, sandbox.auth_token)
    url = f"{sandbox.base_url}/v1/Workspaces/{workspace}/Tasks"
    return _Filled(sandbox, workspace, workflow, url, session)


def _stored_tasks(side: _Filled) -> int:
    engine = side.sandbox.engine
    return side.sandbox.locked(
        lambda: sum(1 for t in engine.tasks.values() if t.workspace_sid == side.workspace_sid)
    )


def _create_batch(side: _Filled, n: int) -> list[float]:
    """Seconds of each of ``n`` task creations, sorted; the tasks are then deleted, untimed."""
    forms = [
        {"WorkflowSid": side.workflow_sid, "Attributes": f'{{"type": "bench", "n": {index}}}'}
        for index in range(n)
    ]
    seconds: list[float] = []
    created: list[str] = []
    gc.collect()
    for form in forms:
        start = time.perf_counter()
        response = side.session.post(side.tasks_url, data=form, timeout=10)
        seconds.append(time.perf_counter() - start)
        if response.status_code != 201:
            raise common.BenchmarkError(
                f"POST {side.tasks_url} answered {response.status_code}: {response.text[:200]}"
            )
        created.append(response.json()["sid"])
    engine = side.sandbox.engine

    def remove() -> None:
        with engine.transaction():
            for sid in created:
                engine.delete_task(side.workspace_sid, sid)

    side.sandbox.locked(remove)
    return sorted(seconds)


def _restart_store(path: Path) -> tuple[int, float, float]:
    """Route tasks to completion until the engine holds :data:`RESTART_EVENTS` events,
    then write a journal of it at once.

    :returns: the events stored, the seconds spent routing, and writing the journal.
    """
    gc.collect()
    began = time.perf_counter()
    # At the real time, so that a restart on the real clock finds its events retained.
    world = bench_engine.build(
        bench_engine.Size(tasks=0, workers=1_000), clock=ManualClock(SystemClock().now())
    )
    engine = world.engine
    setup_events = len(engine.events)
    routed = 0
    while len(engine.events) < RESTART_EVENTS:
        per_task = (len(engine.events) - setup_events) / routed if routed else 8.0
        missing = RESTART_EVENTS - len(engine.events)
        batch = max(1, min(1_000, math.ceil(missing / per_task)))
        bench_engine.route(world, batch)
        routed += batch
    routed_at = time.perf_counter()
    journal = Journal(path)
    try:
        journal.initialize(engine)
    finally:
        journal.close()
    return len(engine.events), routed_at - began, time.perf_counter() - routed_at


def _restart(path: Path, events: int) -> tuple[float, float]:
    """Seconds to construct ``Sandbox(data=path)``, and to ``Journal(path).load()`` alone."""
    gc.collect()
    start = time.perf_counter()
    sandbox = Sandbox(data=path)
    constructed = time.perf_counter() - start
    try:
        restored = len(sandbox.engine.events)
    finally:
        sandbox.stop()
    del sandbox
    if restored != events:
        raise common.BenchmarkError(f"the restarted sandbox holds {restored} of {events} events")
    journal = Journal(path)
    try:
        gc.collect()
        start = time.perf_counter()
        engine = journal.load()
        loaded = time.perf_counter() - start
    finally:
        journal.close()
    if len(engine.events) != events:
        raise common.BenchmarkError(f"Journal.load() gave {len(engine.events)} of {events} events")
    return constructed, loaded


def run_persistence(plan: Plan) -> None:
    """Part 3: create latency with 1,000 and 10,000 stored tasks; restart from 100k events."""
    batch = plan.persist_batch
    with tempfile.TemporaryDirectory() as directory, contextlib.ExitStack() as stack:
        began = time.perf_counter()
        small = _filled(stack, Path(directory) / "small.sqlite3", STORE_SMALL)
        large = _filled(stack, Path(directory) / "large.sqlite3", STORE_LARGE)
        memory = _filled(stack, None, STORE_SMALL)  # the reference: no journal
        filled = time.perf_counter() - began
        sides = (small, large, memory)
        for side in sides:  # warm-up, not counted
            _create_batch(side, min(10, batch))
        timed: tuple[list[list[float]], ...] = ([], [], [])
        for index in range(plan.persist_rounds):  # the order flips every round
            for position in range(3) if index % 2 == 0 else reversed(range(3)):
                timed[position].append(_create_batch(sides[position], batch))
        small_s, large_s, memory_s = timed
        counts = tuple(_stored_tasks(side) for side in sides)
        if counts != (STORE_SMALL, STORE_LARGE, STORE_SMALL):
            raise common.BenchmarkError(f"the stores hold {counts} tasks after the rounds")
        stack.close()  # stop the sandboxes before building the big store
        path = Path(directory) / "restart.sqlite3"
        events, routed_s, written_s = _restart_store(path)
        megabytes = path.stat().st_size / 1e6
        restarts = [_restart(path, events) for _ in range(plan.restart_rounds)]
    print(
        "3. Persistence: Sandbox(data=...) journaling every commit to SQLite (WAL, synced),"
        " real clock\n"
        f"   POST .../Tasks one at a time, keep-alive session, {batch} per store x"
        f" {plan.persist_rounds} interleaved rounds; tasks pending (no workers),"
        f" stores filled in {filled:.1f} s"
    )
    for label, rounds in (
        (f"create, {STORE_SMALL:,} tasks stored", small_s),
        (f"create, {STORE_LARGE:,} tasks stored", large_s),
        (f"create, {STORE_SMALL:,} tasks, no journal", memory_s),
    ):
        values = sorted(value for r in rounds for value in r)
        medians = [statistics.median(r) * 1e3 for r in rounds]
        _row(
            label,
            f"p50 {common.percentile(values, 0.5) * 1e3:.2f} ms",
            f"p90 {common.percentile(values, 0.9) * 1e3:.2f} ms"
            f"  p99 {common.percentile(values, 0.99) * 1e3:.2f} ms"
            f"  ({common.spread(medians)} ms)",
        )
    ratios = [
        statistics.median(big) / statistics.median(little)
        for little, big in zip(small_s, large_s, strict=True)
    ]
    ratio = statistics.median(ratios)
    _row(
        "create latency ratio 10k/1k",
        f"{ratio:.2f}x",
        common.target_note(
            ratio, "<=", CREATE_RATIO_TARGET, rounds=ratios if len(ratios) > 1 else None
        ),
    )
    journal_ratios = [
        statistics.median(journaled) / statistics.median(unjournaled)
        for journaled, unjournaled in zip(small_s, memory_s, strict=True)
    ]
    _row(
        "ratio journal/no journal, 1k",
        f"{statistics.median(journal_ratios):.2f}x",
        "(diagnostic, not a target)",
    )
    print(
        f"   Restart from {events:,} events ({megabytes:.0f} MB journal; routed in"
        f" {routed_s:.1f} s, journal written in {written_s:.1f} s), {plan.restart_rounds} round(s)"
    )
    constructed = [c for c, _ in restarts]
    loaded = [load for _, load in restarts]
    construct_s = statistics.median(constructed)
    _row(
        "Sandbox(data=...) constructed",
        f"{construct_s:.2f} s",
        common.target_note(
            construct_s,
            "<",
            RESTART_TARGET_S,
            "g",
            " s",
            rounds=constructed if len(constructed) > 1 else None,
        ),
    )
    _row(
        "Journal(path).load() alone",
        f"{statistics.median(loaded):.2f} s",
        f"({common.spread(loaded)} s)" if len(loaded) > 1 else "",
    )


# -- 4. worker SDK: task created -> reservationCreated in Twilio's SDK ------------------


@dataclass(frozen=True, slots=True)
class _SdkRound:
    """Milliseconds per task, each list sorted: from just before the POST to the SDK's
    ``reservationCreated``, the POST's own round trip, and to the engine's
    ``reservation.created``."""

    delivered: list[float]
    posted: list[float]
    routed: list[float]


@dataclass(frozen=True, slots=True)
class _SdkWorld:
    """A sandbox with connected SDK workers: where to create tasks, and how."""

    sandbox: Sandbox
    driver: Any  # tests.sandbox.sdk_driver.SdkDriver, imported only when node is there
    session: requests.Session
    tasks_url: str
    workflow_sid: str


def _sdk_driver_module() -> tuple[Any, str | None]:
    """``tests.sandbox.sdk_driver``, and why the SDK cannot run here (``None`` if it can)."""
    try:
        from tests.sandbox import sdk_driver
    except ImportError as exc:  # the benchmark runs outside the repository
        return None, f"tests/sandbox/sdk_driver.py cannot be imported ({exc})"
    return sdk_driver, sdk_driver.unavailable()


def _sdk_version(module: Any) -> str:
    try:
        manifest: dict[str, Any] = json.loads(module.SDK.read_text())
    except (OSError, ValueError):
        return "?"
    return str(manifest.get("version", "?"))


def _sdk_line(driver: Any, what: str, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The SDK's next line that ``wanted`` picks; a :class:`BenchmarkError` if none comes."""
    try:
        line: dict[str, Any] = driver.wait_until(wanted, SDK_WAIT_S, what)
    except AssertionError as exc:  # the driver's way of failing a test
        raise common.BenchmarkError(str(exc)) from exc
    return line


def _sdk_connect(stack: contextlib.ExitStack, plan: Plan, module: Any) -> _SdkWorld:
    """Start the sandbox, build the workspace, and connect every worker through the SDK."""
    key_sid = "SK" + secrets.token_hex(16)
    key_secret = secrets.token_urlsafe(32)
    sandbox = Sandbox(api_key_sid=key_sid, api_key_secret=key_secret)
    sandbox.start()
    stack.callback(sandbox.stop)
    with sandbox.client(timeout=10) as root:
        workspace = root.workspaces.create(friendly_name="SDK benchmark").sid
    with sandbox.client(workspace, timeout=10) as client:
        available = next(iter(client.activities.list(friendly_name="Available"))).sid
        queue = client.task_queues.create(friendly_name="Everyone", target_workers="1==1")
        workflow = client.workflows.create(  # no assignment callback: the SDK answers
            friendly_name="To everyone",
            configuration={"task_routing": {"default_filter": {"queue": queue.sid}}},
        ).sid
        workers = [
            client.workers.create(friendly_name=f"agent-{i:02d}").sid
            for i in range(plan.sdk_workers)
        ]
    driver = module.SdkDriver()
    stack.callback(driver.close)
    options = {**sandbox.sdk_servers, "connectActivitySid": available}
    for index, worker in enumerate(workers):
        token = sandbox.worker_token(workspace, worker)
        driver.send("connect", name=f"w{index}", token=token, options=options)
    waiting = {f"w{index}" for index in range(len(workers))}
    while waiting:
        line = _sdk_line(
            driver,
            f"ready for {len(waiting)} workers",
            lambda line: line.get("event") == "ready" and line.get("name") in waiting,
        )
        waiting.discard(line["name"])
    # The SDK may say ready before its connect activity lands: wait until all are Available.
    engine = sandbox.engine
    deadline = time.monotonic() + SDK_WAIT_S
    while True:
        idle = sandbox.locked(
            lambda: sum(1 for sid in workers if engine.workers[sid].activity_sid == available)
        )
        if idle == len(workers):
            break
        if time.monotonic() > deadline:
            raise common.BenchmarkError(f"only {idle} of {len(workers)} SDK workers are Available")
        time.sleep(0.01)
    session = requests.Session()
    stack.callback(session.close)
    session.auth = (sandbox.account_sid, sandbox.auth_token)
    tasks_url = f"{sandbox.base_url}/v1/Workspaces/{workspace}/Tasks"
    return _SdkWorld(sandbox, driver, session, tasks_url, workflow)


def _sdk_task(world: _SdkWorld, index: int) -> tuple[str, float, float, float]:
    """Create one task and wait for its ``reservationCreated``; then cancel it, untimed.

    :returns: the task's SID, the wall clock in ms just before the POST, the ms until
        the SDK's line, and the ms of the POST's round trip.
    """
    form = {"WorkflowSid": world.workflow_sid, "Attributes": f'{{"type": "sdk", "n": {index}}}'}
    started = time.time()
    response = world.session.post(world.tasks_url, data=form, timeout=10)
    answered = time.time()
    if response.status_code != 201:
        raise common.BenchmarkError(
            f"POST {world.tasks_url} answered {response.status_code}: {response.text[:200]}"
        )
    sid: str = response.json()["sid"]
    line = _sdk_line(
        world.driver,
        f"reservationCreated for {sid}",
        lambda line: line.get("event") == "reservationCreated" and line.get("task") == sid,
    )
    started_ms = started * 1e3
    delivered = float(line["at"]) - started_ms
    # Free the worker: cancel the task, and wait until its SDK heard so.
    canceled = world.session.post(
        f"{world.tasks_url}/{sid}",
        data={"AssignmentStatus": "canceled", "Reason": "benchmark"},
        timeout=10,
    )
    if canceled.status_code != 200:
        raise common.BenchmarkError(
            f"canceling {sid} answered {canceled.status_code}: {canceled.text[:200]}"
        )
    reservation = line["reservation"]
    _sdk_line(
        world.driver,
        f"reservation.canceled for {reservation}",
        lambda line: (
            line.get("event") == "reservation.canceled" and line.get("reservation") == reservation
        ),
    )
    return sid, started_ms, delivered, (answered - started) * 1e3


def _sdk_round(world: _SdkWorld, n: int, deadline: float) -> _SdkRound:
    """Up to ``n`` tasks, one at a time, fewer if the ``deadline`` (monotonic) passes."""
    world.driver.seen.clear()  # lines nobody waited for (none are expected) from before
    gc.collect()
    started: dict[str, float] = {}
    delivered: list[float] = []
    posted: list[float] = []
    for index in range(n):
        if time.monotonic() > deadline:
            break
        sid, started_ms, to_sdk, round_trip = _sdk_task(world, index)
        started[sid] = started_ms
        delivered.append(to_sdk)
        posted.append(round_trip)
    events = world.sandbox.locked(lambda: list(world.sandbox.engine.events))
    routed = [
        event.timestamp.timestamp() * 1e3 - started[task]
        for event in events
        if event.type == "reservation.created"
        and (task := event.fields.get("TaskSid", "")) in started
    ]
    return _SdkRound(sorted(delivered), sorted(posted), sorted(routed))


def _ms_row(label: str, values: Sequence[float], note: str = "") -> None:
    """``p50 .. ms``, then p99 and max and the count, and ``note``."""
    _row(
        label,
        f"p50 {common.percentile(values, 0.5):.1f} ms",
        f"p99 {common.percentile(values, 0.99):.1f} ms  max {max(values):.1f} ms"
        f"  (n={len(values)}){'  ' + note if note else ''}",
    )


def run_sdk(plan: Plan) -> None:
    """Part 4: a task's POST to ``reservationCreated`` in the SDK, 50 workers connected."""
    title = "4. Worker SDK: task POST -> reservationCreated in Twilio's worker SDK, real clock"
    module, reason = _sdk_driver_module()
    if reason is not None:
        print(f"{title}\n   skipped: {reason}")
        return
    with contextlib.ExitStack() as stack:
        began = time.monotonic()
        world = _sdk_connect(stack, plan, module)
        connected = time.monotonic() - began
        deadline = time.monotonic() + plan.sdk_cap
        _sdk_round(world, min(10, plan.sdk_tasks), deadline)  # warm-up, not counted
        rounds: list[_SdkRound] = []
        for _ in range(plan.sdk_rounds):
            measured = _sdk_round(world, plan.sdk_tasks, deadline)
            if measured.delivered:
                rounds.append(measured)
            if len(measured.delivered) < plan.sdk_tasks:
                break  # out of time
    if not rounds:
        raise common.BenchmarkError(f"no SDK task was measured within {plan.sdk_cap:.0f} s")
    measured_tasks = sum(len(r.delivered) for r in rounds)
    print(
        f"{title}\n"
        f"   twilio-taskrouter {_sdk_version(module)} in one node process, {plan.sdk_workers}"
        f" workers connected (in {connected:.1f} s), one queue, no assignment callback;"
        f" {measured_tasks} tasks in {len(rounds)} round(s) of up to {plan.sdk_tasks}, one at"
        " a time, each canceled through REST (untimed) before the next"
    )
    delivered = sorted(v for r in rounds for v in r.delivered)
    p99 = common.percentile(delivered, 0.99)
    _ms_row(
        "POST -> SDK reservationCreated",
        delivered,
        common.target_note(p99, "<", SDK_LATENCY_TARGET_MS, "g", " ms"),
    )
    _ms_row("POST round trip alone (baseline)", sorted(v for r in rounds for v in r.posted))
    routed = sorted(v for r in rounds for v in r.routed)
    if routed:
        _ms_row("POST -> engine reservation.created", routed, "(diagnostic)")
    ratios = [
        statistics.median(r.delivered) / statistics.median(r.posted)
        for r in rounds
        if statistics.median(r.posted) > 0
    ]
    if ratios:
        _row(
            "p50 ratio SDK line / POST round trip",
            f"{statistics.median(ratios):.2f}x",
            f"({common.spread(ratios)})" if len(ratios) > 1 else "",
        )


# -- 5. side by side with Prism, a stateless mock of Twilio's OpenAPI description -------

#: Part 5: Stoplight's Prism, pinned. 5.14.2 is its last release that runs on node 18 to
#: 22; 5.15.10 and later declare node >= 24.14.
PRISM_PACKAGE = "@stoplight/prism-cli"
PRISM_VERSION = "5.14.2"
PRISM_NODE = (18, 20, 1)
#: Twilio's TaskRouter v1 OpenAPI description, in the shared folder beside the repository.
DEFAULT_SPEC = common.PROJECT_ROOT.parent / "shared" / "spec" / "twilio_taskrouter_v1.json"
COMPARE_WORKERS = 100
#: (connections, wrk threads): one client alone, then 16 (two threads on a 2-core machine).
COMPARE_LOADS = ((1, 1), (16, 2))
#: The issue's bar: p99 below Prism's at this many connections, on every request.
P99_CONNECTIONS = 16

_COMPARE_SCRIPT = """\
-- Written by benchmarks/bench_sandbox.py (part 5): one request, sent again and again.
wrk.method = "{method}"
wrk.headers["Authorization"] = "{authorization}"
{body}
""" + common.WRK_DONE_HOOK.replace("{", "{{").replace("}", "}}")


@dataclass(frozen=True, slots=True)
class _Request:
    """One of the three requests both servers are sent, and its throughput target."""

    name: str
    method: str
    path: str  # with its query
    form: str  # the urlencoded body, empty for a GET
    status: int  # the answer expected
    target: float  # sandbox/Prism throughput, at least


_WrkRun = common.WrkFigures


@dataclass(frozen=True, slots=True)
class _Prism:
    """How to run the installed Prism: node and its version, Prism's entry script and version."""

    node: str
    node_version: str
    script: Path
    version: str


def _cache_dir() -> Path:
    """``$XDG_CACHE_HOME/taskrouter_flask`` (``~/.cache/taskrouter_flask`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "taskrouter_flask"


def _load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown (no /proc/loadavg)"


def _node_version(node: str) -> tuple[int, ...] | None:
    result = subprocess.run(
        [node, "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    found = re.match(r"v(\d+)\.(\d+)\.(\d+)", result.stdout.strip())
    return tuple(int(part) for part in found.groups()) if found else None


def _installed_prism(prefix: Path) -> tuple[str, Path] | None:
    """The version and entry script of the Prism under ``prefix``, if one is there."""
    manifest = prefix / "node_modules" / "@stoplight" / "prism-cli" / "package.json"
    try:
        package: dict[str, Any] = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return None
    entry = package.get("bin", {}).get("prism") if isinstance(package.get("bin"), dict) else None
    if not isinstance(entry, str):
        return None
    return str(package.get("version", "?")), manifest.parent / entry


def _prism(cache: Path) -> tuple[_Prism | None, str]:
    """Prism, installed with npm into ``cache`` if it is not there yet; else why not.

    :returns: the Prism to run (or ``None``) and a sentence: how it was found or
        installed, or why it cannot run.
    """
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        return None, "npm and node are needed to install Prism (apt-get install npm)"
    node_version = _node_version(node)
    if node_version is None or node_version < PRISM_NODE:
        wanted = ".".join(map(str, PRISM_NODE))
        return None, f"{PRISM_PACKAGE} {PRISM_VERSION} needs node >= {wanted}"
    prefix = cache / f"prism-cli-{PRISM_VERSION}"
    installed = _installed_prism(prefix)
    how = f"found in {prefix}"
    if installed is None or installed[0] != PRISM_VERSION:
        prefix.mkdir(parents=True, exist_ok=True)
        print(f"   installing {PRISM_PACKAGE}@{PRISM_VERSION} with npm into {prefix}", flush=True)
        began = time.monotonic()
        command = [
            npm,
            "install",
            f"--prefix={prefix}",
            "--save-exact",
            "--no-audit",
            "--no-fund",
            "--loglevel=error",
            f"{PRISM_PACKAGE}@{PRISM_VERSION}",
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=600, check=False
            )
        except subprocess.TimeoutExpired:
            return None, "npm install did not finish within 600 s"
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip()[-400:]
            return None, f"npm install failed (exit {result.returncode}): {tail}"
        installed = _installed_prism(prefix)
        if installed is None:
            return None, f"npm install left no {PRISM_PACKAGE} in {prefix}"
        how = f"installed by npm into {prefix} in {time.monotonic() - began:.0f} s"
    version, script = installed
    return _Prism(node, ".".join(map(str, node_version)), script, version), how


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


@contextlib.contextmanager
def _prism_server(prism: _Prism, spec: Path, log_dir: Path, level: str) -> Iterator[int]:
    """``prism mock <spec>`` on a free port of 127.0.0.1, waited for, then stopped; its port."""
    port = _free_port()
    log = log_dir / "prism.log"
    command = [
        prism.node,
        str(prism.script),
        "mock",
        str(spec),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        f"--verboseLevel={level}",
    ]
    with log.open("ab") as output:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        common.wait_until_serving(port, process, log, timeout=90.0)
        yield port
    finally:
        common.stop_process(process)


def _lua_script(path: Path, request: _Request, authorization: str) -> Path:
    body = ""
    if request.form:
        body = (
            f"wrk.body = [==[{request.form}]==]\n"
            'wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"\n'
        )
    path.write_text(
        _COMPARE_SCRIPT.format(method=request.method, authorization=authorization, body=body)
    )
    return path


def _wrk_run(
    binary: str, script: Path, url: str, connections: int, threads: int, seconds: int
) -> _WrkRun:
    """One wrk run; its own figures come from the script's ``done`` (whole microseconds)."""
    return common.run_wrk(
        binary, script, url, connections=connections, threads=threads, seconds=seconds
    )


def _answer(base: str, request: _Request, authorization: str) -> str:
    """Send ``request`` once; check its status; describe the answer (size, items listed)."""
    response = requests.request(
        request.method,
        base + request.path,
        data=request.form or None,
        headers={
            "Authorization": authorization,
            **({"Content-Type": "application/x-www-form-urlencoded"} if request.form else {}),
        },
        timeout=10,
    )
    if response.status_code != request.status:
        raise common.BenchmarkError(
            f"{request.method} {base}{request.path} answered {response.status_code},"
            f" not {request.status}: {response.text[:300]}"
        )
    body: dict[str, Any] = response.json()
    listed = body.get("workers")
    items = ""
    if isinstance(listed, list):
        items = f", {len(listed)} worker{'' if len(listed) == 1 else 's'}"
    return f"{len(response.content):,} B{items}"


def _compare_world(sandbox: Sandbox) -> tuple[list[_Request], str]:
    """Build the sandbox's workspace; the three requests, and the Authorization header."""
    with sandbox.client(timeout=10) as root:
        workspace = root.workspaces.create(friendly_name="Prism comparison").sid
    with sandbox.client(workspace, timeout=10) as client:
        available = next(iter(client.activities.list(friendly_name="Available"))).sid
        queue = client.task_queues.create(friendly_name="Everyone", target_workers="1==1")
        workflow = client.workflows.create(  # no assignment callback: reservations wait
            friendly_name="To everyone",
            configuration={"task_routing": {"default_filter": {"queue": queue.sid}}},
        ).sid
        workers = [
            client.workers.create(friendly_name=f"agent-{i:03d}", activity_sid=available).sid
            for i in range(COMPARE_WORKERS)
        ]
    prefix = f"/v1/Workspaces/{workspace}"
    form = urllib.parse.urlencode(
        {"WorkflowSid": workflow, "Attributes": json.dumps({"type": "bench", "channel": "voice"})}
    )
    credentials = f"{sandbox.account_sid}:{sandbox.auth_token}".encode()
    authorization = "Basic " + base64.b64encode(credentials).decode()
    return [
        _Request("GET one worker", "GET", f"{prefix}/Workers/{workers[0]}", "", 200, 1.5),
        _Request(
            f"GET workers PageSize={LIST_PAGE_SIZE}",
            "GET",
            f"{prefix}/Workers?PageSize={LIST_PAGE_SIZE}",
            "",
            200,
            1.0,
        ),
        _Request("POST create task", "POST", f"{prefix}/Tasks", form, 201, 1.5),
    ], authorization


def _cell_rows(
    request: _Request, connections: int, ours: list[_WrkRun], theirs: list[_WrkRun]
) -> list[bool]:
    """Print one cell's throughput and latency; return whether each of its targets is met."""
    ratios = [o.rate / t.rate for o, t in zip(ours, theirs, strict=True)]
    ratio = statistics.median(ratios)
    _row(
        f"{request.name}, c={connections}",
        f"{ratio:.2f}x",
        f"sandbox {statistics.median(o.rate for o in ours):,.0f} vs Prism"
        f" {statistics.median(t.rate for t in theirs):,.0f} req/s; "
        + common.target_note(ratio, ">=", request.target, ".1f", "x", rounds=ratios),
    )
    met = [ratio >= request.target]
    p50 = statistics.median(o.p50_ms for o in ours), statistics.median(t.p50_ms for t in theirs)
    p99 = statistics.median(o.p99_ms for o in ours), statistics.median(t.p99_ms for t in theirs)
    note = f"p50 {p50[0]:.2f} vs {p50[1]:.2f} ms"
    if connections == P99_CONNECTIONS:
        note += f"; p99 target < Prism's: {'met' if p99[0] < p99[1] else 'NOT met'}"
        met.append(p99[0] < p99[1])
    _row("  p99 sandbox vs Prism", f"{p99[0]:.2f}/{p99[1]:.2f} ms", note)
    troubles = [
        f"{side}: {sum(r.non_2xx for r in runs)} answers not 2xx,"
        f" {sum(r.socket_errors for r in runs)} socket errors"
        for side, runs in (("sandbox", ours), ("Prism", theirs))
        if any(r.non_2xx or r.socket_errors for r in runs)
    ]
    if troubles:
        _row("  (wrk errors)", "", "; ".join(troubles))
    return met


def run_prism(plan: Plan, spec: Path, cache: Path, log_level: str) -> None:
    """Part 5: the same three requests to the sandbox and to Prism under wrk, interleaved."""
    print(
        "5. Side by side with Prism: the sandbox against Stoplight's Prism mocking Twilio's"
        " TaskRouter v1 OpenAPI description",
        flush=True,
    )
    wrk = shutil.which("wrk")
    if wrk is None:
        print("   skipped: wrk is not installed (apt-get install wrk)")
        return
    if not spec.is_file():
        print(f"   skipped: no OpenAPI description at {spec} (--spec PATH)")
        return
    prism, how = _prism(cache)
    if prism is None:
        print(f"   skipped: {how}")
        return
    wrk_version = subprocess.run(
        [wrk, "-v"], capture_output=True, text=True, timeout=10, check=False
    ).stdout.split(" [")[0]
    load_before = _load_average()
    began = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="bench-prism-") as temp,
        Sandbox() as sandbox,
        _prism_server(prism, spec, Path(temp), log_level) as prism_port,
    ):
        work = Path(temp)
        request_list, authorization = _compare_world(sandbox)
        bases = {"sandbox": sandbox.base_url, "Prism": f"http://127.0.0.1:{prism_port}"}
        answers = {
            (side, request.name): _answer(base, request, authorization)
            for request in request_list
            for side, base in bases.items()
        }
        scripts = [
            _lua_script(work / f"request{index}.lua", request, authorization)
            for index, request in enumerate(request_list)
        ]

        def run(side: str, index: int, load: tuple[int, int], seconds: int) -> _WrkRun:
            url = bases[side] + request_list[index].path
            return _wrk_run(wrk, scripts[index], url, load[0], load[1], seconds)

        cells = [(index, load) for index in range(len(request_list)) for load in COMPARE_LOADS]
        for index, _ in enumerate(request_list):  # warm-up (node's JIT too), not counted
            for side in bases:
                run(side, index, COMPARE_LOADS[-1], 1)
        results: dict[tuple[int, tuple[int, int]], dict[str, list[_WrkRun]]] = {
            cell: {side: [] for side in bases} for cell in cells
        }
        for round_index in range(plan.compare_rounds):
            order = ("sandbox", "Prism") if round_index % 2 == 0 else ("Prism", "sandbox")
            for index, load in cells:
                for side in order:
                    results[index, load][side].append(run(side, index, load, plan.compare_seconds))
        tasks = sandbox.locked(lambda: len(sandbox.engine.tasks))
    elapsed = time.monotonic() - began
    load_after = _load_average()
    print(
        f"   {PRISM_PACKAGE} {prism.version} ({how}); node {prism.node_version};"
        f" prism mock <spec> --verboseLevel={log_level}; spec {spec.name}\n"
        f"   {wrk_version}, keep-alive, {plan.compare_seconds} s per run, {plan.compare_rounds}"
        " interleaved rounds (each cell runs both servers back to back, the order flipping"
        " each round); 1 connection (1 thread) and 16 (2 threads)\n"
        f"   sandbox: real clock, one workspace, {COMPARE_WORKERS} Available workers, one"
        " queue, a workflow without a callback; both sent the same paths, SIDs, form and"
        " basic auth"
    )
    for request in request_list:
        _row(
            f"  answer: {request.name}",
            f"{request.status}",
            f"sandbox {answers['sandbox', request.name]}; Prism {answers['Prism', request.name]}",
        )
    print(f"   load average before: {load_before}")
    met: list[bool] = []
    for index, load in cells:
        cell = results[index, load]
        met.extend(_cell_rows(request_list[index], load[0], cell["sandbox"], cell["Prism"]))
    print(
        f"   load average after: {load_after}; {tasks:,} tasks in the sandbox at the end"
        f" (the POSTs'); {elapsed:.0f} s"
    )
    _row("targets met", f"{sum(met)} of {len(met)}")


# -- main -------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common.argument_parser(
        "bench_sandbox",
        "Benchmark the sandbox over HTTP: routing throughput with a real callback"
        " receiver, our client against twilio's listing 1,000 workers, and persistence"
        " (create latency with 1,000 and 10,000 stored tasks, restart from 100,000 events),"
        " a task's delivery to Twilio's worker SDK with 50 workers connected, and the same"
        " three requests under wrk against Stoplight's Prism mocking Twilio's OpenAPI"
        " description. Prints figures; asserts nothing about timings.",
        quick="a ~10 s run with less work",
        rounds="rounds of each part (default 7, 15, 7 and 2 restarts, 3 SDK rounds, 5 Prism"
        " rounds; quick 3, 7, 3, 1, 3 and 2)",
    )
    parser.add_argument(
        "--tasks", type=int, help="tasks per routing round (default 300, quick 100)"
    )
    parser.add_argument(
        "--spec",
        type=Path,
        default=DEFAULT_SPEC,
        help="Twilio's TaskRouter v1 OpenAPI description, for Prism (default: %(default)s)",
    )
    parser.add_argument(
        "--prism-cache",
        type=Path,
        default=_cache_dir(),
        help=f"where npm installs {PRISM_PACKAGE} {PRISM_VERSION} (default: %(default)s)",
    )
    parser.add_argument(
        "--prism-log",
        choices=("trace", "debug", "info", "warn", "error", "fatal", "silent"),
        default="warn",
        help="Prism's --verboseLevel (default %(default)s; info logs every request)",
    )
    common.add_only(parser, ("routing", "listing", "persistence", "sdk", "prism"))
    return common.parse_args(parser, argv, positive=("rounds", "tasks"))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks and print their figures; return the exit status."""
    args = _parse_args(argv)
    common.stop_on_sigterm()  # so that the sandboxes and servers stop
    # A failed callback is logged by the sandbox; the figures are what this prints.
    logging.getLogger("taskrouter_flask").setLevel(logging.ERROR)
    plan = common.choose_plan(args, QUICK, FULL)
    if args.rounds is not None:
        plan = replace(
            plan,
            list_rounds=args.rounds,
            persist_rounds=args.rounds,
            restart_rounds=args.rounds,
            sdk_rounds=args.rounds,
            compare_rounds=args.rounds,
        )
    if args.tasks is not None:
        plan = replace(plan, tasks=args.tasks, workers=max(plan.workers, args.tasks))
    common.print_header(
        "sandbox benchmarks",
        plan.name,
        f"{plan.rounds} routing, {plan.list_rounds} listing, {plan.persist_rounds}"
        f" persistence, {plan.sdk_rounds} SDK and {plan.compare_rounds} Prism rounds",
        ("Flask", "Werkzeug", "requests", "twilio"),
    )
    parts: dict[str, Callable[[], None]] = {
        "routing": lambda: run_routing(plan),
        "listing": lambda: run_listing(plan),
        "persistence": lambda: run_persistence(plan),
        "sdk": lambda: run_sdk(plan),
        "prism": lambda: run_prism(plan, args.spec, args.prism_cache, args.prism_log),
    }
    return common.run_parts(parts, args.only)


if __name__ == "__main__":
    raise SystemExit(main())
