"""Inline SVG, drawn on the server from the artifact: the model card's curves (and, from
`nomogram_chart`, the calculator's nomogram).

No JavaScript is needed to see any chart; the calculator's script only
moves the nomogram's markers.  Sizes are in viewBox units, so the charts
scale with their container and print crisply.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from app.model.predict import Model
from app.web.i18n import STRINGS
from app.web.nomogram_chart import nomogram_svg

__all__ = ["Series", "curve_charts", "line_chart", "model_card_charts", "nomogram_svg"]


def _fmt(value: float) -> str:
    """Coordinates with two decimals: enough for print, small for the page weight."""
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, content: str, *, cls: str = "", anchor: str = "middle") -> str:
    klass = f' class="{cls}"' if cls else ""
    return f'<text x="{_fmt(x)}" y="{_fmt(y)}" text-anchor="{anchor}"{klass}>{escape(content)}</text>'


# ---------------------------------------------------------------- line charts

CHART_W, CHART_H = 360, 300
PLOT_L, PLOT_R, PLOT_T, PLOT_B = 52, 344, 16, 250
# Dash patterns that tell the lines apart in grey-scale print, as presentation attributes (the
# stylesheet sets colour and width; it sets no dash for these classes, or the same one).
DASH_CHANCE = "5 4"  # reference lines: ROC chance diagonal, ideal calibration, treat none
DASH_TREAT_ALL = "8 3 2 3"  # dash-dot


@dataclass(frozen=True)
class Series:
    label: str
    xs: list[float]
    ys: list[float]
    cls: str
    low: list[float] | None = None  # error bars, for grouped points
    high: list[float] | None = None
    points_only: bool = False
    dash: str | None = None  # stroke-dasharray; None draws a solid line


def _visible_runs(pairs: list[tuple[float, float]], y0: float, y1: float) -> list[list[tuple[float, float]]]:
    """The stretches of a line worth drawing: points inside [y0, y1] and their neighbours outside it.

    The neighbour outside carries the segment across the plot's edge, where the clip path cuts it,
    so a line that leaves the range is seen to leave (treat-all falling below −0.05) instead of
    running along the edge; points further out would be invisible and are left out.
    """
    inside = [y0 <= y <= y1 for _, y in pairs]
    keep = [inside[i] or (i > 0 and inside[i - 1]) or (i + 1 < len(pairs) and inside[i + 1]) for i in range(len(pairs))]
    runs: list[list[tuple[float, float]]] = []
    previous = False
    for pair, kept in zip(pairs, keep, strict=True):
        if kept and not previous:
            runs.append([])
        if kept:
            runs[-1].append(pair)
        previous = kept
    return [run for run in runs if len(run) > 1]


def _clip_id(title: str, series: list[Series]) -> str:
    """An id for the plot's clip path, the same for the same chart, different for different charts
    on one page (ids are global to the HTML document)."""
    import hashlib

    digest = hashlib.sha256(repr((title, [(s.cls, s.xs, s.ys) for s in series])).encode()).hexdigest()
    return "plot-clip-" + digest[:10]


def _ticks(lo: float, hi: float) -> list[float]:
    span = hi - lo
    step = next(s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0) if span / s <= 6)
    start = round(lo / step) * step
    values = []
    v = start
    while v <= hi + 1e-9:
        if v >= lo - 1e-9:
            values.append(round(v, 6))
        v += step
    return values


def line_chart(
    *,
    title: str,
    x_label: str,
    y_label: str,
    series: list[Series],
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    histogram: dict[str, list[float]] | None = None,
) -> Markup:
    """A small, printable line chart with axes, ticks, a legend, optional error bars, and an
    optional two-sided histogram along the bottom (events up, non-events down), as `val.prob`."""
    (x0, x1), (y0, y1) = x_range, y_range

    def sx(v: float) -> float:
        return PLOT_L + (v - x0) / (x1 - x0) * (PLOT_R - PLOT_L)

    def sy(v: float) -> float:
        # Not clamped: values outside the y-range fall outside the plot and the clip path hides them.
        return PLOT_B - (v - y0) / (y1 - y0) * (PLOT_B - PLOT_T)

    def dash(s: Series) -> str:
        return f' stroke-dasharray="{s.dash}"' if s.dash else ""

    legend_h = 16 * len(series)
    clip = _clip_id(title, series)
    parts = [
        f'<svg class="chart" viewBox="0 0 {CHART_W} {CHART_H + legend_h}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<defs><clipPath id="{clip}"><rect x="{PLOT_L}" y="{PLOT_T}" width="{PLOT_R - PLOT_L}" '
        f'height="{PLOT_B - PLOT_T}"/></clipPath></defs>',
        f'<rect class="plot" x="{PLOT_L}" y="{PLOT_T}" width="{PLOT_R - PLOT_L}" height="{PLOT_B - PLOT_T}"/>',
    ]
    for v in _ticks(x0, x1):
        parts.append(f'<line class="grid" x1="{_fmt(sx(v))}" y1="{PLOT_T}" x2="{_fmt(sx(v))}" y2="{PLOT_B}"/>')
        parts.append(_text(sx(v), PLOT_B + 16, f"{v:g}", cls="tick-label"))
    for v in _ticks(y0, y1):
        parts.append(f'<line class="grid" x1="{PLOT_L}" y1="{_fmt(sy(v))}" x2="{PLOT_R}" y2="{_fmt(sy(v))}"/>')
        parts.append(_text(PLOT_L - 6, sy(v) + 4, f"{v:g}", cls="tick-label", anchor="end"))
    parts.append(_text((PLOT_L + PLOT_R) / 2, PLOT_B + 34, x_label, cls="axis-title"))
    parts.append(
        f'<text class="axis-title" text-anchor="middle" transform="translate(14 {_fmt((PLOT_T + PLOT_B) / 2)}) rotate(-90)">'
        f"{escape(y_label)}</text>"
    )
    if histogram:
        base_y = PLOT_B - 22
        peak = max(max(histogram["events"]), max(histogram["non_events"]), 1)
        edges = histogram["edges"]
        for i in range(len(edges) - 1):
            if edges[i] >= x1:
                break
            left, right = sx(edges[i]) + 0.5, sx(min(edges[i + 1], x1)) - 0.5
            up = 18 * histogram["events"][i] / peak
            down = 18 * histogram["non_events"][i] / peak
            if up:
                parts.append(
                    f'<rect class="bar events" x="{_fmt(left)}" y="{_fmt(base_y - up)}" width="{_fmt(right - left)}" height="{_fmt(up)}"/>'
                )
            if down:
                parts.append(
                    f'<rect class="bar non-events" x="{_fmt(left)}" y="{_fmt(base_y)}" width="{_fmt(right - left)}" height="{_fmt(down)}"/>'
                )
    parts.append(f'<g class="plotted" clip-path="url(#{clip})">')
    for s in series:
        pairs = [(x, y) for x, y in zip(s.xs, s.ys, strict=True) if x is not None and y is not None and x0 <= x <= x1]
        if not s.points_only:
            for run in _visible_runs(pairs, y0, y1):
                path = " ".join(f"{_fmt(sx(x))},{_fmt(sy(y))}" for x, y in run)
                parts.append(f'<polyline class="series {s.cls}"{dash(s)} points="{path}"/>')
        if s.points_only:
            for i, (x, y) in enumerate(zip(s.xs, s.ys, strict=True)):
                if s.low is not None and s.high is not None:
                    parts.append(
                        f'<line class="errorbar {s.cls}" x1="{_fmt(sx(x))}" y1="{_fmt(sy(s.low[i]))}" '
                        f'x2="{_fmt(sx(x))}" y2="{_fmt(sy(s.high[i]))}"/>'
                    )
                parts.append(f'<circle class="dot {s.cls}" cx="{_fmt(sx(x))}" cy="{_fmt(sy(y))}" r="3"/>')
    parts.append("</g>")
    for i, s in enumerate(series):
        ly = CHART_H + 4 + 16 * i
        parts.append(f'<line class="series {s.cls}"{dash(s)} x1="{PLOT_L}" y1="{ly}" x2="{PLOT_L + 24}" y2="{ly}"/>')
        parts.append(_text(PLOT_L + 30, ly + 4, s.label, cls="legend", anchor="start"))
    parts.append("</svg>")
    return Markup("".join(parts))


def model_card_charts(model: Model, lang: str) -> dict[str, Markup]:
    """ROC, calibration and decision curves from the artifact's stored curves."""
    extra = model.artifact.performance.model_extra or {}
    return curve_charts(model.artifact.curves, lang, prevalence=extra.get("prevalence"))


