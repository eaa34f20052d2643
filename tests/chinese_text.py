"""Is a Chinese page (or report) written in Chinese?  One checker for the pages and the reports.

A Chinese reader still meets some Latin letters: standard abbreviations and units, the names of
statistical methods as Chinese texts write them, JSON's literals, model ids, digests and file
names.  Everything else in Latin letters, outside code, is English prose left untranslated.  The
lists below are the whole exception; a word that is not on them fails the test, so adding one is
a visible decision.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from tests.conftest import Element, parse_html

HAN = "\u3400-\u9fff"
HAN_CHARACTER = re.compile(f"[{HAN}]")

# Standard abbreviations and units a Chinese clinician reads in Latin letters.
ABBREVIATIONS = frozenset({
    "Ki", "CgA", "Syn", "NET", "AUC", "ROC", "CI", "SD", "OR", "LVI", "PNI", "EMR", "ESD", "EFR", "WHO",
    "TRIPOD", "BMJ", "DFBETAS", "SHA", "UTC", "JSON", "API", "HTTP", "OpenAPI", "FHIR", "mm", "cm",
    "CITL", "ICI", "Ctrl",  # calibration-in-the-large, integrated calibration index; the key's label
    "CDS", "Hooks", "SNOMED", "CT", "UCUM", "LOINC", "R4",  # interoperability standards, named as they are
})  # fmt: skip
# Methods named after their authors, and statistical terms, as Chinese statistics texts write them.
METHOD_NAMES = frozenset({
    "Welch", "Mann", "Whitney", "Hodges", "Lehmann", "Pearson", "Fisher", "Freeman", "Halton", "Newcombe",
    "DeLong", "Harrell", "Hosmer", "Lemeshow", "Brier", "Rochon", "Riley", "Cox", "Snell", "Cook", "Belsley",
    "Kuh", "Welsch", "Vergouwe", "Spiegelhalter", "Eavg", "Emax", "logistic", "logit", "bootstrap", "lowess",
})  # fmt: skip
# JSON's literals, which a programmer types as they are (the API reference's field descriptions).
JSON_LITERALS = frozenset({"true", "false", "null"})
# Software named with its version (the model card's provenance, the report's methods).
SOFTWARE = frozenset({"python", "numpy", "scipy", "statsmodels"})
ALLOWED_WORDS = ABBREVIATIONS | METHOD_NAMES | JSON_LITERALS | SOFTWARE

# Whole tokens that stay as written: commands in backticks, file names, digests (whole or cut short),
# commands, model ids, R functions and the study's article id.
ALLOWED_TOKENS = re.compile(
    r"`[^`]*`|[\w.-]+\.(?:csv|json|html|md)|\b[0-9a-f]{12,64}\b|rnet-calculator|rnet simulate|wilcox\.test"
    r"|\brnet-[\w.-]*v\d+\b|\bNJ\d+\b"
)
LATIN_WORD = re.compile(r"[A-Za-z]{2,}")

# Code is the same in both languages: paths, JSON, settings.
CODE_ELEMENTS = frozenset({"code", "pre", "kbd", "samp", "style", "script"})
# Attributes whose text a reader hears or the script shows (the copy button's messages, the
# sentence announced and the caveats sent to an embedding page).
TEXT_ATTRIBUTES = (
    "aria-label", "aria-valuetext", "title", "alt", "placeholder",
    "data-copied", "data-failed", "data-select", "data-sentence", "data-notice", "data-reason",
)  # fmt: skip


def _is_link_to_english(element: Element) -> bool:
    """The language switch: a link marked lang="en" that says "English" (in English, on purpose)."""
    return element.tag == "a" and element.get("lang") == "en" and element.text.strip() == "English"


def visible_texts(root: Element) -> list[tuple[Element, str]]:
    """Every piece of prose a reader (or a screen reader) meets: text outside code, and the text attributes."""
    found: list[tuple[Element, str]] = []

    def walk(element: Element) -> None:
        if element.tag in CODE_ELEMENTS or _is_link_to_english(element):
            return
        found.extend((element, element.attrs[a]) for a in TEXT_ATTRIBUTES if element.attrs.get(a))
        for child in element.children:
            if isinstance(child, str):
                if child.strip():
                    found.append((element, child))
            else:
                walk(child)

    walk(root)
    return found


def english_words(text: str, extra: Iterable[str] = ()) -> list[str]:
    """Words of two or more Latin letters that are on none of the lists (nor in `extra`)."""
    allowed = ALLOWED_WORDS | frozenset(extra)
    return [w for w in LATIN_WORD.findall(ALLOWED_TOKENS.sub(" ", text)) if w not in allowed]


def english_prose(html: str, extra: Iterable[str] = ()) -> list[str]:
    """Each English word of the document's prose, with the text it stands in."""
    extra = frozenset(extra)
    return [
        f"{w!r} in {text.strip()[:80]!r}"
        for _, text in visible_texts(parse_html(html))
        for w in english_words(text, extra)
    ]


# ASCII punctuation next to a Chinese character: a Chinese sentence written with Western punctuation.
WESTERN_PUNCTUATION = re.compile(rf"[{HAN}]\s*[,.;:!?()]|[,.;:!?()]\s*[{HAN}]")


def western_punctuation(html: str) -> list[str]:
    """The pieces of prose in which Western punctuation touches a Chinese character."""
    return [text.strip()[:80] for _, text in visible_texts(parse_html(html)) if WESTERN_PUNCTUATION.search(text)]
