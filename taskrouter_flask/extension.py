"""The Flask extension: a thin adapter between Flask and the callback pipeline.

This is the only module of the package's core that touches Flask request and
response objects. Its two views read the request into a plain
:class:`~taskrouter_flask.pipeline.Callback` — the raw body within a size
limit, and the URL Twilio actually signed (which, behind proxies, tunnels and
sub-path mounts, is not the URL the application sees) — hand it to
:func:`~taskrouter_flask.pipeline.handle`, and write the reply back. The views
belong to a :class:`~flask.Blueprint` named ``taskrouter``, so ``url_for``,
CSRF exemption and blueprint-level hooks work as for any other blueprint.

Every refusal is a small JSON body, ``{"error": {"code", "message", "field"?}}``,
produced by the views themselves rather than through ``abort()``, so an
application's own HTML error pages never answer Twilio.
"""

from __future__ import annotations

import inspect
import io
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    has_app_context,
    has_request_context,
    request,
    url_for,
)
from flask.sansio.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException, SecurityError
from werkzeug.routing import Rule
from werkzeug.sansio.utils import host_is_trusted

from .access_token import Role, mint_worker_token
from .callback_url import bad_host, forwarded_host, signed_url, url_alternatives
from .cli import taskrouter_cli
from .client import TaskRouterClient
from .dedup import DedupStore, store_from_setting
from .dispatch import ENDPOINTS, Dispatcher, Endpoint, ErrorHandler, Reply, error_body
from .errors import NameResolutionError
from .models import Assignment
from .names import NameCache
from .pipeline import FORM, JSON, Callback, Handled, handle, media_type, refusal, too_large
from .settings import DEFAULT_CONFIG, TaskRouterSettings
from .signals import callback_handled

__all__ = ["DEFAULT_CONFIG", "TaskRouter", "TaskRouterSettings"]

log = logging.getLogger(__name__)

_F = TypeVar("_F", bound=Callable[..., Any])

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
#: The settings :meth:`TaskRouter.worker_token` mints from.
_TOKEN_KEYS = (
    "TASKROUTER_ACCOUNT_SID",
    "TASKROUTER_WORKSPACE_SID",
    "TASKROUTER_API_KEY_SID",
    "TASKROUTER_API_KEY_SECRET",
)

