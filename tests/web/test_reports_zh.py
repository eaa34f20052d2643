"""The cohort report in Simplified Chinese (`rnet report --lang zh`): every word Chinese except the
abbreviations, units, names and file names a Chinese reader sees in English too; Chinese punctuation
in Chinese sentences; the same numbers in the same cells as the English report."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import numpy as np
import pytest

from app.errors import StatisticalError
from app.stats import compare
from app.stats.cohort import read_cohort
from app.stats.fit import check_event_counts, fit_logistic
from app.stats.report import TRIPOD_ITEMS, cohort_report, model_failure_sentence
from app.web.report_strings import (
    METHODS_NAMES_ZH,
    PHRASES_ZH,
    REPORT_STRINGS,
    TRIPOD_TOPICS_ZH,
    VARIABLE_LABELS_ZH,
)
from app.web.reports import VARIABLE_LABELS, error_reason, phrase, render_cohort_report
from tests import chinese_text
from tests.chinese_text import western_punctuation
from tests.conftest import DEMO_COHORT, REPO, parse_html, select

BOOTSTRAP = 20
HAN = r"\u3400-\u9fff"
# The cited journal of the methods paragraph, abbreviated as in the reference: the report's only
# Latin words beyond those the pages allow (tests/chinese_text.py).
JOURNAL = {"BMC", "Med", "Res", "Methodol"}


def english_words(text: str) -> list[str]:
    return chinese_text.english_words(text, JOURNAL)


def english_prose(html: str) -> list[str]:
    return chinese_text.english_prose(html, JOURNAL)


@pytest.fixture(scope="module")
def reports() -> dict[str, str]:
    data = cohort_report(
        cohort=read_cohort(DEMO_COHORT), predictors=("surface_depression", "ki67_percent", "cga_positive"),
        bootstrap=BOOTSTRAP, seed=20240221, synthetic=True,
    )  # fmt: skip
    return {lang: render_cohort_report(data, lang=lang) for lang in ("en", "zh")}


def test_the_english_checker_finds_english(reports):
    """Guards the checker: the English report is full of English, and a single stray word is caught."""
    assert len(english_prose(reports["en"])) > 300
    assert english_words("Welch t 检验") == [] and english_words("Welch t-test") == ["test"]
    assert english_words("rnet-demo-cohort.csv 中共 213 例") == []
    assert english_words("队列 (Synthetic data.)") == ["Synthetic", "data"]
    assert western_punctuation("<p>排除：无; 样本</p><p>模型(表面凹陷)</p><p>率差（10–20 mm），法</p>") == [
        "排除：无; 样本", "模型(表面凹陷)",
    ]  # fmt: skip


def test_the_chinese_report_has_no_english_prose(reports):
    assert english_prose(reports["zh"]) == []


def test_the_chinese_report_is_marked_as_chinese_and_shows_the_key_terms(reports):
    page = parse_html(reports["zh"])
    assert select(page, "html")[0].get("lang") == "zh-Hans"
    text = reports["zh"]
    for term in ("直肠神经内分泌肿瘤", "非治愈性切除", "列线图", "校准曲线", "决策曲线", "受试者工作特征曲线（ROC）",
                 "曲线下面积 AUC", "表 1", "TRIPOD 清单", "随机猜测线", "全部干预", "均不干预"):  # fmt: skip
        assert term in text, term
    assert select(parse_html(reports["en"]), "html")[0].get("lang") == "en"


def test_chinese_sentences_use_chinese_punctuation(reports):
    assert western_punctuation(reports["zh"]) == []
    methods = next(p for p in select(parse_html(reports["zh"]), "p") if "Welch t 检验" in p.text).text
    assert methods.endswith("。") and methods.count("。") >= 8 and "；" in methods and "，" in methods
    assert "; " not in methods and ", " not in methods.replace("[P25, P75]", "")


NUMBER = re.compile(r"(?<![\w.])[-−]?\d+(?:,\d{3})*(?:\.\d+)?")  # not the 25 of "P25" or the 0 of "R0"


def numbers(text: str) -> list[str]:
    return NUMBER.findall(text.replace("Ki-67", "Ki"))  # a name, not a number


def cells(html: str) -> list[list[str]]:
    return [[c.text for c in row.iter() if c.tag in ("td", "th")] for row in select(parse_html(html), "tr")]


def test_the_numbers_are_the_same_in_the_same_cells(reports):
    en, zh = cells(reports["en"]), cells(reports["zh"])
    assert len(en) == len(zh) > 40
    for row_en, row_zh in zip(en, zh, strict=True):
        assert len(row_en) == len(row_zh)
        for cell_en, cell_zh in zip(row_en, row_zh, strict=True):
            assert numbers(cell_en) == numbers(cell_zh), (cell_en, cell_zh)
    # the paragraphs (methods, the model's figures, the multivariable note): the same numbers, in
    # the order each language puts them
    paragraphs = {lang: [p.text for p in select(parse_html(reports[lang]), "p")] for lang in reports}
    assert len(paragraphs["en"]) == len(paragraphs["zh"])
    for p_en, p_zh in zip(paragraphs["en"], paragraphs["zh"], strict=True):
        assert sorted(numbers(p_en)) == sorted(numbers(p_zh)), (p_en[:60], p_zh[:60])
    # and the charts' axes
    ticks = {
        lang: [
            t.text
            for chart in select(parse_html(reports[lang]), "svg", cls="chart")
            for t in select(chart, "text", cls="tick-label")
        ]
        for lang in reports
    }
    assert ticks["en"] == ticks["zh"] and len(ticks["en"]) > 30


def test_categories_that_are_words_are_translated_and_codes_kept(reports):
    zh = {row[0]: row for row in cells(reports["zh"]) if row}
    assert zh["性别例数（%）"][1].startswith("女：118 (55.4%)男：95 (44.6%)")
    assert zh["切除方式例数（%）"][1].startswith("EFR：5 (2.3%)EMR：17 (8.0%)ESD：191 (89.7%)")


# ---------------------------------------------------------------- the string tables


def test_every_report_string_exists_in_both_languages_with_the_same_placeholders():
    assert REPORT_STRINGS["en"].keys() == REPORT_STRINGS["zh"].keys()
    for key, english in REPORT_STRINGS["en"].items():
        assert set(re.findall(r"{(\w+)}", english)) == set(re.findall(r"{(\w+)}", REPORT_STRINGS["zh"][key])), key
    template = (REPO / "templates" / "cohort_report.html").read_text(encoding="utf-8")
    used = set(re.findall(r"(?<![\w.])r\.(\w+)", template))
    assert len(used) > 30 and used <= REPORT_STRINGS["en"].keys()
    assert VARIABLE_LABELS_ZH.keys() == VARIABLE_LABELS.keys()
    assert TRIPOD_TOPICS_ZH.keys() == {item for item, _, _ in TRIPOD_ITEMS}
    from app.stats.report import METHODS_NAMES

    assert METHODS_NAMES.keys() <= METHODS_NAMES_ZH.keys()


def test_chinese_strings_are_chinese():
    han = re.compile(f"[{HAN}]")
    punctuation_only = {"open", "close", "stop", "colon", "list_separator", "clause_separator", "ci_to", "p"}
    for key, value in REPORT_STRINGS["zh"].items():
        assert value != REPORT_STRINGS["en"][key] or key in ("p",), key
        assert han.search(value) or key in punctuation_only, key
    for table in (VARIABLE_LABELS_ZH, TRIPOD_TOPICS_ZH, PHRASES_ZH):
        assert all(han.search(value) for value in table.values())


def test_the_english_report_reads_as_before():
    """The English strings are the report's wording before it had a Chinese edition."""
    en = REPORT_STRINGS["en"]
    assert en["model_failure"].format(reason="x.") == model_failure_sentence({"error": "x."})
    assert en["title"] == "Rectal NETs ≤20 mm: endoscopic outcomes by size and risk of non-curative resection"
    assert (en["open"], en["close"], en["stop"], en["ci_to"]) == (" (", ")", ".", " to ")


