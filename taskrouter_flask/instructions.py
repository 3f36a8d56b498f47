"""Assignment instructions: what a handler tells TaskRouter to do with a reservation.

An assignment-callback handler answers with one of ``accept``, ``reject``,
``dequeue``, ``call``, ``conference`` or ``redirect``, serialised as the JSON
object TaskRouter expects. Twilio checks that object only after it arrives,
asynchronously, and reports a mistake as a Debugger alert while the
reservation times out. So every instruction here is validated when it is
built: a malformed SID, a relative URL or a misspelt enum value raises
:class:`~taskrouter_flask.errors.InstructionError` in the handler's own unit
test, naming the parameter, instead of failing at Twilio after the 5-second
answer window.

Each instruction is a frozen dataclass; the lower-case factory functions
(:func:`accept`, :func:`conference`, ...) are the documented way to build them,
and :func:`instruction_from_dict` holds a plain ``dict`` answer to the same
rules. Each parameter is described once, as a field whose metadata names its
kind of check (and so its REST type), its wire key and its REST name, so one
loop validates every instruction, :meth:`Instruction.to_dict` only walks a
precomputed list of keys, and the REST client and the sandbox read the REST
names of every instruction parameter from :data:`REST_PARAMETERS` instead of
listing them again. The factories spell the fields out as keyword parameters
for type checkers; a test holds each factory's signature to its fields.

Pure module: imports nothing of Flask and nothing of the package but its errors and
:mod:`~taskrouter_flask.wire` (the standard library only).
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

from taskrouter_flask.errors import InstructionError
from taskrouter_flask.wire import sid_pattern

__all__ = [
    "REST_PARAMETERS",
    "Accept",
    "Call",
    "Conference",
    "Dequeue",
    "Instruction",
    "Redirect",
    "Reject",
    "RestParameter",
    "accept",
    "call",
    "conference",
    "dequeue",
    "instruction_from_dict",
    "redirect",
    "reject",
]

_HttpMethod = Literal["GET", "POST"]
_CallRecord = Literal["record-from-answer", "do-not-record"]
_CallEvent = Literal["initiated", "ringing", "answered", "completed"]
_ConferenceEvent = Literal["start", "end", "join", "leave", "mute", "hold", "speaker"]
_Beep = Literal["onEnter", "onExit"]
_ConferenceRecord = Literal["record-from-start", "do-not-record"]
_ConferenceTrim = Literal["trim-silence", "do-not-trim"]
_RecordingChannels = Literal["mono", "dual"]
_Region = Literal["us1", "us2", "ie1", "de1", "sg1", "br1", "au1", "jp1"]
_JitterBufferSize = Literal["small", "medium", "large", "off"]

#: Longest ``repr`` of a bad value quoted in an error message.
_MAX_SHOWN = 80


# --- Kinds of parameter -----------------------------------------------------------------------


class _Invalid(Exception):
    """Raised by a rule's check; its message says what the value must be."""


@dataclass(frozen=True, slots=True)
class _Rule:
    """One kind of check: ``check`` returns the value to store or raises :class:`_Invalid`.

    ``kind`` is the type the REST API gives the parameter (:data:`RestParameter.kind`), so
    a test can hold the declaration against Twilio's API description. An ``"array"``
    travels in a callback answer as one comma-joined string.
    """

    check: Callable[[object], object]
    kind: str = "string"

    @property
    def joined(self) -> bool:
        return self.kind == "array"


def _got(value: object) -> str:
    return f", not {type(value).__name__}"


def _sid(prefix: str, what: str) -> _Rule:
    pattern = sid_pattern(prefix)
    problem = f"must be {what}: {prefix!r} followed by 32 hex digits"

    def check(value: object) -> object:
        if isinstance(value, str) and pattern.fullmatch(value):
            return value
        raise _Invalid(problem if isinstance(value, str) else problem + _got(value))

    return _Rule(check)


def _url() -> _Rule:
    problem = "must be an absolute http:// or https:// URL with a host"

    def check(value: object) -> object:
        if not isinstance(value, str):
            raise _Invalid(problem + _got(value))
        if any(ch.isspace() or not ch.isprintable() for ch in value):
            raise _Invalid(problem + ", without spaces or control characters")
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:
            raise _Invalid(problem) from None
        if parts.scheme not in ("http", "https") or not host:
            raise _Invalid(problem)
        return value

    return _Rule(check)


