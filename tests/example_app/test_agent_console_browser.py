"""The agent console in real headless Chromium, through Twilio's real TaskRouter SDK.

A task created on the dashboard reaches the console of the agent a person took over,
is accepted there, and the dashboard shows it assigned; then wrapped up and completed
in the console, and the agent's activity changed there, all seen on the dashboard.

The SDK is the one npm installs from the pinned ``package.json``, bundled by
``example_app.agent_bundle``; it talks to the sandbox's gateway at ``/v1/wschannels``.
Skipped, saying why, without Playwright for Python, Debian's ``chromium`` or the bundle
(npm is needed to make it).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from example_app.agent_bundle import BUNDLE, BundleError, bundle_status, ensure_bundle
from example_app.runner import Options, SupportDesk

from .chromium import TIMEOUT_MS, launched, needs_chromium, sync_api

pytestmark = needs_chromium


@pytest.fixture(scope="module")
def bundle() -> Path:
    """The console's SDK bundle, made now if npm can make it; else the test is skipped."""
    if bundle_status() is not None and shutil.which("npm") is None and not BUNDLE.is_file():
        pytest.skip("no agent console bundle, and npm is not on PATH to make it")
    try:
        return ensure_bundle().path
    except BundleError as exc:
        pytest.skip(f"the agent console's SDK bundle cannot be made: {exc}")


@pytest.fixture
def desk(bundle: Path) -> Iterator[SupportDesk]:
    options = Options(port=0, seed=5, agents=3, handle_time=2.0, paused=True)
    with SupportDesk(options, environ={}) as running:
        yield running


@pytest.fixture
def context(desk: SupportDesk) -> Iterator[Any]:
    with launched() as browser:
        context = browser.new_context(viewport={"width": 1360, "height": 900})
        context.set_default_timeout(TIMEOUT_MS)
        yield context


def _watch_errors(page: Any, errors: list[str]) -> None:
    page.on("pageerror", lambda error: errors.append(f"{page.url}: {error}"))
    page.on(
        "console",
        lambda message: (
            errors.append(f"{page.url}: {message.text}") if message.type == "error" else None
        ),
    )


def test_a_task_created_on_the_dashboard_is_accepted_in_the_agents_console(
    desk: SupportDesk, context: Any, tmp_path: Path
) -> None:
    expect = sync_api.expect
    errors: list[str] = []
    dashboard = context.new_page()
    _watch_errors(dashboard, errors)
    dashboard.goto(desk.sign_in_url)
    expect(dashboard.locator("#connection")).to_have_text("Live")
    rows = dashboard.locator("#agents tbody tr")
    expect(rows).to_have_count(3)
    names = [rows.nth(i).get_attribute("data-name") for i in range(3)]
    person, others = names[0], names[1:]
    row = dashboard.locator(f'#agents tr[data-name="{person}"]')
    expect(row.locator('[data-role="activity"]')).to_have_text("Available")

    # The person opens their console from the dashboard's signed link (a new tab).
    with context.expect_page() as opened:
        row.get_by_label(f"Console of {person}").click()
    console = opened.value
    _watch_errors(console, errors)
    expect(console.locator("#connection")).to_have_text("Live")
    expect(console).to_have_url(re.compile(r"/agents/WK[0-9a-f]{32}$"))  # the token left the URL
    expect(console.locator("#agent-name")).to_have_text(person)
    expect(console.locator("#activity")).to_have_text("Available")
    current = console.locator('#activities button[aria-pressed="true"]')
    expect(current).to_have_text("Available")
    for activity in ("Offline", "Available", "Busy", "Wrap-up"):
        expect(
            console.locator("#activities").get_by_role("button", name=activity, exact=True)
        ).to_be_visible()
    expect(row.locator('[data-role="at-console"]')).to_have_text(" · in use")

    # Nobody else is there to take the task.
    for name in others:
        other = dashboard.locator(f'#agents tr[data-name="{name}"]')
        other.get_by_label(f"Activity of {name}").select_option("Offline")
        expect(other.locator('[data-role="activity"]')).to_have_text("Offline")

    dashboard.get_by_label("Type").select_option("ticket")
    dashboard.get_by_label("Customer value").select_option("Silver")
    dashboard.get_by_label("Subject").fill("Cannot log in")
    dashboard.get_by_role("button", name="Create task").click()
    expect(dashboard.locator("#task-message")).to_contain_text("Created #D001")
    ticket = dashboard.locator("#watched li").first
    status = ticket.locator('[data-role="status"]')

    # It rings in the console, and waits there: the simulation does not answer for the person.
    offer = console.locator("#reservations li.reservation").first
    expect(offer).to_contain_text("Silver ticket #D001")
    expect(offer.locator('[data-role="status"]')).to_have_text("pending")
    expect(offer).to_contain_text("Cannot log in")
    expect(status).to_have_text("reserved")
    offer.get_by_role("button", name="Accept").click()
    expect(offer.locator('[data-role="status"]')).to_have_text("accepted")

    # The dashboard shows it assigned to the person's agent.
    expect(status).to_have_text("assigned")
    expect(ticket.locator('[data-role="history"]')).to_have_text(
        f"created → reserved → assigned · {person}"
    )
    expect(row.locator('[data-role="task"]')).to_contain_text("Silver ticket #D001")
    expect(dashboard.locator("#log")).to_contain_text(f"{person} accepted Silver ticket #D001")

    # Wrap up, complete, and change activity, all in the console, all seen on the dashboard.
    offer.get_by_role("button", name="Wrap up").click()
    expect(status).to_have_text("wrapping")
    offer.get_by_role("button", name="Complete").click()
    expect(offer.locator('[data-role="status"]')).to_have_text("completed")
    expect(status).to_have_text("completed")
    console.locator("#activities").get_by_role("button", name="Offline", exact=True).click()
    expect(console.locator("#activity")).to_have_text("Offline")
    expect(current).to_have_text("Offline")
    expect(row.locator('[data-role="activity"]')).to_have_text("Offline")
    expect(console.locator("#log")).to_contain_text("Silver ticket #D001 completed")

    console.screenshot(path=str(tmp_path / "console.png"), full_page=True)
    assert errors == [], errors
    # Handed back, the simulation logs the agent in again.
    console.get_by_role("button", name="Hand back to the simulation").click()
    expect(console.locator("#connection")).to_have_text("Handed back")
    expect(row.locator('[data-role="at-console"]')).to_have_text("")
    expect(row.locator('[data-role="activity"]')).to_have_text("Available")
    assert errors == [], errors
