"""Reading a Ki-67 index as clinicians write it, and refusing what could be read two ways.

Pathology reports and keyboards give "2.5", "2,5", "2.5 %", full-width "２．５％" (Chinese
input methods), and below the counting limit "<1" or "≤ 1 %".  Python's float() would
also take "1_0" (ten), "1e1" and Arabic-Indic digits, and "1,000" read as a decimal comma
is one percent where a thousands separator would be a thousand: a silent misreading
changes the risk, so such forms are refused with a message saying how to write the value.

A value given as below a bound ("<1") is read as half the bound, the usual convention for
values under a detection limit, and the result says so.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_CHARACTERS = 40
"""Longer text is no Ki-67 value; refused, never cut short."""

_NUMBER = re.compile(r"(?P<sign>[-+]?)(?:(?P<whole>[0-9]+)(?:[.,](?P<fraction>[0-9]+))?|[.,](?P<bare>[0-9]+))")
_BELOW = re.compile(r"(?:<=?|≤|less than|under)\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Ki67Reading:
    """A value read from text: `bound` is set when the text gave an upper bound ("<1" → 1.0)."""

    value: float
    bound: float | None = None


class Ki67FormatError(ValueError):
    """The text is not a Ki-67 value this reader accepts; `reason` is a key for the message."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def read_ki67(text: str) -> Ki67Reading:
    """The Ki-67 percentage in `text`, or Ki67FormatError naming why it cannot be read safely.

    Accepted: digits with at most one decimal point or comma, an optional "%" (also "％"),
    surrounding spaces, full-width forms (Unicode NFKC), and a leading "<", "<=" or "≤" for a
    value below a bound; a sign (a negative value is then out of range).  Refused: exponents, underscores, digits other
    than 0–9, a comma followed by exactly three digits ("1,000": decimal or thousands?), and
    more than one separator.
    """
    if len(text) > MAX_CHARACTERS:
        raise Ki67FormatError("too_long")
    normal = unicodedata.normalize("NFKC", text).strip()
    below = _BELOW.match(normal)
    rest = normal[below.end() :] if below else normal
    rest = rest.strip().removesuffix("%").strip()
    match = _NUMBER.fullmatch(rest)
    if not match:
        raise Ki67FormatError("not_a_number")
    separator_then_three = re.fullmatch(r"[-+]?[1-9][0-9]{0,2},[0-9]{3}", rest)
    if separator_then_three:
        raise Ki67FormatError("ambiguous_comma")
    if match.group("bare") is not None:
        value = float("0." + match.group("bare"))
    else:
        fraction = match.group("fraction")
        value = float(match.group("whole") + ("." + fraction if fraction else ""))
    if match.group("sign") == "-":
        value = -value  # then refused as outside 0–100 (a clearer message than "not a number"); -0 is 0
    if below:
        if value <= 0:
            raise Ki67FormatError("not_a_number")
        return Ki67Reading(value=value / 2.0, bound=value)
    return Ki67Reading(value=value + 0.0)  # + 0.0 turns -0 into 0
