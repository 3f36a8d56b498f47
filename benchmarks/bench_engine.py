"""Benchmark the sandbox engine: route many tasks over many workers to completion.

One run builds a workspace with 20 queues (``target_workers`` ``queue == i``),
a workflow with one filter per queue (``queue == i`` on the task), and N
Available workers whose ``queue`` attribute spreads them evenly over the
queues. It then creates all the tasks at once (each reaches its queue and the
first ones are reserved immediately), and drives them to completion: an
engine listener puts every ``reservation.created`` into a deque, and the
driver accepts that reservation and completes its task, which frees the
worker and makes the engine reserve the next waiting task for them. Nothing
rescans the engine's tables. Time is a :class:`ManualClock` that never moves,
so no timer fires: what is measured is routing.

The run is done for 10,000 tasks over 1,000 workers and 20,000 over 2,000,
alternating which goes first each round; figures are medians of rounds. The
targets: the 10k run under 5 s, and doubling the size costing at most 2.2x
(routing should be linear in the number of tasks). As diagnostics, not
targets, each run also reports the time spent in the cyclic garbage collector
(through :data:`gc.callbacks`; the engine keeps every event, so it has more to
scan as runs grow) and its CPU time, which other load on the machine disturbs
less than the wall clock. Finally a 10k run is repeated and its finished engine
saved and loaded with :mod:`taskrouter_flask.sandbox.snapshot`.

Run ``python -m benchmarks.bench_engine`` (5 rounds, about 40 s) or add ``--quick`` (1 round);
``--profile`` prints a cProfile of one 10k run instead. Nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import statistics
import sys
import tempfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from taskrouter_flask.sandbox import Engine, ManualClock
from taskrouter_flask.sandbox import snapshot as sandbox_snapshot
from taskrouter_flask.sandbox.state import EventRecord, TaskStatus
from taskrouter_flask.workflow import Filter, Target, WorkflowConfiguration

if not __package__:  # run as a file (python benchmarks/bench_engine.py)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common

__all__ = ["Size", "World", "build", "main", "route"]

QUEUES = 20
SMALL_TARGET_S = 5.0
RATIO_TARGET = 2.2


@dataclass(frozen=True, slots=True)
class Size:
    """How many tasks go over how many workers."""

    tasks: int
    workers: int

    @property
    def label(self) -> str:
        return f"{self.tasks:,} tasks / {self.workers:,} workers"


SMALL = Size(tasks=10_000, workers=1_000)
LARGE = Size(tasks=20_000, workers=2_000)


FULL = common.Plan("full", rounds=5)
QUICK = common.Plan("quick", rounds=1)


@dataclass(slots=True)
class World:
    """An engine set up for a run, and what the driver needs to know about it."""

    engine: Engine
    workspace_sid: str
    workflow_sid: str
    setup_s: float


@dataclass(frozen=True, slots=True)
class RunResult:
    """The seconds each phase of one run took."""

    setup_s: float
    create_s: float
    drain_s: float
    gc_s: float
    cpu_s: float
    events: int

    @property
    def route_s(self) -> float:
        """Creating the tasks and driving them to completion: the measured figure."""
        return self.create_s + self.drain_s

    @property
    def engine_s(self) -> float:
        """The routing time less the garbage collector's share (a diagnostic, not a target)."""
        return self.route_s - self.gc_s


class _GcClock:
    """Adds up the time the cyclic garbage collector runs, through :data:`gc.callbacks`."""

    def __init__(self) -> None:
        self.total = 0.0
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.total += time.perf_counter() - self._started

    def __enter__(self) -> _GcClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        gc.callbacks.remove(self)


# -- one run ----------------------------------------------------------------------------


