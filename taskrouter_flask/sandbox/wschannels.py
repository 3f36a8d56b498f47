"""``/v1/wschannels`` on the sandbox's server: where Twilio's worker SDK is pointed.

One path, three uses, as on Twilio's event bridge: a websocket upgrade (the SDK's
``wsServer``), a POST carrying one SDK call (its ``ebServer``; :class:`.gateway.Gateway`
answers it), and the CORS preflight a browser sends before that POST when the agent's page
comes from another origin (the SDK adds ``clientVersion`` and ``apiVersion`` headers, which
are not simple headers). The token travels in the body or the query, never in a cookie, so
any origin may call. The websocket is ``simple-websocket``'s (the ``agents`` extra): it
takes over the socket of a WSGI request on Werkzeug's server, gunicorn, eventlet or gevent,
so the REST API and the SDK's channel share one port and one server.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from flask import Flask, Response, request

from ..access_token import AccessTokenError
from .channels import Channels
from .gateway import Gateway

__all__ = ["PATH", "add_routes"]

PATH = "/v1/wschannels"
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, clientVersion, apiVersion, If-Match",
    "Access-Control-Max-Age": "600",
}


def _json(body: Any, status: int) -> Response:
    response = Response(json.dumps(body), status, mimetype="application/json")
    response.headers.update(_CORS)
    return response


class _SocketTaken(Response):
    """The answer to a websocket upgrade once the websocket has ended: nothing at all.

    The connection has carried websocket frames; HTTP bytes written after them reach the
    browser as a bad frame ("Invalid frame header"). Werkzeug's server treats a
    ``ConnectionError`` from the application as a dropped connection, and writes nothing.
    """

    def __call__(self, environ: Any, start_response: Any) -> Any:
        raise ConnectionError("the websocket has ended; the connection is not HTTP's any more")


def _end_connection(environ: dict[str, Any]) -> None:
    """Close the TCP connection a websocket ran on, as the server must once it has ended.

    Werkzeug's threaded server keeps HTTP/1.1 connections alive and would wait on this one
    for another request, while the browser waits for the server to close it.
    """
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:  # already gone
            pass


def _flag(name: str, default: bool) -> bool:
    value = request.args.get(name)
    if value is None:
        return default
    return value.strip().lower() in ("true", "1", "yes")


def add_routes(app: Flask, gateway: Gateway, channels: Channels) -> None:
    """Serve the SDK's gateway and websocket on ``app`` at :data:`PATH`."""

    def post() -> Response:
        answer = gateway.handle(
            request.get_data(cache=False), if_match=request.headers.get("If-Match")
        )
        return _json(answer.body, answer.status)

    def preflight() -> Response:
        return Response(status=204, headers=_CORS)

    def socket() -> Response:
        try:
            grant = gateway.grant(request.args.get("token", ""))
        except AccessTokenError as exc:
            return _json({"message": exc.message, "status": exc.status, "code": 20003}, exc.status)
        try:
            from simple_websocket import Server
        except ImportError:  # pragma: no cover - depends on the installed extras
            message = (
                "the worker SDK's websocket needs simple-websocket:"
                " pip install 'taskrouter-flask[agents]'"
            )
            return _json({"message": message, "status": 501, "code": 20001}, 501)
        ws = Server(request.environ)
        session = channels.open(
            grant,
            close_existing=_flag("closeExistingSessions", False),
            offline_if_disconnected=_flag("setWorkerOfflineIfDisconnected", True),
        )
        channels.serve(session, ws)
        # Let the close handshake finish (the browser answers our close frame, or sent its
        # own), then leave the socket alone: see _SocketTaken.
        ws.thread.join(timeout=2)
        _end_connection(request.environ)
        return _SocketTaken()

    def not_upgraded() -> Response:
        message = (
            f"GET {PATH}: this is the worker SDK's websocket; connect with a websocket"
            " (ws://) and ?token=..., or POST an SDK call here"
        )
        return _json({"message": message, "status": 400, "code": 20001}, 400)

    app.add_url_rule(
        PATH, "wschannels_post", post, methods=["POST"], provide_automatic_options=False
    )
    app.add_url_rule(PATH, "wschannels_preflight", preflight, methods=["OPTIONS"])
    app.add_url_rule(PATH, "wschannels_socket", socket, methods=["GET"], websocket=True)
    app.add_url_rule(PATH, "wschannels_get", not_upgraded, methods=["GET"])
