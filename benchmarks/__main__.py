"""Run every benchmark of ``benchmarks/``, one after another: ``python -m benchmarks [--quick]``.

Each benchmark module (``bench_*.py`` and ``load.py``) runs in a process of its
own, ``python -m benchmarks.<name>``, with ``--quick`` passed through; its
figures are printed as it goes. The run ends with one line per benchmark: its
exit status and how long it took. Each is bounded in time (``--timeout``); one
that overruns is stopped with its servers (SIGTERM to its process group, then
SIGKILL). The exit status is 0 only if every benchmark exited with 0.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: The order the benchmarks run in; any other ``bench_*.py`` found runs after them.
ORDER = ("bench_callbacks", "bench_expressions", "bench_engine", "bench_sandbox", "load")
HERE = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Outcome:
    name: str
    status: int | None  # None: stopped after its time limit
    seconds: float

    def describe(self) -> str:
        if self.status is None:
            verdict = "TIMED OUT"
        elif self.status == 0:
            verdict = "exit 0"
        else:
            verdict = f"FAILED, exit {self.status}"
        return f"{self.name:<20}{verdict:<18}{self.seconds:>7.1f} s"


def discover() -> list[str]:
    """The benchmark modules in this directory, in :data:`ORDER` then by name."""
    found = {path.stem for path in HERE.glob("bench_*.py")}
    if (HERE / "load.py").exists():
        found.add("load")
    known = [name for name in ORDER if name in found]
    return known + sorted(found - set(known))


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop the benchmark and everything it started (it leads its own process group)."""
    for sig, wait in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        if process.poll() is not None:
            return
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue


def run_one(name: str, *, quick: bool, timeout: float) -> Outcome:
    command = [sys.executable, "-m", f"benchmarks.{name}"] + (["--quick"] if quick else [])
    print(f"=== {' '.join(['python', *command[1:]])}", flush=True)
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=HERE.parent, start_new_session=True)
    status: int | None
    try:
        status = process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"=== {name}: still running after {timeout:g} s, stopping it", flush=True)
        status = None
    finally:
        _stop_group(process)
    outcome = Outcome(name, status, time.perf_counter() - started)
    print(flush=True)
    return outcome


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    available = discover()
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Run every benchmark in benchmarks/, one after another, and summarise.",
    )
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark")
    parser.add_argument(
        "--only", choices=available, action="append", help="run only this benchmark (repeatable)"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        help="seconds each benchmark may take before it is stopped (default 900, quick 300)",
    )
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    return parser.parse_args(argv)


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # Unwind through run_one's ``finally``, which stops the running benchmark.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmarks and print a summary; return 0 if every one succeeded."""
    args = _parse_args(argv)
    names = discover()
    if args.list:
        print("\n".join(names))
        return 0
    selected = [name for name in names if not args.only or name in args.only]
    timeout = args.timeout or (300.0 if args.quick else 900.0)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    began = time.perf_counter()
    outcomes = [run_one(name, quick=args.quick, timeout=timeout) for name in selected]
    print(f"Summary ({'quick' if args.quick else 'full'} run, {len(outcomes)} benchmarks):")
    for outcome in outcomes:
        print(f"   {outcome.describe()}")
    print(f"   {'all':<20}{'':<18}{time.perf_counter() - began:>7.1f} s")
    return 0 if all(outcome.status == 0 for outcome in outcomes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
