"""Load test: the callback app under gunicorn against a bare Flask app under the same gunicorn.

Both applications are served on 127.0.0.1 by gunicorn with the same settings
(2 workers, sync by default, a socket bound here and handed over by file
descriptor) and driven, one after the other, by the same load generator:

* Debian's ``wrk`` when it is installed: 32 connections for a fixed duration,
  posting one signed assignment form (a small Lua script sets the body and the
  ``X-Twilio-Signature`` header, computed for the URL wrk requests);
* else a Python client: 32 threads, each with its own keep-alive connection,
  sending a fixed number of requests in all (with a time cap). It is GIL-bound,
  so its figures measure the client as much as the servers.

The subject is a TaskRouter app defined here (the example app needs a
provisioned workspace): signatures checked, the 12-field form parsed, an
assignment handler with a ``when=`` predicate (and a fallback) answering
``accept()``. Duplicate detection is off in it, because wrk repeats one signed
body: with it on, every request after the first would be answered from the
replay cache instead of reaching the handler. The baseline is a bare Flask route
returning the same JSON. One request to each is checked before anything is
timed (200 and ``{"instruction": "accept"}``), and any non-2xx answer during a
run is an error.

Baseline and subject alternate round by round (the order flips every round);
throughput is the median of rounds, latency percentiles the median of the
rounds' percentiles, and the ratio the median of each round's own ratio.
Targets, printed beside the figures: at least 0.85 of bare Flask's throughput,
and a p99 under 50 ms at 32 connections. Nothing here asserts on timings.

Run ``python -m benchmarks.load`` (about 60 s) or add ``--quick`` (about 15 s).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.client
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from taskrouter_flask.testing import assignment_payload, signed_form

if not __package__:  # run as a file (python benchmarks/load.py)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common

__all__ = ["build_bare_app", "build_taskrouter_app", "main"]

#: Print one figure, in this benchmark's narrower label column.
_row = functools.partial(common.row, widths=(34, 14))

#: A made-up auth token of the real shape (32 hex digits).
AUTH_TOKEN = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
ASSIGNMENT_PATH = "/taskrouter/assignment"
ANSWER = b'{"instruction":"accept"}'
CONNECTIONS = 32
THROUGHPUT_TARGET = 0.85
P99_TARGET_MS = 50.0


@dataclass(frozen=True, slots=True)
class Plan(common.Plan):
    """How long a wrk run lasts, or how many requests a Python-client run sends."""

    seconds: float  # per wrk run
    requests: int  # per Python-client run
    cap: float  # seconds, per Python-client run


FULL = Plan("full", rounds=5, seconds=5.0, requests=6000, cap=10.0)
QUICK = Plan("quick", rounds=2, seconds=2.0, requests=2000, cap=4.0)


@dataclass(frozen=True, slots=True)
class Run:
    """One load run against one server."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


# -- the applications -------------------------------------------------------------------


def _payload() -> dict[str, str]:
    """A realistic assignment callback with fixed SIDs, so every run posts the same bytes."""
    sids = {
        kind: prefix + format(index, "x").rjust(32, "0")
        for index, (kind, prefix) in enumerate(
            (
                ("account_sid", "AC"),
                ("workspace_sid", "WS"),
                ("workflow_sid", "WW"),
                ("task_queue_sid", "WQ"),
                ("task_sid", "WT"),
                ("worker_sid", "WK"),
                ("reservation_sid", "WR"),
            ),
            start=1,
        )
    }
    return assignment_payload(
        task_attributes={
            "type": "support",
            "channel": "voice",
            "from": "+14155550123",
            "language": "en-US",
            "skills": ["billing", "refunds"],
            "customer": {"id": "cus_8842", "tier": "gold"},
        },
        worker_attributes={"contact_uri": "client:alice", "skills": ["billing", "sales"]},
        task_age=37,
        task_priority=10,
        Timestamp="1795701801",
        **sids,
    )


def build_taskrouter_app() -> Flask:
    """The subject: signatures on, a ``when=`` handler answering accept, and a fallback."""
    return common.taskrouter_app(__name__, AUTH_TOKEN, TASKROUTER_DEDUP=None)[0]


def build_bare_app() -> Flask:
    """The baseline: a plain Flask route answering the same instruction JSON."""
    return common.bare_app(__name__, ASSIGNMENT_PATH, ANSWER)


