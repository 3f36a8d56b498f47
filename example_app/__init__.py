"""A support desk built on taskrouter_flask, with a live dashboard.

The scenario of Twilio's TaskRouter guide, built the way we recommend:

* :mod:`.provisioning` — the workspace, activities, queues, workflow and
  agents, made idempotently through the bundled REST client;
* :mod:`.handlers` — assignment handlers per queue with a business rule, and
  event handlers that keep the dashboard and an audit log;
* :mod:`.dashboard` — the dashboard's state, built from events, and its
  server-sent event stream;
* :mod:`.traffic` — simulated customers and agents;
* :mod:`.web` — the page and the controls' JSON API;
* :mod:`.access` — the operator's signed session and the agents' signed console links;
* :mod:`.consoles` — the agent console, where a person works one agent through
  Twilio's TaskRouter SDK (bundled by :mod:`.agent_bundle`);
* :mod:`.runner` and ``python -m example_app`` — everything on one machine:
  the local TaskRouter sandbox, this app on 127.0.0.1:5000, and traffic.

:func:`create_app` is an ordinary application factory (``wsgi.py`` calls it),
reading ``FLASK_``-prefixed environment variables, then ``config``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask
from werkzeug.exceptions import HTTPException

from . import access, consoles
from .dashboard import DashboardState
from .desk import EXTENSION_KEY, Desk, current_desk
from .handlers import HANDLERS_KEY, tr
from .web import api_error, blueprint

__all__ = ["DEFAULTS", "Desk", "create_app", "current_desk"]

#: The desk's own settings and their defaults (``FLASK_SUPPORT_DESK_AGENTS=8`` and so on).
DEFAULTS: Mapping[str, Any] = {
    # Provision the workspace when the app is created; off for an app that only serves pages,
    # or that a `flask` command loads (FLASK_SUPPORT_DESK_PROVISION=false flask --app
    # example_app taskrouter trigger ...).
    "SUPPORT_DESK_PROVISION": True,
    # How many agents of the roster (1 to 30).
    "SUPPORT_DESK_AGENTS": 12,
    # Tasks an agent handles in a day before the assignment handler sends them Offline.
    "SUPPORT_DESK_DAILY_LIMIT": 25,
    # Seconds a Gold ticket waits for a premium agent before it escalates to everyone.
    "SUPPORT_DESK_GOLD_TIMEOUT": 30,
    # Seconds an agent has to accept a reservation (a ringing chat) before it times out.
    "SUPPORT_DESK_RESERVATION_TIMEOUT": 12,
    # The operator's sign-in key (/?key=...); None: a random one per run.
    "SUPPORT_DESK_SIGN_IN_KEY": None,
    # Seconds a console link from the dashboard opens its agent's console.
    "SUPPORT_DESK_CONSOLE_LINK_TTL": 3600,
    # Seconds an agent's SDK access token lasts (the console renews it on tokenExpired).
    "SUPPORT_DESK_AGENT_TOKEN_TTL": 3600,
    # Where the consoles' SDK connects, as its options {"ebServer", "wsServer"}: the local
    # sandbox's /v1/wschannels gateway (Sandbox.sdk_servers); None: Twilio's own servers.
    "SUPPORT_DESK_SDK_SERVERS": None,
    # The session cookie: signed with SECRET_KEY (random per run unless configured), out of
    # scripts' reach, and never sent with another site's requests.
    "SESSION_COOKIE_NAME": "support_desk_session",
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Strict",
}


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the support desk application.

    Settings come from :data:`DEFAULTS`, then ``FLASK_``-prefixed environment
    variables (``FLASK_TASKROUTER_AUTH_TOKEN``, ``FLASK_SUPPORT_DESK_AGENTS``,
    ...), then ``TWILIO_ACCOUNT_SID`` / ``TWILIO_AUTH_TOKEN`` for the
    TaskRouter credentials if those are not set otherwise, then ``config``.

    With ``SUPPORT_DESK_PROVISION`` on (the default) the workspace is
    provisioned now, which needs the credentials, ``TASKROUTER_BASE_URL`` (the
    sandbox's, or Twilio's by default) and a public URL for the callbacks
    (``TASKROUTER_PUBLIC_BASE_URL``).

    ``SECRET_KEY`` (the session's) and ``SUPPORT_DESK_SIGN_IN_KEY`` (the operator's) are
    random per application unless configured.

    :raises ValueError: for an unusable ``TASKROUTER_*`` or ``SUPPORT_DESK_*`` setting.
    :raises TaskRouterError: if provisioning fails.
    """
    app = Flask(__name__)
    app.config.from_mapping(DEFAULTS)
    app.config.from_prefixed_env()
    for ours, twilio in (
        ("TASKROUTER_ACCOUNT_SID", "TWILIO_ACCOUNT_SID"),
        ("TASKROUTER_AUTH_TOKEN", "TWILIO_AUTH_TOKEN"),
    ):
        if not app.config.get(ours) and os.environ.get(twilio):
            app.config[ours] = os.environ[twilio]
    app.config.update(config or {})
    access.configure(app)

    # The handlers were registered at import, on the module's extension (by queue name).
    tr.init_app(app)
    desk = Desk(tr=tr, state=DashboardState())
    app.extensions[EXTENSION_KEY] = desk
    app.extensions[HANDLERS_KEY] = desk.handlers
    app.register_blueprint(blueprint)
    app.register_blueprint(consoles.blueprint)
    app.register_error_handler(HTTPException, api_error)
    if app.config["SUPPORT_DESK_PROVISION"]:
        desk.provision(app)
    return app
