"""Crash test: SIGKILL the sandbox at random moments, over real HTTP, and check what survives.

Why this test exists: a sandbox started with ``--data FILE`` promises that a
restart continues where it stopped. So, whatever moment the process dies:

* every write a client got a 2xx for must still be there, with the content
  that was acknowledged (a write that got no answer may or may not be there);
* no SID may ever describe two different things. A callback receiver, or a
  client, that saw ``EV...``, ``WT...`` or ``WR...`` once must never see the
  same SID again with other content. This is what goes wrong when a callback
  leaves the process before the state that produced it is durable: after the
  restart the SID generator hands the same SIDs out again for new things;
* a crash leaves no temporary files behind in the data directory.

The test runs ``python -m taskrouter_flask.sandbox`` as a subprocess, with a
real callback receiver on another 127.0.0.1 port, provisions one workspace,
then repeats: two client threads write as fast as they can, the sandbox is
SIGKILLed after a random delay, restarted on the same data file, and checked.
Problems are collected over all rounds and reported together at the end,
each naming the SID and the round.
"""

from __future__ import annotations

import itertools
import json
import os
import queue
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from taskrouter_flask.client import ApiError, ServerError, TaskRouterClient, TransportError
from taskrouter_flask.workflow import Target, WorkflowConfiguration

ACCOUNT_SID = "AC" + "5a" * 16
AUTH_TOKEN = "sandbox-auth-token"
ROUNDS = 20
WORKERS = 4
WRITER_THREADS = 2
KILL_AFTER = (0.05, 0.4)  # seconds of writing before the SIGKILL
START_TIMEOUT = 20.0
JOIN_TIMEOUT = 10.0
CLIENT_TIMEOUT = (2.0, 5.0)
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")
READY = re.compile(r"TaskRouter sandbox on (http://\S+)")


# -- SIDs: each one must always describe the same thing ----------------------------------


@dataclass(frozen=True)
class Problem:
    """One thing the sandbox got wrong, found in ``round`` (the round whose process showed it)."""

    round: int
    kind: str
    text: str

    def __str__(self) -> str:
        return f"round {self.round}: {self.kind}: {self.text}"


