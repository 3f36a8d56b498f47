"""The REST API reads each parameter by its type, and gives each instruction its own parameters.

The types come from Twilio's API description (``Operation.types``), so these tests walk every
parameter of every operation: a parameter added to an operation is converted by its type the
day it is added, and a boolean never reaches the engine as the text ``"true"``.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any, get_args

import pytest

from taskrouter_flask.client import OPERATIONS
from taskrouter_flask.client.parameter_types import ParameterType
from taskrouter_flask.client.resources import Operation
from taskrouter_flask.instructions import REST_PARAMETERS, Instruction
from taskrouter_flask.sandbox import parameters as api
from taskrouter_flask.sandbox.api import SandboxService, create_app
from taskrouter_flask.sandbox.bounds import PARAMETER_RANGES
from taskrouter_flask.sandbox.errors import InvalidArgument
from taskrouter_flask.sandbox.state import ReservationStatus

from ..test_instructions import ACTIVITY, FACTORIES
from .conftest import Workspace


def of_type(*kinds: str) -> list[Any]:
    """Every (operation, parameter) whose type is one of ``kinds``, for parametrize."""
    return [
        pytest.param(operation, name, id=f"{operation.name}.{name}")
        for operation in OPERATIONS.values()
        for name in operation.params
        if operation.types[name] in kinds
    ]


def test_every_type_has_a_conversion() -> None:
    assert set(api._CONVERTERS) == set(get_args(ParameterType))


@pytest.mark.parametrize(("operation", "name"), of_type("boolean"))
def test_every_boolean_parameter_reaches_the_engine_as_a_bool(
    operation: Operation, name: str
) -> None:
    for text, expected in [("true", True), ("false", False), ("1", True), ("No", False)]:
        value = api._convert(operation, name, [text])
        assert type(value) is bool and value is expected, text
    if name in api._LENIENT_BOOL:
        assert api._convert(operation, name, ["maybe"]) is False
    else:
        with pytest.raises(InvalidArgument, match=f"^{name}: expected true or false"):
            api._convert(operation, name, ["maybe"])


@pytest.mark.parametrize(("operation", "name"), of_type("boolean or string"))
def test_a_boolean_or_word_parameter_is_a_bool_when_spelled_as_one(
    operation: Operation, name: str
) -> None:
    assert api._convert(operation, name, ["true"]) is True
    assert api._convert(operation, name, ["0"]) is False
    assert api._convert(operation, name, ["onEnter"]) == "onEnter"


@pytest.mark.parametrize(("operation", "name"), of_type("integer"))
def test_every_whole_number_parameter_has_a_range_and_becomes_an_int(
    operation: Operation, name: str
) -> None:
    whole = PARAMETER_RANGES[name]
    assert api._convert(operation, name, [str(whole.high)]) == whole.high
    with pytest.raises(InvalidArgument, match=f"^{name}: expected a whole number") as caught:
        api._convert(operation, name, [str(whole.high + 1)])
    assert caught.value.code == (40001 if name in api._INSTRUCTION_INT else 20001)


def test_only_instruction_only_whole_numbers_are_refused_as_instructions() -> None:
    # Timeout is a task's as well: its range here is the task's, refused as any parameter.
    assert api._INSTRUCTION_INT == {"CallTimeout", "DequeueTimeout", "MaxParticipants"}


@pytest.mark.parametrize(("operation", "name"), of_type("json object"))
def test_every_json_parameter_has_a_size_limit_and_stays_text(
    operation: Operation, name: str
) -> None:
    assert api._JSON_CHARS[name] > 0
    assert api._convert(operation, name, ['{"a": 1}']) == '{"a": 1}'
    with pytest.raises(InvalidArgument, match=f"^{name}: "):
        api._convert(operation, name, ["x" * (api._JSON_CHARS[name] + 1)])


@pytest.mark.parametrize(("operation", "name"), of_type("date-time"))
def test_every_date_parameter_becomes_an_aware_datetime(operation: Operation, name: str) -> None:
    value = api._convert(operation, name, ["2024-05-06T07:08:09Z"])
    assert value == datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    with pytest.raises(InvalidArgument, match=f"^{name}: expected a date with a time zone"):
        api._convert(operation, name, ["2024-05-06T07:08:09"])


@pytest.mark.parametrize(("operation", "name"), of_type("array"))
def test_a_list_parameter_takes_several_values(operation: Operation, name: str) -> None:
    assert api._convert(operation, name, ["a", "b"]) == ["a", "b"]
    assert api._convert(operation, name, ["a,b"]) == "a,b"


@pytest.mark.parametrize(("operation", "name"), of_type("string", "integer", "boolean"))
def test_any_other_parameter_takes_one_value(operation: Operation, name: str) -> None:
    with pytest.raises(InvalidArgument, match=f"^{name}: expected one value, got 2"):
        api._convert(operation, name, ["1", "1"])


# -- instructions over UpdateReservation ----------------------------------------------------------

ACCOUNT = "AC" + "0" * 32
TOKEN = "token"


def _form_values(value: object) -> str | list[str]:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return [str(item) for item in value]
    return str(value)


def _full_form(instruction: Instruction) -> dict[str, str | list[str]]:
    """Every REST parameter of ``instruction``, spelled as the REST API takes them."""
    # The declaration lists an instruction's REST parameters in the order of its fields.
    rest = [p.name for p in REST_PARAMETERS if p.instruction == instruction.instruction]
    fields = dataclasses.fields(instruction)  # type: ignore[arg-type]
    return {
        name: _form_values(getattr(instruction, field.name))
        for name, field in zip(rest, fields, strict=True)
    }


@pytest.mark.parametrize(
    ("factory", "full"),
    [pytest.param(factory, full, id=factory.__name__) for factory, _, full in FACTORIES],
)
def test_each_instruction_gets_its_own_rest_parameters_and_no_others(
    ws: Workspace, factory: Any, full: dict[str, Any]
) -> None:
    ws.add_queue("support")
    ws.add_workflow(default="support")
    ws.add_worker("alice")
    reservation = ws.pending(ws.task())
    wrap_up = ws.activities["Unavailable"]
    # The REST API spells every instruction's parameters in one form: send them all.
    given = {key: wrap_up if value == ACTIVITY else value for key, value in full.items()}
    instruction = factory(**given)
    form: dict[str, str | list[str]] = {}
    for other, _, other_full in FACTORIES:
        if other is not factory:
            form.update(_full_form(other(**other_full)))
    form.pop("WorkerActivitySid", None)  # the reservation's own as well: it moves the worker
    form.update(_full_form(instruction), Instruction=instruction.instruction)

    client = create_app(SandboxService(ws.engine, ACCOUNT, TOKEN)).test_client()
    answer = client.post(
        f"/v1/Workspaces/{ws.sid}/Workers/{reservation.worker_sid}/Reservations/{reservation.sid}",
        data=form,
        auth=(ACCOUNT, TOKEN),
    )

    assert answer.status_code == 200, answer.get_data(as_text=True)
    reservation = ws.engine.reservation(ws.sid, reservation.sid)
    if instruction.instruction == "reject":
        assert reservation.status is ReservationStatus.REJECTED
        assert ws.activity_of("alice") == "Unavailable"
    elif instruction.instruction == "accept":
        assert reservation.status is ReservationStatus.ACCEPTED
    else:
        assert reservation.instruction == instruction.to_dict()
