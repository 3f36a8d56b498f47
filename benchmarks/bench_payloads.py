"""Benchmark the parsing stages of a callback alone, each against its old way, same run.

The full request (``bench_callbacks``) moves with everything around it: Flask,
the pipeline, the once-only store. These are the stages of
:mod:`taskrouter_flask.schemas` and :mod:`taskrouter_flask.signature` on the
realistic 12-field assignment of ``bench_callbacks``, so that a change to one
of them shows in its own figure:

1. ``parse_form(body)`` against the standard library's reading it replaced
   (``urllib.parse.parse_qsl``, blank values kept, strict UTF-8, grouped by name).
2. ``load_assignment(fields)`` and ``load_event(fields)`` against the
   marshmallow schemas with the same rules (``AssignmentSchema().load`` and
   ``EventSchema().load``, then ``raw`` frozen as the loaders do): what the
   table of rules saves over marshmallow's own machinery.
3. ``validate_signature`` and ``parse_json_body``: figures only (part 3 of
   ``bench_callbacks`` compares the signature check with twilio's).

Run ``python -m benchmarks.bench_payloads`` (about 20 s) or add ``--quick``.
Nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from taskrouter_flask.models import freeze
from taskrouter_flask.schemas import (
    AssignmentSchema,
    EventSchema,
    load_assignment,
    load_event,
    parse_form,
    parse_json_body,
)
from taskrouter_flask.signature import validate_signature
from taskrouter_flask.testing import event_payload, signed_form

if not __package__:  # run as a file (python benchmarks/bench_payloads.py)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common
from benchmarks.bench_callbacks import AUTH_TOKEN, LOCAL_URL, realistic_payload

__all__ = ["main"]


@dataclass(frozen=True, slots=True)
class Plan(common.Plan):
    """How many calls each side makes per round."""

    calls: int


FULL = Plan("full", rounds=11, calls=5000)
QUICK = Plan("quick", rounds=5, calls=1500)


def _stdlib_parse_form(body: bytes) -> dict[str, Any]:
    """How parse_form read a body before: urllib's parse_qsl, then grouped by name."""
    pairs = parse_qsl(
        body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=200
    )
    form: dict[str, Any] = {}
    for name, value in pairs:
        previous = form.get(name)
        if previous is None:
            form[name] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            form[name] = [previous, value]
    return form


def _batch(call: Callable[[], object], n: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for _ in range(n):
        call()
    return time.perf_counter() - start


def _compare(
    plan: Plan, label: str, baseline: tuple[str, Callable[[], object]], ours: Callable[[], object]
) -> None:
    n = plan.calls
    _batch(baseline[1], n // 4)  # warm-up, not counted
    _batch(ours, n // 4)
    base_s, ours_s = common.interleave(
        plan.rounds, lambda: _batch(baseline[1], n), lambda: _batch(ours, n)
    )
    speedups = [b / o for b, o in zip(base_s, ours_s, strict=True)]
    common.row(baseline[0], f"{statistics.median(base_s) / n * 1e6:.1f} us")
    common.row(label, f"{statistics.median(ours_s) / n * 1e6:.1f} us")
    common.row("speed-up", f"{statistics.median(speedups):.1f}x", f"({common.spread(speedups)})")


def _alone(plan: Plan, label: str, call: Callable[[], object]) -> None:
    n = plan.calls
    _batch(call, n // 4)
    micros = [_batch(call, n) / n * 1e6 for _ in range(plan.rounds)]
    common.row(label, f"{statistics.median(micros):.1f} us", f"({common.spread(micros, '.1f')})")


def run(plan: Plan) -> None:
    """Time every stage against its baseline, one after another."""
    payload = realistic_payload()
    body, headers = signed_form(LOCAL_URL, payload, AUTH_TOKEN)
    signature = headers["X-Twilio-Signature"]
    fields = parse_form(body)
    if fields != _stdlib_parse_form(body):
        raise common.BenchmarkError("parse_form and parse_qsl read the body differently")
    event = event_payload("reservation.accepted", task_attributes={"type": "support"})
    event_body = json.dumps(event).encode()
    assignment_schema, event_schema = AssignmentSchema(), EventSchema()
    if load_assignment(fields) != assignment_schema.load(fields):
        raise common.BenchmarkError("load_assignment and AssignmentSchema disagree")

    def schema_assignment() -> object:
        return freeze(fields), assignment_schema.load(fields)

    def schema_event() -> object:
        return freeze(event), event_schema.load(event)

    print(f"1. parse_form: the {len(payload)}-field assignment form ({len(body)} bytes)")
    _compare(
        plan,
        "parse_form(body)",
        ("urllib parse_qsl, grouped (baseline)", lambda: _stdlib_parse_form(body)),
        lambda: parse_form(body),
    )
    print("2. Loading the webhook payloads into models")
    _compare(
        plan,
        "load_assignment(fields)",
        ("AssignmentSchema().load (baseline)", schema_assignment),
        lambda: load_assignment(fields),
    )
    _compare(
        plan,
        f"load_event({len(event)} fields)",
        ("EventSchema().load (baseline)", schema_event),
        lambda: load_event(event),
    )
    print("3. Alone (median of rounds, per call)")
    _alone(
        plan,
        "validate_signature(url, fields, ...)",
        lambda: validate_signature(LOCAL_URL, fields, signature, (AUTH_TOKEN,)),
    )
    _alone(plan, f"parse_json_body ({len(event_body)} bytes)", lambda: parse_json_body(event_body))


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common.argument_parser(
        "bench_payloads",
        "Benchmark the parsing stages of a callback alone, each against its old way, in the"
        " same run. Prints figures; asserts nothing about timings.",
        quick="a few seconds, fewer calls",
        rounds="rounds per comparison (default 11, quick 5)",
    )
    return common.parse_args(parser, argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the comparisons and print their figures; return the exit status."""
    args = _parse_args(argv)
    plan = common.choose_plan(args, QUICK, FULL)
    common.print_header(
        "payload parsing benchmarks",
        plan.name,
        f"{plan.rounds} interleaved rounds of {plan.calls} calls",
        ("marshmallow",),
    )
    return common.run_parts({"payloads": lambda: run(plan)})


if __name__ == "__main__":
    raise SystemExit(main())
