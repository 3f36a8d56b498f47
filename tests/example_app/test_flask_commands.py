"""``flask`` commands load the example desk without provisioning a workspace."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from taskrouter_flask.signature import compute_signature

ROOT = Path(__file__).resolve().parents[2]
URL = "http://127.0.0.1:5000/taskrouter/events"


def test_flask_taskrouter_sign_runs_against_the_example_app() -> None:
    env = {
        **os.environ,
        "FLASK_SUPPORT_DESK_PROVISION": "false",
        "FLASK_TASKROUTER_AUTH_TOKEN": "secret",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "flask", "--app", "example_app", "taskrouter", "sign"]
    result = subprocess.run(
        [*command, "--url", URL, "EventType=task.created"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    expected = compute_signature(URL, {"EventType": "task.created"}, "secret")
    assert result.stdout.strip().splitlines()[-1] == expected
