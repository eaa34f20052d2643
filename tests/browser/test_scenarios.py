"""Scenario comparison in a real Chromium: results kept in a table held only by the page, New patient clears all."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.browser.conftest import SCREENSHOTS, wait_until
from tests.browser.test_calculator import api_predict


def rows(page) -> list[list[str]]:
    return page.eval_on_selector_all(
        "#scenarios tbody tr", "trs => trs.map(tr => Array.from(tr.cells, td => td.textContent))"
    )


def wait_for_risk(page, probability: float) -> None:
    wait_until(
        page,
        "(() => { const d = document.querySelector('#result-data[data-probability]');"
        f" return d !== null && Math.abs(parseFloat(d.dataset.probability) - {probability!r}) < 1e-12; }})()",
    )


def percent(p: float) -> str:
    """As the page writes a risk (one decimal, "> 99 %" above 99 %), worked out here."""
    return "> 99 %" if p > 0.99 else "< 1 %" if p < 0.01 else f"{100 * p:.1f} %"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_kept_results_are_compared_in_a_table_and_new_patient_clears_everything(page, server, lang):
    words = {
        "en": {"yes": "Yes", "positive": "Positive", "unknown": "not yet known", "kept": "Kept in the comparison table.",
               "already": "Already in the comparison table.", "placeholder": "Enter the findings"},
        "zh": {"yes": "是", "positive": "阳性", "unknown": "尚未获得", "kept": "已加入比较表。",
               "already": "比较表中已有此方案。", "placeholder": "输入检查结果"},
    }[lang]  # fmt: skip
    page.goto(f"{server.url}/?lang={lang}")
    assert page.is_hidden("#scenarios") and page.is_hidden("#keep-scenario")  # nothing to keep yet
    # Opened from a link that names the patient's findings (as a CDS card's link does).
    page.goto(f"{server.url}/?lang={lang}&surface_depression=1&ki67_percent=5&cga_positive=1")
    loaded = len(page.requests)
    # The findings come from the address (no typing, hence no live update still on its way when Keep is pressed).
    first = api_predict(server, surface_depression=True, ki67_percent=5.0, cga_positive=True)
    wait_for_risk(page, first["probability"])
    requests_before = len(page.requests)
    page.click("#keep-scenario")
    assert page.text_content("#keep-status") == words["kept"]
    assert len(page.requests) == requests_before  # keeping sends nothing
    page.click("#keep-scenario")
    assert page.text_content("#keep-status") == words["already"]

    page.check('input[name=cga_positive][value="unknown"]')
    second = api_predict(server, surface_depression=True, ki67_percent=5.0, cga_positive=None)
    wait_for_risk(page, second["probability"])
    page.click("#keep-scenario")
    assert rows(page) == [
        ["1", words["yes"], "5 %", words["positive"], percent(first["probability"]),
         f"{percent(first['ci95'][0])} – {percent(first['ci95'][1])}"],
        ["2", words["yes"], "5 %", words["unknown"], percent(second["probability"]),
         f"{percent(second['ci95'][0])} – {percent(second['ci95'][1])}"],
    ]  # fmt: skip
    assert page.is_visible("#scenarios")
    # Held by the page alone: no storage, no cookie, no request to anywhere but the calculator's own partials.
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert page.context.cookies() == []
    assert {urlparse(u).path for u in page.requests[loaded:] if "/static/" not in u} <= {"/partials/result"}
    page.locator("#scenarios").screenshot(path=str(SCREENSHOTS / f"scenarios-{lang}.png"))

    page.click("#new-patient")
    wait_until(page, "document.querySelector('#result-data') === null")
    assert urlparse(page.url).query == f"lang={lang}"  # a reload does not bring the last patient back
    assert page.is_hidden("#scenarios") and rows(page) == []
    assert page.input_value("#ki67_percent") == ""
    assert (
        page.evaluate(
            "Array.from(document.querySelectorAll('#calculator-form input[type=radio]')).some(r => r.checked)"
        )
        is False
    )
    assert page.text_content("#result p.placeholder").startswith(words["placeholder"])
    assert page.evaluate("document.activeElement.name") == "surface_depression"
    assert page.console_errors == []


def test_new_patient_without_javascript_is_a_link_to_the_empty_form(browser_context_factory, server):
    context = browser_context_factory(viewport={"width": 375, "height": 800}, java_script_enabled=False)
    page = context.new_page()
    page.goto(server.url + "/?lang=zh&surface_depression=1&ki67_percent=5&cga_positive=1")
    assert page.is_visible("#result-data")
    page.click("#new-patient")
    page.wait_for_load_state()
    assert urlparse(page.url).path == "/" and urlparse(page.url).query == "lang=zh"
    assert page.input_value("#ki67_percent") == ""
    assert page.query_selector("#result-data") is None
    page.close()
