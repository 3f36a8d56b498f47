"""The desk for a WSGI server, against real TaskRouter.

    FLASK_TASKROUTER_PUBLIC_BASE_URL=https://desk.example.com \\
    TWILIO_ACCOUNT_SID=AC... TWILIO_AUTH_TOKEN=... \\
    gunicorn --workers 1 --threads 16 --bind 127.0.0.1:5000 example_app.wsgi:app

One process: the dashboard's state lives in memory, and each event reaches
one process. The app provisions the workspace when it starts (idempotently)
and serves the callbacks and the dashboard; it runs no simulated traffic.
The operator signs in at ``/?key=<FLASK_SUPPORT_DESK_SIGN_IN_KEY>``; without that
setting the key is random and logged once, here, at start.
"""

from __future__ import annotations

import logging
import os

from . import create_app
from .access import sign_in_key

app = create_app()
if not os.environ.get("FLASK_SUPPORT_DESK_SIGN_IN_KEY"):
    logging.getLogger(__name__).warning(
        "support desk: sign in to the dashboard at /?key=%s (a new key each start; set"
        " FLASK_SUPPORT_DESK_SIGN_IN_KEY to keep one)",
        sign_in_key(app),
    )
