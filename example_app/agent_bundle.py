"""The agent console's copy of Twilio's TaskRouter SDK: installed from npm, bundled at set-up.

The console page runs Twilio's ``twilio-taskrouter`` SDK, pinned in the repository's
``package.json`` and ``package-lock.json``. Its published browser file still calls
``require`` for its dependencies, so it cannot be loaded as it is: esbuild bundles
``agent_console/entry.js`` (which puts the SDK's ``Worker`` on ``window.TaskRouter``)
with everything it needs into ``static/vendor/twilio-taskrouter.js``, a generated file
that is never committed.

:func:`ensure_bundle` does the whole set-up and is cheap when there is nothing to do:

1. if the bundle exists and is newer than ``package-lock.json`` and the entry file, done;
2. if ``node_modules`` lacks the SDK and esbuild at the versions the lock file pins,
   ``npm ci`` at the repository's root installs them;
3. esbuild writes the bundle (to a temporary file first, so a half-written bundle is
   never served).

``python -m example_app`` calls it when it starts; without npm the desk still runs and
the console page says how to get the bundle. ``python -m example_app.agent_bundle``
runs it alone.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "BUNDLE",
    "ENTRY",
    "ROOT",
    "SDK_PACKAGE",
    "BundleError",
    "BundleStatus",
    "bundle_status",
    "ensure_bundle",
]

#: The repository's root: where ``package.json``, ``package-lock.json`` and ``node_modules`` are.
ROOT = Path(__file__).resolve().parent.parent
#: The file esbuild starts from.
ENTRY = Path(__file__).resolve().parent / "agent_console" / "entry.js"
#: The bundle the console page loads (``/static/vendor/twilio-taskrouter.js``).
BUNDLE = Path(__file__).resolve().parent / "static" / "vendor" / "twilio-taskrouter.js"
SDK_PACKAGE = "twilio-taskrouter"
_ESBUILD_PACKAGE = "esbuild"
#: What to tell someone whose console has no bundle.
HOW_TO_BUNDLE = (
    "install Node.js (20 or later) with npm, then run `python -m example_app.agent_bundle`"
    " (or restart `python -m example_app`) from the repository's root"
)

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


class BundleError(RuntimeError):
    """The bundle could not be made; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class BundleStatus:
    """What :func:`ensure_bundle` found or did.

    :param path: the bundle.
    :param installed: whether ``npm ci`` ran.
    :param built: whether esbuild ran.
    """

    path: Path
    installed: bool = False
    built: bool = False


def bundle_status(root: Path = ROOT, bundle: Path = BUNDLE) -> str | None:
    """Why the bundle needs (re)building, or ``None`` when it is up to date."""
    if not bundle.is_file():
        return "the bundle does not exist yet"
    made = bundle.stat().st_mtime
    for source in (root / "package-lock.json", ENTRY):
        if source.is_file() and source.stat().st_mtime > made:
            return f"{source.name} is newer than the bundle"
    return None


