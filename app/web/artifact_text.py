"""The artifact's prose (title, notes, study reference, influence rule) as a page shows it.

An artifact is hashed and re-made byte for byte (tests/test_default_artifact.py), so its English
prose cannot be changed or given a Chinese twin without changing its SHA-256.  The pages therefore
recognise the texts this project's own commands write, exactly, and show them from `STRINGS` in
the page's language (in English with the outcome named as everywhere else).  Any other text, e.g.
the notes of a hospital's own artifact, is shown as written and marked `lang="en"` on a Chinese
page, so a screen reader reads it as English and a reader sees it is the artifact's own words.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.web.i18n import STRINGS

# Exact texts written into artifacts by `rnet train` and `rnet simulate`'s recipe → their STRINGS key.
KNOWN_TEXTS = {
    "Risk of non-curative endoscopic resection (non-R0 or LVI/PNI) of rectal NETs ≤20 mm": "artifact_title_demo",
    "Synthetic demonstration model: fitted on simulated patients, not on the study's data. Not for clinical use.": (
        "artifact_notes_demo"
    ),
    "Risk factors for non-curative endoscopic resection of rectal neuroendocrine tumours ≤20 mm (two Suzhou "
    "hospitals, 2013–2023, n = 213). Chinese Journal of Digestive Endoscopy, article NJ240221.": (
        "artifact_reference_study"
    ),
    "Cook's distance > 4/n or any |dfbetas| > 2/sqrt(n) (Belsley, Kuh & Welsch)": "artifact_influence_rule",
}


@dataclass(frozen=True)
class Prose:
    """Text to show, and the language to mark it with when it differs from the page's ("" otherwise)."""

    text: str
    lang: str = ""


def artifact_prose(text: str | None, lang: str) -> Prose:
    """The page's rendering of one piece of artifact prose (empty for a missing field)."""
    if not text:
        return Prose("")
    key = KNOWN_TEXTS.get(text)
    if key is not None:
        return Prose(STRINGS[lang][key])
    return Prose(text, "" if lang == "en" else "en")
