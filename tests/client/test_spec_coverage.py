"""The client against Twilio's API description: every operation, parameter and response field."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from taskrouter_flask.client import OPERATIONS
from taskrouter_flask.client.resources import to_snake
from taskrouter_flask.instructions import REST_PARAMETERS, RestParameter
from taskrouter_flask.schemas import _REST_RENAMES

SPEC = json.loads(
    (Path(__file__).parents[1] / "fixtures" / "twilio_taskrouter_v1.json").read_text()
)
METHODS = ("get", "post", "delete")


def spec_operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    found = {}
    for path, item in SPEC["paths"].items():
        for method in METHODS:
            if method in item:
                found[item[method]["operationId"]] = (method.upper(), path, item[method])
    return found


SPEC_OPS = spec_operations()


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref:
        resolved: dict[str, Any] = SPEC["components"]["schemas"][ref.rsplit("/", 1)[1]]
        return resolved
    return schema


def test_every_path_and_method_has_a_client_operation() -> None:
    assert len(SPEC_OPS) == 61
    missing = sorted(set(SPEC_OPS) - set(OPERATIONS))
    extra = sorted(set(OPERATIONS) - set(SPEC_OPS))
    assert not missing, f"no client method for {missing}"
    assert not extra, f"client operations not in the spec: {extra}"
    for name, (method, path, _) in SPEC_OPS.items():
        assert (OPERATIONS[name].method, OPERATIONS[name].path) == (method, path), name


@pytest.mark.parametrize("name", sorted(SPEC_OPS))
def test_parameters_are_the_specs_names(name: str) -> None:
    method, _, spec = SPEC_OPS[name]
    operation = OPERATIONS[name]
    query = {p["name"] for p in spec.get("parameters", []) if p["in"] == "query"}
    headers = {p["name"] for p in spec.get("parameters", []) if p["in"] == "header"}
    body = spec.get("requestBody", {}).get("content", {})
    form_schema = body.get("application/x-www-form-urlencoded", {}).get("schema", {})
    form = set(form_schema.get("properties", {}))
    expected = query | form
    assert set(operation.params) == expected, name
    assert set(operation.required) == set(form_schema.get("required", [])), name
    assert operation.if_match == ("If-Match" in headers), name
    assert operation.json_body == ("application/json" in body), name
    # Every keyword argument maps back to exactly one wire name.
    assert len(operation.keywords) == len(operation.params)
    assert all(to_snake(wire) in operation.keywords for wire in operation.params)


@pytest.mark.parametrize("name", sorted(n for n, op in OPERATIONS.items() if op.model))
def test_every_response_field_is_a_model_field(name: str) -> None:
    _, _, spec = SPEC_OPS[name]
    operation = OPERATIONS[name]
    assert operation.model is not None
    answers = spec["responses"]
    status = "201" if "201" in answers else "200"
    schema = answers[status]["content"]["application/json"]["schema"]
    schema = resolve(schema)
    if operation.paged:
        item_lists = [
            p
            for key, p in schema["properties"].items()
            if key != "meta" and p.get("type") == "array"
        ]
        assert len(item_lists) == 1, name
        schema = resolve(item_lists[0]["items"])
    wire_fields = set(schema["properties"])
    renames = _REST_RENAMES.get(operation.model, {})
    model_wire = {renames.get(f.name, f.name) for f in dataclasses.fields(operation.model)}
    assert wire_fields <= model_wire, (
        f"{name}: not in {operation.model.__name__}: {wire_fields - model_wire}"
    )


# -- instruction parameters on UpdateReservation -------------------------------------------------

RESERVATION_UPDATES = {
    # The reservation's own parameters, beside the instructions'; supervising is the task's only.
    "UpdateTaskReservation": {
        "ReservationStatus",
        "WorkerActivitySid",
        "Instruction",
        "Supervisor",
        "SupervisorMode",
    },
    "UpdateWorkerReservation": {"ReservationStatus", "WorkerActivitySid", "Instruction"},
}


def form_properties(name: str) -> dict[str, Any]:
    content = SPEC_OPS[name][2]["requestBody"]["content"]
    properties: dict[str, Any] = content["application/x-www-form-urlencoded"]["schema"][
        "properties"
    ]
    return properties


@pytest.mark.parametrize("name", sorted(RESERVATION_UPDATES))
def test_the_instructions_declare_every_instruction_parameter_of_the_spec(name: str) -> None:
    # WorkerActivitySid is both: the reservation's own, and reject's activity_sid.
    declared = {parameter.name for parameter in REST_PARAMETERS}
    assert set(form_properties(name)) == declared | RESERVATION_UPDATES[name]


def test_each_rest_name_is_one_instruction_parameter() -> None:
    names = [parameter.name for parameter in REST_PARAMETERS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("parameter", REST_PARAMETERS, ids=lambda parameter: parameter.name)
@pytest.mark.parametrize("name", sorted(RESERVATION_UPDATES))
def test_each_instruction_parameter_has_the_specs_type_and_instruction(
    name: str, parameter: RestParameter
) -> None:
    assert OPERATIONS[name].types[parameter.name] == parameter.kind
    # Where the spec names the instruction a parameter is for, it is the one declared.
    description = form_properties(name)[parameter.name].get("description", "")
    named = re.findall(r"\b(Dequeue|Call|Redirect|Conference) instruction", description)
    if parameter.name == "WorkerActivitySid":
        named = ["reject"] if "if rejecting" in description else named
    assert {word.lower() for word in named} <= {parameter.instruction}, description
