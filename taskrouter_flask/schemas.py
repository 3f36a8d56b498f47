"""Turn TaskRouter's wire payloads into :mod:`taskrouter_flask.models` values.

Callbacks arrive as flat form fields of strings in Twilio's CamelCase
(``TaskAttributes`` holding JSON, ``TaskAge`` holding digits). Parsing happens
here, once, so that everything behind it works on typed values and every way a
payload can be wrong becomes one :class:`PayloadError` that names the field,
what was wrong and what was expected.

Each rule (a SID of a kind, an integer, a timestamp, a JSON object) is one
function. The two webhook payloads are read by a small loop over a table of
their fields that calls those functions directly: a callback is parsed on
every request, and marshmallow's own machinery cost more than the rules
themselves. :class:`AssignmentSchema` and :class:`EventSchema` are marshmallow
schemas built from the same tables and rules, so both ways of loading agree;
the REST resources are loaded by marshmallow schemas derived from the models.

Fields Twilio adds later are kept in ``raw`` and never rejected. A field that
the schema knows and that arrives more than once is refused: repeating it is
not something Twilio does, and accepting either copy would let a forged
payload say one thing to the signature and another to the handler.
"""

from __future__ import annotations

import binascii
import dataclasses
import re
import types
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, NamedTuple, TypeVar, Union, get_args, get_origin, get_type_hints
from urllib.parse import parse_qsl

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load

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
from .wire import decode_json_object, format_timestamp, sid_pattern

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


# -- form bodies ----------------------------------------------------------------------------


def parse_form(body: bytes, *, max_fields: int = MAX_FORM_FIELDS) -> FormFields:
    """Decode an ``application/x-www-form-urlencoded`` body.

    The result is what the standard library's ``parse_qsl`` (blank values
    kept, invalid UTF-8 refused) gives, grouped by name.

    :param body: the raw body.
    :param max_fields: refuse bodies with more fields than this.
    :raises PayloadError: if the body is not UTF-8 form data or has too many fields.
    """
    if not body.isascii():
        try:
            body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _not_utf8(exc) from exc
    pairs = _split_form(body, max_fields)
    if pairs is None:
        pairs = _split_form_slowly(body, max_fields)
    form: FormFields = dict(pairs)
    if len(form) == len(pairs):
        return form
    form = {}  # some name came more than once: its values, in order, as a list
    for name, value in pairs:
        previous = form.get(name)
        if previous is None:
            form[name] = value
        elif isinstance(previous, list):
            previous.append(value)
        else:
            form[name] = [previous, value]
    return form


#: Percent escapes become quoted-printable ones (``%7B`` -> ``=7B``), which
#: ``binascii.a2b_qp`` decodes in C; ``+`` becomes a space first, as in a form;
#: the separators become control characters that the checks below account for.
_FORM_TRANSLATION = bytes.maketrans(b"+%=&", b" =\x01\x00")


def _split_form(body: bytes, max_fields: int) -> list[tuple[str, str]] | None:
    """Split and percent-decode a form in a few passes of C, or None if the body needs the slow way.

    ``urllib``'s decoding loops in Python over every escape, and attribute
    JSON is mostly escapes. Here the whole body is decoded at once, which is
    exact only when nothing is ambiguous: every ``%`` starts a valid escape
    (checked by the decoded length, each escape taking three bytes to one),
    no escape or byte makes a separator stand-in (``\\x00`` or ``\\x01``),
    and there is no line break (quoted-printable drops one after an ``=``).
    Any other body, and any invalid UTF-8 (whose error must name the same
    position), goes to :func:`_split_form_slowly`.
    """
    if b"\x00" in body or b"\x01" in body or b"\r" in body or b"\n" in body:
        return None
    translated = body.translate(_FORM_TRANSLATION)
    escapes = body.count(b"%")
    if escapes:
        if b"%00" in body or b"%01" in body:
            return None
        translated = binascii.a2b_qp(translated)
        if len(translated) != len(body) - 2 * escapes:
            return None
    try:
        text = translated.decode("utf-8")
    except UnicodeDecodeError:
        return None
    segments = text.split("\x00")
    if body and len(segments) > max_fields:
        raise _too_many_fields(max_fields)
    pairs = []
    for segment in segments:
        if segment:
            name, _, value = segment.partition("\x01")
            if "\x01" in value:  # an '=' after the first stays in the value
                value = value.replace("\x01", "=")
            pairs.append((name, value))
    return pairs


