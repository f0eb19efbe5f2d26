"""SunAbraham against pyfixest (fixest's sunab convention), hand-made panels and statsmodels."""

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


def _staggered(effects: dict[int, dict[int, float]], n_per: int = 40, periods=range(1, 7), seed=1):
    """Units in cohorts (0 = never) with y = unit FE + period FE + effect[g][t - g]."""
    rng = np.random.default_rng(seed)
    cohorts = [0, *effects]
    rows = []
    uid = 0
    for g in cohorts:
        for _ in range(n_per):
            uid += 1
            a = rng.normal()
            for t in periods:
                eff = effects.get(g, {}).get(t - g, 0.0) if g else 0.0
                rows.append((uid, t, g, a + 0.3 * t + eff))
    return pd.DataFrame(rows, columns=["unit", "time", "g", "y"])


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads((REF / "sunab_mpdta.json").read_text())


@pytest.fixture(scope="module")
def mpdta_fit():
    df = ek.datasets.load_dataset("mpdta")
    panel = ek.Panel.from_frame(
        df, unit="countyreal", time="year", outcome="lemp", cohort="first.treat", never_treated=0
    )
    return ek.did.SunAbraham().fit(panel)


def test_cohort_coefficients_match_pyfixest(mpdta_fit, reference):
    # pyfixest's saturated event study = fixest::sunab's regression; CRV1 by county with
    # fixest's small-sample factor. Observed agreement ~1e-13; asserted at rtol 1e-6 for
    # coefficients and SEs (a one-parameter difference in the dof count would be 2e-4).
    for cell in reference["cells"]:
        name = f"cohort[{cell['cohort']}]:event_time[{cell['event_time']}]"
        assert mpdta_fit.cohort_params[name] == pytest.approx(cell["coef"], rel=1e-6)
        se = np.sqrt(mpdta_fit.cohort_cov.loc[name, name])
        assert se == pytest.approx(cell["se"], rel=1e-6)
    assert len(mpdta_fit.cohort_params) == len(reference["cells"])


def test_event_time_aggregates_and_att_match_pyfixest(mpdta_fit, reference):
    table = mpdta_fit.to_frame()
    es = table[table["aggregation"] == "event_time"]
    ref = pd.DataFrame(reference["event_time"])
    assert es["event_time"].tolist() == ref["event_time"].tolist()
    np.testing.assert_allclose(es["estimate"], ref["coef"], rtol=1e-6)
    np.testing.assert_allclose(es["std_error"], ref["se"], rtol=1e-6)
    att = table[table["term"] == "ATT"].iloc[0]
    assert att["estimate"] == pytest.approx(reference["att"]["coef"], rel=1e-6)
    assert att["std_error"] == pytest.approx(reference["att"]["se"], rel=1e-6)
    # fixest's convention: t(G - 1) intervals
    from scipy import stats

    half = (att["ci_upper"] - att["ci_lower"]) / 2
    assert half == pytest.approx(stats.t.ppf(0.975, 499) * att["std_error"])


def test_weights_are_cohort_shares(mpdta_fit):
    cells = mpdta_fit.cells
    # mpdta: 20 counties in 2004, 40 in 2006, 131 in 2007; at e = 0 all three cohorts
    w0 = cells[cells["event_time"] == 0].set_index("cohort")["weight"]
    np.testing.assert_allclose(w0.to_numpy(), np.array([20, 40, 131]) / 191, rtol=1e-12)
    assert np.allclose(cells.groupby("event_time")["weight"].sum(), 1.0)


def test_recovers_heterogeneous_dynamic_effects_exactly():
    # noise-free outcomes: every cohort x period coefficient is its true effect (relative
    # to e = -1) and each event-time effect the cohort-share average of them
    effects = {3: {-2: 0.0, -1: 0.0, 0: 1.0, 1: 2.0, 2: 3.0, 3: 4.0}, 5: {0: -1.0, 1: 5.0}}
    df = _staggered(effects)
    res = ek.did.SunAbraham().fit(_panel(df))  # 120 clusters: no warning
    p = res.cohort_params
    assert p["cohort[3]:event_time[2]"] == pytest.approx(3.0, abs=1e-10)
    assert p["cohort[5]:event_time[1]"] == pytest.approx(5.0, abs=1e-10)
    assert p["cohort[5]:event_time[-3]"] == pytest.approx(0.0, abs=1e-10)
    est, _ = res.event_study_coefficients()
    # both cohorts have 40 units: equal shares at e = 0 and e = 1
    assert est.loc[0] == pytest.approx((1.0 - 1.0) / 2, abs=1e-10)
    assert est.loc[1] == pytest.approx((2.0 + 5.0) / 2, abs=1e-10)
    assert est.loc[3] == pytest.approx(4.0, abs=1e-10)  # only cohort 3 reaches e = 3