def _phrases_written_by_the_statistics() -> set[str]:
    """Literal strings app/stats/compare.py assigns to a row's test, test_detail, effect or note, and the
    summary labels, grouping notes and exclusion reasons; found by reading the code."""
    found: set[str] = set(compare.SUMMARY_LABEL.values()) | set(compare.GROUPING_VARIABLES.values())
    fields = {"test", "test_detail", "effect", "note"}
    sources = [REPO / "app" / "stats" / "compare.py", REPO / "app" / "stats" / "report.py"]
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Assign):
                targets = [
                    t for target in node.targets for t in (target.elts if isinstance(target, ast.Tuple) else [target])
                ]
                values = node.value.elts if isinstance(node.value, ast.Tuple) else [node.value]
                for target, value in zip(targets, values, strict=False):
                    if not (isinstance(target, ast.Attribute) and target.attr in fields):
                        continue
                    for choice in [value.body, value.orelse] if isinstance(value, ast.IfExp) else [value]:
                        if isinstance(choice, ast.Constant) and isinstance(choice.value, str):
                            found.add(choice.value)
            if isinstance(node, ast.keyword) and node.arg == "note" and isinstance(node.value, ast.Constant):
                found.add(node.value.value)
            if isinstance(node, ast.Dict):  # {"variable": name, "note": "not in the file"}
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "note" and isinstance(value, ast.Constant):
                        found.add(value.value)
    return {text for text in found if text}


