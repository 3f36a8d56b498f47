"""``tr.worker_token``: the extension mints worker SDK tokens from the app's settings."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask

from taskrouter_flask import AccessTokenError, TaskRouter
from taskrouter_flask.access_token import read_worker_token

from .conftest import TOKEN

ACCOUNT = "AC" + "0a" * 16
KEY = "SK" + "1b" * 16
SECRET = "worker-token-test-secret-0123456789abcdef"
WORKSPACE = "WS" + "3d" * 16
OTHER_WORKSPACE = "WS" + "5f" * 16
WORKER = "WK" + "4e" * 16

KEYED = {
    "TASKROUTER_AUTH_TOKEN": TOKEN,
    "TASKROUTER_ACCOUNT_SID": ACCOUNT,
    "TASKROUTER_WORKSPACE_SID": WORKSPACE,
    "TASKROUTER_API_KEY_SID": KEY,
    "TASKROUTER_API_KEY_SECRET": SECRET,
}


def make_app(**config: Any) -> tuple[Flask, TaskRouter]:
    app = Flask("worker_tokens")
    app.config.update({**KEYED, **config})
    return app, TaskRouter(app)


def read(token: str) -> Any:
    return read_worker_token(token, api_keys={KEY: SECRET}, account_sid=ACCOUNT, now=time.time())


def test_a_token_minted_in_a_request_is_read_back() -> None:
    app, tr = make_app()

    @app.get("/token")
    def token() -> dict[str, str]:  # what an application's own route looks like
        return {"token": tr.worker_token(WORKER, identity="alice")}

    answer = app.test_client().get("/token")
    assert answer.status_code == 200
    grant = read(answer.get_json()["token"])
    assert (grant.account_sid, grant.api_key_sid) == (ACCOUNT, KEY)
    assert (grant.workspace_sid, grant.worker_sid) == (WORKSPACE, WORKER)
    assert grant.role == "worker" and grant.identity == "alice"


def test_outside_a_request_an_app_context_or_the_app_is_enough() -> None:
    app, tr = make_app()
    with app.app_context():
        assert read(tr.worker_token(WORKER)).worker_sid == WORKER
    assert read(tr.worker_token(WORKER, app=app)).worker_sid == WORKER


def test_without_an_app_context_the_error_says_what_to_do() -> None:
    _, tr = make_app()
    with pytest.raises(RuntimeError, match=r"outside an application context.*app=app"):
        tr.worker_token(WORKER)


@pytest.mark.parametrize("role", ["worker", "supervisor", "admin"])
def test_role_and_ttl_are_passed_through(role: Any) -> None:
    app, tr = make_app()
    before = int(time.time())
    with app.app_context():
        grant = read(tr.worker_token(WORKER, role=role, ttl=120))
    assert grant.role == role
    assert before + 120 <= grant.expires_at <= int(time.time()) + 120


def test_the_workspace_may_be_given() -> None:
    app, tr = make_app(TASKROUTER_WORKSPACE_SID=None)
    with app.app_context():
        token = tr.worker_token(WORKER, workspace_sid=OTHER_WORKSPACE)
    assert read(token).workspace_sid == OTHER_WORKSPACE


@pytest.mark.parametrize(
    "missing",
    [
        ["TASKROUTER_API_KEY_SID"],
        ["TASKROUTER_API_KEY_SECRET"],
        ["TASKROUTER_ACCOUNT_SID"],
        ["TASKROUTER_WORKSPACE_SID"],
        ["TASKROUTER_API_KEY_SID", "TASKROUTER_API_KEY_SECRET"],
    ],
)
def test_missing_settings_are_named(missing: list[str]) -> None:
    app, tr = make_app(**{key: None for key in missing})
    with app.app_context(), pytest.raises(RuntimeError) as caught:
        tr.worker_token(WORKER)
    message = str(caught.value)
    assert message.startswith(f"tr.worker_token() needs {', '.join(missing)}")
    assert "before TaskRouter(app) / init_app(app)" in message
    assert ("workspace_sid=" in message) == ("TASKROUTER_WORKSPACE_SID" in missing)


def test_an_app_without_an_api_key_still_starts() -> None:
    # The keys are optional: only minting a token needs them.
    app, tr = make_app(TASKROUTER_API_KEY_SID=None, TASKROUTER_API_KEY_SECRET=None)
    assert app.extensions["taskrouter"].settings.api_key_sid is None


def test_settings_changed_after_init_app_are_refused() -> None:
    app, tr = make_app()
    app.config["TASKROUTER_API_KEY_SECRET"] = "rotated-secret-0123456789abcdef0123"
    with pytest.raises(RuntimeError, match="TASKROUTER_API_KEY_SECRET changed after init_app"):
        tr.worker_token(WORKER, app=app)


@pytest.mark.parametrize(
    ("arguments", "name"),
    [
        ({"worker_sid": "WK123"}, "worker_sid"),
        ({"worker_sid": WORKER, "ttl": 0}, "ttl"),
        ({"worker_sid": WORKER, "ttl": 86401}, "ttl"),
        ({"worker_sid": WORKER, "role": "owner"}, "role"),
        ({"worker_sid": WORKER, "workspace_sid": "WS"}, "workspace_sid"),
    ],
)
def test_a_bad_argument_is_named(arguments: dict[str, Any], name: str) -> None:
    app, tr = make_app()
    with pytest.raises(AccessTokenError, match=f"^{name}: expected"):
        tr.worker_token(**arguments, app=app)


def test_the_secret_stays_out_of_the_settings_repr() -> None:
    app, _ = make_app()
    assert SECRET not in repr(app.extensions["taskrouter"].settings)


# -- the four settings are checked at init_app, when they are set ---------------------------


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("TASKROUTER_API_KEY_SID", "SK123", r"expected an API key SID \('SK' and 32 hex digits\)"),
        ("TASKROUTER_API_KEY_SID", ACCOUNT, "TASKROUTER_API_KEY_SID: expected an API key SID"),
        ("TASKROUTER_API_KEY_SID", f"{KEY}\n", "a copy-paste slip"),
        (
            "TASKROUTER_API_KEY_SID",
            42,
            "TASKROUTER_API_KEY_SID: expected an API key SID as a string",
        ),
        ("TASKROUTER_ACCOUNT_SID", KEY, "an API key SID goes in TASKROUTER_API_KEY_SID"),
        ("TASKROUTER_ACCOUNT_SID", "ACxyz", r"expected the account SID \('AC'"),
        ("TASKROUTER_WORKSPACE_SID", "WS-support", r"expected a workspace SID \('WS'"),
        (
            "TASKROUTER_API_KEY_SECRET",
            "   ",
            "TASKROUTER_API_KEY_SECRET: the API key secret is blank",
        ),
        ("TASKROUTER_API_KEY_SECRET", f"{SECRET} ", "has spaces or a newline around it"),
        ("TASKROUTER_API_KEY_SECRET", 42, "expected the API key secret as a string"),
    ],
)
def test_an_unusable_setting_fails_at_init_app(key: str, value: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        make_app(**{key: value})
    assert str(caught.value).startswith(f"{key}: ")


@pytest.mark.parametrize(
    "key",
    [
        "TASKROUTER_ACCOUNT_SID",
        "TASKROUTER_WORKSPACE_SID",
        "TASKROUTER_API_KEY_SID",
        "TASKROUTER_API_KEY_SECRET",
    ],
)
def test_an_empty_setting_is_unset(key: str) -> None:
    # As an environment gives it (FLASK_TASKROUTER_API_KEY_SID=): the same as not set.
    app, tr = make_app(**{key: ""})
    with pytest.raises(RuntimeError, match=key):
        tr.worker_token(WORKER, app=app)


def test_sids_in_capitals_are_accepted() -> None:
    app, tr = make_app(TASKROUTER_API_KEY_SID="SK" + "1B" * 16)
    token = tr.worker_token(WORKER, app=app)
    assert (
        read_worker_token(
            token, api_keys={"SK" + "1B" * 16: SECRET}, account_sid=ACCOUNT, now=time.time()
        ).worker_sid
        == WORKER
    )
