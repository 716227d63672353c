"""Headless Chromium (Debian's package), driven by Playwright: a page per test; a failing test leaves a screenshot,
whose path it prints."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, async_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
async def page(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        page = await browser.new_page()
        dialogs: list[str] = []
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        page.dialogs = dialogs  # type: ignore[attr-defined]
        try:
            yield page
        finally:
            if getattr(request.node, "failed", False):
                shot = tmp_path / f"{request.node.name}.png"
                await page.screenshot(path=str(shot), full_page=True)
                print(f"screenshot of the failure: {shot}")
            await browser.close()
