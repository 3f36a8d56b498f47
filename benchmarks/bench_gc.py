"""Benchmark garbage-collection pauses while the sandbox grows to 100,000 live tasks.

One run serves the sandbox's REST app (:func:`taskrouter_flask.sandbox.api.create_app`
over an :class:`~taskrouter_flask.sandbox.Engine` on a manual clock, so that no timer
fires) through Flask's test client, in this process: the whole request path (auth,
parameters, the engine's transaction, rendering, JSON) without sockets, whose noise would
hide the pauses. The workspace comes from the ``FIFO`` template and has no worker, so
every task stays pending in its queue. The run creates N tasks with
``POST /v1/Workspaces/{sid}/Tasks``, one request after another, and after every 50th
also lists ``Tasks?PageSize=50``. Every request is timed, and every collection, with
its generation, through :data:`gc.callbacks`.

Then a steady phase, with the live count held at N: each step creates a task and deletes
the oldest one (a sandbox running for days). Any memory that grows there is a leak:
what it shows is the resident size and the objects the collector tracks (frozen ones
included), before and after.

Each policy runs in a fresh process of its own (the collector's state is the process's),
one after another:

* ``default``: CPython's collector as it is (thresholds 700, 10, 10);
* ``thresholds``: gen0 at 20,000 and gen1, gen2 at 50: fewer collections, the same heap
  to scan in a full one;
* ``freeze``: :class:`taskrouter_flask.sandbox.collector.Collector`, which collects and
  freezes (:func:`gc.freeze`) what survived every 2,000 committed events, so that no
  collection scans the engine's long-lived state again.

Reported per policy: the worst request, p99 and p50; the longest pause of each generation
and how many collections there were; the pauses and worst request per 10% of the growth;
the resident size per live task; and the steady phase's growth. Target: no pause over
20 ms at 100,000 live tasks. ``python -m benchmarks.bench_gc`` (100,000 tasks, a few
minutes per policy) or ``--quick`` (20,000); ``--policy`` runs only the ones named.
Nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

if not __package__:  # run as a file (python benchmarks/bench_gc.py)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common

__all__ = ["POLICIES", "Result", "main", "run_policy"]

POLICIES = ("default", "thresholds", "freeze")
PAUSE_TARGET_MS = 20.0
LIST_EVERY = 50
BUCKETS = 10


@dataclass(frozen=True, slots=True)
class GcPlan(common.Plan):
    tasks: int
    steady: int


FULL = GcPlan("full", rounds=1, tasks=100_000, steady=10_000)
QUICK = GcPlan("quick", rounds=1, tasks=20_000, steady=4_000)


@dataclass(slots=True)
class Result:
    """What one policy's run measured (in milliseconds, bytes and counts)."""

    policy: str
    tasks: int
    requests: int = 0
    worst_ms: float = 0.0
    p99_ms: float = 0.0
    p50_ms: float = 0.0
    worst_list_ms: float = 0.0
    #: The worst request and the longest pause in this thread's CPU time: a busy machine
    #: stretches the wall-clock figures (another process runs), not these.
    worst_cpu_ms: float = 0.0
    max_pause_cpu_ms: float = 0.0
    #: Per generation: the longest pause and the number of collections.
    max_pause_ms: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])
    collections: list[int] = field(default_factory=lambda: [0, 0, 0])
    gc_total_ms: float = 0.0
    #: Per tenth of the growth: (live tasks at its end, longest pause, worst request).
    buckets: list[tuple[int, float, float]] = field(default_factory=list)
    rss_start: int = 0
    rss_grown: int = 0
    objects_grown: int = 0
    frozen_grown: int = 0
    rss_steady_end: int = 0
    objects_steady_end: int = 0
    frozen_steady_end: int = 0
    steady_steps: int = 0
    steady_worst_ms: float = 0.0
    steady_max_pause_ms: float = 0.0
    grow_s: float = 0.0


class _Pauses:
    """Times each collection through :data:`gc.callbacks`."""

    def __init__(self) -> None:
        self.started = 0.0
        self.started_cpu = 0.0
        #: The longest pause's CPU time (this thread's): what other processes cannot inflate.
        self.longest_cpu = 0.0
        self.longest = [0.0, 0.0, 0.0]
        self.counts = [0, 0, 0]
        self.total = 0.0
        self.window = 0.0  # the longest since :meth:`reset_window`

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started_cpu = time.thread_time()
            self.started = time.perf_counter()
            return
        pause = time.perf_counter() - self.started
        self.longest_cpu = max(self.longest_cpu, time.thread_time() - self.started_cpu)
        generation = info["generation"]
        self.counts[generation] += 1
        self.longest[generation] = max(self.longest[generation], pause)
        self.total += pause
        self.window = max(self.window, pause)

    def reset_window(self) -> float:
        longest, self.window = self.window, 0.0
        return longest


