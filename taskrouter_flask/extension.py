"""The Flask extension: two signed endpoints in front of the handler registry.

This is the only module of the package's core that touches Flask request and
response objects. It reads the raw body within a size limit, checks
``X-Twilio-Signature`` against the URL Twilio actually requested (which, behind
proxies, tunnels and sub-path mounts, is not the URL the application sees),
parses the payload into models and hands it to the :class:`Dispatcher`.

Every refusal is a small JSON body, ``{"error": {"code", "message", "field"?}}``,
produced by the views themselves rather than through ``abort()``, so an
application's own HTML error pages never answer Twilio.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote, unquote_to_bytes

from flask import Flask, Response, current_app, request, url_for
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Rule

from .cli import taskrouter_cli
from .client import TaskRouterClient
from .client.http import DEFAULT_BASE_URL
from .dedup import DEFAULT_TTL, DedupStore, DedupUnavailable, event_key, store_from_setting
from .dispatch import (
    ENDPOINTS,
    UNMATCHED_POLICIES,
    Dispatcher,
    Endpoint,
    ErrorHandler,
    Reply,
    UnmatchedPolicy,
    error_body,
)
from .errors import PayloadError
from .models import Assignment
from .schemas import FormFields, load_assignment, load_event, parse_form, parse_json_body
from .signature import SIGNATURE_HEADER, validate_signature

__all__ = ["DEFAULT_CONFIG", "TaskRouter", "TaskRouterSettings"]

log = logging.getLogger(__name__)

_F = TypeVar("_F", bound=Callable[..., Any])

#: Every configuration key the extension reads, with its default.
DEFAULT_CONFIG: Mapping[str, Any] = {
    "TASKROUTER_ACCOUNT_SID": None,
    "TASKROUTER_AUTH_TOKEN": None,
    "TASKROUTER_SECONDARY_AUTH_TOKEN": None,
    "TASKROUTER_WORKSPACE_SID": None,
    "TASKROUTER_API_KEY_SID": None,
    "TASKROUTER_API_KEY_SECRET": None,
    "TASKROUTER_URL_PREFIX": "/taskrouter",
    "TASKROUTER_VALIDATE_SIGNATURES": True,
    "TASKROUTER_PROXY_FIX": 0,
    "TASKROUTER_PUBLIC_BASE_URL": None,
    "TASKROUTER_MAX_BODY": 64 * 1024,
    "TASKROUTER_BASE_URL": DEFAULT_BASE_URL,
    "TASKROUTER_UNMATCHED_ASSIGNMENT": "pending",
    "TASKROUTER_DEDUP": "memory",
    "TASKROUTER_DEDUP_TTL": DEFAULT_TTL,
    "TASKROUTER_DEDUP_PREFIX": "taskrouter:",
    "TASKROUTER_DEDUP_FAIL_OPEN": True,
}

_EXTENSION_KEY = "taskrouter"
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
_PATH_SAFE = "/:@!$&'()*+,;=-._~"

VALIDATION_OFF_WARNING = (
    "TASKROUTER_VALIDATE_SIGNATURES is off: anyone who can reach %s can send forged"
    " TaskRouter callbacks to this application"
)


@dataclass(frozen=True, slots=True)
class TaskRouterSettings:
    """One application's configuration, read and checked once by :meth:`TaskRouter.init_app`."""

    auth_tokens: tuple[str, ...]
    url_prefix: str
    validate_signatures: bool
    trusted_proxies: int
    public_base_url: str | None
    max_body: int
    unmatched: UnmatchedPolicy
    dedup_fail_open: bool = True

    @classmethod
    def from_config(
        cls, config: Mapping[str, Any], *, url_prefix: str | None
    ) -> TaskRouterSettings:
        """Read and check the ``TASKROUTER_*`` keys.

        :raises ValueError: naming the key whose value is unusable.
        """
        tokens = tuple(
            token
            for token in (
                config.get("TASKROUTER_AUTH_TOKEN"),
                config.get("TASKROUTER_SECONDARY_AUTH_TOKEN"),
            )
            if token
        )
        for token in tokens:
            if not isinstance(token, str):
                raise ValueError("TASKROUTER_AUTH_TOKEN: expected a string")
        validate = bool(config.get("TASKROUTER_VALIDATE_SIGNATURES", True))
        if validate and not config.get("TASKROUTER_AUTH_TOKEN"):
            raise ValueError(
                "TASKROUTER_AUTH_TOKEN: required to check callback signatures; set it (or,"
                " for local experiments only, set TASKROUTER_VALIDATE_SIGNATURES = False)"
            )
        prefix = url_prefix if url_prefix is not None else config["TASKROUTER_URL_PREFIX"]
        if not isinstance(prefix, str) or (prefix and not prefix.startswith("/")):
            raise ValueError(
                f"TASKROUTER_URL_PREFIX: expected a path starting with '/', got {prefix!r}"
            )
        proxies = config.get("TASKROUTER_PROXY_FIX", 0)
        proxies = int(proxies) if isinstance(proxies, bool) else proxies
        if not isinstance(proxies, int) or proxies < 0:
            raise ValueError(
                "TASKROUTER_PROXY_FIX: expected the number of trusted proxies in front of"
                f" the application (0 for none), got {proxies!r}"
            )
        public = config.get("TASKROUTER_PUBLIC_BASE_URL")
        if public is not None and (
            not isinstance(public, str) or not public.startswith(("http://", "https://"))
        ):
            raise ValueError(
                "TASKROUTER_PUBLIC_BASE_URL: expected an absolute http(s) URL such as"
                f" 'https://example.com', got {public!r}"
            )
        max_body = config.get("TASKROUTER_MAX_BODY")
        if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body <= 0:
            raise ValueError(
                f"TASKROUTER_MAX_BODY: expected a positive number of bytes, got {max_body!r}"
            )
        unmatched = config.get("TASKROUTER_UNMATCHED_ASSIGNMENT")
        if unmatched not in UNMATCHED_POLICIES:
            raise ValueError(
                f"TASKROUTER_UNMATCHED_ASSIGNMENT: expected one of {UNMATCHED_POLICIES},"
                f" got {unmatched!r}"
            )
        return cls(
            auth_tokens=tokens,
            url_prefix=prefix.rstrip("/"),
            validate_signatures=validate,
            trusted_proxies=proxies,
            public_base_url=public.rstrip("/") if public else None,
            max_body=max_body,
            unmatched=unmatched,
            dedup_fail_open=bool(config.get("TASKROUTER_DEDUP_FAIL_OPEN", True)),
        )


