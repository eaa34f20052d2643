"""The Chinese edition is Chinese throughout: every page a Chinese reader can reach, in every state.

Each page is checked with the same checker as the Chinese cohort report (tests/chinese_text.py):
no English prose outside code and the short allow-lists, and no Western punctuation touching a
Chinese character.  The expected Chinese wording is written out here, not read from the code.
"""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.web.artifact_text import KNOWN_TEXTS, Prose, artifact_prose
from app.web.i18n import STRINGS
from tests.chinese_text import HAN_CHARACTER, english_prose, english_words, western_punctuation
from tests.conftest import DEMO_ARTIFACT, by_id, parse_html, select, select_one, text_of
from tests.web.conftest import make_client

RESULT = {"surface_depression": "1", "ki67_percent": "4.5", "cga_positive": "1", "lang": "zh"}


def _failing_client() -> TestClient:
    client = make_client()
    app: FastAPI = client.app  # type: ignore[assignment]

    def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", boom)
    return client


# (what, method, path, form or body, headers, status)
PAGES = [
    ("calculator", "GET", "/?lang=zh", None, {}, 200),
    ("embed", "GET", "/embed?lang=zh", None, {}, 200),
    ("model card", "GET", "/model?lang=zh", None, {}, 200),
    ("API reference", "GET", "/docs?lang=zh", None, {}, 200),
    ("a result", "POST", "/", RESULT, {}, 200),
    ("a result, embedded", "GET", "/embed?lang=zh&surface_depression=0&ki67_percent=2&cga_positive=0", None, {}, 200),
    ("the live fragment", "POST", "/partials/result", RESULT, {}, 200),
    ("not applicable (Ki-67 30 %)", "POST", "/", {**RESULT, "ki67_percent": "30"}, {}, 200),
    ("a finding not yet known", "POST", "/", {**RESULT, "ki67_percent": "", "ki67_unknown": "1",
                                                "cga_positive": "unknown"}, {}, 200),
    ("a missing finding (422)", "POST", "/", {**RESULT, "ki67_percent": ""}, {}, 422),
    ("a finding unreadable (422)", "POST", "/", {**RESULT, "ki67_percent": "4..5"}, {}, 422),
    ("403", "POST", "/?lang=zh", RESULT, {"origin": "https://elsewhere.example", "sec-fetch-site": "cross-site"}, 403),
    ("404", "GET", "/nothing-here?lang=zh", None, {}, 404),
    ("404, unknown model", "GET", "/m/no-such-model/model?lang=zh", None, {}, 404),
    ("405", "PUT", "/model?lang=zh", None, {}, 405),
    ("413", "POST", "/?lang=zh", b"ki67_percent=" + b"9" * 20000,
     {"content-type": "application/x-www-form-urlencoded"}, 413),
    ("500", "GET", "/broken?lang=zh", None, {}, 500),
]  # fmt: skip


def _get(method: str, path: str, body: object, headers: dict[str, str]) -> tuple[int, str]:
    client = _failing_client() if path.startswith("/broken") else make_client()
    if isinstance(body, bytes):
        response = client.request(method, path, content=body, headers=headers)
    else:
        response = client.request(method, path, data=body, headers=headers)  # type: ignore[arg-type]
    return response.status_code, response.text


@pytest.mark.parametrize(("what", "method", "path", "body", "headers", "status"), PAGES, ids=[p[0] for p in PAGES])
def test_every_chinese_page_is_chinese(what, method, path, body, headers, status):
    code, html = _get(method, path, body, headers)
    assert code == status
    assert english_prose(html) == []
    assert western_punctuation(html) == []
    if what != "the live fragment":
        page = parse_html(html)
        assert select_one(page, "html").get("lang") == "zh-Hans"
        assert HAN_CHARACTER.search(text_of(select_one(page, "h1")))
        assert HAN_CHARACTER.search(text_of(select_one(select_one(page, "head"), "title")))


