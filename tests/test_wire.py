"""The wire vocabulary: one SID rule, one JSON rule, one date format, one list of event fields.

The event field tests hold the three places that spell those fields (the sandbox that
produces them, the test helper that fakes them, the schema that parses them) to the one
list in :mod:`taskrouter_flask.wire`.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

import taskrouter_flask.sandbox as sandbox_package
from taskrouter_flask import schemas, wire
from taskrouter_flask.models import EVENT_TYPES
from taskrouter_flask.testing import event_payload
from taskrouter_flask.workflow import WorkflowConfiguration, WorkflowConfigurationError

SANDBOX = Path(sandbox_package.__file__).parent
HEX = "0123456789abcdef" * 2


def test_the_module_imports_only_the_standard_library() -> None:
    tree = ast.parse(Path(wire.__file__).read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {
        "." * node.level + (node.module or "")
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    }
    imported.discard("__future__")
    assert {name.split(".")[0] for name in imported} <= sys.stdlib_module_names, imported


# -- SIDs -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sid", ["WT" + HEX, "WT" + HEX.upper(), "WT" + HEX[:16] + HEX[16:].upper()]
)
def test_a_sid_is_its_prefix_and_32_hex_digits_in_either_case(sid: str) -> None:
    assert wire.is_sid(sid, "WT")
    assert wire.is_sid(sid)


@pytest.mark.parametrize(
    "value",
    ["WQ" + HEX, "WT" + HEX[:-1], "WT" + HEX + "0", "WT" + HEX[:-1] + "g", "wt" + HEX, " WT" + HEX],
)
def test_anything_else_is_not_a_sid_of_that_kind(value: str) -> None:
    assert not wire.is_sid(value, "WT")


def test_any_kind_needs_two_capital_letters() -> None:
    assert wire.is_sid("ZZ" + HEX)
    assert not wire.is_sid("Z1" + HEX)
    assert not wire.is_sid(None)
    assert not wire.is_sid(b"WT" + HEX.encode())


def test_a_prefix_is_taken_literally() -> None:
    assert not wire.is_sid("AB" + HEX, "..")


# -- JSON -------------------------------------------------------------------------------------


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("shape", ['{{"a": {}}}', "[{}]", "{}", ' {{"a": {}}}'])
def test_nan_and_infinity_are_refused_on_every_path(constant: str, shape: str) -> None:
    text = shape.format(constant)
    for given in (text, text.encode()):
        with pytest.raises(wire.NonFiniteJSON) as caught:
            wire.loads(given)
        assert caught.value.constant == constant
    with pytest.raises(wire.NonFiniteJSON):
        wire.loads(text, parse_int=int)


def test_plain_json_reads_as_json_loads_reads_it() -> None:
    assert wire.loads('{"a": [1, 2.5, "x", null, true]}') == {"a": [1, 2.5, "x", None, True]}
    assert wire.loads(b'{"a": 1}') == {"a": 1}
    assert wire.loads("[1]", parse_int=str) == ["1"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[1]", "expected a JSON object, got a JSON list"),
        ("{", "expected a JSON object, got invalid JSON"),
        ('{"a": NaN}', "got invalid JSON (NaN is not a JSON value)"),
        ("[" * 100_000, "nested too deeply"),
        ('\ufeff{"a": 1}', "BOM"),
    ],
)
def test_a_json_object_or_a_value_error_saying_what_came(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        wire.decode_json_object(text)


def test_workflow_configurations_refuse_nan_too() -> None:
    with pytest.raises(WorkflowConfigurationError, match="NaN is not a JSON value"):
        WorkflowConfiguration.from_json('{"task_routing": {"filters": [], "x": NaN}}')


# -- dates ------------------------------------------------------------------------------------


def test_the_date_format_is_utc_to_the_second() -> None:
    moment = datetime(2014, 5, 14, 12, 50, 2, 999_999, tzinfo=timezone(timedelta(hours=2)))
    assert wire.format_timestamp(moment) == "2014-05-14T10:50:02Z"
    assert wire.format_timestamp(datetime(2014, 5, 14, 10, 50, 2)) == "2014-05-14T10:50:02Z"
    assert wire.format_timestamp(datetime(999, 1, 2, tzinfo=UTC)) == "0999-01-02T00:00:00Z"


def test_schemas_still_offers_the_date_format() -> None:
    assert schemas.format_timestamp is wire.format_timestamp


def test_rendering_sandbox_json_does_not_import_marshmallow() -> None:
    code = "import sys, taskrouter_flask.sandbox.render; sys.exit('marshmallow' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


# -- event fields -----------------------------------------------------------------------------


def _keys_written(path: Path, function: str) -> set[str]:
    """The string keys a function of a module writes: ``d["Key"] = ...`` and ``{"Key": ...}``."""
    tree = ast.parse(path.read_text())
    [found] = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name == function
    ]
    keys: set[str] = set()
    for node in ast.walk(found):
        if isinstance(node, ast.Dict):
            keys.update(str(k.value) for k in node.keys if isinstance(k, ast.Constant))
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Constant):
                    keys.add(str(target.slice.value))
    return keys


def _produced() -> set[str]:
    return _keys_written(SANDBOX / "wire.py", "event_fields") | _keys_written(
        SANDBOX / "callbacks.py", "_event_params"
    )


def _faked() -> set[str]:
    return {name for event_type in EVENT_TYPES for name in event_payload(event_type)}


def _parsed() -> set[str]:
    return {rule.wire for rule in schemas._EVENT_FIELDS}


def test_the_one_list_names_each_field_once() -> None:
    assert len(set(wire.EVENT_FIELDS)) == len(wire.EVENT_FIELDS)


def test_the_sandbox_produces_only_listed_fields() -> None:
    produced = _produced()
    assert "WorkerActivityName" in produced and "Sid" in produced  # the walk found them
    assert produced <= set(wire.EVENT_FIELDS), produced - set(wire.EVENT_FIELDS)


def test_the_test_helper_fakes_only_listed_fields() -> None:
    assert _faked() <= set(wire.EVENT_FIELDS), _faked() - set(wire.EVENT_FIELDS)


def test_the_parser_knows_every_listed_field_and_no_other() -> None:
    parsed = _parsed()
    left_in_raw = set(schemas._EVENT_FIELDS_LEFT_IN_RAW)
    assert not parsed & left_in_raw
    assert parsed | left_in_raw == set(wire.EVENT_FIELDS)


def test_the_parser_knows_every_field_the_sandbox_and_the_helper_send() -> None:
    known = _parsed() | set(schemas._EVENT_FIELDS_LEFT_IN_RAW)
    assert _produced() <= known and _faked() <= known
