"""What every benchmark here shares: one way to measure and one way to report.

Baseline and subject alternate the same way in every script (:func:`interleave`),
percentiles are the same nearest-rank ones, and the spread of rounds, the target
verdicts, the rows and the header lines (versions, Python, CPU count) are printed the
same way; gunicorn is started on a pre-bound socket, waited for and stopped the same
way, and ``bench_callbacks`` and ``load`` build their subject and baseline apps with
the same code. So every figure in ``benchmarks/README.md`` was measured and reported
alike, and any two of them can be compared.

The scripts import this as ``benchmarks._common``; run as files
(``python benchmarks/<name>.py``) they first put the project root on ``sys.path``.

Only light modules are imported up here. What serves or calls over HTTP (flask,
werkzeug's server, ``http.client``, ``subprocess``) is imported by the functions that
use it, so that the benchmarks that serve nothing (``bench_engine``, whose figures
include the garbage collector's time, and ``bench_expressions``) run on the same
heap as before these helpers were shared.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import math
import operator
import os
import platform
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypeVar

if TYPE_CHECKING:
    import subprocess
    from wsgiref.types import WSGIApplication

    from flask import Flask

    from taskrouter_flask import Assignment, Instruction, TaskRouter

__all__ = [
    "PROJECT_ROOT",
    "BenchmarkError",
    "Plan",
    "Served",
    "add_only",
    "add_profile",
    "argument_parser",
    "bare_app",
    "choose_plan",
    "gunicorn",
    "gunicorn_process",
    "interleave",
    "log_tail",
    "parse_args",
    "percentile",
    "print_header",
    "row",
    "run_parts",
    "serve_in_thread",
    "spread",
    "stop_on_sigterm",
    "stop_process",
    "target_note",
    "taskrouter_app",
    "version",
    "wait_until_serving",
]

_T = TypeVar("_T")

#: The directory that holds ``benchmarks/`` and ``taskrouter_flask/``.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class BenchmarkError(RuntimeError):
    """A precondition failed: a server did not start, or a side gave a wrong answer."""


# -- measuring --------------------------------------------------------------------------


def interleave(
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


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = math.ceil(fraction * len(sorted_values))
    return sorted_values[min(len(sorted_values) - 1, max(0, rank - 1))]


# -- reporting --------------------------------------------------------------------------


def spread(values: Sequence[float], fmt: str = ".2f") -> str:
    """``rounds 0.64-0.68``: the lowest and highest of the rounds' figures."""
    return f"rounds {min(values):{fmt}}-{max(values):{fmt}}"


_COMPARISONS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "<": operator.lt,
}


def target_note(
    value: float,
    comparison: Literal[">=", "<=", "<"],
    target: float,
    fmt: str = "g",
    unit: str = "",
    *,
    rounds: Sequence[float] | None = None,
) -> str:
    """``target >= 0.85: met`` (or ``NOT met``): whether ``value`` meets ``target``.

    With ``rounds`` (the rounds' own figures), their :func:`spread` follows in brackets.
    """
    met = _COMPARISONS[comparison](value, target)
    note = f"target {comparison} {target:{fmt}}{unit}: {'met' if met else 'NOT met'}"
    return note if rounds is None else f"{note} ({spread(rounds)})"


def row(label: str, value: str, note: str = "", *, widths: tuple[int, int] = (38, 12)) -> None:
    """Print one figure: the label, the value right-aligned, then a note."""
    label_width, value_width = widths
    print(f"   {label:<{label_width}}{value:>{value_width}}  {note}".rstrip())


def version(distribution: str) -> str:
    """The installed version of ``distribution``, or ``absent``."""
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def print_header(what: str, run: str, rounds: str, libraries: Sequence[str] = ()) -> None:
    """Print what runs, on which Python and machine, with which libraries; then a blank line.

    ``libraries`` are display names (``Flask``); their distributions are the names in
    lower case.
    """
    print(
        f"taskrouter_flask {version('taskrouter-flask')} {what} ({run} run, {rounds};"
        " medians of rounds)"
    )
    versions = ", ".join(f"{name} {version(name.lower())}" for name in libraries)
    print(
        f"Python {platform.python_version()} on {platform.system()} {platform.machine()},"
        f" {os.cpu_count()} CPUs" + (f"; {versions}" if versions else "")
    )
    print()


# -- running ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Plan:
    """How much work one run does: its name (``full`` or ``quick``) and its rounds.

    Each benchmark's own plan adds its counts (requests, calls, tasks, ...).
    """

    name: str
    rounds: int


_PlanT = TypeVar("_PlanT", bound=Plan)


