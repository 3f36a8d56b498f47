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

import inspect
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload
from urllib.parse import quote, unquote_to_bytes

from flask import (
    Flask,
    Response,
    current_app,
    has_app_context,
    has_request_context,
    request,
    url_for,
)
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
from .errors import NameResolutionError, PayloadError
from .models import Assignment
from .names import NameCache
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
#: The settings :attr:`TaskRouter.client` is built from.
_CLIENT_KEYS = (
    "TASKROUTER_ACCOUNT_SID",
    "TASKROUTER_AUTH_TOKEN",
    "TASKROUTER_API_KEY_SID",
    "TASKROUTER_API_KEY_SECRET",
    "TASKROUTER_WORKSPACE_SID",
    "TASKROUTER_BASE_URL",
)
#: The settings the callback URLs are built from.
_URL_KEYS = ("TASKROUTER_PUBLIC_BASE_URL", "TASKROUTER_URL_PREFIX")
_FORM = "application/x-www-form-urlencoded"
_JSON = "application/json"
_PATH_SAFE = "/:@!$&'()*+,;=-._~"

VALIDATION_OFF_WARNING = (
    "TASKROUTER_VALIDATE_SIGNATURES is off: anyone who can reach %s can send forged"
    " TaskRouter callbacks to this application"
)


@dataclass(frozen=True, slots=True)
class TaskRouterSettings:
    """One application's configuration, read and checked once by :meth:`TaskRouter.init_app`.

    Changing ``app.config`` afterwards changes nothing: set every ``TASKROUTER_*``
    key before ``TaskRouter(app)`` / ``init_app(app)``. The REST client's
    credentials, workspace and base URL are read here too.
    """

    auth_tokens: tuple[str, ...] = field(repr=False)
    url_prefix: str
    validate_signatures: bool
    trusted_proxies: int
    public_base_url: str | None
    max_body: int
    unmatched: UnmatchedPolicy
    dedup_fail_open: bool = True
    #: ``(username, secret)`` for :attr:`TaskRouter.client`: the API key when one is
    #: set, else the account SID and auth token; ``None`` without credentials.
    client_credentials: tuple[str, str] | None = field(default=None, repr=False)
    workspace_sid: str | None = None
    base_url: str = DEFAULT_BASE_URL

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
            client_credentials=_client_credentials(config),
            workspace_sid=_optional_text(config, "TASKROUTER_WORKSPACE_SID"),
            base_url=_base_url(config),
        )


def _optional_text(config: Mapping[str, Any], key: str) -> str | None:
    value = config.get(key)
    if value is not None and not isinstance(value, str):
        raise ValueError(f"{key}: expected a string, got {type(value).__name__}")
    return value or None


def _client_credentials(config: Mapping[str, Any]) -> tuple[str, str] | None:
    """The REST client's username and secret; an API key is preferred to the account's token."""
    account = _optional_text(config, "TASKROUTER_ACCOUNT_SID")
    token = _optional_text(config, "TASKROUTER_AUTH_TOKEN")
    key_sid = _optional_text(config, "TASKROUTER_API_KEY_SID")
    key_secret = _optional_text(config, "TASKROUTER_API_KEY_SECRET")
    username = key_sid or account
    secret = key_secret or token
    return (username, secret) if username and secret else None


def _base_url(config: Mapping[str, Any]) -> str:
    base = config.get("TASKROUTER_BASE_URL") or DEFAULT_BASE_URL
    if not isinstance(base, str) or not base.startswith(("http://", "https://")):
        raise ValueError(
            "TASKROUTER_BASE_URL: expected an absolute http(s) URL such as"
            f" 'https://taskrouter.twilio.com', got {base!r}"
        )
    return base


