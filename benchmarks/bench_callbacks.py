"""Benchmark the assignment callback against baselines measured in the same run.

Three comparisons, each printed as a ratio against a baseline that runs in the
same process, interleaved with the subject round by round (the order flips
every round), so that both see the same machine state. Figures are medians of
rounds; ratios are the median of each round's own ratio.

1. In-process WSGI: the full ``POST /taskrouter/assignment`` with the default
   settings (signature check, form parsing, duplicate detection in memory,
   dispatch to a ``when=`` handler with a fallback registered, instruction
   JSON) against a bare Flask route answering the same JSON, both called
   through their WSGI callables with a prebuilt environ. The requests cycle
   through a pool of bodies signed up front that differ in ``ReservationSid``,
   and each batch gets a new application, so every request is a first delivery.
2. Over real HTTP: the same two applications served on 127.0.0.1 (gunicorn, one
   sync worker, when installed; else werkzeug's server in a thread), one client
   connection, a fixed number of requests per round and a time cap. One signed
   body is repeated here, so the subject runs with duplicate detection off.
3. The signature check alone: :func:`taskrouter_flask.signature.validate_signature`
   against ``twilio.request_validator.RequestValidator.validate`` (the ``bench``
   extra installs ``twilio``).

Run ``python -m benchmarks.bench_callbacks`` (about 35 s) or add ``--quick``
(about 10 s); ``--profile`` prints a cProfile of the in-process path instead.
Nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import hashlib
import http.client
import importlib.util
import io
import itertools
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from wsgiref.types import WSGIApplication

from flask import Flask, Response, request
from werkzeug.test import EnvironBuilder

from taskrouter_flask.schemas import load_assignment, parse_form
from taskrouter_flask.signature import compute_signature, validate_signature
from taskrouter_flask.testing import assignment_payload, signed_form

if not __package__:  # run as a file (python benchmarks/bench_callbacks.py)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common

__all__ = ["build_bare_app", "build_taskrouter_app", "main", "realistic_payload"]

#: A made-up auth token of the real shape (32 hex digits).
AUTH_TOKEN = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"
ASSIGNMENT_PATH = "/taskrouter/assignment"
#: The URL the in-process app rebuilds from a test environ (no Host header given).
LOCAL_URL = "http://localhost" + ASSIGNMENT_PATH
#: The URL of part 3: what a deployed app behind TLS is called on.
PUBLIC_URL = "https://callbacks.example.com" + ASSIGNMENT_PATH
WSGI_TARGET = 0.85
SIGNATURE_TARGET = 5.0
#: Distinct signed bodies of part 1: at least the requests of a batch, so that none repeats
#: within one (each batch has a new application, whose once-only store starts empty).
POOL_SIZE = 4096
#: Where a WSGI environ keeps the X-Twilio-Signature header.
_SIGNATURE_KEY = "HTTP_X_TWILIO_SIGNATURE"


@dataclass(frozen=True, slots=True)
class Plan(common.Plan):
    """How many requests (part 1, part 2) and signature checks (part 3) a round makes."""

    wsgi_requests: int
    http_requests: int
    http_cap: float
    signature_calls: int


FULL = Plan(
    "full", rounds=11, wsgi_requests=4000, http_requests=2000, http_cap=3.0, signature_calls=8000
)
QUICK = Plan(
    "quick", rounds=5, wsgi_requests=1500, http_requests=600, http_cap=1.0, signature_calls=3000
)


# -- payload and applications -----------------------------------------------------------


def _sid(prefix: str) -> str:
    return prefix + hashlib.sha256(prefix.encode()).hexdigest()[:32]


def realistic_payload() -> dict[str, str]:
    """Return the 12 form fields of an assignment callback, with fixed realistic values."""
    task_attributes = {
        "type": "support",
        "channel": "voice",
        "call_sid": _sid("CA"),
        "from": "+14155550123",
        "to": "+18005550199",
        "language": "en-US",
        "skills": ["billing", "refunds"],
        "customer": {"id": "cus_8842", "tier": "gold", "name": "Ada Lovelace"},
    }
    worker_attributes = {
        "contact_uri": "client:alice",
        "department": "support",
        "languages": ["en-US", "es-MX"],
        "skills": ["billing", "refunds", "sales"],
        "level": 2,
    }
    return assignment_payload(
        task_attributes=task_attributes,
        worker_attributes=worker_attributes,
        task_age=37,
        task_priority=10,
        account_sid=_sid("AC"),
        workspace_sid=_sid("WS"),
        workflow_sid=_sid("WW"),
        task_queue_sid=_sid("WQ"),
        task_sid=_sid("WT"),
        worker_sid=_sid("WK"),
        reservation_sid=_sid("WR"),
        Timestamp="1795701801",
    )


def build_taskrouter_app(auth_token: str = AUTH_TOKEN, *, dedup: bool = True) -> Flask:
    """The subject: a TaskRouter app with a ``when=`` handler and a fallback, signatures on.

    :param dedup: keep the default duplicate detection (in memory). Off only where every
        request repeats one signed body (part 2, like load.py): a repeat is answered from
        the replay cache without dispatch, which is not the path being measured.
    """
    config: dict[str, object] = {} if dedup else {"TASKROUTER_DEDUP": None}
    return common.taskrouter_app(__name__, auth_token, **config)[0]


def build_bare_app() -> Flask:
    """The baseline: a plain Flask route answering the same instruction JSON."""
    return common.bare_app(__name__, ASSIGNMENT_PATH, '{"instruction":"accept"}')


def build_handwritten_app(auth_token: str = AUTH_TOKEN) -> Flask | None:
    """A second baseline: the secure route people write by hand from Twilio's quickstarts.

    It checks the signature with twilio's ``RequestValidator``, decodes the
    attributes and answers by the same rule as the subject. ``None`` when the
    ``twilio`` package (the ``bench`` extra) is not installed.
    """
    try:
        from twilio.request_validator import RequestValidator
    except ImportError:
        return None
    validator = RequestValidator(auth_token)
    app = Flask(__name__)

    @app.post(ASSIGNMENT_PATH)
    def assignment() -> Response:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not validator.validate(request.url, request.form, signature):
            return Response(status=403)
        task = json.loads(request.form["TaskAttributes"])
        json.loads(request.form["WorkerAttributes"])
        instruction = "accept" if task.get("type") == "support" else "reject"
        return Response(json.dumps({"instruction": instruction}), mimetype="application/json")

    return app


# -- 1. in-process WSGI ----------------------------------------------------------------


class _StartResponse:
    """A WSGI ``start_response`` that keeps the last status and discards writes."""

    def __init__(self) -> None:
        self.status = ""

    def __call__(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None, /
    ) -> Callable[[bytes], object]:
        self.status = status
        return _discard


def _discard(data: bytes) -> object:
    return None


@dataclass(frozen=True, slots=True)
class SignedPool:
    """Signed assignment bodies of one length that differ only in ``ReservationSid``.

    Signed once, up front, so the timed loop only picks the next one; a
    request carries its body and, in the environ, its signature.
    """

    template: dict[str, Any]
    requests: list[tuple[bytes, str]]  # (body, X-Twilio-Signature)
    fields: int

    @property
    def first(self) -> tuple[bytes, str]:
        return self.requests[0]

    def environ(self, body: bytes, signature: str) -> dict[str, Any]:
        environ = dict(self.template)
        environ[_SIGNATURE_KEY] = signature
        environ["wsgi.input"] = io.BytesIO(body)
        return environ


def signed_pool(url: str, size: int = POOL_SIZE) -> SignedPool:
    """``size`` realistic assignment bodies signed for ``url``, reservation SIDs all distinct."""
    payload = realistic_payload()
    requests = []
    headers: dict[str, str] = {}
    for index in range(size):
        payload["ReservationSid"] = f"WR{index:032x}"
        body, headers = signed_form(url, payload, AUTH_TOKEN)
        requests.append((body, headers["X-Twilio-Signature"]))
    lengths = {len(body) for body, _ in requests}
    if len(lengths) != 1:  # the template's CONTENT_LENGTH serves them all
        raise common.BenchmarkError(f"the pool's bodies differ in length: {sorted(lengths)}")
    template = _wsgi_environ(requests[0][0], headers)
    if template.get(_SIGNATURE_KEY) != headers["X-Twilio-Signature"]:
        raise common.BenchmarkError(
            f"the environ keeps the signature elsewhere than {_SIGNATURE_KEY}"
        )
    return SignedPool(template, requests, len(payload))


def _wsgi_environ(body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    builder = EnvironBuilder(
        path=ASSIGNMENT_PATH,
        method="POST",
        base_url="http://localhost",
        headers=list(headers.items()),
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    environ["CONTENT_LENGTH"] = str(len(body))
    environ["wsgi.input"] = io.BytesIO(body)
    return environ


def _call_once(app: WSGIApplication, environ: dict[str, Any]) -> tuple[str, bytes]:
    start_response = _StartResponse()
    result = app(environ, start_response)
    try:
        content = b"".join(result)
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return start_response.status, content


def _check_answer(name: str, status: int | str, content: bytes) -> None:
    if str(status).split()[0] != "200" or json.loads(content) != {"instruction": "accept"}:
        raise common.BenchmarkError(
            f"{name} answered {status} {content[:200]!r}, expected an accept"
        )


def _wsgi_batch(app: WSGIApplication, pool: SignedPool, n: int) -> float:
    """Return the seconds ``n`` requests take, each with a fresh environ and input stream.

    The requests go through the pool in order; it must hold at least ``n``, so that no
    body repeats within the batch.
    """
    if n > len(pool.requests):
        raise common.BenchmarkError(f"{n} requests from a pool of {len(pool.requests)}")
    start_response = _StartResponse()
    bytes_io = io.BytesIO
    template = pool.template
    key = _SIGNATURE_KEY
    requests = itertools.islice(pool.requests, n)
    gc.collect()
    start = time.perf_counter()
    for body, signature in requests:
        environ = dict(template)
        environ[key] = signature
        environ["wsgi.input"] = bytes_io(body)
        result = app(environ, start_response)
        for _chunk in result:
            pass
        close = getattr(result, "close", None)
        if close is not None:
            close()
    return time.perf_counter() - start


def run_wsgi(plan: Plan) -> None:
    """Part 1: the full assignment request against a bare Flask route, in process."""
    pool = signed_pool(LOCAL_URL)
    body, signature = pool.first
    bare = build_bare_app()
    for name, app in (("taskrouter_flask", build_taskrouter_app()), ("bare Flask", bare)):
        _check_answer(name, *_call_once(app, pool.environ(body, signature)))
    n = plan.wsgi_requests
    # The subject gets a new application (an empty once-only store) for every batch, built
    # before the batch's clock starts.
    _wsgi_batch(bare, pool, n // 4)  # warm-up, not counted
    _wsgi_batch(build_taskrouter_app(), pool, n // 4)
    bare_s, ours_s = common.interleave(
        plan.rounds,
        lambda: _wsgi_batch(bare, pool, n),
        lambda: _wsgi_batch(build_taskrouter_app(), pool, n),
    )
    ratios = [b / o for b, o in zip(bare_s, ours_s, strict=True)]
    ratio = statistics.median(ratios)
    print(
        f"1. In-process WSGI: POST {ASSIGNMENT_PATH}, signed {pool.fields}-field form"
        f" ({len(body)} bytes), default settings (duplicate detection in memory)\n"
        f"   {n} requests x {plan.rounds} rounds, each a first delivery (pool of"
        f" {len(pool.requests)} bodies signed up front, reservation SIDs distinct; a new app"
        " per batch); fresh environ copy and wsgi.input per request"
    )
    common.row("bare Flask route (baseline)", f"{n / statistics.median(bare_s):,.0f} req/s")
    common.row("taskrouter_flask", f"{n / statistics.median(ours_s):,.0f} req/s")
    common.row(
        "ratio ours/bare",
        f"{ratio:.2f}",
        common.target_note(ratio, ">=", WSGI_TARGET, ".2f", rounds=ratios),
    )
    handwritten = build_handwritten_app()
    if handwritten is None:
        print("   hand-written route with RequestValidator: skipped (pip install .[bench])")
        return
    _check_answer("hand-written", *_call_once(handwritten, pool.environ(body, signature)))
    _wsgi_batch(handwritten, pool, n // 4)
    hand_s, ours_s = common.interleave(
        plan.rounds,
        lambda: _wsgi_batch(handwritten, pool, n),
        lambda: _wsgi_batch(build_taskrouter_app(), pool, n),
    )
    hand_ratios = [h / o for h, o in zip(hand_s, ours_s, strict=True)]
    common.row("hand-written + RequestValidator", f"{n / statistics.median(hand_s):,.0f} req/s")
    common.row("taskrouter_flask (same rounds)", f"{n / statistics.median(ours_s):,.0f} req/s")
    common.row(
        "ratio ours/hand-written",
        f"{statistics.median(hand_ratios):.2f}",
        f"({common.spread(hand_ratios)})",
    )


# -- 2. over real HTTP -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _HttpBatch:
    requests: int
    seconds: float
    latencies: list[float]
    capped: bool

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


_GUNICORN_MODULE = '''\
"""Written by benchmarks/bench_callbacks.py: the two applications it serves."""
import sys

sys.path.insert(0, {root!r})
from benchmarks.bench_callbacks import build_bare_app, build_taskrouter_app

taskrouter_app = build_taskrouter_app({token!r}, dedup=False)
bare_app = build_bare_app()
'''


def _post(
    connection: http.client.HTTPConnection, body: bytes, headers: Mapping[str, str]
) -> tuple[int, bytes]:
    connection.request("POST", ASSIGNMENT_PATH, body=body, headers=dict(headers))
    response = connection.getresponse()
    return response.status, response.read()


def _http_batch(
    port: int, body: bytes, headers: Mapping[str, str], n: int, cap: float
) -> _HttpBatch:
    """Send up to ``n`` requests on one connection (reopened if the server closes it)."""
    headers = dict(headers)
    latencies: list[float] = []
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    capped = False
    try:
        gc.collect()
        start = time.perf_counter()
        deadline = start + cap
        for _ in range(n):
            sent = time.perf_counter()
            connection.request("POST", ASSIGNMENT_PATH, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            done = time.perf_counter()
            latencies.append(done - sent)
            if response.status != 200:
                raise common.BenchmarkError(f"127.0.0.1:{port} answered {response.status}")
            if done > deadline:
                capped = len(latencies) < n
                break
        seconds = time.perf_counter() - start
    finally:
        connection.close()
    return _HttpBatch(len(latencies), seconds, latencies, capped)


def _server_kind(requested: str) -> str:
    if requested != "auto":
        return requested
    has_gunicorn = importlib.util.find_spec("gunicorn") is not None
    return "gunicorn" if has_gunicorn and os.name == "posix" else "werkzeug"


def run_http(plan: Plan, server: str) -> None:
    """Part 2: both applications behind a real server on 127.0.0.1, one client connection."""
    kind = _server_kind(server)
    with contextlib.ExitStack() as stack:
        if kind == "gunicorn":
            app_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="trbench-")))
            module = _GUNICORN_MODULE.format(root=str(common.PROJECT_ROOT), token=AUTH_TOKEN)
            (app_dir / "trbench_apps.py").write_text(module)
            ours_port, bare_port = (
                stack.enter_context(
                    common.gunicorn(
                        target,
                        app_dir=app_dir,
                        log_dir=app_dir,
                        options=("--workers=1", "--worker-class=sync"),
                    )
                )
                for target in ("trbench_apps:taskrouter_app", "trbench_apps:bare_app")
            )
            served = "gunicorn, 1 sync worker per app (closes the connection after each response)"
        else:
            ours_port, bare_port = (
                stack.enter_context(common.serve_in_thread(app, threaded=False))
                for app in (build_taskrouter_app(dedup=False), build_bare_app())
            )
            common.wait_until_serving(ours_port)
            common.wait_until_serving(bare_port)
            served = "werkzeug make_server, in a thread of this process (shares its GIL)"
        payload = realistic_payload()
        body, headers = signed_form(
            f"http://127.0.0.1:{ours_port}{ASSIGNMENT_PATH}", payload, AUTH_TOKEN
        )
        for name, port in (("taskrouter_flask", ours_port), ("bare Flask", bare_port)):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                _check_answer(name, *_post(connection, body, headers))
            finally:
                connection.close()
        n, cap = plan.http_requests, plan.http_cap
        _http_batch(bare_port, body, headers, n // 4, cap)  # warm-up, not counted
        _http_batch(ours_port, body, headers, n // 4, cap)
        bare, ours = common.interleave(
            plan.rounds,
            lambda: _http_batch(bare_port, body, headers, n, cap),
            lambda: _http_batch(ours_port, body, headers, n, cap),
        )
    ratios = [o.rate / b.rate for b, o in zip(bare, ours, strict=True)]
    ratio = statistics.median(ratios)
    capped = sum(batch.capped for batch in bare + ours)
    print(
        f"2. Over HTTP on 127.0.0.1: {served}\n"
        f"   1 client connection, {n} requests x {plan.rounds} rounds,"
        f" cap {cap:.0f} s per batch" + (f" ({capped} batches capped)" if capped else "")
    )
    for label, batches in (("bare Flask route (baseline)", bare), ("taskrouter_flask", ours)):
        latencies = sorted(lat for batch in batches for lat in batch.latencies)
        rate = statistics.median(batch.rate for batch in batches)
        common.row(
            label,
            f"{rate:,.0f} req/s",
            f"p50 {common.percentile(latencies, 0.50) * 1e3:.2f} ms"
            f"  p99 {common.percentile(latencies, 0.99) * 1e3:.2f} ms",
        )
    common.row("throughput ratio ours/bare", f"{ratio:.2f}", f"({common.spread(ratios)})")


# -- 3. the signature check alone ------------------------------------------------------


def _signature_batch(check: Callable[[], object], n: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        check()
    return time.perf_counter() - start


def run_signature(plan: Plan) -> None:
    """Part 3: our validate_signature against twilio's RequestValidator.validate."""
    try:
        from twilio.request_validator import RequestValidator
    except ImportError:
        print(
            "3. Signature check alone: skipped, twilio is not installed"
            " (pip install -e '.[bench]' installs it)"
        )
        return
    params = realistic_payload()
    signature = compute_signature(PUBLIC_URL, params, AUTH_TOKEN)
    validator: Any = RequestValidator(AUTH_TOKEN)
    if validator.compute_signature(PUBLIC_URL, params) != signature:
        raise common.BenchmarkError("twilio and taskrouter_flask compute different signatures")
    if not validate_signature(PUBLIC_URL, params, signature, AUTH_TOKEN):
        raise common.BenchmarkError("validate_signature refused a good signature")
    if validator.validate(PUBLIC_URL, params, signature) is not True:
        raise common.BenchmarkError("RequestValidator.validate refused a good signature")

    def ours() -> object:
        return validate_signature(PUBLIC_URL, params, signature, AUTH_TOKEN)

    def theirs() -> object:
        return validator.validate(PUBLIC_URL, params, signature)

    n = plan.signature_calls
    _signature_batch(theirs, n // 4)  # warm-up, not counted
    _signature_batch(ours, n // 4)
    theirs_s, ours_s = common.interleave(
        plan.rounds, lambda: _signature_batch(theirs, n), lambda: _signature_batch(ours, n)
    )
    speedups = [t / o for t, o in zip(theirs_s, ours_s, strict=True)]
    speedup = statistics.median(speedups)
    print(
        f"3. Signature check alone: {len(params)}-field assignment payload, {PUBLIC_URL}\n"
        f"   {n} calls x {plan.rounds} rounds, both return True"
    )
    common.row(
        "twilio RequestValidator (baseline)", f"{statistics.median(theirs_s) / n * 1e6:.1f} us"
    )
    common.row(
        "taskrouter_flask validate_signature", f"{statistics.median(ours_s) / n * 1e6:.1f} us"
    )
    common.row(
        "speed-up twilio/ours",
        f"{speedup:.1f}x",
        common.target_note(speedup, ">=", SIGNATURE_TARGET, ".0f", "x", rounds=speedups),
    )


# -- profile ----------------------------------------------------------------------------


def run_profile(plan: Plan) -> None:
    """Print where the in-process assignment request spends its time."""
    pool = signed_pool(LOCAL_URL)
    body, signature = pool.first
    _check_answer(
        "taskrouter_flask", *_call_once(build_taskrouter_app(), pool.environ(body, signature))
    )
    app, taskrouter = common.taskrouter_app(__name__, AUTH_TOKEN)  # profiled: sees each body once
    n = plan.wsgi_requests
    _wsgi_batch(build_taskrouter_app(), pool, n // 4)
    profiler = cProfile.Profile()
    profiler.enable()
    _wsgi_batch(app, pool, n)
    profiler.disable()
    print(
        f"cProfile of {n} in-process assignment requests (default settings, each a first"
        " delivery), top 15 by cumulative time:"
    )
    stats = pstats.Stats(profiler, stream=sys.stdout)
    stats.strip_dirs().sort_stats("cumulative").print_stats(15)

    fields = parse_form(body)
    assignment = load_assignment(fields)
    dispatcher = taskrouter.dispatcher
    bare = build_bare_app()
    requests: list[tuple[str, Callable[[], float]]] = [
        ("whole request, taskrouter_flask", lambda: _wsgi_batch(build_taskrouter_app(), pool, n)),
        ("whole request, bare Flask route", lambda: _wsgi_batch(bare, pool, n)),
    ]
    stages: list[tuple[str, Callable[[], object]]] = [
        ("parse_form(body)", lambda: parse_form(body)),
        (
            "validate_signature(url, fields, ...)",
            lambda: validate_signature(LOCAL_URL, fields, signature, (AUTH_TOKEN,)),
        ),
        ("load_assignment(fields)", lambda: load_assignment(fields)),
        ("dispatcher.dispatch_assignment(a)", lambda: dispatcher.dispatch_assignment(assignment)),
    ]
    print("Stages timed without the profiler (median of rounds, per call):")
    for label, batch in requests:
        times = [batch() / n for _ in range(plan.rounds)]
        common.row(label, f"{statistics.median(times) * 1e6:.1f} us")
    for label, stage in stages:
        times = [_signature_batch(stage, n) / n for _ in range(plan.rounds)]
        common.row(label, f"{statistics.median(times) * 1e6:.1f} us")


# -- main -------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common.argument_parser(
        "bench_callbacks",
        "Benchmark taskrouter_flask's assignment callback against baselines"
        " measured in the same run. Prints figures; asserts nothing about timings.",
        quick="a ~10 s run with fewer requests",
        rounds="rounds per comparison (default 11, quick 5)",
    )
    common.add_only(parser, ("wsgi", "http", "signature"))
    parser.add_argument(
        "--server",
        choices=("auto", "gunicorn", "werkzeug"),
        default="auto",
        help="the server of part 2 (auto: gunicorn if importable)",
    )
    common.add_profile(parser, "the in-process assignment request")
    return common.parse_args(parser, argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks and print their figures; return the exit status."""
    args = _parse_args(argv)
    common.stop_on_sigterm()  # so that the servers of part 2 are stopped
    plan = common.choose_plan(args, QUICK, FULL)
    common.print_header(
        "callback benchmarks",
        plan.name,
        f"{plan.rounds} interleaved rounds",
        ("Flask", "Werkzeug", "marshmallow", "gunicorn", "twilio"),
    )
    if args.profile:
        return common.run_parts({"profile": lambda: run_profile(plan)}, timed=False)
    parts: dict[str, Callable[[], None]] = {
        "wsgi": lambda: run_wsgi(plan),
        "http": lambda: run_http(plan, args.server),
        "signature": lambda: run_signature(plan),
    }
    return common.run_parts(parts, args.only)


if __name__ == "__main__":
    raise SystemExit(main())
