"""Shared fixtures: a fresh extension, an application using it, and a signing test client."""

from __future__ import annotations

import pytest
from flask import Flask

from taskrouter_flask import TaskRouter
from taskrouter_flask.testing import TaskRouterTestClient

TOKEN = "test-auth-token-0123456789abcdef"
SECONDARY_TOKEN = "next-auth-token-fedcba9876543210"


@pytest.fixture
def taskrouter() -> TaskRouter:
    return TaskRouter()


@pytest.fixture
def app(taskrouter: TaskRouter) -> Flask:
    app = Flask("tests")
    app.config.update(TESTING=True, TASKROUTER_AUTH_TOKEN=TOKEN)
    taskrouter.init_app(app)
    return app


@pytest.fixture
def client(app: Flask) -> TaskRouterTestClient:
    return TaskRouterTestClient(app)