def choose_plan(args: argparse.Namespace, quick: _PlanT, full: _PlanT) -> _PlanT:
    """The ``--quick`` or the full plan, with the rounds ``--rounds`` asks for."""
    plan = quick if args.quick else full
    return plan if args.rounds is None else replace(plan, rounds=args.rounds)


def argument_parser(
    name: str, description: str, *, quick: str, rounds: str
) -> argparse.ArgumentParser:
    """The parser of ``python -m benchmarks.<name>``, with ``--quick`` and ``--rounds``."""
    parser = argparse.ArgumentParser(prog=f"python -m benchmarks.{name}", description=description)
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument("--rounds", type=int, help=rounds)
    return parser


def add_only(parser: argparse.ArgumentParser, parts: Sequence[str]) -> None:
    """Add ``--only PART`` (repeatable): the parts for :func:`run_parts` to run."""
    parser.add_argument(
        "--only", choices=parts, action="append", help="run only this part (repeatable)"
    )


def add_profile(parser: argparse.ArgumentParser, what: str) -> None:
    """Add ``--profile``: cProfile ``what`` instead of benchmarking."""
    parser.add_argument(
        "--profile", action="store_true", help=f"instead of benchmarking, cProfile {what}"
    )


def parse_args(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    positive: Sequence[str] = ("rounds",),
) -> argparse.Namespace:
    """Parse ``argv``; each option named in ``positive`` must be at least 1 when given."""
    args = parser.parse_args(argv)
    for name in positive:
        value = getattr(args, name)
        if value is not None and value < 1:
            parser.error(f"--{name}: expected at least 1")
    return args


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # Unwind through the ``finally`` and ``with`` blocks, so that servers are stopped.
    raise SystemExit(128 + signum)


def stop_on_sigterm() -> None:
    """On SIGTERM, exit through the ``finally`` blocks (from the main thread only)."""
    import signal

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)


def run_parts(
    parts: Mapping[str, Callable[[], object]],
    only: Collection[str] | None = None,
    *,
    timed: bool = True,
) -> int:
    """Run the parts in turn (those named in ``only``, if given); return the exit status.

    The status is 1 after a :class:`BenchmarkError`, whose message is printed, else 0.
    ``timed``: a blank line after each part, and the total time at the end; without it
    (a profile), only what the parts print.
    """
    began = time.perf_counter()
    try:
        for name, part in parts.items():
            if only and name not in only:
                continue
            part()
            if timed:
                print()
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if timed:
        print(f"Total time {time.perf_counter() - began:.1f} s.")
    return 0


# -- servers ----------------------------------------------------------------------------


