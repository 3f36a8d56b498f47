"""Run the sandbox: the REST API on a real HTTP server, callbacks, timers, persistence.

:class:`Sandbox` is what ``python -m taskrouter_flask.sandbox``, ``flask
taskrouter sandbox`` and the ``sandbox`` pytest fixture start: the engine
behind a lock, the REST app and the worker SDK's socket on uvicorn on 127.0.0.1
(:mod:`.http_server`; without the ``sandbox`` extra, the REST app alone on
Werkzeug's threaded server), the callback sender, a ticker that runs due timers
when the clock is real, and,
with ``data=``, a :class:`~.journal.Journal` that commits every change to
SQLite before it is acknowledged, so a restart continues where it stopped.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args

from werkzeug.serving import WSGIRequestHandler, make_server

from ..access_token import Role, mint_worker_token
from ..client import TaskRouterClient
from ..wire import sid_pattern
from .api import SandboxService, create_app
from .callbacks import CallbackSender
from .channels import Channels
from .clock import Clock, ManualClock, SystemClock
from .collector import Collector
from .engine import Engine
from .eventlog import DEFAULT_RETENTION
from .gateway import Gateway
from .journal import Journal
from .wschannels import PATH as WSCHANNELS_PATH
from .wschannels import add_routes, without_token

#: Which HTTP server serves the sandbox: uvicorn when installed (the ``sandbox`` extra).
ServerChoice = Literal["auto", "uvicorn", "werkzeug"]

__all__ = [
    "DEFAULT_ACCOUNT_SID",
    "DEFAULT_API_KEY_SECRET",
    "DEFAULT_API_KEY_SID",
    "DEFAULT_AUTH_TOKEN",
    "Sandbox",
    "api_key_pair",
]

log = logging.getLogger(__name__)

DEFAULT_ACCOUNT_SID = "AC" + "5a" * 16
DEFAULT_AUTH_TOKEN = "sandbox-auth-token"
#: The API key the ``sandbox`` pytest fixture is given, so that tests can mint worker tokens.
DEFAULT_API_KEY_SID = "SK" + "5a" * 16
DEFAULT_API_KEY_SECRET = "sandbox-api-key-secret-for-tests"
_T = TypeVar("_T")


_API_KEY_SID = sid_pattern("SK")


def api_key_pair(sid: str | None, secret: str | None) -> dict[str, str]:
    """An API key SID and secret as the sandbox's key table, checked.

    :raises ValueError: when only one is given, the SID is not ``SK`` and 32 hex digits, or
        the secret is blank.
    """
    if sid is None and secret is None:
        return {}
    if sid is None or secret is None:
        raise ValueError("api_key_sid and api_key_secret: give both or neither")
    if not _API_KEY_SID.fullmatch(sid):
        raise ValueError(f"api_key_sid: expected 'SK' and 32 hex digits, got {sid!r}")
    if not secret.strip():
        raise ValueError("api_key_secret: expected a non-blank secret")
    return {sid: secret}


class _RequestHandler(WSGIRequestHandler):
    """Requests are logged at DEBUG on this module's logger, not printed.

    The worker SDK's websocket carries its access token in the query: the log shows
    ``token=...`` instead, so a log never holds a token that still works.
    """

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        line = without_token(self.requestline)
        log.debug('"%s" %s %s', line, code, size)


class Sandbox:
    """A local TaskRouter on ``http://host:port``; a context manager.

    :param port: 0 picks a free port.
    :param clock: a :class:`ManualClock` to drive time by hand (tests), else real time.
    :param data: a SQLite file to keep state in across restarts.
    :param tick: seconds between runs of due timers, with a real clock.
    :param retention: how long events are kept (Twilio keeps them 30 days); ``None``
        keeps every event.
    :param api_key_sid: an API key SID (``SK`` and 32 hex digits) that clients may
        authenticate with, with ``api_key_secret``, besides the account SID and token.
    :param server: ``"uvicorn"`` (keep-alive, the worker SDK's websocket), ``"werkzeug"``
        (the REST API only), or ``"auto"``: uvicorn when it is installed.
    :param freeze_gc: keep garbage-collection pauses short as the state grows, by freezing
        long-lived objects (:mod:`.collector`); it acts on the whole process, so an
        application that tunes the collector itself may turn it off.
    """

    def __init__(
        self,
        *,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        data: str | Path | None = None,
        seed: int | None = None,
        tick: float = 0.05,
        assignment_timeout: float = 5.0,
        retention: timedelta | None = DEFAULT_RETENTION,
        api_key_sid: str | None = None,
        api_key_secret: str | None = None,
        server: ServerChoice = "auto",
        freeze_gc: bool = True,
    ) -> None:
        choices = get_args(ServerChoice)
        if server not in choices:
            named = f"{', '.join(choices[:-1])} or {choices[-1]}"
            raise ValueError(f"server: expected {named}, got {server!r}")
        self.server = server
        api_keys = api_key_pair(api_key_sid, api_key_secret)
        self.api_key_sid = api_key_sid
        self.api_key_secret = api_key_secret
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host = host
        self.port = port
        self.clock = clock or SystemClock()
        self.data = Path(data) if data is not None else None
        self.tick = tick
        self.retention = retention
        self.journal = Journal(self.data) if self.data is not None else None
        self.engine = self._load_engine(seed)
        self.service = SandboxService(self.engine, account_sid, auth_token, api_keys=api_keys)
        self.callbacks = CallbackSender(
            self.engine,
            self.locked,
            auth_token=auth_token,
            assignment_timeout=assignment_timeout,
        )
        self.engine.listeners.append(self.callbacks.on_event)
        self.gateway = Gateway(self.service, self.clock)
        self.channels = Channels(self.service, self.clock)
        self.engine.listeners.append(self.channels.on_event)
        self.collector = Collector().install(self.engine) if freeze_gc else None
        self._stop_server: Callable[[], None] | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()

    def _load_engine(self, seed: int | None) -> Engine:
        journal = self.journal
        if journal is None or journal.empty:
            engine = Engine(
                self.clock, account_sid=self.account_sid, seed=seed, retention=self.retention
            )
            if journal is None:
                return engine
            journal.initialize(engine)
        else:
            engine = journal.load(clock=self.clock, retention=self.retention)
            log.info("sandbox state loaded from %s", self.data)
        engine.committers.append(journal.write)
        return engine

    # -- running ------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, once started."""
        return f"http://{self.host}:{self.port}"

    @property
    def sdk_servers(self) -> dict[str, str]:
        """The worker SDK's ``ebServer`` and ``wsServer`` options for this sandbox, once started."""
        return {
            "ebServer": self.base_url + WSCHANNELS_PATH,
            "wsServer": f"ws://{self.host}:{self.port}{WSCHANNELS_PATH}",
        }

    def start(self) -> Sandbox:
        """Start serving in background threads."""
        app = create_app(self.service)
        add_routes(app, self.gateway)
        if self._uvicorn_chosen():
            from .http_server import UvicornServer, sandbox_asgi_app

            uvicorn = UvicornServer(sandbox_asgi_app(app, self.gateway, self.channels))
            self.port = uvicorn.start(self.host, self.port)
            self._stop_server = uvicorn.stop
        else:
            werkzeug = make_server(
                self.host, self.port, app, threaded=True, request_handler=_RequestHandler
            )
            self.port = werkzeug.server_port
            serve = threading.Thread(
                target=werkzeug.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            )
            serve.start()
            self._threads.append(serve)
            self._stop_server = werkzeug.shutdown
        if self.collector is not None:
            self.collector.start()
        if not isinstance(self.clock, ManualClock):
            ticker = threading.Thread(target=self._run_timers, daemon=True)
            ticker.start()
            self._threads.append(ticker)
        return self

    def _uvicorn_chosen(self) -> bool:
        if self.server == "werkzeug":
            return False
        try:
            import uvicorn  # noqa: F401
        except ImportError:
            if self.server == "uvicorn":
                raise ImportError(
                    "Sandbox(server='uvicorn') needs uvicorn:"
                    " pip install 'taskrouter-flask[sandbox]'"
                ) from None
            log.warning(
                "uvicorn is not installed: the sandbox runs on Werkzeug's threaded server,"
                " without keep-alive or the worker SDK's websocket"
                " (pip install 'taskrouter-flask[sandbox]')"
            )
            return False
        return True

    def _run_timers(self) -> None:
        while not self._stop.wait(self.tick):
            self.channels.pulse()
            with self.service.lock:
                due = self.engine.next_timer()
                if due is None or due > self.engine.now():
                    continue
                self.engine.advance()

    def stop(self) -> None:
        """Stop serving and sending callbacks."""
        self._stop.set()
        self.channels.close_all()
        if self._stop_server is not None:
            self._stop_server()
            self._stop_server = None
        for thread in self._threads:
            thread.join(timeout=5)
        self.callbacks.close()
        if self.collector is not None:
            self.collector.stop()
        if self.journal is not None:
            with self.service.lock:
                self.journal.close()

    def __enter__(self) -> Sandbox:
        return self.start()

    def serve_until_interrupted(self, say: Callable[[str], object], *details: str) -> None:
        """Serve in the foreground until Ctrl-C, then stop: what both command lines do.

        Once serving, it says ``TaskRouter sandbox on <base_url>`` (the port is known
        only then), then each of ``details``.

        :param say: prints a line (``print`` or ``click.echo``).
        """
        with self:
            sdk = (
                [
                    f"  worker SDK: ebServer {self.sdk_servers['ebServer']},"
                    f" wsServer {self.sdk_servers['wsServer']}"
                ]
                if self.api_key_sid
                else []
            )
            for line in (f"TaskRouter sandbox on {self.base_url}", *sdk, *details):
                say(line)
            try:
                threading.Event().wait()
            except KeyboardInterrupt:
                say("stopping")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- helpers for tests and scripts ----------------------------------------------------------

    def locked(self, action: Callable[[], _T]) -> _T:
        """Run ``action`` while holding the engine's lock."""
        with self.service.lock:
            return action()

    def advance(self, seconds: float) -> None:
        """Move a manual clock forward, running what falls due (heartbeats of the SDK too)."""
        self.locked(lambda: self.engine.advance(seconds=seconds))
        self.channels.pulse()

    def client(self, workspace_sid: str | None = None, **options: Any) -> TaskRouterClient:
        """A REST client for this sandbox."""
        return TaskRouterClient(
            self.account_sid, self.auth_token, workspace_sid, base_url=self.base_url, **options
        )

    def worker_token(
        self, workspace_sid: str, worker_sid: str, *, ttl: int = 3600, role: Role = "worker"
    ) -> str:
        """A worker SDK token this sandbox accepts, issued at its clock's time.

        Signed with the API key the sandbox was given (the ``sandbox`` fixture has one).

        :raises RuntimeError: when the sandbox has no API key.
        """
        if not (self.api_key_sid and self.api_key_secret):
            raise RuntimeError(
                "this sandbox has no API key to sign worker tokens with: start it with"
                " api_key_sid= and api_key_secret= (--api-key-sid / --api-key-secret)"
            )
        return mint_worker_token(
            account_sid=self.account_sid,
            api_key_sid=self.api_key_sid,
            api_key_secret=self.api_key_secret,
            workspace_sid=workspace_sid,
            worker_sid=worker_sid,
            role=role,
            ttl=ttl,
            now=self.clock.now().timestamp(),
        )

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued callback has been delivered."""
        return self.callbacks.drain(timeout)
