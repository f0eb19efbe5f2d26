"""TwoWayFE against hand computation and statsmodels (an independent implementation)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import effekt as ek


def _static(panel):
    return ek.did.TwoWayFE().fit(panel).to_frame().iloc[0]


def test_two_by_two_equals_difference_in_differences():
    # 2 groups x 2 periods: the TWFE coefficient is the difference of mean changes.
    df = pd.DataFrame(
        {
            "unit": [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6],
            "time": [0, 1] * 6,
            "y": [1.0, 4.0, 2.0, 4.5, 0.5, 3.5, 1.0, 1.5, 2.0, 3.0, 0.0, 0.0],
            "g": [1] * 6 + [0] * 6,
        }
    )
    panel = ek.Panel.from_frame(
        df, unit="unit", time="time", outcome="y", cohort="g", never_treated=0
    )
    with pytest.warns(ek.AssumptionWarning, match="only 6 clusters"):
        row = _static(panel)
    treated_change = np.mean([4.0 - 1.0, 4.5 - 2.0, 3.5 - 0.5])
    control_change = np.mean([1.5 - 1.0, 3.0 - 2.0, 0.0 - 0.0])
    assert row["estimate"] == pytest.approx(treated_change - control_change, rel=1e-12)


def test_mpdta_matches_statsmodels_dummy_regression(mpdta, mpdta_panel):
    """Same coefficient as OLS with unit and year dummies; SE equal after the documented
    degrees-of-freedom difference: statsmodels counts all 505 parameters in K, fixest/effekt
    6 (the slope, one shared level, 4 year levels; county effects are nested in the clusters)."""
    row = _static(mpdta_panel)
    df = mpdta.assign(
        D=((mpdta["first.treat"] > 0) & (mpdta["year"] >= mpdta["first.treat"])).astype(float)
    )
    ols = smf.ols("lemp ~ D + C(countyreal) + C(year)", data=df).fit(
        cov_type="cluster", cov_kwds={"groups": df["countyreal"]}
    )
    assert row["estimate"] == pytest.approx(ols.params["D"], rel=1e-10)
    n, k_sm, k_ours = 2500, ols.df_model + 1, 6
    se_sm_rescaled = ols.bse["D"] * np.sqrt((n - k_sm) / (n - k_ours))
    assert row["std_error"] == pytest.approx(se_sm_rescaled, rel=1e-8)
    # fixest's convention: t(G - 1) reference distribution for the p-value
    assert row["p_value"] == pytest.approx(
        2 * __import__("scipy").stats.t.sf(abs(row["estimate"] / row["std_error"]), 499)
    )


def test_event_study_matches_statsmodels(mpdta, mpdta_panel):
    res = ek.did.TwoWayFE(event_study=True).fit(mpdta_panel).to_frame()
    assert res["event_time"].tolist() == [-4, -3, -2, 0, 1, 2, 3]
    df = mpdta.copy()
    rel = np.where(df["first.treat"] > 0, df["year"] - df["first.treat"], np.nan)
    names = []
    for e in (-4, -3, -2, 0, 1, 2, 3):
        name = f"e_{'m' if e < 0 else ''}{abs(e)}"
        df[name] = (rel == e).astype(float)
        names.append(name)
    ols = smf.ols(f"lemp ~ {' + '.join(names)} + C(countyreal) + C(year)", data=df).fit()
    np.testing.assert_allclose(res["estimate"], ols.params[names].to_numpy(), rtol=1e-9)


def test_binned_endpoints(mpdta_panel):
    res = ek.did.TwoWayFE(event_study=True, leads=2, lags=1).fit(mpdta_panel).to_frame()
    # event times -4, -3 are binned into -2; 1, 2, 3 into 1
    assert res["event_time"].tolist() == [-2, 0, 1]


def test_pretrend_test_is_wald_on_leads(mpdta_panel):
    res = ek.did.TwoWayFE(event_study=True).fit(mpdta_panel)
    test = res.pretrend_test()
    leads = [t for t, e in res.event_times.items() if e < 0]
    b = res.params[leads].to_numpy()
    w = b @ np.linalg.inv(res.cov.loc[leads, leads].to_numpy()) @ b
    assert test["statistic"] == pytest.approx(w / 3)
    assert test["df_num"] == 3 and test["df_denom"] == 499
    assert "Pre-trend test" in res.summary().as_text()
    with pytest.raises(ek.IdentificationError, match="needs an event study"):
        ek.did.TwoWayFE().fit(mpdta_panel).pretrend_test()


def test_two_way_clustering_runs_and_differs(mpdta_panel):
    with pytest.warns(ek.AssumptionWarning, match="only 5 clusters"):
        two = ek.did.TwoWayFE(cluster=("unit", "time")).fit(mpdta_panel).to_frame().iloc[0]
    one = _static(mpdta_panel)
    assert two["estimate"] == one["estimate"] and two["std_error"] != one["std_error"]


def test_covariate_absorbed_by_unit_effects(mpdta):
    panel = ek.Panel.from_frame(
        mpdta,
        unit="countyreal",
        time="year",
        outcome="lemp",
        cohort="first.treat",
        never_treated=0,
        covariates=["lpop"],
    )
    with pytest.raises(ek.IdentificationError, match=r"(?s)cannot separate the regressors.*lpop"):
        ek.did.TwoWayFE().fit(panel)


def test_all_treated_at_once_is_not_identified():
    df = pd.DataFrame(
        {"unit": np.repeat([1, 2, 3], 3), "time": [1, 2, 3] * 3, "y": np.arange(9.0), "g": [2] * 9}
    )
    panel = ek.Panel.from_frame(df, unit="unit", time="time", outcome="y", cohort="g")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.AssumptionWarning)
        with pytest.raises(ek.IdentificationError, match="cannot separate the regressors"):
            ek.did.TwoWayFE().fit(panel)


def test_missing_covariates_are_refused(mpdta):
    df = mpdta.assign(x=np.where(mpdta.index == 3, np.nan, mpdta.index % 7))
    panel = ek.Panel.from_frame(
        df,
        unit="countyreal",
        time="year",
        outcome="lemp",
        cohort="first.treat",
        never_treated=0,
        covariates=["x"],
        missing="keep",
    )
    with pytest.raises(ek.IdentificationError, match=r"needs complete covariates.*\{'x': 1\}"):
        ek.did.TwoWayFE().fit(panel)


def test_single_cluster(mpdta):
    panel = ek.Panel.from_frame(
        mpdta.assign(k=1),
        unit="countyreal",
        time="year",
        outcome="lemp",
        cohort="first.treat",
        never_treated=0,
        cluster="k",
    )
    with pytest.raises(ek.IdentificationError, match="has a single group"):
        ek.did.TwoWayFE().fit(panel)


def test_no_treatment_in_panel(mpdta):
    panel = ek.Panel.from_frame(mpdta, unit="countyreal", time="year", outcome="lemp")
    with pytest.raises(ek.IdentificationError, match="needs treatment timing"):
        ek.did.TwoWayFE().fit(panel)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"event_study": "yes"}, "'event_study' parameter of TwoWayFE must be True or False"),
        (
            {"event_study": True, "leads": -1},
            "'leads' parameter of TwoWayFE must be a non-negative",
        ),
        ({"leads": 2}, "got leads/lags but event_study=False"),
        ({"reference": 0}, "'reference' parameter of TwoWayFE must be a negative integer"),
        ({"event_study": True, "leads": 1, "reference": -2}, "outside the 1 lead"),
        ({"cluster": "kommune"}, "'cluster' parameter of TwoWayFE must be one of"),
        ({"ci_level": 95}, r"'ci_level' argument must be a float in \[0.5, 1\)"),
    ],
)
def test_bad_parameters(mpdta_panel, params, message):
    with pytest.raises(ek.ParameterError, match=message):
        ek.did.TwoWayFE(**params).fit(mpdta_panel)


def test_ci_level_from_options(mpdta_panel):
    with ek.set_options(ci_level=0.9):
        row = _static(mpdta_panel)
    assert row["ci_level"] == 0.9
    half = (row["ci_upper"] - row["ci_lower"]) / 2
    from scipy import stats

    assert half == pytest.approx(stats.t.ppf(0.95, 499) * row["std_error"])