def _enum(*choices: str) -> _Rule:
    problem = "must be one of " + ", ".join(repr(choice) for choice in choices)
    folded = {choice.casefold() for choice in choices}

    def check(value: object) -> object:
        if isinstance(value, str) and value in choices:
            return value
        if isinstance(value, str) and value.casefold() in folded:
            raise _Invalid(problem + " (spelt exactly; case matters)")
        raise _Invalid(problem if isinstance(value, str) else problem + _got(value))

    return _Rule(check)


def _bool_or_enum(*choices: str) -> _Rule:
    problem = "must be True, False or one of " + ", ".join(repr(choice) for choice in choices)

    def check(value: object) -> object:
        if isinstance(value, bool) or (isinstance(value, str) and value in choices):
            return value
        raise _Invalid(problem if isinstance(value, str) else problem + _got(value))

    return _Rule(check, kind="boolean or string")


def _int_range(low: int, high: int) -> _Rule:
    problem = f"must be an int from {low} to {high}"

    def check(value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, int):
            raise _Invalid(problem + _got(value))
        if not low <= value <= high:
            raise _Invalid(problem)
        return int(value)

    return _Rule(check, kind="integer")


def _bool() -> _Rule:
    problem = "must be True or False"

    def check(value: object) -> object:
        if isinstance(value, bool):
            return value
        raise _Invalid(problem + _got(value))

    return _Rule(check, kind="boolean")


def _text(what: str) -> _Rule:
    problem = f"must be a non-empty string ({what})"

    def check(value: object) -> object:
        if isinstance(value, str) and value.strip():
            return value
        raise _Invalid(problem if isinstance(value, str) else problem + _got(value))

    return _Rule(check)


def _events(*choices: str) -> _Rule:
    allowed = frozenset(choices)
    problem = "must be a non-empty list of events, each one of " + ", ".join(choices)

    def check(value: object) -> object:
        if isinstance(value, str | bytes):
            raise _Invalid(problem + ", not a bare string")
        if not isinstance(value, Sequence):
            raise _Invalid(problem + _got(value))
        items = tuple(value)
        if not items:
            raise _Invalid(problem)
        for item in items:
            if not isinstance(item, str) or item not in allowed:
                raise _Invalid(f"{problem}; {item!r} is not one")
        return items

    return _Rule(check, kind="array")


_ACTIVITY_SID = _sid("WA", "an Activity SID")
_CALL_SID = _sid("CA", "a Call SID")
_URL = _url()
_BOOL = _bool()
_TIMEOUT = _int_range(1, 999)
_MAX_PARTICIPANTS = _int_range(2, 250)
_ADDRESS = _text("a phone number, or a client: or sip: address")
_METHOD = _enum("GET", "POST")
_CALL_RECORD = _enum("record-from-answer", "do-not-record")
_CALL_EVENTS = _events("initiated", "ringing", "answered", "completed")
_CONFERENCE_EVENTS = _events("start", "end", "join", "leave", "mute", "hold", "speaker")
_BEEP = _bool_or_enum("onEnter", "onExit")
_CONFERENCE_RECORD = _bool_or_enum("record-from-start", "do-not-record")
_CONFERENCE_TRIM = _enum("trim-silence", "do-not-trim")
_RECORDING_CHANNELS = _enum("mono", "dual")
_REGION = _enum("us1", "us2", "ie1", "de1", "sg1", "br1", "au1", "jp1")
_JITTER_BUFFER_SIZE = _enum("small", "medium", "large", "off")
_SIP_USERNAME = _text("the SIP username")
_SIP_PASSWORD = _text("the SIP password")


def _meta(
    rule: _Rule, *, wire: str | None = None, rest: str | None = None, secret: bool = False
) -> dict[str, object]:
    """Field metadata: the kind of check, whether to hide the value, and the names it takes.

    ``wire`` is the key in a callback answer when it is not the field's name. ``rest`` is
    the UpdateReservation parameter when it is not the instruction's REST prefix followed by
    the field's name in PascalCase (see :func:`_register`).
    """
    return {"rule": rule, "wire": wire, "rest": rest, "secret": secret}


