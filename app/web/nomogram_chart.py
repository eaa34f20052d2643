"""The calculator's nomogram as inline SVG, laid out for the width it is shown at.

One drawing per width class (`LAYOUTS`): the stylesheet shows the one made for the
viewport, each scaled by at most ~1.8 from the width it was laid out for, so text is
never smaller than its size in viewBox units (12) and never grows absurdly.  Because a
drawing scales as a whole, labels that do not overlap in viewBox units never overlap on
screen: tick labels are chosen here, by the room each class has, from an estimate of
their width that errs wide.

Rows, top to bottom: the points scale, one axis per predictor, then one line that
carries total points above it and the risk below it (no guide line can cross text).
Everything that depends on the patient (markers, the beyond-the-axis notes) carries
`data-k`, so the calculator's script can update it in place, mid-gesture, without
replacing the element under the pointer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from app.model.artifact import Nomogram
from app.model.predict import Model, Prediction
from app.web.i18n import STRINGS

# (class, viewBox width): the stylesheet shows "s" below 520 px, "m" below 900 px, "l" above.
# Each width is the nomogram panel's CSS width at the smallest viewport of its class, so the
# drawing is scaled by >= 1 there (12-unit text >= 12 px minus rounding).
LAYOUTS = (("s", 256), ("m", 456), ("l", 836))
MARGIN = 14  # viewBox units from the edge to an axis end: room for a marker (r 9 + stroke)
TICK_SIZE = 12  # font sizes in viewBox units; the stylesheet sets the same
TITLE_SIZE = 13
LABEL_GAP = 6
EDGE = 2
MARKER_R = 9
TOTAL_MARKER_R = 7

# Risk tick candidates, most wanted first; each is kept only if it fits beside those already kept.
RISK_TICKS = (
    0.5, 0.1, 0.9, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.05, 0.95, 0.99, 0.01, 0.02, 0.98, 0.15, 0.25, 0.35,
    0.45, 0.55, 0.65, 0.75, 0.85, 0.03, 0.04, 0.06, 0.07, 0.08, 0.09, 0.97, 0.999, 0.005, 0.002, 0.001,
)  # fmt: skip
TOTAL_STEPS = (10, 20, 25, 50, 100, 200, 250, 500, 1000)


def _fmt(value: float) -> str:
    """One decimal of a viewBox unit (about a tenth of a pixel): small for the page weight."""
    return f"{value:.1f}".removesuffix(".0")


def text_width(content: str, size: float, *, bold: bool = False) -> float:
    """An upper estimate of a label's width in DejaVu Sans / common CJK fonts (em fractions per glyph)."""
    ems = 0.0
    for ch in content:
        if ord(ch) >= 0x2E80:
            ems += 1.0
        elif ch.isdigit():
            ems += 0.64
        elif ch in "%mwMW":
            ems += 0.96
        elif ch == " ":
            ems += 0.33
        elif ch in "il.,:;|!'()[]-":
            ems += 0.4
        elif ch.isupper():
            ems += 0.76
        else:
            ems += 0.64
    return ems * size * (1.1 if bold else 1.0) + 1.0


@dataclass(frozen=True)
class _Box:
    left: float
    right: float

    def clear_of(self, other: _Box) -> bool:
        return self.right + LABEL_GAP <= other.left or other.right + LABEL_GAP <= self.left


def _box_at(x: float, content: str, width: float) -> tuple[float, _Box, str]:
    """Centred on its tick; at an edge of the picture, aligned to that edge instead (it still covers
    the tick).  Returns the text's x, its estimated box and its text-anchor."""
    w = text_width(content, TICK_SIZE)
    if x - w / 2 < EDGE:
        return EDGE, _Box(EDGE, EDGE + w), "start"
    if x + w / 2 > width - EDGE:
        return width - EDGE, _Box(width - EDGE - w, width - EDGE), "end"
    return x, _Box(x - w / 2, x + w / 2), "middle"


def _text(
    x: float, y: float, content: str, cls: str, *, anchor: str = "middle", hidden: bool = False, key: str = ""
) -> str:
    extra = ' aria-hidden="true"' if hidden else ""
    extra += f' data-k="{key}"' if key else ""
    extra += f' class="{cls}"' if cls else ""
    extra += f' text-anchor="{anchor}"' if anchor != "middle" else ""
    return f'<text x="{_fmt(x)}" y="{_fmt(y)}"{extra}>{escape(content)}</text>'