def build(size: Size, clock: ManualClock | None = None) -> World:
    """A workspace with 20 queues, a workflow with one filter per queue, and the workers.

    ``clock``: the engine's (a new :class:`ManualClock` by default).
    """
    began = time.perf_counter()
    engine = Engine(clock or ManualClock())
    ws = engine.create_workspace(friendly_name="Benchmark").sid
    available = next(
        a.sid
        for a in engine.activities.values()
        if a.workspace_sid == ws and a.friendly_name == "Available"
    )
    queues = [
        engine.create_task_queue(
            ws, friendly_name=f"Queue {index}", target_workers=f"queue == {index}"
        ).sid
        for index in range(QUEUES)
    ]
    configuration = WorkflowConfiguration(
        filters=tuple(
            Filter(
                expression=f"queue == {index}",
                targets=(Target(queue=queue_sid),),
                friendly_name=f"Queue {index}",
            )
            for index, queue_sid in enumerate(queues)
        ),
        default_filter=Target(queue=queues[0]),
    )
    workflow = engine.create_workflow(ws, friendly_name="Spread", configuration=configuration).sid
    for index in range(size.workers):
        engine.create_worker(
            ws,
            friendly_name=f"worker-{index}",
            activity_sid=available,
            attributes={"queue": index % QUEUES, "level": index % 7},
        )
    return World(engine, ws, workflow, time.perf_counter() - began)


def route(world: World, tasks: int) -> tuple[float, float]:
    """Create ``tasks`` tasks, then accept and complete every reservation the engine makes.

    :returns: the seconds spent creating the tasks, and draining them to completion.
    """
    engine, ws = world.engine, world.workspace_sid
    offered: deque[tuple[str, str]] = deque()

    def collect(event: EventRecord) -> None:
        if event.type == "reservation.created":
            assert event.task is not None
            offered.append((event.resource_sid, event.task.sid))

    engine.listeners.append(collect)
    began = time.perf_counter()
    for index in range(tasks):
        engine.create_task(
            ws,
            workflow_sid=world.workflow_sid,
            attributes={"queue": index % QUEUES, "customer": f"c{index}"},
        )
    created = time.perf_counter()
    completed = 0
    while offered:
        reservation_sid, task_sid = offered.popleft()
        engine.update_reservation(ws, reservation_sid, reservation_status="accepted")
        engine.update_task(ws, task_sid, assignment_status="completed")
        completed += 1
    drained = time.perf_counter()
    engine.listeners.remove(collect)
    if completed != tasks:
        raise common.BenchmarkError(f"{completed} of {tasks} tasks were reserved and completed")
    open_tasks = sum(1 for t in engine.tasks.values() if t.status is not TaskStatus.COMPLETED)
    if open_tasks:
        raise common.BenchmarkError(f"{open_tasks} tasks are not completed after the drain")
    return created - began, drained - created


def run_once(size: Size) -> tuple[RunResult, World]:
    gc.collect()
    world = build(size)
    cpu = time.process_time()
    with _GcClock() as collector:
        create_s, drain_s = route(world, size.tasks)
    cpu_s = time.process_time() - cpu
    result = RunResult(
        world.setup_s, create_s, drain_s, collector.total, cpu_s, len(world.engine.events)
    )
    return result, world


# -- statistics and printing ------------------------------------------------------------


def _median(results: Sequence[RunResult], attribute: str) -> float:
    return statistics.median(float(getattr(r, attribute)) for r in results)