@dataclass(frozen=True, slots=True)
class _Param:
    """One parameter of one instruction, as the checking loop and the dict reader see it."""

    attr: str
    wire: str
    rest: str
    rule: _Rule
    required: bool
    secret: bool


def _shown(param: _Param, value: object) -> str:
    if param.secret and value is not None:
        return "'***'"
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _checked(param: _Param, value: object) -> object:
    """Return *value* as it is stored; raise :class:`_Invalid` if it is missing or wrong."""
    if value is None:
        if param.required:
            raise _Invalid("is required")
        return None
    return param.rule.check(value)


# --- Instructions -----------------------------------------------------------------------------


class Instruction:
    """Base of every assignment instruction: validation, ``to_dict`` and ``repr``.

    Not built directly: use :func:`accept` and the other factories. Each subclass is a
    frozen dataclass whose fields declare their kind of check in their metadata;
    instances compare equal by value and are hashable. ``isinstance(x, Instruction)``
    is how the dispatcher tells an instruction from a ``dict`` answer.
    """

    __slots__ = ()

    #: The wire name, the value of the ``"instruction"`` key.
    instruction: ClassVar[str]
    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
    _params: ClassVar[tuple[_Param, ...]] = ()
    _wire_keys: ClassVar[tuple[tuple[str, str, bool], ...]] = ()
    _by_wire: ClassVar[Mapping[str, _Param]] = {}

    def __post_init__(self) -> None:
        for param in self._params:
            value = getattr(self, param.attr)
            try:
                stored = _checked(param, value)
            except _Invalid as exc:
                shown = _shown(param, value)
                raise InstructionError(
                    f"{self.instruction}({param.attr}={shown}): {param.attr} {exc}",
                    parameter=param.attr,
                ) from None
            if stored is not value:
                object.__setattr__(self, param.attr, stored)

    def to_dict(self) -> dict[str, object]:
        """The JSON object answering the assignment callback.

        Only the parameters that were given appear; list parameters are comma-joined.
        """
        answer: dict[str, object] = {"instruction": self.instruction}
        for attr, wire, joined in self._wire_keys:
            value = getattr(self, attr)
            if value is not None:
                answer[wire] = ",".join(value) if joined else value
        return answer

    def __repr__(self) -> str:
        given = ", ".join(
            f"{param.attr}={_shown(param, getattr(self, param.attr))}"
            for param in self._params
            if getattr(self, param.attr) is not None
        )
        return f"{type(self).__name__}({given})"


_I = TypeVar("_I", bound=Instruction)
_REGISTRY: dict[str, type[Instruction]] = {}


def _pascal(attr: str) -> str:
    return "".join(word.capitalize() for word in attr.split("_"))


def _register(name: str, *, rest_prefix: str = "") -> Callable[[type[_I]], type[_I]]:
    """Give a dataclass its wire name and precompute what the checking loop and to_dict walk.

    ``rest_prefix`` is how the REST API's UpdateReservation tells this instruction's
    parameters from the others': ``from_`` of :class:`Dequeue` is ``DequeueFrom`` there,
    ``from_`` of :class:`Conference` plain ``From``.
    """

    def register(cls: type[_I]) -> type[_I]:
        params = tuple(
            _Param(
                attr=f.name,
                wire=f.metadata["wire"] or f.name,
                rest=f.metadata["rest"] or rest_prefix + _pascal(f.name),
                rule=f.metadata["rule"],
                required=f.default is MISSING and f.default_factory is MISSING,
                secret=f.metadata["secret"],
            )
            for f in fields(cls)
        )
        cls.instruction = name
        cls._params = params
        cls._wire_keys = tuple((p.attr, p.wire, p.rule.joined) for p in params)
        cls._by_wire = {p.wire: p for p in params}
        _REGISTRY[name] = cls
        return cls

    return register


@_register("accept")
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Accept(Instruction):
    """Accept the reservation: the task becomes ``assigned`` to the worker."""


@_register("reject")
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Reject(Instruction):
    """Reject the reservation: the task goes back to its queue. See :func:`reject`."""

    activity_sid: str | None = field(
        default=None, metadata=_meta(_ACTIVITY_SID, rest="WorkerActivitySid")
    )


