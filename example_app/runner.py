"""Run the whole desk on one machine: the sandbox, the app on a real HTTP server, and traffic.

:class:`SupportDesk` is what ``python -m example_app`` runs and what the
end-to-end tests start. By default it starts the local TaskRouter sandbox
(real clock, callbacks signed with a fresh random token, and a fresh API key
that signs the agent consoles' SDK tokens), serves the app on 127.0.0.1,
provisions the workspace through the bundled client with callback
URLs from ``tr.events_url()`` / ``tr.assignment_url()``, and starts the
simulated traffic. :attr:`SupportDesk.sign_in_url` is the operator's way in.
Given Twilio credentials and a public URL it runs against
real TaskRouter instead (see README).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from taskrouter_flask.sandbox.server import Sandbox

from . import create_app
from .access import sign_in_key
from .desk import EXTENSION_KEY, Desk, Summary
from .provisioning import WORKSPACE_NAME
from .traffic import DEFAULT_HANDLE_TIME, DEFAULT_RATE

__all__ = ["Options", "SupportDesk"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Options:
    """How to run the desk; ``python -m example_app --help`` describes each."""

    host: str = "127.0.0.1"
    port: int = 5000
    rate: float = DEFAULT_RATE
    agents: int = 12
    seed: int | None = None
    handle_time: float = DEFAULT_HANDLE_TIME
    traffic: bool = True
    paused: bool = False
    public_url: str | None = None
    daily_limit: int = 25
    gold_timeout: int = 30
    reservation_timeout: int = 12
    #: More application settings, applied last.
    config: Mapping[str, Any] = field(default_factory=dict)


class _RequestHandler(WSGIRequestHandler):
    """Requests are logged at DEBUG on this module's logger, not printed."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        log.debug('"%s" %s %s', self.requestline, code, size)