def run_routing(plan: common.Plan) -> None:
    """Both sizes, alternating; print per-phase medians, the targets and the ratio."""
    # Only one engine alive at a time: a kept one would slow the garbage collector.
    small, large = common.interleave(
        plan.rounds, lambda: run_once(SMALL)[0], lambda: run_once(LARGE)[0]
    )
    results = {SMALL: small, LARGE: large}
    print(
        f"1. Routing to completion: {QUEUES} queues, one workflow filter per queue,"
        " all workers Available;\n   all tasks created first, then each reservation"
        f" accepted and its task completed ({plan.rounds} round(s))"
    )
    for size in (SMALL, LARGE):
        runs = results[size]
        print(f"   {size.label}:")
        common.row("  setup (workspace, queues, workers)", f"{_median(runs, 'setup_s'):.2f} s")
        common.row("  create tasks (routing on arrival)", f"{_median(runs, 'create_s'):.2f} s")
        common.row("  accept + complete (re-routing)", f"{_median(runs, 'drain_s'):.2f} s")
        route_s = _median(runs, "route_s")
        route_times = [r.route_s for r in runs] if len(runs) > 1 else None
        if size is SMALL:
            note = common.target_note(route_s, "<", SMALL_TARGET_S, ".0f", " s", rounds=route_times)
        else:
            note = f"({common.spread(route_times)})" if route_times else ""
        common.row("  routing total", f"{route_s:.2f} s", note)
        common.row("  of which garbage collector", f"{_median(runs, 'gc_s'):.2f} s")
        common.row("  routing CPU time (this process)", f"{_median(runs, 'cpu_s'):.2f} s")
        common.row("  per task", f"{route_s / size.tasks * 1e6:.0f} us")
        common.row("  events recorded", f"{runs[0].events:,}")
    ratios = [
        large.route_s / small.route_s
        for small, large in zip(results[SMALL], results[LARGE], strict=True)
    ]
    ratio = statistics.median(ratios)
    note = common.target_note(ratio, "<=", RATIO_TARGET, rounds=ratios if len(ratios) > 1 else None)
    common.row("ratio 20k/10k routing time", f"{ratio:.2f}x", note)
    engine_ratio = _median(results[LARGE], "engine_s") / _median(results[SMALL], "engine_s")
    common.row("ratio 20k/10k less GC time", f"{engine_ratio:.2f}x", "(diagnostic, not a target)")
    cpu_ratio = _median(results[LARGE], "cpu_s") / _median(results[SMALL], "cpu_s")
    common.row(
        "ratio 20k/10k CPU time", f"{cpu_ratio:.2f}x", "(diagnostic: less noise from other load)"
    )
    setup_ratio = _median(results[LARGE], "setup_s") / _median(results[SMALL], "setup_s")
    common.row("ratio 20k/10k setup time", f"{setup_ratio:.2f}x", "(not a target)")


def run_snapshot() -> None:
    """Route 10k tasks once more, then save the finished engine and load it back."""
    engine = run_once(SMALL)[1].engine
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "sandbox.sqlite3"
        gc.collect()
        began = time.perf_counter()
        sandbox_snapshot.save(engine, path)
        saved = time.perf_counter()
        loaded = sandbox_snapshot.load(path)
        done = time.perf_counter()
        megabytes = path.stat().st_size / 1e6
    if len(loaded.events) != len(engine.events) or list(loaded.tasks) != list(engine.tasks):
        raise common.BenchmarkError("the loaded snapshot does not hold the saved engine")
    print(
        f"2. Snapshot of the finished {SMALL.label} engine"
        f" ({len(engine.events):,} events, {len(engine.reservations):,} reservations)"
    )
    common.row("save (SQLite, atomic)", f"{saved - began:.2f} s", f"{megabytes:.1f} MB")
    common.row("load", f"{done - saved:.2f} s")


# -- profile ----------------------------------------------------------------------------


def run_profile() -> None:
    """Print where one 10k routing run spends its time."""
    world = build(SMALL)
    profiler = cProfile.Profile()
    profiler.enable()
    route(world, SMALL.tasks)
    profiler.disable()
    print(f"cProfile of routing {SMALL.label} to completion, top 15 by cumulative time:")
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats("cumulative").print_stats(15)


# -- main -------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common.argument_parser(
        "bench_engine",
        "Benchmark the sandbox engine routing tasks to completion."
        " Prints figures; asserts nothing about timings.",
        quick="one round instead of five",
        rounds="rounds per size (default 5, quick 1)",
    )
    parser.add_argument(
        "--no-snapshot", action="store_true", help="skip saving and loading the finished engine"
    )
    common.add_profile(parser, "one 10k routing run")
    return common.parse_args(parser, argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print its figures; return the exit status."""
    args = _parse_args(argv)
    plan = common.choose_plan(args, QUICK, FULL)
    common.print_header("sandbox engine benchmark", plan.name, f"{plan.rounds} round(s) per size")
    if args.profile:
        return common.run_parts({"profile": run_profile}, timed=False)
    parts = {"routing": lambda: run_routing(plan), "snapshot": run_snapshot}
    return common.run_parts(parts, ["routing"] if args.no_snapshot else None)


if __name__ == "__main__":
    raise SystemExit(main())