def _rss() -> int:
    """This process's resident size in bytes (Linux), else its peak."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _objects() -> tuple[int, int]:
    """Objects the collector tracks outside the permanent generation, and frozen ones."""
    return len(gc.get_objects()), gc.get_freeze_count()


def _census(pauses: _Pauses | None) -> tuple[int, int]:
    """:func:`_objects` after a collection (garbage is not counted), itself not timed."""
    if pauses is not None:
        gc.callbacks.remove(pauses)
    gc.collect()  # frozen objects are not scanned: a cycle frozen is counted
    counted = _objects()
    if pauses is not None:
        gc.callbacks.append(pauses)
    return counted


def run_policy(policy: str, tasks: int, steady: int) -> Result:
    """Grow a sandbox to ``tasks`` live tasks under ``policy``, then hold it steady."""
    from taskrouter_flask.sandbox import Engine, ManualClock
    from taskrouter_flask.sandbox.api import SandboxService, create_app
    from taskrouter_flask.sandbox.collector import Collector

    engine = Engine(ManualClock())
    workspace = engine.create_workspace(friendly_name="GC", template="FIFO").sid
    workflow = next(iter(engine.workflows.values())).sid
    service = SandboxService(engine, engine.account_sid, "token")
    client = create_app(service, base_url="http://127.0.0.1:8099").test_client()
    credentials = base64.b64encode(f"{engine.account_sid}:token".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}"}
    tasks_path = f"/v1/Workspaces/{workspace}/Tasks"

    if policy == "thresholds":
        gc.set_threshold(20_000, 50, 50)
    elif policy == "freeze":
        Collector().install(engine).start()
    elif policy != "default":
        raise common.BenchmarkError(f"unknown policy {policy!r}")

    result = Result(policy, tasks)
    pauses = _Pauses()
    latencies: list[float] = []
    created: list[str] = []

    cpu: list[float] = []

    def create(index: int) -> float:
        attributes = json.dumps({"type": "support", "customer": f"c{index}", "value": index % 97})
        began_cpu = time.thread_time()
        began = time.perf_counter()
        response = client.post(
            tasks_path, data={"WorkflowSid": workflow, "Attributes": attributes}, headers=headers
        )
        took = time.perf_counter() - began
        cpu.append(time.thread_time() - began_cpu)
        if response.status_code != 201:
            raise common.BenchmarkError(f"create: {response.status_code} {response.text[:200]}")
        created.append(response.json["sid"])
        return took

    def listing() -> float:
        began_cpu = time.thread_time()
        began = time.perf_counter()
        response = client.get(f"{tasks_path}?PageSize=50", headers=headers)
        took = time.perf_counter() - began
        cpu.append(time.thread_time() - began_cpu)
        if response.status_code != 200:
            raise common.BenchmarkError(f"list: {response.status_code} {response.text[:200]}")
        return took

    gc.collect()
    result.rss_start = _rss()
    objects_start, frozen_start = _objects()
    gc.callbacks.append(pauses)
    bucket = max(1, tasks // BUCKETS)
    bucket_worst = 0.0
    began = time.perf_counter()
    try:
        for index in range(tasks):
            took = create(index)
            latencies.append(took)
            bucket_worst = max(bucket_worst, took)
            if index % LIST_EVERY == LIST_EVERY - 1:
                took = listing()
                latencies.append(took)
                bucket_worst = max(bucket_worst, took)
                result.worst_list_ms = max(result.worst_list_ms, took * 1000)
            if (index + 1) % bucket == 0:
                result.buckets.append(
                    (index + 1, pauses.reset_window() * 1000, bucket_worst * 1000)
                )
                bucket_worst = 0.0
        result.grow_s = time.perf_counter() - began
        result.worst_cpu_ms = max(cpu) * 1000
        result.max_pause_cpu_ms = pauses.longest_cpu * 1000
        objects, frozen = _census(pauses)
        result.rss_grown = _rss()
        result.objects_grown = objects - objects_start
        result.frozen_grown = frozen - frozen_start
        # Steady: as many tasks made as deleted, the oldest first.
        pauses.reset_window()
        oldest = 0
        for step in range(steady):
            took = create(tasks + step)
            began_delete = time.perf_counter()
            response = client.delete(f"{tasks_path}/{created[oldest]}", headers=headers)
            took = max(took, time.perf_counter() - began_delete)
            if response.status_code != 204:
                raise common.BenchmarkError(f"delete: {response.status_code}")
            oldest += 1
            result.steady_worst_ms = max(result.steady_worst_ms, took * 1000)
        result.steady_steps = steady
        result.steady_max_pause_ms = pauses.reset_window() * 1000
    finally:
        gc.callbacks.remove(pauses)
    objects, frozen = _census(None)
    result.rss_steady_end = _rss()
    result.objects_steady_end = objects - objects_start
    result.frozen_steady_end = frozen - frozen_start
    if len(engine.tasks) != tasks:
        raise common.BenchmarkError(f"{len(engine.tasks)} live tasks, expected {tasks}")
    ordered = sorted(latencies)
    result.requests = len(ordered)
    result.worst_ms = ordered[-1] * 1000
    result.p99_ms = common.percentile(ordered, 0.99) * 1000
    result.p50_ms = common.percentile(ordered, 0.50) * 1000
    result.max_pause_ms = [p * 1000 for p in pauses.longest]
    result.collections = list(pauses.counts)
    result.gc_total_ms = pauses.total * 1000
    return result


def _in_child(policy: str, plan: GcPlan) -> Result:
    """Run one policy in a fresh interpreter; its result comes back as JSON."""
    command = [
        sys.executable,
        "-m",
        "benchmarks.bench_gc",
        "--child",
        policy,
        "--tasks",
        str(plan.tasks),
        "--steady",
        str(plan.steady),
    ]
    done = subprocess.run(
        command, cwd=common.PROJECT_ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise common.BenchmarkError(f"policy {policy} failed:\n{done.stderr[-2000:]}")
    data: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    data["buckets"] = [tuple(b) for b in data["buckets"]]
    return Result(**data)


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def report(result: Result) -> None:
    print(f"   policy {result.policy}: {result.tasks:,} tasks created in {result.grow_s:.1f} s")
    worst_pause = max(result.max_pause_ms)
    common.row(
        "  longest pause (any generation)",
        f"{worst_pause:.1f} ms",
        common.target_note(worst_pause, "<", PAUSE_TARGET_MS, ".0f", " ms"),
    )
    for generation in range(3):
        common.row(
            f"    generation {generation}",
            f"{result.max_pause_ms[generation]:.1f} ms",
            f"{result.collections[generation]:,} collections",
        )
    common.row("  all collections", f"{result.gc_total_ms / 1000:.2f} s")
    common.row(
        f"  worst request ({result.requests:,})",
        f"{result.worst_ms:.1f} ms",
        f"p99 {result.p99_ms:.2f} ms, p50 {result.p50_ms:.2f} ms",
    )
    common.row("  worst list (Tasks?PageSize=50)", f"{result.worst_list_ms:.1f} ms")
    common.row(
        "  in CPU time: worst request",
        f"{result.worst_cpu_ms:.1f} ms",
        f"longest pause {result.max_pause_cpu_ms:.1f} ms",
    )
    grown = result.rss_grown - result.rss_start
    common.row(
        "  resident size grown",
        _mb(grown),
        f"{grown / result.tasks / 1000:.2f} KB per live task;"
        f" {result.objects_grown / result.tasks:.1f} tracked objects per task"
        f" ({result.frozen_grown:,} of them frozen)",
    )
    steady_rss = result.rss_steady_end - result.rss_grown
    common.row(
        f"  steady ({result.steady_steps:,} create + delete)",
        _mb(steady_rss),
        f"tracked objects {result.objects_steady_end - result.objects_grown:+,},"
        f" frozen {result.frozen_steady_end - result.frozen_grown:+,};"
        f" worst request {result.steady_worst_ms:.1f} ms,"
        f" longest pause {result.steady_max_pause_ms:.1f} ms",
    )
    print("     live tasks   longest pause   worst request")
    for live, pause, worst in result.buckets:
        print(f"     {live:>10,}   {pause:>10.1f} ms   {worst:>10.1f} ms")


def main(argv: Sequence[str] | None = None) -> int:
    parser = common.argument_parser(
        "bench_gc",
        "Garbage-collection pauses while the sandbox grows to 100,000 live tasks.",
        quick=f"{QUICK.tasks:,} tasks instead of {FULL.tasks:,}",
        rounds="ignored: one run per policy",
    )
    parser.add_argument("--policy", action="append", choices=POLICIES, help="run only these")
    parser.add_argument("--child", choices=POLICIES, help=argparse.SUPPRESS)
    parser.add_argument("--tasks", type=int, help="live tasks to grow to")
    parser.add_argument("--steady", type=int, help="create + delete steps at the end")
    args = common.parse_args(parser, argv, positive=("rounds", "tasks"))
    plan = common.choose_plan(args, QUICK, FULL)
    if args.tasks is not None:
        plan = GcPlan(plan.name, plan.rounds, args.tasks, plan.steady)
    if args.steady is not None:
        plan = GcPlan(plan.name, plan.rounds, plan.tasks, args.steady)
    if args.child:
        print(json.dumps(asdict(run_policy(args.child, plan.tasks, plan.steady))))
        return 0
    common.stop_on_sigterm()
    common.print_header(
        "garbage-collection pauses", plan.name, "one process per policy", ("Flask",)
    )
    print(
        f"Sandbox REST app through Flask's test client: {plan.tasks:,} tasks created"
        f" (POST), a task list every {LIST_EVERY}; then {plan.steady:,} create + delete"
    )
    policies = args.policy or list(POLICIES)

    def run_all() -> None:
        for policy in policies:
            report(_in_child(policy, plan))
            print()

    return common.run_parts({"policies": run_all}, timed=True)


if __name__ == "__main__":
    sys.exit(main())