@dataclass(slots=True)
class _AppState:
    """What ``app.extensions["taskrouter"]`` holds for one application."""

    extension: TaskRouter
    settings: TaskRouterSettings
    config: Mapping[str, Any]
    dedup: DedupStore | None = None
    client: TaskRouterClient | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def get_client(self) -> TaskRouterClient:
        """Build the application's REST client on first use, from its configuration."""
        with self.lock:
            if self.client is None:
                # An API key, when configured, is preferred to the account's own token.
                username = self.config.get("TASKROUTER_API_KEY_SID") or self.config.get(
                    "TASKROUTER_ACCOUNT_SID"
                )
                secret = self.config.get("TASKROUTER_API_KEY_SECRET") or self.config.get(
                    "TASKROUTER_AUTH_TOKEN"
                )
                if not username or not secret:
                    raise RuntimeError(
                        "tr.client needs TASKROUTER_ACCOUNT_SID and TASKROUTER_AUTH_TOKEN"
                        " (or TASKROUTER_API_KEY_SID and TASKROUTER_API_KEY_SECRET)"
                    )
                self.client = TaskRouterClient(
                    username,
                    secret,
                    self.config.get("TASKROUTER_WORKSPACE_SID"),
                    base_url=self.config.get("TASKROUTER_BASE_URL") or DEFAULT_BASE_URL,
                )
            return self.client