def curve_charts(curves: dict, lang: str, *, prevalence: float | None = None) -> dict[str, Markup]:
    """The three charts of the model card and of the validation report, from stored curves."""
    text = STRINGS[lang]
    if not curves:
        return {}
    roc = curves["roc"]
    charts = {
        "roc": line_chart(
            title=text["roc_heading"],
            x_label=text["fpr"],
            y_label=text["tpr"],
            x_range=(0, 1),
            y_range=(0, 1),
            series=[
                Series(text["legend_model"], roc["fpr"], roc["tpr"], "model"),
                Series(text["legend_chance"], [0, 1], [0, 1], "reference", dash=DASH_CHANCE),
            ],
        )
    }
    calibration = curves["calibration"]
    grouped, smoothed = calibration["grouped"], calibration["smoothed"]
    top = max(0.2, max(grouped["observed_hi"] + grouped["predicted"] + smoothed["observed"]))
    top = min(1.0, round(top + 0.05, 1))
    series = [
        Series(text["legend_ideal"], [0, top], [0, top], "reference", dash=DASH_CHANCE),
        Series(text["legend_smoothed"], smoothed["predicted"], smoothed["observed"], "model"),
        Series(
            text["legend_grouped"],
            grouped["predicted"],
            grouped["observed"],
            "grouped",
            low=grouped["observed_lo"],
            high=grouped["observed_hi"],
            points_only=True,
        ),  # fmt: skip
    ]
    if "bias_corrected" in calibration:
        corrected = calibration["bias_corrected"]
        series.append(Series(text["legend_corrected"], corrected["predicted"], corrected["corrected"], "corrected"))
    charts["calibration"] = line_chart(
        title=text["calibration_heading"],
        x_label=text["predicted_risk"],
        y_label=text["observed_rate"],
        x_range=(0, top),
        y_range=(0, top),
        series=series,
        histogram=calibration.get("histogram"),
    )
    decision = curves["decision"]
    # As dcurves and rmda: from a little below 0 to a little above the prevalence (treat-all's net
    # benefit at threshold 0, the largest any strategy reaches); treat-all leaves through the bottom.
    y_top = round((prevalence or max(decision["net_benefit_model"])) + 0.05, 2)
    charts["decision"] = line_chart(
        title=text["decision_heading"],
        x_label=text["threshold"],
        y_label=text["net_benefit"],
        x_range=(0, 0.6),
        y_range=(-0.05, y_top),
        series=[
            Series(text["legend_model"], decision["threshold"], decision["net_benefit_model"], "model"),
            Series(
                text["legend_treat_all"],
                decision["threshold"],
                decision["net_benefit_all"],
                "treat-all",
                dash=DASH_TREAT_ALL,
            ),
            Series(
                text["legend_treat_none"],
                decision["threshold"],
                decision["net_benefit_none"],
                "reference",
                dash=DASH_CHANCE,
            ),
        ],
    )
    return charts