@_register("dequeue", rest_prefix="Dequeue")
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Dequeue(Instruction):
    """Call the worker and bridge the call waiting in ``<Enqueue>``. See :func:`dequeue`."""

    to: str | None = field(default=None, metadata=_meta(_ADDRESS))
    from_: str | None = field(default=None, metadata=_meta(_ADDRESS, wire="from"))
    post_work_activity_sid: str | None = field(default=None, metadata=_meta(_ACTIVITY_SID))
    record: _CallRecord | None = field(default=None, metadata=_meta(_CALL_RECORD))
    timeout: int | None = field(default=None, metadata=_meta(_TIMEOUT))
    status_callback_url: str | None = field(default=None, metadata=_meta(_URL))
    status_callback_events: Sequence[_CallEvent] | None = field(
        default=None, metadata=_meta(_CALL_EVENTS, rest="DequeueStatusCallbackEvent")
    )


@_register("call", rest_prefix="Call")
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Call(Instruction):
    """Place an outbound call to the worker, running TwiML from ``url``. See :func:`call`."""

    from_: str = field(metadata=_meta(_ADDRESS, wire="from"))
    url: str = field(metadata=_meta(_URL))
    to: str | None = field(default=None, metadata=_meta(_ADDRESS))
    accept: bool | None = field(default=None, metadata=_meta(_BOOL))
    record: _CallRecord | None = field(default=None, metadata=_meta(_CALL_RECORD))
    timeout: int | None = field(default=None, metadata=_meta(_TIMEOUT))
    status_callback_url: str | None = field(default=None, metadata=_meta(_URL))


@_register("redirect", rest_prefix="Redirect")
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Redirect(Instruction):
    """Redirect the queued call ``call_sid`` to the TwiML at ``url``. See :func:`redirect`."""

    call_sid: str = field(metadata=_meta(_CALL_SID))
    url: str = field(metadata=_meta(_URL))
    accept: bool | None = field(default=None, metadata=_meta(_BOOL))


@_register("conference")
@dataclass(frozen=True, slots=True, kw_only=True, repr=False)
class Conference(Instruction):
    """Call the worker into a conference with the caller. See :func:`conference`."""

    from_: str = field(metadata=_meta(_ADDRESS, wire="from"))
    to: str | None = field(default=None, metadata=_meta(_ADDRESS))
    post_work_activity_sid: str | None = field(default=None, metadata=_meta(_ACTIVITY_SID))
    timeout: int | None = field(default=None, metadata=_meta(_TIMEOUT))
    record: bool | None = field(default=None, metadata=_meta(_BOOL))
    status_callback: str | None = field(default=None, metadata=_meta(_URL))
    status_callback_method: _HttpMethod | None = field(default=None, metadata=_meta(_METHOD))
    status_callback_event: Sequence[_CallEvent] | None = field(
        default=None, metadata=_meta(_CALL_EVENTS)
    )
    muted: bool | None = field(default=None, metadata=_meta(_BOOL))
    beep: bool | _Beep | None = field(default=None, metadata=_meta(_BEEP))
    start_conference_on_enter: bool | None = field(default=None, metadata=_meta(_BOOL))
    end_conference_on_exit: bool | None = field(default=None, metadata=_meta(_BOOL))
    end_conference_on_customer_exit: bool | None = field(default=None, metadata=_meta(_BOOL))
    beep_on_customer_entrance: bool | None = field(default=None, metadata=_meta(_BOOL))
    wait_url: str | None = field(default=None, metadata=_meta(_URL))
    wait_method: _HttpMethod | None = field(default=None, metadata=_meta(_METHOD))
    early_media: bool | None = field(default=None, metadata=_meta(_BOOL))
    max_participants: int | None = field(default=None, metadata=_meta(_MAX_PARTICIPANTS))
    conference_status_callback: str | None = field(default=None, metadata=_meta(_URL))
    conference_status_callback_method: _HttpMethod | None = field(
        default=None, metadata=_meta(_METHOD)
    )
    conference_status_callback_event: Sequence[_ConferenceEvent] | None = field(
        default=None, metadata=_meta(_CONFERENCE_EVENTS)
    )
    conference_record: bool | _ConferenceRecord | None = field(
        default=None, metadata=_meta(_CONFERENCE_RECORD)
    )
    conference_trim: _ConferenceTrim | None = field(default=None, metadata=_meta(_CONFERENCE_TRIM))
    recording_channels: _RecordingChannels | None = field(
        default=None, metadata=_meta(_RECORDING_CHANNELS)
    )
    recording_status_callback: str | None = field(default=None, metadata=_meta(_URL))
    recording_status_callback_method: _HttpMethod | None = field(
        default=None, metadata=_meta(_METHOD)
    )
    conference_recording_status_callback: str | None = field(default=None, metadata=_meta(_URL))
    conference_recording_status_callback_method: _HttpMethod | None = field(
        default=None, metadata=_meta(_METHOD)
    )
    region: _Region | None = field(default=None, metadata=_meta(_REGION))
    sip_auth_username: str | None = field(default=None, metadata=_meta(_SIP_USERNAME))
    sip_auth_password: str | None = field(default=None, metadata=_meta(_SIP_PASSWORD, secret=True))
    jitter_buffer_size: _JitterBufferSize | None = field(
        default=None, metadata=_meta(_JITTER_BUFFER_SIZE)
    )


