"""``tr.client``: one REST client per application, built from its configuration."""

from __future__ import annotations

import base64

import pytest
from flask import Flask

from taskrouter_flask import TaskRouter
from taskrouter_flask.models import Task

from .conftest import ACCOUNT, TOKEN, WORKSPACE, FakeApi
from .test_operations import example_answer


def make_app(api: FakeApi, tr: TaskRouter, **config: str) -> Flask:
    app = Flask("client_app")
    app.config.update(
        {
            "TASKROUTER_ACCOUNT_SID": ACCOUNT,
            "TASKROUTER_AUTH_TOKEN": TOKEN,
            "TASKROUTER_WORKSPACE_SID": WORKSPACE,
            "TASKROUTER_BASE_URL": api.url,
            **config,
        }
    )
    tr.init_app(app)
    return app


def test_client_is_built_from_config_once_per_app(api: FakeApi) -> None:
    tr = TaskRouter()
    first = make_app(api, tr)
    second = make_app(api, tr, TASKROUTER_WORKSPACE_SID="WS" + "9" * 32)
    with first.app_context():
        client = tr.client
        assert tr.client is client
        assert client.base_url == api.url
        api.reply(201, example_answer("CreateTask")[1])
        task = client.tasks.create(attributes={"type": "ticket"})
        assert isinstance(task, Task)
    assert api.requests[0].path == f"/v1/Workspaces/{WORKSPACE}/Tasks"
    other = tr.client_for(second)
    assert other is not client and other.workspace_sid == "WS" + "9" * 32


def test_client_needs_credentials(api: FakeApi) -> None:
    tr = TaskRouter()
    app = make_app(api, tr, TASKROUTER_ACCOUNT_SID="")
    with app.app_context(), pytest.raises(RuntimeError, match="TASKROUTER_ACCOUNT_SID"):
        tr.client  # noqa: B018


def test_client_outside_an_app_context_is_an_error() -> None:
    with pytest.raises(RuntimeError):
        TaskRouter().client  # noqa: B018


def test_an_api_key_is_preferred(api: FakeApi) -> None:
    tr = TaskRouter()
    app = make_app(api, tr, TASKROUTER_API_KEY_SID="SK" + "1" * 32, TASKROUTER_API_KEY_SECRET="k")
    api.reply(200, example_answer("FetchTask")[1])
    tr.client_for(app).tasks.fetch("WT" + "2" * 32)
    expected = base64.b64encode(("SK" + "1" * 32 + ":k").encode()).decode()
    assert api.requests[0].headers["Authorization"] == f"Basic {expected}"


def test_client_settings_are_read_at_init_app(api: FakeApi) -> None:
    tr = TaskRouter()
    app = make_app(api, tr)
    app.config["TASKROUTER_BASE_URL"] = "https://elsewhere.example.com"
    with pytest.raises(RuntimeError, match=r"TASKROUTER_BASE_URL changed after init_app\(\)"):
        tr.client_for(app)
    app.config["TASKROUTER_BASE_URL"] = api.url
    client = tr.client_for(app)
    assert client.base_url == api.url and client.workspace_sid == WORKSPACE


def test_credentials_changed_after_init_app_are_refused_not_ignored(api: FakeApi) -> None:
    tr = TaskRouter()
    app = make_app(api, tr, TASKROUTER_ACCOUNT_SID="")
    app.config["TASKROUTER_ACCOUNT_SID"] = ACCOUNT
    with pytest.raises(RuntimeError, match="TASKROUTER_ACCOUNT_SID changed after init_app"):
        tr.client_for(app)


def test_missing_credentials_say_to_set_them_before_init_app(api: FakeApi) -> None:
    tr = TaskRouter()
    app = make_app(api, tr, TASKROUTER_AUTH_TOKEN="", TASKROUTER_VALIDATE_SIGNATURES="false")
    with pytest.raises(RuntimeError, match=r"before TaskRouter\(app\) / init_app\(app\)"):
        tr.client_for(app)