class SidRegistry:
    """First sighting of every SID, and every later sighting that disagrees with it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._first: dict[tuple[str, str], tuple[Any, int, str]] = {}
        self.conflicts: list[Problem] = []

    def see(self, kind: str, sid: str, content: Any, round_no: int, source: str) -> None:
        with self._lock:
            first = self._first.setdefault((kind, sid), (content, round_no, source))
            if first[0] != content:
                self.conflicts.append(
                    Problem(
                        round_no,
                        f"{kind} SID reused",
                        f"{sid} first seen in round {first[1]} ({first[2]}): {first[0]!r};"
                        f" now ({source}): {content!r}",
                    )
                )


def _attributes(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


# -- the callback receiver ----------------------------------------------------------------


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class Receiver:
    """A threaded WSGI server recording every event and assignment callback.

    Events are answered 204. Assignments are accepted (``{"instruction":"accept"}``)
    when the task's attributes say ``"accept": true``, else left pending (empty 200).
    """

    def __init__(self, sids: SidRegistry) -> None:
        self.sids = sids
        self.round = 0  # set by the test: which sandbox process is running
        self.lock = threading.Lock()
        self.count = 0
        self.accepted: set[str] = set()  # task SIDs whose reservation we accepted
        self._server = make_server(
            "127.0.0.1", 0, self._app, threaded=True, request_handler=_QuietHandler
        )
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=JOIN_TIMEOUT)

    @Request.application
    def _app(self, request: Request) -> Response:
        form = request.form.to_dict()
        with self.lock:
            self.count += 1
            round_no = self.round
        if request.path == "/events":
            self._record_event(form, round_no)
            return Response(status=204)
        self._record_assignment(form, round_no)
        if (_attributes(form.get("TaskAttributes")) or {}).get("accept"):
            with self.lock:
                self.accepted.add(form.get("TaskSid", ""))
            return Response('{"instruction":"accept"}', mimetype="application/json")
        return Response("", status=200)

    def _record_event(self, form: dict[str, str], round_no: int) -> None:
        sid, kind = form.get("Sid", "?"), form.get("EventType", "?")
        task_attributes = _attributes(form.get("TaskAttributes"))
        content = (
            kind,
            form.get("ResourceSid"),
            form.get("TaskSid"),
            form.get("WorkerSid"),
            task_attributes,
        )
        source = f"event callback {kind}"
        self.sids.see("event", sid, content, round_no, source)
        if kind == "task.created":
            self.sids.see("task", form.get("TaskSid", "?"), task_attributes, round_no, source)
        if kind.startswith("reservation."):
            pair = (form.get("TaskSid"), form.get("WorkerSid"))
            self.sids.see("reservation", form.get("ResourceSid", "?"), pair, round_no, source)

    def _record_assignment(self, form: dict[str, str], round_no: int) -> None:
        pair = (form.get("TaskSid"), form.get("WorkerSid"))
        sid = form.get("ReservationSid", "?")
        self.sids.see("reservation", sid, pair, round_no, "assignment callback")

    def wait_quiet(self, quiet: float = 0.3, timeout: float = 5.0) -> None:
        """Wait until no callback arrived for ``quiet`` seconds (at most ``timeout``)."""
        deadline = time.monotonic() + timeout
        last = -1
        while time.monotonic() < deadline:
            with self.lock:
                now = self.count
            if now == last:
                return
            last = now
            time.sleep(quiet)


# -- the sandbox process ------------------------------------------------------------------


class SandboxProcess:
    """``python -m taskrouter_flask.sandbox`` on a free port, restartable on one data file."""

    def __init__(self, data: Path, seed: int, logs: Path) -> None:
        self.data = data
        self.seed = seed
        self.logs = logs
        self.base_url = ""
        self.starts = 0
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    def start(self) -> str:
        """Start the process and wait until it says it serves; return its base URL."""
        self.starts += 1
        log = self.logs / f"sandbox-{self.starts}.log"
        command = [sys.executable, "-m", "taskrouter_flask.sandbox", "--port", "0"]
        command += ["--data", str(self.data), "--seed", str(self.seed)]
        with log.open("w") as stderr:
            self._process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=stderr, text=True
            )
        lines: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=_read_lines, args=(self._process, lines))
        self._reader.start()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                match = READY.search(lines.get(timeout=0.1))
            except queue.Empty:
                if self._process.poll() is not None:
                    break
                continue
            if match:
                self.base_url = match.group(1)
                return self.base_url
        raise AssertionError(
            f"sandbox start #{self.starts} on {self.data} did not become ready"
            f" (exit code {self._process.poll()}); its stderr:\n{log.read_text()[-3000:]}"
        )

    def kill(self) -> None:
        """SIGKILL the process (if running) and reap it."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.wait(timeout=JOIN_TIMEOUT)
        if self._reader is not None:
            self._reader.join(timeout=JOIN_TIMEOUT)  # its stdout is at EOF now
        if process.stdout is not None:
            process.stdout.close()