# --- The REST API's names -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RestParameter:
    """One instruction parameter as the REST API's UpdateReservation takes it.

    The REST API spells every instruction's parameters in one flat form, so the client's
    list of that operation's parameters and the sandbox's reading of them come from here.

    :param instruction: the instruction it belongs to, e.g. ``"dequeue"``.
    :param name: its REST name, e.g. ``"DequeueFrom"``.
    :param key: its key in a callback answer (:meth:`Instruction.to_dict`), e.g. ``"from"``.
    :param kind: its type in the REST API: ``"string"``, ``"integer"``, ``"boolean"``,
        ``"array"`` or ``"boolean or string"``.
    """

    instruction: str
    name: str
    key: str
    kind: str


#: Every instruction parameter of UpdateReservation, instruction by instruction; each REST name
#: belongs to one instruction. ``WorkerActivitySid`` (reject's ``activity_sid``) is also the
#: reservation's own parameter, read by UpdateReservation whatever the instruction.
REST_PARAMETERS: tuple[RestParameter, ...] = tuple(
    RestParameter(name, param.rest, param.wire, param.rule.kind)
    for name, cls in _REGISTRY.items()
    for param in cls._params
)


# --- Factory functions ------------------------------------------------------------------------
#
# Each factory repeats its dataclass's fields as keyword parameters, so that type checkers,
# IDEs and help() show them; the body only passes them on. A test holds every factory's
# signature to its dataclass's fields: names, order, annotations and defaults.


def accept() -> Accept:
    """Accept the reservation; the task becomes ``assigned`` to the worker.

    :returns: ``{"instruction": "accept"}`` once serialised.
    """
    return Accept()


def reject(*, activity_sid: str | None = None) -> Reject:
    """Reject the reservation; the task goes back to its queue as ``pending``.

    :param activity_sid: Activity SID (``WA...``) to move the worker to, preferably an
        unavailable one so the task is not offered straight back; the worker keeps its
        activity when omitted.
    :raises InstructionError: if ``activity_sid`` is not an Activity SID.
    """
    return Reject(**locals())


def dequeue(
    *,
    to: str | None = None,
    from_: str | None = None,
    post_work_activity_sid: str | None = None,
    record: _CallRecord | None = None,
    timeout: int | None = None,
    status_callback_url: str | None = None,
    status_callback_events: Sequence[_CallEvent] | None = None,
) -> Dequeue:
    """Call the worker and bridge the call waiting in TwiML ``<Enqueue>``.

    Voice only: the task must have been created by ``<Enqueue>``.

    :param to: the worker's number or ``client:``/``sip:`` address; required when the
        worker's attributes have no ``contact_uri``.
    :param from_: the caller ID shown to the worker (wire key ``from``).
    :param post_work_activity_sid: Activity SID the worker moves to after the call.
    :param record: ``"record-from-answer"`` or ``"do-not-record"`` (Twilio's default).
    :param timeout: seconds to ring the worker, 1 to 999 (Twilio's default is 60).
    :param status_callback_url: absolute URL told of the worker call's progress.
    :param status_callback_events: which of ``initiated``, ``ringing``, ``answered``,
        ``completed`` to report; sent comma-joined.
    :raises InstructionError: if a parameter has an invalid value.
    """
    return Dequeue(**locals())