def test_every_fixed_phrase_of_the_statistics_has_a_chinese_form():
    written = _phrases_written_by_the_statistics()
    assert {"Welch t-test", "Fisher's exact test", "no variation", "not in the file", "median [IQR]"} <= written
    missing = [text for text in written if english_words(phrase(text, "zh"))]
    assert missing == []
    assert all(phrase(text, "en") == text for text in written)


@pytest.mark.parametrize(
    ("english", "chinese"),
    [
        ("Freeman–Halton (Monte Carlo, 20,000 tables)", "Freeman–Halton 检验（蒙特卡罗模拟，20,000 个表）"),
        ("all 1,234 tables with the observed margins", "枚举观测边际下的全部 1,234 个表"),
        ("Monte Carlo SE 0.0021, seed 20240221", "蒙特卡罗标准误 0.0021，随机种子 20240221"),
        ("diameter over 20 mm", "直径 >20 mm"),
    ],
)
def test_phrases_with_numbers_keep_their_numbers(english, chinese):
    assert phrase(english, "zh") == chinese


def _first_sentence_of(exc: StatisticalError) -> str:
    from app.stats.report import first_sentence

    return first_sentence(str(exc))


def _raised(call) -> str:
    with pytest.raises(StatisticalError) as caught:
        call()
    return _first_sentence_of(caught.value)


def test_why_a_model_cannot_be_fitted_is_said_in_chinese():
    y = np.array([1.0] * 4 + [0.0] * 209)
    few = _raised(lambda: check_event_counts(y))
    assert (
        error_reason(few, "zh")
        == "排除不完整记录后有 4 例事件（非治愈性切除）和 209 例非事件，拟合模型时两者均至少需要 10 例。"
    )
    ki67 = np.random.default_rng(1).permutation(np.linspace(0, 5, 40))  # unrelated to the outcome
    x = np.column_stack([np.r_[np.ones(20), np.zeros(20)], ki67])
    outcome = np.r_[np.ones(20), np.zeros(20)]
    separated = _raised(lambda: fit_logistic(x=x[:, :1], y=outcome, names=("surface_depression",)))
    assert error_reason(separated, "zh").startswith("表面凹陷可无误差地预测部分或全部患者的结局（完全或准完全分离）")
    combination = _raised(lambda: fit_logistic(x=x, y=outcome, names=("surface_depression", "ki67_percent")))
    assert error_reason(combination, "zh").startswith("表面凹陷、Ki-67 指数的组合可无误差地预测")
    doubled = np.column_stack([x[:, 1], 2 * x[:, 1]])
    collinear = _raised(
        lambda: fit_logistic(x=doubled, y=np.tile([0.0, 1.0], 20), names=("ki67_percent", "cga_positive"))
    )
    assert error_reason(collinear, "zh").startswith("预测因子Ki-67 指数、CgA 阳性在本队列中共线")
    constant = np.column_stack([np.ones(40), x[:, 1]])
    same = _raised(lambda: fit_logistic(x=constant, y=np.tile([0.0, 1.0], 20), names=("cga_positive", "ki67_percent")))
    assert error_reason(same, "zh") == "预测因子CgA 阳性在所有患者中取值相同（1），无法估计其效应。"
    for reason in (few, separated, combination, collinear, same):
        assert english_words(error_reason(reason, "zh")) == [] and error_reason(reason, "en") == reason
    assert english_words(error_reason("something nobody foresaw.", "zh")) == []


def _cohort_with_few_events(folder: Path) -> Path:
    lines = DEMO_COHORT.read_text().splitlines()
    header = lines[0].split(",")
    column = header.index("non_curative_resection")
    rows = []
    for index, line in enumerate(lines[1:]):
        values = line.split(",")
        values[column] = "1" if index < 4 else "0"
        rows.append(",".join(values))
    path = folder / "few.csv"
    path.write_text("\n".join([lines[0], *rows]) + "\n")
    return path


def test_a_model_that_cannot_be_fitted_is_explained_in_chinese(tmp_path):
    data = cohort_report(
        cohort=read_cohort(_cohort_with_few_events(tmp_path)),
        predictors=("surface_depression", "ki67_percent", "cga_positive"), bootstrap=BOOTSTRAP, seed=1, synthetic=True,
    )  # fmt: skip
    html = render_cohort_report(data, lang="zh")
    failures = [p.text for p in select(parse_html(html), "p", cls="model-failure")]
    assert len(failures) == 2 and all(f.startswith("多因素模型未能拟合：排除不完整记录后有 4 例事件") for f in failures)
    assert english_prose(html) == [] and western_punctuation(html) == []
    assert "多因素 logistic 回归模型（表面凹陷、Ki-67 指数、CgA 阳性）未能拟合：" in html
