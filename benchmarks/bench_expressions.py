"""Benchmark compiled TaskRouter expressions against hand-written Python.

Two parts, printed as figures; nothing here asserts on timings.

1. Evaluation: ``compile_expression(FILTER).evaluate(attrs)`` against the
   hand-written ``lambda a: a.get("type") == "ticket" and ...`` that people write
   instead, on the same attributes (one matching set, and two that do not match:
   at the first clause and at the last). The two alternate round by round (the
   order flips every round); figures are medians of rounds and the ratio is the
   median of each round's own ratio. Target: ours/lambda <= 1.5.
2. Compilation: the uncached cost of parsing and compiling a few expressions of
   different sizes (``compile_expression.__wrapped__``), and the cost of a cache
   hit, in microseconds per expression.

The "floor" row is a function that returns ``False`` at once, called the same way:
what every call costs before any comparison is made.

Run ``python -m benchmarks.bench_expressions`` (about 13 s) or add ``--quick``
(about 2 s).
"""

from __future__ import annotations

import argparse
import functools
import gc
import statistics
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path
from typing import Any

from taskrouter_flask.expressions import Expression, compile_expression

if not __package__:  # run as a file (python benchmarks/bench_expressions.py)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import _common as common

__all__ = ["FILTER", "handwritten", "main"]

#: The filter of Twilio's workflow example ("Gold Tickets"), with a priority clause.
FILTER = "type == 'ticket' AND customer_value == 'Gold' AND priority > 5"
EVALUATION_TARGET = 1.5


def handwritten(a: Mapping[str, Any]) -> Any:
    """The baseline: the lambda one writes by hand for :data:`FILTER` (a ``def`` calls the same).

    ``lambda a: a.get("type") == "ticket" and a.get("customer_value") == "Gold"
    and a.get("priority", 0) > 5``
    """
    return (
        a.get("type") == "ticket" and a.get("customer_value") == "Gold" and a.get("priority", 0) > 5
    )


_BASE_ATTRIBUTES: dict[str, Any] = {
    "type": "ticket",
    "customer_value": "Gold",
    "priority": 7,
    "channel": "voice",
    "language": "en-US",
    "skills": ["billing", "refunds"],
    "customer": {"id": "cus_8842", "tier": "gold"},
}
#: (label, attributes, expected answer)
CASES: list[tuple[str, dict[str, Any], bool]] = [
    ("matching", _BASE_ATTRIBUTES, True),
    ("non-matching, first clause", {**_BASE_ATTRIBUTES, "type": "chat"}, False),
    ("non-matching, last clause", {**_BASE_ATTRIBUTES, "priority": 3}, False),
]

#: (label, expression) for part 2, from small to large.
COMPILE_CASES: list[tuple[str, str]] = [
    ("always true", "1==1"),
    ("one clause", "type == 'ticket'"),
    ("the filter above", FILTER),
    (
        "target, task./worker.",
        "task.requested_agent == worker.agent_id OR (worker.skills HAS task.skill"
        " AND worker.level >= 2)",
    ),
    (
        "large (12 clauses)",
        "(type == 'ticket' OR type == 'chat') AND customer.tier IN ['Gold', 'Platinum']"
        " AND NOT (language NOT IN ['en', 'es', 'fr']) AND priority > 5"
        " AND skills HAS 'billing' AND subject CONTAINS 'refund'"
        " AND (vip == true OR spend >= 1e4 OR customer.orders[0].total > 250.5)"
        " AND region != 'embargoed' AND age <= 30 AND attempts < 3",
    ),
]


@dataclass(frozen=True, slots=True)
class Plan(common.Plan):
    """How many evaluations (part 1) and compilations (part 2) a round makes."""

    calls: int
    compiles: int


FULL = Plan("full", rounds=11, calls=1_000_000, compiles=1_000)
QUICK = Plan("quick", rounds=5, calls=200_000, compiles=300)


# -- 1. evaluation ----------------------------------------------------------------------


def _nothing(a: Mapping[str, Any]) -> bool:
    return False


def _call_batch(
    function: Callable[[Mapping[str, Any]], Any], attrs: Mapping[str, Any], n: int
) -> float:
    """Return the seconds ``n`` calls of ``function(attrs)`` take."""
    gc.collect()
    start = time.perf_counter()
    for _ in repeat(None, n):
        function(attrs)
    return time.perf_counter() - start


