"""Browser tests: Debian's Chromium driven by Playwright against a real server on 127.0.0.1.

Chromium is required, never skipped: scripts/test.sh installs it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, free_port, wait_for

CHROMIUM = os.environ.get("RNET_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-quic",
]  # fmt: skip
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"


def wait_ready(url: str, seconds: float = 30.0) -> None:
    wait_for(url, seconds)


def wait_until(page, expression: str, seconds: float = 10.0) -> None:
    """Poll a JavaScript expression through the DevTools protocol.

    Playwright's wait_for_function evaluates strings with eval, which the
    page's Content-Security-Policy rightly forbids; the tests keep the CSP on.
    """
    deadline = time.monotonic() + seconds
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        page.wait_for_timeout(50)


class Server:
    def __init__(self, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app", "serve", "--port", str(self.port)],
            cwd=REPO, env={**os.environ, **(env or {})}, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_ready(self.url + "/readyz")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=15)
        self._log.close()


@pytest.fixture(scope="session")
def server():
    instance = Server()
    yield instance
    instance.stop()


@pytest.fixture(scope="session")
def browser_context_factory():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.fail(f"Chromium not found at {CHROMIUM}: install Debian's chromium (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        contexts = []

        def make(**options):
            profile = tempfile.mkdtemp(prefix="rnet-chromium-")
            context = playwright.chromium.launch_persistent_context(
                profile, executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, **options
            )
            contexts.append((context, profile))
            return context

        yield make
        for context, profile in contexts:
            context.close()
            shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def page(browser_context_factory, server):
    """A page that records every request it makes, and console errors."""
    context = browser_context_factory(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.requests = []  # type: ignore[attr-defined]
    page.console_errors = []  # type: ignore[attr-defined]
    page.on("request", lambda request: page.requests.append(request.url))
    page.on("console", lambda message: message.type == "error" and page.console_errors.append(message.text))
    yield page
    page.close()


VISIBLE_SVG = "#nomogram-figure svg.nomogram:visible"


def axis_point(page, name: str, value: float) -> tuple[float, float]:
    """The viewport point of `value` on the visible drawing's axis `name`, from the axis's data attributes
    (its ends in viewBox units) and the drawing's viewBox; scrolls the axis into view first."""
    axis = page.locator(f"{VISIBLE_SVG} .predictor-axis[data-name={name}]")
    axis.locator(".axis").scroll_into_view_if_needed()
    lo, hi, px_lo, px_hi = (float(axis.get_attribute(a)) for a in ("data-lo", "data-hi", "data-px-lo", "data-px-hi"))
    svg = page.locator(VISIBLE_SVG)
    box = svg.bounding_box()
    view_width = float(svg.get_attribute("viewBox").split()[2])
    scale = box["width"] / view_width
    x = box["x"] + scale * (px_lo + (value - lo) / (hi - lo) * (px_hi - px_lo))
    line = axis.locator(".axis").bounding_box()
    return x, line["y"] + line["height"] / 2