@dataclass(slots=True)
class _AppState:
    """What ``app.extensions["taskrouter"]`` holds for one application."""

    extension: TaskRouter
    settings: TaskRouterSettings
    config: Mapping[str, Any]
    dedup: DedupStore | None = None
    client: TaskRouterClient | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    #: The ``TASKROUTER_*`` keys as ``init_app`` read them, to tell a later change.
    config_at_init: Mapping[str, Any] = field(default_factory=dict)
    #: Resolves the friendly names in ``queue=`` / ``workflow=`` matchers, lazily.
    names: NameCache = field(init=False)

    def __post_init__(self) -> None:
        self.names = NameCache(lambda workspace_sid: self.get_client().for_workspace(workspace_sid))

    def get_client(self) -> TaskRouterClient:
        """Build the application's REST client on first use, from the settings init_app read."""
        with self.lock:
            if self.client is None:
                self.refuse_changes_since_init(_CLIENT_KEYS, "tr.client")
                settings = self.settings
                if settings.client_credentials is None:
                    raise RuntimeError(
                        "tr.client needs TASKROUTER_ACCOUNT_SID and TASKROUTER_AUTH_TOKEN"
                        " (or TASKROUTER_API_KEY_SID and TASKROUTER_API_KEY_SECRET), set"
                        " before TaskRouter(app) / init_app(app)"
                    )
                username, secret = settings.client_credentials
                self.client = TaskRouterClient(
                    username, secret, settings.workspace_sid, base_url=settings.base_url
                )
            return self.client

    def refuse_changes_since_init(self, keys: Iterable[str], what: str) -> None:
        """Fail loudly if a setting ``what`` depends on was changed after ``init_app`` read it.

        :raises RuntimeError: naming the keys, rather than silently using the old values.
        """
        changed = [key for key in keys if self.config.get(key) != self.config_at_init.get(key)]
        if changed:
            raise RuntimeError(
                f"{', '.join(changed)} changed after init_app(): {what} uses the settings read"
                " when TaskRouter(app) / init_app(app) ran; set them before that"
            )


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
            extension=self,
            settings=settings,
            config=app.config,
            dedup=dedup,
            config_at_init={key: app.config.get(key) for key in DEFAULT_CONFIG},
        )
        if not settings.validate_signatures:
            log.warning(VALIDATION_OFF_WARNING, settings.url_prefix or "/")

    # -- registration -------------------------------------------------------------

    @overload
    def assignment(self, handler: _F, /) -> _F: ...

    @overload
    def assignment(
        self,
        handler: None = None,
        /,
        *,
        queue: str | Iterable[str] | None = None,
        workflow: str | Iterable[str] | None = None,
        when: str | Callable[[Assignment], object] | None = None,
    ) -> Callable[[_F], _F]: ...

    def assignment(
        self,
        handler: _F | None = None,
        /,
        *,
        queue: str | Iterable[str] | None = None,
        workflow: str | Iterable[str] | None = None,
        when: str | Callable[[Assignment], object] | None = None,
    ) -> _F | Callable[[_F], _F]:
        """Register the decorated function as an assignment handler.

        Use it bare (``@tr.assignment``, the fallback) or called
        (``@tr.assignment()``, ``@tr.assignment(queue=...)``); imperatively,
        ``tr.assignment(fn)`` or ``tr.assignment(queue=...)(fn)``. The handler
        is called with the :class:`Assignment`.

        The first handler (in registration order) whose matchers all accept
        the assignment answers it; one with no matcher is the fallback. The
        handler returns an instruction, a dict, or ``None`` to leave the
        reservation pending.

        A queue or workflow is given by SID or by friendly name. A SID
        (``WQ``/``WW`` and 32 hex digits) is compared as it is. A name is
        resolved when a callback first needs it, never here, so handlers can
        be registered at import, before the queues exist: the application's
        REST client (:attr:`client`) lists the task queues or workflows of
        the callback's workspace, and the listing is kept. It is made again
        when a callback carries a SID it lacks (a queue created or renamed
        since), while a name is unknown, and after five minutes, but at most
        once every five seconds per workspace and kind
        (:data:`taskrouter_flask.names.MIN_REFRESH_INTERVAL`). A name that
        no queue has, even after listing again, matches nothing: the handler
        is passed over and a WARNING naming the name and the workspace is
        logged once. If the workspace cannot be listed at all, the callback
        is answered as if the handler had raised (by default a 500, so Twilio
        tries the fallback URL). Call :meth:`check_names` at start-up to fail
        fast on a typo.

        :param queue: a TaskQueue SID (``WQ...``) or friendly name, or several.
        :param workflow: a Workflow SID (``WW...``) or friendly name, or several.
        :param when: a TaskRouter expression over the task's attributes (with
            ``task.`` and ``worker.`` names), compiled now; or a predicate
            taking the :class:`Assignment`.
        :raises ValueError: if ``queue`` or ``workflow`` is empty, not a
            string, a malformed SID or another resource's SID.
        :raises ExpressionError: if ``when`` is an expression that does not parse.
        :raises TypeError: if something other than a function taking one
            argument is decorated, or a matcher is passed positionally.
        """
        if handler is not None and not callable(handler):
            raise TypeError(
                "@tr.assignment: expected to decorate a function, bare (@tr.assignment) or"
                " with keyword matchers (@tr.assignment(queue=..., workflow=..., when=...)),"
                f" got {_describe(handler)} as a positional argument"
            )

        def register(function: _F) -> _F:
            _check_handler("@tr.assignment", function, "the Assignment")
            return self.dispatcher.add_assignment(
                function, queue=queue, workflow=workflow, when=when
            )

        return register if handler is None else register(handler)

    @overload
    def event(self, handler: _F, /) -> _F: ...

    @overload
    def event(self, *patterns: str) -> Callable[[_F], _F]: ...

    def event(self, *patterns: Any) -> Any:
        """Register the decorated function as a handler of matching event types.

        Use it bare (``@tr.event``, every event) or called (``@tr.event()``,
        ``@tr.event("task.created", "reservation.*")``); imperatively,
        ``tr.event(fn)`` or ``tr.event("task.created")(fn)``. The handler is
        called with the :class:`~taskrouter_flask.models.Event`.

        :param patterns: event types (``"task.created"``) or wildcards
            (``"reservation.*"``, ``"*"``); none means every event.
        :raises ValueError: if a pattern cannot match an event type.
        :raises TypeError: if a pattern is not a string, or something other
            than a function taking one argument is decorated.
        """
        bare = _bare_handler(patterns)
        if bare is not None:
            return self.event()(bare)
        _require_strings(
            "@tr.event",
            patterns,
            "event types such as 'task.created' or wildcards such as 'reservation.*'",
            "@tr.event or @tr.event('task.created', ...)",
        )
        checked: tuple[str, ...] = patterns

        def register(handler: _F) -> _F:
            _check_handler("@tr.event", handler, "the Event")
            return self.dispatcher.add_event(handler, checked)

        return register

    @overload
    def errorhandler(self, handler: _F, /) -> _F: ...

    @overload
    def errorhandler(self, *endpoints: Endpoint) -> Callable[[_F], _F]: ...

    def errorhandler(self, *endpoints: Any) -> Any:
        """Choose the answer when a handler raises.

        The function is called as ``fn(exc, payload)``. For ``"assignment"``
        it returns the answer (an instruction, a dict or ``None``); for
        ``"events"`` its result is ignored and the event is answered 204.
        Use it bare (``@tr.errorhandler``, both endpoints) or called
        (``@tr.errorhandler()``, ``@tr.errorhandler("assignment")``).

        :param endpoints: ``"assignment"``, ``"events"``, or none for both.
        :raises ValueError: if an endpoint is neither ``"assignment"`` nor ``"events"``.
        :raises TypeError: if an endpoint is not a string, or something other
            than a function taking two arguments is decorated.
        """
        bare = _bare_handler(endpoints)
        if bare is not None:
            return self.errorhandler()(bare)
        _require_strings(
            "@tr.errorhandler",
            endpoints,
            "'assignment' or 'events'",
            "@tr.errorhandler or @tr.errorhandler('assignment')",
        )
        for endpoint in endpoints:
            if endpoint not in ENDPOINTS:
                raise ValueError(
                    f"@tr.errorhandler: expected 'assignment' or 'events' (or nothing, for"
                    f" both), got {endpoint!r}"
                )
        chosen: tuple[Endpoint, ...] = endpoints or ENDPOINTS

        def register(handler: _F) -> _F:
            _check_handler("@tr.errorhandler", handler, "the exception and the payload", 2)
            error_handler: ErrorHandler = handler
            for endpoint in chosen:
                self.dispatcher.set_error_handler(endpoint, error_handler)
            return handler

        return register

    # -- REST client ----------------------------------------------------------------

    @property
    def client(self) -> TaskRouterClient:
        """The current application's REST client, built on first use from its settings.

        Uses ``TASKROUTER_ACCOUNT_SID`` and ``TASKROUTER_AUTH_TOKEN`` (or
        ``TASKROUTER_API_KEY_SID`` and ``TASKROUTER_API_KEY_SECRET``),
        ``TASKROUTER_WORKSPACE_SID`` and ``TASKROUTER_BASE_URL``, as
        :meth:`init_app` read them; one client (one connection pool) per
        application.

        :raises RuntimeError: outside an application context, without
            credentials, or if one of those keys was changed after ``init_app``.
        """
        return self.client_for(current_app._get_current_object())  # type: ignore[attr-defined]

    def client_for(self, app: Flask) -> TaskRouterClient:
        """The REST client of ``app`` (for use outside an application context)."""
        return _state(app).get_client()

    def check_names(
        self, app: Flask | None = None, *, workspace_sid: str | None = None
    ) -> dict[str, dict[str, frozenset[str]]]:
        """Resolve every queue and workflow name the assignment handlers use, now.

        Call it at start-up, once the workspace is provisioned, to fail fast
        on a name no queue or workflow has; it also fills the cache, so the
        first callback does not wait for a listing.

        :param app: the application (default: the current one).
        :param workspace_sid: where to look (default: ``TASKROUTER_WORKSPACE_SID``).
        :returns: ``{"queue": {name: SIDs}, "workflow": {name: SIDs}}``.
        :raises NameResolutionError: naming every unknown name and the
            workspace, or if the workspace cannot be listed.
        """
        app = app or current_app._get_current_object()  # type: ignore[attr-defined]
        state = _state(app)
        workspace = workspace_sid or state.settings.workspace_sid
        if not workspace:
            raise NameResolutionError(
                "check_names needs a workspace: set TASKROUTER_WORKSPACE_SID or pass workspace_sid="
            )
        resolved = self.dispatcher.check_names(state.names, workspace)
        return {kind: dict(names) for kind, names in resolved.items()}

    # -- URLs ---------------------------------------------------------------------

    def assignment_url(self, app: Flask | None = None) -> str:
        """The absolute URL to set as a workflow's ``AssignmentCallbackUrl``.

        Works anywhere, also outside a request (in an app factory, a CLI
        command, a provisioning script), from the first of:

        1. ``TASKROUTER_PUBLIC_BASE_URL`` plus the URL prefix. Under werkzeug's
           ``DispatcherMiddleware`` the public base URL must include the mount
           path (``https://example.com/support`` for an app mounted at
           ``/support``), exactly as for signature checks.
        2. Inside a request to ``app``: the URL of that request's host.
        3. Flask's ``SERVER_NAME`` (with ``APPLICATION_ROOT`` and
           ``PREFERRED_URL_SCHEME``).

        :param app: the application whose URL is wanted; by default the
            current one (then an application context is needed). One
            :class:`TaskRouter` may serve several applications, each with
            its own URL.
        :raises RuntimeError: outside a request when neither
            ``TASKROUTER_PUBLIC_BASE_URL`` (set before ``init_app``) nor
            ``SERVER_NAME`` is set, with no application, or if
            ``TASKROUTER_PUBLIC_BASE_URL`` was changed after ``init_app``.
        """
        return self._external_url("assignment", app)

    def events_url(self, app: Flask | None = None) -> str:
        """The absolute URL to set as a workspace's ``EventCallbackUrl``.

        Built as :meth:`assignment_url` builds its URL: ``TASKROUTER_PUBLIC_BASE_URL``
        (which, under ``DispatcherMiddleware``, must include the mount path),
        else the current request's host, else ``SERVER_NAME``.

        :param app: the application whose URL is wanted; by default the current one.
        :raises RuntimeError: as :meth:`assignment_url` does.
        """
        return self._external_url("events", app)

    def _external_url(self, name: Endpoint, app: Flask | None) -> str:
        method = f"tr.{name}_url()"
        if app is None:
            if not has_app_context():
                raise RuntimeError(
                    f"{method} outside an application context: pass the application,"
                    f" tr.{name}_url(app)"
                )
            app = current_app._get_current_object()  # type: ignore[attr-defined]
        state = _state(app)
        state.refuse_changes_since_init(_URL_KEYS, method)
        settings = state.settings
        path = f"{settings.url_prefix}/{name}"
        if settings.public_base_url:
            return settings.public_base_url + path
        if has_request_context() and current_app._get_current_object() is app:  # type: ignore[attr-defined]
            return url_for(f"taskrouter.{name}", _external=True)
        if not app.config.get("SERVER_NAME"):
            raise RuntimeError(
                f"{method} cannot tell this application's public URL outside a request: set"
                " TASKROUTER_PUBLIC_BASE_URL (the public URL of the application's root, e.g."
                " 'https://example.com') before TaskRouter(app) / init_app(app), or set"
                " Flask's SERVER_NAME"
            )
        with app.app_context():
            return url_for(f"taskrouter.{name}", _external=True)