def _pinned(root: Path) -> dict[str, str]:
    """The versions ``package-lock.json`` pins for the SDK and esbuild."""
    lock_file = root / "package-lock.json"
    try:
        lock: Any = json.loads(lock_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BundleError(
            f"no {lock_file}: the console's SDK is set up from a checkout of the repository"
        ) from None
    except ValueError as exc:
        raise BundleError(f"{lock_file} is not valid JSON ({exc})") from None
    packages = lock.get("packages") if isinstance(lock, dict) else None
    pinned: dict[str, str] = {}
    for name in (SDK_PACKAGE, _ESBUILD_PACKAGE):
        entry = packages.get(f"node_modules/{name}") if isinstance(packages, dict) else None
        version = entry.get("version") if isinstance(entry, dict) else None
        if not isinstance(version, str):
            raise BundleError(f"{lock_file} pins no version of {name}")
        pinned[name] = version
    return pinned


def _installed_version(root: Path, name: str) -> str | None:
    try:
        manifest: Any = json.loads(
            (root / "node_modules" / name / "package.json").read_text(encoding="utf-8")
        )
    except (OSError, ValueError):
        return None
    version = manifest.get("version") if isinstance(manifest, dict) else None
    return version if isinstance(version, str) else None


def _esbuild(root: Path) -> Path:
    name = "esbuild.cmd" if os.name == "nt" else "esbuild"
    return root / "node_modules" / ".bin" / name


def _run(run: Runner, command: Sequence[str], root: Path, what: str) -> None:
    try:
        done = run(list(command), cwd=root, capture_output=True, text=True, timeout=600)
    except FileNotFoundError as exc:
        raise BundleError(f"{what}: cannot run {command[0]} ({exc.strerror or exc})") from None
    except subprocess.TimeoutExpired:
        raise BundleError(f"{what}: {command[0]} did not finish in 10 minutes") from None
    if done.returncode != 0:
        output = (done.stderr or done.stdout or "").strip().splitlines()
        tail = "\n  ".join(output[-12:]) or "(no output)"
        raise BundleError(
            f"{what}: `{' '.join(command)}` failed with exit status {done.returncode}:\n  {tail}"
        )


def ensure_bundle(
    *,
    root: Path = ROOT,
    bundle: Path = BUNDLE,
    run: Runner = subprocess.run,
    which: Callable[[str], str | None] = shutil.which,
    say: Callable[[str], object] | None = None,
) -> BundleStatus:
    """Make sure the console's SDK bundle exists and is current; install and build if not.

    :param say: told of slow steps before they start (e.g. ``print``).
    :raises BundleError: saying what is missing or what failed (npm absent, ``npm ci``
        or esbuild failing, a lock file without the pins).
    """
    why = bundle_status(root, bundle)
    if why is None:
        return BundleStatus(bundle)
    pinned = _pinned(root)
    installed = False
    if any(_installed_version(root, name) != version for name, version in pinned.items()):
        npm = which("npm")
        if npm is None:
            raise BundleError(
                f"the agent console's SDK is not installed and npm is not on PATH: {HOW_TO_BUNDLE}"
            )
        if say is not None:
            say(f"Installing {SDK_PACKAGE} {pinned[SDK_PACKAGE]} from npm (npm ci)…")
        _run(run, [npm, "ci", "--no-audit", "--no-fund"], root, "npm ci")
        for name, version in pinned.items():
            found = _installed_version(root, name)
            if found != version:
                raise BundleError(
                    f"npm ci ran but node_modules has {name} {found or 'missing'},"
                    f" not {version} as package-lock.json pins"
                )
        installed = True
    esbuild = _esbuild(root)
    if not esbuild.exists():
        raise BundleError(f"no {esbuild}: run `npm ci` at {root}")
    if say is not None:
        say(f"Bundling {SDK_PACKAGE} for the agent console ({why})…")
    bundle.parent.mkdir(parents=True, exist_ok=True)
    partial = bundle.with_name(f".{bundle.name}.{os.getpid()}.tmp")
    try:
        _run(
            run,
            [
                str(esbuild),
                str(ENTRY),
                "--bundle",
                "--platform=browser",
                "--format=iife",
                "--minify",
                # The SDK and its dependencies are MIT and similar: their notices stay.
                "--legal-comments=eof",
                "--log-level=error",
                f"--outfile={partial}",
            ],
            root,
            "esbuild",
        )
        os.replace(partial, bundle)
    finally:
        partial.unlink(missing_ok=True)
    return BundleStatus(bundle, installed=installed, built=True)


def main() -> int:
    """``python -m example_app.agent_bundle``: set the bundle up, saying what happened."""
    try:
        status = ensure_bundle(say=lambda line: print(line, flush=True))
    except BundleError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size = status.path.stat().st_size
    state = "built" if status.built else "up to date"
    print(f"{status.path} ({size // 1024} KiB): {state}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
