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
import http.client
import importlib.metadata
import math
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

from flask import Flask, Response

from taskrouter_flask import Assignment, Instruction, TaskRouter, accept, reject
from taskrouter_flask.testing import assignment_payload, signed_form

__all__ = ["build_bare_app", "build_taskrouter_app", "main"]

_T = TypeVar("_T")

#: A made-up auth token of the real shape (32 hex digits).
AUTH_TOKEN = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
ASSIGNMENT_PATH = "/taskrouter/assignment"
ANSWER = b'{"instruction":"accept"}'
CONNECTIONS = 32
THROUGHPUT_TARGET = 0.85
P99_TARGET_MS = 50.0
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Plan:
    """How much work one run does."""

    name: str
    rounds: int
    seconds: float  # per wrk run
    requests: int  # per Python-client run
    cap: float  # seconds, per Python-client run


FULL = Plan("full", rounds=5, seconds=5.0, requests=6000, cap=10.0)
QUICK = Plan("quick", rounds=2, seconds=2.0, requests=2000, cap=4.0)


class BenchmarkError(RuntimeError):
    """A precondition failed: an app answered wrongly, a server or wrk did not run."""


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


def _is_support(assignment: Assignment) -> bool:
    return assignment.task.attributes.get("type") == "support"


def build_taskrouter_app() -> Flask:
    """The subject: signatures on, a ``when=`` handler answering accept, and a fallback."""
    app = Flask(__name__)
    app.config.update(TASKROUTER_AUTH_TOKEN=AUTH_TOKEN, TASKROUTER_DEDUP=None)
    taskrouter = TaskRouter(app)

    @taskrouter.assignment(when=_is_support)
    def support(assignment: Assignment) -> Instruction:
        return accept()

    @taskrouter.assignment()
    def fallback(assignment: Assignment) -> Instruction:
        return reject()

    return app


def build_bare_app() -> Flask:
    """The baseline: a plain Flask route answering the same instruction JSON."""
    app = Flask(__name__)

    @app.post(ASSIGNMENT_PATH)
    def assignment() -> Response:
        return Response(ANSWER, mimetype="application/json")

    return app


# -- servers ----------------------------------------------------------------------------


