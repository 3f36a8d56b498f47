"""``flask taskrouter validate-workflow``."""

from __future__ import annotations

import json
from pathlib import Path

from flask import Flask

from .test_workflow import EVERYONE, SEED


def test_a_good_workflow_is_ok(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "workflow.json"
    path.write_text(SEED)
    result = app.test_cli_runner().invoke(args=["taskrouter", "validate-workflow", str(path)])
    assert result.exit_code == 0, result.output
    assert f"{path}: OK" in result.output


def test_each_problem_is_printed_and_the_exit_code_is_not_zero(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "workflow.json"
    document = {
        "task_routing": {
            "filters": [
                {
                    "filter_friendly_name": "Broken",
                    "expression": "type = 'ticket'",
                    "targets": [{"queue": EVERYONE, "timeout": 0}],
                }
            ]
        }
    }
    path.write_text(json.dumps(document))
    result = app.test_cli_runner().invoke(args=["taskrouter", "validate-workflow", str(path)])
    assert result.exit_code == 1
    assert "filters[0] 'Broken' expression: unexpected character '='" in result.output
    assert "filters[0] 'Broken' targets[0]: timeout must be a positive number" in result.output
    assert "default_filter: missing" in result.output
    assert "3 problems in" in result.output


def test_unreadable_json_is_one_problem(app: Flask, tmp_path: Path) -> None:
    path = tmp_path / "workflow.json"
    path.write_text("{oops")
    result = app.test_cli_runner().invoke(args=["taskrouter", "validate-workflow", str(path)])
    assert result.exit_code == 1
    assert "configuration: not valid JSON" in result.output


def test_trigger_refuses_task_attributes_holding_nan(app: Flask) -> None:
    """The sample payload would carry NaN, which no JSON reader the app meets accepts."""
    result = app.test_cli_runner().invoke(
        args=["taskrouter", "trigger", "task.created", "--url", "http://127.0.0.1:9/events"]
        + ["--auth-token", "t", "--task-attributes", '{"a": NaN}']
    )
    assert result.exit_code == 2
    assert "NaN is not a JSON value" in result.output