# -- servers ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """The gunicorn settings both applications get."""

    workers: int = 2
    worker_class: str = "sync"
    threads: int = 1
    backlog: int = 1024

    def describe(self) -> str:
        threads = f" x {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"gunicorn, {self.workers} {self.worker_class} workers{threads} per app"

    def options(self) -> list[str]:
        """gunicorn's command-line options for these settings."""
        return [
            f"--workers={self.workers}",
            f"--worker-class={self.worker_class}",
            f"--threads={self.threads}",
            f"--backlog={self.backlog}",
            "--timeout=30",
        ]


def _check_answer(name: str, port: int, body: bytes, headers: Mapping[str, str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", ASSIGNMENT_PATH, body=body, headers=dict(headers))
        response = connection.getresponse()
        content = response.read()
    finally:
        connection.close()
    if response.status != 200 or content != ANSWER:
        raise common.BenchmarkError(
            f"{name} answered {response.status} {content[:200]!r}, not accept"
        )


# -- load generators --------------------------------------------------------------------

_WRK_SCRIPT = """\
-- Written by benchmarks/load.py: one signed assignment callback, posted again and again.
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["X-Twilio-Signature"] = "{signature}"

""" + common.WRK_DONE_HOOK.replace("{", "{{").replace("}", "}}")


class Wrk:
    """Debian's wrk, with a Lua script posting the signed body."""

    def __init__(self, binary: str, script: Path, seconds: float) -> None:
        self.binary = binary
        self.script = script
        self.seconds = seconds

    def describe(self) -> str:
        version = subprocess.run(
            [self.binary, "-v"], capture_output=True, text=True, timeout=10, check=False
        ).stdout.split(" [")[0]
        return f"{version}, 1 thread, {CONNECTIONS} connections, {self.seconds:g} s per run"

    def __call__(self, port: int, seconds: float | None = None) -> Run:
        url = f"http://127.0.0.1:{port}{ASSIGNMENT_PATH}"
        figures = common.run_wrk(
            self.binary,
            self.script,
            url,
            connections=CONNECTIONS,
            threads=1,
            seconds=seconds or self.seconds,
        )
        if figures.non_2xx:
            raise common.BenchmarkError(f"{figures.non_2xx} answers were not 2xx during the run")
        if figures.socket_errors:
            # Socket errors are reported, not fatal: a sync worker closes every connection.
            print(f"   ({figures.socket_errors} wrk socket errors on port {port})")
        return Run(figures.requests, figures.seconds, figures.p50_ms, figures.p99_ms)


class PythonClient:
    """32 threads, each with a keep-alive ``http.client`` connection, a fixed number of requests."""

    def __init__(self, body: bytes, headers: Mapping[str, str], requests: int, cap: float) -> None:
        self.body = body
        self.headers = dict(headers)
        self.requests = requests
        self.cap = cap

    def describe(self) -> str:
        return (
            f"Python client (no wrk), {CONNECTIONS} threads and connections,"
            f" {self.requests} requests per run, cap {self.cap:g} s"
        )

    def __call__(self, port: int, seconds: float | None = None) -> Run:
        total = self.requests if seconds is None else max(CONNECTIONS, self.requests // 4)
        per_connection = math.ceil(total / CONNECTIONS)
        latencies: list[float] = []
        failures: list[str] = []
        lock = threading.Lock()
        start = time.perf_counter()
        deadline = start + self.cap

        def worker() -> None:
            mine: list[float] = []
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                for _ in range(per_connection):
                    if time.perf_counter() > deadline:
                        break
                    sent = time.perf_counter()
                    try:
                        connection.request("POST", ASSIGNMENT_PATH, self.body, self.headers)
                        response = connection.getresponse()
                        response.read()
                    except (OSError, http.client.HTTPException):
                        connection.close()  # a sync worker closed it: reconnect and go on
                        continue
                    mine.append(time.perf_counter() - sent)
                    if response.status != 200:
                        with lock:
                            failures.append(str(response.status))
                        return
                    if response.will_close:
                        connection.close()
            finally:
                connection.close()
                with lock:
                    latencies.extend(mine)

        threads = [threading.Thread(target=worker) for _ in range(CONNECTIONS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=self.cap + 30)
        seconds_taken = time.perf_counter() - start
        if failures:
            raise common.BenchmarkError(f"answers were not 200 during the run: {failures[:5]}")
        if not latencies:
            raise common.BenchmarkError(f"no request to 127.0.0.1:{port} succeeded")
        latencies.sort()
        return Run(
            len(latencies),
            seconds_taken,
            common.percentile(latencies, 0.50) * 1e3,
            common.percentile(latencies, 0.99) * 1e3,
        )


# -- the benchmark ----------------------------------------------------------------------


def run_load(plan: Plan, settings: ServerSettings, client_kind: str) -> None:
    """Serve both apps, check one answer from each, then drive them round by round."""
    wrk = shutil.which("wrk")
    if client_kind == "wrk" and wrk is None:
        raise common.BenchmarkError(
            "wrk is not installed (apt-get install wrk), use --client python"
        )
    use_wrk = wrk is not None and client_kind != "python"
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="trload-")))
        ours, bare = (
            stack.enter_context(
                common.gunicorn(
                    f"benchmarks.load:{factory}()",
                    app_dir=common.PROJECT_ROOT,
                    log_dir=work,
                    options=settings.options(),
                    backlog=settings.backlog,
                )
            )
            for factory in ("build_taskrouter_app", "build_bare_app")
        )
        # The signature covers the URL wrk requests: the subject's own host and port.
        body, headers = signed_form(
            f"http://127.0.0.1:{ours}{ASSIGNMENT_PATH}", _payload(), AUTH_TOKEN
        )
        _check_answer("taskrouter_flask", ours, body, headers)
        _check_answer("bare Flask", bare, body, headers)
        load: Wrk | PythonClient
        if use_wrk and wrk is not None:
            script = work / "assignment.lua"
            script.write_text(
                _WRK_SCRIPT.format(body=body.decode(), signature=headers["X-Twilio-Signature"])
            )
            load = Wrk(wrk, script, plan.seconds)
        else:
            load = PythonClient(body, headers, plan.requests, plan.cap)
        print(
            f"Load over HTTP on 127.0.0.1: {settings.describe()}\n"
            f"   {load.describe()}, {plan.rounds} rounds;"
            f" POST {ASSIGNMENT_PATH}, signed 12-field form ({len(body)} bytes)"
        )
        load(bare, min(plan.seconds, 1.0))  # warm-up, not counted
        load(ours, min(plan.seconds, 1.0))
        bare_runs, our_runs = common.interleave(plan.rounds, lambda: load(bare), lambda: load(ours))
    ratios = [o.rate / b.rate for b, o in zip(bare_runs, our_runs, strict=True)]
    ratio = statistics.median(ratios)
    figures = {}
    for label, runs in (("bare Flask route (baseline)", bare_runs), ("taskrouter_flask", our_runs)):
        rate = statistics.median(run.rate for run in runs)
        p50 = statistics.median(run.p50_ms for run in runs)
        p99 = statistics.median(run.p99_ms for run in runs)
        figures[label] = p99
        _row(label, f"{rate:,.0f} req/s", f"p50 {p50:.2f} ms  p99 {p99:.2f} ms")
    _row(
        "throughput ratio ours/bare",
        f"{ratio:.2f}",
        common.target_note(ratio, ">=", THROUGHPUT_TARGET, ".2f", rounds=ratios),
    )
    p99 = figures["taskrouter_flask"]
    _row(
        f"p99 at {CONNECTIONS} connections, ours",
        f"{p99:.2f} ms",
        common.target_note(p99, "<", P99_TARGET_MS, ".0f", " ms"),
    )


# -- main -------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common.argument_parser(
        "load",
        "Load the callback app and a bare Flask app, both under gunicorn on"
        " 127.0.0.1, with wrk (or a Python client). Prints figures; asserts nothing.",
        quick="2 rounds of 2 s instead of 5 of 5 s",
        rounds="rounds per app (default 5, quick 2)",
    )
    parser.add_argument(
        "--client",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="the load generator (auto: wrk if installed)",
    )
    parser.add_argument(
        "--worker-class",
        choices=("sync", "gthread"),
        default="sync",
        help="gunicorn worker class for both apps (default sync, gunicorn's own default)",
    )
    parser.add_argument("--threads", type=int, default=4, help="threads per gthread worker")
    return common.parse_args(parser, argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the load benchmark and print its figures; return the exit status."""
    args = _parse_args(argv)
    common.stop_on_sigterm()  # so that the servers are stopped
    plan = common.choose_plan(args, QUICK, FULL)
    settings = ServerSettings(
        worker_class=args.worker_class,
        threads=args.threads if args.worker_class == "gthread" else 1,
    )
    common.print_header(
        "load benchmark",
        plan.name,
        f"{plan.rounds} interleaved rounds",
        ("Flask", "Werkzeug", "gunicorn"),
    )
    return common.run_parts({"load": lambda: run_load(plan, settings, args.client)})


if __name__ == "__main__":
    raise SystemExit(main())
