"""CallawaySantAnna against R did (via csdid), hand computation and first principles.

Reference values: tests/reference/did/cs_mpdta.json, written by generate_cs.py from
csdid 0.4.3 (which tracks R did 2.x option by option; the independent package
`differences` agrees with it to ~1e-9 in every quantity, stored in the same file).
Tolerances: point estimates rtol 1e-6 (atol 1e-10), analytic standard errors and the
Wald pre-test statistic rtol 1e-4. The implementation agrees to ~1e-12.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt.did import _drdid

REFERENCE = Path(__file__).parent / "reference" / "did" / "cs_mpdta.json"
CONTROL = {"nevertreated": "never_treated", "notyettreated": "not_yet_treated"}
AGGREGATION = {
    "simple": "simple",
    "event_time": "event_time",
    "group": "cohort",
    "calendar": "calendar",
}
RTOL_ATT, ATOL_ATT, RTOL_SE = 1e-6, 1e-10, 1e-4


def _configs() -> list[dict]:
    return json.loads(REFERENCE.read_text(encoding="utf-8"))["configurations"]


def _panel(df: pd.DataFrame, covariates=(), **kw) -> ek.Panel:
    return ek.Panel.from_frame(
        df,
        unit=kw.pop("unit", "countyreal"),
        time="year",
        outcome="lemp",
        cohort="first.treat",
        never_treated=0,
        covariates=list(covariates),
        **kw,
    )


@pytest.fixture(scope="module")
def mpdta_frame() -> pd.DataFrame:
    return ek.datasets.load_dataset("mpdta")


@pytest.fixture(scope="module")
def fits(mpdta_frame):
    """One fit per reference configuration (module scope: each takes ~50 ms)."""
    out = {}
    for cfg in _configs():
        covs = [] if cfg["covariates"] is None else [cfg["covariates"]]
        est = ek.did.CallawaySantAnna(
            control_group=CONTROL[cfg["control_group"]],
            method=cfg["est_method"],
            base_period=cfg["base_period"],
        )
        out[cfg["id"]] = (cfg, est.fit(_panel(mpdta_frame, covs)))
    return out


def _se(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


# --------------------------------------------------------------------- reference values
@pytest.mark.parametrize("cfg_id", [c["id"] for c in _configs()])
def test_att_gt_match_r_did(fits, cfg_id):
    cfg, res = fits[cfg_id]
    ref = pd.DataFrame(cfg["att_gt"])
    got = res.att_gt
    np.testing.assert_array_equal(got["cohort"], ref["group"])
    np.testing.assert_array_equal(got["time"], ref["time"])
    np.testing.assert_allclose(got["estimate"], ref["att"], rtol=RTOL_ATT, atol=ATOL_ATT)
    # the universal base cell has no standard error in R either (NA)
    np.testing.assert_allclose(got["std_error"], _se(ref["se"]), rtol=RTOL_SE)


@pytest.mark.parametrize("cfg_id", [c["id"] for c in _configs()])
@pytest.mark.parametrize("ref_kind", list(AGGREGATION))
def test_aggregations_match_r_aggte(fits, cfg_id, ref_kind):
    cfg, res = fits[cfg_id]
    ref = cfg["aggregate"][ref_kind]
    agg = res.aggregate(AGGREGATION[ref_kind])
    assert agg.overall["estimate"] == pytest.approx(
        ref["overall"]["att"], rel=RTOL_ATT, abs=ATOL_ATT
    )
    assert agg.overall["std_error"] == pytest.approx(ref["overall"]["se"], rel=RTOL_SE)
    if "by" in ref:
        by = pd.DataFrame(ref["by"])
        key = {"event_time": "event_time", "group": "group", "calendar": "time"}[ref_kind]
        np.testing.assert_array_equal(agg.estimates[agg.key], by[key])
        np.testing.assert_allclose(
            agg.estimates["estimate"], by["att"], rtol=RTOL_ATT, atol=ATOL_ATT
        )
        np.testing.assert_allclose(agg.estimates["std_error"], _se(by["se"]), rtol=RTOL_SE)


@pytest.mark.parametrize("cfg_id", [c["id"] for c in _configs()])
def test_pretrend_wald_matches_r_did(fits, cfg_id):
    cfg, res = fits[cfg_id]
    test = res.pretrend_test()
    assert test["statistic"] == pytest.approx(cfg["pretest"]["W"], rel=RTOL_SE)
    assert test["df"] == cfg["pretest"]["df"]
    assert test["p_value"] == pytest.approx(cfg["pretest"]["p_value"], rel=1e-3)


def test_cross_check_with_differences_package(fits):
    # the second, independent peer in the reference file: same ATT(g,t) with covariates
    cfg, res = fits["notyettreated_dr_lpop_varying"]
    other = pd.DataFrame(cfg["differences"]["att_gt"])
    np.testing.assert_allclose(res.att_gt["estimate"], other["att"], rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(res.att_gt["std_error"], other["se"], rtol=1e-4)


# csdid 0.4.3: ATTgt(..., xformla='~ lpop', weights_name='w', control_group='nevertreated')
# .fit(est_method='dr', bstrap=False) on mpdta with w = exp(lpop) / 10 (county population / 10)
WEIGHTED_REFERENCE = [
    (2004, 2004, -0.002658377916743401, 0.012018709212619593),
    (2004, 2005, -0.02639025473109705, 0.019497359031913245),
    (2004, 2006, -0.041566160448316555, 0.03903656289542828),
    (2004, 2007, -0.06083909241564244, 0.024494264306381474),
    (2006, 2004, -0.009582144335621521, 0.026441203768428234),
    (2006, 2005, 0.03646880614494019, 0.026194526365524908),
    (2006, 2006, 0.05449060026234538, 0.03253441462382074),
    (2006, 2007, 0.008798402571613018, 0.035237233967102925),
    (2007, 2004, 0.019022993289736445, 0.011584985637175417),
    (2007, 2005, -0.020463692480751902, 0.010588528058359102),
    (2007, 2006, -0.00765267301948176, 0.027109796958084752),
    (2007, 2007, -0.04749801459498352, 0.016871374265074488),
]
WEIGHTED_EVENT_OVERALL = (-0.030257749319817718, 0.019505794487130978)  # aggte(typec='dynamic')


def test_sampling_weights_match_csdid(mpdta_frame):
    df = mpdta_frame.assign(w=np.exp(mpdta_frame["lpop"]) / 10)
    res = ek.did.CallawaySantAnna().fit(_panel(df, ["lpop"], weights="w"))
    ref = pd.DataFrame(WEIGHTED_REFERENCE, columns=["cohort", "time", "att", "se"])
    np.testing.assert_array_equal(res.att_gt["cohort"], ref["cohort"])
    np.testing.assert_allclose(res.att_gt["estimate"], ref["att"], rtol=RTOL_ATT, atol=ATOL_ATT)
    np.testing.assert_allclose(res.att_gt["std_error"], ref["se"], rtol=RTOL_SE)
    overall = res.aggregate("event_time").overall
    assert overall["estimate"] == pytest.approx(WEIGHTED_EVENT_OVERALL[0], rel=RTOL_ATT)
    assert overall["std_error"] == pytest.approx(WEIGHTED_EVENT_OVERALL[1], rel=RTOL_SE)


# ------------------------------------------------------------------- first principles
def _change(df, cohort_mask, t, b):
    wide = df.pivot(index="countyreal", columns="year", values="lemp")
    g = df.groupby("countyreal")["first.treat"].first()
    return (wide[t] - wide[b])[cohort_mask(g)]


def test_no_covariate_att_is_difference_of_mean_changes(mpdta_frame):
    # ATT(2006, 2007) never-treated, no covariates: the 2x2 DiD of means, by hand
    res = ek.did.CallawaySantAnna(covariates=()).fit(_panel(mpdta_frame))
    treated = _change(mpdta_frame, lambda g: g == 2006, 2007, 2005).mean()
    control = _change(mpdta_frame, lambda g: g == 0, 2007, 2005).mean()
    row = res.att_gt.query("cohort == 2006 and time == 2007").iloc[0]
    assert row["base_period"] == 2005
    assert row["estimate"] == pytest.approx(treated - control, rel=1e-12)
    # pre-period under the varying base: 2005 against 2004
    pre = res.att_gt.query("cohort == 2007 and time == 2005").iloc[0]
    expected = (
        _change(mpdta_frame, lambda g: g == 2007, 2005, 2004).mean()
        - _change(mpdta_frame, lambda g: g == 0, 2005, 2004).mean()
    )
    assert pre["estimate"] == pytest.approx(expected, rel=1e-12)


def test_not_yet_treated_comparison_by_hand(mpdta_frame):
    res = ek.did.CallawaySantAnna(control_group="not_yet_treated").fit(_panel(mpdta_frame))
    # ATT(2004, 2005): comparison = never treated and cohorts 2006, 2007 (treated after 2005)
    treated = _change(mpdta_frame, lambda g: g == 2004, 2005, 2003)
    control = _change(mpdta_frame, lambda g: (g == 0) | (g > 2005), 2005, 2003)
    row = res.att_gt.query("cohort == 2004 and time == 2005").iloc[0]
    assert row["estimate"] == pytest.approx(treated.mean() - control.mean(), rel=1e-12)
    assert (row["n_treated"], row["n_control"]) == (len(treated), len(control))
    # its standard error: the IF of a difference of two means, sqrt(sum IF^2) / n
    n = 500
    inf_t = (treated - treated.mean()) * n / len(treated)
    inf_c = (control - control.mean()) * n / len(control)
    se = np.sqrt((inf_t**2).sum() + (inf_c**2).sum()) / n
    assert row["std_error"] == pytest.approx(se, rel=1e-10)


def test_anticipation_moves_base_period_and_drops_unidentified_cohort(mpdta_frame):
    est = ek.did.CallawaySantAnna(anticipation=1)
    with pytest.warns(ek.DroppedRowsWarning, match="treated in the first period 2003 \\(plus"):
        res = est.fit(_panel(mpdta_frame))
    assert set(res.att_gt["cohort"]) == {2006.0, 2007.0}  # 2004 <= 2003 + 1 has no pre-period
    reasons = res.ledger.to_frame()["reason"]
    assert reasons.str.contains("first period").sum() == 20 * 5
    row = res.att_gt.query("cohort == 2006 and time == 2006").iloc[0]
    assert row["base_period"] == 2004  # g - anticipation - 1
    expected = (
        _change(mpdta_frame, lambda g: g == 2006, 2006, 2004).mean()
        - _change(mpdta_frame, lambda g: g == 0, 2006, 2004).mean()
    )
    assert row["estimate"] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("method", ["dr", "ipw", "reg"])
@pytest.mark.parametrize("design", ["panel", "rc"])
def test_influence_function_is_derivative_of_estimate(method, design):
    # The influence function is the derivative of the estimate with respect to each
    # observation's weight (times n): checked by finite differences, estimator by estimator.
    rng = np.random.default_rng(11)
    n = 120
    x1, x2 = rng.normal(size=n), rng.normal(size=n)
    x = np.column_stack([np.ones(n), x1, x2])
    d = (rng.random(n) < 1 / (1 + np.exp(-(0.4 * x1 - 0.5 * x2)))).astype(float)
    post = (rng.random(n) < 0.5).astype(float)
    y = 1 + x1 + 0.5 * x2 + d * (0.5 + x1) + post * (1 + 0.3 * x2) + 0.7 * d * post
    y = y + rng.normal(size=n)

    def estimate(w):
        if design == "panel":
            return _drdid.panel_did(y, d, x, w, method)
        return _drdid.rc_did(y, post, d, x, w, method)

    base = estimate(np.ones(n))
    eps = 1e-6
    numeric = np.empty(n)
    for i in range(n):
        w = np.ones(n)
        w[i] += eps
        numeric[i] = (estimate(w).att - base.att) / eps * n
    np.testing.assert_allclose(base.inf, numeric, atol=5e-5 * np.abs(base.inf).max())


def test_time_varying_covariates_use_base_period_values():
    # One cohort: every post-treatment cell uses the base period (g - 1) covariates,
    # so replacing x by its base-period value changes nothing there.
    rng = np.random.default_rng(3)
    units, years = 60, np.arange(2000, 2006)
    df = pd.DataFrame(
        {"unit": np.repeat(np.arange(units), len(years)), "year": np.tile(years, units)}
    )
    df["g"] = np.where(df["unit"] < 25, 2003, 0)
    df["x"] = rng.normal(size=len(df)) + 0.1 * (df["year"] - 2000)
    df["y"] = df["x"] + rng.normal(size=len(df)) + 0.5 * (df["g"] > 0) * (df["year"] >= 2003)
    base_x = df.loc[df["year"] == 2002].set_index("unit")["x"]
    fixed = df.assign(x=df["unit"].map(base_x))
    kw = dict(unit="unit", time="year", outcome="y", cohort="g", never_treated=0, covariates=["x"])
    a = ek.did.CallawaySantAnna().fit(ek.Panel.from_frame(df, **kw)).att_gt
    b = ek.did.CallawaySantAnna().fit(ek.Panel.from_frame(fixed, **kw)).att_gt
    post = a["time"] >= 2003
    np.testing.assert_allclose(a.loc[post, "estimate"], b.loc[post, "estimate"], rtol=1e-10)
    np.testing.assert_allclose(a.loc[post, "std_error"], b.loc[post, "std_error"], rtol=1e-10)
    assert not np.allclose(a.loc[~post, "estimate"], b.loc[~post, "estimate"])


# ------------------------------------------------------------------------ the results
def test_result_protocol_and_tidy_frame(fits):
    _, res = fits["nevertreated_dr_lpop_varying"]
    table = res.to_frame()
    ek.validate(table, "effect_table")
    assert table.columns[:5].tolist() == ["outcome", "estimator", "cohort", "time", "event_time"]
    assert table["event_time"].tolist() == (res.att_gt["time"] - res.att_gt["cohort"]).tolist()
    assert res.influence_function.shape == (500, 12)
    assert res.units.name == "countyreal" and len(res.units) == 500
    assert "Pre-trend test" in res.summary().as_text()
    with pytest.raises(AttributeError, match="immutable"):
        res.att_gt = None
    ax = res.plot()
    assert ax.get_title()


def test_aggregate_frames_and_event_study_interface(fits):
    _, res = fits["nevertreated_dr_nocov_universal"]
    agg = res.aggregate("event_time")
    table = agg.to_frame()
    ek.validate(table, "effect_table")
    assert table["term"].iloc[0] == "overall" and pd.isna(table["event_time"].iloc[0])
    assert table["aggregation"].unique().tolist() == ["event_time"]
    est, cov = agg.event_study_coefficients()
    # the normalised base period (e = -1) is left out, like a regression's reference
    assert est.index.tolist() == [-4, -3, -2, 0, 1, 2, 3]
    assert cov.index.equals(est.index) and cov.columns.equals(est.index)
    se = agg.estimates.set_index("event_time")["std_error"]
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), se.loc[est.index], rtol=1e-12)
    assert np.all(np.linalg.eigvalsh(cov.to_numpy()) > 0)
    same, _ = res.event_study_coefficients()
    pd.testing.assert_series_equal(same, est)
    lead_test = agg.pretrend_test()
    assert lead_test["df"] == 3 and 0 < lead_test["p_value"] < 1
    for kind in ("simple", "cohort", "calendar"):
        other = res.aggregate(kind)
        ek.validate(other.to_frame(), "effect_table")
        assert other.plot().get_title()
        with pytest.raises(ek.IdentificationError, match="aggregate\\('event_time'\\)"):
            other.event_study_coefficients()
    assert agg.plot().get_title()


def test_aggregate_options(fits):
    _, res = fits["nevertreated_dr_nocov_varying"]
    es = res.aggregate("event_time", min_e=-1, max_e=2)
    assert es.estimates["event_time"].tolist() == [-1, 0, 1, 2]
    # overall = mean of e = 0, 1, 2 (R: average over the non-negative event times kept)
    assert es.overall["estimate"] == pytest.approx(es.estimates["estimate"].iloc[1:].mean())
    # balance_e = 1: only cohorts observed at least 1 period after treatment (2004, 2006)
    bal = res.aggregate("event_time", balance_e=1)
    full = res.aggregate("event_time")
    e0_bal = bal.estimates.set_index("event_time").loc[0, "estimate"]
    e0_full = full.estimates.set_index("event_time").loc[0, "estimate"]
    assert e0_bal != pytest.approx(e0_full)
    rows = res.att_gt.query("event_time == 0 and cohort < 2007")
    sizes = {2004.0: 20, 2006.0: 40}
    w = rows["cohort"].map(sizes)
    assert e0_bal == pytest.approx((rows["estimate"] * w).sum() / w.sum(), rel=1e-12)
    capped = res.aggregate("cohort", max_e=0)
    at_impact = res.att_gt.query("event_time == 0").set_index("cohort")["estimate"]
    np.testing.assert_allclose(capped.estimates["estimate"], at_impact.to_numpy(), rtol=1e-12)
    with pytest.raises(ek.IdentificationError, match="no ATT\\(g,t\\) cell to aggregate"):
        res.aggregate("cohort", max_e=-1)
    with pytest.raises(ek.ParameterError, match="does not take \\['min_e'\\]"):
        res.aggregate("cohort", min_e=0)
    with pytest.raises(ek.ParameterError, match="'kind' parameter"):
        res.aggregate("dynamic")
    with pytest.raises(ek.ParameterError, match="'max_e' parameter"):
        res.aggregate("simple", max_e=1.5)


# ---------------------------------------------------------------------------- bootstrap
def test_bootstrap_se_near_analytic_and_uniform_band_wider(mpdta_frame):
    boot = ek.did.MultiplierBootstrap(reps=999, seed=20240601)
    res = ek.did.CallawaySantAnna(bootstrap=boot).fit(_panel(mpdta_frame, ["lpop"]))
    t = res.att_gt
    # IQR-based bootstrap SEs with 999 draws: Monte-Carlo sd about 4%, allow 15%
    np.testing.assert_allclose(t["std_error"], t["std_error_analytic"], rtol=0.15)
    assert res.critical_value > 1.96  # sup over 12 cells exceeds the pointwise value
    table = res.to_frame()
    assert (table["band_upper"] - table["band_lower"] > table["ci_upper"] - table["ci_lower"]).all()
    es = res.aggregate("event_time")
    np.testing.assert_allclose(
        es.estimates["std_error"], es.estimates["std_error_analytic"], rtol=0.15
    )
    assert es.overall["std_error"] == pytest.approx(es.overall["std_error_analytic"], rel=0.15)
    assert 1.96 < es.critical_value < res.critical_value + 0.5
    assert res.provenance.seed == 20240601
    assert "multiplier bootstrap (999 draws" in res.summary().as_text()
    assert res.plot().get_title() and es.plot().get_title()


def test_bootstrap_reproducible_and_independent_of_n_jobs(mpdta_frame):
    panel = _panel(mpdta_frame)

    def run(**kw):
        boot = ek.did.MultiplierBootstrap(reps=199, **kw)
        res = ek.did.CallawaySantAnna(bootstrap=boot).fit(panel)
        return res, res.aggregate("event_time").to_frame()

    a, a_es = run(seed=5)
    # threads instead of processes: the same chunking and streams, without worker start-up
    with joblib.parallel_config(backend="threading"):
        b, b_es = run(seed=5, n_jobs=2)
    c, _ = run(seed=6)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    pd.testing.assert_frame_equal(a_es, b_es)
    assert not np.allclose(a.att_gt["std_error"], c.att_gt["std_error"])
    mammen = ek.did.CallawaySantAnna(
        bootstrap=ek.did.MultiplierBootstrap(reps=499, seed=5, weights="mammen")
    ).fit(panel)
    np.testing.assert_allclose(
        mammen.att_gt["std_error"], mammen.att_gt["std_error_analytic"], rtol=0.2
    )


def test_fresh_entropy_is_recorded_for_reproduction(mpdta_frame):
    panel = _panel(mpdta_frame)
    res = ek.did.CallawaySantAnna(bootstrap=ek.did.MultiplierBootstrap(reps=99)).fit(panel)
    again = ek.did.CallawaySantAnna(
        bootstrap=ek.did.MultiplierBootstrap(reps=99, seed=res.provenance.seed)
    ).fit(panel)
    pd.testing.assert_frame_equal(res.to_frame(), again.to_frame())


def test_cluster_bootstrap_and_analytic_cluster_se(mpdta_frame):
    county = pd.factorize(mpdta_frame["countyreal"])[0]
    df = mpdta_frame.assign(region=county % 40)
    panel = _panel(df, cluster="region")
    boot = ek.did.MultiplierBootstrap(reps=999, seed=3)
    res = ek.did.CallawaySantAnna(bootstrap=boot).fit(panel)
    assert res.n_clusters == 40
    # analytic cluster-robust SE: IF summed within clusters, sqrt(sum S_c^2) / n, by hand
    inf = (
        pd.DataFrame(res.influence_function)
        .groupby(df.groupby("countyreal")["region"].first().to_numpy())
        .sum()
    )
    by_hand = np.sqrt((inf**2).sum(axis=0).to_numpy()) / 500
    np.testing.assert_allclose(res.att_gt["std_error_analytic"], by_hand, rtol=1e-12)
    np.testing.assert_allclose(res.att_gt["std_error"], by_hand, rtol=0.15)
    assert "clustered on region (40 clusters)" in res.summary().as_text()
    # clustering on the unit itself reproduces the unit-level standard errors
    own = _panel(mpdta_frame.assign(cl=mpdta_frame["countyreal"]), cluster="cl")
    unit_level = ek.did.CallawaySantAnna(cluster="unit").fit(own).att_gt["std_error"]
    clustered = ek.did.CallawaySantAnna().fit(own).att_gt["std_error"]
    np.testing.assert_allclose(clustered, unit_level, rtol=1e-12)


def test_few_clusters_warn(mpdta_frame):
    county = pd.factorize(mpdta_frame["countyreal"])[0]
    panel = _panel(mpdta_frame.assign(region=county % 12), cluster="region")
    boot = ek.did.MultiplierBootstrap(reps=99, seed=1)
    with pytest.warns(ek.AssumptionWarning, match="only 12 clusters"):
        ek.did.CallawaySantAnna(bootstrap=boot).fit(panel)


# ------------------------------------------------------------------------- bad inputs
def test_invalid_parameters(mpdta_frame):
    panel = _panel(mpdta_frame, ["lpop"])
    cases = [
        (dict(control_group="nevertreated"), "'control_group' parameter"),
        (dict(method="ols"), "'method' parameter"),
        (dict(base_period="fixed"), "'base_period' parameter"),
        (dict(data="rcs"), "'data' parameter"),
        (dict(anticipation=-1), "'anticipation' parameter"),
        (dict(anticipation=1.5), "'anticipation' parameter"),
        (dict(bootstrap=999), "'bootstrap' parameter"),
        (dict(covariates=["lemp"]), "not covariates of the panel"),
        (dict(covariates=[1]), "'covariates' parameter"),
        (dict(cluster="kommune"), "'cluster' parameter"),
        (dict(ci_level=95), "ci_level"),
    ]
    for params, match in cases:
        with pytest.raises(ek.ParameterError, match=match):
            ek.did.CallawaySantAnna(**params).fit(panel)


def test_invalid_bootstrap_settings():
    with pytest.raises(ek.ParameterError, match="'reps' parameter .* at least 99"):
        ek.did.MultiplierBootstrap(reps=10)
    with pytest.raises(ek.ParameterError, match="'weights' parameter"):
        ek.did.MultiplierBootstrap(weights="webb")
    with pytest.raises(ek.ParameterError, match="'seed' parameter"):
        ek.did.MultiplierBootstrap(seed=-1)
    with pytest.raises(ek.ParameterError, match="'n_jobs' parameter"):
        ek.did.MultiplierBootstrap(n_jobs=0)


def test_no_never_treated_units(mpdta_frame):
    treated_only = mpdta_frame[mpdta_frame["first.treat"] > 0]
    panel = _panel(treated_only)
    with pytest.raises(ek.IdentificationError, match="needs never-treated units.*not_yet_treated"):
        ek.did.CallawaySantAnna().fit(panel)
    # not yet treated: periods from the last cohort (2007) on have no comparison units
    est = ek.did.CallawaySantAnna(control_group="not_yet_treated")
    with pytest.warns(ek.DroppedRowsWarning, match="period >= 2007"):
        res = est.fit(panel)
    assert set(res.att_gt["cohort"]) == {2004.0, 2006.0}
    assert res.att_gt["time"].max() == 2006
    assert len(res.ledger) == len(treated_only) // 5  # one 2007 row per county
    row = res.att_gt.query("cohort == 2004 and time == 2005").iloc[0]
    expected = (
        _change(treated_only, lambda g: g == 2004, 2005, 2003).mean()
        - _change(treated_only, lambda g: g > 2005, 2005, 2003).mean()
    )
    assert row["estimate"] == pytest.approx(expected, rel=1e-12)


def test_first_period_treated_units_dropped_or_refused(mpdta_frame):
    df = mpdta_frame.copy()
    early = df["countyreal"].isin(df["countyreal"].unique()[:7])
    df.loc[early, "first.treat"] = 2003
    with pytest.warns(ek.DroppedRowsWarning, match="35 rows: treated in the first period 2003"):
        res = ek.did.CallawaySantAnna().fit(_panel(df))
    assert res.n_units == 493
    ledger = res.ledger.to_frame()
    assert ledger["unit"].nunique() == 7 and ledger["reason"].str.contains("no pre-period").all()
    only_first = df.assign(**{"first.treat": np.where(df["first.treat"] > 0, 2003, 0)})
    with (
        pytest.warns(ek.DroppedRowsWarning),
        pytest.raises(ek.IdentificationError, match="no treated cohort has a pre-treatment"),
    ):
        ek.did.CallawaySantAnna().fit(_panel(only_first))


def test_late_cohorts_count_as_never_treated(mpdta_frame):
    # a cohort after the last period (2010 > 2007) is untreated in the window (R did)
    df = mpdta_frame.copy()
    df.loc[df["first.treat"] == 0, "first.treat"] = 2010
    res = ek.did.CallawaySantAnna().fit(
        ek.Panel.from_frame(
            df,
            unit="countyreal",
            time="year",
            outcome="lemp",
            cohort="first.treat",
            never_treated=np.inf,
        )
    )
    base = ek.did.CallawaySantAnna().fit(_panel(mpdta_frame))
    np.testing.assert_allclose(res.att_gt["estimate"], base.att_gt["estimate"], rtol=1e-12)


def test_single_cluster_and_cluster_varying_within_unit(mpdta_frame):
    one = _panel(mpdta_frame.assign(k=1), cluster="k")
    with pytest.raises(ek.IdentificationError, match="single group"):
        ek.did.CallawaySantAnna().fit(one)
    county = pd.factorize(mpdta_frame["countyreal"])[0]
    moving = mpdta_frame.assign(k=mpdta_frame["year"] % 2 + 10 * (county % 40))
    with pytest.raises(ek.DataError, match="varies within units"):
        ek.did.CallawaySantAnna().fit(_panel(moving, cluster="k"))


def test_collinear_and_constant_covariates_are_named(mpdta_frame):
    df = mpdta_frame.assign(lpop2=2 * mpdta_frame["lpop"] + 1, const=3.0)
    with pytest.raises(ek.IdentificationError, match="'lpop2' is .* combination of \\['lpop'\\]"):
        ek.did.CallawaySantAnna().fit(_panel(df, ["lpop", "lpop2"]))
    with pytest.raises(ek.IdentificationError, match="\\['const'\\] are constant"):
        ek.did.CallawaySantAnna().fit(_panel(df, ["lpop", "const"]))


def test_covariate_singular_within_a_cell_names_the_cell(mpdta_frame):
    # a dummy that is 0 for every never-treated county: the comparison-unit regression
    # cannot be estimated in any cell
    g = mpdta_frame["first.treat"]
    df = mpdta_frame.assign(dummy=((g > 0) & (mpdta_frame["countyreal"] % 2 == 0)).astype(float))
    with pytest.raises(ek.IdentificationError, match="ATT\\(g=2004, t=2004\\).*singular"):
        ek.did.CallawaySantAnna(method="reg").fit(_panel(df, ["dummy"]))


def test_missing_covariates_refused(mpdta_frame):
    df = mpdta_frame.copy()
    df.loc[3, "lpop"] = np.nan
    panel = _panel(df, ["lpop"], missing="keep")
    with pytest.raises(ek.IdentificationError, match="complete covariates"):
        ek.did.CallawaySantAnna().fit(panel)


def test_design_requirements(mpdta_frame, small_frame):
    switching = small_frame.assign(d=[0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0])
    panel = ek.Panel.from_frame(
        switching, unit="unit", time="time", outcome="y", treatment="d", absorbing=False
    )
    with pytest.raises(ek.IdentificationError, match="not absorbing"):
        ek.did.CallawaySantAnna().fit(panel)
    no_timing = ek.Panel.from_frame(small_frame, unit="unit", time="time", outcome="y")
    with pytest.raises(ek.IdentificationError, match="needs treatment timing"):
        ek.did.CallawaySantAnna().fit(no_timing)
    g = mpdta_frame["first.treat"]
    dates = mpdta_frame.assign(
        date=pd.to_datetime(mpdta_frame["year"].astype(str)),
        d=((g > 0) & (mpdta_frame["year"] >= g)).astype(int),
    )
    panel = ek.Panel.from_frame(
        dates, unit="countyreal", time="date", outcome="lemp", treatment="d"
    )
    with pytest.raises(ek.DataError, match="needs integer periods"):
        ek.did.CallawaySantAnna().fit(panel)


def test_unbalanced_panel_balanced_with_ledger(mpdta_frame):
    df = mpdta_frame.drop(index=mpdta_frame.index[[0, 7, 13]])  # three counties lose a year
    est = ek.did.CallawaySantAnna()
    with pytest.warns(ek.DroppedRowsWarning, match="not observed in every period.*unbalanced"):
        res = est.fit(_panel(df))
    assert res.n_units == 497 and len(res.ledger) == 3 * 4
    kept = ek.did.CallawaySantAnna(data="unbalanced_panel").fit(_panel(df))
    assert kept.n_units == 500 and len(kept.ledger) == 0


def test_propensity_trimming_warns():
    # treated around x = 2, comparison units around x = -2, and three comparison units
    # deep in the treated region: their propensity scores are ~1 and get trimmed
    rng = np.random.default_rng(2)
    years = np.arange(2000, 2004)
    x = np.concatenate([rng.normal(2, 1, 150), rng.normal(-2, 1, 150), [3.5, 3.6, 3.7]])
    g = np.r_[np.full(150, 2002), np.zeros(153, dtype=int)]
    n = len(x)
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n), len(years)),
            "year": np.tile(years, n),
            "g": np.repeat(g, len(years)),
            "x": np.repeat(x, len(years)),
        }
    )
    df["y"] = df["x"] + rng.normal(size=len(df))
    panel = ek.Panel.from_frame(
        df, unit="unit", time="year", outcome="y", cohort="g", never_treated=0, covariates=["x"]
    )
    with pytest.warns(ek.AssumptionWarning, match="9 comparison-unit observations in 3 \\(g,t\\)"):
        ek.did.CallawaySantAnna().fit(panel)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ek.did.CallawaySantAnna(method="reg").fit(panel)  # no propensity score, no warning


def test_no_overlap_refused():
    # 250 treated units and one comparison unit: even the intercept-only propensity
    # score (250/251 > 0.995) trims every comparison unit
    years = np.arange(2000, 2003)
    n = 251
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n), 3),
            "year": np.tile(years, n),
            "g": np.repeat(np.r_[np.full(250, 2002), 0], 3),
            "y": np.tile([0.0, 1.0, 3.0], n),
        }
    )
    panel = ek.Panel.from_frame(
        df, unit="unit", time="year", outcome="y", cohort="g", never_treated=0
    )
    with pytest.raises(ek.IdentificationError, match="ATT\\(g=2002, t=2001\\).*no overlap"):
        ek.did.CallawaySantAnna(method="ipw").fit(panel)
    res = ek.did.CallawaySantAnna(method="reg").fit(panel)  # no propensity score needed
    assert res.att_gt["estimate"].tolist() == [0.0, 0.0]


def test_caller_frame_unchanged(mpdta_frame):
    before = mpdta_frame.copy(deep=True)
    ek.did.CallawaySantAnna(bootstrap=ek.did.MultiplierBootstrap(reps=99, seed=1)).fit(
        _panel(mpdta_frame, ["lpop"])
    ).aggregate("event_time")
    pd.testing.assert_frame_equal(mpdta_frame, before)


def test_danish_labels(fits):
    _, res = fits["nevertreated_dr_nocov_varying"]
    with ek.set_options(language="da"):
        ax = res.aggregate("event_time").plot()
    assert ax.get_xlabel() == "Perioder siden indsatsens start"
