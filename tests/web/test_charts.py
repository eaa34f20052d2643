"""The server-drawn SVG: every piece of text in a chart is escaped, so a label can never become markup."""

from __future__ import annotations

import math
import re

import pytest

from app.model.predict import Model, NotApplicableError
from app.web.charts import Series, _text, line_chart, model_card_charts, nomogram_svg
from app.web.i18n import STRINGS
from app.web.nomogram_chart import LAYOUTS
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
    drawings = select(root, "svg", cls="nomogram")
    assert len(drawings) == len(LAYOUTS)  # one per width class, each complete
    for drawing in drawings:
        labels = select(drawing, "text", cls="axis-label")
        assert [label.text for label in labels] == [
            "Points", "Surface depression", "Ki-67 " + NASTY + " (%)", "Chromogranin A (CgA)", "Total " + NASTY,
            "Risk of non-curative resection",
        ]  # fmt: skip
        for label in labels:
            assert_plain_text(label, label.text)
        ki67_axis = select_one(drawing, "g", {"data-name": "ki67_percent"})
        assert select_one(ki67_axis, "circle", cls="marker").get("aria-label") == "Ki-67 " + NASTY


# ---------------------------------------------------------------- the nomogram's drawing

DEMO = Model.from_file(DEMO_ARTIFACT)


def drawings_for(values: dict[str, float | None], lang: str = "en") -> list[Element]:
    """The page's drawings; a value outside the model's population gets no prediction, as on the page."""
    known = {k: v for k, v in values.items() if v is not None}
    try:
        prediction = DEMO.predict(values)
    except NotApplicableError:
        prediction = None
    return select(parse_html(str(nomogram_svg(DEMO, lang, prediction, known))), "svg", cls="nomogram")


def risk_ticks(drawing: Element) -> list[tuple[float, float]]:
    """(x of the tick, risk in %) for each risk label (the labels under the total/risk line)."""
    texts = [t for g in select(drawing, "g", cls="tick-label") for t in select(g, "text") if t.text.endswith("%")]
    return [(float(t.get("x")), float(t.text.rstrip("%"))) for t in texts]


def expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def test_the_risk_line_covers_every_risk_the_model_gives_and_is_labelled_below_10_percent():
    """The lowest risk (no depression, Ki-67 0, CgA negative) is the intercept's; the risk line
    starts there, where the total-points line starts, and a tick below 10 % is named."""
    lowest = expit(DEMO.artifact.coefficients["intercept"])
    assert lowest < 0.10  # the case the old axis (from 10 %) left off
    for drawing in drawings_for({"surface_depression": 0.0, "ki67_percent": 0.0, "cga_positive": 0.0}):
        marker = select_one(drawing, "circle", {"data-k": "m-total"})
        lines = [ln for ln in select(drawing, "line", cls="axis")]
        risk_line = lines[-1]
        assert float(marker.get("cx")) == pytest.approx(float(risk_line.get("x1")), abs=0.01)
        labelled = [risk for _, risk in risk_ticks(drawing)]
        assert min(labelled) < 10, labelled


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_risk_labels_sit_where_the_model_gives_that_risk(lang):
    """Each risk label's tick, read back through the total-points line, gives that risk by the
    artifact's own coefficients: total points T ↦ expit(b0 + T / points_per_logit) (all minima 0 here)."""
    geometry = DEMO.artifact.nomogram
    b0 = DEMO.artifact.coefficients["intercept"]
    for drawing in drawings_for({"surface_depression": 1.0, "ki67_percent": 5.0, "cga_positive": 1.0}, lang):
        line = select(drawing, "line", cls="axis")[-1]
        x1, x2 = float(line.get("x1")), float(line.get("x2"))
        ticks = risk_ticks(drawing)
        assert len(ticks) >= 3
        for x, risk in ticks:
            total = (x - x1) / (x2 - x1) * geometry.max_total_points
            shown_at = expit(b0 + total / geometry.points_per_logit)
            # the label may be pushed inwards at an edge; its tick line is exact
            if x1 + 20 < x < x2 - 20:
                assert 100 * shown_at == pytest.approx(risk, abs=0.05), (x, risk)


def test_a_value_beyond_the_axis_gets_an_arrow_and_words_and_the_marker_stays_at_the_end():
    for drawing in drawings_for({"surface_depression": 1.0, "ki67_percent": 30.0, "cga_positive": 1.0}):
        axis = select_one(drawing, "g", {"data-name": "ki67_percent"})
        note = select_one(axis, "text", {"data-k": "n-ki67_percent"})
        assert note.text == "30 % ▶ beyond the axis"
        marker = select_one(axis, "circle", cls="marker")
        assert float(marker.get("cx")) == pytest.approx(float(axis.get("data-px-hi")))
        assert marker.get("aria-valuenow") == "30" and marker.get("aria-valuemax") == "100"
        # Ki-67 30 % is grade G3: the known findings keep their markers, but no total or risk is marked.
        assert [m.get("data-k") for m in select(drawing, "circle", cls="marker")] == [
            "m-surface_depression",
            "m-ki67_percent",
            "m-cga_positive",
        ]
    for drawing in drawings_for({"surface_depression": 1.0, "ki67_percent": 20.0, "cga_positive": 1.0}):
        assert select_one(drawing, "text", {"data-k": "n-ki67_percent"}).text == ""


def test_known_markers_stay_when_a_finding_is_unknown():
    for drawing in drawings_for({"surface_depression": 1.0, "ki67_percent": 6.0, "cga_positive": None}):
        names = [g.get("data-name") for g in select(drawing, "g", cls="predictor-axis")]
        assert names == ["surface_depression", "ki67_percent"]  # the submodel without CgA
        markers = {m.get("data-k"): m.get("aria-valuenow") for m in select(drawing, "circle", cls="marker")}
        assert markers == {"m-surface_depression": "1", "m-ki67_percent": "6", "m-total": None}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_slider_value_texts_match_the_points_table_with_units(lang):
    values = {"surface_depression": 1.0, "ki67_percent": 4.5, "cga_positive": 0.0}
    prediction = DEMO.predict(values)
    unit = STRINGS[lang]["points_unit"]
    comma = {"en": ", ", "zh": "，"}[lang]  # written out: a Chinese comma in Chinese text
    for drawing in drawings_for(values, lang):
        texts = {
            m.get("data-k"): m.get("aria-valuetext") for m in select(drawing, "circle", cls="marker") if m.get("role")
        }
        assert texts["m-ki67_percent"] == f"4.5 %{comma}{prediction.points['ki67_percent']:.1f} {unit}"
        assert (
            texts["m-surface_depression"]
            == f"{STRINGS[lang]['yes']}{comma}{prediction.points['surface_depression']:.1f} {unit}"
        )
        assert texts["m-cga_positive"] == f"{STRINGS[lang]['negative']}{comma}0.0 {unit}"
        groups = select(drawing, "g", cls="tick-label")
        assert len(groups) == 6 and all(g.get("aria-hidden") == "true" for g in groups)  # points, 3 axes, total, risk


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
