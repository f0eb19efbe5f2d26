"""The power section of every Study report: the MDE beside the estimate, and, on a
simulated world, whether the truth lay below it, in words built from the numbers."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import effekt as ek
from effekt.study import Study, Treatment
from effekt.study._power import power_paragraph
from effekt.study._text import _num

OUTCOMES = ("youth_charged_per_1000", "neet_share")


@pytest.fixture(scope="module")
def result():
    world = ek.simulate.denmark(n_areas=40, years=(2005, 2016), seed=1)
    study = Study(outcomes=OUTCOMES, treatment=Treatment(kinds=("lbf_helhedsplan",)), title="P")
    with ek.set_options(progress=False):
        return study.run(world, designs=("did",), event_window=(-3, 3))


def test_power_table_holds_the_mde_beside_the_estimate(result):
    p = result.power
    assert p["outcome"].tolist() == list(OUTCOMES)
    assert (p["n_treated"] == result.n_treated).all()
    assert (p["n_control"] == result.n_comparison).all()
    overall = result.overall().set_index("outcome")
    np.testing.assert_allclose(p["estimate"], overall.loc[list(OUTCOMES), "estimate"])
    # the MDE is BPW's (t_{1-alpha/2} + t_{power}) times the DiD's standard error
    df = p["n_treated"] + p["n_control"] - 2
    factor = stats.t.ppf(1 - p["alpha"] / 2, df) + stats.t.ppf(p["power"], df)
    np.testing.assert_allclose(p["mde"], factor * p["std_error"], rtol=1e-12)
    np.testing.assert_allclose(p["alpha"], 1 - result.level)
    assert (p["power"] == 0.8).all()
    # the simulated truth, and whether it lay below the MDE
    truth = result.to_frame()
    truth = truth[truth["aggregation"] == "overall"].set_index("outcome")["truth"]
    np.testing.assert_allclose(p["truth"], truth.loc[list(OUTCOMES)])
    assert p["truth_below_mde"].tolist() == (p["truth"].abs() < p["mde"]).tolist()
    z = p["truth"].abs() / p["std_error"]
    c = stats.t.ppf(0.975, df)
    expected = stats.t.cdf(z - c, df) + stats.t.cdf(-z - c, df)
    np.testing.assert_allclose(p["power_at_truth"], expected, rtol=1e-10)


def test_sentence_is_built_from_the_numbers(result):
    row = result.power.iloc[1]
    en = result.power_text("en")[1]
    da = result.power_text("da")[1]
    assert f"is {_num(row['mde'], 'en')} in either direction" in en
    assert f"{_num(row['mde'], 'da')} i begge retninger" in da
    assert f"{int(row['n_treated'])} treated areas, {int(row['n_control'])} comparison" in en
    assert f"{int(row['years'])} år efter starten" in da
    below = bool(row["truth_below_mde"])
    assert ("lies below the MDE" in en) is below
    assert ("ligger under MDE" in da) is below
    assert f"only {row['power_at_truth']:.0%}" in en or not below
    # the other branches, from changed numbers
    above = row.copy()
    above["truth"] = -2.0 * row["mde"]
    above["power_at_truth"] = 0.99
    above["estimate"] = 3.0 * row["mde"]
    text = power_paragraph(above, "en")
    assert "lies above the MDE" in text and "(99%)" in text and "is larger than the MDE" in text
    assert "ligger over MDE" in power_paragraph(above, "da")
    assert "er større end MDE" in power_paragraph(above, "da")
    real = row.copy()
    real["truth"] = np.nan
    real["truth_below_mde"] = pd.NA
    real["power_at_truth"] = np.nan
    assert "simulated world" not in power_paragraph(real, "en")
    assert "simulerede verden" not in power_paragraph(real, "da")


def test_reports_have_the_power_section(result, tmp_path):
    html = result.to_report(tmp_path / "r.html").read_text("utf-8")
    assert "Power: the smallest detectable effect" in html
    assert result.power_text("en")[0].split(":")[0] in html
    md = result.to_report(tmp_path / "r.md", format="md", language="da").read_text("utf-8")
    assert "## Styrke: den mindste påviselige effekt" in md
    assert "MDE (80 % styrke)" in md
    assert result.power_text("da")[1] in md
    assert "Power: minimum detectable effect" in str(result.summary())


def test_latex_and_excel_carry_the_power_table(result, tmp_path):
    tex = result.to_latex(tmp_path / "r.tex", language="da").read_text("utf-8")
    assert "Styrke: den mindste påviselige effekt" in tex
    assert "sammenligningsområder" in tex
    book = pd.read_excel(result.to_excel(tmp_path / "r.xlsx"), sheet_name="power")
    assert book["outcome"].tolist() == list(OUTCOMES)
    assert book["n_treated"].tolist() == result.power["n_treated"].tolist()
