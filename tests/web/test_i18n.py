"""Both languages have every string the pages use; Chinese is Chinese; medical words are the right ones.

The keys are found by reading the templates and the code (not by trusting the table), so a key
added to a template but to one language only, or a Chinese string left in English, fails here.
"""

from __future__ import annotations

import ast
import json
import re

import pytest

from app.web.i18n import SOURCE_LABELS, STRINGS, choose_language, format_percent
from tests.conftest import REPO, Element, by_id, parse_html, select, select_one, text_of

# `t.key` in a template (t is the language's table); `t.get(...)` and `t.key.format(...)` are calls on it.
TEMPLATE_KEY = re.compile(r"(?<![\w.])t\.([A-Za-z_]\w*)\b(?!\s*\()")
# Keys looked up by a value known only at run time: predictor names (axis labels, the model card's
# coefficient table, the report's out-of-range list) and the intercept row of the coefficient table.
DYNAMIC_KEYS = {"intercept", "surface_depression", "ki67_percent", "cga_positive"}


def template_keys() -> set[str]:
    keys = set()
    for template in (REPO / "templates").glob("*.html"):
        keys |= set(TEMPLATE_KEY.findall(template.read_text(encoding="utf-8")))
    return keys


def python_keys() -> set[str]:
    """String subscripts of a language table in app/web: text["key"], t["key"], STRINGS[lang]["key"]."""
    keys = set()
    for module in (REPO / "app" / "web").glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)):
                continue
            table = node.value
            is_table = (isinstance(table, ast.Name) and table.id in ("text", "t")) or (
                isinstance(table, ast.Subscript) and isinstance(table.value, ast.Name) and table.value.id == "STRINGS"
            )
            if is_table and isinstance(node.slice.value, str):
                keys.add(node.slice.value)
    return keys


