"""The agent console: one agent worked by a person, in the browser, through Twilio's SDK.

Routes (blueprint ``consoles``):

* ``GET /agents/<worker SID>?t=<link token>`` — the console page. A good link
  (see :mod:`.access`) binds the browser's session to that agent; the page then
  drops ``t`` from the address bar, and a reload works from the session.
* ``POST /agents/<worker SID>/token`` — an SDK access token for that agent, only to
  a session bound to it. Handing out the token is also when the person takes the
  agent over: from then on the simulation leaves the agent alone and the desk's
  assignment handlers leave its reservations pending, for the browser to accept or
  reject.
* ``POST /agents/<worker SID>/release`` — the console hands the agent back to the
  simulation (its "Hand back" button, or the page closing).

The page's script (``static/console.js``) uses the SDK bundled by
:mod:`.agent_bundle`. On the local sandbox the SDK is pointed at the sandbox's
gateway (``SUPPORT_DESK_SDK_SERVERS``, set by the runner); otherwise it talks to
Twilio's own servers.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    jsonify,
    make_response,
    render_template,
    request,
)

from taskrouter_flask.errors import TaskRouterError

from .access import bind_console, check_console_link, console_bound, json_error
from .agent_bundle import BUNDLE, HOW_TO_BUNDLE
from .desk import NoAgentTokens, NotProvisioned, current_desk

__all__ = ["blueprint", "sdk_options"]

log = logging.getLogger(__name__)

blueprint = Blueprint("consoles", __name__)

_WORKER_SID = re.compile(r"WK[0-9a-fA-F]{32}")
_SERVER_OPTIONS = ("ebServer", "wsServer")


def sdk_options(servers: Mapping[str, Any] | None) -> dict[str, str]:
    """The SDK's ``ebServer`` / ``wsServer`` options from ``SUPPORT_DESK_SDK_SERVERS``.

    ``None`` or empty: no options, so the SDK uses Twilio's own servers.

    :raises ValueError: for a setting that is not those two URLs.
    """
    if not servers:
        return {}
    options = {key: servers.get(key) for key in _SERVER_OPTIONS}
    if set(servers) != set(_SERVER_OPTIONS) or not all(
        isinstance(url, str) and url for url in options.values()
    ):
        raise ValueError(
            "SUPPORT_DESK_SDK_SERVERS: expected {'ebServer': URL, 'wsServer': URL},"
            f" got {servers!r}"
        )
    return {key: str(url) for key, url in options.items()}


def _page(template: str, status: int, **context: object) -> Response:
    response = make_response(render_template(template, **context), status)
    # The console's URL carries its link token: no cache keeps it, no Referer sends it on.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _refused(status: int, title: str, message: str) -> Response:
    return _page("refused.html", status, title=title, message=message)


@blueprint.get("/agents/<worker_sid>")
def console(worker_sid: str) -> Response:
    """The console page for one agent, opened with a signed link (or a session it bound)."""
    token = request.args.get("t")
    if token is not None or not console_bound(worker_sid):
        refused = check_console_link(worker_sid, token)
        if refused is not None:
            return _refused(403, "This console link does not open", refused.message)
    desk = current_desk()
    name = desk.worker_name(worker_sid) if _WORKER_SID.fullmatch(worker_sid) else None
    if name is None:
        return _refused(404, "No such agent", f"The desk has no agent {worker_sid[:40]!r}.")
    bind_console(worker_sid)
    return _page(
        "console.html",
        200,
        worker_sid=worker_sid,
        name=name,
        bundle=BUNDLE.is_file(),
        how_to_bundle=HOW_TO_BUNDLE,
    )


def _bound_json(worker_sid: str) -> Response | None:
    """The refusal for a console request whose session did not open this agent's console."""
    if not console_bound(worker_sid):
        return json_error(
            403,
            "console_not_open",
            f"this browser has not opened a console link for {worker_sid[:40]}:"
            " open the link from the dashboard first",
        )
    if request.mimetype != "application/json":
        return json_error(
            415, "unsupported_media_type", "send a JSON object with Content-Type: application/json"
        )
    return None


@blueprint.post("/agents/<worker_sid>/token")
def token(worker_sid: str) -> Response:
    """An SDK access token for the agent whose console this session opened; takes them over."""
    refused = _bound_json(worker_sid)
    if refused is not None:
        return refused
    desk = current_desk()
    ttl = current_app.config["SUPPORT_DESK_AGENT_TOKEN_TTL"]
    try:
        minted = desk.worker_token(current_app, worker_sid, ttl=ttl)
    except KeyError:
        return json_error(404, "not_found", f"no agent {worker_sid[:40]!r} at this desk")
    except NotProvisioned:
        return json_error(503, "not_provisioned", "the desk has no TaskRouter workspace yet")
    except (NoAgentTokens, TaskRouterError) as exc:
        log.warning("no SDK token for %s: %s", worker_sid, exc)
        return json_error(503, "agent_tokens_unavailable", str(exc))
    desk.take_over(worker_sid)
    response = jsonify(
        token=minted,
        ttl=ttl,
        worker={"sid": worker_sid, "name": desk.worker_name(worker_sid)},
        sdk=sdk_options(current_app.config.get("SUPPORT_DESK_SDK_SERVERS")),
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.post("/agents/<worker_sid>/release")
def release(worker_sid: str) -> Response:
    """The console lets its agent go: the simulation works them again."""
    refused = _bound_json(worker_sid)
    if refused is not None:
        return refused
    current_desk().hand_back(worker_sid)
    return jsonify(worker=worker_sid, at_console=False)
