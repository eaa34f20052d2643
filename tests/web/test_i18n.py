"""Both languages have every string; the language is chosen by ?lang= or Accept-Language."""

from __future__ import annotations

import re

import pytest

from app.web.i18n import STRINGS, choose_language, format_percent


def test_every_string_exists_in_both_languages_with_the_same_placeholders():
    assert STRINGS["en"].keys() == STRINGS["zh"].keys()
    for key, english in STRINGS["en"].items():
        assert set(re.findall(r"{(\w+)}", english)) == set(re.findall(r"{(\w+)}", STRINGS["zh"][key])), key


@pytest.mark.parametrize(
    ("query", "header", "expected"),
    [
        ("zh", "en-GB", "zh"),
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        (None, "fr-FR, en;q=0.5, zh;q=0.7", "zh"),
        (None, "de", "en"),
        ("xx", None, "en"),
        (None, "en;q=0.1, zh;q=0.2", "zh"),
    ],
)
def test_language_negotiation(query, header, expected):
    assert choose_language(query, header, "en") == expected


def test_numbers_are_formatted_the_same_in_both_languages(client):
    form = {"surface_depression": "1", "ki67_percent": "4.5", "cga_positive": "0"}
    english = client.post("/", data={**form, "lang": "en"}).text
    chinese = client.post("/", data={**form, "lang": "zh"}).text
    risk = re.search(r'class="risk-value">([^<]+)<', english).group(1)
    assert risk.endswith(" %")
    assert f'class="risk-value">{risk}<' in chinese
    assert "预测非治愈性" in chinese and 'lang="zh-Hans"' in chinese
    assert format_percent(0.004) == "0.40 %"


def test_chinese_page_has_no_english_interface_text(client):
    text = client.get("/?lang=zh").text
    for key in ("calculate", "surface_depression", "demo_banner", "nomogram_heading"):
        assert STRINGS["en"][key] not in text
        assert STRINGS["zh"][key] in text