def _thinned(ticks: list[tuple[float, str]], width: float) -> list[tuple[float, str]]:
    """Every k-th label of an evenly spaced axis, for the smallest k at which none overlap."""
    for k in range(1, len(ticks) + 1):
        chosen = ticks[::k]
        boxes = [_box_at(x, label, width)[1] for x, label in chosen]
        if all(a.clear_of(b) for a, b in zip(boxes, boxes[1:], strict=False)):
            return chosen
    return ticks[:1]


def _greedy(candidates: list[tuple[float, str]], width: float) -> list[tuple[float, str]]:
    """Candidates in order of preference, each kept if it overlaps none kept before it."""
    kept: list[tuple[float, str, _Box]] = []
    for x, label in candidates:
        box = _box_at(x, label, width)[1]
        if all(box.clear_of(other) for *_, other in kept):
            kept.append((x, label, box))
    return sorted((x, label) for x, label, _ in kept)


class _Drawing:
    """One width class of the nomogram; `parts` collects the SVG source, `y` the next free row."""

    def __init__(self, width: float) -> None:
        self.width = width
        self.parts: list[str] = []
        self.y = 0.0

    def px(self, points: float) -> float:
        """x of a number of points on the 0-100 points scale."""
        return MARGIN + points / 100.0 * (self.width - 2 * MARGIN)

    def title(self, content: str) -> None:
        self.y += TITLE_SIZE + 6
        self.parts.append(_text(EDGE, self.y, content, "axis-label", anchor="start"))

    def line(self, x1: float, x2: float, y: float) -> None:
        self.parts.append(f'<line class="axis" x1="{_fmt(x1)}" y1="{_fmt(y)}" x2="{_fmt(x2)}" y2="{_fmt(y)}"/>')

    def marks(self, xs: list[float], y: float, dy: float, labels: list[tuple[float, float, str, str]]) -> None:
        """Tick marks (one path) and their labels (one group, hidden from assistive technology:
        the markers' value texts say what matters)."""
        if xs:
            path = "".join(f"M{_fmt(x)} {_fmt(y)}v{_fmt(dy)}" for x in xs)
            self.parts.append(f'<path class="tick" d="{path}"/>')
        if labels:
            texts = "".join(_text(x, baseline, label, "", anchor=anchor) for x, baseline, label, anchor in labels)
            self.parts.append(f'<g class="tick-label" aria-hidden="true">{texts}</g>')

    def labels(self, ticks: list[tuple[float, str]], y: float, *, below: bool = True) -> None:
        """Tick marks and their labels, on one side of the axis line at `y`."""
        baseline = y + MARKER_R + 4 + TICK_SIZE if below else y - TOTAL_MARKER_R - 6
        placed = []
        for x, label in ticks:
            at, _, anchor = _box_at(x, label, self.width)
            placed.append((at, baseline, label, anchor))
        self.marks([x for x, _ in ticks], y, 5 if below else -5, placed)

    def binary_labels(self, ticks: list[tuple[float, str]], y: float) -> int:
        """Both levels of a yes/no axis always named, under their ticks; the second goes one line
        lower when the two would overlap.  Returns the number of label lines used."""
        boxes = [_box_at(x, label, self.width) for x, label in ticks]
        lines = 1
        placed = []
        for index, ((_x, label), (at, box, anchor)) in enumerate(zip(ticks, boxes, strict=True)):
            row = 0
            if index and not box.clear_of(boxes[index - 1][1]):
                row, lines = 1, 2
            placed.append((at, y + MARKER_R + 4 + TICK_SIZE + row * (TICK_SIZE + 6), label, anchor))
        self.marks([x for x, _ in ticks], y, 5, placed)
        return lines


def _value_label(name: str, kind: str, value: float, lang: str) -> str:
    text = STRINGS[lang]
    if name == "cga_positive":
        return text["positive"] if value >= 0.5 else text["negative"]
    if kind == "binary":
        return text["yes"] if value >= 0.5 else text["no"]
    return f"{value:g}"


