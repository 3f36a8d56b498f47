"""Settings are read strictly: what an environment can spell, never the opposite."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from hypothesis import given
from hypothesis import strategies as st

from taskrouter_flask import TaskRouter
from taskrouter_flask.settings import DEFAULT_CONFIG, TaskRouterSettings, read_flag

from .conftest import TOKEN

SPELLINGS = {
    True: ["true", "True", "TRUE", "1", "yes", "Yes", "on", "ON", " true "],
    False: ["false", "False", "FALSE", "0", "no", "No", "off", "OFF", " off"],
}


@pytest.mark.parametrize(("expected", "text"), [(k, t) for k, v in SPELLINGS.items() for t in v])
def test_flags_accept_the_usual_spellings(expected: bool, text: str) -> None:
    assert read_flag({"K": text}, "K", not expected) is expected


@pytest.mark.parametrize("value", [True, False, 1, 0])
def test_flags_accept_python_values(value: Any) -> None:
    assert read_flag({"K": value}, "K", True) is bool(value)


@given(
    st.one_of(
        st.text().filter(
            lambda t: t.strip().lower() not in {"true", "false", "1", "0", "yes", "no", "on", "off"}
        ),
        st.integers().filter(lambda n: n not in (0, 1)),
        st.floats(),
        st.lists(st.booleans()),
    )
)
def test_anything_else_fails_naming_the_key(value: Any) -> None:
    with pytest.raises(ValueError, match="^TASKROUTER_DEDUP_FAIL_OPEN: expected true or false"):
        read_flag({"TASKROUTER_DEDUP_FAIL_OPEN": value}, "TASKROUTER_DEDUP_FAIL_OPEN", True)


@pytest.mark.parametrize("spelled", ["False", "FALSE", "no", "off", "0", "false"])
def test_fail_open_read_from_the_environment_means_what_it_says(
    monkeypatch: pytest.MonkeyPatch, spelled: str
) -> None:
    monkeypatch.setenv("FLASK_TASKROUTER_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("FLASK_TASKROUTER_DEDUP_FAIL_OPEN", spelled)
    app = Flask("env")
    app.config.from_prefixed_env()
    TaskRouter(app)
    assert app.extensions["taskrouter"].settings.dedup_fail_open is False


def test_a_misspelled_flag_fails_at_init_app(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLASK_TASKROUTER_AUTH_TOKEN", TOKEN)
    monkeypatch.setenv("FLASK_TASKROUTER_VALIDATE_SIGNATURES", "Flase")
    app = Flask("env")
    app.config.from_prefixed_env()
    with pytest.raises(ValueError, match="TASKROUTER_VALIDATE_SIGNATURES.*'Flase'"):
        TaskRouter(app)


@pytest.mark.parametrize("token", [" ", "\t\n", "   "])
def test_a_blank_token_fails(token: str) -> None:
    with pytest.raises(ValueError, match="TASKROUTER_AUTH_TOKEN: the token is blank"):
        TaskRouterSettings.from_config({"TASKROUTER_AUTH_TOKEN": token})
    with pytest.raises(ValueError, match="TASKROUTER_SECONDARY_AUTH_TOKEN: the token is blank"):
        TaskRouterSettings.from_config(
            {"TASKROUTER_AUTH_TOKEN": TOKEN, "TASKROUTER_SECONDARY_AUTH_TOKEN": token}
        )


def test_a_token_with_a_trailing_newline_fails() -> None:
    with pytest.raises(ValueError, match="TASKROUTER_AUTH_TOKEN: the token has spaces"):
        TaskRouterSettings.from_config({"TASKROUTER_AUTH_TOKEN": TOKEN + "\n"})


def test_an_empty_secondary_token_means_none() -> None:
    settings = TaskRouterSettings.from_config(
        {"TASKROUTER_AUTH_TOKEN": TOKEN, "TASKROUTER_SECONDARY_AUTH_TOKEN": ""}
    )
    assert settings.auth_tokens == (TOKEN,)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("TASKROUTER_DEDUP_TTL", 0),
        ("TASKROUTER_DEDUP_TTL", "a day"),
        ("TASKROUTER_DEDUP_TTL", 1.5),
        ("TASKROUTER_DEDUP_LEASE", -1),
        ("TASKROUTER_DEDUP_LEASE", float("nan")),
        ("TASKROUTER_SLOW_HANDLER", True),
        ("TASKROUTER_SLOW_HANDLER", "soon"),
    ],
)
def test_bad_numbers_fail_naming_the_key(key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"^{key}: expected"):
        TaskRouterSettings.from_config({"TASKROUTER_AUTH_TOKEN": TOKEN, key: value})


def test_numbers_from_the_environment_are_read() -> None:
    settings = TaskRouterSettings.from_config(
        {
            "TASKROUTER_AUTH_TOKEN": TOKEN,
            "TASKROUTER_DEDUP_TTL": "3600",
            "TASKROUTER_DEDUP_LEASE": "12.5",
            "TASKROUTER_SLOW_HANDLER": "1",
        }
    )
    assert (settings.dedup_ttl, settings.dedup_lease, settings.slow_handler) == (3600, 12.5, 1.0)


def test_a_lease_must_be_shorter_than_the_ttl() -> None:
    app = Flask("lease")
    app.config.update(
        TASKROUTER_AUTH_TOKEN=TOKEN, TASKROUTER_DEDUP_TTL=10, TASKROUTER_DEDUP_LEASE=30
    )
    with pytest.raises(ValueError, match="TASKROUTER_DEDUP_LEASE"):
        TaskRouter(app)


def test_every_default_is_accepted() -> None:
    settings = TaskRouterSettings.from_config({**DEFAULT_CONFIG, "TASKROUTER_AUTH_TOKEN": TOKEN})
    assert settings.dedup_lease == 30.0
    assert settings.slow_handler == 3.0
    assert settings.dedup_fail_open is True
