"""The REST API's parameters: text as a form or a query carries it, read into engine values.

Each parameter is read by its type in the API description (``Operation.types``), so the
REST app and the worker SDK's gateway, which both hand requests to the engine, read every
parameter the same way. The tables here hold only what a type does not say.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ..client.parameter_types import ParameterType
from ..client.resources import OPERATIONS, Operation, to_snake
from ..instructions import REST_PARAMETERS
from . import bounds
from .errors import InvalidArgument

__all__ = ["keywords", "read_params", "require", "reservation_changes"]

# tables here hold only what a type does not say.

#: Twilio reads ``true``, ``1`` and ``yes`` as true. For these parameters its reference adds
#: that every other value means false (Activity and Worker-list ``Available``, the task's
#: ``IgnoreCapacity``); for the other booleans it says nothing, so we take ``false``, ``0``
#: and ``no`` as false and refuse the rest rather than guess.
_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_SPELLED_BOOL = _TRUE | _FALSE
_LENIENT_BOOL = {"Available", "IgnoreCapacity"}
#: Whole-number parameters take their ranges from :data:`bounds.PARAMETER_RANGES`. Those that
#: only an instruction takes are refused out of range with the instruction's code (40001), as
#: the instruction itself would refuse them. ``Timeout`` is also a task's time to live: its
#: range there is the task's, a value outside it is an ordinary bad parameter, and the
#: conference's own 1 to 999 is checked when the instruction is built.
_INSTRUCTION_INT = frozenset(p.name for p in REST_PARAMETERS if p.kind == "integer") - {
    name
    for operation in OPERATIONS.values()
    if "Instruction" not in operation.params
    for name in operation.params
}
#: The longest text of each JSON parameter (task and worker ``Attributes`` share the name;
#: Twilio's limit is the same for both). The engine parses the text itself.
_JSON_CHARS = {
    "Attributes": max(bounds.MAX_TASK_ATTRIBUTES, bounds.MAX_WORKER_ATTRIBUTES),
    "EvaluateWorkerAttributes": bounds.MAX_WORKER_ATTRIBUTES,
    "Configuration": bounds.MAX_WORKFLOW_CONFIGURATION,
}


#: Parameters today's API description no longer lists but Twilio's older guides send, and the
#: values in which they change nothing: the Ruby guide creates a task with
#: ``assignment_status: 'pending'``, which every new task is. They are accepted and dropped;
#: any other value is refused.
_LEGACY_PARAMS: dict[str, dict[str, tuple[str, ...]]] = {
    "CreateTask": {"AssignmentStatus": ("pending",)},
}


def _text(name: str, value: str) -> str:
    return value


def _boolean(name: str, value: str) -> bool:
    spelled = value.strip().lower()
    if name in _LENIENT_BOOL:
        return spelled in _TRUE
    if spelled not in _SPELLED_BOOL:
        raise InvalidArgument(f"{name}: expected true or false (or 1/0, yes/no), got {value!r}")
    return spelled in _TRUE


def _boolean_or_text(name: str, value: str) -> bool | str:
    return _boolean(name, value) if value.strip().lower() in _SPELLED_BOOL else value


def _integer(name: str, value: str) -> int:
    whole = bounds.PARAMETER_RANGES[name]
    try:
        return bounds.parse_int(name, value, whole.low, whole.high)
    except InvalidArgument as exc:
        if name in _INSTRUCTION_INT:
            raise InvalidArgument(exc.message, code=40001) from None
        raise


def _json_text(name: str, value: str) -> str:
    # Refuse oversized, too deep or non-finite JSON here; the engine parses the text itself.
    bounds.parse_json_object(name, value, max_chars=_JSON_CHARS[name])
    return value


def _date(name: str, value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(f"{name}: expected an ISO 8601 date, got {value!r}") from None
    if moment.tzinfo is None:
        raise InvalidArgument(f"{name}: expected a date with a time zone, got {value!r}")
    return moment


#: How the text of one value becomes what the engine takes, by the parameter's type. An
#: ``array`` given once stays text: the engine splits comma-joined lists itself.
_CONVERTERS: Mapping[ParameterType, Callable[[str, str], Any]] = {
    "string": _text,
    "array": _text,
    "boolean": _boolean,
    "boolean or string": _boolean_or_text,
    "integer": _integer,
    "json object": _json_text,
    "date-time": _date,
}


def _convert(operation: Operation, name: str, values: Sequence[str]) -> Any:
    kind = operation.types[name]
    if len(values) > 1:
        if kind == "array":
            return list(values)
        raise InvalidArgument(f"{name}: expected one value, got {len(values)}")
    return _CONVERTERS[kind](name, values[0])


def read_params(operation: Operation, source: Mapping[str, Sequence[str]]) -> dict[str, Any]:
    """The operation's parameters, each read by its type; every unknown name refused.

    :param source: each name with its values as text, as a form or a query has them.
    """
    legacy = _LEGACY_PARAMS.get(operation.name, {})
    for name, accepted in legacy.items():
        for value in source.get(name, ()):
            if value not in accepted:
                raise InvalidArgument(
                    f"{name}: {operation.name} accepts it only as {' or '.join(accepted)}"
                    f" (what the request does anyway), got {value!r}"
                )
    unknown = sorted(set(source) - set(operation.params) - set(legacy))
    if unknown:
        raise InvalidArgument(
            f"{operation.name}: unknown parameter(s) {', '.join(unknown)}; accepted:"
            f" {', '.join(operation.params) or 'none'}"
        )
    return {name: _convert(operation, name, source[name]) for name in source if name not in legacy}


def require(operation: Operation, params: Mapping[str, Any]) -> None:
    missing = [name for name in operation.required if name not in params]
    if missing:
        raise InvalidArgument(
            f"{operation.name}: missing required parameter(s) {', '.join(missing)}"
        )


def keywords(params: Mapping[str, Any], *names: str) -> dict[str, Any]:
    return {to_snake(name): params[name] for name in names if name in params}


def _instruction_keys() -> dict[str, dict[str, str]]:
    keys: dict[str, dict[str, str]] = {}
    for parameter in REST_PARAMETERS:
        keys.setdefault(parameter.instruction, {})[parameter.name] = parameter.key
    return keys


#: Each instruction's REST parameters and their keys in a callback answer (dequeue's
#: ``DequeueFrom`` is ``from``), as :mod:`taskrouter_flask.instructions` declares them. An
#: instruction is given only its own; the others' parameters in the same request are not its
#: business, as the REST API spells every instruction's parameters in one form.
_INSTRUCTION_KEYS = _instruction_keys()


def reservation_changes(params: Mapping[str, Any]) -> dict[str, Any] | None:
    """What an update of a reservation asks the engine for, or ``None`` to change nothing.

    ``supervise`` changes nothing here: it needs a live conference, and there is none.
    """
    instruction = params.get("Instruction")
    if instruction == "supervise":
        return None
    parameters: dict[str, Any] = {}
    if instruction is not None:
        keys = _INSTRUCTION_KEYS.get(instruction, {})
        parameters = {key: params[name] for name, key in keys.items() if name in params}
    return {
        "reservation_status": params.get("ReservationStatus"),
        "worker_activity_sid": params.get("WorkerActivitySid"),
        "instruction": instruction,
        "parameters": parameters,
    }
