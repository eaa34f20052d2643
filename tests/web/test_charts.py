"""The server-drawn SVG: every piece of text in a chart is escaped, so a label can never become markup."""

from __future__ import annotations

import re

import pytest

from app.model.predict import Model
from app.web.charts import Series, _text, line_chart, model_card_charts, nomogram_svg
from app.web.i18n import STRINGS
from tests.conftest import DEMO_ARTIFACT, REPO, Element, parse_html, select, select_one

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


# ------------------------------------------------------------------ curve charts read correctly (issue 13, item 6)

PLOT_CSS = (REPO / "static" / "css" / "app.css").read_text(encoding="utf-8")


def demo_charts(lang: str) -> dict[str, Element]:
    model = Model.from_file(DEMO_ARTIFACT)
    return {name: parse_html(str(svg)) for name, svg in model_card_charts(model, lang).items()}


def legend_texts(chart: Element) -> list[str]:
    return [label.text for label in select(chart, "text", cls="legend")]


def axis_map(chart: Element, *, vertical: bool) -> tuple[float, float]:
    """(intercept, slope) of pixel = intercept + slope · value, read from the tick labels the reader sees."""
    labels = [t for t in select(chart, "text", cls="tick-label") if (t.get("text-anchor") == "end") == vertical]
    pixels = [float(t.get("y")) - 4 if vertical else float(t.get("x")) for t in labels]  # y labels sit 4 below
    values = [float(t.text) for t in labels]
    slope = (pixels[-1] - pixels[0]) / (values[-1] - values[0])
    return pixels[0] - slope * values[0], slope


def points(polyline: Element) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (p.split(",") for p in polyline.get("points").split())]


def plot_rect(chart: Element) -> dict[str, float]:
    rect = select_one(chart, "rect", cls="plot")
    return {k: float(rect.get(k)) for k in ("x", "y", "width", "height")}


@pytest.mark.parametrize(("lang", "label"), [("en", "Chance (AUC = 0.5)"), ("zh", "随机猜测线（AUC = 0.5）")])
def test_roc_diagonal_is_labelled_as_the_chance_line(lang, label):
    roc = demo_charts(lang)["roc"]
    legends = legend_texts(roc)
    assert legends == [STRINGS[lang]["legend_model"], label]
    assert not any("Ideal" in text or "理想" in text or "/ 0.5" in text for text in legends)
    # the labelled line is the diagonal from (0, 0) to (1, 1)
    (x0, y0), (x1, y1) = points(select_one(roc, "polyline", cls="reference"))
    box = plot_rect(roc)
    assert (x0, y0) == (box["x"], box["y"] + box["height"]) and (x1, y1) == (box["x"] + box["width"], box["y"])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_decision_curve_treat_all_leaves_through_the_bottom_instead_of_flattening(lang):
    decision = demo_charts(lang)["decision"]
    model = Model.from_file(DEMO_ARTIFACT)
    prevalence = model.artifact.performance.events / model.artifact.performance.n  # 76 / 213
    box = plot_rect(decision)
    bottom = box["y"] + box["height"]
    x_int, x_slope = axis_map(decision, vertical=False)
    y_int, y_slope = axis_map(decision, vertical=True)
    # the y-axis starts a little below zero, as dcurves and rmda draw it, and reaches above the prevalence
    assert (bottom - y_int) / y_slope == pytest.approx(-0.05, abs=1e-3)
    assert (box["y"] - y_int) / y_slope > prevalence
    treat_all = [p for line in select(decision, "polyline", cls="treat-all") for p in points(line)]
    assert len(treat_all) > 10
    for px, py in treat_all:
        threshold = (px - x_int) / x_slope
        # Vickers & Elkin 2006: NB(treat all) = prevalence − (1 − prevalence) · t / (1 − t)
        expected = prevalence - (1 - prevalence) * threshold / (1 - threshold)
        assert (py - y_int) / y_slope == pytest.approx(expected, abs=2e-3)
    inside = [p for p in treat_all if p[1] <= bottom]
    below = [p for p in treat_all if p[1] > bottom]
    # one point beyond the edge carries the line out of the plot; nothing runs along the bottom edge
    assert len(below) == 1 and below[0][0] > max(x for x, _ in inside)
    assert sum(1 for _, py in treat_all if abs(py - bottom) < 0.5) <= 1
    # and that point is hidden by a clip path that is exactly the plot area
    group = next(e for e in decision.iter() if e.get("clip-path") and select(e, "polyline", cls="treat-all"))
    clip_id = group.get("clip-path").removeprefix("url(#").removesuffix(")")
    clip_rect = select_one(select_one(decision, "clippath", {"id": clip_id}), "rect")
    assert {k: float(clip_rect.get(k)) for k in ("x", "y", "width", "height")} == box


def effective_dash(element: Element) -> str:
    """The dash a printer draws: the stylesheet's rule for the element's class wins over the attribute."""
    for cls in sorted(element.classes - {"series"}):
        rule = re.search(r"\.series\." + re.escape(cls) + r"\s*\{([^}]*)\}", PLOT_CSS)
        css = rule and re.search(r"stroke-dasharray:\s*([^;]+);", rule.group(1))
        if css:
            return css.group(1).strip()
    return element.get("stroke-dasharray") or "solid"


def test_decision_curve_lines_differ_in_dash_pattern_for_grey_scale_print():
    decision = demo_charts("en")["decision"]
    by_class = {}
    for cls in ("model", "treat-all", "reference"):
        drawn = {effective_dash(e) for e in select(decision, "polyline", cls=cls)}
        legend = {effective_dash(e) for e in select(decision, "line", cls=cls)}
        assert len(drawn) == 1 and drawn == legend, cls  # the legend shows the line as drawn
        by_class[cls] = drawn.pop()
    assert by_class["model"] == "solid"
    assert len(set(by_class.values())) == 3, by_class
    # the attribute and the stylesheet agree, so the SVG alone (saved, pasted) looks the same
    for element in select(decision, "polyline") + select(decision, "line", cls="series"):
        if element.get("stroke-dasharray"):
            assert effective_dash(element) == element.get("stroke-dasharray")


def test_chart_legends_follow_the_page_language():
    for lang in ("en", "zh"):
        decision = demo_charts(lang)["decision"]
        assert legend_texts(decision) == [
            STRINGS[lang][key] for key in ("legend_model", "legend_treat_all", "legend_treat_none")
        ]
    assert legend_texts(demo_charts("zh")["decision"]) == ["模型", "全部干预", "均不干预"]


def test_a_line_leaving_and_re_entering_the_range_is_drawn_as_two_stretches():
    # y-range 0…1 on 234 px; the line leaves above, runs far outside, comes back, leaves below
    ys = [0.5, 0.9, 1.5, 4.0, 9.0, 1.2, 0.6, 0.3, -0.4, -3.0, -8.0]
    svg = line_chart(title="t", x_label="x", y_label="y", x_range=(0, 1), y_range=(0, 1),
                     series=[Series("s", [i / 10 for i in range(11)], ys, "model")])  # fmt: skip
    lines = [points(p) for p in select(svg, "polyline")]
    pixel = [250 - y * 234 for y in ys]
    assert [[y for _, y in line] for line in lines] == [
        pytest.approx(pixel[0:3], abs=0.01), pytest.approx(pixel[5:9], abs=0.01),
    ]  # fmt: skip
    # never clamped onto the edges
    assert not any(y in (16.0, 250.0) for line in lines for _, y in line)
