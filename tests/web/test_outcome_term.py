"""One name for the outcome everywhere (issue 13, item 7).

The outcome counts a positive or indeterminate margin (non-R0) and lymphovascular or perineural
invasion (LVI/PNI); calling it "non-R0 resection" tells a clinician that margins are all that
count.  Its name is "non-curative resection (non-R0 or LVI/PNI)", short "non-curative resection";
in Chinese 非治愈性切除（非R0或LVI/PNI）, short 非治愈性切除.  The expected wording is written out
here, and the shipped artifact's title and outcome label (served by /api/v1/model) use it too.
"""

from __future__ import annotations

import re

import pytest

from app.cli import main
from app.stats.cohort import read_cohort
from app.stats.report import TRIPOD_ITEMS, cohort_report
from app.web.i18n import STRINGS
from app.web.report_strings import REPORT_STRINGS, TRIPOD_TOPICS_ZH
from app.web.reports import render_cohort_report
from tests.chinese_text import english_prose, western_punctuation
from tests.conftest import DEMO_ARTIFACT, DEMO_COHORT, by_id, parse_html, select, select_one, text_of
from tests.web.conftest import make_client

TERM = {"en": "non-curative resection (non-R0 or LVI/PNI)", "zh": "非治愈性切除（非R0或LVI/PNI）"}
SHORT = {"en": "non-curative resection", "zh": "非治愈性切除"}
# The old names: the outcome called non-R0, or non-curative equated with non-R0.
OLD = re.compile(
    r"non-R0 (?:resection|risk)|non-curative,? \(?non-R0\)? resection|non-curative \(non-R0\)"
    r"|非 ?R0 ?(?:切除|风险)|非治愈性（非R0）|即非 ?R0"
)
RESULT = {"surface_depression": "1", "ki67_percent": "4.5", "cga_positive": "1"}


def test_the_old_name_is_recognised():
    """Guards the pattern: each way the outcome used to be named is caught, the new names are not."""
    for old in ("Risk of non-R0 resection", "R-NET non-R0 risk: 5 %", "Predicted risk of non-curative (non-R0) resection",
                "Outcome definition (non-curative, non-R0 resection)", "非R0切除风险", "直肠NET非R0风险：",
                "预测非治愈性（非R0）切除风险", "结局定义（非治愈性切除，即非 R0 切除）"):  # fmt: skip
        assert OLD.search(old), old
    for new in (
        *TERM.values(),
        *SHORT.values(),
        "a positive or indeterminate margin (non-R0)",
        "切缘阳性或不确定（非R0）",
    ):
        assert not OLD.search(new), new


