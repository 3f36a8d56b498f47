"""``/v1/wschannels`` on the sandbox's REST app: the worker SDK's gateway and CORS preflight.

One path serves the SDK three ways, as Twilio's event bridge does: a POST carrying one SDK
call (its ``ebServer``; :class:`.gateway.Gateway` answers it), the CORS preflight a browser
sends before that POST when the agent's page comes from another origin (the SDK adds
``clientVersion`` and ``apiVersion`` headers, which are not simple headers), and the
websocket (its ``wsServer``), which the server itself upgrades (:mod:`.http_server`) before
a request reaches this Flask app. The token travels in the body or the query, never in a
cookie, so any origin may call.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Flask, Response, request

from .gateway import Gateway

__all__ = ["PATH", "add_routes", "without_token"]

PATH = "/v1/wschannels"
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, clientVersion, apiVersion, If-Match",
    "Access-Control-Max-Age": "600",
}


_TOKEN_IN_QUERY = re.compile(r"(token=)[^&\s]+")


def without_token(text: str) -> str:
    """``text`` (a request line or URL) with the SDK's ``token=`` shown as ``token=...``.

    The websocket carries its access token in the query; a log must not keep a token that
    still works.
    """
    return _TOKEN_IN_QUERY.sub(r"\1...", text)


def _json(body: Any, status: int) -> Response:
    response = Response(json.dumps(body), status, mimetype="application/json")
    response.headers.update(_CORS)
    return response


def add_routes(app: Flask, gateway: Gateway) -> None:
    """Serve the SDK's gateway on ``app`` at :data:`PATH`."""

    def post() -> Response:
        body = request.get_data(cache=False)
        answer = gateway.handle(body, if_match=request.headers.get("If-Match"))
        return _json(answer.body, answer.status)

    def preflight() -> Response:
        return Response(status=204, headers=_CORS)

    def socket() -> Response:
        message = (
            "the worker SDK's websocket needs the sandbox's own server (uvicorn):"
            " pip install 'taskrouter-flask[sandbox]'"
        )
        return _json({"message": message, "status": 501, "code": 20001}, 501)

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
    # Reached only under Werkzeug's server (no uvicorn): the upgrade cannot be served there.
    app.add_url_rule(PATH, "wschannels_socket", socket, methods=["GET"], websocket=True)
    app.add_url_rule(PATH, "wschannels_get", not_upgraded, methods=["GET"])