def _log_tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_serving(
    port: int, process: subprocess.Popen[bytes], log: Path, timeout: float = 20.0
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise BenchmarkError(f"gunicorn exited with {process.returncode}:\n{_log_tail(log)}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
            return
        except (OSError, http.client.HTTPException) as exc:
            if time.monotonic() > deadline:
                raise BenchmarkError(f"no server on 127.0.0.1:{port} ({exc})") from exc
            time.sleep(0.05)
        finally:
            connection.close()


@dataclass(frozen=True, slots=True)
class ServerSettings:
    """The gunicorn settings both applications get."""

    workers: int = 2
    worker_class: str = "sync"
    threads: int = 1

    def describe(self) -> str:
        threads = f" x {self.threads} threads" if self.worker_class == "gthread" else ""
        return f"gunicorn, {self.workers} {self.worker_class} workers{threads} per app"


@contextlib.contextmanager
def _gunicorn(target: str, settings: ServerSettings, log_dir: Path) -> Iterator[int]:
    """Serve ``module:factory()`` on a socket bound here (port 0); yield the port."""
    log = log_dir / f"{target.rpartition(':')[2].strip('()')}.log"
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1024)
        port: int = listener.getsockname()[1]
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            f"--bind=fd://{listener.fileno()}",
            f"--workers={settings.workers}",
            f"--worker-class={settings.worker_class}",
            f"--threads={settings.threads}",
            "--backlog=1024",
            "--timeout=30",
            "--graceful-timeout=3",
            "--log-level=warning",
            "--no-control-socket",
            f"--chdir={PROJECT_ROOT}",
            target,
        ]
        with log.open("wb") as output:
            process = subprocess.Popen(
                command,
                cwd=PROJECT_ROOT,
                pass_fds=(listener.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
    finally:
        listener.close()
    try:
        _wait_until_serving(port, process, log)
        yield port
    finally:
        _stop(process)


def _check_answer(name: str, port: int, body: bytes, headers: Mapping[str, str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("POST", ASSIGNMENT_PATH, body=body, headers=dict(headers))
        response = connection.getresponse()
        content = response.read()
    finally:
        connection.close()
    if response.status != 200 or content != ANSWER:
        raise BenchmarkError(f"{name} answered {response.status} {content[:200]!r}, not accept")


# -- load generators --------------------------------------------------------------------

_WRK_SCRIPT = """\
-- Written by benchmarks/load.py: one signed assignment callback, posted again and again.
wrk.method = "POST"
wrk.body = [==[{body}]==]
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["X-Twilio-Signature"] = "{signature}"

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d status=%d connect=%d read=%d"
    .. " write=%d timeout=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
"""


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
        duration = seconds or self.seconds
        command = [
            self.binary,
            "--threads=1",
            f"--connections={CONNECTIONS}",
            f"--duration={duration:g}s",
            "--timeout=10s",
            f"--script={self.script}",
            f"http://127.0.0.1:{port}{ASSIGNMENT_PATH}",
        ]
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=duration + 30, check=False
            )
        except subprocess.TimeoutExpired as exc:
            raise BenchmarkError(f"wrk did not finish within {duration + 30:g} s") from exc
        match = re.search(r"^RESULT (.*)$", result.stdout, re.MULTILINE)
        if result.returncode != 0 or match is None:
            raise BenchmarkError(f"wrk failed ({result.returncode}): {result.stderr[-500:]}")
        figures = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", match[1])}
        errors = {k: figures[k] for k in ("status", "connect", "read", "write", "timeout")}
        if errors["status"]:
            raise BenchmarkError(f"{errors['status']} answers were not 2xx during the run")
        if sum(errors.values()):
            # Socket errors are reported, not fatal: a sync worker closes every connection.
            print(f"   (wrk socket errors on port {port}: {errors})")
        return Run(
            figures["requests"],
            figures["duration_us"] / 1e6,
            figures["p50_us"] / 1e3,
            figures["p99_us"] / 1e3,
        )


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
            raise BenchmarkError(f"answers were not 200 during the run: {failures[:5]}")
        if not latencies:
            raise BenchmarkError(f"no request to 127.0.0.1:{port} succeeded")
        latencies.sort()
        return Run(
            len(latencies),
            seconds_taken,
            _percentile(latencies, 0.50) * 1e3,
            _percentile(latencies, 0.99) * 1e3,
        )


# -- statistics and printing ------------------------------------------------------------


def _interleave(
    rounds: int, baseline: Callable[[], _T], subject: Callable[[], _T]
) -> tuple[list[_T], list[_T]]:
    """Run baseline and subject once per round, flipping which goes first each round."""
    base: list[_T] = []
    subj: list[_T] = []
    for index in range(rounds):
        if index % 2 == 0:
            base.append(baseline())
            subj.append(subject())
        else:
            subj.append(subject())
            base.append(baseline())
    return base, subj


def _percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = math.ceil(fraction * len(sorted_values))
    return sorted_values[min(len(sorted_values) - 1, max(0, rank - 1))]


def _row(label: str, value: str, note: str = "") -> None:
    print(f"   {label:<34}{value:>14}  {note}".rstrip())


def _verdict(met: bool) -> str:
    return "met" if met else "NOT met"


# -- the benchmark ----------------------------------------------------------------------


def run_load(plan: Plan, settings: ServerSettings, client_kind: str) -> None:
    """Serve both apps, check one answer from each, then drive them round by round."""
    wrk = shutil.which("wrk")
    if client_kind == "wrk" and wrk is None:
        raise BenchmarkError("wrk is not installed (apt-get install wrk), use --client python")
    use_wrk = wrk is not None and client_kind != "python"
    with contextlib.ExitStack() as stack:
        work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="trload-")))
        ours = stack.enter_context(
            _gunicorn("benchmarks.load:build_taskrouter_app()", settings, work)
        )
        bare = stack.enter_context(_gunicorn("benchmarks.load:build_bare_app()", settings, work))
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
        bare_runs, our_runs = _interleave(plan.rounds, lambda: load(bare), lambda: load(ours))
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
        f"target >= {THROUGHPUT_TARGET:.2f}: {_verdict(ratio >= THROUGHPUT_TARGET)}"
        f" (rounds {min(ratios):.2f}-{max(ratios):.2f})",
    )
    p99 = figures["taskrouter_flask"]
    _row(
        f"p99 at {CONNECTIONS} connections, ours",
        f"{p99:.2f} ms",
        f"target < {P99_TARGET_MS:.0f} ms: {_verdict(p99 < P99_TARGET_MS)}",
    )


# -- main -------------------------------------------------------------------------------


def _version(distribution: str) -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.load",
        description="Load the callback app and a bare Flask app, both under gunicorn on"
        " 127.0.0.1, with wrk (or a Python client). Prints figures; asserts nothing.",
    )
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 s instead of 5 of 5 s")
    parser.add_argument("--rounds", type=int, help="rounds per app (default 5, quick 2)")
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
    args = parser.parse_args(argv)
    if args.rounds is not None and args.rounds < 1:
        parser.error("--rounds: expected at least 1")
    return args


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # Unwind through the ``finally`` blocks so that the servers are stopped.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the load benchmark and print its figures; return the exit status."""
    args = _parse_args(argv)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    plan = QUICK if args.quick else FULL
    if args.rounds is not None:
        plan = replace(plan, rounds=args.rounds)
    settings = ServerSettings(
        worker_class=args.worker_class,
        threads=args.threads if args.worker_class == "gthread" else 1,
    )
    print(
        f"taskrouter_flask {_version('taskrouter-flask')} load benchmark ({plan.name} run,"
        f" {plan.rounds} interleaved rounds; medians of rounds)"
    )
    print(
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()},"
        f" {os.cpu_count()} CPUs; Flask {_version('flask')}, Werkzeug {_version('werkzeug')},"
        f" gunicorn {_version('gunicorn')}"
    )
    print()
    began = time.perf_counter()
    try:
        run_load(plan, settings, args.client)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print()
    print(f"Total time {time.perf_counter() - began:.1f} s.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