def call(
    *,
    from_: str,
    url: str,
    to: str | None = None,
    accept: bool | None = None,
    record: _CallRecord | None = None,
    timeout: int | None = None,
    status_callback_url: str | None = None,
) -> Call:
    """Place an outbound call to the worker, whose leg runs the TwiML at ``url``.

    :param from_: the caller ID of the call (wire key ``from``); required.
    :param url: absolute URL of the TwiML for the worker's leg; required.
    :param to: the worker's number or ``client:``/``sip:`` address; defaults to the
        worker's ``contact_uri``.
    :param accept: accept the reservation when the call is placed (Twilio's default: no).
    :param record: ``"record-from-answer"`` or ``"do-not-record"``.
    :param timeout: seconds to ring the worker, 1 to 999.
    :param status_callback_url: absolute URL told when the call completes.
    :raises InstructionError: if a parameter has an invalid value.
    """
    return Call(**locals())


def redirect(*, call_sid: str, url: str, accept: bool | None = None) -> Redirect:
    """Redirect the call parked in the queue to new TwiML.

    :param call_sid: the Call SID (``CA...``) of the queued call; required.
    :param url: absolute URL of the TwiML to run; required.
    :param accept: accept the reservation as well (Twilio's default: no).
    :raises InstructionError: if a parameter has an invalid value.
    """
    return Redirect(**locals())


def conference(
    *,
    from_: str,
    to: str | None = None,
    post_work_activity_sid: str | None = None,
    timeout: int | None = None,
    record: bool | None = None,
    status_callback: str | None = None,
    status_callback_method: _HttpMethod | None = None,
    status_callback_event: Sequence[_CallEvent] | None = None,
    muted: bool | None = None,
    beep: bool | _Beep | None = None,
    start_conference_on_enter: bool | None = None,
    end_conference_on_exit: bool | None = None,
    end_conference_on_customer_exit: bool | None = None,
    beep_on_customer_entrance: bool | None = None,
    wait_url: str | None = None,
    wait_method: _HttpMethod | None = None,
    early_media: bool | None = None,
    max_participants: int | None = None,
    conference_status_callback: str | None = None,
    conference_status_callback_method: _HttpMethod | None = None,
    conference_status_callback_event: Sequence[_ConferenceEvent] | None = None,
    conference_record: bool | _ConferenceRecord | None = None,
    conference_trim: _ConferenceTrim | None = None,
    recording_channels: _RecordingChannels | None = None,
    recording_status_callback: str | None = None,
    recording_status_callback_method: _HttpMethod | None = None,
    conference_recording_status_callback: str | None = None,
    conference_recording_status_callback_method: _HttpMethod | None = None,
    region: _Region | None = None,
    sip_auth_username: str | None = None,
    sip_auth_password: str | None = None,
    jitter_buffer_size: _JitterBufferSize | None = None,
) -> Conference:
    """Call the worker into a conference with the caller, named after the task.

    The reservation is accepted only if every step succeeds. Twilio recommends this
    over :func:`dequeue` and :func:`call`.

    :param from_: the caller ID of the call to the worker (wire key ``from``); required.
    :param to: the worker's number or ``client:``/``sip:`` address; defaults to the
        worker's ``contact_uri``.
    :param post_work_activity_sid: Activity SID the worker moves to after the conference.
    :param timeout: seconds to ring the worker, 1 to 999.
    :param record: record the worker's participation.
    :param status_callback: absolute URL told of the worker call's progress.
    :param status_callback_method: ``"GET"`` or ``"POST"``.
    :param status_callback_event: which of ``initiated``, ``ringing``, ``answered``,
        ``completed`` to report; sent comma-joined.
    :param muted: join the worker muted.
    :param beep: ``True``, ``False``, ``"onEnter"`` or ``"onExit"``.
    :param start_conference_on_enter: start the conference when the worker joins.
    :param end_conference_on_exit: end the conference when the worker leaves.
    :param end_conference_on_customer_exit: end the conference when the customer leaves.
    :param beep_on_customer_entrance: beep when the customer joins.
    :param wait_url: absolute URL of the hold music TwiML or audio.
    :param wait_method: ``"GET"`` or ``"POST"``.
    :param early_media: let the worker hear ringing and call progress.
    :param max_participants: 2 to 250.
    :param conference_status_callback: absolute URL told of conference events.
    :param conference_status_callback_method: ``"GET"`` or ``"POST"``.
    :param conference_status_callback_event: which of ``start``, ``end``, ``join``,
        ``leave``, ``mute``, ``hold``, ``speaker`` to report; sent comma-joined.
    :param conference_record: ``True``, ``False``, ``"record-from-start"`` or
        ``"do-not-record"``.
    :param conference_trim: ``"trim-silence"`` or ``"do-not-trim"``.
    :param recording_channels: ``"mono"`` or ``"dual"``.
    :param recording_status_callback: absolute URL told of the recording's status.
    :param recording_status_callback_method: ``"GET"`` or ``"POST"``.
    :param conference_recording_status_callback: absolute URL told when the conference
        recording is available.
    :param conference_recording_status_callback_method: ``"GET"`` or ``"POST"``.
    :param region: where to mix the conference: ``us1``, ``us2``, ``ie1``, ``de1``,
        ``sg1``, ``br1``, ``au1`` or ``jp1``.
    :param sip_auth_username: username for a SIP ``to``.
    :param sip_auth_password: password for a SIP ``to``; hidden in ``repr`` and errors.
    :param jitter_buffer_size: ``"small"``, ``"medium"``, ``"large"`` or ``"off"``.
    :raises InstructionError: if a parameter has an invalid value.
    """
    return Conference(**locals())


