"""The dashboard in real headless Chromium: a Gold ticket made on the page, watched to the end.

Needs Playwright for Python (``pip install playwright``) and Debian's
``chromium`` (Playwright's own browser download is not used); skipped, saying
which is missing, without them. Saves a screenshot in the test's temporary directory, or
over ``docs/dashboard.png`` (the README's) when ``UPDATE_SCREENSHOT=1`` is set.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from example_app.runner import Options, SupportDesk

from .chromium import TIMEOUT_MS, launched, needs_chromium, sync_api

pytestmark = needs_chromium

README_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"


@pytest.fixture
def desk() -> Iterator[SupportDesk]:
    options = Options(
        port=0,
        seed=11,
        agents=8,
        rate=3.0,
        handle_time=2.5,
        paused=True,
        gold_timeout=120,
    )
    with SupportDesk(options, environ={}) as running:
        yield running


@pytest.fixture
def page(desk: SupportDesk) -> Iterator[Any]:
    with launched() as browser:
        context = browser.new_context(viewport={"width": 1440, "height": 1000})
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)  # assertions wait as long (see launched)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on(
            "console",
            lambda message: errors.append(message.text) if message.type == "error" else None,
        )
        yield page
        assert errors == [], errors


def _count(text: str) -> int:
    match = re.search(r"\d+", text)
    assert match, text
    return int(match.group())


def test_a_gold_ticket_created_on_the_page_is_reserved_assigned_and_completed(
    desk: SupportDesk, page: Any, tmp_path: Path
) -> None:
    expect = sync_api.expect
    page.goto(desk.sign_in_url)  # signs in, then shows the dashboard
    expect(page).to_have_url(desk.url)
    expect(page.locator("#connection")).to_have_text("Live")
    rows = page.locator("#agents tbody tr")
    expect(rows).to_have_count(8)
    gold_depth = page.locator('li[data-queue="Gold Tickets"] [data-role="depth"]')
    expect(gold_depth).to_have_text(re.compile(r"^0 waiting$"))

    # Every premium agent goes Offline, through the page, so the ticket has to wait.
    premium = rows.filter(has_text="premium")
    names = [premium.nth(i).get_attribute("data-name") for i in range(premium.count())]
    assert len(names) >= 2
    for name in names:
        row = page.locator(f'#agents tr[data-name="{name}"]')
        row.get_by_label(f"Activity of {name}").select_option("Offline")
        expect(row.locator('[data-role="activity"]')).to_have_text("Offline")
    expect(page.locator("#agent-message")).to_contain_text("is now Offline")
    log_before = _count(page.locator("#log-count").inner_text())

    # A Gold ticket, made with the form.
    page.get_by_label("Type").select_option("ticket")
    page.get_by_label("Customer value").select_option("Gold")
    page.get_by_label("Language").select_option("en")
    page.get_by_label("Subject").fill("Refund for a double charge")
    page.get_by_role("button", name="Create task").click()
    expect(page.locator("#task-message")).to_contain_text("Created #D001")
    ticket = page.locator("#watched li").first
    expect(ticket).to_contain_text("Gold ticket #D001")
    expect(ticket.locator('[data-role="status"]')).to_have_text("pending")
    expect(gold_depth).to_have_text(re.compile(r"^1 waiting$"))
    expect(page.locator('li[data-queue="Gold Tickets"] [data-role="wait"]')).to_contain_text(
        "Longest wait"
    )

    # One premium agent comes back: the ticket is theirs, then done.
    agent = names[0]
    page.locator(f'#agents tr[data-name="{agent}"]').get_by_label(
        f"Activity of {agent}"
    ).select_option("Available")
    expect(ticket.locator('[data-role="status"]')).to_have_text("completed")
    history = ticket.locator('[data-role="history"]')
    expect(history).to_have_text(f"created → reserved → assigned → wrapping → completed · {agent}")
    expect(gold_depth).to_have_text(re.compile(r"^0 waiting$"))
    assert _count(page.locator("#log-count").inner_text()) > log_before
    log = page.locator("#log")
    expect(log).to_contain_text(f"{agent} accepted Gold ticket #D001")
    expect(log).to_contain_text("Gold ticket #D001 completed")
    expect(page.locator('li[data-outcome="accepted"] .outcome-count')).not_to_have_text("0")

    # Everyone back at work and customers calling again, for the screenshot.
    for name in names[1:]:
        page.locator(f'#agents tr[data-name="{name}"]').get_by_label(
            f"Activity of {name}"
        ).select_option("Available")
    page.get_by_role("button", name="Resume traffic").click()
    expect(page.get_by_role("button", name="Pause traffic")).to_be_visible()
    expect(page.locator("#total-created")).to_have_text(
        re.compile(r"^([3-9]\d|\d{3,})$"), timeout=25_000
    )
    expect(page.locator("#total-completed")).not_to_have_text(re.compile(r"^\d$"))
    screenshot = (
        README_SCREENSHOT
        if os.environ.get("UPDATE_SCREENSHOT") == "1"
        else tmp_path / "dashboard.png"
    )
    screenshot.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.stat().st_size > 50_000