@pytest.fixture(scope="module")
def surfaces(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Every page, the API schema and answers, and both reports, in both languages."""
    client = make_client()
    found: dict[str, str] = {"openapi": client.get("/openapi.json").text}
    found["api answer"] = client.post(
        "/api/v1/predict", json={"surface_depression": True, "ki67_percent": 30, "cga_positive": None}
    ).text
    found["model metadata"] = client.get("/api/v1/model").text  # the shipped artifact's title and outcome label
    found["cds discovery"] = client.get("/cds-services").text
    found["fhir risk assessment"] = client.post(
        "/api/v1/predict",
        json={"surface_depression": True, "ki67_percent": 5, "cga_positive": True},
        headers={"accept": "application/fhir+json"},
    ).text
    for lang in ("en", "zh"):
        for path in ("/", "/embed", "/model", "/docs", "/nothing-here"):
            found[f"{path} {lang}"] = client.get(f"{path}?lang={lang}").text
        found[f"result {lang}"] = client.post("/", data={**RESULT, "lang": lang}).text
        found[f"not applicable {lang}"] = client.post("/", data={**RESULT, "ki67_percent": "30", "lang": lang}).text
    data = cohort_report(
        cohort=read_cohort(DEMO_COHORT), predictors=("surface_depression", "ki67_percent", "cga_positive"),
        bootstrap=20, seed=20240221, synthetic=True,
    )  # fmt: skip
    folder = tmp_path_factory.mktemp("validation")
    for lang in ("en", "zh"):
        found[f"cohort report {lang}"] = render_cohort_report(data, lang=lang)
        out = folder / f"validation-{lang}.html"
        command = ["validate", "--artifact", str(DEMO_ARTIFACT), "--data", str(DEMO_COHORT), "--out", str(out)]
        assert main([*command, "--lang", lang]) == 0
        found[f"validation report {lang}"] = out.read_text(encoding="utf-8")
    return found


def test_the_old_name_appears_nowhere(surfaces):
    assert {name: OLD.findall(text) for name, text in surfaces.items() if OLD.search(text)} == {}


def test_the_string_tables_use_the_new_name_only():
    tables = [STRINGS["en"], STRINGS["zh"], REPORT_STRINGS["en"], REPORT_STRINGS["zh"], TRIPOD_TOPICS_ZH]
    assert [text for table in tables for text in table.values() if OLD.search(text)] == []
    assert [topic for _, topic, _ in TRIPOD_ITEMS if OLD.search(topic)] == []


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_result_names_the_outcome_in_full_and_the_nomogram_in_short(surfaces, lang):
    page = parse_html(surfaces[f"result {lang}"])
    heading = text_of(by_id(page, "result-heading"))
    assert heading == {"en": f"Predicted risk of {TERM['en']}", "zh": f"预测{TERM['zh']}风险"}[lang]
    axis_titles = {text_of(t) for t in select(page, "text", cls="axis-label")}
    assert {"en": "Risk of non-curative resection", "zh": "非治愈性切除风险"}[lang] in axis_titles
    summary = text_of(by_id(page, "summary-text"))
    assert summary.startswith({"en": "R-NET non-curative resection risk: ", "zh": "直肠NET非治愈性切除风险："}[lang])


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_model_card_defines_the_outcome_with_its_name(surfaces, lang):
    page = parse_html(surfaces[f"/model {lang}"])
    text = text_of(select_one(page, "article"))
    assert TERM[lang] in text_of(select_one(page, "h1"))
    definition = {
        "en": f"the risk of a {TERM['en']} of a rectal neuroendocrine tumour ≤20 mm: a positive or indeterminate "
        "margin (non-R0), or lymphovascular or perineural invasion (LVI/PNI).",
        "zh": f"估计直径≤20 mm 的直肠神经内分泌肿瘤发生{TERM['zh']}的风险，即切缘阳性或不确定（非R0），"
        "或存在脉管侵犯或神经侵犯（LVI/PNI）。",
    }[lang]
    assert definition in text


def test_the_api_describes_the_outcome_with_its_name():
    schema = make_client().get("/openapi.json").json()
    assert schema["info"]["title"] == "R-NET non-curative resection risk calculator API"
    assert TERM["en"] in schema["info"]["description"]
    probability = schema["components"]["schemas"]["RiskPrediction"]["properties"]["probability"]
    assert probability["description"].startswith(f"Predicted risk of {TERM['en']}, 0 to 1")
    summary = schema["paths"]["/api/v1/predict"]["post"]["summary"]
    assert summary == "Predicted risk of non-curative resection for one lesion"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_reports_name_the_outcome(surfaces, lang):
    rows = [text_of(row) for row in select(parse_html(surfaces[f"cohort report {lang}"]), "tr")]
    expected = {
        "en": "Outcome definition (non-curative resection: non-R0 or LVI/PNI)",
        "zh": "结局定义（非治愈性切除：非R0或LVI/PNI）",
    }
    assert any(row.startswith(f"6a{expected[lang]}") for row in rows), [r for r in rows if r.startswith("6a")]
    assert SHORT[lang] in surfaces[f"validation report {lang}"]


def test_the_chinese_validation_report_is_chinese(surfaces):
    """The other report a Chinese reader gets (`rnet validate --lang zh`), with the pages' checker."""
    html = surfaces["validation report zh"]
    assert english_prose(html) == []
    assert western_punctuation(html) == []
