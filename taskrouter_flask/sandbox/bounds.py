"""Bounds on what the sandbox accepts: whole numbers, and JSON documents.

Why: input that is merely *large* must be refused as bad input (a 400 that
names the field), not found later as a failure. Python's ``int()`` refuses
text of more than 4,300 digits with a ``ValueError``, ``json.loads`` accepts
``NaN`` and turns ``1e999`` into infinity, and a document nested a thousand
levels deep parses but cannot be serialised again (``json.dumps`` recurses).
Every check here is done before the expensive or recursive step: the length
of the text before ``int()``, the length and nesting of a JSON text before
``json.loads``, and the nesting of an already-parsed value by walking it with
an explicit stack, never by recursion.

The limits are Twilio's where Twilio documents one (each constant cites the
page); where it does not, the constant is our own choice and says so. The
functions take the REST parameter's name as ``field`` and raise
:class:`~taskrouter_flask.sandbox.errors.InvalidArgument` with a message
naming it, what was wrong and what was expected. They serve both callers:
text from HTTP (:func:`parse_int`, :func:`parse_json`,
:func:`parse_json_object`) and values given directly by Python callers of the
engine (:func:`check_int`, :func:`check_json_value`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import wire
from .errors import InvalidArgument

__all__ = [
    "MAX_NAME_CHARS",
    "EVENT_REDACTION_MINUTES",
    "EVENT_RETENTION_DAYS",
    "MAX_ASSIGNMENT_COUNT",
    "MAX_CHANNEL_CAPACITY",
    "MAX_INSTRUCTION_TIMEOUT",
    "MAX_INT_TEXT",
    "MAX_JSON_DEPTH",
    "MAX_JSON_NUMBER_TEXT",
    "MAX_MINUTES",
    "MAX_PAGE",
    "MAX_PAGE_SIZE",
    "MAX_PARTICIPANTS",
    "MAX_PRIORITY",
    "MAX_RESERVATION_TIMEOUT",
    "MAX_RESERVED_WORKERS",
    "MAX_TASK_ATTRIBUTES",
    "MAX_TASK_TIMEOUT",
    "MAX_WORKER_ATTRIBUTES",
    "MAX_WORKFLOW_CONFIGURATION",
    "PARAMETER_RANGES",
    "STATISTICS_START_DAYS",
    "IntRange",
    "check_int",
    "check_json_value",
    "json_depth",
    "parse_int",
    "parse_json",
    "parse_json_object",
]

_LIMITS_PAGE = "https://www.twilio.com/docs/taskrouter/limits"

# -- Twilio's documented limits -------------------------------------------------------------

#: Names of workspaces, activities, workers and task channels: "It can be up to 64 characters
#: long" (their ``FriendlyName`` in Twilio's OpenAPI description; queues and workflows give no
#: limit).
MAX_NAME_CHARS = 64
#: Task priority: "Value can be 0 to 2^31 (2,147,483,647)" (the Task resource's ``Priority``,
#: https://www.twilio.com/docs/taskrouter/api/task, and Twilio's OpenAPI description).
MAX_PRIORITY = 2**31 - 1
#: Task timeout (pending and reserved tasks): 1,209,600 seconds (2 weeks),
#: https://www.twilio.com/docs/taskrouter/limits.
MAX_TASK_TIMEOUT = 1_209_600
#: Max reservation timeout: 86,400 seconds (24 hours), https://www.twilio.com/docs/taskrouter/limits
#: (the workflow's ``TaskReservationTimeout``: "Can be up to 86,400 (24 hours)",
#: https://www.twilio.com/docs/taskrouter/api/workflow).
MAX_RESERVATION_TIMEOUT = 86_400
#: Max reserved workers of a queue: 50, https://www.twilio.com/docs/taskrouter/limits
#: ("Can be an integer between 1 and 50, inclusive" on the TaskQueue resource).
MAX_RESERVED_WORKERS = 50
#: Channel capacity per worker: 50,
#: https://jp.twilio.com/docs/taskrouter/taskrouter-resource-limits ("Channel Capacity per
#: Worker ... 50"); 0 means no new reservations (the WorkerChannel's ``Capacity``).
MAX_CHANNEL_CAPACITY = 50
#: Page size of any list: 1 to 1,000, error 20007 "The maximum page size is 1000",
#: https://www.twilio.com/docs/api/errors/20007 (and ``PageSize`` maximum 1000 in the OpenAPI
#: description).
MAX_PAGE_SIZE = 1000
#: Conference participants: "a positive integer from 2 to 250" (the Reservation's
#: ``MaxParticipants``, https://www.twilio.com/docs/taskrouter/api/reservations).
MAX_PARTICIPANTS = 250
#: Worker attributes: "The maximum size of the JSON string used for defining Worker
#: attributes", 4,096 characters, whitespace included, https://www.twilio.com/docs/taskrouter/limits.
MAX_WORKER_ATTRIBUTES = 4096
#: Task attributes: 4,096 characters, whitespace included, https://www.twilio.com/docs/taskrouter/limits.
MAX_TASK_ATTRIBUTES = 4096
#: Workflow configuration: "1038576 bytes (1MB)" as printed on
#: https://www.twilio.com/docs/taskrouter/limits (sic: the page's figure, not 1,048,576).
#: Counted here in characters; the REST body is also capped at 1 MiB by the app.
MAX_WORKFLOW_CONFIGURATION = 1_038_576
#: Max assignment count: a task moves from pending to reserved at most 1,000 times before it
#: is canceled, https://www.twilio.com/docs/taskrouter/limits ("Number of times a Task can move
#: from status pending to reserved before being cancelled. In a multi-reservation setup, the
#: simultaneous reservation of multiple workers equates to only a single Task state change").
#: Enforced by :mod:`.lifecycle`.
MAX_ASSIGNMENT_COUNT = 1000
#: Events are kept 30 days: "it keeps that data for 30 days",
#: https://www.twilio.com/docs/taskrouter/api/event.
EVENT_RETENTION_DAYS = 30
#: The Events resource redacts the task attributes of older events: "Task Attributes for Events
#: occuring more 43,200 minutes ago will be redacted" (the ``Minutes`` parameter, sic) and "Task
#: Attributes for Events older than 30 days will be redacted" (``StartDate``),
#: https://www.twilio.com/docs/taskrouter/api/event. Matters only when the sandbox keeps events
#: longer than :data:`EVENT_RETENTION_DAYS`; applied by :mod:`.render`.
EVENT_REDACTION_MINUTES = 43_200
#: Statistics refuse a ``StartDate`` more than 30 days back with a 400 and error 14241: "we will
#: no longer return data older than 30 days, and instead return a 400-response for requests
#: with <start_date> older than 30 days", https://www.twilio.com/docs/api/errors/14241.
#: Applied by :mod:`.statistics`.
STATISTICS_START_DAYS = 30

# -- our own bounds, where Twilio documents none --------------------------------------------

#: Ours: the longest text read as a whole number. ``-2147483648`` is 11 characters; 32 leaves
#: room for leading zeros and still refuses a 5,000-digit number before ``int()`` sees it.
MAX_INT_TEXT = 32
#: Ours: the deepest nesting of a JSON document (objects and arrays, the outermost is level 1).
#: Twilio documents only the size of attributes; 64 levels is far beyond routing data and far
#: below Python's recursion limit, so every accepted document serialises again.
MAX_JSON_DEPTH = 64
#: Ours: the longest number inside a JSON document (its text, sign and exponent included).
#: 100 characters is any double or 64-bit integer many times over, and keeps ``int()``
#: away from its 4,300-digit limit.
MAX_JSON_NUMBER_TEXT = 100
#: Ours: the ring timeout of the call, dequeue and conference instructions, 1 to 999 seconds,
#: as :mod:`taskrouter_flask.instructions` checks them (Twilio's older Calls API documented
#: "the maximum is 999 seconds"; the TaskRouter pages we found give no range).
MAX_INSTRUCTION_TIMEOUT = 999
#: Ours: the ``Minutes`` window of events and statistics, at most one year (525,600 minutes).
#: Twilio documents no maximum; it keeps events 30 days (:data:`EVENT_RETENTION_DAYS`), redacts
#: task attributes of events older than 43,200 minutes (:data:`EVENT_REDACTION_MINUTES`), and
#: refuses statistics whose ``StartDate`` is more than 30 days back
#: (:data:`STATISTICS_START_DAYS`; the error page names ``start_date`` only, so a ``Minutes``
#: window reaching further back is not refused). A year keeps every such request valid here
#: while refusing windows that reach before the year 1.
MAX_MINUTES = 525_600
#: Ours: the highest ``Page`` number, the largest 32-bit signed integer (Twilio's ``Page`` has
#: only a minimum of 0 in its OpenAPI description).
MAX_PAGE = 2**31 - 1


@dataclass(frozen=True, slots=True)
class IntRange:
    """The whole numbers a parameter accepts, ``low`` to ``high`` inclusive."""

    low: int
    high: int


#: The range of each whole-number REST parameter, by its name on the wire. ``Timeout`` is both
#: a task's time to live and the conference instruction's ring timeout; the wider range is
#: checked here and the instruction's own 1 to 999 when the instruction is built.
PARAMETER_RANGES: Mapping[str, IntRange] = {
    "Priority": IntRange(0, MAX_PRIORITY),
    "Timeout": IntRange(1, MAX_TASK_TIMEOUT),
    "TaskReservationTimeout": IntRange(1, MAX_RESERVATION_TIMEOUT),
    "MaxReservedWorkers": IntRange(1, MAX_RESERVED_WORKERS),
    "Capacity": IntRange(0, MAX_CHANNEL_CAPACITY),
    "Minutes": IntRange(1, MAX_MINUTES),
    "PageSize": IntRange(1, MAX_PAGE_SIZE),
    "Page": IntRange(0, MAX_PAGE),
    "CallTimeout": IntRange(1, MAX_INSTRUCTION_TIMEOUT),
    "DequeueTimeout": IntRange(1, MAX_INSTRUCTION_TIMEOUT),
    "MaxParticipants": IntRange(2, MAX_PARTICIPANTS),
}

# -- whole numbers ----------------------------------------------------------------------------

_WHOLE = re.compile(r"-?[0-9]+")
_SHOWN = 40


def _expected_whole(low: int, high: int) -> str:
    return f"expected a whole number from {low} to {high}"


def _describe_text(text: str, *, longest: int = _SHOWN) -> str:
    """``text`` as a message shows it: in full when short, by its size when not."""
    if len(text) <= longest:
        return repr(text)
    digits = text.removeprefix("-")
    if digits.isascii() and digits.isdigit():
        return f"a number of {len(digits)} digits"
    return f"{len(text)} characters of text"


def parse_int(field: str, text: str, low: int, high: int) -> int:
    """The whole number ``text`` spells, if it lies in ``low`` to ``high``.

    Text longer than :data:`MAX_INT_TEXT` is refused before ``int()`` sees it, so a number of
    thousands of digits is a clear error rather than Python's digit limit.

    :param field: the parameter's name, for the message.
    :raises InvalidArgument: if ``text`` is not a whole number in range.
    """
    expected = _expected_whole(low, high)
    if len(text) > MAX_INT_TEXT or not _WHOLE.fullmatch(text):
        shown = _describe_text(text, longest=MAX_INT_TEXT)
        raise InvalidArgument(f"{field}: {expected}, got {shown}")
    value = int(text)
    if not low <= value <= high:
        raise InvalidArgument(f"{field}: {expected}, got {value}")
    return value


def check_int(field: str, value: object, low: int, high: int) -> int:
    """``value`` itself, if it is an ``int`` (not a ``bool``) from ``low`` to ``high``.

    For values given by Python callers rather than parsed from text.

    :raises InvalidArgument: if it is not.
    """
    expected = _expected_whole(low, high)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{field}: {expected}, got {_describe_value(value)}")
    if not low <= value <= high:
        shown = str(value) if value.bit_length() <= 128 else f"a number of {_digits(value)} digits"
        raise InvalidArgument(f"{field}: {expected}, got {shown}")
    return value


def _digits(value: int) -> str:
    """About how many decimal digits ``value`` has, without ``str()`` (which has a limit)."""
    return f"about {max(1, round(abs(value).bit_length() * math.log10(2)))}"


def _describe_value(value: object) -> str:
    if isinstance(value, str):
        return _describe_text(value)
    if isinstance(value, bool | float) or value is None:
        return repr(value)
    return f"a {type(value).__name__}"


# -- JSON -------------------------------------------------------------------------------------

#: A JSON string (or what is left of an unterminated one), or one bracket: what matters to
#: nesting, in document order. Every string match ends at its closing quote or at the end of
#: the text without backtracking, so the scan is linear even for hostile text.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.?)*(?:"|\Z)|[\[\]{}]', re.DOTALL)
_KINDS = {
    dict: "object",
    list: "list",
    str: "string",
    int: "number",
    float: "number",
    bool: "boolean",
    type(None): "null",
}


def json_depth(text: str, *, stop_above: int | None = None) -> int:
    """How deeply the objects and arrays of the JSON ``text`` nest (0 for a bare scalar).

    Counted by scanning brackets outside strings, without parsing and without recursion.
    For malformed text it is the depth of the brackets as written.

    :param stop_above: stop scanning, and answer, as soon as the depth exceeds this.
    """
    depth = deepest = 0
    for match in _TOKENS.finditer(text):
        token = match.group()
        if token == "[" or token == "{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if stop_above is not None and deepest > stop_above:
                    break
        elif token == "]" or token == "}":
            depth = max(0, depth - 1)
    return deepest


def _too_big(field: str, what: str, size: int, limit: int) -> InvalidArgument:
    return InvalidArgument(f"{field}: expected {what} of at most {limit} characters, got {size}")


def _too_deep(field: str, limit: int) -> InvalidArgument:
    return InvalidArgument(
        f"{field}: expected JSON nested at most {limit} levels deep, got more than {limit}"
    )


def parse_json(field: str, text: str, *, max_depth: int = MAX_JSON_DEPTH, max_chars: int) -> Any:
    """The value of the JSON ``text``, within bounds of size, nesting and number.

    Refused, before parsing: text longer than ``max_chars`` characters (whitespace counts, as
    Twilio counts it), nesting deeper than ``max_depth``. While parsing: ``NaN``,
    ``Infinity`` and ``-Infinity``, numbers that overflow a double (``1e999``) and number
    literals longer than :data:`MAX_JSON_NUMBER_TEXT` characters.

    :param field: the parameter's name, for the message.
    :raises InvalidArgument: if the text is not JSON or breaks a bound.
    """
    return _parse(field, text, "a JSON document", max_depth=max_depth, max_chars=max_chars)


def parse_json_object(
    field: str, text: str, *, max_depth: int = MAX_JSON_DEPTH, max_chars: int
) -> dict[str, Any]:
    """Like :func:`parse_json`, for text that must hold a JSON object.

    :raises InvalidArgument: if the text is not a JSON object or breaks a bound.
    """
    value = _parse(field, text, "a JSON object", max_depth=max_depth, max_chars=max_chars)
    if not isinstance(value, dict):
        raise InvalidArgument(f"{field}: expected a JSON object, got a JSON {_KINDS[type(value)]}")
    return value


def _parse(field: str, text: str, what: str, *, max_depth: int, max_chars: int) -> Any:
    if len(text) > max_chars:
        raise _too_big(field, what, len(text), max_chars)
    depth = json_depth(text, stop_above=max_depth)
    if depth > max_depth:
        raise _too_deep(field, max_depth)

    def number_text(literal: str) -> None:
        if len(literal) > MAX_JSON_NUMBER_TEXT:
            raise InvalidArgument(
                f"{field}: expected JSON numbers of at most {MAX_JSON_NUMBER_TEXT} characters,"
                f" got {_describe_text(literal)}"
            )

    def whole(literal: str) -> int:
        number_text(literal)
        return int(literal)

    def real(literal: str) -> float:
        number_text(literal)
        value = float(literal)
        if not math.isfinite(value):
            raise InvalidArgument(
                f"{field}: expected finite JSON numbers, got {literal}, too large for a double"
            )
        return value

    try:
        return wire.loads(text, parse_int=whole, parse_float=real)
    except wire.NonFiniteJSON as exc:
        raise InvalidArgument(
            f"{field}: expected JSON without NaN or Infinity, got {exc.constant}"
        ) from None
    except RecursionError:  # pragma: no cover - the depth bound comes first
        raise _too_deep(field, max_depth) from None
    except ValueError as exc:
        raise InvalidArgument(f"{field}: expected {what}, got invalid JSON ({exc})") from None


def check_json_value(
    field: str, value: object, *, max_depth: int = MAX_JSON_DEPTH, max_chars: int | None = None
) -> None:
    """Check a value given as Python data, as :func:`parse_json` checks text.

    The value must be what JSON can hold: mappings with string keys, lists and tuples,
    strings, booleans, ``None``, integers with at most :data:`MAX_JSON_NUMBER_TEXT`
    characters and finite floats; nested at most ``max_depth`` deep; and, when ``max_chars``
    is given, no longer than that written as compact JSON
    (``json.dumps(value, separators=(",", ":"), ensure_ascii=False)``). It is walked with an
    explicit stack, so neither depth nor a cycle can exhaust Python's recursion limit (a
    cycle is refused as too deep).

    :raises InvalidArgument: naming ``field`` and what was wrong.
    """
    if isinstance(value, Mapping) and all(
        type(key) is str
        and (
            type(member) in _FLAT
            or (type(member) is int and -_BIG < member < _BIG)
            or (type(member) is float and math.isfinite(member))
        )
        for key, member in value.items()
    ):
        # The common case, a flat object of strings, booleans and nulls: nothing to walk.
        stack: list[tuple[object, int]] = []
    else:
        # (value, depth of the container holding it, 1 for the outermost value)
        stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, Mapping | list | tuple):
            if level > max_depth:
                raise _too_deep(field, max_depth)
            if isinstance(item, Mapping):
                for key, member in item.items():
                    if not isinstance(key, str):
                        raise InvalidArgument(
                            f"{field}: expected JSON object keys to be strings, got {key!r}"
                        )
                    stack.append((member, level + 1))
            else:
                stack.extend((member, level + 1) for member in item)
        else:
            _checked_scalar(field, item)
    if max_chars is not None:
        # Safe now: the nesting is bounded, every value is JSON, and no cycle passed the depth.
        size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False))
        if size > max_chars:
            raise _too_big(field, "a JSON document", size, max_chars)


#: Scalar types that need no check of their own (numbers do: size, NaN and infinity).
_FLAT = frozenset({str, bool, type(None)})
#: Integers strictly within this need no check of their length (it is far below the limit).
_BIG = 10**60


def _checked_scalar(field: str, item: object) -> str | int | float | bool | None:
    if item is None or isinstance(item, str | bool):
        return item
    if isinstance(item, int):
        # 4 bits a digit over-counts (a digit is 3.3 bits), so str() below never meets its
        # 4,300-digit limit.
        if item.bit_length() > 4 * MAX_JSON_NUMBER_TEXT or len(str(item)) > MAX_JSON_NUMBER_TEXT:
            raise InvalidArgument(
                f"{field}: expected JSON numbers of at most {MAX_JSON_NUMBER_TEXT} characters,"
                f" got a number of {_digits(item)} digits"
            )
        return item
    if isinstance(item, float):
        if not math.isfinite(item):
            raise InvalidArgument(f"{field}: expected JSON without NaN or Infinity, got {item}")
        return item
    raise InvalidArgument(
        f"{field}: expected JSON data (objects, lists, strings, numbers, booleans, null),"
        f" got {_describe_value(item)}"
    )