def verdict_codes() -> tuple[set[str], set[str]]:
    """The report looks up "verdict_" + code; the codes are what app/stats/validate.py gives `code`.

    Returns the literal codes and the literal beginnings of codes built by f-strings
    (e.g. f"update_{method}"), whose endings are known only at run time.
    """
    codes: set[str] = set()
    prefixes: set[str] = set()

    def collect(node: ast.AST) -> None:
        if isinstance(node, ast.JoinedStr):
            first = node.values[0] if node.values else None
            prefixes.add(first.value if isinstance(first, ast.Constant) else "")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            codes.add(node.value)
        else:
            for child in ast.iter_child_nodes(node):
                collect(child)

    for node in ast.walk(ast.parse((REPO / "app" / "stats" / "validate.py").read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "code" for t in node.targets):
            collect(node.value)
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "code":
                    collect(value)
    return codes, prefixes


def verdict_keys() -> set[str]:
    return {f"verdict_{code}" for code in verdict_codes()[0]}


def used_keys() -> set[str]:
    return template_keys() | python_keys() | verdict_keys() | DYNAMIC_KEYS


def test_the_key_scan_finds_the_keys_it_must():
    """Guards the scan itself: were the patterns to stop matching, the tests below would check nothing."""
    assert {"calculate", "demo_banner", "not_yet_known", "yes", "positive"} <= template_keys()
    assert {"error_ki67_not_a_number", "summary_without", "nomogram_heading", "legend_treat_none"} <= python_keys()
    assert verdict_keys() >= {
        "verdict_sample_small", "verdict_auc_no_development", "verdict_auc_lower", "verdict_auc_consistent",
        "verdict_auc_poor", "verdict_citl_too_high", "verdict_citl_too_low", "verdict_citl_ok",
        "verdict_slope_too_extreme", "verdict_slope_too_moderate", "verdict_slope_ok", "verdict_slope_ok_wide",
        "verdict_curve_errors", "verdict_out_of_range",
    }  # fmt: skip
    assert len(used_keys()) > 120


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_key_the_templates_and_code_use_exists(lang):
    assert sorted(used_keys() - STRINGS[lang].keys()) == []


def test_verdict_codes_made_at_run_time_have_strings_in_both_languages():
    """For a code like f"update_{method}" the table must hold the family in both languages (several methods)."""
    for prefix in verdict_codes()[1]:
        assert prefix, "a verdict code begins with a run-time value: its strings cannot be checked"
        family = {key for key in STRINGS["en"] if key.startswith(f"verdict_{prefix}")}
        assert len(family) >= 2, prefix
        assert family == {key for key in STRINGS["zh"] if key.startswith(f"verdict_{prefix}")}


def test_every_string_exists_in_both_languages_with_the_same_placeholders():
    assert STRINGS["en"].keys() == STRINGS["zh"].keys()
    assert SOURCE_LABELS["en"].keys() == SOURCE_LABELS["zh"].keys() == {"synthetic-demo", "published", "fitted"}
    for key, english in STRINGS["en"].items():
        assert set(re.findall(r"{(\w+)", english)) == set(re.findall(r"{(\w+)", STRINGS["zh"][key])), key


# Strings that read the same in both languages: a symbol and abbreviations.
SAME_IN_BOTH = {"beta", "e_stats"}
# Chinese strings without a Chinese character: the language tag, the link to the other language, the
# full-width separators of the summary line and of lists in a card, the label before a full-width colon, and the above.
NO_HAN_CHARACTER = SAME_IN_BOTH | {
    "html_lang",
    "other_language",
    "summary_separator",
    "label_colon",
    "cds_list_separator",
}
# and the full-width punctuation around a placeholder (a full stop, brackets, a comma).
NO_HAN_CHARACTER |= {"stop", "parenthetical", "axis_unit", "marker_valuetext", "list_separator", "status_external_auc"}
HAN = re.compile(r"[\u4e00-\u9fff]")


def test_chinese_strings_are_translated():
    untranslated = [
        key for key in STRINGS["en"] if key not in SAME_IN_BOTH and STRINGS["zh"][key] == STRINGS["en"][key]
    ]
    assert untranslated == []
    assert [key for key, value in STRINGS["zh"].items() if key not in NO_HAN_CHARACTER and not HAN.search(value)] == []
    assert all(HAN.search(value) for value in SOURCE_LABELS["zh"].values())
    assert [k for k, v in STRINGS["en"].items() if k != "other_language" and HAN.search(v)] == []


# Findings and the result in both languages, exactly: a swap (positive ↔ negative, yes ↔ no) turns one
# patient's finding into the opposite one.
CRITICAL = {
    "yes": ("Yes", "是"),
    "no": ("No", "否"),
    "positive": ("Positive", "阳性"),
    "negative": ("Negative", "阴性"),
    "unknown": ("Unknown", "未知"),
    "surface_depression": ("Surface depression", "表面凹陷"),
    "ki67_percent": ("Ki-67 index", "Ki-67 指数"),
    "ki67_unknown": ("Ki-67 not yet known", "Ki-67 尚未获得"),
    "cga_positive": ("Chromogranin A (CgA)", "嗜铬粒蛋白A（CgA）"),
    "not_yet_known": ("not yet known", "尚未获得"),
    "probability": ("Risk of non-curative resection", "非治愈性切除风险"),
    "result_heading": (
        "Predicted risk of non-curative resection (non-R0 or LVI/PNI)",
        "预测非治愈性切除（非R0或LVI/PNI）风险",
    ),
    "calculate": ("Calculate risk", "计算风险"),
    "demo_banner_title": ("Demonstration model", "演示模型"),
    "error_surface_depression": ("Surface depression: choose yes or no.", "表面凹陷：请选择“是”或“否”。"),
    "error_cga": ("Chromogranin A: choose positive, negative or unknown.", "嗜铬粒蛋白A：请选择阳性、阴性或未知。"),
    "html_lang": ("en", "zh-Hans"),
}


@pytest.mark.parametrize("key", sorted(CRITICAL))
def test_medically_critical_words_are_exact(key):
    assert (STRINGS["en"][key], STRINGS["zh"][key]) == CRITICAL[key]


def test_model_sources_are_named_exactly():
    assert SOURCE_LABELS["zh"] == {
        "synthetic-demo": "模拟数据演示",
        "published": "已发表系数",
        "fitted": "患者数据拟合",
    }
    assert SOURCE_LABELS["en"] == {
        "synthetic-demo": "synthetic demonstration",
        "published": "published coefficients",
        "fitted": "fitted on patients",
    }


def word(key: str, lang: str) -> str:
    """The expected string of a critical key in `lang`, from the hand-written table above."""
    return CRITICAL[key][("en", "zh").index(lang)]


def choice_labels(page: Element, name: str) -> dict[str, str]:
    """{value: visible label} of one radio group."""
    return {i.get("value"): text_of(i.parent) for i in select(page, "input", {"type": "radio", "name": name})}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_each_choice_is_labelled_with_its_own_word(client, lang):
    yes, no, positive, negative, unknown = (word(k, lang) for k in ("yes", "no", "positive", "negative", "unknown"))
    form = {"surface_depression": "1", "ki67_percent": "4.5", "cga_positive": "1", "lang": lang}
    page = parse_html(client.post("/", data=form).text)
    assert choice_labels(page, "surface_depression") == {"1": yes, "0": no}
    assert choice_labels(page, "cga_positive") == {"1": positive, "0": negative, "unknown": unknown}
    # The points table and the nomogram's markers name the entered findings.
    cells = [select(row, "td") for row in select(select_one(page, "table", cls="points"), "tr")]
    values = {text_of(row[0]): text_of(row[1]) for row in cells if len(row) == 3}
    assert values == {
        word("surface_depression", lang): yes,
        word("ki67_percent", lang): "4.5 %",
        word("cga_positive", lang): positive,
    }
    valuetext = {
        axis.get("data-name"): re.split("[,，]", select_one(axis, "circle", cls="marker").get("aria-valuetext"))[0]
        for axis in select(page, "g", cls="predictor-axis")
    }
    assert valuetext == {"surface_depression": yes, "ki67_percent": "4.5 %", "cga_positive": positive}
    negative_page = parse_html(client.post("/", data={**form, "surface_depression": "0", "cga_positive": "0"}).text)
    summary = text_of(by_id(negative_page, "summary-text"))
    sha = json.loads((REPO / "model_artifacts" / "rnet-demo-v1.json").read_text(encoding="utf-8"))["sha256"][:12]
    if lang == "zh":
        assert "；表面凹陷 否，Ki-67 4.5 %，CgA 阴性；模型 rnet-demo-v1（模拟数据演示）；" in summary
        assert f"；模型版本 SHA-256 {sha}；演示模型，基于模拟患者拟合，不得用于临床决策；计算时间 20" in summary
    else:
        assert (
            "; surface depression No, Ki-67 4.5 %, CgA Negative; model rnet-demo-v1 (synthetic demonstration); "
            in summary
        )
        assert (
            f"; model version SHA-256 {sha}; demonstration model fitted on synthetic patients, not for clinical "
            "decisions; calculated 20" in summary
        )
    assert summary.endswith(" UTC")


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
    english = parse_html(client.post("/", data={**form, "lang": "en"}).text)
    chinese = parse_html(client.post("/", data={**form, "lang": "zh"}).text)
    risk = text_of(select_one(english, "span", cls="risk-value"))
    assert re.fullmatch(r"\d+\.\d %", risk)
    assert text_of(select_one(chinese, "span", cls="risk-value")) == risk
    assert text_of(by_id(chinese, "result-heading")) == "预测非治愈性切除（非R0或LVI/PNI）风险"
    assert select_one(chinese, "html").get("lang") == "zh-Hans"
    assert select_one(english, "html").get("lang") == "en"
    assert format_percent(0.004) == "0.40 %"
    assert format_percent(0.1234) == "12.3 %"


def visible_text(page: Element) -> str:
    """Text a reader sees or hears: element text and the labelling attributes.  Not script or style, and not
    code (the API reference's examples are JSON, the same in both languages)."""
    parts = []
    for element in page.iter():
        parts += [
            child
            for child in element.children
            if isinstance(child, str) and element.tag not in ("script", "style", "code", "pre")
        ]
        parts += [
            element.attrs[a]
            for a in ("aria-label", "aria-valuetext", "title", "alt", "data-copied", "data-failed")
            if a in element.attrs
        ]
    return " ".join(" ".join(parts).split())


# English strings that may stand in a Chinese page: the link back to English is in English on purpose.
ENGLISH_ALLOWED_IN_CHINESE = {"other_language", "html_lang"} | SAME_IN_BOTH


def english_fragments() -> dict[str, list[str]]:
    """{key: the English string's pieces between placeholders} that cannot occur in Chinese interface text.

    Pieces shorter than 5 characters ("No", "AUC", "p") also occur in model data and identifiers, and
    pieces that a Chinese string contains too ("Ki-67", "95 % CI") prove nothing.
    """
    chinese = [*STRINGS["zh"].values(), *SOURCE_LABELS["zh"].values()]
    fragments = {}
    for key in used_keys() - ENGLISH_ALLOWED_IN_CHINESE:
        pieces = [piece.strip() for piece in re.split(r"{[^}]*}", STRINGS["en"][key])]
        kept = [piece for piece in pieces if len(piece) >= 5 and not any(piece in zh for zh in chinese)]
        if kept:
            fragments[key] = kept
    return fragments


def test_the_chinese_calculator_shows_its_chinese_strings(client):
    text = visible_text(parse_html(client.get("/?lang=zh").text))
    for key in ("calculate", "surface_depression", "demo_banner", "nomogram_heading", "intro", "ki67_unknown"):
        assert STRINGS["zh"][key] in text, key
        assert STRINGS["en"][key] not in text, key


# Strings that are punctuation around placeholders: nothing in them could be English prose.
PUNCTUATION_ONLY = {
    "stop", "parenthetical", "axis_unit", "marker_valuetext", "label_colon", "summary_separator", "list_separator",
}  # fmt: skip


def test_almost_every_english_string_is_checked_on_the_chinese_pages():
    assert len(english_fragments()) > 0.9 * len(used_keys() - PUNCTUATION_ONLY)
    assert english_fragments()["calculate"] == ["Calculate risk"]


@pytest.mark.parametrize(
    ("method", "path", "form"),
    [
        ("GET", "/?lang=zh", None),
        ("POST", "/", {"surface_depression": "1", "ki67_percent": "45", "cga_positive": "1", "lang": "zh"}),
        ("POST", "/", {"surface_depression": "1", "ki67_unknown": "1", "cga_positive": "unknown", "lang": "zh"}),
        ("POST", "/", {"ki67_percent": "abc", "lang": "zh"}),
        ("GET", "/embed?lang=zh&surface_depression=0&ki67_percent=2&cga_positive=0", None),
        ("GET", "/model?lang=zh", None),
        ("GET", "/docs?lang=zh", None),
    ],
)  # fmt: skip
def test_chinese_pages_have_no_english_interface_text(client, method, path, form):
    page = parse_html(client.request(method, path, data=form).text)
    text = visible_text(page)
    found = sorted(key for key, pieces in english_fragments().items() if any(piece in text for piece in pieces))
    assert found == []
    assert select_one(page, "html").get("lang") == "zh-Hans"
    assert HAN.search(text_of(select_one(page, "h1")) + text_of(select_one(select_one(page, "head"), "title")))


@pytest.mark.parametrize("path", ["/", "/model", "/docs"])
def test_english_pages_have_no_chinese_but_the_link_to_it(client, path):
    page = parse_html(client.get(path).text)
    assert HAN.findall(visible_text(page)) == ["中", "文"]
    assert text_of(select_one(page, "a", {"lang": "zh-Hans"})) == "中文"


def test_the_english_embed_view_has_no_chinese(client):
    page = parse_html(client.get("/embed?surface_depression=1&ki67_percent=3&cga_positive=0").text)
    assert HAN.findall(visible_text(page)) == []
