"""Tests for assignment instructions: wire form, validation, dict answers, round trips."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from taskrouter_flask.errors import InstructionError
from taskrouter_flask.instructions import (
    Accept,
    Call,
    Conference,
    Dequeue,
    Instruction,
    Redirect,
    Reject,
    accept,
    call,
    conference,
    dequeue,
    instruction_from_dict,
    redirect,
    reject,
)

ACTIVITY = "WA" + "0123456789abcdef" * 2
ACTIVITY_UPPER = "WA" + "0123456789ABCDEF" * 2
CALL_SID = "CA" + "fedcba9876543210" * 2
URL = "https://example.com/twiml?step=1"

FULL_CONFERENCE: dict[str, Any] = {
    "from_": "+15550100",
    "to": "client:alice",
    "post_work_activity_sid": ACTIVITY,
    "timeout": 30,
    "record": True,
    "status_callback": "https://example.com/status",
    "status_callback_method": "POST",
    "status_callback_event": ["initiated", "answered"],
    "muted": False,
    "beep": "onEnter",
    "start_conference_on_enter": True,
    "end_conference_on_exit": False,
    "end_conference_on_customer_exit": True,
    "beep_on_customer_entrance": False,
    "wait_url": "http://example.com/hold.mp3",
    "wait_method": "GET",
    "early_media": True,
    "max_participants": 10,
    "conference_status_callback": "https://example.com/conf",
    "conference_status_callback_method": "GET",
    "conference_status_callback_event": ["start", "end", "join"],
    "conference_record": "record-from-start",
    "conference_trim": "do-not-trim",
    "recording_channels": "dual",
    "recording_status_callback": "https://example.com/rec",
    "recording_status_callback_method": "POST",
    "conference_recording_status_callback": "https://example.com/conf-rec",
    "conference_recording_status_callback_method": "GET",
    "region": "ie1",
    "sip_auth_username": "agent",
    "sip_auth_password": "s3cret",
    "jitter_buffer_size": "small",
}


# --- Wire form --------------------------------------------------------------------------------


def test_accept_to_dict() -> None:
    assert accept().to_dict() == {"instruction": "accept"}
    assert isinstance(accept(), Accept)


def test_reject_to_dict() -> None:
    assert reject().to_dict() == {"instruction": "reject"}
    assert reject(activity_sid=ACTIVITY).to_dict() == {
        "instruction": "reject",
        "activity_sid": ACTIVITY,
    }
    assert reject(activity_sid=ACTIVITY_UPPER).activity_sid == ACTIVITY_UPPER


def test_dequeue_to_dict_with_all_parameters() -> None:
    instruction = dequeue(
        to="+15550100",
        from_="+15550199",
        post_work_activity_sid=ACTIVITY,
        record="record-from-answer",
        timeout=45,
        status_callback_url="https://example.com/cb",
        status_callback_events=["initiated", "completed"],
    )
    assert instruction.to_dict() == {
        "instruction": "dequeue",
        "to": "+15550100",
        "from": "+15550199",
        "post_work_activity_sid": ACTIVITY,
        "record": "record-from-answer",
        "timeout": 45,
        "status_callback_url": "https://example.com/cb",
        "status_callback_events": "initiated,completed",
    }
    assert dequeue().to_dict() == {"instruction": "dequeue"}


def test_call_to_dict_with_all_parameters() -> None:
    instruction = call(
        from_="+15550199",
        url=URL,
        to="sip:alice@example.com",
        accept=True,
        record="do-not-record",
        timeout=999,
        status_callback_url="http://example.com:8080/cb",
    )
    assert instruction.to_dict() == {
        "instruction": "call",
        "from": "+15550199",
        "url": URL,
        "to": "sip:alice@example.com",
        "accept": True,
        "record": "do-not-record",
        "timeout": 999,
        "status_callback_url": "http://example.com:8080/cb",
    }


def test_redirect_to_dict_with_all_parameters() -> None:
    assert redirect(call_sid=CALL_SID, url=URL, accept=False).to_dict() == {
        "instruction": "redirect",
        "call_sid": CALL_SID,
        "url": URL,
        "accept": False,
    }


def test_conference_to_dict_with_all_parameters() -> None:
    wire = conference(**FULL_CONFERENCE).to_dict()
    expected: dict[str, object] = {"instruction": "conference"}
    for name, value in FULL_CONFERENCE.items():
        expected["from" if name == "from_" else name] = value
    expected["status_callback_event"] = "initiated,answered"
    expected["conference_status_callback_event"] = "start,end,join"
    assert wire == expected
    assert list(wire)[:2] == ["instruction", "from"]


def test_conference_minimal_and_bool_beep() -> None:
    assert conference(from_="+1555").to_dict() == {"instruction": "conference", "from": "+1555"}
    wire = conference(from_="+1555", beep=False, conference_record=True).to_dict()
    assert wire["beep"] is False
    assert wire["conference_record"] is True


def test_event_lists_are_stored_as_tuples() -> None:
    events: list[Any] = ["initiated", "ringing"]
    instruction = dequeue(status_callback_events=events)
    events.append("completed")
    assert instruction.status_callback_events == ("initiated", "ringing")
    assert dequeue(status_callback_events=("ringing",)).to_dict()["status_callback_events"] == (
        "ringing"
    )


def test_to_dict_returns_a_fresh_dict() -> None:
    instruction = accept()
    instruction.to_dict()["instruction"] = "reject"
    assert instruction.to_dict() == {"instruction": "accept"}


# --- Value semantics --------------------------------------------------------------------------


def test_equality_by_value() -> None:
    assert accept() == accept()
    assert accept() == Accept()
    assert reject(activity_sid=ACTIVITY) == reject(activity_sid=ACTIVITY)
    assert reject(activity_sid=ACTIVITY) != reject()
    accepted: Instruction = accept()
    assert reject() != accepted
    assert dequeue(status_callback_events=["ringing"]) == dequeue(
        status_callback_events=("ringing",)
    )
    assert hash(conference(**FULL_CONFERENCE)) == hash(conference(**FULL_CONFERENCE))
    assert call(from_="+1", url=URL) == Call(from_="+1", url=URL)
    assert redirect(call_sid=CALL_SID, url=URL) == Redirect(call_sid=CALL_SID, url=URL)


@pytest.mark.parametrize(
    ("instruction", "attribute"),
    [
        (reject(activity_sid=ACTIVITY), "activity_sid"),
        (dequeue(timeout=10), "timeout"),
        (call(from_="+1", url=URL), "url"),
        (conference(from_="+1"), "muted"),
        (redirect(call_sid=CALL_SID, url=URL), "accept"),
    ],
)
def test_instructions_are_frozen(instruction: Instruction, attribute: str) -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(instruction, attribute, None)


def test_new_attributes_cannot_be_added() -> None:
    # A frozen slots dataclass refuses a new attribute; before Python 3.14 the refusal
    # surfaces as a TypeError from the generated __setattr__ (CPython gh-90562).
    with pytest.raises((AttributeError, TypeError)):
        accept().extra = 1  # type: ignore[attr-defined]
    assert not hasattr(accept(), "__dict__")


def test_unknown_keyword_is_a_type_error() -> None:
    kwargs: dict[str, Any] = {"activity": ACTIVITY}
    with pytest.raises(TypeError):
        Reject(**kwargs)
    with pytest.raises(TypeError):
        reject(**kwargs)


def test_repr_shows_given_parameters_and_hides_the_sip_password() -> None:
    text = repr(conference(from_="+1555", timeout=20, sip_auth_password="s3cret"))
    assert text == "Conference(from_='+1555', timeout=20, sip_auth_password='***')"
    assert repr(accept()) == "Accept()"


def test_classes_carry_their_wire_name() -> None:
    assert [cls.instruction for cls in (Accept, Reject, Dequeue, Call, Redirect, Conference)] == [
        "accept",
        "reject",
        "dequeue",
        "call",
        "redirect",
        "conference",
    ]


# --- Validation -------------------------------------------------------------------------------


def test_required_parameters_missing() -> None:
    missing: list[Callable[[], object]] = [
        lambda: Call(url=URL),  # type: ignore[call-arg]
        lambda: Call(from_="+1"),  # type: ignore[call-arg]
        lambda: Redirect(url=URL),  # type: ignore[call-arg]
        lambda: Conference(),  # type: ignore[call-arg]
        lambda: call(url=URL),  # type: ignore[call-arg]
        lambda: redirect(call_sid=CALL_SID),  # type: ignore[call-arg]
        lambda: conference(),  # type: ignore[call-arg]
    ]
    for build in missing:
        with pytest.raises(TypeError):
            build()


@pytest.mark.parametrize(
    ("build", "parameter"),
    [
        (lambda: call(from_=None, url=URL), "from_"),
        (lambda: call(from_="+1", url=None), "url"),
        (lambda: redirect(call_sid=None, url=URL), "call_sid"),
        (lambda: conference(from_=None), "from_"),
    ],
)
def test_required_parameter_given_as_none(build: Callable[[], object], parameter: str) -> None:
    with pytest.raises(InstructionError) as info:
        build()
    assert info.value.parameter == parameter
    assert f"{parameter} is required" in str(info.value)


def test_error_message_names_parameter_value_and_expectation() -> None:
    with pytest.raises(InstructionError) as info:
        reject(activity_sid="WA12")
    assert str(info.value) == (
        "reject(activity_sid='WA12'): activity_sid must be an Activity SID:"
        " 'WA' followed by 32 hex digits"
    )
    assert info.value.parameter == "activity_sid"
    assert isinstance(info.value, ValueError)


INVALID: list[tuple[Callable[..., Instruction], dict[str, Any], str]] = [
    # malformed SIDs
    (reject, {"activity_sid": "WA12"}, "activity_sid"),
    (reject, {"activity_sid": "WK" + "0" * 32}, "activity_sid"),
    (reject, {"activity_sid": ACTIVITY + "0"}, "activity_sid"),
    (reject, {"activity_sid": "WA" + "g" * 32}, "activity_sid"),
    (reject, {"activity_sid": ACTIVITY + "\n"}, "activity_sid"),
    (reject, {"activity_sid": 12}, "activity_sid"),
    (dequeue, {"post_work_activity_sid": CALL_SID}, "post_work_activity_sid"),
    (redirect, {"call_sid": ACTIVITY, "url": URL}, "call_sid"),
    # URLs
    (call, {"from_": "+1", "url": "/twiml"}, "url"),
    (call, {"from_": "+1", "url": "example.com/twiml"}, "url"),
    (call, {"from_": "+1", "url": "ftp://example.com/twiml"}, "url"),
    (call, {"from_": "+1", "url": "https:///twiml"}, "url"),
    (call, {"from_": "+1", "url": "https://exa mple.com/"}, "url"),
    (call, {"from_": "+1", "url": "http://[::1/"}, "url"),
    (call, {"from_": "+1", "url": b"https://example.com"}, "url"),
    (redirect, {"call_sid": CALL_SID, "url": ""}, "url"),
    (dequeue, {"status_callback_url": "cb"}, "status_callback_url"),
    (conference, {"from_": "+1", "wait_url": "hold.mp3"}, "wait_url"),
    (conference, {"from_": "+1", "status_callback": "/s"}, "status_callback"),
    (
        conference,
        {"from_": "+1", "conference_recording_status_callback": "x"},
        "conference_recording_status_callback",
    ),
    # enums
    (dequeue, {"record": "record"}, "record"),
    (call, {"from_": "+1", "url": URL, "record": True}, "record"),
    (conference, {"from_": "+1", "status_callback_method": "post"}, "status_callback_method"),
    (conference, {"from_": "+1", "wait_method": "PUT"}, "wait_method"),
    (conference, {"from_": "+1", "beep": "always"}, "beep"),
    (conference, {"from_": "+1", "beep": "true"}, "beep"),
    (conference, {"from_": "+1", "conference_record": "yes"}, "conference_record"),
    (conference, {"from_": "+1", "conference_trim": "trim"}, "conference_trim"),
    (conference, {"from_": "+1", "recording_channels": "stereo"}, "recording_channels"),
    (conference, {"from_": "+1", "region": "eu1"}, "region"),
    (conference, {"from_": "+1", "jitter_buffer_size": "huge"}, "jitter_buffer_size"),
    # ints
    (dequeue, {"timeout": 0}, "timeout"),
    (dequeue, {"timeout": 1000}, "timeout"),
    (dequeue, {"timeout": True}, "timeout"),
    (dequeue, {"timeout": "30"}, "timeout"),
    (dequeue, {"timeout": 30.0}, "timeout"),
    (call, {"from_": "+1", "url": URL, "timeout": -5}, "timeout"),
    (conference, {"from_": "+1", "max_participants": 1}, "max_participants"),
    (conference, {"from_": "+1", "max_participants": 251}, "max_participants"),
    (conference, {"from_": "+1", "max_participants": False}, "max_participants"),
    # bools
    (call, {"from_": "+1", "url": URL, "accept": "true"}, "accept"),
    (redirect, {"call_sid": CALL_SID, "url": URL, "accept": 1}, "accept"),
    (conference, {"from_": "+1", "muted": "false"}, "muted"),
    (conference, {"from_": "+1", "record": "record-from-start"}, "record"),
    (conference, {"from_": "+1", "early_media": 0}, "early_media"),
    # strings
    (dequeue, {"to": ""}, "to"),
    (dequeue, {"from_": "   "}, "from_"),
    (call, {"from_": 15550100, "url": URL}, "from_"),
    (conference, {"from_": "+1", "sip_auth_username": ""}, "sip_auth_username"),
    # event lists
    (dequeue, {"status_callback_events": []}, "status_callback_events"),
    (dequeue, {"status_callback_events": "initiated"}, "status_callback_events"),
    (dequeue, {"status_callback_events": ["initiated", "busy"]}, "status_callback_events"),
    (dequeue, {"status_callback_events": {"initiated"}}, "status_callback_events"),
    (dequeue, {"status_callback_events": [["initiated"]]}, "status_callback_events"),
    (conference, {"from_": "+1", "status_callback_event": ()}, "status_callback_event"),
    (
        conference,
        {"from_": "+1", "conference_status_callback_event": ["start", "initiated"]},
        "conference_status_callback_event",
    ),
]


@pytest.mark.parametrize(("build", "kwargs", "parameter"), INVALID)
def test_invalid_values_raise_naming_the_parameter(
    build: Callable[..., Instruction], kwargs: dict[str, Any], parameter: str
) -> None:
    with pytest.raises(InstructionError) as info:
        build(**kwargs)
    assert info.value.parameter == parameter
    message = str(info.value)
    assert message.startswith(f"{build.__name__}({parameter}=")
    assert f"): {parameter} must be " in message


def test_messages_say_what_was_expected() -> None:
    cases: list[tuple[Callable[[], object], str]] = [
        (lambda: dequeue(timeout=True), "must be an int from 1 to 999, not bool"),
        (lambda: conference(from_="+1", muted="yes"), "must be True or False, not str"),
        (lambda: dequeue(status_callback_events=[]), "non-empty list of events"),
        (lambda: dequeue(status_callback_events="ringing"), "not a bare string"),
        (lambda: dequeue(status_callback_events=["busy"]), "'busy' is not one"),  # type: ignore[list-item]
        (lambda: conference(from_="+1", wait_method="get"), "case matters"),
        (lambda: call(from_="+1", url="/x"), "absolute http:// or https:// URL"),
        (lambda: redirect(call_sid="CA1", url=URL), "'CA' followed by 32 hex digits"),
    ]
    for build, expected in cases:
        with pytest.raises(InstructionError, match=expected.replace("(", r"\(")):
            build()


def test_errors_never_show_the_sip_password() -> None:
    with pytest.raises(InstructionError) as info:
        conference(from_="+1", sip_auth_password=42)
    assert "42" not in str(info.value)
    assert info.value.parameter == "sip_auth_password"


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(InstructionError) as info:
        reject(activity_sid="x" * 500)
    assert len(str(info.value)) < 250


# --- Dict answers -----------------------------------------------------------------------------


def test_empty_dict_means_no_instruction() -> None:
    assert instruction_from_dict({}) is None


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"instruction": "accept"}, accept()),
        ({"instruction": "reject", "activity_sid": ACTIVITY}, reject(activity_sid=ACTIVITY)),
        ({"instruction": "reject", "activity_sid": None}, reject()),
        (
            {"instruction": "call", "from": "+1", "url": URL, "accept": True},
            call(from_="+1", url=URL, accept=True),
        ),
        (
            {"instruction": "dequeue", "status_callback_events": "initiated, ringing,completed"},
            dequeue(status_callback_events=["initiated", "ringing", "completed"]),
        ),
        (
            {"instruction": "dequeue", "status_callback_events": ["answered"]},
            dequeue(status_callback_events=["answered"]),
        ),
        (
            {
                "instruction": "conference",
                "from": "+1",
                "conference_status_callback_event": "leave",
            },
            conference(from_="+1", conference_status_callback_event=["leave"]),
        ),
    ],
)
def test_dict_answers_build_instructions(data: dict[str, object], expected: Instruction) -> None:
    assert instruction_from_dict(data) == expected


def test_dict_missing_instruction_key() -> None:
    with pytest.raises(InstructionError) as info:
        instruction_from_dict({"activity_sid": ACTIVITY})
    assert info.value.parameter == "instruction"
    assert "'instruction'" in str(info.value)
    assert "'activity_sid'" in str(info.value)


@pytest.mark.parametrize("name", ["Accept", "acept", "supervise", "", None, 1, ["accept"]])
def test_dict_unknown_instruction(name: object) -> None:
    with pytest.raises(InstructionError) as info:
        instruction_from_dict({"instruction": name})
    assert info.value.parameter == "instruction"
    message = str(info.value)
    for valid in ("accept", "reject", "dequeue", "call", "redirect", "conference"):
        assert repr(valid) in message


def test_dict_unknown_key_lists_the_accepted_keys() -> None:
    with pytest.raises(InstructionError) as info:
        instruction_from_dict({"instruction": "call", "from_": "+1", "url": URL})
    assert info.value.parameter == "from_"
    message = str(info.value)
    assert "'from_'" in message
    assert "did you mean 'from'?" in message
    for key in ("from", "url", "to", "accept", "record", "timeout", "status_callback_url"):
        assert repr(key) in message


def test_dict_accept_takes_no_other_keys() -> None:
    with pytest.raises(InstructionError) as info:
        instruction_from_dict({"instruction": "accept", "activity_sid": ACTIVITY})
    assert info.value.parameter == "activity_sid"
    assert "accepted keys: none" in str(info.value)


def test_dict_from_key_maps_to_from_() -> None:
    built = instruction_from_dict({"instruction": "conference", "from": "+15550100"})
    assert isinstance(built, Conference)
    assert built.from_ == "+15550100"


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"instruction": "call", "url": URL}, "from"),
        ({"instruction": "call", "from": "+1"}, "url"),
        ({"instruction": "call", "from": None, "url": URL}, "from"),
        ({"instruction": "redirect", "url": URL}, "call_sid"),
        ({"instruction": "conference", "to": "+1"}, "from"),
    ],
)
def test_dict_missing_required_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(InstructionError) as info:
        instruction_from_dict(data)
    assert info.value.parameter == key
    assert repr(key) in str(info.value) or f"{key} is required" in str(info.value)


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ({"instruction": "reject", "activity_sid": "WA12"}, "activity_sid"),
        ({"instruction": "call", "from": 5, "url": URL}, "from"),
        ({"instruction": "call", "from": "+1", "url": "/twiml"}, "url"),
        ({"instruction": "dequeue", "timeout": "60"}, "timeout"),
        ({"instruction": "dequeue", "status_callback_events": ""}, "status_callback_events"),
        (
            {"instruction": "dequeue", "status_callback_events": "initiated,,ringing"},
            "status_callback_events",
        ),
        ({"instruction": "conference", "from": "+1", "muted": "true"}, "muted"),
        ({"instruction": "conference", "from": "+1", "region": "eu1"}, "region"),
    ],
)
def test_dict_invalid_values_name_the_wire_key(data: dict[str, object], key: str) -> None:
    with pytest.raises(InstructionError) as info:
        instruction_from_dict(data)
    assert info.value.parameter == key
    assert f"{data['instruction']} instruction {{{key!r}: " in str(info.value)
    assert f"{key} must be " in str(info.value)


def test_dict_must_be_a_mapping() -> None:
    with pytest.raises(InstructionError):
        instruction_from_dict(["accept"])


# --- Round trip -------------------------------------------------------------------------------

HEX = "0123456789abcdefABCDEF"
activity_sids = st.text(alphabet=HEX, min_size=32, max_size=32).map(lambda h: "WA" + h)
call_sids = st.text(alphabet=HEX, min_size=32, max_size=32).map(lambda h: "CA" + h)
urls = st.builds(
    "{}://{}{}/{}".format,
    st.sampled_from(["http", "https"]),
    st.sampled_from(["example.com", "127.0.0.1", "cb.example.org", "[::1]"]),
    st.sampled_from(["", ":8080"]),
    st.text(alphabet="abcxyz0123-_/?=&", max_size=12),
)
addresses = st.text(min_size=1, max_size=20).filter(str.strip)
timeouts = st.integers(1, 999)
methods = st.sampled_from(["GET", "POST"])
call_records = st.sampled_from(["record-from-answer", "do-not-record"])
call_events = st.lists(
    st.sampled_from(["initiated", "ringing", "answered", "completed"]), min_size=1
)
conference_events = st.lists(
    st.sampled_from(["start", "end", "join", "leave", "mute", "hold", "speaker"]), min_size=1
)


def _optional(**strategies: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=strategies)


instructions: st.SearchStrategy[Instruction] = st.one_of(
    st.just(accept()),
    _optional(activity_sid=activity_sids).map(lambda kw: reject(**kw)),
    _optional(
        to=addresses,
        from_=addresses,
        post_work_activity_sid=activity_sids,
        record=call_records,
        timeout=timeouts,
        status_callback_url=urls,
        status_callback_events=call_events,
    ).map(lambda kw: dequeue(**kw)),
    st.builds(
        lambda required, kw: call(**required, **kw),
        st.fixed_dictionaries({"from_": addresses, "url": urls}),
        _optional(
            to=addresses,
            accept=st.booleans(),
            record=call_records,
            timeout=timeouts,
            status_callback_url=urls,
        ),
    ),
    st.builds(
        lambda call_sid, url, kw: redirect(call_sid=call_sid, url=url, **kw),
        call_sids,
        urls,
        _optional(accept=st.booleans()),
    ),
    st.builds(
        lambda from_, kw: conference(from_=from_, **kw),
        addresses,
        _optional(
            to=addresses,
            post_work_activity_sid=activity_sids,
            timeout=timeouts,
            record=st.booleans(),
            status_callback=urls,
            status_callback_method=methods,
            status_callback_event=call_events,
            muted=st.booleans(),
            beep=st.sampled_from([True, False, "onEnter", "onExit"]),
            start_conference_on_enter=st.booleans(),
            end_conference_on_exit=st.booleans(),
            end_conference_on_customer_exit=st.booleans(),
            beep_on_customer_entrance=st.booleans(),
            wait_url=urls,
            wait_method=methods,
            early_media=st.booleans(),
            max_participants=st.integers(2, 250),
            conference_status_callback=urls,
            conference_status_callback_method=methods,
            conference_status_callback_event=conference_events,
            conference_record=st.sampled_from([True, False, "record-from-start", "do-not-record"]),
            conference_trim=st.sampled_from(["trim-silence", "do-not-trim"]),
            recording_channels=st.sampled_from(["mono", "dual"]),
            recording_status_callback=urls,
            recording_status_callback_method=methods,
            conference_recording_status_callback=urls,
            conference_recording_status_callback_method=methods,
            region=st.sampled_from(["us1", "us2", "ie1", "de1", "sg1", "br1", "au1", "jp1"]),
            sip_auth_username=addresses,
            sip_auth_password=addresses,
            jitter_buffer_size=st.sampled_from(["small", "medium", "large", "off"]),
        ),
    ),
)


@settings(max_examples=150, database=None, deadline=None)
@given(instructions)
def test_round_trip_through_the_wire_dict(instruction: Instruction) -> None:
    wire = instruction.to_dict()
    assert wire["instruction"] == instruction.instruction
    assert all(value is not None for value in wire.values())
    assert instruction_from_dict(wire) == instruction
    assert instruction_from_dict(dict(wire)) == instruction


def test_round_trip_of_a_full_conference() -> None:
    instruction = conference(**FULL_CONFERENCE)
    assert instruction_from_dict(instruction.to_dict()) == instruction


# --- Factories: their signatures are the dataclass fields --------------------------------------

#: Each factory, its dataclass, and a valid value for every one of its parameters.
FACTORIES: list[tuple[Callable[..., Instruction], type[Instruction], dict[str, Any]]] = [
    (accept, Accept, {}),
    (reject, Reject, {"activity_sid": ACTIVITY}),
    (
        dequeue,
        Dequeue,
        {
            "to": "+15550100",
            "from_": "+15550199",
            "post_work_activity_sid": ACTIVITY,
            "record": "record-from-answer",
            "timeout": 45,
            "status_callback_url": URL,
            "status_callback_events": ("initiated",),
        },
    ),
    (
        call,
        Call,
        {
            "from_": "+15550199",
            "url": URL,
            "to": "client:bob",
            "accept": True,
            "record": "do-not-record",
            "timeout": 20,
            "status_callback_url": URL,
        },
    ),
    (redirect, Redirect, {"call_sid": CALL_SID, "url": URL, "accept": True}),
    (conference, Conference, FULL_CONFERENCE),
]
_FACTORY_IDS = [factory.__name__ for factory, _, _ in FACTORIES]


@pytest.mark.parametrize(("factory", "cls", "full"), FACTORIES, ids=_FACTORY_IDS)
def test_each_factory_takes_its_dataclass_fields(
    factory: Callable[..., Instruction], cls: type[Instruction], full: dict[str, Any]
) -> None:
    # The factories spell their parameters out for type checkers; this keeps them the fields'.
    signature = inspect.signature(factory)
    parameters = list(signature.parameters.values())
    fields = dataclasses.fields(cls)
    assert [p.name for p in parameters] == [f.name for f in fields]
    for parameter, field in zip(parameters, fields, strict=True):
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY, parameter.name
        assert parameter.annotation == field.type, parameter.name
        default = inspect.Parameter.empty if field.default is dataclasses.MISSING else field.default
        assert parameter.default == default, parameter.name
    assert signature.return_annotation == cls.__name__


@pytest.mark.parametrize(("factory", "cls", "full"), FACTORIES, ids=_FACTORY_IDS)
def test_each_factory_documents_every_parameter(
    factory: Callable[..., Instruction], cls: type[Instruction], full: dict[str, Any]
) -> None:
    documented = re.findall(r":param (\w+):", factory.__doc__ or "")
    assert documented == [f.name for f in dataclasses.fields(cls)]


@pytest.mark.parametrize(("factory", "cls", "full"), FACTORIES, ids=_FACTORY_IDS)
def test_each_factory_passes_every_argument_on(
    factory: Callable[..., Instruction], cls: type[Instruction], full: dict[str, Any]
) -> None:
    assert set(full) == {f.name for f in dataclasses.fields(cls)}
    built = factory(**full)
    assert built == cls(**full)
    assert all(getattr(built, name) is not None for name in full)


# --- Module boundaries ------------------------------------------------------------------------


def test_module_imports_only_the_standard_library_errors_and_wire() -> None:
    import taskrouter_flask.instructions as module

    assert module.__file__ is not None
    tree = ast.parse(Path(module.__file__).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module is not None:
            imported.add(node.module)
    outside_stdlib = {
        name
        for name in imported
        if name != "__future__" and name.split(".")[0] not in sys.stdlib_module_names
    }
    assert outside_stdlib == {"taskrouter_flask.errors", "taskrouter_flask.wire"}


def test_public_names() -> None:
    import taskrouter_flask.instructions as module

    assert sorted(module.__all__) == sorted(
        [
            "REST_PARAMETERS",
            "RestParameter",
            "Instruction",
            "Accept",
            "Reject",
            "Dequeue",
            "Call",
            "Conference",
            "Redirect",
            "accept",
            "reject",
            "dequeue",
            "call",
            "conference",
            "redirect",
            "instruction_from_dict",
        ]
    )
