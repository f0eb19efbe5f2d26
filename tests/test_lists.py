"""Tests of effekt.lists: the official Danish list rules as a rule engine.

Every expected value is derived by hand from the rules as the sources state them
(data/dk_criteria.csv; almenboligloven §§ 61 a-61 b), written next to the case.
Frames are built so that each averaging window holds equal values unless a test
is about averaging, so "the value" and "its 2- or 4-year average" coincide.
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from effekt.errors import DataError, ParameterError
from effekt.lists import (
    DEFAULT_NATIONAL_CONVICTED_SHARE,
    REGIMES,
    classify,
    regime_for_year,
)

# Values that meet no criterion of any regime, forebyggelse included:
# labour 10 % (< 30 %), crime 0.1 % (< 1.45 %), basic education 20 % (< 50 %),
# income 90 % of the region (> 65 %), non-Western 10 % (< 30 %).
NEUTRAL = {
    "residents": 2000,
    "outside_work_edu_share": 0.10,
    "convicted_share": 0.001,
    "basic_edu_share": 0.20,
    "income_rel_region": 0.90,
    "nonwestern_share": 0.10,
}
LABOUR, CRIME, EDU, INCOME, NONWEST = (
    "outside_work_edu_share",
    "convicted_share",
    "basic_edu_share",
    "income_rel_region",
    "nonwestern_share",
)
# Meets the 2014 rules (education > 50 %, income < 55 %, non-Western > 50 %: 3 of 5)
# and the 2018/2021 ghetto/parallelsamfund rules (education > 60 % and income < 55 %:
# 2 of 4, plus non-Western > 50 %).
GHETTO = {EDU: 0.65, INCOME: 0.50, NONWEST: 0.60}


def area(years, area_id="A", **values):
    """One area over ``years``; each value is a scalar (all years) or a per-year list."""
    years = list(years)
    data = {"area_id": [area_id] * len(years), "year": years}
    for column, value in {**NEUTRAL, **values}.items():
        data[column] = list(value) if isinstance(value, list | tuple) else [value] * len(years)
    return pd.DataFrame(data)


def row(out, year, area_id="A"):
    sel = out[(out["year"] == year) & (out["area_id"] == area_id)]
    assert len(sel) == 1
    return sel.iloc[0]


def window_for(list_year, n=4):
    """The n data years feeding list ``list_year`` with lag 1."""
    return range(list_year - n, list_year)


# ---------------------------------------------------------------------------
# Thresholds: at, just above and just below every criterion of every regime.

# (regime, list year, column, value, output column, expected), expected from the
# comparison in the source: "> x" strict, "< x" strict, ">= x" non-strict.
THRESHOLD_CASES = [
    # 2010 rules (S_TV2OJ_OLD): labour > 40 %, crime > 270 per 10,000, non-Western > 50 %
    ("2010", 2012, LABOUR, 0.40, "crit_labour", False),
    ("2010", 2012, LABOUR, 0.4001, "crit_labour", True),
    ("2010", 2012, LABOUR, 0.3999, "crit_labour", False),
    ("2010", 2012, CRIME, 0.027, "crit_crime", False),
    ("2010", 2012, CRIME, 0.0271, "crit_crime", True),
    ("2010", 2012, CRIME, 0.0269, "crit_crime", False),
    ("2010", 2012, NONWEST, 0.50, "crit_nonwestern", False),
    ("2010", 2012, NONWEST, 0.5001, "crit_nonwestern", True),
    ("2010", 2012, NONWEST, 0.4999, "crit_nonwestern", False),
    ("2010", 2012, "residents", 1000, "crit_residents", True),
    ("2010", 2012, "residents", 999, "crit_residents", False),
    ("2010", 2012, "residents", 1001, "crit_residents", True),
    # 2014 rules (S_BSN2017): as 2010 plus education > 50 %, income < 55 %
    ("2014", 2016, LABOUR, 0.40, "crit_labour", False),
    ("2014", 2016, LABOUR, 0.4001, "crit_labour", True),
    ("2014", 2016, LABOUR, 0.3999, "crit_labour", False),
    ("2014", 2016, CRIME, 0.027, "crit_crime", False),
    ("2014", 2016, CRIME, 0.0271, "crit_crime", True),
    ("2014", 2016, CRIME, 0.0269, "crit_crime", False),
    ("2014", 2016, EDU, 0.50, "crit_education", False),
    ("2014", 2016, EDU, 0.5001, "crit_education", True),
    ("2014", 2016, EDU, 0.4999, "crit_education", False),
    ("2014", 2016, INCOME, 0.55, "crit_income", False),
    ("2014", 2016, INCOME, 0.5499, "crit_income", True),
    ("2014", 2016, INCOME, 0.5501, "crit_income", False),
    ("2014", 2016, NONWEST, 0.50, "crit_nonwestern", False),
    ("2014", 2016, NONWEST, 0.5001, "crit_nonwestern", True),
    ("2014", 2016, "residents", 1000, "crit_residents", True),
    ("2014", 2016, "residents", 999, "crit_residents", False),
    # 2018 rules (S_TRAFIK2020): labour > 40 %, crime >= 3 x 0.725 % = 2.175 %,
    # education > 60 %, income < 55 %; ghetto: non-Western > 50 %
    ("2018", 2019, LABOUR, 0.40, "crit_labour", False),
    ("2018", 2019, LABOUR, 0.4001, "crit_labour", True),
    ("2018", 2019, LABOUR, 0.3999, "crit_labour", False),
    ("2018", 2019, CRIME, 0.02175, "crit_crime", True),
    ("2018", 2019, CRIME, 0.0218, "crit_crime", True),
    ("2018", 2019, CRIME, 0.0217, "crit_crime", False),
    ("2018", 2019, EDU, 0.60, "crit_education", False),
    ("2018", 2019, EDU, 0.6001, "crit_education", True),
    ("2018", 2019, EDU, 0.5999, "crit_education", False),
    ("2018", 2019, INCOME, 0.55, "crit_income", False),
    ("2018", 2019, INCOME, 0.5499, "crit_income", True),
    ("2018", 2019, INCOME, 0.5501, "crit_income", False),
    ("2018", 2019, NONWEST, 0.50, "crit_nonwestern", False),
    ("2018", 2019, NONWEST, 0.5001, "crit_nonwestern", True),
    ("2018", 2019, "residents", 1000, "crit_residents", True),
    ("2018", 2019, "residents", 999, "crit_residents", False),
    # 2021 rules, udsat/parallelsamfund: as 2018 (almenboligloven § 61 a)
    ("2021", 2022, LABOUR, 0.40, "crit_labour", False),
    ("2021", 2022, LABOUR, 0.4001, "crit_labour", True),
    ("2021", 2022, CRIME, 0.02175, "crit_crime", True),
    ("2021", 2022, CRIME, 0.0217, "crit_crime", False),
    ("2021", 2022, EDU, 0.60, "crit_education", False),
    ("2021", 2022, INCOME, 0.55, "crit_income", False),
    ("2021", 2022, INCOME, 0.5499, "crit_income", True),
    ("2021", 2022, NONWEST, 0.50, "crit_nonwestern", False),
    ("2021", 2022, NONWEST, 0.5001, "crit_nonwestern", True),
    # 2021 forebyggelse (§ 61 b; S_DKLF): labour > 30 %, crime >= 2 x 0.725 % = 1.45 %
    # ("mindst to gange"), education > 60 %, income < 65 %, non-Western > 30 %
    ("2021", 2022, LABOUR, 0.30, "forebyg_crit_labour", False),
    ("2021", 2022, LABOUR, 0.3001, "forebyg_crit_labour", True),
    ("2021", 2022, LABOUR, 0.2999, "forebyg_crit_labour", False),
    ("2021", 2022, CRIME, 0.0145, "forebyg_crit_crime", True),
    ("2021", 2022, CRIME, 0.0146, "forebyg_crit_crime", True),
    ("2021", 2022, CRIME, 0.0144, "forebyg_crit_crime", False),
    ("2021", 2022, EDU, 0.60, "forebyg_crit_education", False),
    ("2021", 2022, EDU, 0.6001, "forebyg_crit_education", True),
    ("2021", 2022, INCOME, 0.65, "forebyg_crit_income", False),
    ("2021", 2022, INCOME, 0.6499, "forebyg_crit_income", True),
    ("2021", 2022, INCOME, 0.6501, "forebyg_crit_income", False),
    ("2021", 2022, NONWEST, 0.30, "forebyg_crit_nonwestern", False),
    ("2021", 2022, NONWEST, 0.3001, "forebyg_crit_nonwestern", True),
    ("2021", 2022, NONWEST, 0.2999, "forebyg_crit_nonwestern", False),
]


@pytest.mark.parametrize(
    ("regime", "list_year", "column", "value", "crit", "expected"), THRESHOLD_CASES
)
@pytest.mark.parametrize("mode", ["fixed", "auto"])
def test_threshold(regime, list_year, column, value, crit, expected, mode):
    df = area(window_for(list_year), **{column: value})
    out = classify(df, regime=regime if mode == "fixed" else "auto")
    r = row(out, list_year)
    assert r["regime"] == regime
    assert not pd.isna(r[crit])
    assert bool(r[crit]) is expected


def test_criteria_outside_regime_are_missing():
    out = classify(area(window_for(2012)), regime="2010")
    r = row(out, 2012)
    # The 2010 rules have no education or income criterion.
    assert pd.isna(r["crit_education"]) and pd.isna(r["crit_income"])
    assert not r["crit_labour"] and not r["crit_crime"] and not r["crit_nonwestern"]
    assert "udsat" not in out.columns and "forebyg_crit_labour" not in out.columns


def test_value_columns_and_thresholds():
    out = classify(area(window_for(2019), **{LABOUR: 0.45, CRIME: 0.01}), regime="2018")
    r = row(out, 2019)
    assert r["value_labour"] == pytest.approx(0.45)
    assert r["value_crime"] == pytest.approx(0.01)
    assert r["value_residents"] == 2000
    assert r["crime_threshold"] == pytest.approx(3 * 0.00725)
    assert r["data_year"] == 2018
    out21 = classify(area(window_for(2022)), regime="2021")
    assert row(out21, 2022)["forebyg_crime_threshold"] == pytest.approx(2 * 0.00725)
    assert row(classify(area(window_for(2016)), regime="2014"), 2016)["crime_threshold"] == 0.027


# ---------------------------------------------------------------------------
# Combination rules


@pytest.mark.parametrize(
    ("values", "n", "ghetto"),
    [
        ({NONWEST: 0.6}, 1, False),  # 1 of 3
        ({NONWEST: 0.6, LABOUR: 0.45}, 2, True),  # 2 of 3
        ({LABOUR: 0.45, CRIME: 0.03}, 2, True),  # any 2 of 3
        ({NONWEST: 0.6, LABOUR: 0.45, CRIME: 0.03}, 3, True),
        ({NONWEST: 0.6, LABOUR: 0.45, CRIME: 0.03, "residents": 999}, 3, False),
        # education and income are not criteria under the 2010 rules
        ({NONWEST: 0.6, EDU: 0.9, INCOME: 0.1}, 1, False),
    ],
)
def test_combination_2010(values, n, ghetto):
    r = row(classify(area(window_for(2012), **values)), 2012)
    assert r["regime"] == "2010"
    assert r["n_criteria"] == n
    assert bool(r["ghetto"]) is ghetto
    assert (r["status"] == "ghetto") if ghetto else pd.isna(r["status"])


@pytest.mark.parametrize(
    ("values", "n", "ghetto"),
    [
        ({EDU: 0.55, INCOME: 0.50}, 2, False),  # 2 of 5
        ({EDU: 0.55, INCOME: 0.50, LABOUR: 0.45}, 3, True),  # 3 of 5
        ({EDU: 0.55, INCOME: 0.50, NONWEST: 0.6}, 3, True),  # non-Western counts
        ({EDU: 0.55, INCOME: 0.50, NONWEST: 0.6, LABOUR: 0.45, CRIME: 0.03}, 5, True),
        ({EDU: 0.55, INCOME: 0.50, LABOUR: 0.45, "residents": 999}, 3, False),
    ],
)
def test_combination_2014(values, n, ghetto):
    r = row(classify(area(window_for(2016), **values)), 2016)
    assert r["regime"] == "2014"
    assert r["n_criteria"] == n
    assert bool(r["ghetto"]) is ghetto


@pytest.mark.parametrize(
    ("values", "n", "udsat", "ghetto", "status"),
    [
        ({EDU: 0.65}, 1, False, False, None),  # 1 of 4
        ({EDU: 0.65, INCOME: 0.50}, 2, True, False, "udsat"),  # 2 of 4, non-Western 10 %
        ({EDU: 0.65, INCOME: 0.50, NONWEST: 0.6}, 2, True, True, "ghetto"),
        ({EDU: 0.65, NONWEST: 0.6}, 1, False, False, None),  # ghetto needs udsat
        (
            {LABOUR: 0.45, CRIME: 0.03, EDU: 0.65, INCOME: 0.5, NONWEST: 0.9},
            4,
            True,
            True,
            "ghetto",
        ),
        ({EDU: 0.65, INCOME: 0.50, NONWEST: 0.6, "residents": 999}, 2, False, False, None),
    ],
)
def test_combination_2018(values, n, udsat, ghetto, status):
    r = row(classify(area(window_for(2019), **values)), 2019)
    assert r["regime"] == "2018"
    assert r["n_criteria"] == n
    assert bool(r["udsat"]) is udsat
    assert bool(r["ghetto"]) is ghetto
    assert not r["haardt_ghetto"]  # only 3 list years of history in this frame
    assert (r["status"] == status) if status else pd.isna(r["status"])


@pytest.mark.parametrize(
    ("values", "udsat", "parallel", "forebyg", "status"),
    [
        # udsat (education, income) + non-Western 60 %: also meets § 61 b
        # (education > 60 %, income < 65 %, non-Western > 30 %)
        ({EDU: 0.65, INCOME: 0.50, NONWEST: 0.6}, True, True, True, "parallelsamfund"),
        # udsat without non-Western > 30 %: not forebyggelse
        ({EDU: 0.65, INCOME: 0.50}, True, False, False, "udsat"),
        # labour 35 % (> 30 %, not > 40 %) and income 60 % (< 65 %, not < 55 %)
        ({NONWEST: 0.35, LABOUR: 0.35, INCOME: 0.60}, False, False, True, "forebyggelsesomraade"),
        ({NONWEST: 0.25, LABOUR: 0.35, INCOME: 0.60}, False, False, False, None),  # NW <= 30 %
        ({NONWEST: 0.35, LABOUR: 0.35}, False, False, False, None),  # 1 of 4
        ({NONWEST: 0.35, LABOUR: 0.35, INCOME: 0.60, "residents": 999}, False, False, False, None),
    ],
)
def test_combination_2021(values, udsat, parallel, forebyg, status):
    r = row(classify(area(window_for(2022), **values)), 2022)
    assert r["regime"] == "2021"
    assert bool(r["udsat"]) is udsat
    assert bool(r["parallelsamfund"]) is parallel
    assert bool(r["forebyggelsesomraade"]) is forebyg
    assert (r["status"] == status) if status else pd.isna(r["status"])


def test_forebyggelse_counts():
    # labour 35 %, crime 1.5 %, income 60 %: 3 of the forebyggelse criteria, 0 udsat ones.
    values = {NONWEST: 0.35, LABOUR: 0.35, CRIME: 0.015, INCOME: 0.60}
    r = row(classify(area(window_for(2022), **values)), 2022)
    assert r["forebyg_n_criteria"] == 3
    assert r["forebyg_n_criteria_missing"] == 0
    assert r["n_criteria"] == 0
    assert r["forebyg_crit_nonwestern"]
    # Rows of other regimes have the forebyggelse columns missing.
    out = classify(area(range(2016, 2022), **values))
    assert pd.isna(row(out, 2019)["forebyg_n_criteria"])
    assert pd.isna(row(out, 2019)["forebyggelsesomraade"])
    assert row(out, 2022)["forebyggelsesomraade"]


# ---------------------------------------------------------------------------
# Averaging windows


def test_two_year_average_crosses_when_latest_year_does_not():
    # data 2017, 2018 -> list 2019: (0.43 + 0.39) / 2 = 0.41 > 0.40
    r = row(classify(area([2017, 2018], **{LABOUR: [0.43, 0.39]})), 2019)
    assert r["value_labour"] == pytest.approx(0.41)
    assert r["crit_labour"]


def test_two_year_average_below_when_latest_year_above():
    # (0.37 + 0.41) / 2 = 0.39, not > 0.40, although 2018 alone is above
    r = row(classify(area([2017, 2018], **{LABOUR: [0.37, 0.41]})), 2019)
    assert r["value_labour"] == pytest.approx(0.39)
    assert not r["crit_labour"]


def test_average_exactly_at_threshold():
    # (0.38 + 0.42) / 2 = 0.40: not > 0.40 (strict), whatever binary rounding does;
    # (0.0200 + 0.0235) / 2 = 0.02175 = 3 x 0.725 %: met (non-strict).
    r = row(classify(area([2017, 2018], **{LABOUR: [0.38, 0.42], CRIME: [0.02, 0.0235]})), 2019)
    assert not r["crit_labour"]
    assert r["crit_crime"]


def test_crime_two_year_average():
    # (0.025 + 0.019) / 2 = 0.022 >= 0.02175; 0.019 alone would not be
    r = row(classify(area([2017, 2018], **{CRIME: [0.025, 0.019]})), 2019)
    assert r["value_crime"] == pytest.approx(0.022)
    assert r["crit_crime"]


def test_four_year_average_under_2010_rules():
    # data 2008-2011 -> list 2012: labour (0.50 + 3 x 0.38) / 4 = 0.41 > 0.40
    df = area(range(2008, 2012), **{LABOUR: [0.50, 0.38, 0.38, 0.38]})
    r = row(classify(df, regime="2010"), 2012)
    assert r["value_labour"] == pytest.approx(0.41)
    assert r["crit_labour"]
    # the 2014 rules average 2 years: (0.38 + 0.38) / 2 = 0.38
    r14 = row(classify(df, regime="2014"), 2012)
    assert r14["value_labour"] == pytest.approx(0.38)
    assert not r14["crit_labour"]
    # and crime: (0.04 + 3 x 0.02) / 4 = 0.025, not > 0.027, while 2008 alone is
    df = area(range(2008, 2012), **{CRIME: [0.04, 0.02, 0.02, 0.02]})
    assert not row(classify(df, regime="2010"), 2012)["crit_crime"]


def test_incomplete_window_is_missing_and_not_met():
    # Only data year 2018 -> list 2019: labour and crime need 2017 too.
    out = classify(area([2018], **{LABOUR: 0.9, CRIME: 0.9, EDU: 0.65}))
    r = row(out, 2019)
    assert pd.isna(r["crit_labour"]) and pd.isna(r["crit_crime"])
    assert np.isnan(r["value_labour"])
    assert r["n_criteria"] == 1  # education only
    assert r["n_criteria_missing"] == 2
    assert not r["udsat"]  # 1 met + 2 missing: undetermined, reported as not met


def test_gap_inside_four_year_window():
    # 2010 missing: the 2008-2011 window of list 2012 is incomplete.
    df = area([2008, 2009, 2011], **{LABOUR: 0.5})
    r = row(classify(df, regime="2010"), 2012)
    assert pd.isna(r["crit_labour"])
    assert set(classify(df, regime="2010")["year"]) == {2009, 2010, 2012}


def test_missing_value_is_missing_criterion():
    df = area([2017, 2018], **{EDU: [0.7, np.nan], INCOME: [0.5, 0.5], LABOUR: [np.nan, 0.5]})
    r = row(classify(df), 2019)
    assert pd.isna(r["crit_education"]) and pd.isna(r["crit_labour"])
    assert r["crit_income"]
    assert r["n_criteria"] == 1 and r["n_criteria_missing"] == 2


# ---------------------------------------------------------------------------
# History: hard ghettos and omdannelsesområder


def flags(out, column):
    return {int(y): bool(v) for y, v in zip(out["year"], out[column], strict=True)}


def test_hard_ghetto_on_fifth_consecutive_list():
    # ghetto on lists 2014-2019 (data 2013-2018), all under the 2018 rules
    out = classify(area(range(2013, 2019), **GHETTO), regime="2018")
    hard = flags(out, "haardt_ghetto")
    assert hard == {2014: False, 2015: False, 2016: False, 2017: False, 2018: True, 2019: True}
    assert row(out, 2018)["status"] == "haardt_ghetto"
    assert row(out, 2017)["status"] == "ghetto"


def test_interruption_resets_history():
    # ghetto on lists 2011-2021 except 2015 (data 2014: non-Western 40 %, udsat only).
    nonwest = [0.6] * 11
    nonwest[2014 - 2010] = 0.4
    out = classify(area(range(2010, 2021), **{**GHETTO, NONWEST: nonwest}), regime="2018")
    # runs: 2011-2014 -> 1..4, 2015 -> 0, 2016-2021 -> 1..6: hard from the 5th, 2020
    hard = {y for y, v in flags(out, "haardt_ghetto").items() if v}
    assert hard == {2020, 2021}
    assert row(out, 2015)["status"] == "udsat"


def test_gap_in_data_breaks_history():
    # no data year 2013, so no list 2014: 2011, 2012, 2013 | 2015, 2016, 2017
    out = classify(area([2010, 2011, 2012, 2014, 2015, 2016], **GHETTO), regime="2018")
    assert not any(flags(out, "haardt_ghetto").values())
    # with 2013 present the 5th consecutive list is 2015
    full = classify(area(range(2010, 2017), **GHETTO), regime="2018")
    assert {y for y, v in flags(full, "haardt_ghetto").items() if v} == {2015, 2016, 2017}


def test_drop_off_below_1000_residents_then_return():
    # omdannelse under the 2021 rules on lists 2013-2023; residents 900 in data 2016
    residents = [2000] * 11
    residents[2016 - 2012] = 900
    out = classify(area(range(2012, 2023), **{**GHETTO, "residents": residents}), regime="2021")
    # runs: 2013-2016 -> 1..4, 2017 -> 0, 2018-2023 -> 1..6: omdannelse 2022, 2023
    omd = {y for y, v in flags(out, "omdannelsesomraade").items() if v}
    assert omd == {2022, 2023}
    assert pd.isna(row(out, 2017)["status"])


def test_hard_ghetto_2018_counts_2014_rule_lists():
    # auto: lists 2014-2017 under the 2014 rules (ghetto: 3 of 5), 2018 under the
    # 2018 rules; the 2018 hard ghettos were those on the 2014-2018 lists.
    out = classify(area(range(2013, 2018), **GHETTO))
    assert list(out["regime"]) == ["2014"] * 4 + ["2018"]
    assert all(out["ghetto"])
    assert row(out, 2018)["haardt_ghetto"]
    assert out.loc[out["year"] < 2018, "haardt_ghetto"].isna().all()


def test_omdannelse_2021_counts_earlier_ghetto_lists():
    # lists 2017 (2014 rules), 2018-2020 (2018 law), 2021 (2021 law): 5 in a row
    out = classify(area(range(2016, 2021), **GHETTO))
    assert list(out["regime"]) == ["2014", "2018", "2018", "2018", "2021"]
    assert not row(out, 2020)["haardt_ghetto"]  # 4th consecutive list
    r = row(out, 2021)
    assert r["parallelsamfund"] and r["omdannelsesomraade"]
    assert r["status"] == "omdannelsesomraade"
    assert pd.isna(r["ghetto"]) and pd.isna(r["haardt_ghetto"])


def test_omdannelse_needs_unbroken_carry_over():
    nonwest = [0.6, 0.6, 0.4, 0.6, 0.6]  # data 2018 -> list 2019 udsat only
    out = classify(area(range(2016, 2021), **{**GHETTO, NONWEST: nonwest}))
    assert not row(out, 2021)["omdannelsesomraade"]
    assert row(out, 2021)["status"] == "parallelsamfund"


def test_omdannelse_needs_current_parallelsamfund():
    # ghetto lists 2017-2020, then only udsat in 2021 (non-Western 40 %)
    out = classify(area(range(2016, 2021), **{**GHETTO, NONWEST: [0.6] * 4 + [0.4]}))
    r = row(out, 2021)
    assert not r["omdannelsesomraade"] and r["status"] == "udsat"


def test_history_is_per_area():
    a = area(range(2013, 2018), "A", **GHETTO)
    b = area(range(2013, 2018), "B")
    out = classify(pd.concat([b, a], ignore_index=True))
    assert list(out["area_id"].unique()) == ["B", "A"]  # order of first appearance
    assert row(out, 2018, "A")["haardt_ghetto"]
    assert not row(out, 2018, "B")["haardt_ghetto"]


# ---------------------------------------------------------------------------
# Lag and regimes


def test_lag_shifts_data_year():
    df = area([2017, 2018, 2019], **{EDU: [0.2, 0.2, 0.7]})
    lag0 = classify(df, lag=0)
    assert list(lag0["year"]) == [2017, 2018, 2019]
    assert row(lag0, 2019)["crit_education"]
    lag1 = classify(df)
    assert not row(lag1, 2019)["crit_education"] and row(lag1, 2020)["crit_education"]
    lag2 = classify(df, lag=2)
    assert list(lag2["year"]) == [2019, 2020, 2021]
    assert list(lag2["data_year"]) == [2017, 2018, 2019]
    assert row(lag2, 2021)["crit_education"]
    # the regime follows the list year: data 2017 -> list 2017 (lag 0) vs 2018 (lag 1)
    assert row(lag0, 2017)["regime"] == "2014" and row(lag1, 2018)["regime"] == "2018"


def test_lag_zero_averages_end_at_list_year():
    # lag 0, list 2019: labour window 2018-2019 = (0.38 + 0.44) / 2 = 0.41
    r = row(classify(area([2017, 2018, 2019], **{LABOUR: [0.9, 0.38, 0.44]}), lag=0), 2019)
    assert r["value_labour"] == pytest.approx(0.41)


@pytest.mark.parametrize(
    ("year", "expected"),
    [(2010, "2010"), (2013, "2010"), (2014, "2014"), (2017, "2014"), (2018, "2018"),
     (2020, "2018"), (2021, "2021"), (2035, "2021"), (np.int64(2019), "2018")],
)  # fmt: skip
def test_regime_for_year(year, expected):
    assert regime_for_year(year) == expected


def test_auto_switches_regime_by_list_year():
    out = classify(area(range(2008, 2023)))
    # data 2008 -> list 2009: no list existed, not returned
    assert list(out["year"]) == list(range(2010, 2024))
    expected = ["2010"] * 4 + ["2014"] * 4 + ["2018"] * 3 + ["2021"] * 3
    assert list(out["regime"]) == expected
    assert set(out.columns) >= {
        "ghetto", "udsat", "haardt_ghetto", "parallelsamfund", "omdannelsesomraade",
        "forebyggelsesomraade",
    }  # fmt: skip
    assert out.loc[out["regime"] == "2014", "udsat"].isna().all()
    assert out.loc[out["regime"] == "2021", "ghetto"].isna().all()


def test_fixed_regime_applies_to_every_year():
    out = classify(area(range(2003, 2008), **GHETTO), regime="2021")
    assert list(out["year"]) == list(range(2004, 2009))
    assert (out["regime"] == "2021").all()
    assert row(out, 2008)["omdannelsesomraade"]


def test_only_pre_2010_list_years_gives_empty_result():
    out = classify(area([2005, 2006]))
    assert len(out) == 0
    assert {"area_id", "year", "regime", "status", "n_criteria"} <= set(out.columns)


# ---------------------------------------------------------------------------
# National average


def test_national_float():
    # threshold 3 x 1 % = 3 %: 0.03 met (>=), 0.0299 not
    df = pd.concat(
        [area([2017, 2018], "A", **{CRIME: 0.03}), area([2017, 2018], "B", **{CRIME: 0.0299})]
    )
    out = classify(df, national_convicted_share=0.01)
    assert row(out, 2019, "A")["crit_crime"] and not row(out, 2019, "B")["crit_crime"]
    assert row(out, 2019, "A")["crime_threshold"] == pytest.approx(0.03)


@pytest.mark.parametrize("as_series", [False, True])
def test_national_by_year(as_series):
    # list 2019 averages data 2017-2018: national (0.006 + 0.008) / 2 = 0.007,
    # threshold 3 x 0.007 = 0.021
    national = {2016: 0.005, 2017: 0.006, 2018: 0.008}
    if as_series:
        national = pd.Series(national)
    df = pd.concat(
        [area([2017, 2018], "A", **{CRIME: 0.021}), area([2017, 2018], "B", **{CRIME: 0.0209})]
    )
    out = classify(df, national_convicted_share=national)
    assert row(out, 2019, "A")["crime_threshold"] == pytest.approx(0.021)
    assert row(out, 2019, "A")["crit_crime"] and not row(out, 2019, "B")["crit_crime"]


def test_national_not_needed_before_2018():
    # the 2014 rules use an absolute 2.70 %: no national value is needed
    out = classify(area([2014, 2015], **{CRIME: 0.03}), national_convicted_share={1999: 0.01})
    assert row(out, 2016)["crit_crime"]


def test_default_national_share():
    assert DEFAULT_NATIONAL_CONVICTED_SHARE == 0.00725  # 1.45 % / 2 (S_DKLF)


def test_national_missing_year():
    with pytest.raises(ParameterError, match=r"no value for data year\(s\) \[2017\]"):
        classify(area([2017, 2018]), national_convicted_share={2018: 0.007})


@pytest.mark.parametrize(
    "bad", [0.725, 0.0, -0.01, "0.007", True, {2017: 0.5}, {"2017": 0.007}, np.nan]
)
def test_national_invalid(bad):
    with pytest.raises(ParameterError, match="'national_convicted_share' parameter"):
        classify(area([2017, 2018]), national_convicted_share=bad)


# ---------------------------------------------------------------------------
# Errors


def test_not_a_dataframe():
    with pytest.raises(ParameterError, match=r"'area_year' parameter .* pandas DataFrame"):
        classify({"area_id": ["A"]})


def test_unknown_regime():
    with pytest.raises(ParameterError, match=r"'regime' parameter .* one of \{'auto', '2010'"):
        classify(area([2018]), regime="2019")


@pytest.mark.parametrize("bad", [-1, 1.5, True, "1"])
def test_bad_lag(bad):
    with pytest.raises(ParameterError, match=r"'lag' parameter .* non-negative integer"):
        classify(area([2018]), lag=bad)


def test_missing_column_names_criterion():
    df = area([2017, 2018]).drop(columns=[EDU])
    with pytest.raises(
        DataError, match=r"'basic_edu_share' .*education criterion of the 2018 rules"
    ):
        classify(df)
    # the 2010 rules do not read it
    assert len(classify(df, regime="2010")) == 2


def test_missing_key_column():
    with pytest.raises(DataError, match=r"lacks column.*'year'"):
        classify(area([2018]).drop(columns=["year"]))


def test_duplicated_keys():
    df = pd.concat([area([2017, 2018]), area([2018])], ignore_index=True)
    with pytest.raises(DataError, match=r"2 rows with a duplicated \(area_id, year\)"):
        classify(df)


@pytest.mark.parametrize("column", [LABOUR, CRIME, EDU, NONWEST])
@pytest.mark.parametrize("value", [45.0, -0.1])
def test_share_out_of_range(column, value):
    with pytest.raises(DataError, match=f"'{column}'.*out of range.*divide the column by 100"):
        classify(area([2017, 2018], **{column: [0.4, value]}))


def test_income_as_percentage():
    with pytest.raises(DataError, match=r"'income_rel_region'.*is a ratio.*divide"):
        classify(area([2017, 2018], **{INCOME: 55.0}))


@pytest.mark.parametrize("value", [-5, 1000.5])
def test_bad_residents(value):
    with pytest.raises(DataError, match="residents must be non-negative whole counts"):
        classify(area([2017, 2018], residents=[1000, value]))


def test_non_numeric_column():
    with pytest.raises(DataError, match="'nonwestern_share' of 'area_year' must be numeric"):
        classify(area([2017, 2018], **{NONWEST: ["40 %", "41 %"]}))


def test_year_not_whole():
    with pytest.raises(DataError, match="whole years"):
        classify(area([2017.5, 2018.0]))


def test_year_not_numeric():
    with pytest.raises(DataError, match="must hold integer years"):
        classify(area(["2017", "2018"]))


@pytest.mark.parametrize("column", ["area_id", "year"])
def test_missing_key_values(column):
    df = area([2017, 2018])
    df[column] = df[column].astype(object)
    df.loc[1, column] = None
    with pytest.raises(DataError, match=f"'{column}' of 'area_year' has 1 missing value"):
        classify(df)


def test_regime_category_lookup():
    assert REGIMES["2018"].category("ghetto").builds_on == "udsat"
    with pytest.raises(ParameterError, match=r"'name' parameter .* one of"):
        REGIMES["2018"].category("parallelsamfund")


def test_regimes_are_read_only():
    with pytest.raises(TypeError):
        REGIMES["2030"] = REGIMES["2021"]  # type: ignore[index]
    with pytest.raises(dataclasses.FrozenInstanceError):
        REGIMES["2021"].main = "ghetto"  # type: ignore[misc]


def test_regime_data():
    assert REGIMES["2010"].columns == {"residents", LABOUR, CRIME, NONWEST}
    assert REGIMES["2014"].category("ghetto").min_met == 3
    crime = REGIMES["2018"].category("udsat").counted[1]
    assert (
        crime.describe() == "crime: convicted_share (18+, 2-year average) >= 3 x national average"
    )
    assert all(c.source for r in REGIMES.values() for c in r.headline)


# ---------------------------------------------------------------------------
# Contract: determinism, no mutation, order, speed


def test_deterministic_and_input_not_mutated():
    df = pd.concat([area(range(2012, 2022), "A", **GHETTO), area(range(2012, 2022), "B")])
    before = df.copy(deep=True)
    first = classify(df)
    pd.testing.assert_frame_equal(df, before)
    pd.testing.assert_frame_equal(first, classify(df))


def test_row_order_does_not_matter():
    df = pd.concat([area(range(2012, 2022), "A", **GHETTO), area(range(2012, 2022), "B")])
    shuffled = df.sample(frac=1.0, random_state=np.random.default_rng(3))
    key = ["area_id", "year"]
    a = classify(df).sort_values(key, ignore_index=True)
    b = classify(shuffled).sort_values(key, ignore_index=True)
    pd.testing.assert_frame_equal(a, b)


def test_integer_area_ids_and_custom_index():
    df = area(range(2016, 2019), 7, **GHETTO)
    df.index = ["x", "y", "z"]
    out = classify(df)
    assert list(out["area_id"]) == [7, 7, 7]
    assert list(out.index) == [0, 1, 2]


def test_speed_500_areas_20_years():
    rng = np.random.default_rng(1)
    years = np.arange(2005, 2025)
    n = 500 * len(years)
    df = pd.DataFrame(
        {
            "area_id": np.repeat([f"a{i}" for i in range(500)], len(years)),
            "year": np.tile(years, 500),
            "residents": rng.integers(500, 4000, n),
            LABOUR: rng.uniform(0.1, 0.6, n),
            CRIME: rng.uniform(0.0, 0.05, n),
            EDU: rng.uniform(0.2, 0.8, n),
            INCOME: rng.uniform(0.4, 1.0, n),
            NONWEST: rng.uniform(0.1, 0.9, n),
        }
    )
    times = []
    for _ in range(3):
        start = time.perf_counter()
        out = classify(df)
        times.append(time.perf_counter() - start)
    assert len(out) == 500 * 16  # data 2005-2024 -> list years 2006-2025, kept from 2010
    assert min(times) < 0.5


# ---------------------------------------------------------------------------
# Property: making an area worse on any criterion never takes it off a list.

_WORSE = {LABOUR: 1, CRIME: 1, EDU: 1, NONWEST: 1, INCOME: -1}


@settings(max_examples=60, deadline=None)
@given(
    base=st.lists(
        st.tuples(
            st.floats(0, 1), st.floats(0, 0.05), st.floats(0, 1), st.floats(0, 1.5), st.floats(0, 1)
        ),
        min_size=8,
        max_size=8,
    ),
    column=st.sampled_from(list(_WORSE)),
    delta=st.floats(0, 0.5),
)
def test_worse_values_never_lower_classification(base, column, delta):
    years = range(2013, 2021)  # lists 2014-2021: the 2014, 2018 and 2021 rules
    lab, cri, edu, inc, nw = (list(v) for v in zip(*base, strict=True))
    df = area(years, **{LABOUR: lab, CRIME: cri, EDU: edu, INCOME: inc, NONWEST: nw})
    worse = df.copy()
    upper = 1.0 if column != INCOME else np.inf
    worse[column] = np.clip(worse[column] + _WORSE[column] * delta, 0, upper)
    a, b = classify(df), classify(worse)
    assert (b["n_criteria"] >= a["n_criteria"]).all()
    fb = a["forebyg_n_criteria"].notna()
    assert (b.loc[fb, "forebyg_n_criteria"] >= a.loc[fb, "forebyg_n_criteria"]).all()
    for cat in ("ghetto", "udsat", "haardt_ghetto", "parallelsamfund",
                "omdannelsesomraade", "forebyggelsesomraade"):  # fmt: skip
        was = a[cat].fillna(False).to_numpy(bool)
        now = b[cat].fillna(False).to_numpy(bool)
        assert not (was & ~now).any(), cat
