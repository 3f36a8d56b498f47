"""TaskRouter's wire vocabulary: SIDs, JSON objects, dates and event field names.

Why one module: the extension parses what Twilio sends, the client sends and
reads the REST API, and the sandbox produces both; each used to spell these
small rules itself, and the copies had begun to disagree. Everything here is
standard library only, so that the sandbox's renderer and the pure modules can
share it without bringing in marshmallow, Flask or each other.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "EVENT_FIELDS",
    "HEX_DIGIT",
    "NonFiniteJSON",
    "decode_json_object",
    "format_timestamp",
    "is_sid",
    "loads",
    "sid_pattern",
    "to_snake",
]

# -- SIDs -----------------------------------------------------------------------------------

#: One hex digit of a SID. Twilio writes them in lowercase; either case is accepted, as every
#: check in the package always has, since a SID pasted from elsewhere may be upper-cased.
HEX_DIGIT = "[0-9a-fA-F]"
_ANY_PREFIX = "[A-Z]{2}"


def sid_pattern(prefix: str | None = None) -> re.Pattern[str]:
    """The SID of one kind (``prefix`` such as ``"WT"``), or of any kind when ``None``.

    Use with ``fullmatch``: the pattern is not anchored.
    """
    head = _ANY_PREFIX if prefix is None else re.escape(prefix)
    return re.compile(head + HEX_DIGIT + "{32}")  # re caches the compiled patterns


def is_sid(value: object, prefix: str | None = None) -> bool:
    """Whether ``value`` is a string holding a SID of that kind (any kind when ``None``)."""
    return isinstance(value, str) and sid_pattern(prefix).fullmatch(value) is not None


# -- JSON -----------------------------------------------------------------------------------


class NonFiniteJSON(ValueError):
    """``NaN``, ``Infinity`` or ``-Infinity`` in JSON text.

    Python's ``json`` reads them, but they are not JSON: Twilio refuses them, and a value
    holding them cannot be written back as JSON. A subclass of ValueError, so a caller
    that treats any bad JSON alike needs nothing more; one with its own wording catches it.
    """

    def __init__(self, constant: str) -> None:
        super().__init__(f"{constant} is not a JSON value")
        self.constant = constant


def _refuse_constant(name: str) -> Any:
    raise NonFiniteJSON(name)


#: One decoder for plain calls: ``json.loads`` with an option builds a new one each time.
_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)
#: Its scanner (which typeshed does not describe), called directly by :func:`loads`.
_SCAN: Callable[[str, int], tuple[Any, int]] = getattr(_DECODER, "scan_once")  # noqa: B009


def loads(
    text: str | bytes,
    *,
    parse_int: Callable[[str], Any] | None = None,
    parse_float: Callable[[str], Any] | None = None,
) -> Any:
    """``json.loads`` with the package's one rule for ``NaN`` and ``Infinity``: refused.

    :raises NonFiniteJSON: for those constants.
    :raises ValueError: (``json.JSONDecodeError``) for text that is not JSON, and
        RecursionError for JSON nested deeper than the stack, as ``json.loads`` does.
    """
    if parse_int is not None or parse_float is not None:
        return json.loads(
            text, parse_int=parse_int, parse_float=parse_float, parse_constant=_refuse_constant
        )
    if type(text) is str and text[:1] == "{":
        # Attributes, on every callback: the scanner alone, when it reads the whole text.
        # Anything else (an error, text after the object) is read again the full way below,
        # which gives json.loads's own result or error.
        try:
            decoded, end = _SCAN(text, 0)
        except (StopIteration, ValueError, RecursionError):
            pass
        else:
            if end == len(text):
                return decoded
    if isinstance(text, str):
        if text.startswith("\ufeff"):
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    else:
        text = text.decode(json.detect_encoding(text), "surrogatepass")
    return _DECODER.decode(text)


def decode_json_object(text: str | bytes) -> dict[str, Any]:
    """Decode JSON that must be an object; any failure is a ValueError saying what was found.

    Callers put their own field name or exception type around the message.
    """
    try:
        decoded = loads(text)
    except RecursionError as exc:
        raise ValueError("expected a JSON object, got JSON nested too deeply") from exc
    except ValueError as exc:
        raise ValueError(f"expected a JSON object, got invalid JSON ({exc})") from exc
    if not isinstance(decoded, dict):
        raise ValueError(f"expected a JSON object, got a JSON {type(decoded).__name__}")
    return decoded


# -- dates ----------------------------------------------------------------------------------


def format_timestamp(moment: datetime) -> str:
    """``2014-05-14T10:50:02Z``: the API's date format, in UTC (a naive time is taken as UTC).

    Written out by hand rather than with ``strftime``, which pads years before 1000
    differently from platform to platform.
    """
    utc = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}"
        f"T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )


# -- names ----------------------------------------------------------------------------------


def to_snake(wire: str) -> str:
    """``TaskQueueSid`` -> ``task_queue_sid``: a wire name as Python and JSON spell it.

    The client's keyword arguments, the sandbox's engine keywords and the Events resource's
    ``event_data`` keys are all made by this one rule.
    """
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", wire).lower()


# -- callback field names -------------------------------------------------------------------

#: Every field of TaskRouter's event callback, as Twilio spells it. The sandbox produces
#: them, :func:`taskrouter_flask.testing.event_payload` fakes them and
#: :mod:`taskrouter_flask.schemas` parses them; tests hold all three to this list, so a
#: name misspelled in one place fails a test rather than silently landing in ``raw``.
EVENT_FIELDS: tuple[str, ...] = (
    # the envelope
    "Sid",
    "EventType",
    "EventDescription",
    "ResourceType",
    "ResourceSid",
    "Timestamp",
    "TimestampMs",
    "AccountSid",
    "WorkspaceSid",
    "WorkspaceName",
    # the task
    "TaskSid",
    "TaskAttributes",
    "TaskAge",
    "TaskPriority",
    "TaskAssignmentStatus",
    "TaskCanceledReason",
    "TaskCompletedReason",
    # the task channel
    "TaskChannelSid",
    "TaskChannelName",
    "TaskChannelUniqueName",
    "TaskChannelOptimizedRouting",
    # the queue and the workflow
    "TaskQueueSid",
    "TaskQueueName",
    "TaskQueueTargetExpression",
    "WorkflowSid",
    "WorkflowName",
    "WorkflowFilterName",
    # the reservation
    "ReservationSid",
    # the worker
    "WorkerSid",
    "WorkerName",
    "WorkerAttributes",
    "WorkerActivitySid",
    "WorkerActivityName",
    "WorkerVersion",
    "WorkerPreviousActivitySid",
    "WorkerTimeInPreviousActivity",
    "WorkerTimeInPreviousActivityMs",
    # the worker's channel
    "WorkerChannelAvailable",
    "WorkerChannelAvailableCapacity",
    "WorkerChannelPreviousCapacity",
    "WorkerChannelTaskCount",
    # the activity
    "ActivitySid",
    "ActivityName",
    "ActivityAvailable",
)