def log_tail(path: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of a server's log, for an error message."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def wait_until_serving(
    port: int,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    timeout: float = 20.0,
) -> None:
    """Return once 127.0.0.1:``port`` answers HTTP; raise if ``process`` exits or time runs out."""
    import http.client

    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            tail = log_tail(log) if log else ""
            raise BenchmarkError(f"the server exited with {process.returncode}:\n{tail}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1.0)
        try:
            connection.request("GET", "/")
            connection.getresponse().read()
            return
        except (OSError, http.client.HTTPException) as exc:
            if time.monotonic() > deadline:
                tail = log_tail(log) if log else ""
                raise BenchmarkError(f"no server on 127.0.0.1:{port} ({exc}):\n{tail}") from exc
            time.sleep(0.05)
        finally:
            connection.close()


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate ``process``; kill it if it has not stopped within 10 s."""
    import subprocess

    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True, slots=True)
class Served:
    """A running gunicorn: its port, its process and its log."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log, lines)


@contextlib.contextmanager
def gunicorn_process(
    target: str,
    *,
    app_dir: Path,
    log_dir: Path,
    options: Sequence[str],
    backlog: int = 128,
    env: Mapping[str, str] | None = None,
) -> Iterator[Served]:
    """Serve ``target`` (``module:app`` or ``module:factory()``) with gunicorn; yield it.

    The listening socket is bound here (127.0.0.1, port 0) and handed to gunicorn by
    file descriptor, so there is no window in which another process can take the
    port. gunicorn runs in ``app_dir`` with ``options`` (workers, worker class, ...),
    ``env`` added to this process's environment, and logs to a file in ``log_dir``,
    whose tail an error shows. On leaving, it is terminated, then killed if it has
    not stopped within 10 s. The production tests start their servers here too.
    """
    import subprocess

    log = log_dir / (re.sub(r"[^\w.]+", "-", target).strip("-") + ".log")
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(backlog)
        port: int = listener.getsockname()[1]
        command = [
            sys.executable,
            "-m",
            "gunicorn",
            f"--bind=fd://{listener.fileno()}",
            *options,
            "--graceful-timeout=3",
            "--log-level=warning",
            "--no-control-socket",
            f"--chdir={app_dir}",
            target,
        ]
        environment = {**os.environ, **(env or {}), "PYTHONDONTWRITEBYTECODE": "1"}
        with log.open("ab") as output:
            process = subprocess.Popen(
                command,
                cwd=app_dir,
                env=environment,
                pass_fds=(listener.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
    finally:
        listener.close()
    try:
        wait_until_serving(port, process, log)
        yield Served(port, process, log)
    finally:
        stop_process(process)


@contextlib.contextmanager
def gunicorn(
    target: str,
    *,
    app_dir: Path,
    log_dir: Path,
    options: Sequence[str],
    backlog: int = 128,
) -> Iterator[int]:
    """:func:`gunicorn_process`, yielding only the port."""
    with gunicorn_process(
        target, app_dir=app_dir, log_dir=log_dir, options=options, backlog=backlog
    ) as served:
        yield served.port


@contextlib.contextmanager
def serve_in_thread(app: WSGIApplication, *, threaded: bool) -> Iterator[int]:
    """Serve ``app`` on 127.0.0.1 with werkzeug's server in a thread of this process.

    ``threaded``: a thread per request, else one request at a time. Requests are not
    logged. Yields the port.
    """
    from werkzeug.serving import WSGIRequestHandler, make_server

    class _QuietHandler(WSGIRequestHandler):
        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            return None

    server = make_server("127.0.0.1", 0, app, threaded=threaded, request_handler=_QuietHandler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# -- the applications of the callback benchmarks ---------------------------------------


def _is_support(assignment: Assignment) -> bool:
    return assignment.task.attributes.get("type") == "support"


def taskrouter_app(import_name: str, auth_token: str, **config: object) -> tuple[Flask, TaskRouter]:
    """The subject: signatures on, a ``when=`` handler and a fallback; the app and extension.

    The handler answers ``accept()`` to a support task, the fallback ``reject()``.
    ``config`` is added to the app's configuration (``TASKROUTER_DEDUP=None``, ...).
    """
    from flask import Flask

    from taskrouter_flask import TaskRouter, accept, reject

    app = Flask(import_name)
    app.config.update(TASKROUTER_AUTH_TOKEN=auth_token, **config)
    taskrouter = TaskRouter(app)

    @taskrouter.assignment(when=_is_support)
    def support(assignment: Assignment) -> Instruction:
        return accept()

    @taskrouter.assignment()
    def fallback(assignment: Assignment) -> Instruction:
        return reject()

    return app, taskrouter


def bare_app(import_name: str, path: str, answer: str | bytes) -> Flask:
    """The baseline: a plain Flask route at ``path`` answering ``answer`` as JSON."""
    from flask import Flask, Response

    app = Flask(import_name)

    @app.post(path)
    def assignment() -> Response:
        return Response(answer, mimetype="application/json")

    return app


# -- wrk -----------------------------------------------------------------------------------------

#: The Lua ``done`` hook every wrk script here ends with: wrk's own figures on one line,
#: read by :func:`run_wrk` (whole microseconds, and the error counts by kind).
WRK_DONE_HOOK = """\
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d status=%d connect=%d read=%d"
    .. " write=%d timeout=%d\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect, e.read, e.write, e.timeout))
end
"""


@dataclass(frozen=True, slots=True)
class WrkFigures:
    """What one wrk run measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    #: Answers that were not 2xx or 3xx.
    non_2xx: int
    #: Connect, read, write and timeout errors together.
    socket_errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


def run_wrk(
    binary: str,
    script: Path,
    url: str,
    *,
    connections: int,
    threads: int,
    seconds: float,
) -> WrkFigures:
    """One wrk run with a script ending in :data:`WRK_DONE_HOOK`.

    :raises BenchmarkError: when wrk fails, hangs, or completes no request.
    """
    command = [
        binary,
        f"--threads={threads}",
        f"--connections={connections}",
        f"--duration={seconds:g}s",
        "--timeout=10s",
        f"--script={script}",
        url,
    ]
    try:
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchmarkError(f"wrk did not finish within {seconds + 60:g} s") from exc
    found = re.search(r"^RESULT (.*)$", result.stdout, re.MULTILINE)
    if result.returncode != 0 or found is None:
        raise BenchmarkError(f"wrk failed ({result.returncode}) on {url}: {result.stderr[-500:]}")
    figures = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", found[1])}
    if not figures["requests"]:
        raise BenchmarkError(f"wrk completed no request on {url}")
    return WrkFigures(
        figures["requests"],
        figures["duration_us"] / 1e6,
        figures["p50_us"] / 1e3,
        figures["p99_us"] / 1e3,
        figures["status"],
        sum(figures[key] for key in ("connect", "read", "write", "timeout")),
    )