def test_last_treated_control_matches_statsmodels():
    rng = np.random.default_rng(5)
    df = _staggered({3: {0: 1.0, 1: 1.5}, 4: {0: 0.5}, 6: {0: 2.0}}, n_per=15)
    df = df[df["g"] != 0].copy()  # no never-treated units
    df["y"] += rng.normal(scale=0.3, size=len(df))
    with pytest.warns(ek.DroppedRowsWarning, match="last-treated cohort"):
        res = ek.did.SunAbraham(control="last").fit(_panel(df))
    # independent: OLS on periods before 6 with cohort x relative-period dummies for the
    # cohorts 3 and 4 (reference e = -1), unit and period dummies
    sub = df[df["time"] < 6].copy()
    names = []
    for g in (3, 4):
        for e in sorted(set(sub.loc[sub["g"] == g, "time"] - g) - {-1}):
            name = f"c{g}_e{'m' if e < 0 else ''}{abs(e)}"
            sub[name] = ((sub["g"] == g) & (sub["time"] - g == e)).astype(float)
            names.append((name, f"cohort[{g}]:event_time[{e}]"))
    formula = "y ~ " + " + ".join(n for n, _ in names) + " + C(unit) + C(time)"
    ols = smf.ols(formula, data=sub).fit()
    for sm_name, ours in names:
        assert res.cohort_params[ours] == pytest.approx(ols.params[sm_name], rel=1e-9)
    assert set(res.ledger.to_frame()["time"]) == {6}
    assert res.n_obs == len(sub)


def test_pretrend_test_is_wald_on_aggregated_leads(mpdta_fit):
    est, cov = mpdta_fit.event_study_coefficients()
    leads = [e for e in est.index if e < 0]
    b = est.loc[leads].to_numpy()
    w = b @ np.linalg.solve(cov.loc[leads, leads].to_numpy(), b)
    test = mpdta_fit.pretrend_test()
    assert test["statistic"] == pytest.approx(w / 3)
    assert test["df_num"] == 3 and test["df_denom"] == 499
    assert "Pre-trend test" in mpdta_fit.summary().as_text()


def test_always_treated_units_are_dropped_with_a_record():
    df = _staggered({3: {0: 1.0}}, n_per=35)
    always = df[df["g"] == 3].copy()
    always["unit"] += 1000
    always["g"] = 1  # treated from the first period: no pre-period
    df = pd.concat([df, always], ignore_index=True)
    with pytest.warns(ek.DroppedRowsWarning, match="always treated"):
        res = ek.did.SunAbraham().fit(_panel(df))
    assert len(res.ledger) == len(always)
    assert res.cohort_params["cohort[3]:event_time[0]"] == pytest.approx(1.0, abs=1e-10)


def test_errors():
    one_cohort = _staggered({3: {0: 1.0}})
    one_cohort = one_cohort[one_cohort["g"] == 3]
    with pytest.raises(ek.IdentificationError, match="single cohort and no untreated"):
        ek.did.SunAbraham().fit(_panel(one_cohort))
    with pytest.raises(ek.IdentificationError, match="at least two treated cohorts"):
        ek.did.SunAbraham(control="last").fit(_panel(one_cohort))
    two = _staggered({3: {0: 1.0}, 5: {0: 1.0}})
    two = two[two["g"] != 0]
    with pytest.raises(ek.IdentificationError, match="Pass control='last'"):
        ek.did.SunAbraham().fit(_panel(two))
    panel = _panel(_staggered({3: {0: 1.0}}))
    with pytest.raises(ek.ParameterError, match="'control' parameter of SunAbraham"):
        ek.did.SunAbraham(control="first").fit(panel)
    with pytest.raises(ek.ParameterError, match="'reference' parameter of SunAbraham"):
        ek.did.SunAbraham(reference=0).fit(panel)
    with pytest.raises(ek.ParameterError, match="'cluster' parameter of SunAbraham"):
        ek.did.SunAbraham(cluster="kommune").fit(panel)
    with pytest.raises(ek.IdentificationError, match="not observed in the reference period"):
        ek.did.SunAbraham(reference=-5).fit(panel)
    no_timing = ek.Panel.from_frame(
        _staggered({3: {0: 1.0}}), unit="unit", time="time", outcome="y"
    )
    with pytest.raises(ek.IdentificationError, match="needs treatment timing"):
        ek.did.SunAbraham().fit(no_timing)


_SMALL = _staggered({3: {0: 1.0, 1: 2.0}, 5: {0: 0.5}}, n_per=12, seed=3)
_SMALL["y"] += np.random.default_rng(2).normal(size=len(_SMALL))


def _fit_small(df: pd.DataFrame) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.AssumptionWarning)  # 36 clusters is fine; be safe
        return ek.did.SunAbraham().fit(_panel(df)).to_frame()


_BASE = _fit_small(_SMALL)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(shift=st.floats(-1e3, 1e3, allow_nan=False), seed=st.integers(0, 2**16))
def test_invariant_to_outcome_shift_and_row_order(shift, seed):
    shuffled = _SMALL.sample(frac=1.0, random_state=seed).assign(y=lambda d: d["y"] + shift)
    out = _fit_small(shuffled)
    np.testing.assert_allclose(out["estimate"], _BASE["estimate"], atol=1e-8)
    np.testing.assert_allclose(out["std_error"], _BASE["std_error"], rtol=1e-6)
