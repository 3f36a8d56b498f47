"""The sandbox's HTTP server: uvicorn, keep-alive, one event loop, and the SDK's websocket.

Why uvicorn (the ``sandbox`` extra): it keeps connections alive, parses HTTP with
httptools' C parser, needs no thread per request or per connection, and speaks websockets
itself (through wsproto), so the worker SDK's ``/v1/wschannels`` socket shares the REST
API's port. Waitress and cheroot keep connections alive too but cannot hand a socket to a
websocket; gunicorn can, but only in worker processes, where a test could not reach the
engine; Werkzeug's development server opens a thread per connection.

Why the Flask app is called in the loop's own thread: every request takes the engine's one
lock, so a pool of threads would only queue behind it, and each hand-over costs more than
the request (measured with wrk on GET one worker: 1,180 requests/s through a2wsgi's thread
pool, 2,670 inline; Werkzeug's server 1,070 to 1,220). The adapter below is WSGI as PEP 3333
gives it, for a body read in full (at most the REST app's ``MAX_BODY``) before the call. A slow
client costs nothing while it sends, since the loop awaits its bytes.

Websockets: a session's frames are queued by the engine's listener (any thread) and
written here; ``Session.notify`` wakes this loop for them.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import socket
import sys
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import parse_qs

from ..access_token import AccessTokenError
from .api import MAX_BODY
from .channels import Channels, Session
from .gateway import Gateway
from .wschannels import PATH, without_token

__all__ = ["UvicornServer", "sandbox_asgi_app"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _json_response(
    status: int, body: dict[str, Any]
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    return status, headers, data


def _environ(scope: Scope, body: bytes) -> dict[str, Any]:
    server = scope.get("server") or ("127.0.0.1", 80)
    client = scope.get("client") or ("127.0.0.1", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope["method"],
        "SCRIPT_NAME": "",
        # WSGI's text is the path's bytes read as latin-1; ASGI's path is decoded UTF-8.
        "PATH_INFO": scope["path"].encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope["query_string"].decode("latin-1"),
        "SERVER_NAME": str(server[0]),
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": "HTTP/" + scope["http_version"],
        "REMOTE_ADDR": str(client[0]),
        "REMOTE_PORT": str(client[1]),
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.get("scheme", "http"),
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        value = raw_value.decode("latin-1")
        if name == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
            continue
        if name == "CONTENT_LENGTH":
            continue  # the body's own length, set above
        key = "HTTP_" + name
        if key in environ:
            environ[key] += ("; " if name == "COOKIE" else ", ") + value
        else:
            environ[key] = value
    return environ


def _call_wsgi(
    app: WsgiApp, environ: dict[str, Any]
) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    started: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        started[:] = [status, headers]
        return written.append  # PEP 3333's write(), which comes before the iterable's body

    result = app(environ, start_response)
    try:
        body = b"".join([*written, *result])
    finally:
        close = getattr(result, "close", None)
        if close is not None:
            close()
    status, headers = started
    return (
        int(status[:3]),
        [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers],
        body,
    )


def sandbox_asgi_app(
    wsgi_app: WsgiApp, gateway: Gateway, channels: Channels
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """The ASGI application uvicorn serves: the REST app for HTTP, the SDK's socket for ws."""

    async def http(scope: Scope, receive: Receive, send: Send) -> None:
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY:
                answer = _json_response(
                    413,
                    {
                        "code": 20001,
                        "message": f"the request body is larger than {MAX_BODY} bytes",
                        "status": 413,
                    },
                )
                await _respond(send, *answer)
                return
            chunks.append(chunk)
            more = bool(message.get("more_body", False))
        answer = _call_wsgi(wsgi_app, _environ(scope, b"".join(chunks)))
        if log.isEnabledFor(logging.DEBUG):
            log.debug('"%s %s" %s', scope["method"], _target(scope), answer[0])
        await _respond(send, *answer)

    async def websocket(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] != PATH:
            await _refuse_upgrade(
                send, 404, f"no websocket at {scope['path']}; the SDK's is {PATH}"
            )
            return
        query = parse_qs(scope["query_string"].decode("latin-1"))
        try:
            grant = gateway.grant(query.get("token", [""])[0])
        except AccessTokenError as exc:
            log.debug('"websocket %s" %s', _target(scope), exc.status)
            await _refuse_upgrade(send, exc.status, exc.message)
            return
        log.debug('"websocket %s" open', _target(scope))
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        session = channels.open(
            grant,
            close_existing=_flag(query, "closeExistingSessions", False),
            offline_if_disconnected=_flag(query, "setWorkerOfflineIfDisconnected", True),
            notify=lambda: loop.call_soon_threadsafe(wake.set),
        )
        writer = asyncio.ensure_future(_write_frames(session, wake, send))
        reader = asyncio.ensure_future(_until_disconnect(receive))
        try:
            await asyncio.wait({writer, reader}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (writer, reader):
                task.cancel()
            channels.closed(session)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await http(scope, receive, send)
        elif scope["type"] == "websocket":
            await websocket(scope, receive, send)

    return app


def _target(scope: Scope) -> str:
    """The request's path and query for a log line, without a token in it."""
    query = scope["query_string"].decode("latin-1")
    return without_token(scope["path"] + ("?" + query if query else ""))


async def _respond(
    send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse_upgrade(send: Send, status: int, message: str) -> None:
    """Answer an upgrade with a plain HTTP error whose JSON says why (no socket is opened)."""
    status, headers, body = _json_response(
        status, {"message": message, "status": status, "code": 20003 if status == 401 else 20001}
    )
    await send({"type": "websocket.http.response.start", "status": status, "headers": headers})
    await send({"type": "websocket.http.response.body", "body": body})


async def _write_frames(session: Session, wake: asyncio.Event, send: Send) -> None:
    while True:
        await wake.wait()
        wake.clear()
        for frame in session.take():
            if frame is None:
                await send({"type": "websocket.close", "code": 1000, "reason": session.reason})
                return
            await send({"type": "websocket.send", "text": frame})


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "websocket.disconnect":
        pass  # the SDK never sends frames; anything it sends is read and dropped


def _flag(query: dict[str, list[str]], name: str, default: bool) -> bool:
    values = query.get(name)
    if not values:
        return default
    return values[0].strip().lower() in ("true", "1", "yes")


class UvicornServer:
    """uvicorn on ``host:port`` in a thread of its own, started and stopped from outside."""

    def __init__(self, asgi_app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.asgi_app = asgi_app
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def start(self, host: str, port: int) -> int:
        """Listen and serve; returns the port (``port=0`` picks a free one)."""
        import uvicorn

        # IPPROTO_TCP, not 0: asyncio turns Nagle off (TCP_NODELAY) only on sockets that say
        # so, and with Nagle on, a kept-alive client waits 40 ms for each answer's body.
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        config = uvicorn.Config(
            self.asgi_app,
            lifespan="off",
            log_level="warning",
            access_log=False,
            ws="wsproto",
            # The sandbox's own heartbeat is the socket's only liveness signal, on its clock.
            ws_ping_interval=None,
            timeout_graceful_shutdown=2,
        )
        server = uvicorn.Server(config)
        self._server = server
        failure: list[BaseException] = []

        def run() -> None:
            try:
                asyncio.run(server.serve(sockets=[listener]))
            except BaseException as exc:  # noqa: BLE001 - reported to start()
                failure.append(exc)

        self._thread = threading.Thread(target=run, name="sandbox-http", daemon=True)
        self._thread.start()
        while not server.started:
            if failure or not self._thread.is_alive():
                raise RuntimeError(f"the sandbox's server did not start: {failure}")
            self._thread.join(0.01)
        return int(listener.getsockname()[1])

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)