def _split_form_slowly(body: bytes, max_fields: int) -> list[tuple[str, str]]:
    try:
        return parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, errors="strict", max_num_fields=max_fields
        )
    except UnicodeDecodeError as exc:
        raise _not_utf8(exc) from exc
    except ValueError as exc:
        raise _too_many_fields(max_fields) from exc


def _not_utf8(exc: UnicodeDecodeError) -> PayloadError:
    return PayloadError(
        f"body: expected UTF-8 form data, got an invalid byte at position {exc.start}"
    )


def _too_many_fields(max_fields: int) -> PayloadError:
    return PayloadError(f"body: expected at most {max_fields} form fields")


# -- JSON -----------------------------------------------------------------------------------


def parse_json_body(body: bytes) -> dict[str, Any]:
    """Decode an ``application/json`` callback body, which must be one JSON object.

    :raises PayloadError: if it is not JSON, nested too deeply, not an object,
        or holds a lone surrogate (see :func:`_refuse_lone_surrogates`).
    """
    try:
        decoded = decode_json_object(body)
    except ValueError as exc:
        raise PayloadError(f"body: {exc}") from exc
    # JSON can spell a surrogate only as a \u escape, as UTF-8 bytes ED A0..ED BF (decoded
    # with 'surrogatepass'), or in UTF-16 or UTF-32 (whose ASCII characters hold zero bytes).
    if b"\\u" in body or b"\xed" in body or b"\x00" in body:
        _refuse_lone_surrogates(decoded)
    return decoded


_SURROGATE = re.compile("[\ud800-\udfff]")
_JSON_TEXT = (str, dict, list)  # what can hold text in decoded JSON


def _refuse_lone_surrogates(fields: dict[str, Any]) -> None:
    """Refuse text holding half of a UTF-16 surrogate pair, naming the field it is in.

    JSON lets ``"\\ud800"`` be escaped on its own, and Python decodes it into a
    string that cannot be encoded again: left in, it fails later, in a log, a
    store or a response, as a 500. Here it is the sender's 400.
    """
    for key, value in fields.items():
        found = _SURROGATE.search(key)
        if found is not None:
            name = key.encode("utf-8", "backslashreplace").decode("utf-8")
            raise PayloadError(
                _surrogate_problem(name, found.group(), "the field's name"), field=name
            )
        if not isinstance(value, _JSON_TEXT):
            continue
        where = _lone_surrogate_in(value)
        if where is not None:
            raise PayloadError(_surrogate_problem(key, *where), field=key)


def _surrogate_problem(field: str, surrogate: str, where: str) -> str:
    return (
        f"{field}: expected text of Unicode characters, got a lone surrogate"
        f" \\u{ord(surrogate):04x} (half of a UTF-16 pair, which encodes no character) in {where}"
    )


def _lone_surrogate_in(value: str | dict[str, Any] | list[Any]) -> tuple[str, str] | None:
    """The first lone surrogate in a decoded JSON value and where it is, or None."""
    if isinstance(value, str):
        found = _SURROGATE.search(value)
        return None if found is None else (found.group(), "its value")
    pending: list[Any] = [value]  # iterative: the decoder allows deeper nesting than the stack
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found = _SURROGATE.search(item)
            if found is not None:
                return found.group(), "a string inside its value"
        elif isinstance(item, dict):
            for key, inner in item.items():
                found = _SURROGATE.search(key)
                if found is not None:
                    return found.group(), "a key inside its value"
                pending.append(inner)
        elif isinstance(item, list):
            pending.extend(item)
    return None


# -- the rules of the webhook fields --------------------------------------------------------
#
# Each takes a value as received (a string from a form, any JSON value from a JSON body)
# and returns it parsed, or raises marshmallow's ValidationError with what was expected.
# The webhook loaders below call them directly, and the marshmallow fields wrap them.

_MISSING = "required field is missing"
_NULL = str(fields.Field.default_error_messages["null"])
_NOT_UTF8 = str(fields.String.default_error_messages["invalid_utf8"])
_TOO_LARGE = str(fields.Number.default_error_messages["too_large"])
_TRUTHY: set[Any] = fields.Boolean.truthy
_FALSY: set[Any] = fields.Boolean.falsy


def _sid_rule(prefix: str) -> Callable[[Any], str]:
    """A SID of one kind: two capital letters and 32 hex digits."""
    match = sid_pattern(prefix).fullmatch
    problem = f"expected a {prefix} SID: '{prefix}' followed by 32 hex digits"

    def sid(value: Any) -> str:
        if isinstance(value, str) and match(value):
            return value
        raise ValidationError(problem)

    return sid