def test_the_checker_finds_english_where_it_hides():
    """Guards the checker: prose in text, in a heard attribute and in the copy button's messages is
    found; code, abbreviations, ids and the link to the English edition are not."""
    html = (
        '<html lang="zh-Hans"><p>风险 <code>POST /api/v1/predict</code> AUC 0.75，Ki-67 4.5 %</p>'
        '<p>模型 rnet-demo-v1 · SHA-256 dc076ef7472a…</p><a href="?lang=en" lang="en">English</a>'
        '<button data-copied="Copied to the clipboard">复制</button><svg aria-label="Risk axis"></svg>'
        "<p>Demonstration model</p></html>"
    )
    assert english_prose(html) == [
        "'Copied' in 'Copied to the clipboard'", "'to' in 'Copied to the clipboard'",
        "'the' in 'Copied to the clipboard'", "'clipboard' in 'Copied to the clipboard'",
        "'Risk' in 'Risk axis'", "'axis' in 'Risk axis'",
        "'Demonstration' in 'Demonstration model'", "'model' in 'Demonstration model'",
    ]  # fmt: skip
    assert english_prose('<a href="?lang=en" lang="en">English page</a>') != []  # only the switch itself
    assert english_words("非治愈性切除（非R0或LVI/PNI），EMR、ESD 或 EFR，CgA 阳性") == []
    assert western_punctuation("<p>演示模型.</p><p>模型: x</p><p>95 % 置信区间: 1</p><p>是; CgA</p>") == [
        "演示模型.", "模型: x", "95 % 置信区间: 1", "是; CgA",
    ]  # fmt: skip


def test_the_chinese_summary_line_reads_in_chinese():
    page = parse_html(make_client().post("/", data=RESULT).text)
    summary = text_of(by_id(page, "summary-text"))
    assert summary.startswith("直肠NET非治愈性切除风险：")
    assert "（95 % 置信区间 " in summary and " 至 " in summary and "CI" not in summary
    assert "；表面凹陷 是，Ki-67 4.5 %，CgA 阳性；模型 rnet-demo-v1（模拟数据演示）；" in summary
    assert text_of(select_one(page, "span", cls="ci")).startswith("95 % 置信区间：")


def test_the_chinese_model_card_shows_the_artifacts_prose_in_chinese():
    page = parse_html(make_client().get("/model?lang=zh").text)
    assert text_of(select_one(page, "h1")) == (
        "模型说明：直径≤20 mm 的直肠神经内分泌肿瘤：内镜切除为非治愈性切除（非R0或LVI/PNI）的风险"
    )
    assert "合成数据演示模型：基于模拟患者拟合，并非研究数据。不得用于临床。" in text_of(page)
    assert "《中华消化内镜杂志》，文章编号 NJ240221。" in text_of(page)
    assert "χ² 4.06，自由度 8，P 0.852（结果依赖分组方式，请结合校准曲线解读）" in text_of(page)
    assert "模拟数据演示（synthetic-demo）" in text_of(page)
    influence = "强影响患者（Belsley、Kuh 与 Welsch 标准：Cook 距离 > 4/n 或任一 |DFBETAS| > 2/√n）：共 38 例；"
    assert influence + "影响最大的是建模数据文件中的第 140、105、97、173、45 行。" in text_of(page)
    assert select(page, attrs={"lang": "en"}) == [select_one(page, "a", {"lang": "en"})]


def test_the_english_model_card_keeps_its_prose_and_names_the_outcome():
    page = parse_html(make_client().get("/model").text)
    assert text_of(select_one(page, "h1")) == (
        "Model card: Rectal NETs ≤20 mm: risk of non-curative resection (non-R0 or LVI/PNI) at endoscopic resection"
    )
    assert (
        "Synthetic demonstration model: fitted on simulated patients, not on the study's data. Not for clinical use."
        in text_of(page)
    )
    assert "Chinese Journal of Digestive Endoscopy, article NJ240221." in text_of(page)
    assert "χ² 4.06, df 8, p 0.852 (depends on the grouping; read it with the curves)" in text_of(page)


def test_every_text_the_project_writes_into_an_artifact_is_known_exactly():
    """The shipped artifact's prose is recognised (a changed byte would leave it in English on the
    Chinese page); anything else is shown as written, marked as English on a Chinese page."""
    import json

    artifact = json.loads(DEMO_ARTIFACT.read_text(encoding="utf-8"))
    shipped = {
        artifact["title"],
        artifact["provenance"]["notes"],
        artifact["provenance"]["reference"],
        artifact["performance"]["influence"]["rule"],
    }
    assert shipped == set(KNOWN_TEXTS)
    for text in shipped:
        assert artifact_prose(text, "zh").lang == ""
        assert HAN_CHARACTER.search(artifact_prose(text, "zh").text)
        assert not HAN_CHARACTER.search(artifact_prose(text, "en").text)
    assert artifact_prose("Our hospital's model, 2025.", "zh") == Prose("Our hospital's model, 2025.", "en")
    assert artifact_prose("Our hospital's model, 2025.", "en") == Prose("Our hospital's model, 2025.", "")
    assert artifact_prose(None, "zh") == Prose("")