class TaskRouter:
    """Receive TaskRouter's assignment and event callbacks in a Flask application.

    One object may serve several applications (the app-factory pattern);
    handlers may be registered before or after :meth:`init_app`.

    :param app: the application to set up now, or ``None`` to call
        :meth:`init_app` later.
    :param url_prefix: where the two endpoints live, overriding
        ``TASKROUTER_URL_PREFIX`` (default ``/taskrouter``).
    """

    def __init__(self, app: Flask | None = None, *, url_prefix: str | None = None) -> None:
        self.dispatcher = Dispatcher()
        self._url_prefix = url_prefix
        if app is not None:
            self.init_app(app)

    # -- set-up -------------------------------------------------------------------

    def init_app(self, app: Flask) -> None:
        """Register the endpoints and read the configuration of ``app``.

        :raises RuntimeError: if ``app`` already has a TaskRouter.
        :raises ValueError: if a ``TASKROUTER_*`` setting is unusable.
        """
        if _EXTENSION_KEY in app.extensions:
            raise RuntimeError("this application already has a TaskRouter; init_app runs once")
        for key, value in DEFAULT_CONFIG.items():
            app.config.setdefault(key, value)
        settings = TaskRouterSettings.from_config(app.config, url_prefix=self._url_prefix)
        for name in ENDPOINTS:
            # A rule for every method (methods=None), so the view itself answers any
            # method but POST with a JSON 405, not the application's 405 page.
            endpoint = f"taskrouter.{name}"
            app.url_map.add(Rule(f"{settings.url_prefix}/{name}", endpoint=endpoint, methods=None))
            app.view_functions[endpoint] = (
                _assignment_view if name == "assignment" else _events_view
            )
        if taskrouter_cli.name not in app.cli.commands:
            app.cli.add_command(taskrouter_cli)
        dedup = store_from_setting(
            app.config["TASKROUTER_DEDUP"],
            ttl=app.config["TASKROUTER_DEDUP_TTL"],
            prefix=app.config["TASKROUTER_DEDUP_PREFIX"],
        )
        app.extensions[_EXTENSION_KEY] = _AppState(
            extension=self, settings=settings, config=app.config, dedup=dedup
        )
        if not settings.validate_signatures:
            log.warning(VALIDATION_OFF_WARNING, settings.url_prefix or "/")

    # -- registration -------------------------------------------------------------

    def assignment(
        self,
        *,
        queue: str | Iterable[str] | None = None,
        workflow: str | Iterable[str] | None = None,
        when: str | Callable[[Assignment], object] | None = None,
    ) -> Callable[[_F], _F]:
        """Register the decorated function as an assignment handler.

        The first handler (in registration order) whose matchers all accept
        the assignment answers it; one with no matcher is the fallback. The
        handler returns an instruction, a dict, or ``None`` to leave the
        reservation pending.

        :param queue: a TaskQueue SID (``WQ...``) or several.
        :param workflow: a Workflow SID (``WW...``) or several.
        :param when: a TaskRouter expression over the task's attributes (with
            ``task.`` and ``worker.`` names), compiled now; or a predicate
            taking the :class:`Assignment`.
        :raises ValueError: if ``queue`` or ``workflow`` is not a SID.
        :raises ExpressionError: if ``when`` is an expression that does not parse.
        """

        def register(handler: _F) -> _F:
            return self.dispatcher.add_assignment(
                handler, queue=queue, workflow=workflow, when=when
            )

        return register

    def event(self, *patterns: str) -> Callable[[_F], _F]:
        """Register the decorated function as a handler of matching event types.

        :param patterns: event types (``"task.created"``) or wildcards
            (``"reservation.*"``, ``"*"``); none means every event.
        :raises ValueError: if a pattern cannot match an event type.
        """

        def register(handler: _F) -> _F:
            return self.dispatcher.add_event(handler, patterns)

        return register

    def errorhandler(self, *endpoints: Endpoint) -> Callable[[_F], _F]:
        """Choose the answer when a handler raises.

        The function is called as ``fn(exc, payload)``. For ``"assignment"``
        it returns the answer (an instruction, a dict or ``None``); for
        ``"events"`` its result is ignored and the event is answered 204.

        :param endpoints: ``"assignment"``, ``"events"``, or none for both.
        """

        def register(handler: _F) -> _F:
            error_handler: ErrorHandler = handler
            for endpoint in endpoints or ENDPOINTS:
                self.dispatcher.set_error_handler(endpoint, error_handler)
            return handler

        return register

    # -- REST client ----------------------------------------------------------------

    @property
    def client(self) -> TaskRouterClient:
        """The current application's REST client, built on first use from its config.

        Uses ``TASKROUTER_ACCOUNT_SID``, ``TASKROUTER_AUTH_TOKEN``,
        ``TASKROUTER_WORKSPACE_SID`` and ``TASKROUTER_BASE_URL``; one client
        (one connection pool) per application.

        :raises RuntimeError: outside an application context, or without credentials.
        """
        return self.client_for(current_app._get_current_object())  # type: ignore[attr-defined]

    def client_for(self, app: Flask) -> TaskRouterClient:
        """The REST client of ``app`` (for use outside an application context)."""
        return _state(app).get_client()

    # -- URLs ---------------------------------------------------------------------

    def assignment_url(self, app: Flask | None = None) -> str:
        """The absolute URL to set as a workflow's ``AssignmentCallbackUrl``."""
        return self._external_url("assignment", app)

    def events_url(self, app: Flask | None = None) -> str:
        """The absolute URL to set as a workspace's ``EventCallbackUrl``."""
        return self._external_url("events", app)

    def _external_url(self, name: Endpoint, app: Flask | None) -> str:
        app = app or current_app._get_current_object()  # type: ignore[attr-defined]
        settings = _state(app).settings
        path = f"{settings.url_prefix}/{name}"
        if settings.public_base_url:
            return settings.public_base_url + path
        if request and current_app._get_current_object() is app:  # type: ignore[attr-defined]
            return url_for(f"taskrouter.{name}", _external=True)
        if not app.config.get("SERVER_NAME"):
            raise RuntimeError(
                "cannot tell this application's public URL outside a request: set"
                " TASKROUTER_PUBLIC_BASE_URL (e.g. 'https://example.com') or SERVER_NAME"
            )
        with app.app_context():
            return url_for(f"taskrouter.{name}", _external=True)


