"""Accessibility at 320 px (axe, focus ring contrast, one-sentence announcements, skip link) and
the printout (one A4 page, stamped with date and model)."""

from __future__ import annotations

import re

import pytest

from tests.browser.conftest import SCREENSHOTS, VISIBLE_SVG, wait_until
from tests.browser.test_calculator import AXE, api_predict, assert_stamped_now, fill


@pytest.mark.parametrize(
    "path", ["/", "/?lang=zh", "/model", "/docs", "/embed?surface_depression=1&ki67_percent=5&cga_positive=1"]
)
def test_axe_finds_nothing_at_320_px(browser_context_factory, server, path):
    context = browser_context_factory(viewport={"width": 320, "height": 640})
    page = context.new_page()
    page.goto(server.url + path)
    if path.startswith("/?") or path == "/":
        fill(page)
        page.wait_for_selector("#result-data[data-probability]")
    page.evaluate(AXE)
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    violations = [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]]
    assert violations == []
    page.close()


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2 relative luminance of an sRGB colour."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def rgb(css: str) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in re.findall(r"\d+", css)[:3])
    return r, g, b


def test_focus_ring_contrasts_3_to_1_with_what_is_behind_it(page, server):
    page.goto(server.url + "/")
    fill(page)
    page.wait_for_selector("#copy-summary:not([hidden])")
    for selector in ("button[type=submit]", "#copy-summary", "#ki67_percent"):
        page.focus(selector)
        page.keyboard.press("Shift+Tab")
        page.keyboard.press("Tab")  # keyboard focus: :focus-visible applies
        ring = page.evaluate(f"getComputedStyle(document.querySelector('{selector}')).outlineColor")
        width = page.evaluate(f"parseFloat(getComputedStyle(document.querySelector('{selector}')).outlineWidth)")
        behind = page.evaluate(
            f"(() => {{ let e = document.querySelector('{selector}').parentElement;"
            " while (e && getComputedStyle(e).backgroundColor === 'rgba(0, 0, 0, 0)') { e = e.parentElement; }"
            " return e ? getComputedStyle(e).backgroundColor : 'rgb(255, 255, 255)'; })()"
        )
        assert width >= 2
        assert contrast(rgb(ring), rgb(behind)) >= 3, (selector, ring, behind)
        assert contrast(rgb(ring), (255, 255, 255)) >= 3
    marker = page.locator(f"{VISIBLE_SVG} [data-k=m-ki67_percent]")
    marker.focus()
    stroke = page.evaluate("getComputedStyle(document.activeElement).stroke")
    assert contrast(rgb(stroke), (244, 246, 249)) >= 3  # the nomogram panel's background


def test_the_live_region_announces_one_sentence_risk_and_ci(page, server):
    page.goto(server.url + "/")
    fill(page, ki67="4")
    page.wait_for_selector("#result-data[data-probability]")
    page.locator(f"{VISIBLE_SVG} [data-k=m-ki67_percent]").focus()
    page.keyboard.press("ArrowRight")
    wait_until(page, "document.querySelector('#result-data[data-ki67-percent=\"4.5\"]') !== null")
    expected = api_predict(server, surface_depression=True, ki67_percent=4.5, cga_positive=True)
    lo, hi = expected["ci95"]
    sentence = f"Risk {100 * expected['probability']:.1f} %, 95 % CI {100 * lo:.1f} % to {100 * hi:.1f} %."
    wait_until(page, "document.getElementById('announce').textContent.length > 0")
    assert page.text_content("#announce") == sentence
    # Nothing else on the page is live: the result panel itself is re-rendered silently.
    live = page.evaluate(
        "[...document.querySelectorAll('[aria-live], [role=status], [role=alert], [role=log]')]"
        ".filter(e => e.textContent.trim()).map(e => e.id)"
    )
    assert live == ["announce"]


def test_a_skip_link_is_the_first_stop_and_skips_the_navigation(page, server):
    page.goto(server.url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    assert page.evaluate("document.activeElement.getBoundingClientRect().top >= 0")  # shown when focused
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    # The next stop is inside the main content, past the five header links.
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")


def pdf_pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("ki67", ["4.5", "20"])
def test_a_result_prints_on_one_a4_page_with_date_and_model(page, server, lang, ki67):
    page.goto(server.url + f"/?lang={lang}")
    fill(page, ki67=ki67)
    page.wait_for_selector("#result-data[data-probability]")
    pdf = page.pdf(format="A4", print_background=True)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / f"print-{lang}-{ki67}.pdf").write_bytes(pdf)
    assert pdf_pages(pdf) == 1
    page.emulate_media(media="print")
    line = " ".join(page.text_content("#summary-line").split())
    assert page.is_visible("#summary-line") and page.is_visible(".banner.demo")
    assert "rnet-demo-v1" in line
    if lang == "en":
        assert_stamped_now(line)
    else:
        assert re.search(r"计算时间 \d{4}-\d\d-\d\d \d\d:\d\d UTC", line)
    page.emulate_media(media="screen")
