"""The desk for a WSGI server, against real TaskRouter.

    FLASK_TASKROUTER_PUBLIC_BASE_URL=https://desk.example.com \\
    TWILIO_ACCOUNT_SID=AC... TWILIO_AUTH_TOKEN=... \\
    gunicorn --workers 1 --threads 16 --bind 127.0.0.1:5000 example_app.wsgi:app

One process: the dashboard's state lives in memory, and each event reaches
one process. The app provisions the workspace when it starts (idempotently)
and serves the callbacks and the dashboard; it runs no simulated traffic.
"""

from __future__ import annotations

from . import create_app

app = create_app()