# -- views ----------------------------------------------------------------------------


def _assignment_view() -> Response:
    return _handle("assignment")


def _events_view() -> Response:
    return _handle("events")


def _handle(endpoint: Endpoint) -> Response:
    state = _state(current_app)
    try:
        return _respond(_process(endpoint, state))
    except Exception:
        log.exception("unexpected failure answering a TaskRouter %s callback", endpoint)
        return _respond(
            Reply(500, error_body("internal_error", "the callback could not be handled"))
        )


def _process(endpoint: Endpoint, state: _AppState) -> Reply:
    if request.method != "POST":
        return Reply(405, error_body("method_not_allowed", "use POST"))
    settings = state.settings
    environ = request.environ
    # Read from the environ directly: this runs on every callback, and the
    # request object's parsed properties cost more than the work they save.
    mimetype = environ.get("CONTENT_TYPE", "").partition(";")[0].strip().lower()
    if mimetype not in (_FORM, _JSON):
        return _refuse(
            415,
            "unsupported_media_type",
            f"expected {_FORM} or {_JSON}, got {mimetype[:100] or 'none'}",
        )
    body = _read_body(environ, settings.max_body)
    if isinstance(body, Reply):
        return body
    if settings.validate_signatures and SIGNATURE_HEADER not in request.headers:
        log.warning(
            "refused a TaskRouter callback to %s: no %s header", request.url, SIGNATURE_HEADER
        )
        return _forbidden()

    try:
        fields = parse_form(body) if mimetype == _FORM else parse_json_body(body)
    except PayloadError as exc:
        return _refuse(400, "invalid_payload", exc.message, exc.field)
    if settings.validate_signatures and not _signature_ok(settings, fields, body, mimetype):
        return _forbidden()

    dispatcher = state.extension.dispatcher
    try:
        if endpoint == "assignment":
            assignment = load_assignment(fields)
            return _once(
                state,
                f"assignment:{assignment.reservation_sid}",
                lambda: dispatcher.dispatch_assignment(assignment, unmatched=settings.unmatched),
                replay=True,
            )
        event = load_event(fields)
        return _once(state, event_key(fields), lambda: dispatcher.dispatch_event(event))
    except PayloadError as exc:
        return _refuse(400, "invalid_payload", exc.message, exc.field)