# --- Dict answers -----------------------------------------------------------------------------


def _listing(names: Sequence[str]) -> str:
    return ", ".join(repr(name) for name in names) if names else "none"


def instruction_from_dict(data: Mapping[str, object]) -> Instruction | None:
    """Validate a ``dict`` answer from a handler and build the instruction it describes.

    Keys are the wire keys (``from``, not ``from_``); list parameters may be given as
    a list or as one comma-joined string; a ``None`` value counts as not given. The
    result serialises back with :meth:`Instruction.to_dict`.

    :param data: the handler's answer, e.g. ``{"instruction": "reject", "activity_sid": ...}``.
    :returns: the instruction, or ``None`` for an empty dict (no instruction: the
        reservation stays pending, to be handled through the REST API).
    :raises InstructionError: if ``"instruction"`` is missing or unknown, a key is not a
        parameter of that instruction, a required key is missing, or a value is invalid;
        ``parameter`` is the offending key.
    """
    if not isinstance(data, Mapping):
        raise InstructionError(
            f"an instruction answer must be a dict (a JSON object){_got(data)}",
            parameter=None,
        )
    if not data:
        return None
    if "instruction" not in data:
        raise InstructionError(
            f"the answer has keys {_listing(sorted(map(str, data)))} but no 'instruction' key;"
            " answer {} (or nothing) to leave the reservation pending",
            parameter="instruction",
        )
    name = data["instruction"]
    cls = _REGISTRY.get(name) if isinstance(name, str) else None
    if cls is None:
        hint = " ('supervise' is for the REST API only)" if name == "supervise" else ""
        raise InstructionError(
            f"unknown instruction {name!r}{hint}: expected one of {_listing(list(_REGISTRY))}",
            parameter="instruction",
        )
    accepted = list(cls._by_wire)
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key == "instruction":
            continue
        param = cls._by_wire.get(key)
        if param is None:
            close = difflib.get_close_matches(str(key), accepted, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise InstructionError(
                f"{name} instruction: unknown key {key!r}{hint};"
                f" accepted keys: {_listing(accepted)}",
                parameter=str(key),
            )
        if param.rule.joined and isinstance(value, str):
            value = [item.strip() for item in value.split(",")]
        try:
            kwargs[param.attr] = _checked(param, value)
        except _Invalid as exc:
            raise InstructionError(
                f"{name} instruction {{{key!r}: {_shown(param, value)}}}: {key} {exc}",
                parameter=key,
            ) from None
    for param in cls._params:
        if param.required and kwargs.get(param.attr) is None:
            raise InstructionError(
                f"{name} instruction: missing required key {param.wire!r}",
                parameter=param.wire,
            )
    return cls(**kwargs)