def _bare_handler(arguments: tuple[Any, ...]) -> Any:
    """The function a decorator was applied to bare (``@tr.event``), or None if it was called."""
    if len(arguments) == 1 and callable(arguments[0]) and not isinstance(arguments[0], str):
        return arguments[0]
    return None


def _require_strings(decorator: str, values: Iterable[object], expected: str, usage: str) -> None:
    for value in values:
        if not isinstance(value, str):
            raise TypeError(
                f"{decorator}: expected {expected}, got {_describe(value)}; decorate the handler"
                f" with {usage}"
            )


def _describe(value: object) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _check_handler(decorator: str, handler: object, takes: str, count: int = 1) -> None:
    """Refuse, at registration, what could not be called with ``count`` arguments.

    :raises TypeError: naming the decorator and what was expected.
    """
    if not callable(handler):
        raise TypeError(f"{decorator}: expected a function to register, got {_describe(handler)}")
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):  # some builtins have no signature: trust them
        return
    try:
        signature.bind(*([None] * count))
    except TypeError:
        name = getattr(handler, "__qualname__", None) or repr(handler)
        raise TypeError(
            f"{decorator}: the handler {name}{signature} is called with {takes}; expected a"
            f" function taking {'one argument' if count == 1 else f'{count} arguments'}"
        ) from None


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
                lambda: dispatcher.dispatch_assignment(
                    assignment, unmatched=settings.unmatched, names=state.names
                ),
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