def _once(
    state: _AppState, key: str, dispatch: Callable[[], Reply], *, replay: bool = False
) -> Reply:
    """Dispatch a callback once per key; with ``replay``, repeat the first answer to a repeat.

    A failed dispatch (5xx) releases its claim, so a redelivery is dispatched again. If
    the store is unreachable, the configured policy applies: dispatch anyway (open,
    the default: a duplicate is better than a lost callback) or answer 503 (closed).
    """
    store = state.dedup
    if store is None:
        return dispatch()
    try:
        if replay:
            remembered = store.recall(key + ":answer")
            if remembered is not None:
                return _replayed(remembered)
        if not store.claim(key):
            log.info("callback %s was delivered again; not dispatched twice", key)
            if replay:
                return _wait_for_answer(store, key)
            return Reply(204)
    except DedupUnavailable as exc:
        if not state.settings.dedup_fail_open:
            log.error("refused callback %s: %s (TASKROUTER_DEDUP_FAIL_OPEN is off)", key, exc)
            return _refuse(503, "dedup_unavailable", "duplicate detection is unavailable; retry")
        log.error("dispatching callback %s without duplicate detection: %s", key, exc)
        return dispatch()
    reply = dispatch()
    try:
        if reply.status >= 500:
            store.release(key)
        elif replay:
            store.remember(key + ":answer", _serialize(reply))
    except DedupUnavailable as exc:
        log.error("could not record the outcome of callback %s: %s", key, exc)
    return reply


def _serialize(reply: Reply) -> bytes:
    return b"" if reply.body is None else json.dumps(reply.body, separators=(",", ":")).encode()


def _replayed(remembered: bytes) -> Reply:
    return Reply(200, json.loads(remembered) if remembered else None)


