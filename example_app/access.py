"""Who may use the desk: the operator's signed session, and signed links to agents' consoles.

Two kinds of visitor, both carried by Flask's signed session cookie (HttpOnly,
``SameSite=Strict``, signed with ``SECRET_KEY``, which is random per run unless
configured):

* **The operator** signs in once with the desk's sign-in key: ``GET /?key=<key>``
  (the URL ``python -m example_app`` prints) marks the session as the operator's and
  redirects to the dashboard. The key is random per run unless
  ``SUPPORT_DESK_SIGN_IN_KEY`` is set, and stays valid for the run, like a Jupyter
  server's token link. The dashboard, its data and its controls need this session.
* **An agent** opens a console link, ``/agents/<worker SID>?t=<token>``: the token is
  an itsdangerous timestamped signature of that worker's SID, made with the app's
  ``SECRET_KEY`` and a salt of its own, and it expires after
  ``SUPPORT_DESK_CONSOLE_LINK_TTL`` seconds (an hour by default). Opening a good link
  binds the session to that worker; the console's SDK token is handed only to a
  session bound to the worker it is for.

Refusals say what is missing: a JSON ``{"error": {"code", "message"}}`` under
``/api/`` and for the console's own requests, an HTML page otherwise.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any, TypeVar, cast

from flask import Flask, Response, current_app, jsonify, session
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

__all__ = [
    "CONSOLE_SALT",
    "LinkRefused",
    "bind_console",
    "check_console_link",
    "configure",
    "console_bound",
    "console_token",
    "is_operator",
    "json_error",
    "operator_required",
    "sign_in",
    "sign_in_key",
]

_F = TypeVar("_F", bound=Callable[..., Any])

#: The salt of console links' signatures: a signature made for anything else does not fit.
CONSOLE_SALT = "support-desk.agent-console-link"
#: The session keys: the operator's flag, and the workers whose consoles this browser opened.
_OPERATOR = "operator"
_CONSOLES = "consoles"
#: At most this many consoles are remembered per session (the roster has at most 30).
_MAX_CONSOLES = 32


def json_error(status: int, code: str, message: str, field: str | None = None) -> Response:
    """A JSON error answer: ``{"error": {"code", "message", "field"?}}``."""
    error: dict[str, Any] = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    response = jsonify(error=error)
    response.status_code = status
    return response


def configure(app: Flask) -> None:
    """Give the app a secret key and a sign-in key (random per run unless configured)."""
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = secrets.token_hex(32)
    key = app.config.get("SUPPORT_DESK_SIGN_IN_KEY")
    if not key:
        app.config["SUPPORT_DESK_SIGN_IN_KEY"] = secrets.token_urlsafe(24)
    elif not isinstance(key, str) or len(key) < 16:
        raise ValueError("SUPPORT_DESK_SIGN_IN_KEY: expected a string of 16 characters or more")
    ttl = app.config.get("SUPPORT_DESK_CONSOLE_LINK_TTL")
    if isinstance(ttl, str) and ttl.isdigit():
        app.config["SUPPORT_DESK_CONSOLE_LINK_TTL"] = ttl = int(ttl)
    if isinstance(ttl, bool) or not isinstance(ttl, int) or ttl <= 0:
        raise ValueError(
            f"SUPPORT_DESK_CONSOLE_LINK_TTL: expected a positive number of seconds, got {ttl!r}"
        )


def sign_in_key(app: Flask | None = None) -> str:
    """The desk's sign-in key (``/?key=<this>`` signs the operator in)."""
    key = (app or current_app).config["SUPPORT_DESK_SIGN_IN_KEY"]
    assert isinstance(key, str)
    return key


# -- the operator -----------------------------------------------------------------------------


def sign_in(key: str) -> bool:
    """Mark the session as the operator's if ``key`` is the desk's sign-in key."""
    if not hmac.compare_digest(key.encode(), sign_in_key().encode()):
        return False
    session[_OPERATOR] = True
    return True


def is_operator() -> bool:
    """Whether the current request comes with the operator's session."""
    return session.get(_OPERATOR) is True


def operator_required(view: _F) -> _F:
    """A view that answers 401 JSON, naming what is missing, without the operator's session."""

    @wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if not is_operator():
            return json_error(
                401,
                "sign_in_required",
                "the dashboard's data and controls need the desk's signed session: open the"
                " sign-in link the desk printed when it started (/?key=...)",
            )
        return view(*args, **kwargs)

    return cast(_F, guarded)


# -- agents' consoles -----------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=CONSOLE_SALT)


def console_token(worker_sid: str) -> str:
    """The ``t`` of a console link for ``worker_sid``: a signed, timestamped token."""
    return _serializer().dumps({"worker": worker_sid})


@dataclass(frozen=True, slots=True)
class LinkRefused:
    """Why a console link was refused: a code and words for the person holding it."""

    code: str
    message: str


def check_console_link(worker_sid: str, token: str | None) -> LinkRefused | None:
    """``None`` if ``token`` is a current console link for ``worker_sid``, else why not."""
    if not token:
        return LinkRefused(
            "link_required",
            "this page needs a console link: ask the desk's operator for one"
            " (the dashboard lists a link per agent)",
        )
    max_age = current_app.config["SUPPORT_DESK_CONSOLE_LINK_TTL"]
    try:
        data = _serializer().loads(token, max_age=max_age)
    except SignatureExpired:
        return LinkRefused(
            "link_expired",
            f"this console link has expired (links last {_duration(max_age)}):"
            " ask the desk's operator for a new one",
        )
    except BadSignature:
        return LinkRefused(
            "link_invalid",
            "this console link is not valid (altered, or made by an earlier run of the desk)",
        )
    if not isinstance(data, dict) or data.get("worker") != worker_sid:
        return LinkRefused("link_invalid", "this console link is for another agent")
    return None


def bind_console(worker_sid: str) -> None:
    """Remember in the session that this browser opened ``worker_sid``'s console."""
    bound = [sid for sid in _bound() if sid != worker_sid]
    session[_CONSOLES] = [*bound, worker_sid][-_MAX_CONSOLES:]


def console_bound(worker_sid: str) -> bool:
    """Whether the session opened ``worker_sid``'s console with a good link."""
    return worker_sid in _bound()


def _bound() -> list[str]:
    value = session.get(_CONSOLES)
    return [sid for sid in value if isinstance(sid, str)] if isinstance(value, list) else []


def _duration(seconds: int) -> str:
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour" + ("s" if hours != 1 else "")
    if seconds % 60 == 0:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"
