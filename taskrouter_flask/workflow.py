"""Workflow configurations: build them in Python, check them before Twilio does, to JSON.

A workflow's ``Configuration`` is a JSON document of filters and targets
written in the expression language. Twilio rejects a bad one when the
workflow is saved, one problem at a time, or accepts it and routes nothing.
:meth:`WorkflowConfiguration.validate` reports every problem at once, each
with its location (``filters[0] 'Gold Tickets' targets[1]: ...``), and
:meth:`~WorkflowConfiguration.from_json` / :meth:`~WorkflowConfiguration.to_json`
round-trip a document exactly, unknown keys included.

Pure module: no Flask.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from . import wire
from .errors import TaskRouterError
from .expressions import ExpressionError, compile_expression

__all__ = [
    "Filter",
    "Target",
    "WorkflowConfiguration",
    "WorkflowConfigurationError",
    "WorkflowProblem",
    "parse_order_by",
]

_QUEUE_SID = wire.sid_pattern("WQ")
_ORDER_BY = re.compile(r"\s*worker\.([A-Za-z_][A-Za-z0-9_.]*)\s+(ASC|DESC)\s*", re.IGNORECASE)
_TASK_REF = re.compile(r"task\.[A-Za-z_][A-Za-z0-9_.]*")
#: How a target may name its queue, and a filter its name: today's key first, then the one
#: Twilio's older guides print.
_QUEUE_KEYS = ("queue", "task_queue_sid")
_NAME_KEYS = ("filter_friendly_name", "friendly_name")
_TARGET_KEYS = (
    "queue",
    "expression",
    "priority",
    "timeout",
    "order_by",
    "skip_if",
    "known_worker_sid",
    "known_worker_friendly_name",
)


@dataclass(frozen=True, slots=True)
class WorkflowProblem:
    """One thing wrong with a configuration, and where."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class WorkflowConfigurationError(TaskRouterError, ValueError):
    """A configuration that cannot be read, or that has problems; ``problems`` lists them all."""

    def __init__(self, problems: Iterable[WorkflowProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


@dataclass(frozen=True, slots=True)
class Target:
    """One routing step: a queue, and how long and to whom the task is offered there.

    :param queue: the TaskQueue SID (``WQ...``).
    :param expression: which of the queue's workers, over ``task.`` and ``worker.`` names.
    :param priority: the task's priority while in this step.
    :param timeout: seconds before moving on to the next target.
    :param order_by: e.g. ``"worker.level DESC"``; default is longest idle first.
    :param skip_if: e.g. ``"workers.available == 0"``: skip this step when true.
    :param known_worker_sid: a ``task.`` name holding the worker SID to route to.
    :param known_worker_friendly_name: a ``task.`` name holding the worker's name.
    :param extra: keys this library does not know, kept for an exact round trip.
    :param queue_key: the key the document names the queue with: ``"queue"``, or
        ``"task_queue_sid"`` as Twilio's older guides write it. Both route alike; the
        spelling is kept so that a document read and written again is unchanged.
    """

    queue: str | None = None
    expression: str | None = None
    priority: int | str | None = None
    timeout: int | str | None = None
    order_by: str | None = None
    skip_if: str | None = None
    known_worker_sid: str | None = None
    known_worker_friendly_name: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    queue_key: str = "queue"

    def __post_init__(self) -> None:
        if self.queue_key not in _QUEUE_KEYS:
            raise ValueError(f"queue_key: expected one of {_QUEUE_KEYS}, got {self.queue_key!r}")

    def to_dict(self) -> dict[str, Any]:
        """The target as it appears in the JSON document."""
        data = {
            (self.queue_key if key == "queue" else key): getattr(self, key)
            for key in _TARGET_KEYS
            if getattr(self, key) is not None
        }
        data.update(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, location: str = "target") -> Target:
        """Read a target from its JSON form.

        :raises WorkflowConfigurationError: if it is not an object.
        """
        if not isinstance(data, Mapping):
            raise WorkflowConfigurationError(
                [WorkflowProblem(location, f"expected an object, got {_json_type(data)}")]
            )
        # The older spelling is read only when it is the one used, so that a document
        # giving both keeps the second in ``extra`` and validate() can point at it.
        legacy = "queue" not in data and "task_queue_sid" in data
        queue_key = "task_queue_sid" if legacy else "queue"
        known = {
            key: data[queue_key if key == "queue" else key]
            for key in _TARGET_KEYS
            if (queue_key if key == "queue" else key) in data
        }
        taken = {queue_key, *_TARGET_KEYS}
        extra = {key: value for key, value in data.items() if key not in taken}
        return cls(**known, extra=extra, queue_key=queue_key)


@dataclass(frozen=True, slots=True)
class Filter:
    """Tasks matching ``expression`` are routed through ``targets``, in order.

    :param expression: over the task's attributes (bare names).
    :param targets: the routing steps (stored as a tuple); a step without a timeout is the
        last one reached.
    :param friendly_name: ``filter_friendly_name`` in the document.
    :param name_key: the key the document names the filter with: ``"filter_friendly_name"``,
        or ``"friendly_name"`` as Twilio's older guides write it; kept for the round trip.
    """

    expression: str
    targets: Sequence[Target] = ()
    friendly_name: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    name_key: str = "filter_friendly_name"

    def __post_init__(self) -> None:
        object.__setattr__(self, "targets", tuple(self.targets))
        if self.name_key not in _NAME_KEYS:
            raise ValueError(f"name_key: expected one of {_NAME_KEYS}, got {self.name_key!r}")

    def to_dict(self) -> dict[str, Any]:
        """The filter as it appears in the JSON document."""
        data: dict[str, Any] = {}
        if self.friendly_name is not None:
            data[self.name_key] = self.friendly_name
        data["expression"] = self.expression
        data["targets"] = [target.to_dict() for target in self.targets]
        data.update(self.extra)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, location: str = "filter") -> Filter:
        """Read a filter from its JSON form.

        :raises WorkflowConfigurationError: if it is not an object or its targets not a list.
        """
        if not isinstance(data, Mapping):
            raise WorkflowConfigurationError(
                [WorkflowProblem(location, f"expected an object, got {_json_type(data)}")]
            )
        targets = data.get("targets", [])
        if not isinstance(targets, list):
            raise WorkflowConfigurationError(
                [
                    WorkflowProblem(
                        f"{location}.targets", f"expected a list, got {_json_type(targets)}"
                    )
                ]
            )
        name_key = (
            "friendly_name"
            if "filter_friendly_name" not in data and "friendly_name" in data
            else "filter_friendly_name"
        )
        known = (name_key, "expression", "targets")
        return cls(
            expression=data.get("expression"),  # type: ignore[arg-type]  # checked by validate()
            targets=tuple(
                Target.from_dict(item, location=f"{location}.targets[{index}]")
                for index, item in enumerate(targets)
            ),
            friendly_name=data.get(name_key),
            extra={key: value for key, value in data.items() if key not in known},
            name_key=name_key,
        )


@dataclass(frozen=True, slots=True)
class WorkflowConfiguration:
    """A workflow's routing configuration (the ``task_routing`` document).

    :param filters: tried in order (stored as a tuple); the first whose expression matches
        routes the task.
    :param default_filter: the target for tasks that match no filter.
    """

    filters: Sequence[Filter] = ()
    default_filter: Target | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    routing_extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "filters", tuple(self.filters))

    # -- conversion -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The JSON document, as a dict."""
        routing: dict[str, Any] = {"filters": [item.to_dict() for item in self.filters]}
        if self.default_filter is not None:
            routing["default_filter"] = self.default_filter.to_dict()
        routing.update(self.routing_extra)
        return {"task_routing": routing, **self.extra}

    def to_json(self) -> str:
        """The JSON document, as the ``Configuration`` parameter wants it."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WorkflowConfiguration:
        """Read a configuration document.

        :raises WorkflowConfigurationError: if its structure cannot be read.
        """
        if not isinstance(data, Mapping):
            raise WorkflowConfigurationError(
                [WorkflowProblem("configuration", f"expected an object, got {_json_type(data)}")]
            )
        routing = data.get("task_routing")
        if not isinstance(routing, Mapping):
            raise WorkflowConfigurationError(
                [WorkflowProblem("task_routing", f"expected an object, got {_json_type(routing)}")]
            )
        filters = routing.get("filters", [])
        if not isinstance(filters, list):
            raise WorkflowConfigurationError(
                [
                    WorkflowProblem(
                        "task_routing.filters", f"expected a list, got {_json_type(filters)}"
                    )
                ]
            )
        default = routing.get("default_filter")
        return cls(
            filters=tuple(
                Filter.from_dict(item, location=f"filters[{index}]")
                for index, item in enumerate(filters)
            ),
            default_filter=None
            if default is None
            else Target.from_dict(default, location="default_filter"),
            extra={key: value for key, value in data.items() if key != "task_routing"},
            routing_extra={
                key: value
                for key, value in routing.items()
                if key not in ("filters", "default_filter")
            },
        )

    @classmethod
    def from_json(cls, text: str | bytes) -> WorkflowConfiguration:
        """Read a configuration from its JSON text.

        :raises WorkflowConfigurationError: if it is not JSON or its structure cannot be read.
        """
        try:
            data = wire.loads(text)
        except (ValueError, RecursionError) as exc:
            raise WorkflowConfigurationError(
                [WorkflowProblem("configuration", f"not valid JSON: {exc}")]
            ) from exc
        return cls.from_dict(data)

    # -- checking -------------------------------------------------------------------------------

    def validate(self) -> list[WorkflowProblem]:
        """Return every problem of the configuration (an empty list when there is none)."""
        problems: list[WorkflowProblem] = []
        for index, item in enumerate(self.filters):
            where = f"filters[{index}]" + (
                f" {item.friendly_name!r}" if isinstance(item.friendly_name, str) else ""
            )
            problems += _check_expression(
                f"{where} expression", item.expression, prefixes=None, required=True
            )
            if not item.targets:
                problems.append(WorkflowProblem(f"{where} targets", "expected at least one target"))
            for number, target in enumerate(item.targets):
                location = f"{where} targets[{number}]"
                problems += _check_target(location, target, first=number == 0)
                if number < len(item.targets) - 1 and target.timeout is None:
                    problems.append(
                        WorkflowProblem(
                            location,
                            "has no timeout, so the targets after it are never reached",
                        )
                    )
        if self.default_filter is None:
            problems.append(
                WorkflowProblem(
                    "default_filter", "missing: tasks that match no filter would not be routed"
                )
            )
        else:
            problems += _check_target("default_filter", self.default_filter, first=True)
            if self.default_filter.timeout is not None:
                problems.append(
                    WorkflowProblem("default_filter", "takes no timeout (it is the last resort)")
                )
        return problems

    def check(self) -> WorkflowConfiguration:
        """Return the configuration if it has no problem.

        :raises WorkflowConfigurationError: listing every problem.
        """
        problems = self.validate()
        if problems:
            raise WorkflowConfigurationError(problems)
        return self


def _check_target(location: str, target: Target, *, first: bool) -> list[WorkflowProblem]:
    return [
        *_check_queue(location, target, first=first),
        *_check_expression(
            f"{location} expression", target.expression, prefixes=("task", "worker")
        ),
        *_check_numbers(location, target),
        *_check_order_by(location, target.order_by),
        *_check_expression(f"{location} skip_if", target.skip_if, prefixes=("workers",)),
        *_check_known_worker(location, target),
    ]


def _check_queue(location: str, target: Target, *, first: bool) -> list[WorkflowProblem]:
    """A later step may leave out its queue (it keeps the one before); the first may not."""
    problems: list[WorkflowProblem] = []
    other = "task_queue_sid" if target.queue_key == "queue" else "queue"
    if other in target.extra and target.extra[other] != target.queue:
        problems.append(
            WorkflowProblem(location, "names two different queues (queue and task_queue_sid)")
        )
    if target.queue is None:
        if first:
            problems.append(WorkflowProblem(location, "queue is missing"))
    elif not isinstance(target.queue, str) or not _QUEUE_SID.fullmatch(target.queue):
        problems.append(
            WorkflowProblem(
                location,
                f"queue must be a TaskQueue SID ('WQ' and 32 hex digits), got {target.queue!r}",
            )
        )
    return problems


def _check_numbers(location: str, target: Target) -> list[WorkflowProblem]:
    problems: list[WorkflowProblem] = []
    priority = target.priority
    if priority is not None and not _whole(priority, minimum=0):
        problems.append(
            WorkflowProblem(location, f"priority must be a whole number >= 0, got {priority!r}")
        )
    timeout = target.timeout
    if timeout is not None and not _whole(timeout, minimum=1):
        problems.append(
            WorkflowProblem(
                location, f"timeout must be a positive number of seconds, got {timeout!r}"
            )
        )
    return problems


@functools.lru_cache(maxsize=256)
def parse_order_by(order_by: str) -> tuple[tuple[tuple[str, ...], bool], ...] | None:
    """A target's ``order_by`` as (attribute path, descending) keys, most significant first.

    The one reading of the grammar: the validator refuses what this cannot read,
    and the sandbox's routing orders workers by what it returns.

    :returns: None if any part is not ``worker.<attribute> ASC|DESC``.
    """
    keys = []
    for part in order_by.split(","):
        match = _ORDER_BY.fullmatch(part)
        if match is None:
            return None
        keys.append((tuple(match.group(1).split(".")), match.group(2).upper() == "DESC"))
    return tuple(keys)


def _check_order_by(location: str, order_by: Any) -> list[WorkflowProblem]:
    if order_by is None or (isinstance(order_by, str) and parse_order_by(order_by) is not None):
        return []
    return [
        WorkflowProblem(
            location,
            "order_by must be a comma-separated list of 'worker.<attribute> ASC|DESC',"
            f" got {order_by!r}",
        )
    ]


def _check_known_worker(location: str, target: Target) -> list[WorkflowProblem]:
    problems: list[WorkflowProblem] = []
    for key in ("known_worker_sid", "known_worker_friendly_name"):
        value = getattr(target, key)
        if value is not None and (not isinstance(value, str) or not _TASK_REF.fullmatch(value)):
            problems.append(
                WorkflowProblem(
                    location, f"{key} must name a task attribute (task.<name>), got {value!r}"
                )
            )
    if target.known_worker_sid is not None and target.known_worker_friendly_name is not None:
        problems.append(
            WorkflowProblem(
                location, "give known_worker_sid or known_worker_friendly_name, not both"
            )
        )
    return problems


def _check_expression(
    location: str, text: Any, *, prefixes: tuple[str, ...] | None, required: bool = False
) -> list[WorkflowProblem]:
    if text is None and not required:
        return []
    if not isinstance(text, str):
        return [WorkflowProblem(location, f"expected an expression string, got {_json_type(text)}")]
    try:
        expression = compile_expression(text)
    except ExpressionError as exc:
        return [WorkflowProblem(location, str(exc))]
    if prefixes is None:
        return []
    unprefixed = sorted(
        name for name in expression.names if name.split(".")[0].split("[")[0] not in prefixes
    )
    if unprefixed:
        wanted = " or ".join(f"'{prefix}.'" for prefix in prefixes)
        return [
            WorkflowProblem(
                location, f"names must start with {wanted} here: {', '.join(unprefixed)}"
            )
        ]
    return []


def _whole(value: Any, *, minimum: int) -> bool:
    """A whole number of at least ``minimum``, written as a number or as digits in a string
    (Twilio's configuration reference quotes both ``priority`` and ``timeout``)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(
        type(value), type(value).__name__
    )