def _wait_for_answer(store: DedupStore, key: str, *, timeout: float = 3.0) -> Reply:
    """A repeat arrived while the first delivery is still being answered: give its answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        remembered = store.recall(key + ":answer")
        if remembered is not None:
            return _replayed(remembered)
        time.sleep(0.02)
    return Reply(200)


def _read_body(environ: Mapping[str, Any], limit: int) -> bytes | Reply:
    """Read at most ``limit`` bytes of body, or answer 413 (or 400 for an unreadable body)."""
    declared = environ.get("CONTENT_LENGTH")
    try:
        if declared:
            length = int(declared)
            if length < 0:
                raise ValueError(declared)
            if length > limit:
                return _too_large(limit)
            # Exactly the declared length: never reads past this request.
            body: bytes = environ["wsgi.input"].read(length)
        else:
            body = request.stream.read(limit + 1)
    except ValueError:
        return _refuse(400, "bad_request", "the Content-Length header is not a number")
    except HTTPException as exc:
        return _refuse(exc.code or 400, "bad_request", exc.description or "unreadable body")
    except OSError:
        return _refuse(400, "bad_request", "the body could not be read")
    if len(body) > limit:
        return _too_large(limit)
    # Put the body back, so a handler may still read request.form or get_data().
    environ["wsgi.input"] = io.BytesIO(body)  # type: ignore[index]
    return body


def _refuse(status: int, code: str, message: str, field: str | None = None) -> Reply:
    return Reply(status, error_body(code, message, field))


def _forbidden() -> Reply:
    return _refuse(403, "invalid_signature", "the X-Twilio-Signature header is missing or wrong")


def _too_large(limit: int) -> Reply:
    return _refuse(413, "payload_too_large", f"expected a body of at most {limit} bytes")


def _respond(reply: Reply) -> Response:
    response = current_app.response_class(_serialize(reply), reply.status, mimetype=_JSON)
    if reply.status == 405:
        response.headers["Allow"] = "POST"
    return response


def _state(app: Flask) -> _AppState:
    try:
        state = app.extensions[_EXTENSION_KEY]
    except KeyError:
        raise RuntimeError(
            "TaskRouter is not set up on this application: call TaskRouter(app) or init_app(app)"
        ) from None
    assert isinstance(state, _AppState)
    return state


# -- signatures -----------------------------------------------------------------------


def _signature_ok(
    settings: TaskRouterSettings, fields: FormFields | dict[str, Any], body: bytes, mimetype: str
) -> bool:
    signature = request.headers[SIGNATURE_HEADER]
    content: FormFields | bytes = fields if mimetype == _FORM else body
    url = _signed_url(request.environ, settings)
    if validate_signature(url, content, signature, settings.auth_tokens):
        return True
    _explain_signature_failure(url, content, signature, settings)
    return False


def _explain_signature_failure(
    url: str, content: FormFields | bytes, signature: str, settings: TaskRouterSettings
) -> None:
    """Log why a signature failed, without the token: the most common support question."""
    tried = [url]
    hint = "the auth token may differ from the one Twilio signs with, or the request was altered"
    for label, candidate in _url_alternatives(url, request.environ, settings):
        if candidate in tried:
            continue
        if validate_signature(candidate, content, signature, settings.auth_tokens):
            hint = f"it would have matched {candidate} ({label})"
            break
        tried.append(candidate)
    if isinstance(content, bytes) and "bodySHA256=" not in url:
        hint = "a JSON callback must carry bodySHA256 in its URL"
    log.warning(
        "refused a TaskRouter callback: bad %s for %s; %s. Tried %s (each with and without the"
        " default port). Behind a proxy or tunnel, set TASKROUTER_PUBLIC_BASE_URL or"
        " TASKROUTER_PROXY_FIX.",
        SIGNATURE_HEADER,
        url,
        hint,
        ", ".join(tried),
    )


def _url_alternatives(
    url: str, environ: Mapping[str, Any], settings: TaskRouterSettings
) -> Iterable[tuple[str, str]]:
    scheme, _, rest = url.partition("://")
    other = "http" if scheme == "https" else "https"
    yield f"the scheme {other}", f"{other}://{rest}"
    path, question, query = url.partition("?")
    toggled = path[:-1] if path.endswith("/") else path + "/"
    yield "a different trailing slash", toggled + question + query
    for header in ("HTTP_X_FORWARDED_HOST", "HTTP_HOST"):
        host = environ.get(header, "").split(",")[-1].strip()
        if host:
            authority_end = rest.find("/")
            yield (
                f"the host from {header[5:].replace('_', '-').title()}",
                (f"{scheme}://{host}{rest[authority_end:] if authority_end != -1 else ''}"),
            )
    if settings.public_base_url or settings.trusted_proxies:
        plain = _signed_url(environ, settings, trust=False)
        yield "the URL the application itself saw", plain


def _signed_url(
    environ: Mapping[str, Any], settings: TaskRouterSettings, *, trust: bool = True
) -> str:
    """Rebuild the URL Twilio requested: scheme, host, raw path and raw query string."""
    script = environ.get("SCRIPT_NAME", "")
    path = _path_as_sent(script + environ.get("PATH_INFO", ""), environ)
    query = environ.get("QUERY_STRING", "")
    suffix = "?" + query if query else ""
    if trust and settings.public_base_url:
        quoted_script = quote(script.encode("latin-1"), safe=_PATH_SAFE)
        if quoted_script and path.startswith(quoted_script):
            path = path[len(quoted_script) :]
        return settings.public_base_url + path + suffix
    scheme = environ.get("wsgi.url_scheme", "http")
    host = environ.get("HTTP_HOST") or _server_host(environ, scheme)
    hops = settings.trusted_proxies if trust else 0
    if hops:
        scheme = _forwarded(environ, "HTTP_X_FORWARDED_PROTO", hops) or scheme
        host = _forwarded(environ, "HTTP_X_FORWARDED_HOST", hops) or host
        port = _forwarded(environ, "HTTP_X_FORWARDED_PORT", hops)
        if port:
            host = _replace_port(host, port)
        prefix = _forwarded(environ, "HTTP_X_FORWARDED_PREFIX", hops)
        if prefix:
            path = "/" + prefix.strip("/") + path
    return f"{scheme}://{host}{path}{suffix}"


def _path_as_sent(decoded: str, environ: Mapping[str, Any]) -> str:
    """Prefer the raw request path (percent-encoding as Twilio sent it) when the server kept it."""
    raw = environ.get("REQUEST_URI") or environ.get("RAW_URI")
    if raw:
        raw_path = raw.partition("?")[0]
        if "://" in raw_path:  # absolute-form request target
            raw_path = "/" + raw_path.partition("://")[2].partition("/")[2]
        if unquote_to_bytes(raw_path) == decoded.encode("latin-1"):
            return str(raw_path)
    return quote(decoded.encode("latin-1"), safe=_PATH_SAFE)


def _forwarded(environ: Mapping[str, Any], header: str, hops: int) -> str | None:
    values = [v.strip() for v in environ.get(header, "").split(",") if v.strip()]
    return values[-hops] if len(values) >= hops else None


def _server_host(environ: Mapping[str, Any], scheme: str) -> str:
    name = environ.get("SERVER_NAME", "localhost")
    port = environ.get("SERVER_PORT", "")
    default = "443" if scheme == "https" else "80"
    return name if not port or port == default else f"{name}:{port}"


def _replace_port(host: str, port: str) -> str:
    bracket = host.rfind("]")
    colon = host.rfind(":")
    if colon > bracket:
        host = host[:colon]
    return f"{host}:{port}"
