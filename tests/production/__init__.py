"""Production-like tests: the app under gunicorn, real Redis, hostile HTTP."""