def test_the_api_reference_describes_every_endpoint_and_field_in_chinese():
    client = make_client()
    schema = client.get("/openapi.json").json()
    operations = [op for item in schema["paths"].values() for op in item.values()]
    page = parse_html(client.get("/docs?lang=zh").text)
    rows = [select(row, "td") for row in select(select(page, "table")[0], "tr")]
    summaries = {text_of(cells[0]): text_of(cells[1]) for cells in rows if cells}
    assert len(summaries) == len(operations) == 9
    assert (
        summaries["POST /cds-services/rnet-non-curative-risk"]
        == "CDS Hooks 调用：根据预取的观察记录返回一张含风险的卡片"
    )
    assert summaries["POST /api/v1/predict"] == "一个病灶的非治愈性切除预测风险"
    assert summaries["GET /healthz"] == "进程正在运行"
    assert all(HAN_CHARACTER.search(summary) for summary in summaries.values())
    # The English page shows the schema's own summaries, which the Chinese ones translate key by key.
    english = parse_html(client.get("/docs").text)
    english_rows = [select(row, "td") for row in select(select(english, "table")[0], "tr")]
    assert {text_of(c[1]) for c in english_rows if c} == {op["summary"] for op in operations}
    fields = [select(row, "td") for row in select(select(page, "table")[1], "tr")]
    assert {text_of(c[0]): text_of(c[2]) for c in fields if c} == {
        "surface_depression": "内镜下可见中央或表面凹陷（true/false）。",
        "ki67_percent": "活检 Ki-67 标记指数，即阳性肿瘤细胞百分比，0 至 100；尚未获得时为 null。",
        "cga_positive": "嗜铬粒蛋白A免疫组化染色阳性（true/false）；尚未获得时为 null。",
    }


def test_the_chinese_nomogram_writes_units_in_full_width_brackets():
    page = parse_html(make_client().post("/", data=RESULT).text)
    labels = {text_of(label) for label in select(page, "text", cls="axis-label")}
    assert "Ki-67 指数（%）" in labels and "Ki-67 指数 (%)" not in labels
    assert text_of(select_one(page, "label", {"for": "ki67_percent"})) == "Ki-67 指数（%）"


@pytest.mark.parametrize("key", ["stop", "parenthetical", "axis_unit", "label_colon", "hl_result"])
def test_punctuation_strings_are_full_width_in_chinese(key):
    assert not set(",.;:()") & set(STRINGS["zh"][key].replace("{", "").replace("}", ""))
    assert set(STRINGS["en"][key]) & set(",.:()")


def test_the_validation_reports_selection_reads_in_chinese():
    """`rnet validate --lang zh` says which rows it analysed in Chinese, from the statistics' own sentence."""
    import numpy as np

    from app.stats.cohort import CompleteCase
    from app.web.reports import selection_text

    some = CompleteCase(
        columns={}, row_numbers=np.arange(198), n_total=213,
        missing_by_column={"ki67_percent": 3, "cga_positive": 0}, excluded_by_rule={"tumour diameter over 20 mm": 12},
    ).describe()  # fmt: skip
    assert selection_text(some, "zh") == "纳入 213 行中的 198 行；排除：Ki-67 指数缺失 3 例；肿瘤直径 >20 mm 12 例"
    every = CompleteCase(columns={}, row_numbers=np.arange(213), n_total=213, missing_by_column={}).describe()
    assert selection_text(every, "zh") == "全部 213 行均纳入分析"
    assert (
        selection_text(some, "en")
        == some
        == "198 of 213 rows used; left out: 3 missing ki67_percent; 12 tumour diameter over 20 mm"
    )


