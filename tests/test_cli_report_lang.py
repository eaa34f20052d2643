"""`rnet report --lang en|zh`: the report's language is chosen on the command line; the JSON and the CSV
tables are the same in either language; a language the report does not have is a usage error (exit 2)
that writes nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.cli import main
from tests.conftest import DEMO_COHORT, REPO, parse_html, select

BOOTSTRAP = "5"


def run_report(folder: Path, *extra: str) -> tuple[str, dict, dict[str, str]]:
    folder.mkdir()
    out, js, tables = folder / "r.html", folder / "r.json", folder / "tables"
    tables.mkdir()
    code = main(["report", "--data", str(DEMO_COHORT), "--out", str(out), "--json", str(js), "--csv-dir",
                 str(tables), "--bootstrap", BOOTSTRAP, *extra])  # fmt: skip
    assert code == 0
    report = json.loads(js.read_text(encoding="utf-8"))
    report["artifact"]["provenance"].pop("created_at")  # the only thing that differs between two runs
    return out.read_text(encoding="utf-8"), report, {p.name: p.read_text() for p in sorted(tables.iterdir())}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("lang")
    return {name: run_report(folder / name, *extra) for name, extra in
            (("default", ()), ("en", ("--lang", "en")), ("zh", ("--lang", "zh")))}  # fmt: skip


def test_english_is_the_default(runs):
    default, en = runs["default"][0], runs["en"][0]
    assert default == en
    assert select(parse_html(en), "html")[0].get("lang") == "en"
    assert "<h2>Methods</h2>" in en and "方法" not in en


def test_lang_zh_writes_the_report_in_chinese(runs):
    html = runs["zh"][0]
    assert select(parse_html(html), "html")[0].get("lang") == "zh-Hans"
    assert "<h2>方法</h2>" in html and "<h2>Methods</h2>" not in html and "Treat all" not in html


def test_the_json_and_the_csv_tables_do_not_depend_on_the_language(runs):
    assert runs["zh"][1] == runs["en"][1]
    assert runs["zh"][1]["methods"].startswith("Of 213 patients")  # the JSON stays as it was
    assert runs["zh"][2] == runs["en"][2] and len(runs["en"][2]) == 4


@pytest.mark.parametrize("value", ["fr", "ZH", "zh-CN", "chinese", ""])
def test_a_language_the_report_does_not_have_is_a_usage_error(tmp_path, capsys, value):
    out = tmp_path / "r.html"
    with pytest.raises(SystemExit) as exited:
        main(["report", "--data", str(DEMO_COHORT), "--out", str(out), "--lang", value])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--lang" in err and "invalid choice" in err and "'en', 'zh'" in err
    assert not out.exists()


def test_the_installed_command_refuses_a_bad_language_with_exit_code_2(tmp_path):
    out = tmp_path / "r.html"
    done = subprocess.run(
        [sys.executable, "-m", "app", "report", "--data", str(DEMO_COHORT), "--out", str(out), "--lang", "de"],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    assert done.returncode == 2 and "invalid choice: 'de'" in done.stderr and not out.exists()


def test_the_help_names_the_languages(capsys):
    with pytest.raises(SystemExit):
        main(["report", "--help"])
    assert "--lang {en,zh}" in capsys.readouterr().out