def _beyond_note(drawing: _Drawing, *, key: str, y: float, x_lo: float, x_hi: float, note: str | None) -> None:
    """A line reserved under an axis for 'value ▶ beyond the axis' (empty when the value is on it)."""
    anchor, x = ("end", x_hi) if note is None or not note.startswith("◀") else ("start", x_lo)
    x = min(max(x, EDGE), drawing.width - EDGE)
    drawing.parts.append(_text(x, y, note or "", "beyond-note", anchor=anchor, key=key))


def _beyond_text(value_text: str, value: float, lo: float, hi: float, lang: str) -> str | None:
    text = STRINGS[lang]
    if value > hi:
        return text["nomogram_beyond_high"].format(value=value_text)
    if value < lo:
        return text["nomogram_beyond_low"].format(value=value_text)
    return None


def _risk_at(geometry: Nomogram, points: float) -> float:
    return 1.0 / (1.0 + math.exp(-(geometry.lp_at_zero_points + points / geometry.points_per_logit)))


def _draw(
    model: Model,
    geometry: Nomogram,
    lang: str,
    width: float,
    prediction: Prediction | None,
    values: dict[str, float] | None,
) -> tuple[list[str], float]:
    text = STRINGS[lang]
    d = _Drawing(width)
    # Points scale
    d.title(text["nomogram_points_axis"])
    d.y += MARKER_R + 2
    d.line(d.px(0), d.px(100), d.y)
    d.labels(_thinned([(d.px(v), f"{v:g}") for v in range(0, 101, 10)], width), d.y)
    d.y += MARKER_R + 4 + TICK_SIZE + 6
    specs = {p.name: p for p in model.artifact.predictors}
    for axis in geometry.axes:
        spec = specs[axis.name]
        label = text.get(axis.name, spec.label)
        d.title(text["axis_unit"].format(label=label, unit=spec.unit) if spec.unit else label)  # （%） in Chinese
        d.y += MARKER_R + 7
        y = d.y
        to_points = geometry.points_per_logit
        x_lo = d.px(to_points * (axis.beta * axis.lo - axis.min_contribution))
        x_hi = d.px(to_points * (axis.beta * axis.hi - axis.min_contribution))
        allowed = spec.allowed_range or (axis.lo, axis.hi)
        d.parts.append(
            f'<g class="predictor-axis" data-name="{escape(axis.name)}" data-kind="{axis.kind}" '
            f'data-lo="{axis.lo:g}" data-hi="{axis.hi:g}" data-min="{allowed[0]:g}" data-max="{allowed[1]:g}" '
            f'data-px-lo="{_fmt(x_lo)}" data-px-hi="{_fmt(x_hi)}">'
        )
        d.line(min(x_lo, x_hi), max(x_lo, x_hi), y)
        ticks = sorted((d.px(t["points"]), _value_label(axis.name, axis.kind, t["value"], lang)) for t in axis.ticks)
        if axis.kind == "binary":
            lines = d.binary_labels(ticks, y)
        else:
            d.labels(_thinned(ticks, width), y)
            lines = 1
        # The whole axis is a pointer target, a finger's height tall.
        d.parts.append(
            f'<rect class="hit" x="{_fmt(min(x_lo, x_hi) - MARKER_R)}" y="{_fmt(y - 20)}" '
            f'width="{_fmt(abs(x_hi - x_lo) + 2 * MARKER_R)}" height="40"/>'
        )
        d.y = y + MARKER_R + 4 + TICK_SIZE + (lines - 1) * (TICK_SIZE + 6)
        note = None
        # Known findings keep their markers, also when no risk is given (a value outside the model's population).
        value = values.get(axis.name) if values is not None else None
        if value is not None:
            shown = f"{value:g} %" if spec.unit == "%" else f"{value:g}"
            note = _beyond_text(shown, value, axis.lo, axis.hi, lang)
            clamped = min(max(value, axis.lo), axis.hi)
            share = (clamped - axis.lo) / (axis.hi - axis.lo)
            mx = x_lo + share * (x_hi - x_lo)
            points = (
                prediction.points.get(axis.name, 0.0)
                if prediction is not None
                else geometry.points_per_logit * (axis.beta * value - axis.min_contribution)
            )
            unit_value = f"{value:g} %" if spec.unit == "%" else _value_label(axis.name, axis.kind, value, lang)
            valuetext = text["marker_valuetext"].format(
                value=unit_value, points=f"{points:.1f}", unit=text["points_unit"]
            )
            d.parts.append(
                f'<circle class="marker{" beyond" if note else ""}" data-k="m-{escape(axis.name)}" cx="{_fmt(mx)}" '
                f'cy="{_fmt(y)}" r="{MARKER_R}" tabindex="0" role="slider" aria-label="{escape(label)}" '
                f'aria-valuemin="{allowed[0]:g}" aria-valuemax="{allowed[1]:g}" aria-valuenow="{value:g}" '
                f'aria-valuetext="{escape(valuetext)}"/>'
            )
        if axis.kind == "continuous":
            d.y += TICK_SIZE + 6
            _beyond_note(d, key=f"n-{axis.name}", y=d.y, x_lo=x_lo, x_hi=x_hi, note=note)
        d.parts.append("</g>")
        d.y += 8
    # Total points above the line, the risk below it: one marker reads both.
    max_total = geometry.max_total_points
    total_px = MARGIN + 0.0
    total_end = width - MARGIN

    def tx(points: float) -> float:
        return total_px + points / max_total * (total_end - total_px)

    d.title(text["total_points"])
    total_ticks: list[tuple[float, str]] = []
    for step in TOTAL_STEPS:
        candidates = [(tx(v), f"{v:g}") for v in range(0, int(max_total) + 1, step)]
        if _thinned(candidates, width) == candidates:
            total_ticks = candidates
            break
    d.y += TICK_SIZE + 6
    d.y += TOTAL_MARKER_R + 6  # the line, below the labels' baseline
    line_y = d.y
    d.line(total_px, total_end, line_y)
    d.labels(total_ticks, line_y, below=False)
    # The risk at 0 points first: the line starts there, below any round tick the room may not allow.
    lowest = f"{100 * _risk_at(geometry, 0.0):.1f}".removesuffix(".0") + "%"
    risk_candidates = [(tx(0.0), lowest)]
    for p in RISK_TICKS:
        points = geometry.points_per_logit * (math.log(p / (1 - p)) - geometry.lp_at_zero_points)
        if 0 <= points <= max_total:
            risk_candidates.append((tx(points), f"{100 * p:g}%"))
    risk_ticks = _greedy(risk_candidates, width)
    risk_baseline = line_y + TOTAL_MARKER_R + 6 + TICK_SIZE
    d.marks(
        [x for x, _ in risk_ticks],
        line_y,
        5,
        [(at, risk_baseline, lb, anchor) for x, lb in risk_ticks for at, _, anchor in [_box_at(x, lb, width)]],
    )
    d.y = line_y + TOTAL_MARKER_R + 6 + TICK_SIZE
    d.title(text["probability"])
    note = None
    if prediction is not None:
        total = prediction.total_points
        note = _beyond_text(f"{total:.1f} {text['points_unit']}", total, 0.0, max_total, lang)
        x = tx(min(max(total, 0.0), max_total))
        d.parts.append(
            f'<circle class="marker total{" beyond" if note else ""}" data-k="m-total" cx="{_fmt(x)}" '
            f'cy="{_fmt(line_y)}" r="{TOTAL_MARKER_R}"/>'
        )
    d.y += TICK_SIZE + 6
    _beyond_note(d, key="n-total", y=d.y, x_lo=total_px, x_hi=total_end, note=note)
    d.y += 6
    return d.parts, d.y


def nomogram_svg(
    model: Model,
    lang: str,
    prediction: Prediction | None = None,
    values: dict[str, float] | None = None,
    *,
    single: bool = False,
) -> Markup:
    """The nomogram (of the submodel that answered, when findings are unknown), one drawing per width
    class; `single`: only the widest, shown at every width (a printed or archived report)."""
    text = STRINGS[lang]
    missing = prediction.missing if prediction is not None else ()
    geometry = model.nomogram_for(missing) if prediction is not None else model.artifact.nomogram
    out = []
    for name, width in LAYOUTS[-1:] if single else LAYOUTS:
        parts, height = _draw(model, geometry, lang, width, prediction, values)
        cls = "nomogram" if single else f"nomogram nomogram-{name}"
        out.append(
            f'<svg class="{cls}" viewBox="0 0 {width} {_fmt(height)}" role="group" '
            f'aria-label="{escape(text["nomogram_heading"])}" data-geometry="{escape(lang)}:{",".join(missing)}" '
            f'data-total-max="{_fmt(geometry.max_total_points)}">' + "".join(parts) + "</svg>"
        )
    return Markup("".join(out))
