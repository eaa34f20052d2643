"""Shared fixtures: small cohorts written in code, the shipped artifact."""

from __future__ import annotations

import csv
import socket
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parent.parent
DEMO_ARTIFACT = REPO / "model_artifacts" / "rnet-demo-v1.json"
DEMO_COHORT = REPO / "model_artifacts" / "rnet-demo-cohort.csv"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(url: str, seconds: float = 30.0) -> bytes:
    """The body of `url` once a server answers it, retrying until `seconds` pass."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def write_csv(path: Path, header: list[str], rows: list[list[object]], *, bom: bool = False) -> Path:
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def simulated_xy(n: int, seed: int, *, beta=(-1.5, 1.2, 0.25, 0.7)) -> tuple[np.ndarray, np.ndarray]:
    """Three predictors shaped like the study's (binary, Ki-67-like, binary) and a logistic outcome."""
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.random(n) < 0.25, np.round(rng.lognormal(0.4, 0.8, n), 1), rng.random(n) < 0.6]).astype(
        float
    )
    lp = beta[0] + x @ np.asarray(beta[1:])
    y = (rng.random(n) < 1 / (1 + np.exp(-lp))).astype(float)
    return x, y


@pytest.fixture
def small_cohort_csv(tmp_path: Path) -> Path:
    x, y = simulated_xy(120, 7)
    rows = [
        [f"P{i}", int(a), b, int(c), int(o)]
        for i, (a, b, c, o) in enumerate(zip(x[:, 0], x[:, 1], x[:, 2], y, strict=True))
    ]
    return write_csv(
        tmp_path / "cohort.csv",
        ["patient_id", "surface_depression", "ki67_percent", "cga_positive", "non_curative_resection"],
        rows,
    )


# ---------------------------------------------------------------- HTML and header helpers
#
# One small parser for every web and browser test, so that pages are checked as documents
# (which element holds which text, which attribute has which value) rather than grepped:
# a substring test passes on a string that sits in the wrong element, or that the browser
# would parse as markup.  Stdlib only (html.parser); entities are decoded in text and
# attribute values, as a browser decodes them.

VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
)


@dataclass(eq=False)
class Element:
    """An element of a parsed page: tag, attributes (names lower-cased, a bare attribute is ""), children."""

    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)
    parent: Element | None = field(default=None, repr=False)

    def iter(self) -> Iterator[Element]:
        """This element and every element below it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Element):
                yield from child.iter()

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.attrs.get(name, default)

    @property
    def classes(self) -> set[str]:
        return set((self.attrs.get("class") or "").split())

    @property
    def text(self) -> str:
        """All text below this element, exactly as decoded (no whitespace collapsed)."""
        return "".join(child if isinstance(child, str) else child.text for child in self.children)


class _TreeBuilder(HTMLParser):
    """Builds an Element tree; an end tag closes the nearest open element of its name (stray ones are ignored)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self._open = [self.root]

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> Element:
        element = Element(tag, {name: value or "" for name, value in attrs}, parent=self._open[-1])
        self._open[-1].children.append(element)
        return element

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = self._element(tag, attrs)
        if tag not in VOID_ELEMENTS:
            self._open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)  # <line .../> in inline SVG

    def handle_endtag(self, tag: str) -> None:
        for depth in range(len(self._open) - 1, 0, -1):
            if self._open[depth].tag == tag:
                del self._open[depth:]
                return

    def handle_data(self, data: str) -> None:
        self._open[-1].children.append(data)


def parse_html(html: str) -> Element:
    """The document tree of `html` (a whole page or a fragment)."""
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def _root(source: str | Element) -> Element:
    return source if isinstance(source, Element) else parse_html(source)


def select(
    source: str | Element,
    tag: str | None = None,
    attrs: Mapping[str, str | bool] | None = None,
    *,
    cls: str | None = None,
) -> list[Element]:
    """Elements under `source` (HTML text or an Element) with this tag, attributes and class.

    In `attrs` a string must equal the attribute's value, True means present and False absent;
    `cls` is one class among the element's classes.
    """
    found = []
    for element in _root(source).iter():
        if element.tag == "#document" or (tag is not None and element.tag != tag):
            continue
        if cls is not None and cls not in element.classes:
            continue
        if all(
            (name in element.attrs) is want if isinstance(want, bool) else element.attrs.get(name) == want
            for name, want in (attrs or {}).items()
        ):
            found.append(element)
    return found


def select_one(
    source: str | Element,
    tag: str | None = None,
    attrs: Mapping[str, str | bool] | None = None,
    *,
    cls: str | None = None,
) -> Element:
    """The one element that matches; a test that expects one element must fail on none or two."""
    found = select(source, tag, attrs, cls=cls)
    assert len(found) == 1, f"expected one <{tag or '*'}> with {dict(attrs or {})} class={cls!r}, found {len(found)}"
    return found[0]


def by_id(source: str | Element, element_id: str) -> Element:
    return select_one(source, attrs={"id": element_id})


def text_of(element: Element | str) -> str:
    """The element's text as a reader sees it: whitespace runs collapsed to one space, ends stripped."""
    return " ".join((element if isinstance(element, str) else element.text).split())


def csp_directives(header: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as {directive: [sources in order]}; a repeated directive is an error.

    Comparing the whole dict, rather than looking for substrings, catches a directive dropped,
    added or loosened (e.g. "frame-ancestors 'self' *" contains "frame-ancestors 'self'").
    """
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if not words:
            continue
        name = words[0].lower()
        assert name not in directives, f"directive {name} appears twice in {header!r}"
        directives[name] = words[1:]
    return directives


def csp_header(directives: Mapping[str, list[str]]) -> str:
    """The inverse of csp_directives, for a test that must change one directive and keep the rest."""
    return "; ".join(" ".join([name, *sources]) for name, sources in directives.items())


URL_ATTRIBUTES = ("src", "href", "action", "formaction", "poster", "data")


def external_urls(source: str | Element) -> list[str]:
    """Every URL in the page that points at another host: the calculator must work with no internet."""
    return [
        value
        for element in _root(source).iter()
        for name in URL_ATTRIBUTES
        if (value := element.attrs.get(name)) is not None
        and value.strip().lower().startswith(("http:", "https:", "//"))
    ]


def inline_code(source: str | Element) -> list[str]:
    """Inline scripts and styles, style and event-handler attributes, javascript: URLs: what the CSP blocks."""
    found = []
    for element in _root(source).iter():
        if element.tag in ("script", "style") and "src" not in element.attrs and element.text.strip():
            found.append(f"<{element.tag}>{element.text.strip()[:40]}")
        found += [f"<{element.tag} {name}=javascript:...>" for name in URL_ATTRIBUTES
                  if element.attrs.get(name, "").strip().lower().startswith("javascript:")]  # fmt: skip
        found += [f"<{element.tag} {name}=...>" for name in element.attrs if name == "style" or name.startswith("on")]
    return found