def _not_ready(environ: Mapping[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("503 Service Unavailable", [("Content-Type", "text/plain")])
    return [b"starting\n"]


class SupportDesk:
    """The desk, its HTTP server and (by default) a local TaskRouter; a context manager.

    :param environ: where ``TWILIO_ACCOUNT_SID`` / ``TWILIO_AUTH_TOKEN`` (real TaskRouter) and
        ``FLASK_TASKROUTER_AUTH_TOKEN`` (the sandbox's token; random if unset) are read.
    """

    def __init__(self, options: Options, *, environ: Mapping[str, str] | None = None) -> None:
        self.options = options
        environ = os.environ if environ is None else environ
        self.environ = environ
        self.account_sid = environ.get("TWILIO_ACCOUNT_SID")
        self.auth_token = environ.get("TWILIO_AUTH_TOKEN")
        self.real = bool(options.public_url and self.account_sid and self.auth_token)
        if options.public_url and not self.real:
            raise ValueError(
                "--public-url is for real TaskRouter: set TWILIO_ACCOUNT_SID and"
                " TWILIO_AUTH_TOKEN too (without them the desk runs on the local sandbox)"
            )
        self.sandbox: Sandbox | None = None
        self.token: str | None = None
        self.server: BaseWSGIServer | None = None
        self.app: Flask | None = None
        self._thread: threading.Thread | None = None
        self._started = 0.0

    # -- life cycle ---------------------------------------------------------------------------

    def start(self) -> SupportDesk:
        """Start everything; the dashboard is at :attr:`url` when this returns.

        :raises OSError: if the port is taken.
        """
        options = self.options
        config: dict[str, Any] = {
            "SUPPORT_DESK_AGENTS": options.agents,
            "SUPPORT_DESK_DAILY_LIMIT": options.daily_limit,
            "SUPPORT_DESK_GOLD_TIMEOUT": options.gold_timeout,
            "SUPPORT_DESK_RESERVATION_TIMEOUT": options.reservation_timeout,
        }
        try:
            if self.real:
                config["TASKROUTER_ACCOUNT_SID"] = self.account_sid
                config["TASKROUTER_AUTH_TOKEN"] = self.auth_token
            else:
                # FLASK_TASKROUTER_AUTH_TOKEN, if set, so `flask taskrouter trigger` can sign too.
                token = self.environ.get("FLASK_TASKROUTER_AUTH_TOKEN") or secrets.token_hex(16)
                # An API key of this run's own: the consoles' SDK tokens are signed with it.
                key_sid, key_secret = "SK" + secrets.token_hex(16), secrets.token_urlsafe(32)
                self.sandbox = Sandbox(
                    auth_token=token,
                    seed=options.seed,
                    api_key_sid=key_sid,
                    api_key_secret=key_secret,
                ).start()
                config["TASKROUTER_ACCOUNT_SID"] = self.sandbox.account_sid
                config["TASKROUTER_AUTH_TOKEN"] = self.token = token
                config["TASKROUTER_BASE_URL"] = self.sandbox.base_url
                config["TASKROUTER_API_KEY_SID"] = key_sid
                config["TASKROUTER_API_KEY_SECRET"] = key_secret
                # The extension reads the workspace SID when the app is made, before the
                # desk provisions; the sandbox is new, so the workspace is made here first
                # (provisioning then finds it by name and sets it up).
                workspace = self.sandbox.client().workspaces.create(friendly_name=WORKSPACE_NAME)
                config["TASKROUTER_WORKSPACE_SID"] = workspace.sid
                config["SUPPORT_DESK_SDK_SERVERS"] = dict(self.sandbox.sdk_servers)
            # Listen first, so the callback URLs can name the actual port (``--port 0``).
            self.server = make_server(
                options.host,
                options.port,
                _not_ready,
                threaded=True,
                request_handler=_RequestHandler,
            )
            config["TASKROUTER_PUBLIC_BASE_URL"] = options.public_url or self.local_url
            config.update(options.config)
            self.app = create_app(config)
            self.server.app = self.app
            self._thread = threading.Thread(
                target=self.server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="support-desk-http",
                daemon=True,
            )
            self._thread.start()
            if options.traffic:
                self.desk.start_traffic(
                    rate=options.rate,
                    seed=options.seed,
                    handle_time=options.handle_time,
                    paused=options.paused,
                )
        except BaseException:
            self.stop()
            raise
        self._started = time.monotonic()
        return self

    def stop(self) -> None:
        """Stop traffic and event streams, then the sandbox, then the HTTP server.

        The sandbox stops first so that the callbacks it still has queued reach the app.
        """
        if self.app is not None:
            self.desk.stop()
        if self.sandbox is not None:
            self.sandbox.stop()
        if self.server is not None:
            if self._thread is not None:
                self.server.shutdown()
                self._thread.join(timeout=5)
            self.server.server_close()

    def __enter__(self) -> SupportDesk:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what is running ---------------------------------------------------------------------------

    @property
    def local_url(self) -> str:
        """``http://127.0.0.1:<port>``: where this machine reaches the app."""
        if self.server is None:
            raise RuntimeError("not started")
        return f"http://{self.options.host}:{self.server.server_port}"

    @property
    def url(self) -> str:
        """The dashboard's URL."""
        return self.local_url + "/"

    @property
    def sign_in_url(self) -> str:
        """The operator's way in: opening it signs the browser in and shows the dashboard."""
        if self.app is None:
            raise RuntimeError("not started")
        return f"{self.local_url}/?key={quote(sign_in_key(self.app), safe='')}"

    @property
    def desk(self) -> Desk:
        """The application's desk."""
        if self.app is None:
            raise RuntimeError("not started")
        desk = self.app.extensions[EXTENSION_KEY]
        assert isinstance(desk, Desk)
        return desk

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until the sandbox delivered every callback (with real TaskRouter, a pause)."""
        if self.sandbox is not None:
            return self.sandbox.drain(timeout)
        time.sleep(min(timeout, 3.0))
        return True

    def finish(self) -> Summary:
        """End the run: stop traffic, send agents Offline, let callbacks land, then sum up."""
        seconds = time.monotonic() - self._started
        self.desk.close_desk()
        self.drain()
        return self.desk.summary(seconds)
