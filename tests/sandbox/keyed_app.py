"""An application configured with an API key, as Twilio recommends, for the CLI tests."""

from __future__ import annotations

from flask import Flask

from taskrouter_flask import TaskRouter

ACCOUNT_SID = "AC" + "ab" * 16
AUTH_TOKEN = "keyed-app-auth-token"
API_KEY_SID = "SK" + "cd" * 16
API_KEY_SECRET = "keyed-app-api-key-secret"


def create_app(base_url: str | None = None) -> Flask:
    app = Flask("keyed_app")
    app.config.update(
        TASKROUTER_ACCOUNT_SID=ACCOUNT_SID,
        TASKROUTER_AUTH_TOKEN=AUTH_TOKEN,
        TASKROUTER_API_KEY_SID=API_KEY_SID,
        TASKROUTER_API_KEY_SECRET=API_KEY_SECRET,
        TASKROUTER_BASE_URL=base_url,
    )
    TaskRouter(app)
    return app
