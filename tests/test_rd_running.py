"""effekt.rd.list_running_variable: margins, the binding score and its agreement with the lists.

Expected values are computed by hand from the rules in effekt.lists (thresholds of
the 2018/2021 udsat rule: labour > 0.40, crime >= 3 x national average, education
> 0.60, income < 0.55; parallelsamfund: udsat and non-Western > 0.50), not from
effekt's output; the agreement check compares the score's sign with
effekt.lists.classify, which tests/test_lists.py checks against the published lists.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt import lists
from effekt.rd import list_running_variable, rd_targets
from effekt.simulate.listing import list_threshold_data


def _area_year(rows: dict[str, list[float]], years=(2019, 2020)) -> pd.DataFrame:
    """Areas with the same values in both data years (so the 2-year averages of the 2021
    list, read from data years 2019-2020, are the values)."""
    n = len(rows["labour"])
    out = []
    for y in years:
        out.append(
            pd.DataFrame(
                {
                    "area_id": [f"a{i}" for i in range(n)],
                    "year": y,
                    "residents": rows.get("residents", [2000] * n),
                    "outside_work_edu_share": rows["labour"],
                    "convicted_share": rows["crime"],
                    "basic_edu_share": rows["education"],
                    "income_rel_region": rows["income"],
                    "nonwestern_share": rows["nonwestern"],
                }
            )
        )
    return pd.concat(out, ignore_index=True)


def test_single_criterion_margins_in_natural_units():
    ay = _area_year(
        {
            "labour": [0.45, 0.35],
            "crime": [0.03, 0.01],
            "education": [0.70, 0.50],
            "income": [0.50, 0.60],
            "nonwestern": [0.55, 0.45],
        }
    )
    labour = list_running_variable(ay, criterion="labour", regime="2021", list_years=[2021])
    assert labour["score"].to_numpy() == pytest.approx([0.05, -0.05])
    income = list_running_variable(ay, criterion="income", regime="2021", list_years=[2021])
    assert income["score"].to_numpy() == pytest.approx([0.05, -0.05])  # "below 0.55"
    crime = list_running_variable(ay, criterion="crime", regime="2021", list_years=[2021])
    threshold = 3 * lists.DEFAULT_NATIONAL_CONVICTED_SHARE
    assert crime["score"].to_numpy() == pytest.approx([0.03 - threshold, 0.01 - threshold])
    assert labour["treated"].tolist() == [True, False]


def test_binding_score_of_two_of_four_plus_nonwestern():
    # area 0: labour, education, income met (3 of 4); area 1: only labour (1 of 4)
    rows = {
        "labour": [0.45, 0.48, 0.42],
        "crime": [0.01, 0.012, 0.025],
        "education": [0.66, 0.50, 0.61],
        "income": [0.50, 0.60, 0.60],
        "nonwestern": [0.70, 0.70, 0.52],
    }
    ay = _area_year(rows)
    data = ay[ay["year"] == 2020]  # the 2021 list reads data year 2020
    sd = {
        "labour": data["outside_work_edu_share"].std(ddof=1),
        "crime": data["convicted_share"].std(ddof=1),
        "education": data["basic_edu_share"].std(ddof=1),
        "income": data["income_rel_region"].std(ddof=1),
        "nonwestern": data["nonwestern_share"].std(ddof=1),
        "residents": np.nan,  # all 2000 -> no spread
    }
    thr_crime = 3 * lists.DEFAULT_NATIONAL_CONVICTED_SHARE
    expected = []
    for i in range(3):
        counted = sorted(
            [
                (rows["labour"][i] - 0.40) / sd["labour"],
                (rows["crime"][i] - thr_crime) / sd["crime"],
                (rows["education"][i] - 0.60) / sd["education"],
                (0.55 - rows["income"][i]) / sd["income"],
            ],
            reverse=True,
        )
        expected.append(min(counted[1], (rows["nonwestern"][i] - 0.50) / sd["nonwestern"]))
    # residents has no spread here, so it cannot be standardised:
    with pytest.raises(ek.DataError, match="'residents' criterion .* has no spread"):
        list_running_variable(ay, criterion="udsat", regime="2021", list_years=[2021])
    ay2 = ay.assign(residents=np.tile([2000, 3000, 2500], 2))
    out = list_running_variable(ay2, criterion="parallelsamfund", regime="2021", list_years=[2021])
    res_sd = pd.Series([2000, 3000, 2500]).std(ddof=1)
    res_margin = (np.array([2000, 3000, 2500]) - 1000) / res_sd
    expected = np.minimum(expected, res_margin)
    assert out["score"].to_numpy() == pytest.approx(expected, rel=1e-12)
    assert out["treated"].tolist() == [True, False, True]
    assert ((out["score"] >= 0) == out["treated"]).all()


def test_strict_tie_is_flagged():
    # labour exactly 0.40 is not "more than 40 %": score 0, not treated -> flagged
    ay = _area_year(
        {
            "labour": [0.40, 0.30],
            "crime": [0.01, 0.01],
            "education": [0.5, 0.5],
            "income": [0.8, 0.8],
            "nonwestern": [0.2, 0.2],
        }
    )
    out = list_running_variable(ay, criterion="labour", regime="2021", list_years=[2021])
    assert out["score"].tolist() == [0.0, pytest.approx(-0.10)]
    assert out["at_strict_tie"].tolist() == [True, False]
    assert out["treated"].tolist() == [False, False]


@pytest.mark.parametrize("regime", ["2014", "2018", "2021"])
def test_score_sign_reproduces_classify_for_every_target(regime):
    area_year, _ = list_threshold_data(n_areas=250, years=(2012, 2024), seed=8)
    classified = lists.classify(area_year)
    classified = classified[classified["regime"] == regime]
    for target in rd_targets(regime):
        out = list_running_variable(area_year, criterion=target, regime=regime)
        ok = out["complete"] & ~out["at_strict_tie"]
        assert ok.sum() > 0.9 * len(out)
        is_category = target in lists.REGIMES[regime].category_names
        flag = classified[target if is_category else f"crit_{target}"]
        ref = flag.fillna(False).astype(bool).to_numpy()
        assert ((out["score"] >= 0)[ok].to_numpy() == ref[ok.to_numpy()]).all(), target


def test_unknown_targets_and_regimes():
    ay, _ = list_threshold_data(n_areas=20, seed=1)
    with pytest.raises(ek.ParameterError, match="Did you mean 'labour'"):
        list_running_variable(ay, criterion="labor", regime="2021", list_years=[2021])
    with pytest.raises(ek.ParameterError, match="Did you mean '2018'"):
        list_running_variable(ay, criterion="udsat", regime="2019")
    with pytest.raises(ek.ParameterError, match="needs a list history"):
        list_running_variable(ay, criterion="haardt_ghetto", regime="2018")
    with pytest.raises(ek.ParameterError, match="'forebyggelsesomraade'"):
        # a 2021 category is not a 2018 target; the message lists the valid ones
        list_running_variable(ay, criterion="forebyggelsesomraade", regime="2018")
    with pytest.raises(ek.ParameterError, match="'list_years'"):
        list_running_variable(ay, criterion="udsat", regime="2021", list_years=[2019])
    with pytest.raises(ek.IdentificationError, match="no list year under the 2010 rules"):
        list_running_variable(ay, criterion="ghetto", regime="2010")
