"""The server-drawn SVG: every piece of text in a chart is escaped, so a label can never become markup."""

from __future__ import annotations

import re

import pytest

from app.model.predict import Model
from app.web.charts import Series, _text, line_chart, nomogram_svg
from app.web.i18n import STRINGS
from tests.conftest import DEMO_ARTIFACT, Element, parse_html, select, select_one

NASTY = "<script>alert(1)</script> & \"quoted\" 'single' <i>x</i>"


def assert_plain_text(element: Element, expected: str) -> None:
    """The element holds `expected` as text only: no child element was made out of it."""
    assert [child for child in element.children if isinstance(child, Element)] == []
    assert element.text == expected


def raw_content(svg: str, start: str) -> str:
    """What stands in the source between `start`'s closing '>' and the next '</'."""
    after = svg[svg.index(start) :]
    return after[after.index(">") + 1 : after.index("</")]


@pytest.mark.parametrize("content", ["a<b", "R&D", 'say "no"', "it's", NASTY, "&lt; stays as typed", "Ki-67 ≤ 20 %"])
def test_svg_text_escapes_markup_characters(content):
    svg = _text(10, 20.5, content, cls="legend", anchor="start")
    element = select_one(svg, "text")
    assert element.attrs == {"x": "10", "y": "20.5", "text-anchor": "start", "class": "legend"}
    assert_plain_text(element, content)
    source = raw_content(svg, "<text")
    assert "<" not in source and ">" not in source and '"' not in source
    # Every & in the source starts an entity: a typed "&lt;" must come out as "&amp;lt;", not as "<".
    assert "&" not in re.sub(r"&(amp|lt|gt|quot|#x27|#39|#34);", "", source)


def test_svg_text_of_a_plain_label_is_unchanged():
    assert _text(1.234, 5, "Sensitivity") == '<text x="1.23" y="5" text-anchor="middle">Sensitivity</text>'


def test_line_chart_escapes_title_axis_titles_and_legend():
    svg = line_chart(
        title="ROC <b>" + NASTY,
        x_label="x " + NASTY,
        y_label="y " + NASTY,
        series=[Series("legend " + NASTY, [0, 1], [0, 1], "model")],
        x_range=(0, 1),
        y_range=(0, 1),
    )
    root = parse_html(str(svg))
    assert select(root, "script") == [] and select(root, "i") == [] and select(root, "b") == []
    chart = select_one(root, "svg", cls="chart")
    assert chart.get("aria-label") == "ROC <b>" + NASTY
    assert_plain_text(select_one(chart, "title"), "ROC <b>" + NASTY)
    axis_titles = select(chart, "text", cls="axis-title")
    assert len(axis_titles) == 2
    assert_plain_text(axis_titles[0], "x " + NASTY)
    assert_plain_text(axis_titles[1], "y " + NASTY)
    assert_plain_text(select_one(chart, "text", cls="legend"), "legend " + NASTY)


def test_nomogram_escapes_its_labels(monkeypatch):
    # Labels come from the translation table; one with markup characters must stay text.
    monkeypatch.setitem(STRINGS["en"], "total_points", "Total " + NASTY)
    monkeypatch.setitem(STRINGS["en"], "ki67_percent", "Ki-67 " + NASTY)
    model = Model.from_file(DEMO_ARTIFACT)
    values = {"surface_depression": 1.0, "ki67_percent": 5.0, "cga_positive": 1.0}
    svg = str(nomogram_svg(model, "en", model.predict(values), values))
    root = parse_html(svg)
    assert select(root, "script") == [] and select(root, "i") == []
    labels = select(root, "text", cls="axis-label")
    assert [label.text for label in labels] == [
        "Points", "Surface depression", "Ki-67 " + NASTY + " (%)", "Chromogranin A (CgA)", "Total " + NASTY,
        "Risk of non-R0 resection",
    ]  # fmt: skip
    for label in labels:
        assert_plain_text(label, label.text)
    ki67_axis = select_one(root, "g", {"data-name": "ki67_percent"})
    assert select_one(ki67_axis, "circle", cls="marker").get("aria-label") == "Ki-67 " + NASTY
