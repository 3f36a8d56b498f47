"""``python -m example_app``: the support desk with its dashboard, on one machine.

Sets up the agent console's SDK bundle (npm and esbuild, once), starts the
local TaskRouter sandbox, serves the desk on http://127.0.0.1:5000, provisions
the workspace and routes simulated traffic until Ctrl-C (or for ``--duration``
seconds), then prints a summary checked against TaskRouter's statistics. The
dashboard is opened with the sign-in link printed at start. With
``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` and ``--public-url`` it runs
against real TaskRouter instead.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Callable, Sequence

from .agent_bundle import BundleError, ensure_bundle
from .provisioning import MAX_AGENTS
from .runner import Options, SupportDesk
from .traffic import DEFAULT_HANDLE_TIME, DEFAULT_RATE


def _positive(kind: type[float] | type[int]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _agents(text: str) -> int:
    value = int(text)
    if not 3 <= value <= MAX_AGENTS:
        raise argparse.ArgumentTypeError(f"expected 3 to {MAX_AGENTS} agents, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m example_app",
        description="A support desk on TaskRouter with a live dashboard. By default everything"
        " runs on this machine: a local TaskRouter sandbox, this app on 127.0.0.1, and"
        " simulated customers and agents.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="address to serve on (default: %(default)s)")
    add("--port", type=int, default=5000, help="port; 0 picks a free one (default: %(default)s)")
    add(
        "--rate",
        type=_positive(float),
        default=DEFAULT_RATE,
        help="new tasks per second (default: %(default)g; more than the agents can take"
        " makes the queues grow)",
    )
    add("--agents", type=_agents, default=12, help=f"agents, 3 to {MAX_AGENTS} (default: 12)")
    add("--seed", type=int, help="make the traffic and the agents' choices repeat")
    add(
        "--duration",
        type=_positive(float),
        metavar="SECONDS",
        help="stop after this long and print a summary (default: run until Ctrl-C)",
    )
    add(
        "--handle-time",
        type=_positive(float),
        default=DEFAULT_HANDLE_TIME,
        metavar="SECONDS",
        help="mean time an agent works on a task (default: %(default)g)",
    )
    add("--daily-limit", type=_positive(int), default=25, help="tasks per agent per day (25)")
    add("--no-traffic", action="store_true", help="no simulated customers or agents")
    add("--paused", action="store_true", help="start with new tasks paused")
    add(
        "--public-url",
        metavar="URL",
        help="the public URL of this app (a tunnel to it), to run against real TaskRouter"
        " with TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN",
    )
    add("--audit-log", metavar="FILE", help="append the audit log (JSON lines) to FILE")
    add("--verbose", action="store_true", help="log what the app and the simulation do")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if args.audit_log:
        audit = logging.getLogger("example_app.audit")
        handler = logging.FileHandler(args.audit_log)
        handler.setFormatter(logging.Formatter("%(message)s"))
        audit.addHandler(handler)
        audit.setLevel(logging.INFO)
        audit.propagate = args.verbose
    try:
        ensure_bundle(say=lambda line: print(line, flush=True))
    except BundleError as exc:
        print(f"warning: the agent console will not work: {exc}", file=sys.stderr, flush=True)
    options = Options(
        host=args.host,
        port=args.port,
        rate=args.rate,
        agents=args.agents,
        seed=args.seed,
        handle_time=args.handle_time,
        daily_limit=args.daily_limit,
        traffic=not args.no_traffic,
        paused=args.paused,
        public_url=args.public_url,
    )
    try:
        desk = SupportDesk(options).start()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"error: cannot serve on {args.host}:{args.port} ({exc.strerror or exc});"
            " try another --port",
            file=sys.stderr,
        )
        return 2
    try:
        where = (
            f"TaskRouter sandbox on {desk.sandbox.base_url}" if desk.sandbox else "real TaskRouter"
        )
        print(f"Support desk on {desk.url}  ({where})", flush=True)
        print(f"  open the dashboard (this link signs you in): {desk.sign_in_url}", flush=True)
        traffic = (
            f"{args.rate:g} tasks/s, {args.agents} agents"
            + (f", seed {args.seed}" if args.seed is not None else "")
            + (" (paused)" if args.paused else "")
            if options.traffic
            else "no simulated traffic"
        )
        until = f"for {args.duration:g} s" if args.duration else "until Ctrl-C"
        print(f"  {traffic}; running {until}", flush=True)
        if desk.token:
            print(f"  callbacks are signed with the auth token {desk.token}", flush=True)
        try:
            threading.Event().wait(args.duration)
        except KeyboardInterrupt:
            print("stopping (Ctrl-C again to skip the summary)", flush=True)
        try:
            summary = desk.finish()
        except KeyboardInterrupt:
            print("stopped without a summary", file=sys.stderr, flush=True)
            return 130
        for line in summary.lines():
            print(line, flush=True)
        return 0 if summary.agrees else 1
    finally:
        try:
            desk.stop()
        except KeyboardInterrupt:
            pass  # a second Ctrl-C: the daemon threads end with the process


if __name__ == "__main__":
    sys.exit(main())
