"""``python -m taskrouter_flask.sandbox``: run a local TaskRouter until stopped."""

from __future__ import annotations

import argparse
import functools
import logging
from collections.abc import Sequence
from datetime import timedelta

from .bounds import EVENT_RETENTION_DAYS
from .server import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, Sandbox, api_key_pair


def _days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, got {text!r}") from None
    if not 0 <= days <= 36_500:
        raise argparse.ArgumentTypeError(f"expected 0 to 36500 days, got {days}")
    return days


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m taskrouter_flask.sandbox",
        description=(
            "A local TaskRouter: the REST API v1, a routing engine, and signed assignment and"
            " event callbacks, on one machine with no account and no network."
        ),
    )
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: %(default)s)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=8099,
        help="port to listen on; 0 picks a free one (default: %(default)s)",
    )
    parser.add_argument(
        "--account-sid",
        default=DEFAULT_ACCOUNT_SID,
        help="account SID clients authenticate with, and callbacks carry (default: %(default)s)",
    )
    parser.add_argument(
        "--auth-token",
        default=DEFAULT_AUTH_TOKEN,
        help="auth token clients authenticate with, and callbacks are signed with"
        " (default: %(default)s)",
    )
    parser.add_argument(
        "--api-key-sid",
        metavar="SK...",
        help="an API key SID clients may authenticate with, as with Twilio (with --api-key-secret)",
    )
    parser.add_argument(
        "--api-key-secret", metavar="SECRET", help="the API key's secret (with --api-key-sid)"
    )
    parser.add_argument(
        "--data",
        metavar="FILE",
        help="SQLite file to keep state in, so a restart continues where it stopped"
        " (default: in memory)",
    )
    parser.add_argument("--seed", type=int, help="make generated SIDs repeat from run to run")
    parser.add_argument(
        "--event-retention-days",
        type=_days,
        default=EVENT_RETENTION_DAYS,
        metavar="DAYS",
        help="keep events this many days, as Twilio does; 0 keeps every event"
        " (default: %(default)s)",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request and callback")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        api_key_pair(args.api_key_sid, args.api_key_secret)
    except ValueError as exc:
        parser.error(str(exc).replace("api_key_", "--api-key-"))
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    sandbox = Sandbox(
        account_sid=args.account_sid,
        auth_token=args.auth_token,
        host=args.host,
        port=args.port,
        data=args.data,
        seed=args.seed,
        retention=timedelta(days=args.event_retention_days) if args.event_retention_days else None,
        api_key_sid=args.api_key_sid,
        api_key_secret=args.api_key_secret,
    )
    details = [f"  account SID {sandbox.account_sid}, auth token {sandbox.auth_token}"]
    if args.api_key_sid:
        details.append(f"  API key {args.api_key_sid} with its secret")
    sandbox.serve_until_interrupted(functools.partial(print, flush=True), *details)


if __name__ == "__main__":
    main()
