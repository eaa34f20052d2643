"""Phones: the risk and its CI in view once the findings are entered, with JavaScript on and off,
in both languages; the first finding on the first screen; the demonstration banner on every page."""

from __future__ import annotations

import pytest

from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_calculator import api_predict, fill

PHONES = [(375, 812), (320, 640)]

IN_VIEW = """(selector) => {
  const el = [...document.querySelectorAll(selector)].find(e => e.getBoundingClientRect().height > 0);
  if (!el) { return null; }
  const r = el.getBoundingClientRect();
  const inside = r.top >= 0 && r.left >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
  // Nothing covers it: the topmost element at its centre is the element or inside it.
  const top = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
  return {inside, uncovered: Boolean(top && (el === top || el.contains(top))), text: el.textContent.trim()};
}"""


def shown_in_view(page, selectors: list[str]) -> dict | None:
    """The first of `selectors` that is rendered, fully inside the viewport and not covered."""
    for selector in selectors:
        found = page.evaluate(IN_VIEW, selector)
        if found and found["inside"] and found["uncovered"]:
            return found
    return None


def percent(p: float) -> str:
    return f"{100 * p:.1f} %"


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize(("width", "height"), PHONES)
@pytest.mark.parametrize("javascript", [True, False])
def test_risk_and_ci_are_in_view_after_the_last_finding(
    browser_context_factory, server, width, height, lang, javascript
):
    context = browser_context_factory(
        viewport={"width": width, "height": height}, java_script_enabled=javascript, has_touch=True, is_mobile=True
    )
    page = context.new_page()
    page.goto(server.url + f"/?lang={lang}")
    first = page.locator("input[name=surface_depression]").first.bounding_box()
    assert first["y"] + first["height"] <= height  # the first finding is on the first screen
    fill(page, ki67="4.5")  # the last finding entered: CgA
    expected = api_predict(server, surface_depression=True, ki67_percent=4.5, cga_positive=True)
    if javascript:
        page.wait_for_selector("#result-data[data-probability]")
        page.wait_for_selector("#result-bar:not([hidden])")
    else:
        page.click("button[type=submit]")  # a reload: it must land on the result, not the top
        page.wait_for_selector("#result-data[data-probability]")
    risk = shown_in_view(page, ["#result-bar .bar-value", "#result .risk-value"])
    ci = shown_in_view(page, ["#result-bar .bar-ci", "#result .ci"])
    assert risk is not None and ci is not None
    assert risk["text"] == percent(expected["probability"])
    lo, hi = (percent(v) for v in expected["ci95"])
    assert lo in ci["text"] and hi in ci["text"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"phone-{width}x{height}-{lang}-js{int(javascript)}.png"))
    page.close()


@pytest.mark.parametrize("path", ["/", "/model", "/docs", "/embed", "/?lang=zh"])
def test_the_demonstration_banner_is_on_every_page_and_on_the_first_screen(browser_context_factory, server, path):
    context = browser_context_factory(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(server.url + path)
    banner = page.locator(".banner.demo")
    assert banner.is_visible()
    box = banner.bounding_box()
    assert box["y"] + box["height"] <= 640
    assert page.evaluate("document.documentElement.scrollWidth") <= 320  # nothing wider than the phone
    page.close()