VALIDATION_OFF_WARNING = (
    "TASKROUTER_VALIDATE_SIGNATURES is off: anyone who can reach %s can send forged"
    " TaskRouter callbacks to this application"
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
    #: The ``TASKROUTER_*`` keys as ``init_app`` read them, to tell a later change.
    config_at_init: Mapping[str, Any] = field(default_factory=dict)
    #: Flask's ``TRUSTED_HOSTS`` as ``init_app`` read it (None: any host).
    trusted_hosts: tuple[str, ...] | None = None
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
        #: The blueprint that holds the two endpoints (``taskrouter.assignment`` and
        #: ``taskrouter.events``). Add blueprint hooks to it before :meth:`init_app`
        #: (for instance ``@tr.blueprint.before_request``), or exempt it from CSRF
        #: protection (``csrf.exempt(tr.blueprint)``).
        self.blueprint = Blueprint("taskrouter", __name__)
        self.blueprint.record(_add_rules)
        if app is not None:
            self.init_app(app)

    # -- set-up -------------------------------------------------------------------

    def init_app(self, app: Flask) -> None:
        """Register the endpoints and read the configuration of ``app``.

        :raises RuntimeError: if ``app`` already has a TaskRouter.
        :raises ValueError: if a ``TASKROUTER_*`` setting (or ``TRUSTED_HOSTS``)
            is unusable, naming the key.
        """
        if _EXTENSION_KEY in app.extensions:
            raise RuntimeError("this application already has a TaskRouter; init_app runs once")
        for key, value in DEFAULT_CONFIG.items():
            app.config.setdefault(key, value)
        settings = TaskRouterSettings.from_config(app.config, url_prefix=self._url_prefix)
        dedup = store_from_setting(
            app.config["TASKROUTER_DEDUP"],
            ttl=settings.dedup_ttl,
            lease=settings.dedup_lease,
            prefix=app.config["TASKROUTER_DEDUP_PREFIX"],
        )
        app.extensions[_EXTENSION_KEY] = _AppState(
            extension=self,
            settings=settings,
            config=app.config,
            dedup=dedup,
            config_at_init={key: app.config.get(key) for key in DEFAULT_CONFIG},
            trusted_hosts=_trusted_hosts(app.config.get("TRUSTED_HOSTS")),
        )
        app.register_blueprint(self.blueprint, url_prefix=settings.url_prefix)
        app.before_request(_refuse_untrusted_host_as_json)
        if taskrouter_cli.name not in app.cli.commands:
            app.cli.add_command(taskrouter_cli)
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

    # -- worker tokens ----------------------------------------------------------------

    def worker_token(
        self,
        worker_sid: str,
        *,
        ttl: int = 3600,
        role: Role = "worker",
        identity: str | None = None,
        workspace_sid: str | None = None,
        app: Flask | None = None,
    ) -> str:
        """An access token for Twilio's TaskRouter JavaScript SDK, for one worker.

        The agent's browser passes it to ``new Worker(token)``. It is signed with the
        application's API key (``TASKROUTER_API_KEY_SID`` and ``TASKROUTER_API_KEY_SECRET``)
        for ``TASKROUTER_ACCOUNT_SID`` and ``TASKROUTER_WORKSPACE_SID``, as :meth:`init_app`
        read them; :func:`taskrouter_flask.mint_worker_token` makes it. Works in a request
        or anywhere else with an application context (or ``app=``). Hand a token only to
        the agent it names, once they have logged in, and keep ``ttl`` short.

        :param worker_sid: the worker (``WK...``) the agent is.
        :param ttl: seconds the token is valid, from 1 to 86,400.
        :param role: ``worker`` reaches its own worker and its reservations;
            ``supervisor`` and ``admin`` reach the whole workspace.
        :param identity: an optional name for the agent, kept in the token's grants.
        :param workspace_sid: the workspace, instead of ``TASKROUTER_WORKSPACE_SID``.
        :param app: the application (default: the current one).
        :raises RuntimeError: outside an application context without ``app``, naming
            the settings that are missing, or if one of them changed after ``init_app``.
        :raises AccessTokenError: (a ValueError) naming the argument that is unusable.
        """
        if app is None:
            if not has_app_context():
                raise RuntimeError(
                    "tr.worker_token() outside an application context: pass the application,"
                    " tr.worker_token(worker_sid, app=app), or use `with app.app_context():`"
                )
            app = current_app._get_current_object()  # type: ignore[attr-defined]
        state = _state(app)
        state.refuse_changes_since_init(_TOKEN_KEYS, "tr.worker_token()")
        settings = state.settings
        workspace = workspace_sid or settings.workspace_sid
        found = {
            "TASKROUTER_ACCOUNT_SID": settings.account_sid,
            "TASKROUTER_API_KEY_SID": settings.api_key_sid,
            "TASKROUTER_API_KEY_SECRET": settings.api_key_secret,
            "TASKROUTER_WORKSPACE_SID": workspace,
        }
        missing = [key for key, value in found.items() if value is None]
        if missing:
            workspace_hint = (
                " (or pass workspace_sid=)" if "TASKROUTER_WORKSPACE_SID" in missing else ""
            )
            raise RuntimeError(
                f"tr.worker_token() needs {', '.join(missing)}{workspace_hint}: a worker token"
                " is signed with an API key of the account (made in Twilio's console) and names"
                " the workspace; set them before TaskRouter(app) / init_app(app)"
            )
        assert settings.account_sid and settings.api_key_sid and settings.api_key_secret
        assert workspace is not None
        return mint_worker_token(
            account_sid=settings.account_sid,
            api_key_sid=settings.api_key_sid,
            api_key_secret=settings.api_key_secret,
            workspace_sid=workspace,
            worker_sid=worker_sid,
            role=role,
            ttl=ttl,
            identity=identity,
        )

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


def _add_rules(state: BlueprintSetupState) -> None:
    """Add the two endpoints' rules when the blueprint is registered on an application.

    Each rule takes every method (``methods=None``, which ``add_url_rule`` cannot
    express), so the view itself answers a method other than POST with a JSON 405
    instead of the application's HTML 405 page.
    """
    prefix = state.url_prefix or ""
    for name in ENDPOINTS:
        endpoint = f"{state.name_prefix}.{state.name}.{name}".lstrip(".")
        state.app.url_map.add(Rule(f"{prefix}/{name}", endpoint=endpoint, methods=None))
        state.app.view_functions[endpoint] = (
            _assignment_view if name == "assignment" else _events_view
        )


def _assignment_view() -> Response:
    return _view("assignment")


def _events_view() -> Response:
    return _view("events")


def _view(endpoint: Endpoint) -> Response:
    started = time.perf_counter()
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        handled = _answer(endpoint, _state(app))
    except Exception:
        log.exception("unexpected failure answering a TaskRouter %s callback", endpoint)
        handled = Handled(
            Reply(500, error_body("internal_error", "the callback could not be handled")), "error"
        )
    reply = handled.reply
    response = app.response_class(reply.content(), reply.status, mimetype=JSON)
    if reply.status == 405:
        response.headers["Allow"] = "POST"
    if callback_handled.receivers:
        _announce(app, endpoint, handled, time.perf_counter() - started)
    return response


def _announce(app: Flask, endpoint: Endpoint, handled: Handled, duration: float) -> None:
    """Send ``callback_handled``; a failing receiver (a metrics bug) never fails the callback."""
    try:
        callback_handled.send(
            app,
            endpoint=endpoint,
            outcome=handled.outcome,
            status=handled.reply.status,
            duration=duration,
        )
    except Exception:
        log.exception("a receiver of taskrouter_flask.callback_handled failed")


def _answer(endpoint: Endpoint, state: _AppState) -> Handled:
    """Read the request into a :class:`Callback` and let the pipeline answer it."""
    environ = request.environ
    settings = state.settings
    method = environ.get("REQUEST_METHOD", "GET")
    content_type = environ.get("CONTENT_TYPE", "")
    problem = bad_host(environ, settings)
    if problem is not None:
        return refusal(400, "bad_host", problem, "Host")
    if state.trusted_hosts is not None:
        untrusted = _untrusted_host(environ, settings, state.trusted_hosts)
        if untrusted is not None:
            return untrusted
    if method == "POST" and media_type(content_type) in (FORM, JSON):
        body = _read_body(environ, settings.max_body)
        if isinstance(body, Handled):
            return body
    else:
        body = b""  # refused by the pipeline before the body matters
    url = signed_url(environ, settings)
    callback = Callback(
        endpoint=endpoint,
        method=method,
        content_type=content_type,
        body=body,
        url=url,
        signature=environ.get("HTTP_X_TWILIO_SIGNATURE"),
        alternatives=lambda: url_alternatives(url, environ, settings),
    )
    return handle(
        callback,
        settings=settings,
        dispatcher=state.extension.dispatcher,
        store=state.dedup,
        names=state.names,
    )


def _read_body(environ: dict[str, Any], limit: int) -> bytes | Handled:
    """Read at most ``limit`` bytes of body, or answer 413 (or 400 for an unreadable body)."""
    declared = environ.get("CONTENT_LENGTH")
    try:
        if declared:
            length = int(declared)
            if length < 0:
                raise ValueError(declared)
            if length > limit:
                return too_large(limit)
            # Exactly the declared length: never reads past this request.
            body: bytes = environ["wsgi.input"].read(length)
        else:
            body = request.stream.read(limit + 1)
    except ValueError:
        return refusal(400, "bad_request", "the Content-Length header is not a number")
    except HTTPException as exc:
        return refusal(exc.code or 400, "bad_request", exc.description or "unreadable body")
    except OSError:
        return refusal(400, "bad_request", "the body could not be read")
    if len(body) > limit:
        return too_large(limit)
    # Put the body back, so a handler may still read request.form or get_data().
    environ["wsgi.input"] = io.BytesIO(body)
    return body


# -- hosts ----------------------------------------------------------------------------


def _trusted_hosts(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(host, str) for host in value):
        raise ValueError(
            f"TRUSTED_HOSTS: expected a list of host names (such as ['example.com',"
            f" '.example.com']), got {value!r}"
        )
    return tuple(value)


def _untrusted_host(
    environ: Mapping[str, Any], settings: TaskRouterSettings, trusted: tuple[str, ...]
) -> Handled | None:
    """Refuse a host outside Flask's ``TRUSTED_HOSTS``, forwarded hosts included."""
    for host in (environ.get("HTTP_HOST", ""), forwarded_host(environ, settings)):
        if host and not host_is_trusted(host, trusted):
            return refusal(
                400, "untrusted_host", f"the host {host[:100]!r} is not in TRUSTED_HOSTS", "Host"
            )
    return None


def _refuse_untrusted_host_as_json() -> Response | None:
    """Answer a callback to an untrusted host with our JSON 400, not Flask's HTML page.

    Flask 3.1 checks ``TRUSTED_HOSTS`` while routing, before any view runs, and
    keeps the refusal for later: an application-wide hook is the one place left
    that can tell the request was meant for one of our endpoints.
    """
    failure = request.routing_exception
    if not isinstance(failure, SecurityError):
        return None
    state = current_app.extensions.get(_EXTENSION_KEY)
    if not isinstance(state, _AppState):
        return None
    prefix = state.settings.url_prefix
    if request.path not in (f"{prefix}/{name}" for name in ENDPOINTS):
        return None
    reply = refusal(400, "untrusted_host", failure.description or "untrusted host", "Host").reply
    return current_app.response_class(reply.content(), reply.status, mimetype=JSON)


def _state(app: Flask) -> _AppState:
    try:
        state = app.extensions[_EXTENSION_KEY]
    except KeyError:
        raise RuntimeError(
            "TaskRouter is not set up on this application: call TaskRouter(app) or init_app(app)"
        ) from None
    assert isinstance(state, _AppState)
    return state
