"""``python -m example_app`` runs headless, routes real traffic and sums up truthfully."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _row(output: str, label: str) -> tuple[str, str]:
    match = re.search(rf"^\s+{re.escape(label)}\s+(\S+)\s+(\S+)$", output, re.MULTILINE)
    assert match, f"no {label!r} row in:\n{output}"
    return match.group(1), match.group(2)


def test_a_seeded_timed_run_routes_a_hundred_tasks_and_agrees_with_the_statistics() -> None:
    command = [
        sys.executable,
        "-m",
        "example_app",
        "--seed",
        "1",
        "--duration",
        "15",
        "--rate",
        "10",
        "--agents",
        "20",
        "--handle-time",
        "1",
        "--port",
        "0",
    ]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=90)

    assert run.returncode == 0, run.stdout + run.stderr
    out = run.stdout
    assert re.search(r"^Support desk on http://127\.0\.0\.1:\d+/ ", out, re.MULTILINE), out
    assert "10 tasks/s, 20 agents, seed 1; running for 15 s" in out
    created = _row(out, "tasks created")
    assigned = _row(out, "tasks assigned")
    completed = _row(out, "tasks completed")
    # Counted from the events the app received == TaskRouter's cumulative statistics.
    assert created[0] == created[1] and assigned[0] == assigned[1], out
    assert completed[0] == completed[1], out
    assert int(created[0]) >= 100, out
    assert int(assigned[0]) >= int(completed[0]) > 0, out
    mean_wait, statistics_wait = _row(out, "mean wait (s)")
    # The statistics round the mean to whole seconds; the summary shows one decimal.
    assert abs(float(mean_wait) - int(statistics_wait)) <= 0.55, out
    assert "totals agree with TaskRouter's statistics" in out
    assert re.search(r"reservations: accepted \d+, rejected \d+, timed out \d+, rescinded", out)
    assert "Traceback" not in run.stderr, run.stderr