def _read_lines(process: subprocess.Popen[str], lines: queue.Queue[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        lines.put(line)


def _client(base_url: str, workspace_sid: str | None = None) -> TaskRouterClient:
    return TaskRouterClient(
        ACCOUNT_SID,
        AUTH_TOKEN,
        workspace_sid,
        base_url=base_url,
        timeout=CLIENT_TIMEOUT,
        max_retries=0,
    )


# -- what was acknowledged ----------------------------------------------------------------


@dataclass
class Expected:
    """The writes to one field of one resource: the last acknowledged, and unanswered ones since."""

    acked: Any = None
    acked_round: int | None = None
    maybe: list[Any] = field(default_factory=list)

    def candidates(self) -> list[Any]:
        return ([self.acked] if self.acked_round is not None else []) + self.maybe


class Ledger:
    """Per ``(kind, SID, field)``, the acknowledged writes in order (only the last one matters).

    Each resource is written by one thread only, so acknowledgement order is write order.
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.fields: dict[tuple[str, str, str], Expected] = {}

    def ack(self, key: tuple[str, str, str], value: Any, round_no: int) -> None:
        with self.lock:
            self.fields[key] = Expected(value, round_no)

    def unanswered(self, key: tuple[str, str, str], value: Any) -> None:
        with self.lock:
            self.fields.setdefault(key, Expected()).maybe.append(value)


def _matches(key: tuple[str, str, str], observed: Any, expected: Any) -> bool:
    kind, _, name = key
    if kind == "worker" and name == "attributes":
        # At least the acknowledged attributes.
        return isinstance(observed, dict) and all(observed.get(k) == v for k, v in expected.items())
    return bool(observed == expected)


def check_ledger(ledger: Ledger, client: TaskRouterClient, round_no: int) -> list[Problem]:
    """Compare every tracked field with what the restarted sandbox serves.

    Each loss is reported once: afterwards what the sandbox serves is the new baseline.
    """
    tasks = {t.sid: t for t in client.tasks.list(page_size=1000)}
    workers = {w.sid: w for w in client.workers.list(page_size=1000)}
    problems = []
    gone: set[tuple[str, str]] = set()
    with ledger.lock:
        for key, expected in list(ledger.fields.items()):
            kind, sid, name = key
            if expected.acked_round is None and not expected.maybe:
                continue
            resource = (tasks if kind == "task" else workers).get(sid)
            if resource is None:
                if expected.acked_round is not None and (kind, sid) not in gone:
                    gone.add((kind, sid))
                    problems.append(
                        Problem(
                            round_no,
                            f"lost {kind}",
                            f"{sid} ({name} acknowledged in round {expected.acked_round}:"
                            f" {expected.acked!r}) is gone after the restart",
                        )
                    )
                del ledger.fields[key]
                continue
            if name == "attributes":  # a list leaves attributes out: fetch the one resource
                fetch = client.tasks.fetch if kind == "task" else client.workers.fetch
                resource = fetch(sid)
            observed = getattr(resource, name)
            if expected.acked_round is None:
                # Only unanswered writes: whichever state is there is fine. Keep it as the
                # baseline only if it is one of them (a task that stays canceled, say).
                applied = any(_matches(key, observed, c) for c in expected.maybe)
                ledger.fields[key] = Expected(observed, round_no) if applied else Expected()
                continue
            if not any(_matches(key, observed, c) for c in expected.candidates()):
                problems.append(
                    Problem(
                        round_no,
                        f"lost {kind} {name}",
                        f"{sid}: acknowledged {expected.acked!r} in round {expected.acked_round}"
                        f" (unanswered writes since: {expected.maybe!r}),"
                        f" after the restart: {observed!r}",
                    )
                )
            ledger.fields[key] = Expected(observed, round_no)
    return problems


# -- the writers --------------------------------------------------------------------------


@dataclass
class World:
    """What the writers share: the provisioned SIDs, the ledger, and the SIDs seen."""

    workspace_sid: str
    workflow_sid: str
    activities: dict[str, str]
    workers: list[str]
    ledger: Ledger
    sids: SidRegistry
    receiver: Receiver
    seed: int
    tasks: dict[int, list[str]] = field(default_factory=dict)  # per writer
    done: set[str] = field(default_factory=set)  # tasks completed or canceled
    errors: list[Problem] = field(default_factory=list)
    counter: Iterator[int] = field(default_factory=itertools.count)


class Writer:
    """One client thread: writes as fast as it can to the resources it alone owns."""

    def __init__(self, world: World, index: int, base_url: str, round_no: int) -> None:
        self.world = world
        self.index = index
        self.round = round_no
        self.client = _client(base_url, world.workspace_sid)
        self.rng = random.Random(f"{world.seed}/{round_no}/{index}")
        self.workers = world.workers[index::WRITER_THREADS]
        self.tasks = world.tasks.setdefault(index, [])
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"writer-{index}", daemon=True)

    def _run(self) -> None:
        try:
            while not self.stop.is_set() and self._write_once():
                pass
        except Exception as exc:  # reported by the test, not lost in a thread
            self.world.errors.append(Problem(self.round, "writer crashed", repr(exc)))
        finally:
            self.client.close()

    def _write_once(self) -> bool:
        """One write; False once the sandbox stopped answering."""
        roll = self.rng.random()
        open_tasks = [t for t in self.tasks if t not in self.world.done]
        if roll < 0.4 or not open_tasks:
            return self._create_task()
        if roll < 0.6:
            return self._worker_attributes()
        if roll < 0.7:
            return self._worker_activity()
        if roll < 0.85:
            return self._task_attributes(self.rng.choice(open_tasks))
        return self._finish_task(open_tasks)

    def _unique(self) -> int:
        return next(self.world.counter)

    def _create_task(self) -> bool:
        n = self._unique()
        attributes = {"n": n, "round": self.round, "accept": self.rng.random() < 0.6}
        try:
            task = self.client.tasks.create(
                workflow_sid=self.world.workflow_sid, attributes=attributes
            )
        except (TransportError, ServerError):
            return False
        except ApiError:
            return True
        self.world.sids.see("task", task.sid, attributes, self.round, "2xx to create")
        self.tasks.append(task.sid)
        self.world.ledger.ack(("task", task.sid, "attributes"), attributes, self.round)
        return True

    def _send(self, key: tuple[str, str, str], value: Any, call: Callable[[], Any]) -> bool:
        try:
            call()
        except (TransportError, ServerError):
            self.world.ledger.unanswered(key, value)
            return False
        except ApiError:  # refused (e.g. completing a task not assigned): not applied
            return True
        self.world.ledger.ack(key, value, self.round)
        return True

    def _worker_attributes(self) -> bool:
        sid = self.rng.choice(self.workers)
        attributes = {"name": sid, "v": self._unique()}
        return self._send(
            ("worker", sid, "attributes"),
            attributes,
            lambda: self.client.workers.update(sid, attributes=attributes),
        )

    def _worker_activity(self) -> bool:
        sid = self.rng.choice(self.workers)
        activity = self.world.activities[self.rng.choice(["Available", "Offline"])]
        return self._send(
            ("worker", sid, "activity_sid"),
            activity,
            lambda: self.client.workers.update(sid, activity_sid=activity),
        )

    def _task_attributes(self, sid: str) -> bool:
        attributes = {"n": self._unique(), "round": self.round, "updated": True}
        return self._send(
            ("task", sid, "attributes"),
            attributes,
            lambda: self.client.tasks.update(sid, attributes=attributes),
        )

    def _finish_task(self, open_tasks: list[str]) -> bool:
        with self.world.receiver.lock:
            accepted = [t for t in open_tasks if t in self.world.receiver.accepted]
        if accepted:
            sid, status = self.rng.choice(accepted), "completed"
        else:
            sid, status = self.rng.choice(open_tasks), "canceled"
        self.world.done.add(sid)  # tried once; later writes to it would only be refused
        return self._send(
            ("task", sid, "assignment_status"),
            status,
            lambda: self.client.tasks.update(sid, assignment_status=status, reason="crash test"),
        )


# -- provisioning, rounds, checks ---------------------------------------------------------


def provision(base_url: str, receiver: Receiver, ledger: Ledger) -> dict[str, Any]:
    """A workspace calling the receiver back, one queue, one workflow, Available workers."""
    with _client(base_url) as root:
        workspace = root.workspaces.create(
            friendly_name="Crash", event_callback_url=receiver.base_url + "/events"
        )
        client = root.for_workspace(workspace.sid)
        activities = {a.friendly_name or "": a.sid for a in client.activities.list()}
        queue_ = client.task_queues.create(friendly_name="Everyone", target_workers="1==1")
        workflow = client.workflows.create(
            friendly_name="Crash",
            configuration=WorkflowConfiguration(default_filter=Target(queue=queue_.sid)),
            assignment_callback_url=receiver.base_url + "/assignment",
            task_reservation_timeout=3600,  # no reservation times out during the test
        )
        workers = []
        for i in range(WORKERS):
            attributes = {"name": f"w{i}", "v": -1}
            worker = client.workers.create(
                friendly_name=f"w{i}", activity_sid=activities["Available"], attributes=attributes
            )
            workers.append(worker.sid)
            ledger.ack(("worker", worker.sid, "attributes"), attributes, 0)
            ledger.ack(("worker", worker.sid, "activity_sid"), activities["Available"], 0)
    return {
        "workspace_sid": workspace.sid,
        "workflow_sid": workflow.sid,
        "activities": activities,
        "workers": workers,
    }


def write_then_kill(
    world: World, sandbox: SandboxProcess, round_no: int, delay: float, *, kill: bool = True
) -> None:
    """Writers hammer the sandbox; SIGKILL it after ``delay`` seconds; wait for the writers.

    With ``kill=False`` the writers are only stopped, and the sandbox keeps running.
    """
    writers = [Writer(world, i, sandbox.base_url, round_no) for i in range(WRITER_THREADS)]
    for writer in writers:
        writer.thread.start()
    time.sleep(delay)
    if kill:
        sandbox.kill()
    for writer in writers:
        writer.stop.set()
    for writer in writers:
        writer.thread.join(timeout=JOIN_TIMEOUT)
        assert not writer.thread.is_alive(), f"round {round_no}: writer {writer.index} hangs"


def stray_files(data: Path, before_restart: set[str]) -> set[str]:
    """Files the kill left in the data directory that the restart did not clean up."""
    allowed = {data.name} | {data.name + suffix for suffix in SQLITE_COMPANIONS}
    now = set(os.listdir(data.parent))
    return (before_restart & now) - allowed


def report(problems: list[Problem], seed: int, examples: int = 4) -> str:
    """A summary per kind of problem, then the first few of each kind in full."""
    by_kind: dict[str, list[Problem]] = {}
    for problem in sorted(problems, key=lambda p: p.round):
        by_kind.setdefault(problem.kind, []).append(problem)
    lines = [f"the sandbox lost or re-used state across SIGKILLs (seed {seed}, {ROUNDS} rounds):"]
    for kind, found in by_kind.items():
        rounds = sorted({p.round for p in found})
        lines.append(f"- {kind}: {len(found)} time(s), in rounds {rounds}")
        lines += [f"    {p}" for p in found[:examples]]
        if len(found) > examples:
            lines.append(f"    ... and {len(found) - examples} more")
    return "\n".join(lines)


def test_no_acknowledged_write_is_lost_and_no_sid_is_reused_across_sigkills(
    tmp_path: Path,
) -> None:
    seed = random.randrange(2**31)
    rng = random.Random(seed)
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    data = data_dir / "sandbox.db"
    sids, ledger = SidRegistry(), Ledger()
    problems: list[Problem] = []
    reported_strays: set[str] = set()
    sandbox = SandboxProcess(data, seed, logs=tmp_path)
    with Receiver(sids) as receiver:
        try:
            receiver.round = 1
            base_url = sandbox.start()
            world = World(
                **provision(base_url, receiver, ledger),
                ledger=ledger,
                sids=sids,
                receiver=receiver,
                seed=seed,
            )
            for round_no in range(1, ROUNDS + 1):
                write_then_kill(world, sandbox, round_no, rng.uniform(*KILL_AFTER))
                left_by_kill = set(os.listdir(data_dir))
                receiver.round = round_no + 1
                base_url = sandbox.start()
                for name in sorted(stray_files(data, left_by_kill) - reported_strays):
                    reported_strays.add(name)
                    problems.append(Problem(round_no, "stray file", f"{name!r} in {data_dir}"))
                try:
                    with _client(base_url, world.workspace_sid) as client:
                        problems += check_ledger(ledger, client, round_no)
                except ApiError as exc:  # e.g. the provisioned workspace itself is gone
                    problems.append(Problem(round_no, "lost workspace", str(exc)))
                    break
            else:
                # Writes after the last restart expose the SIDs the last kill lost.
                write_then_kill(world, sandbox, ROUNDS + 1, 0.3, kill=False)
                receiver.wait_quiet()
        finally:
            sandbox.kill()
    problems += world.errors + sids.conflicts
    assert not problems, report(problems, seed)
