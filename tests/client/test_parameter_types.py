"""The parameter types: generated from Twilio's API description, and what each operation uses."""

from __future__ import annotations

import copy
from typing import Any, get_args

import pytest

from taskrouter_flask.client import OPERATIONS
from taskrouter_flask.client.parameter_types import PARAMETER_TYPES, ParameterType

from . import generate_parameter_types as generator
from .test_spec_coverage import SPEC


def test_the_committed_module_is_what_the_generator_writes() -> None:
    # If this fails: python -m tests.client.generate_parameter_types
    assert generator.MODULE_PATH.read_text(encoding="utf-8") == generator.render(SPEC)


def test_the_generator_writes_every_type_it_can_give() -> None:
    assert generator.TYPES == get_args(ParameterType)
    assert set(generator.OVERRIDES.values()) <= set(generator.TYPES)


def test_every_operation_has_a_type_for_each_parameter_and_no_more() -> None:
    assert set(PARAMETER_TYPES) == set(OPERATIONS)
    for name, operation in OPERATIONS.items():
        assert dict(operation.types) == dict(PARAMETER_TYPES[name]), name
        assert list(operation.types) == list(operation.params), name


def test_dates_and_lists_are_told_from_text() -> None:
    assert OPERATIONS["CreateTask"].types["VirtualStartTime"] == "date-time"
    assert OPERATIONS["ListTask"].types["AssignmentStatus"] == "array"
    assert OPERATIONS["UpdateTask"].types["AssignmentStatus"] == "string"
    assert OPERATIONS["ListTask"].types["PageSize"] == "integer"


def _schemas(spec: dict[str, Any], parameter: str) -> list[dict[str, Any]]:
    """Every schema the description gives ``parameter``, query or form, to change in a copy."""
    found = []
    for item in spec["paths"].values():
        for method in ("get", "post", "delete"):
            operation = item.get(method, {})
            for query in operation.get("parameters", []):
                if query["name"] == parameter:
                    found.append(query["schema"])
            content = operation.get("requestBody", {}).get("content", {})
            form = content.get("application/x-www-form-urlencoded", {}).get("schema", {})
            if parameter in form.get("properties", {}):
                found.append(form["properties"][parameter])
    assert found, parameter
    return found


def test_an_override_the_spec_contradicts_stops_the_generator() -> None:
    spec = copy.deepcopy(SPEC)
    _schemas(spec, "Attributes")[0]["type"] = "integer"
    with pytest.raises(ValueError, match=r"OVERRIDES\['Attributes'\] is stale"):
        generator.render(spec)


def test_an_override_the_spec_no_longer_needs_stops_the_generator() -> None:
    spec = copy.deepcopy(SPEC)
    for schema in _schemas(spec, "Available") + _schemas(spec, "IgnoreCapacity"):
        schema["type"] = "boolean"
    with pytest.raises(ValueError, match=r"\['Available', 'IgnoreCapacity'\]"):
        generator.render(spec)


def test_a_type_the_generator_does_not_know_stops_it() -> None:
    spec = copy.deepcopy(SPEC)
    _schemas(spec, "Priority")[0]["type"] = "number"
    with pytest.raises(ValueError, match="no parameter type"):
        generator.render(spec)
