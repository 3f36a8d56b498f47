"""Turn TaskRouter's wire payloads into :mod:`taskrouter_flask.models` values.

Callbacks arrive as flat form fields of strings in Twilio's CamelCase
(``TaskAttributes`` holding JSON, ``TaskAge`` holding digits). Parsing happens
here, once, with marshmallow, so that everything behind it works on typed
values and every way a payload can be wrong becomes one :class:`PayloadError`
that names the field, what was wrong and what was expected.

Fields Twilio adds later are kept in ``raw`` and never rejected. A field that
the schema knows and that arrives more than once is refused: repeating it is
not something Twilio does, and accepting either copy would let a forged
payload say one thing to the signature and another to the handler.
"""

from __future__ import annotations

import dataclasses
import json
import re
import types
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar, Union, get_args, get_origin, get_type_hints
from urllib.parse import parse_qsl

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, validate

from .errors import PayloadError
from .models import (
    Activity,
    Assignment,
    Event,
    Reservation,
    Statistics,
    Task,
    TaskChannel,
    TaskQueue,
    Worker,
    WorkerChannel,
    Workflow,
    Workspace,
    freeze,
)

__all__ = [
    "AssignmentSchema",
    "EventSchema",
    "FormFields",
    "format_timestamp",
    "load_assignment",
    "load_event",
    "load_resource",
    "parse_form",
    "parse_json_body",
]

#: Decoded form fields: a field sent once maps to its value, one sent several
#: times to the list of its values.
FormFields = dict[str, str | list[str]]

#: The most fields a callback body may carry; Twilio sends a few dozen.
MAX_FORM_FIELDS = 200

_Payload = TypeVar("_Payload", Assignment, Event)

_EPOCH_MS_THRESHOLD = 10**11  # larger epoch numbers are milliseconds, not seconds


def parse_form(body: bytes, *, max_fields: int = MAX_FORM_FIELDS) -> FormFields:
    """Decode an ``application/x-www-form-urlencoded`` body.

    :param body: the raw body.
    :param max_fields: refuse bodies with more fields than this.
    :raises PayloadError: if the body is not UTF-8 form data or has too many fields.
    """
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, errors="strict", max_num_fields=max_fields)
    except UnicodeDecodeError as exc:
        raise PayloadError(
            f"body: expected UTF-8 form data, got an invalid byte at position {exc.start}"
        ) from exc
    except ValueError as exc:
        raise PayloadError(f"body: expected at most {max_fields} form fields") from exc
    form: FormFields = {}
    for name, value in pairs:
        previous = form.get(name)
        if previous is None:
            form[name] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            form[name] = [previous, value]
    return form


def format_timestamp(moment: datetime) -> str:
    """``2014-05-14T10:50:02Z``: the API's date format, in UTC (a naive time is taken as UTC)."""
    utc = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )


def parse_json_body(body: bytes) -> dict[str, Any]:
    """Decode an ``application/json`` callback body, which must be one JSON object.

    :raises PayloadError: if it is not JSON, nested too deeply, or not an object.
    """
    try:
        return _decode_json_object(body)
    except ValueError as exc:
        raise PayloadError(f"body: {exc}") from exc


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _decode_json_object(text: str | bytes) -> dict[str, Any]:
    """Decode JSON that must be an object; any failure is a ValueError saying what was found."""
    try:
        decoded = json.loads(text, parse_constant=_not_json)
    except RecursionError as exc:
        raise ValueError("expected a JSON object, got JSON nested too deeply") from exc
    except ValueError as exc:
        raise ValueError(f"expected a JSON object, got invalid JSON ({exc})") from exc
    if not isinstance(decoded, dict):
        raise ValueError(f"expected a JSON object, got a JSON {type(decoded).__name__}")
    return decoded


