"""Run the support desk on 127.0.0.1 and play signed TaskRouter callbacks against it.

Until the local TaskRouter sandbox exists, the traffic is a replay of realistic
signed callbacks (the same ones the sandbox will send), over real HTTP.
"""

from __future__ import annotations

import argparse
import logging
import threading
from typing import Any

import requests
from werkzeug.serving import make_server

from taskrouter_flask.testing import assignment_payload, event_payload, signed_form

from . import GOLD_QUEUE, create_app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--serve", action="store_true", help="keep serving after the replay")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    app = create_app()
    token = app.config["TASKROUTER_AUTH_TOKEN"]
    server = make_server("127.0.0.1", args.port, app, threaded=True)
    base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    print(f"support desk on {base}/  (callbacks under {base}/taskrouter/)")
    try:
        replay(base, token)
        if args.serve:
            thread.join()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()


def replay(base: str, token: str) -> None:
    """Post a few signed callbacks and print what the application answered."""
    cases: list[tuple[str, dict[str, Any]]] = [
        ("gold ticket, billing agent", {"skills": ["billing"], "handled_today": 3}),
        ("gold ticket, agent over the daily limit", {"skills": ["billing"], "handled_today": 45}),
        ("gold ticket, agent without billing", {"skills": ["sales"]}),
    ]
    with requests.Session() as session:
        for label, worker in cases:
            url = f"{base}/taskrouter/assignment"
            params = assignment_payload(
                task_queue_sid=GOLD_QUEUE,
                task_attributes={"type": "ticket", "customer_value": "Gold"},
                worker_attributes=worker,
            )
            body, headers = signed_form(url, params, token)
            answer = session.post(url, data=body, headers=headers, timeout=5)
            print(f"{label:42} -> {answer.status_code} {answer.text}")
        for event_type in ("task.created", "reservation.created", "reservation.accepted"):
            url = f"{base}/taskrouter/events"
            body, headers = signed_form(url, event_payload(event_type), token)
            answer = session.post(url, data=body, headers=headers, timeout=5)
            print(f"{event_type:42} -> {answer.status_code}")
        url = f"{base}/taskrouter/assignment"
        forged, headers = signed_form(url, assignment_payload(), "a guessed token")
        answer = session.post(url, data=forged, headers=headers, timeout=5)
        print(f"{'forged signature':42} -> {answer.status_code} {answer.text}")
        print("status:", session.get(f"{base}/", timeout=5).json())


if __name__ == "__main__":
    main()
