"""``effekt run STUDY.toml``: the study file answered on the analyst's own tables."""

from __future__ import annotations

import warnings

import pytest

import effekt as ek
from effekt.cli import main

STUDY = """
title = "LBF plans and youth crime"
outcomes = ["youth_charged_per_1000"]
[treatment]
kinds = ["lbf_helhedsplan"]
"""


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("server")
    world = ek.simulate.denmark(n_areas=40, years=(2005, 2016), seed=1)
    (folder / "study.toml").write_text(STUDY, encoding="utf-8")
    world.area_year.to_csv(folder / "area_year.csv", index=False)
    world.interventions.to_csv(folder / "interventions.csv", index=False)
    return folder


def test_run_on_csv_tables_writes_report_and_latex(files, capsys):
    out = files / "report.html"
    argv = [
        "run",
        str(files / "study.toml"),
        "--data",
        f"area_year={files / 'area_year.csv'}",
        "--data",
        f"interventions={files / 'interventions.csv'}",
        "--designs",
        "did",
        "--out",
        str(out),
        "--language",
        "da",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # few-cluster and pre-trend notes of the fit
        assert main(argv) == 0
    html = out.read_text(encoding="utf-8")
    assert "<img" in html and "youth_charged_per_1000" in html
    assert "Estimater" in html  # the Danish report
    assert "\\begin{tabular}" in out.with_suffix(".tex").read_text(encoding="utf-8")
    assert str(out) in capsys.readouterr().out


def test_run_reports_bad_data_argument(files, capsys):
    argv = ["run", str(files / "study.toml"), "--data", "area_year"]
    assert main(argv) == 1
    assert "--data takes TABLE=FILE" in capsys.readouterr().err


def test_run_reports_an_invalid_study_file(files, capsys):
    bad = files / "bad.toml"
    bad.write_text('outcomes = ["x"]\n[treatment]\nkind = ["lbf_helhedsplan"]\n', encoding="utf-8")
    argv = ["run", str(bad), "--simulate", "30"]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "bad.toml" in err and "did you mean 'kinds'" in err


def test_run_reports_an_unknown_table_name(files, capsys):
    argv = ["run", str(files / "study.toml"), "--data", f"panel={files / 'area_year.csv'}"]
    assert main(argv) == 1
    assert "panel" in capsys.readouterr().err
