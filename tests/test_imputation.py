"""Imputation (BJS 2024) against did_imputation/diff-diff, statsmodels and hand-made panels."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import effekt as ek

REF = Path(__file__).parent / "reference" / "did_extra"


def _panel(df: pd.DataFrame, **kw) -> ek.Panel:
    return ek.Panel.from_frame(
        df, unit="unit", time="time", outcome="y", cohort="g", never_treated=0, **kw
    )


def _staggered(n_per=20, periods=range(1, 8), seed=0, noise=1.0):
    """Cohorts 3 and 5 (effect 1 + 0.5 e, heterogeneous by cohort) and never-treated units."""
    rng = np.random.default_rng(seed)
    rows = []
    uid = 0
    for g in (0, 3, 5):
        for _ in range(n_per):
            uid += 1
            a = rng.normal()
            x_unit = rng.normal()
            for t in periods:
                e = t - g
                eff = (1.0 + 0.5 * e + (0.7 if g == 5 else 0.0)) if g and e >= 0 else 0.0
                x = x_unit + 0.2 * t + rng.normal()
                rows.append((uid, t, g, a + 0.3 * t + 0.8 * x + eff + noise * rng.normal(), x))
    return pd.DataFrame(rows, columns=["unit", "time", "g", "y", "x"])


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads((REF / "imputation_mpdta.json").read_text())


@pytest.fixture(scope="module")
def mpdta_fit():
    df = ek.datasets.load_dataset("mpdta")
    panel = ek.Panel.from_frame(
        df, unit="countyreal", time="year", outcome="lemp", cohort="first.treat", never_treated=0
    )
    return ek.did.Imputation(leads=3).fit(panel).to_frame().set_index("term")


def test_effects_match_diff_diff_and_did_imputation(mpdta_fit, reference):
    # diff-diff solves the untreated model exactly: estimates agree to ~1e-12 (asserted
    # rtol 1e-8). did_imputation (port of the authors' Stata command) recovers the fixed
    # effects iteratively (tolerance 1e-6): estimates within 1e-7 absolute. Theorem 3 SEs
    # agree with both to ~1e-9 (asserted rtol 1e-6).
    dd = reference["diff_diff"]
    di = reference["did_imputation"]
    att = mpdta_fit.loc["ATT"]
    assert att["estimate"] == pytest.approx(dd["att"]["coef"], rel=1e-8)
    assert att["std_error"] == pytest.approx(dd["att"]["se"], rel=1e-6)
    assert att["estimate"] == pytest.approx(di["att"]["coef"], abs=1e-7)
    assert att["std_error"] == pytest.approx(di["att"]["se"], rel=1e-6)
    dd_es = {r["event_time"]: r for r in dd["event_study_table"] if not r["is_reference"]}
    for h in di["horizons"]:
        row = mpdta_fit.loc[f"event_time[{h['event_time']}]"]
        assert row["estimate"] == pytest.approx(dd_es[h["event_time"]]["att"], rel=1e-8)
        assert row["std_error"] == pytest.approx(dd_es[h["event_time"]]["se"], rel=1e-6)
        assert row["estimate"] == pytest.approx(h["coef"], abs=1e-7)
        assert row["std_error"] == pytest.approx(h["se"], rel=1e-6)


def test_leads_match_did_imputation_up_to_its_small_sample_factor(mpdta_fit, reference):
    # Lead coefficients are the same regression: agree to 1e-12. did_imputation scales the
    # lead variance reghdfe-style after dropping singleton units (the 2004 cohort has one
    # untreated year); effekt uses fixest's CRV1 factor on all untreated rows. The sandwich
    # is the same, so the SE ratio is one constant across leads, within 5e-4 of 1.
    pre = {p["event_time"]: p for p in reference["did_imputation"]["pretrends"]}
    ratios = []
    for e, p in pre.items():
        row = mpdta_fit.loc[f"event_time[{e}]"]
        assert row["estimate"] == pytest.approx(p["coef"], abs=1e-12)
        ratios.append(row["std_error"] / p["se"])
    assert np.ptp(ratios) < 1e-8
    assert ratios[0] == pytest.approx(1.0, abs=5e-4)


def _by_hand(df: pd.DataFrame, covariates=(), weights=None) -> tuple[pd.Series, float]:
    """Transparent imputation: (W)LS on untreated rows with unit and period dummies."""
    d = df.assign(treated=(df["g"] > 0) & (df["time"] >= df["g"]))
    untreated = d[~d["treated"]]
    formula = "y ~ C(unit) + C(time)" + "".join(f" + {c}" for c in covariates)
    if weights is None:
        fit = smf.ols(formula, data=untreated).fit()
        w = pd.Series(1.0, index=d.index)
    else:
        fit = smf.wls(formula, data=untreated, weights=untreated[weights]).fit()
        w = d[weights]
    tr = d[d["treated"]]
    tau = tr["y"] - fit.predict(tr)
    e = tr["time"] - tr["g"]
    wt = w[tr.index]
    by_e = (tau * wt).groupby(e).sum() / wt.groupby(e).sum()
    return by_e, float((tau * wt).sum() / wt.sum())


def test_point_estimates_match_statsmodels_imputation_with_covariates():
    df = _staggered()
    by_e, att = _by_hand(df, covariates=("x",))
    res = ek.did.Imputation().fit(_panel(df, covariates=["x"])).to_frame().set_index("term")
    assert res.loc["ATT", "estimate"] == pytest.approx(att, rel=1e-9)
    for e, value in by_e.items():
        assert res.loc[f"event_time[{e}]", "estimate"] == pytest.approx(value, rel=1e-9)


def test_weighted_panel_matches_statsmodels_wls():
    df = _staggered(seed=4)
    df["w"] = 1.0 + (df["unit"] % 4)
    by_e, att = _by_hand(df, weights="w")
    res = ek.did.Imputation().fit(_panel(df, weights="w")).to_frame().set_index("term")
    assert res.loc["ATT", "estimate"] == pytest.approx(att, rel=1e-9)
    assert res.loc["event_time[2]", "estimate"] == pytest.approx(by_e[2], rel=1e-9)


def test_noise_free_effects_are_recovered_exactly():
    df = _staggered(noise=0.0)
    res = ek.did.Imputation(lags=2).fit(_panel(df, covariates=["x"])).to_frame()
    est = res.set_index("term")["estimate"]
    # cohorts 3 and 5 have 20 units each: effect at e = 0 is (1 + 1.7)/2, at e = 2 (2 + 2.7)/2
    assert est["event_time[0]"] == pytest.approx(1.35, abs=1e-9)
    assert est["event_time[2]"] == pytest.approx(2.35, abs=1e-9)
    assert "event_time[3]" not in est.index  # lags=2 reports 0..2
    # ATT over all treated rows: cohort 3 (e = 0..4), cohort 5 (e = 0..2), 20 units each
    true = (sum(1 + 0.5 * e for e in range(5)) + sum(1.7 + 0.5 * e for e in range(3))) / 8
    assert est["ATT"] == pytest.approx(true, abs=1e-9)


def test_implied_weights_reproduce_the_estimates():
    # the estimator is linear in Y: tau_w = sum_treated w Y + sum_untreated v0 Y, with v0
    # the Theorem 3 weights; checks the block elimination behind the standard errors
    from effekt.did.imputation import _FEModel

    df = _staggered(seed=7)
    treated = ((df["g"] > 0) & (df["time"] >= df["g"])).to_numpy()
    unit = pd.factorize(df["unit"])[0]
    period = df["time"].to_numpy() - 1
    x = df[["x"]].to_numpy()
    y = df["y"].to_numpy()
    model = _FEModel(unit[~treated], period[~treated], x[~treated], np.ones((~treated).sum()), 7)
    w = np.full((treated.sum(), 1), 1.0 / treated.sum())
    v0 = model.implied_weights(unit[treated], period[treated], x[treated], w)
    linear = float(w[:, 0] @ y[treated] + v0[:, 0] @ y[~treated])
    _, att = _by_hand(df, covariates=("x",))
    assert linear == pytest.approx(att, rel=1e-9)


def test_lead_standard_errors_match_statsmodels_cluster_robust():
    df = _staggered(seed=2)
    res = ek.did.Imputation(leads=2).fit(_panel(df)).to_frame().set_index("term")
    d = df[~((df["g"] > 0) & (df["time"] >= df["g"]))].copy()
    d["lead1"] = ((d["g"] > 0) & (d["time"] - d["g"] == -1)).astype(float)
    d["lead2"] = ((d["g"] > 0) & (d["time"] - d["g"] == -2)).astype(float)
    ols = smf.ols("y ~ lead1 + lead2 + C(unit) + C(time)", data=d).fit(
        cov_type="cluster", cov_kwds={"groups": d["unit"]}
    )
    # statsmodels counts every dummy in K; fixest (and effekt) count the unit FE nested in
    # the clusters as one: K = 2 leads + 7 periods
    n, k_sm, k_fixest = len(d), ols.df_model + 1, 2 + 7
    scale = np.sqrt((n - k_sm) / (n - k_fixest))
    for name, e in (("lead1", -1), ("lead2", -2)):
        assert res.loc[f"event_time[{e}]", "estimate"] == pytest.approx(ols.params[name], rel=1e-9)
        assert res.loc[f"event_time[{e}]", "std_error"] == pytest.approx(
            ols.bse[name] * scale, rel=1e-8
        )


def test_pretrend_test_and_event_study_coefficients():
    res = ek.did.Imputation(leads=2).fit(_panel(_staggered(seed=3)))
    est, cov = res.event_study_coefficients()
    assert est.index.tolist() == [-2, -1, 0, 1, 2, 3, 4]
    b = est.loc[[-2, -1]].to_numpy()
    w = b @ np.linalg.solve(cov.loc[[-2, -1], [-2, -1]].to_numpy(), b)
    test = res.pretrend_test()
    assert test["statistic"] == pytest.approx(w / 2)
    assert test["df_denom"] == 59
    with pytest.raises(ek.IdentificationError, match="fit Imputation\\(leads=k\\)"):
        ek.did.Imputation().fit(_panel(_staggered(seed=3))).pretrend_test()


def test_unimputable_treated_rows_are_dropped_with_a_record():
    # no never-treated units: in periods 5.. every unit is treated, so period effects
    # there cannot be estimated; those treated rows are dropped and recorded
    df = _staggered()
    df = df[df["g"] != 0]
    with pytest.warns(ek.DroppedRowsWarning, match="cannot be imputed"):
        res = ek.did.Imputation().fit(_panel(df))
    assert set(res.ledger.to_frame()["time"]) == {5, 6, 7}
    assert res.n_treated == 20 * 2  # cohort 3 in periods 3 and 4


def test_errors():
    panel = _panel(_staggered())
    with pytest.raises(ek.ParameterError, match="'leads' parameter of Imputation"):
        ek.did.Imputation(leads=-1).fit(panel)
    with pytest.raises(ek.ParameterError, match="'lags' parameter of Imputation"):
        ek.did.Imputation(lags=1.5).fit(panel)
    with pytest.raises(ek.IdentificationError, match="no untreated observation at event time"):
        ek.did.Imputation(leads=5).fit(panel)
    df = _staggered()
    df["xc"] = df["unit"] % 3  # constant within units
    with pytest.raises(ek.IdentificationError, match=r"covariate\(s\) \['xc'\]"):
        ek.did.Imputation().fit(_panel(df, covariates=["xc"]))
    all_treated = _staggered().assign(g=1)
    with pytest.raises(ek.IdentificationError, match="every observation in the panel is treated"):
        ek.did.Imputation().fit(_panel(all_treated))
    never = _staggered().assign(g=0)
    with pytest.raises(ek.IdentificationError, match="no observation in the panel is treated"):
        ek.did.Imputation().fit(_panel(never))
    with pytest.raises(ek.ParameterError, match="'cluster' parameter of Imputation"):
        ek.did.Imputation(cluster="time").fit(panel)


_SMALL = _staggered(n_per=8, seed=11)


def _fit_small(df: pd.DataFrame) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.AssumptionWarning)  # 24 clusters
        return ek.did.Imputation(leads=1).fit(_panel(df)).to_frame()


_BASE = _fit_small(_SMALL)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shift=st.floats(-1e3, 1e3, allow_nan=False), seed=st.integers(0, 2**16))
def test_invariant_to_outcome_shift_and_row_order(shift, seed):
    shuffled = _SMALL.sample(frac=1.0, random_state=seed).assign(y=lambda d: d["y"] + shift)
    out = _fit_small(shuffled)
    np.testing.assert_allclose(out["estimate"], _BASE["estimate"], atol=1e-8)
    np.testing.assert_allclose(out["std_error"], _BASE["std_error"], rtol=1e-6)