def _text(value: Any) -> str:
    """Text, as a form gives it; bytes (only a Python caller passes them) must be UTF-8."""
    if type(value) is str:
        return value
    if not isinstance(value, str | bytes):
        raise ValidationError("expected a string")
    try:
        return str(value.decode("utf-8") if isinstance(value, bytes) else value)
    except UnicodeDecodeError as exc:
        raise ValidationError(_NOT_UTF8) from exc


def _integer(value: Any) -> int:
    """Anything ``int()`` takes but a boolean: digits from a form, a number from JSON."""
    if value is True or value is False:
        raise ValidationError("expected an integer")
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError("expected an integer") from exc
    except OverflowError as exc:
        raise ValidationError(_TOO_LARGE) from exc


def _boolean(value: Any) -> bool:
    """``true``/``false`` and the other spellings marshmallow's Boolean takes."""
    try:
        if value in _TRUTHY:
            return True
        if value in _FALSY:
            return False
    except TypeError as exc:  # unhashable
        raise ValidationError("expected 'true' or 'false'") from exc
    raise ValidationError("expected 'true' or 'false'")


_EVENT_TYPE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def _event_type(value: Any) -> str:
    """An event type such as ``task.created``: letters, digits, ``_``, ``.`` and ``-``."""
    text = _text(value)
    if _EVENT_TYPE.match(text) is None:
        raise ValidationError("expected an event type such as 'task.created'")
    return text


