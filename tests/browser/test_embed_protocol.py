"""The embedding protocol end to end: the shipped example host page (static/example) on its own
origin frames the calculator, hears rnet:ready / rnet:resize / rnet:result / rnet:invalid /
rnet:cleared, and sets findings with rnet:set-findings."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.browser.conftest import Server, wait_until
from tests.browser.test_calculator import api_predict
from tests.browser.test_embed import host_sites as host_sites  # a fixture
from tests.conftest import REPO

EXAMPLE = REPO / "static" / "example"


@pytest.fixture
def hosted(browser_context_factory, host_sites):
    """The example host page served from another origin, named in RNET_FRAME_ANCESTORS."""
    site = host_sites()
    for name in ("embed-host.html", "embed-host.js", "embed-host.css"):
        site.pages["/" + name] = (EXAMPLE / name).read_bytes()
    calculator = Server(env={"RNET_FRAME_ANCESTORS": site.origin})
    context = browser_context_factory(viewport={"width": 1200, "height": 1000})

    def open_host(query: str = "", panel_width: int = 420):
        page = context.new_page()
        page.goto(f"{site.origin}/embed-host.html?calculator=" + quote(f"{calculator.url}/embed{query}", safe=""))
        page.evaluate(f"() => document.body.style.setProperty('--panel-width', '{panel_width}px')")
        wait_until(page, "window.rnetExample.received.some(m => m.type === 'rnet:ready')", seconds=15)
        return page

    yield calculator, open_host
    calculator.stop()


def calculator_frame(page):
    frame = page.frame(name="calculator")
    assert frame is not None and "/embed" in frame.url
    return frame


def received(page) -> list[dict]:
    return page.evaluate("window.rnetExample.received.slice()")


def next_of(page, kind: str, after: int) -> dict:
    """The first message of `kind` after the first `after` messages."""
    wait_until(page, f"window.rnetExample.received.slice({after}).some(m => m.type === '{kind}')")
    return next(m for m in received(page)[after:] if m["type"] == kind)


def test_ready_result_invalid_cleared_and_resize(hosted):
    calculator, open_host = hosted
    page = open_host()
    ready = received(page)[0]
    api_model = api_predict(calculator, surface_depression=True, ki67_percent=5, cga_positive=True)["model"]
    model = {key: api_model[key] for key in ("id", "sha256", "source")}
    assert ready == {"type": "rnet:ready", "model": model}
    first_resize = next_of(page, "rnet:resize", 0)
    assert first_resize["height"] > 200

    # The host fills the form from its record; the calculator answers with the result.
    count = len(received(page))
    page.evaluate("window.rnetExample.setFindings({surface_depression: true, ki67_percent: 7, cga_positive: false})")
    result = next_of(page, "rnet:result", count)
    expected = api_predict(calculator, surface_depression=True, ki67_percent=7, cga_positive=False)
    assert result["findings"] == {"surface_depression": True, "ki67_percent": 7, "cga_positive": False}
    assert result["probability"] == pytest.approx(expected["probability"], abs=1e-12)
    assert result["ci95"] == pytest.approx(expected["ci95"], abs=1e-12)
    assert result["applicable"] is True and result["extrapolation"] is False
    assert result["model"] == model
    assert "Ki-67 7 %" in result["summary"] and "CgA Negative" in result["summary"]
    count_of_100 = round(100 * expected["probability"])  # not at a .5 boundary for these findings
    assert result["interpretation"].startswith(f"About {count_of_100} of 100 lesions with these findings ")
    assert "demonstration model" in result["notice"]  # the caveat travels with the number
    frame = calculator_frame(page)
    assert frame.input_value("#ki67_percent") == "7" and frame.is_checked('input[name=cga_positive][value="0"]')
    # The example host shows it.
    assert page.text_content("#risk").startswith(f"{100 * expected['probability']:.1f} %")

    # The document grew with the result: the host is told the new height and sizes the frame to it.
    settled = (
        "(() => { const r = window.rnetExample.received.filter(m => m.type === 'rnet:resize');"
        " return r.length >= 2 && window.rnetExample.frame.clientHeight === r[r.length - 1].height; })()"
    )
    wait_until(page, settled)
    last = [m for m in received(page) if m["type"] == "rnet:resize"][-1]
    assert last["height"] > first_resize["height"]
    assert last["height"] == frame.evaluate("Math.ceil(document.documentElement.getBoundingClientRect().height)")

    # Findings the model cannot take: the host is told, with the message per field, and drops the old risk.
    count = len(received(page))
    page.evaluate(
        "window.rnetExample.setFindings({surface_depression: 'maybe', ki67_percent: 150, cga_positive: true})"
    )
    invalid = next_of(page, "rnet:invalid", count)
    assert set(invalid["errors"]) == {"surface_depression", "ki67_percent"}
    assert "150" in invalid["errors"]["ki67_percent"]
    assert page.text_content("#risk") == "—"
    assert "rnet:result" not in [m["type"] for m in received(page)[count:]]

    # Not-yet-known findings: null, answered by the submodel.
    count = len(received(page))
    page.evaluate("window.rnetExample.setFindings({surface_depression: false, ki67_percent: null, cga_positive: null})")
    result = next_of(page, "rnet:result", count)
    expected = api_predict(calculator, surface_depression=False, ki67_percent=None, cga_positive=None)
    assert result["findings"] == {"surface_depression": False, "ki67_percent": None, "cga_positive": None}
    assert result["probability"] == pytest.approx(expected["probability"], abs=1e-12)

    # Everything emptied: cleared.
    count = len(received(page))
    page.evaluate("window.rnetExample.setFindings({})")
    assert next_of(page, "rnet:cleared", count) == {"type": "rnet:cleared"}
    page.close()


def test_a_g3_lesion_is_reported_without_a_risk_and_the_user_in_the_frame_too(hosted):
    """Ki-67 30 % is outside the population (G1/G2): the host is told, with no number to show."""
    calculator, open_host = hosted
    page = open_host("?surface_depression=1&ki67_percent=30&cga_positive=1")
    result = next_of(page, "rnet:result", 0)
    assert result["applicable"] is False and result["probability"] is None and result["ci95"] is None
    assert result["interpretation"] is None  # no number, no sentence about one
    assert "G3" in result["notice"] and result["findings"]["ki67_percent"] == 30
    count = len(received(page))
    frame = calculator_frame(page)
    frame.fill("#ki67_percent", "abc")
    invalid = next_of(page, "rnet:invalid", count)
    assert list(invalid["errors"]) == ["ki67_percent"]
    page.close()


def test_set_findings_from_anyone_but_the_named_host_is_ignored(hosted):
    calculator, open_host = hosted
    page = open_host("?surface_depression=1&ki67_percent=5&cga_positive=1")
    next_of(page, "rnet:result", 0)
    frame = calculator_frame(page)
    # A message from the calculator's own origin (not a named host) and not from the parent window.
    frame.evaluate(
        "() => window.postMessage({type: 'rnet:set-findings', findings: {surface_depression: false, ki67_percent: 19, cga_positive: false}}, '*')"
    )
    # Then a sentinel from the real host: when its answer is in, the forged one would have been answered first.
    count = len(received(page))
    page.evaluate("window.rnetExample.setFindings({surface_depression: true, ki67_percent: 6, cga_positive: true})")
    result = next_of(page, "rnet:result", count)
    assert result["findings"]["ki67_percent"] == 6
    assert [m["findings"]["ki67_percent"] for m in received(page)[count:] if m["type"] == "rnet:result"] == [6]
    page.close()


@pytest.mark.parametrize("width", [400, 600])
def test_compact_embed_shows_the_result_in_the_first_700_px(hosted, width):
    calculator, open_host = hosted
    page = open_host("?surface_depression=1&ki67_percent=5&cga_positive=1", panel_width=width)
    next_of(page, "rnet:result", 0)
    frame = calculator_frame(page)
    assert frame.evaluate("document.documentElement.clientWidth") <= width
    bottom = frame.evaluate(
        "(() => { const r = document.querySelector('#result .ci').getBoundingClientRect(); return r.bottom + window.scrollY; })()"
    )
    assert bottom <= 700
    page.close()
