"""The console's SDK bundle set-up: npm ci only when the pinned SDK is missing, esbuild only
when the bundle is missing or stale, and clear errors; without a bundle the page says what to do.

npm and esbuild are stood in for by a recorder, in a repository laid out in a temporary
directory; the browser test runs the real ones.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from markupsafe import escape

from example_app import create_app
from example_app.access import console_token
from example_app.agent_bundle import HOW_TO_BUNDLE, BundleError, bundle_status, ensure_bundle
from taskrouter_flask.testing import make_sid

PINS = {"twilio-taskrouter": "2.1.1", "esbuild": "0.28.2"}


class Recorder:
    """Stands in for subprocess.run: records commands, plays npm ci and esbuild."""

    def __init__(self, root: Path, *, npm_fails: bool = False, installs: dict[str, str] = PINS):
        self.root = root
        self.commands: list[list[str]] = []
        self.npm_fails = npm_fails
        self.installs = installs

    def __call__(self, command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        assert kwargs["cwd"] == self.root
        self.commands.append(command)
        if command[1] == "ci":
            if self.npm_fails:
                return subprocess.CompletedProcess(command, 1, "", "npm ERR! network\nnpm ERR! x")
            for name, version in self.installs.items():
                _install(self.root, name, version)
            (self.root / "node_modules" / ".bin").mkdir(parents=True, exist_ok=True)
            (self.root / "node_modules" / ".bin" / "esbuild").write_text("#!/bin/sh\n")
            return subprocess.CompletedProcess(command, 0, "added 40 packages", "")
        outfile = next(arg for arg in command if arg.startswith("--outfile="))
        Path(outfile.split("=", 1)[1]).write_text("window.TaskRouter={};\n")
        return subprocess.CompletedProcess(command, 0, "", "")


def _install(root: Path, name: str, version: str) -> None:
    package = root / "node_modules" / name
    package.mkdir(parents=True, exist_ok=True)
    (package / "package.json").write_text(json.dumps({"name": name, "version": version}))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    lock = {"packages": {f"node_modules/{name}": {"version": v} for name, v in PINS.items()}}
    (tmp_path / "package-lock.json").write_text(json.dumps(lock))
    return tmp_path


def _npm(_: str) -> str:
    return "/usr/bin/npm"


def test_without_node_modules_npm_ci_runs_then_esbuild(root: Path) -> None:
    run = Recorder(root)
    bundle = root / "vendor" / "sdk.js"
    said: list[str] = []

    status = ensure_bundle(root=root, bundle=bundle, run=run, which=_npm, say=said.append)

    assert status.installed and status.built and bundle.is_file()
    assert run.commands[0] == ["/usr/bin/npm", "ci", "--no-audit", "--no-fund"]
    esbuild = run.commands[1]
    assert esbuild[0].endswith("node_modules/.bin/esbuild")
    assert {"--bundle", "--platform=browser", "--format=iife", "--minify"} <= set(esbuild)
    assert any("npm ci" in line for line in said) and any("Bundling" in line for line in said)
    assert not list(bundle.parent.glob(".*.tmp"))  # written whole, then moved into place


def test_an_up_to_date_bundle_runs_nothing(root: Path) -> None:
    bundle = root / "sdk.js"
    ensure_bundle(root=root, bundle=bundle, run=Recorder(root), which=_npm)
    again = Recorder(root)
    status = ensure_bundle(root=root, bundle=bundle, run=again, which=_npm)
    assert again.commands == [] and not status.built
    assert bundle_status(root, bundle) is None


def test_a_bundle_older_than_the_lock_file_is_rebuilt_without_reinstalling(root: Path) -> None:
    bundle = root / "sdk.js"
    ensure_bundle(root=root, bundle=bundle, run=Recorder(root), which=_npm)
    past = bundle.stat().st_mtime - 100
    os.utime(bundle, (past, past))
    assert bundle_status(root, bundle) == "package-lock.json is newer than the bundle"
    run = Recorder(root)
    status = ensure_bundle(root=root, bundle=bundle, run=run, which=_npm)
    assert status.built and not status.installed and len(run.commands) == 1


def test_another_version_in_node_modules_is_replaced_by_npm_ci(root: Path) -> None:
    _install(root, "twilio-taskrouter", "2.0.0")
    _install(root, "esbuild", "0.28.2")
    run = Recorder(root)
    assert ensure_bundle(root=root, bundle=root / "sdk.js", run=run, which=_npm).installed
    assert run.commands[0][1] == "ci"


def test_without_npm_the_error_says_how_to_get_the_bundle(root: Path) -> None:
    with pytest.raises(BundleError, match="npm is not on PATH") as caught:
        ensure_bundle(root=root, bundle=root / "sdk.js", run=Recorder(root), which=lambda _: None)
    assert HOW_TO_BUNDLE in str(caught.value)


def test_a_failing_npm_ci_is_reported_with_its_output(root: Path) -> None:
    run = Recorder(root, npm_fails=True)
    with pytest.raises(BundleError, match=r"npm ci.*exit status 1:\n  npm ERR! network"):
        ensure_bundle(root=root, bundle=root / "sdk.js", run=run, which=_npm)
    assert not (root / "sdk.js").exists()


def test_npm_ci_installing_other_versions_than_the_pins_is_an_error(root: Path) -> None:
    run = Recorder(root, installs={"twilio-taskrouter": "9.9.9", "esbuild": "0.28.2"})
    with pytest.raises(BundleError, match="twilio-taskrouter 9.9.9, not 2.1.1"):
        ensure_bundle(root=root, bundle=root / "sdk.js", run=run, which=_npm)


def test_a_missing_lock_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="package-lock.json"):
        ensure_bundle(root=tmp_path, bundle=tmp_path / "sdk.js", run=Recorder(tmp_path))


def test_without_the_bundle_the_console_page_says_how_to_get_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr("example_app.consoles.BUNDLE", tmp_path / "missing.js")
    app: Flask = create_app(
        {"TESTING": True, "TASKROUTER_AUTH_TOKEN": "token", "SUPPORT_DESK_PROVISION": False}
    )
    sid = make_sid("WK")
    monkeypatch.setattr(app.extensions["support_desk"], "worker_name", lambda _: "Alice")
    with app.test_request_context():
        token = console_token(sid)
    page = app.test_client().get(f"/agents/{sid}?t={token}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="no-bundle"' in html and str(escape(HOW_TO_BUNDLE)) in html
    assert "vendor/twilio-taskrouter.js" not in html