def run_evaluation(plan: Plan) -> None:
    """Part 1: the compiled filter against the hand-written lambda, per call."""
    expression = compile_expression(FILTER)
    ours = expression.evaluate
    theirs = handwritten
    for label, attrs, expected in CASES:
        answers = (ours(attrs), theirs(attrs))
        if answers != (expected, expected):
            raise common.BenchmarkError(f"{label}: answers {answers}, expected {expected}")
    n = plan.calls
    print(
        f"1. Evaluation: compile_expression({FILTER!r}).evaluate(attrs)\n"
        f'   against lambda a: a.get("type") == "ticket" and a.get("customer_value") == "Gold"'
        f' and a.get("priority", 0) > 5\n'
        f"   {len(_BASE_ATTRIBUTES)}-key attributes, {n} calls x {plan.rounds} rounds per case"
    )
    for label, attrs, _expected in CASES:
        _call_batch(theirs, attrs, n // 4)  # warm-up, not counted
        _call_batch(ours, attrs, n // 4)
        theirs_s, ours_s = common.interleave(
            plan.rounds,
            functools.partial(_call_batch, theirs, attrs, n),
            functools.partial(_call_batch, ours, attrs, n),
        )
        ratios = [o / t for t, o in zip(theirs_s, ours_s, strict=True)]
        ratio = statistics.median(ratios)
        floor = [_call_batch(_nothing, attrs, n) for _ in range(plan.rounds)]
        print(f"   {label}:")
        common.row(
            "  call + loop floor (returns False)", f"{statistics.median(floor) / n * 1e9:.0f} ns"
        )
        common.row(
            "  hand-written lambda (baseline)", f"{statistics.median(theirs_s) / n * 1e9:.0f} ns"
        )
        common.row("  compiled expression", f"{statistics.median(ours_s) / n * 1e9:.0f} ns")
        common.row(
            "  ratio ours/lambda",
            f"{ratio:.2f}",
            common.target_note(ratio, "<=", EVALUATION_TARGET, ".1f", rounds=ratios),
        )


# -- 2. compilation ---------------------------------------------------------------------


def _compile_batch(compile_: Callable[[str], Expression], text: str, n: int) -> float:
    gc.collect()
    start = time.perf_counter()
    for _ in repeat(None, n):
        compile_(text)
    return time.perf_counter() - start


def run_compilation(plan: Plan) -> None:
    """Part 2: uncached compile time per expression, and a cache hit."""
    uncached: Callable[[str], Expression] = compile_expression.__wrapped__
    n = plan.compiles
    print(
        "2. Compilation: compile_expression.__wrapped__(text) (parse + code generation,"
        f" no cache)\n   {n} compiles x {plan.rounds} rounds per expression"
    )
    for label, text in COMPILE_CASES:
        uncached(text)  # warm-up, and a check that it parses
        times = [_compile_batch(uncached, text, n) / n for _ in range(plan.rounds)]
        common.row(f"{label} ({len(text)} chars)", f"{statistics.median(times) * 1e6:.1f} us")
    compile_expression(FILTER)
    hits = plan.compiles * 100
    times = [_compile_batch(compile_expression, FILTER, hits) / hits for _ in range(plan.rounds)]
    common.row("cache hit, compile_expression(FILTER)", f"{statistics.median(times) * 1e9:.0f} ns")


# -- main -------------------------------------------------------------------------------


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = common.argument_parser(
        "bench_expressions",
        "Benchmark compiled TaskRouter expressions against a hand-written lambda,"
        " and their compile time. Prints figures; asserts nothing about timings.",
        quick="a ~2 s run with fewer calls",
        rounds="rounds per comparison (default 11, quick 5)",
    )
    common.add_only(parser, ("evaluate", "compile"))
    return common.parse_args(parser, argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks and print their figures; return the exit status."""
    args = _parse_args(argv)
    plan = common.choose_plan(args, QUICK, FULL)
    common.print_header("expression benchmarks", plan.name, f"{plan.rounds} rounds")
    parts: dict[str, Callable[[], None]] = {
        "evaluate": lambda: run_evaluation(plan),
        "compile": lambda: run_compilation(plan),
    }
    return common.run_parts(parts, args.only)


if __name__ == "__main__":
    raise SystemExit(main())
