"""A scripted TaskRouter API on 127.0.0.1, and a client pointed at it."""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from werkzeug.datastructures import MultiDict
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from taskrouter_flask.client import TaskRouterClient

ACCOUNT = "AC" + "a" * 32
TOKEN = "client-test-token"
WORKSPACE = "WS" + "b" * 32


@dataclass
class Recorded:
    method: str
    path: str
    query: MultiDict[str, str]
    form: MultiDict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class FakeApi:
    """Answers each request with the next scripted reply (default: 200 ``{}``) and records it."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.replies: deque[Reply] = deque()
        self.url = ""

    def reply(self, status: int = 200, body: Any = None, **kwargs: Any) -> None:
        self.replies.append(Reply(status, body, **kwargs))

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        body = request.get_data(cache=True)
        self.requests.append(
            Recorded(
                request.method,
                request.path,
                request.args.copy(),
                request.form.copy(),
                dict(request.headers),
                body,
            )
        )
        reply = self.replies.popleft() if self.replies else Reply(200, {})
        if reply.delay:
            time.sleep(reply.delay)
        if reply.body is None:
            payload = b""
        elif isinstance(reply.body, bytes):
            payload = reply.body
        else:
            payload = json.dumps(reply.body).encode()
        response = Response(payload, reply.status, reply.headers, mimetype="application/json")
        return response(environ, start_response)


@pytest.fixture
def api() -> Iterator[FakeApi]:
    fake = FakeApi()
    server = make_server("127.0.0.1", 0, fake, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    fake.url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield fake
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture
def client(api: FakeApi) -> Iterator[TaskRouterClient]:
    with TaskRouterClient(
        ACCOUNT, TOKEN, WORKSPACE, base_url=api.url, backoff_factor=0.01, timeout=2
    ) as client:
        yield client
