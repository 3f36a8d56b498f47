"""The example application answers its replayed callbacks as its handlers say."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from example_app import create_app
from example_app.__main__ import replay


def test_replay_over_http(capsys: pytest.CaptureFixture[str]) -> None:
    app = create_app({"TASKROUTER_AUTH_TOKEN": "example-token"})
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        replay(f"http://127.0.0.1:{server.server_port}", "example-token")
    finally:
        server.shutdown()
        thread.join(timeout=5)
    out = capsys.readouterr().out
    assert 'billing agent                 -> 200 {"instruction":"accept"}' in out
    assert '"instruction":"reject","activity_sid":"WA' in out
    assert "forged signature                           -> 403" in out
    assert "'reservation.accepted': 1" in out