def _chinese_tables() -> dict[str, dict[str, str]]:
    from app.web.report_strings import PHRASES_ZH, REPORT_STRINGS, TRIPOD_TOPICS_ZH, VARIABLE_LABELS_ZH

    return {
        "STRINGS": {k: v for k, v in STRINGS["zh"].items() if k not in ("html_lang", "other_language")},
        "REPORT_STRINGS": REPORT_STRINGS["zh"], "TRIPOD_TOPICS_ZH": TRIPOD_TOPICS_ZH,
        "VARIABLE_LABELS_ZH": VARIABLE_LABELS_ZH, "PHRASES_ZH": PHRASES_ZH,
    }  # fmt: skip


def test_every_chinese_string_is_chinese_with_chinese_punctuation():
    """All of the tables, including strings only a rare state shows (a verdict, an error), which the
    page tests above may never render.  Placeholders are left out: they are filled at run time."""
    import re

    from tests.chinese_text import WESTERN_PUNCTUATION

    found = {
        f"{table}.{key}": value
        for table, strings in _chinese_tables().items()
        for key, value in strings.items()
        if english_words(re.sub(r"{[^}]*}", " ", value)) or WESTERN_PUNCTUATION.search(value)
    }
    assert found == {}
    assert english_words("所见 (see the notes)") == ["see", "the", "notes"]


def _language_of(element) -> str | None:
    node = element
    while node is not None:
        if node.get("lang"):
            return node.get("lang")
        node = node.parent
    return None


def test_another_artifacts_english_prose_is_marked_as_english_on_the_chinese_model_card(tmp_path):
    """A hospital's own artifact (here one built from published coefficients) has notes and a title
    this project cannot translate: they are shown as written, inside an element marked lang="en",
    and everything around them is Chinese."""
    import json

    from app.cli import main
    from tests.chinese_text import visible_texts
    from tests.stats.test_published import SPEC

    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    out = tmp_path / "p.json"
    assert main(["from-coefficients", str(spec), "--out", str(out)]) == 0
    page = parse_html(make_client(artifact=out).get("/model?lang=zh").text)
    model_id = SPEC["model_id"]  # an identifier, like rnet-demo-v1
    english = [(e, text) for e, text in visible_texts(page) if english_words(text.replace(model_id, ""))]
    assert english, "the published artifact's notes are English prose"
    assert {_language_of(element) for element, _ in english} == {"en"}
    marked = [e for e in select(page, attrs={"lang": "en"}) if e.tag != "a"]
    assert {e.tag for e in marked} <= {"span", "dd", "p"} and len(marked) >= 2


UPDATE_METHODS = {  # written out; recalibrate's methods, and "original" when closed testing keeps the model
    "original": ("no update: the original coefficients are kept", "未更新：保留原回归系数"),
    "intercept": ("recalibration in the large (new intercept)", "整体校准（重新估计截距）"),
    "logistic": (
        "logistic recalibration (new intercept and calibration slope)",
        "logistic 再校准（重新估计截距与校准斜率）",
    ),
    "refit": ("full refit of all coefficients on the local cohort", "在本地队列中重新拟合全部系数"),
}


def test_every_update_method_is_named_in_both_languages():
    from app.stats.recalibrate import METHODS

    assert set(METHODS) - {"auto"} | {"original"} == set(UPDATE_METHODS)
    for method, (english, chinese) in UPDATE_METHODS.items():
        assert (STRINGS["en"][f"update_method_{method}"], STRINGS["zh"][f"update_method_{method}"]) == (
            english,
            chinese,
        )


def test_a_recalibrated_models_card_says_how_it_was_updated_in_chinese(tmp_path):
    from app.cli import main
    from tests.chinese_text import visible_texts
    from tests.stats.test_validate import cohort_from_model

    cohort = cohort_from_model(tmp_path, n=400, seed=24, intercept_shift=-1.0)
    out = tmp_path / "ours.json"
    command = ["recalibrate", "--artifact", str(DEMO_ARTIFACT), "--data", str(cohort), "--out", str(out)]
    assert main([*command, "--method", "intercept", "--model-id", "ours"]) == 0
    page = parse_html(make_client(artifact=out).get("/model?lang=zh").text)
    assert (
        "已在本地队列中更新，更新方式为整体校准（重新估计截距）；所示性能为同一队列上的表观值，并非独立验证。"
        in text_of(page)
    )
    # Only the notes, which recalibrate writes in English around the parent's notes, stay English, marked so.
    english = [(e, text) for e, text in visible_texts(page) if english_words(text.replace("ours", ""))]
    assert [(_language_of(e), e.tag) for e, _ in english] == [("en", "dd")]
