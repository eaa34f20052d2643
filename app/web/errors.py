"""Validation errors in words a clinician can act on, each naming the field."""

from __future__ import annotations

from typing import Any

FIELD_NAMES = {
    "surface_depression": "Surface depression (true or false)",
    "ki67_percent": "Ki-67 index (percent, 0 to 100)",
    "cga_positive": "Chromogranin A positive (true or false)",
}


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p != "body"]
    return parts[-1] if parts else "body"


def clinician_messages(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One message per field: what is wrong and what is expected."""
    messages = []
    seen = set()
    for error in errors:
        field = _field(error.get("loc", ()))
        kind = error.get("type", "")
        label = FIELD_NAMES.get(field, f"'{field}'")
        if kind == "json_invalid":
            field, text = "body", "The request body is not valid JSON; send an object with the three findings."
        elif kind in ("model_attributes_type", "dict_type"):
            field, text = "body", "The request body must be a JSON object with the three findings."
        elif kind == "duplicate_key":
            text = f"{label} is given more than once; send each finding once (the answer would depend on which one counted)."
        elif kind == "value_error" and field == "body":
            text = f"The request body is not acceptable: {str(error.get('msg', '')).removeprefix('Value error, ')}."
        elif kind == "missing":
            text = f"{label} is required: a finding left out is never assumed absent."
        elif kind == "string_unicode":
            # A lone UTF-16 surrogate (e.g. "\\ud800") is valid JSON but no character; pydantic's own words
            # ("unable to parse raw data as a unicode string") say nothing to the person who sent it.
            field, text = (
                "body",
                (
                    "The request body contains a broken character (an escape such as \\ud800 that stands for no "
                    "letter); send the findings as plain text."
                ),
            )
        elif kind == "extra_forbidden":
            text = f"'{field}' is not a finding this calculator takes (it takes {', '.join(FIELD_NAMES)})."
        elif kind in ("bool_type", "bool_parsing"):
            text = f"{label}: must be true or false."
        elif kind in ("greater_than_equal", "less_than_equal"):
            text = f"{label}: {error.get('input')!r} is outside 0 to 100."
        elif kind == "value_error" and field in FIELD_NAMES:
            text = f"{label}: {str(error.get('msg', '')).removeprefix('Value error, ')}."
        else:
            text = f"{label}: {error.get('msg', 'invalid value')}."
        if (field, text) not in seen:
            seen.add((field, text))
            messages.append({"field": field, "message": text})
    return messages
