"""Debian's Chromium, driven by Playwright for Python, for the example's browser tests.

Imported by a test module, it skips that module, saying what is missing, without
Playwright for Python; :data:`needs_chromium` skips it without ``chromium`` on PATH.
Playwright's own browser download is not used.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from typing import Any

import pytest

__all__ = ["CHROMIUM", "launched", "needs_chromium", "sync_api"]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright for Python is not installed (pip install playwright)"
)
CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium)"
)
#: Headless as root on a machine with no outside network: without the background
#: networking turned off, Chromium's own connections are refused, many at a time.
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
#: How long actions and assertions wait: a loaded CI machine may take more than
#: Playwright's 5 s default to carry a task through wrap-up to completed.
TIMEOUT_MS = 15_000


@contextlib.contextmanager
def launched() -> Iterator[Any]:
    """A headless Chromium, closed afterwards; assertions wait :data:`TIMEOUT_MS`."""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            sync_api.expect.set_options(timeout=TIMEOUT_MS)
            yield browser
        finally:
            browser.close()
