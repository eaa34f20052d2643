"""Ki-67 as clinicians write it: what is read, what is refused, and that nothing is misread silently."""

from __future__ import annotations

import pytest

from app.web.ki67_input import MAX_CHARACTERS, Ki67FormatError, Ki67Reading, read_ki67


@pytest.mark.parametrize(
    ("text", "reading"),
    [
        ("2.5", Ki67Reading(2.5)),
        ("2,5", Ki67Reading(2.5)),  # decimal comma
        ("2.5 %", Ki67Reading(2.5)),
        (" 10 ", Ki67Reading(10.0)),
        (".5", Ki67Reading(0.5)),
        ("0,125", Ki67Reading(0.125)),  # a leading 0 cannot be a thousands group
        ("２．５％", Ki67Reading(2.5)),  # full-width digits, point and percent (Chinese input methods)
        ("２，５", Ki67Reading(2.5)),  # full-width comma
        ("<1", Ki67Reading(0.5, bound=1.0)),  # below the counting limit: half the bound
        ("≤1", Ki67Reading(0.5, bound=1.0)),
        ("<= 1", Ki67Reading(0.5, bound=1.0)),
        ("< 2 %", Ki67Reading(1.0, bound=2.0)),
        ("＜１％", Ki67Reading(0.5, bound=1.0)),
        ("-0", Ki67Reading(0.0)),
        ("100", Ki67Reading(100.0)),
    ],
)
def test_values_written_the_usual_ways_are_read(text, reading):
    assert read_ki67(text) == reading


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("1_0", "not_a_number"),  # float() reads ten
        ("1e1", "not_a_number"),  # float() reads ten
        ("1,000", "ambiguous_comma"),  # one, or a thousand?
        ("12,500", "ambiguous_comma"),
        ("١٠", "not_a_number"),  # Arabic-Indic ten: float() accepts it, a reader of the form would not
        ("1.2.3", "not_a_number"),
        ("1,5,0", "not_a_number"),
        ("abc", "not_a_number"),
        ("nan", "not_a_number"),
        ("inf", "not_a_number"),
        ("0x10", "not_a_number"),
        (">20", "not_a_number"),  # a lower bound gives no value
        ("<0", "not_a_number"),  # below zero is no bound
        ("5 5", "not_a_number"),
        ("x" * (MAX_CHARACTERS + 1), "too_long"),
    ],
)
def test_ambiguous_or_foreign_forms_are_refused(text, reason):
    with pytest.raises(Ki67FormatError) as caught:
        read_ki67(text)
    assert caught.value.reason == reason


def test_a_long_but_valid_value_is_not_cut_short():
    """24 characters: cutting at 20 (as the form once did) would read 0 instead of 2.5."""
    assert read_ki67("0000000000000000000002.5") == Ki67Reading(2.5)


def test_a_negative_value_is_read_so_the_range_check_can_name_it():
    assert read_ki67("-5") == Ki67Reading(-5.0)