class _JsonObject(fields.Field[dict[str, Any]]):
    """Attributes travel as a JSON string; a JSON body may already hold the object."""

    default_error_messages = {"required": "required field is missing"}

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> dict[str, Any]:
        if isinstance(value, dict):
            return value
        if not isinstance(value, str):
            raise ValidationError(f"expected a JSON object as a string, got {type(value).__name__}")
        try:
            return _decode_json_object(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from exc


class _JsonObjectOrText(fields.Field[dict[str, Any] | str]):
    """A document that is usually a JSON object; any other text is kept as it is."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> dict[str, Any] | str:
        if isinstance(value, dict):
            return value
        if not isinstance(value, str):
            raise ValidationError(f"expected a document as a string, got {type(value).__name__}")
        try:
            return _decode_json_object(value)
        except ValueError:
            return value


class _Timestamp(fields.Field[datetime]):
    """Twilio sends epoch seconds; ISO 8601 and epoch milliseconds are accepted too."""

    default_error_messages = {"required": "required field is missing"}

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> datetime:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError("expected epoch seconds or an ISO 8601 date-time")
        try:
            number = float(value)
        except (ValueError, OverflowError):
            number = None
        try:
            if number is not None:
                if number >= _EPOCH_MS_THRESHOLD:
                    number /= 1000
                return datetime.fromtimestamp(number, tz=UTC)
            parsed = datetime.fromisoformat(str(value))
        except (ValueError, OverflowError, OSError) as exc:
            raise ValidationError(
                f"expected epoch seconds or an ISO 8601 date-time, got {str(value)[:40]!r}"
            ) from exc
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class _Sid(fields.Field[str]):
    """A SID of one kind: two capital letters and 32 hex digits.

    A field of its own rather than a ``String`` with a ``Regexp`` validator:
    a dozen SIDs are checked on every callback, and this is half the cost.
    """

    default_error_messages = {"required": "required field is missing"}

    def __init__(self, prefix: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pattern = re.compile(prefix + "[0-9a-fA-F]{32}")
        self.problem = f"expected a {prefix} SID: '{prefix}' followed by 32 hex digits"

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        if isinstance(value, str) and self.pattern.fullmatch(value):
            return value
        raise ValidationError(self.problem)


def _sid(prefix: str, *, required: bool = False, data_key: str) -> _Sid:
    return _Sid(prefix, required=required, data_key=data_key)


_MISSING = "required field is missing"


def _text(
    data_key: str, *, required: bool = False, validator: validate.Validator | None = None
) -> fields.String:
    return fields.String(
        required=required,
        data_key=data_key,
        validate=validator,
        error_messages={"required": _MISSING, "invalid": "expected a string"},
    )


def _int(data_key: str, *, required: bool = False) -> fields.Integer:
    return fields.Integer(
        required=required,
        data_key=data_key,
        error_messages={"required": _MISSING, "invalid": "expected an integer"},
    )


def _bool(data_key: str) -> fields.Boolean:
    return fields.Boolean(
        data_key=data_key, error_messages={"invalid": "expected 'true' or 'false'"}
    )


class _PayloadSchema(Schema):
    """Shared behaviour: unknown fields are ignored here (they stay in ``raw``)."""

    class Meta:
        unknown = EXCLUDE


class AssignmentSchema(_PayloadSchema):
    """The fields of an assignment callback."""

    account_sid = _sid("AC", required=True, data_key="AccountSid")
    workspace_sid = _sid("WS", required=True, data_key="WorkspaceSid")
    workflow_sid = _sid("WW", required=True, data_key="WorkflowSid")
    task_queue_sid = _sid("WQ", required=True, data_key="TaskQueueSid")
    reservation_sid = _sid("WR", required=True, data_key="ReservationSid")
    task_sid = _sid("WT", required=True, data_key="TaskSid")
    task_attributes = _JsonObject(required=True, data_key="TaskAttributes")
    task_age = _int("TaskAge", required=True)
    task_priority = _int("TaskPriority", required=True)
    task_channel_sid = _sid("TC", data_key="TaskChannelSid")
    task_channel_unique_name = _text("TaskChannelUniqueName")
    worker_sid = _sid("WK", required=True, data_key="WorkerSid")
    worker_attributes = _JsonObject(required=True, data_key="WorkerAttributes")
    timestamp = _Timestamp(data_key="Timestamp")

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> Assignment:
        return Assignment(
            account_sid=data["account_sid"],
            workspace_sid=data["workspace_sid"],
            workflow_sid=data["workflow_sid"],
            task_queue_sid=data["task_queue_sid"],
            reservation_sid=data["reservation_sid"],
            task=Task(
                sid=data["task_sid"],
                attributes=data["task_attributes"],
                age=data["task_age"],
                priority=data["task_priority"],
                channel_sid=data.get("task_channel_sid"),
                channel_unique_name=data.get("task_channel_unique_name"),
            ),
            worker=Worker(sid=data["worker_sid"], attributes=data["worker_attributes"]),
            timestamp=data.get("timestamp"),
        )


class EventSchema(_PayloadSchema):
    """The fields of an event callback; most depend on the event type."""

    type = _text(
        "EventType",
        required=True,
        validator=validate.Regexp(
            re.compile(r"^[A-Za-z0-9_.-]{1,100}$"),
            error="expected an event type such as 'task.created'",
        ),
    )
    timestamp = _Timestamp(required=True, data_key="Timestamp")
    account_sid = _sid("AC", required=True, data_key="AccountSid")
    workspace_sid = _sid("WS", required=True, data_key="WorkspaceSid")
    sid = _sid("EV", data_key="Sid")
    description = _text("EventDescription")
    resource_type = _text("ResourceType")
    resource_sid = _text("ResourceSid")
    workspace_name = _text("WorkspaceName")
    task_sid = _sid("WT", data_key="TaskSid")
    task_attributes = _JsonObject(data_key="TaskAttributes")
    task_age = _int("TaskAge")
    task_priority = _int("TaskPriority")
    task_assignment_status = _text("TaskAssignmentStatus")
    task_canceled_reason = _text("TaskCanceledReason")
    task_completed_reason = _text("TaskCompletedReason")
    task_channel_sid = _sid("TC", data_key="TaskChannelSid")
    task_channel_unique_name = _text("TaskChannelUniqueName")
    worker_sid = _sid("WK", data_key="WorkerSid")
    worker_attributes = _JsonObject(data_key="WorkerAttributes")
    worker_name = _text("WorkerName")
    worker_activity_sid = _sid("WA", data_key="WorkerActivitySid")
    worker_activity_name = _text("WorkerActivityName")
    worker_version = _int("WorkerVersion")
    worker_previous_activity_sid = _sid("WA", data_key="WorkerPreviousActivitySid")
    worker_time_in_previous_activity_ms = _int("WorkerTimeInPreviousActivityMs")
    worker_channel_available = _bool("WorkerChannelAvailable")
    worker_channel_available_capacity = _int("WorkerChannelAvailableCapacity")
    worker_channel_previous_capacity = _int("WorkerChannelPreviousCapacity")
    worker_channel_task_count = _int("WorkerChannelTaskCount")
    activity_sid = _sid("WA", data_key="ActivitySid")
    activity_name = _text("ActivityName")
    activity_available = _bool("ActivityAvailable")
    reservation_sid = _sid("WR", data_key="ReservationSid")
    task_queue_sid = _sid("WQ", data_key="TaskQueueSid")
    task_queue_name = _text("TaskQueueName")
    task_queue_target_expression = _text("TaskQueueTargetExpression")
    workflow_sid = _sid("WW", data_key="WorkflowSid")
    workflow_name = _text("WorkflowName")

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> Event:
        get = data.get
        task_sid = get("task_sid")
        worker_sid = get("worker_sid")
        activity_sid = get("activity_sid")
        channel_fields = (
            "worker_channel_available",
            "worker_channel_available_capacity",
            "worker_channel_previous_capacity",
            "worker_channel_task_count",
        )
        return Event(
            type=data["type"],
            timestamp=data["timestamp"],
            account_sid=data["account_sid"],
            workspace_sid=data["workspace_sid"],
            sid=get("sid"),
            description=get("description"),
            resource_type=get("resource_type"),
            resource_sid=get("resource_sid"),
            workspace_name=get("workspace_name"),
            task=None
            if task_sid is None
            else Task(
                sid=task_sid,
                attributes=get("task_attributes") or {},
                age=get("task_age"),
                priority=get("task_priority"),
                assignment_status=get("task_assignment_status"),
                canceled_reason=get("task_canceled_reason"),
                completed_reason=get("task_completed_reason"),
                channel_sid=get("task_channel_sid"),
                channel_unique_name=get("task_channel_unique_name"),
            ),
            worker=None
            if worker_sid is None
            else Worker(
                sid=worker_sid,
                attributes=get("worker_attributes") or {},
                friendly_name=get("worker_name"),
                activity_sid=get("worker_activity_sid"),
                activity_name=get("worker_activity_name"),
                version=get("worker_version"),
                previous_activity_sid=get("worker_previous_activity_sid"),
                time_in_previous_activity_ms=get("worker_time_in_previous_activity_ms"),
            ),
            activity=None
            if activity_sid is None
            else Activity(
                sid=activity_sid,
                friendly_name=get("activity_name"),
                available=get("activity_available"),
            ),
            worker_channel=None
            if not any(name in data for name in channel_fields)
            else WorkerChannel(
                task_channel_sid=get("task_channel_sid"),
                task_channel_unique_name=get("task_channel_unique_name"),
                available=get("worker_channel_available"),
                available_capacity=get("worker_channel_available_capacity"),
                previous_capacity=get("worker_channel_previous_capacity"),
                task_count=get("worker_channel_task_count"),
            ),
            reservation_sid=get("reservation_sid"),
            task_queue_sid=get("task_queue_sid"),
            task_queue_name=get("task_queue_name"),
            task_queue_target_expression=get("task_queue_target_expression"),
            workflow_sid=get("workflow_sid"),
            workflow_name=get("workflow_name"),
        )


_ASSIGNMENT_SCHEMA = AssignmentSchema()
_EVENT_SCHEMA = EventSchema()


def load_assignment(payload: Mapping[str, Any]) -> Assignment:
    """Build an :class:`Assignment` from callback fields (form or JSON).

    :param payload: field name to value; see :func:`parse_form`.
    :raises PayloadError: naming the first field that is missing or malformed.
    """
    return _load(_ASSIGNMENT_SCHEMA, payload, Assignment)


def load_event(payload: Mapping[str, Any]) -> Event:
    """Build an :class:`Event` from callback fields (form or JSON).

    :param payload: field name to value; see :func:`parse_form`.
    :raises PayloadError: naming the first field that is missing or malformed.
    """
    return _load(_EVENT_SCHEMA, payload, Event)


def _load(schema: Schema, payload: Mapping[str, Any], kind: type[_Payload]) -> _Payload:
    if not isinstance(payload, Mapping):
        raise PayloadError(f"body: expected an object of fields, got {type(payload).__name__}")
    _refuse_repeated_known_fields(schema, payload)
    try:
        loaded = schema.load(payload)
    except ValidationError as exc:
        raise _payload_error(exc) from exc
    assert isinstance(loaded, kind)
    return _with_raw(loaded, payload)


def _with_raw(value: _Payload, payload: Mapping[str, Any]) -> _Payload:
    # Frozen dataclass: set the one field that must hold the payload as received (frozen
    # all the way down, like every other field).
    object.__setattr__(value, "raw", freeze(payload))
    return value


def _refuse_repeated_known_fields(schema: Schema, payload: Mapping[str, Any]) -> None:
    if not any(isinstance(value, list) for value in payload.values()):
        return
    for name in schema.load_fields:
        wire = schema.load_fields[name].data_key or name
        value = payload.get(wire)
        if isinstance(value, list):
            raise PayloadError(f"{wire}: expected one value, got {len(value)} values", field=wire)


def _payload_error(exc: ValidationError) -> PayloadError:
    messages = exc.messages
    if isinstance(messages, dict) and messages:
        problems = []
        for wire, detail in messages.items():
            text = "; ".join(str(m) for m in detail) if isinstance(detail, list) else str(detail)
            problems.append(f"{wire}: {text}")
        first = next(iter(messages))
        return PayloadError("; ".join(problems), field=str(first))
    return PayloadError(f"body: {messages}")


# -- REST resources -------------------------------------------------------------------------
#
# The REST API's JSON uses the models' own snake_case names, so each resource
# schema is derived from its dataclass: the annotation says how a field is
# parsed (ISO dates, JSON-string attributes, ints, booleans). Only the few
# fields whose model name differs from the wire name are spelt out.

_Resource = TypeVar("_Resource")

#: Model field -> REST JSON key, where they differ.
_REST_RENAMES: dict[type, dict[str, str]] = {
    Task: {"channel_sid": "task_channel_sid", "channel_unique_name": "task_channel_unique_name"},
    Event: {"type": "event_type", "timestamp": "event_date"},
}

_REST_MODELS = (
    Activity,
    Event,
    Reservation,
    Statistics,
    Task,
    TaskChannel,
    TaskQueue,
    Worker,
    WorkerChannel,
    Workflow,
    Workspace,
)


class _RestSchema(Schema):
    """Base of the derived schemas: ignores fields the model does not know (they stay in raw)."""

    model: ClassVar[type]

    class Meta:
        unknown = EXCLUDE

    #: Fields whose model type has no ``None``: a JSON null leaves the model's default (a
    #: list response's ``"attributes": null`` is an empty dict, not ``None``).
    not_none: frozenset[str] = frozenset()

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> Any:
        kept = {k: v for k, v in data.items() if v is not None or k not in self.not_none}
        return self.model(**kept)


def _rest_field(hint: Any, wire: str, required: bool) -> fields.Field[Any] | None:
    """Return the marshmallow field for one model annotation, or None for nested models."""
    options: dict[str, Any] = {"data_key": wire, "required": required, "allow_none": not required}
    if get_origin(hint) in (Union, types.UnionType):
        kinds = [arg for arg in get_args(hint) if arg is not type(None)]
        if len(kinds) == 2 and str in kinds:
            return _JsonObjectOrText(**options)
        hint = kinds[0]
    origin = get_origin(hint) or hint
    if origin is str:
        return fields.String(**options)
    if origin is bool:
        return fields.Boolean(**options)
    if origin is int:
        return fields.Integer(**options)
    if origin is datetime:
        return _Timestamp(**options)
    if origin in (dict, Mapping):
        return _JsonObject(**options)
    if origin in (list, Sequence):
        return fields.List(fields.Raw(), **options)
    if dataclasses.is_dataclass(origin):
        return None
    raise TypeError(f"no REST field for annotation {hint!r} ({wire})")


def _rest_schema(model: type) -> Schema:
    hints = get_type_hints(model)
    renames = _REST_RENAMES.get(model, {})
    declared: dict[str, Any] = {"model": model}
    not_none = set()
    for item in dataclasses.fields(model):
        if item.name == "raw":
            continue
        required = (
            item.default is dataclasses.MISSING and item.default_factory is dataclasses.MISSING
        )
        hint = hints[item.name]
        if not required and type(None) not in get_args(hint):
            not_none.add(item.name)
        field_ = _rest_field(hints[item.name], renames.get(item.name, item.name), required)
        if field_ is not None:
            declared[item.name] = field_
    declared["not_none"] = frozenset(not_none)
    schema_class = type(f"{model.__name__}ResourceSchema", (_RestSchema,), declared)
    return schema_class()  # type: ignore[no-any-return]


_REST_SCHEMAS: dict[type, Schema] = {model: _rest_schema(model) for model in _REST_MODELS}


def load_resource(model: type[_Resource], payload: Mapping[str, Any]) -> _Resource:
    """Build a model from a REST API resource (its JSON object).

    :param model: the model class, e.g. :class:`~taskrouter_flask.models.Task`.
    :raises PayloadError: naming the first field that is malformed.
    :raises KeyError: if ``model`` is not a REST resource model.
    """
    if not isinstance(payload, Mapping):
        raise PayloadError(f"body: expected a JSON object, got {type(payload).__name__}")
    try:
        loaded = _REST_SCHEMAS[model].load(payload)
    except ValidationError as exc:
        raise _payload_error(exc) from exc
    object.__setattr__(loaded, "raw", freeze(payload))
    assert isinstance(loaded, model)
    return loaded