def _json_object(value: Any) -> dict[str, Any]:
    """Attributes travel as a JSON string; a JSON body may already hold the object."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise ValidationError(f"expected a JSON object as a string, got {type(value).__name__}")
    try:
        return decode_json_object(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


def _json_object_or_text(value: Any) -> dict[str, Any] | str:
    """A document that is usually a JSON object; any other text is kept as it is."""
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        raise ValidationError(f"expected a document as a string, got {type(value).__name__}")
    try:
        return decode_json_object(value)
    except ValueError:
        return value


def _timestamp(value: Any) -> datetime:
    """Twilio sends epoch seconds; ISO 8601 and epoch milliseconds are accepted too."""
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
            f"expected epoch seconds or an ISO 8601 date-time, got {_shown(value)}"
        ) from exc
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _shown(value: str | int | float) -> str:
    """The start of a value, quoted, for a message; never an error of its own.

    ``str()`` of an integer of more than 4,300 digits raises ValueError, which a
    rule must not let out: the loaders turn only ValidationError into a 400.
    """
    try:
        return repr(str(value)[:40])
    except ValueError:
        return "an integer too long to show"


# -- the webhook payloads -------------------------------------------------------------------


class _Wire(NamedTuple):
    """One field of a webhook payload: its wire name, its name in the loaded data, its rule."""

    wire: str
    name: str
    rule: Callable[[Any], Any]
    required: bool = False


_ASSIGNMENT_FIELDS: tuple[_Wire, ...] = (
    _Wire("AccountSid", "account_sid", _sid_rule("AC"), required=True),
    _Wire("WorkspaceSid", "workspace_sid", _sid_rule("WS"), required=True),
    _Wire("WorkflowSid", "workflow_sid", _sid_rule("WW"), required=True),
    _Wire("TaskQueueSid", "task_queue_sid", _sid_rule("WQ"), required=True),
    _Wire("ReservationSid", "reservation_sid", _sid_rule("WR"), required=True),
    _Wire("TaskSid", "task_sid", _sid_rule("WT"), required=True),
    _Wire("TaskAttributes", "task_attributes", _json_object, required=True),
    _Wire("TaskAge", "task_age", _integer, required=True),
    _Wire("TaskPriority", "task_priority", _integer, required=True),
    _Wire("TaskChannelSid", "task_channel_sid", _sid_rule("TC")),
    _Wire("TaskChannelUniqueName", "task_channel_unique_name", _text),
    _Wire("WorkerSid", "worker_sid", _sid_rule("WK"), required=True),
    _Wire("WorkerAttributes", "worker_attributes", _json_object, required=True),
    _Wire("Timestamp", "timestamp", _timestamp),
)

_EVENT_FIELDS: tuple[_Wire, ...] = (
    _Wire("EventType", "type", _event_type, required=True),
    _Wire("Timestamp", "timestamp", _timestamp, required=True),
    _Wire("AccountSid", "account_sid", _sid_rule("AC"), required=True),
    _Wire("WorkspaceSid", "workspace_sid", _sid_rule("WS"), required=True),
    _Wire("Sid", "sid", _sid_rule("EV")),
    _Wire("EventDescription", "description", _text),
    _Wire("ResourceType", "resource_type", _text),
    _Wire("ResourceSid", "resource_sid", _text),
    _Wire("WorkspaceName", "workspace_name", _text),
    _Wire("TaskSid", "task_sid", _sid_rule("WT")),
    _Wire("TaskAttributes", "task_attributes", _json_object),
    _Wire("TaskAge", "task_age", _integer),
    _Wire("TaskPriority", "task_priority", _integer),
    _Wire("TaskAssignmentStatus", "task_assignment_status", _text),
    _Wire("TaskCanceledReason", "task_canceled_reason", _text),
    _Wire("TaskCompletedReason", "task_completed_reason", _text),
    _Wire("TaskChannelSid", "task_channel_sid", _sid_rule("TC")),
    _Wire("TaskChannelUniqueName", "task_channel_unique_name", _text),
    _Wire("WorkerSid", "worker_sid", _sid_rule("WK")),
    _Wire("WorkerAttributes", "worker_attributes", _json_object),
    _Wire("WorkerName", "worker_name", _text),
    _Wire("WorkerActivitySid", "worker_activity_sid", _sid_rule("WA")),
    _Wire("WorkerActivityName", "worker_activity_name", _text),
    _Wire("WorkerVersion", "worker_version", _integer),
    _Wire("WorkerPreviousActivitySid", "worker_previous_activity_sid", _sid_rule("WA")),
    _Wire("WorkerTimeInPreviousActivityMs", "worker_time_in_previous_activity_ms", _integer),
    _Wire("WorkerChannelAvailable", "worker_channel_available", _boolean),
    _Wire("WorkerChannelAvailableCapacity", "worker_channel_available_capacity", _integer),
    _Wire("WorkerChannelPreviousCapacity", "worker_channel_previous_capacity", _integer),
    _Wire("WorkerChannelTaskCount", "worker_channel_task_count", _integer),
    _Wire("ActivitySid", "activity_sid", _sid_rule("WA")),
    _Wire("ActivityName", "activity_name", _text),
    _Wire("ActivityAvailable", "activity_available", _boolean),
    _Wire("ReservationSid", "reservation_sid", _sid_rule("WR")),
    _Wire("TaskQueueSid", "task_queue_sid", _sid_rule("WQ")),
    _Wire("TaskQueueName", "task_queue_name", _text),
    _Wire("TaskQueueTargetExpression", "task_queue_target_expression", _text),
    _Wire("WorkflowSid", "workflow_sid", _sid_rule("WW")),
    _Wire("WorkflowName", "workflow_name", _text),
)

#: Event fields the parser knows and leaves in ``raw`` alone: no model field holds them
#: (``TimestampMs`` and ``WorkerTimeInPreviousActivity`` repeat ``Timestamp`` and
#: ``WorkerTimeInPreviousActivityMs`` less precisely). Together with :data:`_EVENT_FIELDS`
#: they are :data:`taskrouter_flask.wire.EVENT_FIELDS`, which a test holds them to.
_EVENT_FIELDS_LEFT_IN_RAW: tuple[str, ...] = (
    "TimestampMs",
    "TaskChannelName",
    "TaskChannelOptimizedRouting",
    "WorkflowFilterName",
    "WorkerTimeInPreviousActivity",
)


def _build_assignment(data: dict[str, Any]) -> Assignment:
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


_CHANNEL_FIELDS = (
    "worker_channel_available",
    "worker_channel_available_capacity",
    "worker_channel_previous_capacity",
    "worker_channel_task_count",
)


def _build_event(data: dict[str, Any]) -> Event:
    get = data.get
    task_sid = get("task_sid")
    worker_sid = get("worker_sid")
    activity_sid = get("activity_sid")
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
        if not any(name in data for name in _CHANNEL_FIELDS)
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


def load_assignment(payload: Mapping[str, Any]) -> Assignment:
    """Build an :class:`Assignment` from callback fields (form or JSON).

    :param payload: field name to value; see :func:`parse_form`.
    :raises PayloadError: naming the first field that is missing or malformed.
    """
    return _with_raw(_build_assignment(_read_fields(_ASSIGNMENT_FIELDS, payload)), payload)


def load_event(payload: Mapping[str, Any]) -> Event:
    """Build an :class:`Event` from callback fields (form or JSON).

    :param payload: field name to value; see :func:`parse_form`.
    :raises PayloadError: naming the first field that is missing or malformed.
    """
    return _with_raw(_build_event(_read_fields(_EVENT_FIELDS, payload)), payload)


_ABSENT: Any = object()


def _read_fields(table: tuple[_Wire, ...], payload: Mapping[str, Any]) -> dict[str, Any]:
    """Apply each field's rule; every problem found goes into one PayloadError.

    The fields are read in the table's order, and the message names every
    field at fault, the first one as ``field``: the way marshmallow reported
    them, which callers and logs already know. A known field sent more than
    once is refused at once, whatever else is wrong with the payload; the
    rules raise nothing but ValidationError, so none of them can get ahead
    of it.
    """
    if not isinstance(payload, Mapping):
        raise PayloadError(f"body: expected an object of fields, got {type(payload).__name__}")
    get = payload.get
    data: dict[str, Any] = {}
    problems: list[tuple[str, list[Any]]] = []
    for wire, name, rule, required in table:
        value = get(wire, _ABSENT)
        if type(value) is not str:  # a string is by far the usual: none of these
            if value is _ABSENT:
                if required:
                    problems.append((wire, [_MISSING]))
                continue
            if value is None:
                problems.append((wire, [_NULL]))
                continue
            if isinstance(value, list):
                raise _repeated(wire, value)
        try:
            data[name] = rule(value)
        except ValidationError as exc:
            messages = exc.messages
            problems.append((wire, messages if isinstance(messages, list) else [messages]))
    if problems:
        raise _problems_error(problems)
    return data


def _with_raw(value: _Payload, payload: Mapping[str, Any]) -> _Payload:
    # Frozen dataclass: set the one field that must hold the payload as received (frozen
    # all the way down, like every other field).
    object.__setattr__(value, "raw", freeze(payload))
    return value


def _repeated(wire: str, values: list[Any]) -> PayloadError:
    return PayloadError(f"{wire}: expected one value, got {len(values)} values", field=wire)


def _problems_error(problems: Sequence[tuple[str, Any]]) -> PayloadError:
    """One error for every field at fault, named by the first."""
    text = []
    for wire, detail in problems:
        said = "; ".join(str(m) for m in detail) if isinstance(detail, list) else str(detail)
        text.append(f"{wire}: {said}")
    return PayloadError("; ".join(text), field=str(problems[0][0]))


def _payload_error(exc: ValidationError) -> PayloadError:
    messages = exc.messages
    if isinstance(messages, dict) and messages:
        return _problems_error(list(messages.items()))
    return PayloadError(f"body: {messages}")


# -- the same payloads as marshmallow schemas -----------------------------------------------


class _RuleField(fields.Field[Any]):
    """A marshmallow field whose whole parsing is one of the rules above."""

    def __init__(self, rule: Callable[[Any], Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> Any:
        return self.rule(value)


def _schema_fields(table: tuple[_Wire, ...]) -> dict[str, fields.Field[Any]]:
    return {
        item.name: _RuleField(
            item.rule,
            required=item.required,
            data_key=item.wire,
            error_messages={"required": _MISSING},
        )
        for item in table
    }


class _PayloadSchema(Schema):
    """Shared behaviour: unknown fields are ignored here (they stay in ``raw``)."""

    class Meta:
        unknown = EXCLUDE


class AssignmentSchema(_PayloadSchema):
    """The fields of an assignment callback, as a marshmallow schema.

    :func:`load_assignment` reads the same fields with the same rules without
    marshmallow; this schema is for code that composes marshmallow schemas.
    ``load`` gives an :class:`Assignment` without ``raw``.
    """

    class Meta(_PayloadSchema.Meta):
        include = _schema_fields(_ASSIGNMENT_FIELDS)

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> Assignment:
        return _build_assignment(data)


class EventSchema(_PayloadSchema):
    """The fields of an event callback (most depend on the event type), as a marshmallow schema.

    :func:`load_event` reads the same fields with the same rules without
    marshmallow. ``load`` gives an :class:`Event` without ``raw``.
    """

    class Meta(_PayloadSchema.Meta):
        include = _schema_fields(_EVENT_FIELDS)

    @post_load
    def _build(self, data: dict[str, Any], **kwargs: Any) -> Event:
        return _build_event(data)


class _JsonObject(_RuleField):
    default_error_messages = {"required": _MISSING}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(_json_object, **kwargs)


class _JsonObjectOrText(_RuleField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(_json_object_or_text, **kwargs)


class _Timestamp(_RuleField):
    default_error_messages = {"required": _MISSING}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(_timestamp, **kwargs)


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
