"""SyntheticDiD (single and staggered), AugmentedSynth and the donor-pool helpers.

Expected values are derived by hand (DiD with uniform weights, planted effects in a
factor model where the treated units are exact combinations of controls) or from
first principles (ASCM with an infinite penalty is SCM).
"""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

import effekt as ek


@pytest.fixture(autouse=True)
def _quiet():
    with ek.set_options(progress=False):
        yield


def staggered_frame(seed: int = 0, n_controls: int = 20, factor: bool = True) -> pd.DataFrame:
    """Controls ``k0, k1, ...`` from a factor model (or, with ``factor=False``, two-way fixed
    effects: parallel trends) plus unit effects; treated units ``a, b`` (2010) and ``c``
    (2013) are convex combinations of controls shifted by a constant (SDID allows level
    differences) and, from their adoption year on, by a planted effect: -2 and -4."""
    rng = np.random.default_rng(seed)
    years = np.arange(2000, 2017)
    f = np.column_stack([np.linspace(0, 2, len(years)), np.cos(years / 3.0)])
    load = rng.normal(size=(n_controls, 2)) if factor else np.ones((n_controls, 2))
    y = (
        5
        + rng.normal(size=(n_controls, 1))
        + load @ f.T
        + 0.2 * rng.normal(size=(n_controls, len(years)))
    )
    rows = [(f"k{i}", t, y[i, k], 0) for i in range(n_controls) for k, t in enumerate(years)]
    plan = [("a", 2010, -2.0), ("b", 2010, -2.0), ("c", 2013, -4.0)]
    for name, g, eff in plan:
        w = rng.dirichlet(np.ones(4))
        idx = rng.choice(n_controls, 4, replace=False)
        path = w @ y[idx] + 1.5 + np.where(years >= g, eff, 0.0)
        rows += [(name, t, path[k], g) for k, t in enumerate(years)]
    return pd.DataFrame(rows, columns=["area", "year", "y", "g"])


def panel_of(df):
    return ek.Panel.from_frame(
        df, unit="area", time="year", outcome="y", cohort="g", never_treated=0
    )


def test_did_variant_equals_hand_computed_difference_in_differences():
    df = staggered_frame()
    one = df.loc[df["area"].isin(["a"]) | df["area"].str.startswith("k")]
    res = ek.synth.SyntheticDiD(estimator="did", se=None).fit(panel_of(one))
    wide = one.pivot(index="area", columns="year", values="y")
    pre, post = wide.columns < 2010, wide.columns >= 2010
    treated = wide.loc["a"]
    controls = wide.drop(index="a")
    by_hand = (treated[post].mean() - treated[pre].mean()) - (
        controls.loc[:, post].to_numpy().mean() - controls.loc[:, pre].to_numpy().mean()
    )
    assert res.att == pytest.approx(by_hand, rel=1e-12)


def test_staggered_sdid_recovers_planted_effects_and_aggregates_by_cells():
    # parallel trends hold, so each cohort's estimate is the planted effect up to noise
    # (sd 0.2 per unit-year; an average over >= 4 post years and 10 pre years)
    res = ek.synth.SyntheticDiD(n_reps=50).fit(panel_of(staggered_frame(factor=False)))
    table = res.cohort_table
    assert table["cohort"].tolist() == [2010, 2013]
    np.testing.assert_allclose(table["estimate"], [-2.0, -4.0], atol=0.3)
    # weights: N_g * T_post_g = 2 * 7 and 1 * 4
    np.testing.assert_allclose(table["weight"], [14 / 18, 4 / 18])
    assert res.att == pytest.approx(float(table["weight"] @ table["estimate"]))
    assert res.se > 0 and np.isfinite(table["std_error"]).all()
    frame = res.to_frame()
    ek.validate(frame, "effect_table")
    assert frame.loc[0, "aggregation"] == "simple" and frame.loc[0, "std_error"] == res.se


def test_se_methods_are_seeded_and_jackknife_needs_two_treated():
    panel = panel_of(staggered_frame())
    a = ek.synth.SyntheticDiD(se="bootstrap", n_reps=30, seed=3).fit(panel)
    # threads keep the test fast; the chunking and seed streams are the same for any backend
    with joblib.parallel_config(backend="threading"):
        b = ek.synth.SyntheticDiD(se="bootstrap", n_reps=30, seed=3, n_jobs=2).fit(panel)
    assert a.se == b.se and a.se > 0
    jk = ek.synth.SyntheticDiD(se="jackknife").fit(panel)
    assert jk.se > 0
    one = staggered_frame()
    one = one.loc[one["area"].isin(["a"]) | one["area"].str.startswith("k")]
    with pytest.raises(ek.IdentificationError, match="at least 2 treated units"):
        ek.synth.SyntheticDiD(se="jackknife").fit(panel_of(one))


def test_replicates_are_the_draws_behind_the_standard_error():
    panel = panel_of(staggered_frame())
    res = ek.synth.SyntheticDiD(n_reps=40, seed=2).fit(panel)
    reps = res.replicates
    assert reps.shape == (40, 3) and list(reps.columns) == ["att", 2010, 2013]
    # Arkhangelsky et al. (2021), Algorithm 4: the SE is the draws' standard deviation
    # (denominator B, as synthdid's sqrt((B - 1) / B) * sd)
    assert res.se == pytest.approx(float(np.std(reps["att"], ddof=0)), rel=1e-12)
    np.testing.assert_allclose(
        res.cohort_table["std_error"], np.std(reps[[2010, 2013]], ddof=0, axis=0), rtol=1e-12
    )
    assert ek.synth.SyntheticDiD(se="jackknife").fit(panel).replicates is None
    assert ek.synth.SyntheticDiD(se=None).fit(panel).replicates is None


def test_placebo_with_each_cohorts_own_controls():
    # the baseline-stayer design gives each cohort its own outcomes of the same controls
    # (K, N0, T); with the same outcomes in every cohort it is the ordinary placebo
    from effekt.synth.sdid import _placebo_draws

    rng = np.random.default_rng(0)
    y0 = rng.normal(size=(12, 8)).cumsum(axis=1)
    kw = dict(
        kind="sdid",
        cohort_sizes=[2, 1],
        t0s=[5, 6],
        times=[5, 6],
        zetas=[(0.1, 1e-6, 0.5), (0.1, 1e-6, 0.5)],
        solver="exact",
        start_weights=[
            (np.full(12, 1 / 12), np.full(5, 0.2)),
            (np.full(12, 1 / 12), np.full(6, 1 / 6)),
        ],
    )
    flat = _placebo_draws(np.random.default_rng(1), 5, controls=y0, **kw)
    stacked = _placebo_draws(np.random.default_rng(1), 5, controls=np.stack([y0, y0]), **kw)
    np.testing.assert_array_equal(flat, stacked)
    # cohort k uses controls[k]: changing the second cohort's outcomes (same permutation)
    # changes its estimates and leaves the first cohort's as they were
    noisy = np.stack([y0, y0 + rng.normal(size=y0.shape)])
    other = _placebo_draws(np.random.default_rng(1), 5, controls=noisy, **kw)
    np.testing.assert_array_equal(other[:, 1], flat[:, 1])
    assert not np.allclose(other[:, 2], flat[:, 2])
    shifted = _placebo_draws(np.random.default_rng(1), 5, controls=np.stack([y0, y0 + 1]), **kw)
    np.testing.assert_allclose(shifted, flat, atol=1e-9)  # a level shift cancels in SDID


def test_jackknife_by_hand_for_did():
    # DiD with fixed uniform weights: leave-one-out estimates computed directly
    df = staggered_frame()
    df = df.loc[df["g"] != 2013]
    res = ek.synth.SyntheticDiD(estimator="did", se="jackknife").fit(panel_of(df))
    wide = df.pivot(index="area", columns="year", values="y")
    post = wide.columns >= 2010
    diff = wide.loc[:, post].mean(axis=1) - wide.loc[:, ~post].mean(axis=1)
    treated = diff[["a", "b"]]
    controls = diff.drop(["a", "b"])
    loo = [treated.drop(t).mean() - controls.mean() for t in treated.index]
    loo += [treated.mean() - controls.drop(c).mean() for c in controls.index]
    n = len(loo)
    by_hand = np.sqrt((n - 1) / n * np.sum((np.array(loo) - np.mean(loo)) ** 2))
    assert res.se == pytest.approx(by_hand, rel=1e-10)


def test_sdid_bad_input():
    panel = panel_of(staggered_frame())
    with pytest.raises(ek.ParameterError, match="'estimator' parameter"):
        ek.synth.SyntheticDiD(estimator="mc").fit(panel)
    with pytest.raises(ek.ParameterError, match="'n_reps' parameter"):
        ek.synth.SyntheticDiD(n_reps=1).fit(panel)
    with pytest.raises(ek.IdentificationError, match="more control units"):
        small = staggered_frame(n_controls=5)
        ek.synth.SyntheticDiD().fit(panel_of(small.loc[~small["area"].isin(["k0", "k1"])]))
    with pytest.raises(ek.IdentificationError, match="themselves treated"):
        ek.synth.SyntheticDiD(treated="a", donors=["k0", "k1", "b"]).fit(panel)
    with pytest.raises(ek.IdentificationError, match="outside the panel"):
        p = ek.Panel.from_frame(staggered_frame(), unit="area", time="year", outcome="y")
        ek.synth.SyntheticDiD(treated="a", treatment_time=2030).fit(p)


def test_sdid_plots():
    res = ek.synth.SyntheticDiD(se=None).fit(panel_of(staggered_frame()))
    for kind in ("trajectory", "weights"):
        assert isinstance(res.plot(kind=kind), Axes)
    assert isinstance(res.plot(cohort=2013), Axes)
    assert "ATT" in str(res.summary())


# ------------------------------------------------------------------ AugmentedSynth
def _ascm_frame():
    df = staggered_frame(4)
    return df.loc[df["area"].isin(["a"]) | df["area"].str.startswith("k")].copy()


def test_ascm_large_penalty_is_scm_and_small_penalty_fits_pre_period():
    df = _ascm_frame()
    panel = ek.Panel.from_frame(df, unit="area", time="year", outcome="y")
    huge = ek.synth.AugmentedSynth(
        treated="a", treatment_time=2010, lambda_=1e12, inference=None
    ).fit(panel)
    np.testing.assert_allclose(huge.weights, huge.scm_weights, atol=1e-8)
    tiny = ek.synth.AugmentedSynth(
        treated="a", treatment_time=2010, lambda_=1e-8, inference=None
    ).fit(panel)
    # 20 donors, 10 pre-periods: the ridge correction interpolates the pre-period path
    assert tiny.rmspe_pre < 1e-5
    assert tiny.weights.sum() == pytest.approx(1.0)


def test_ascm_corrects_bias_outside_the_hull():
    # one-factor world; the treated unit's loading (2.5) exceeds every donor's (0.5-1.5), so
    # no convex combination follows its trend and SCM is biased; the ridge outcome model
    # extrapolates (the post outcomes are linear in the pre outcomes) and recovers the -2
    rng = np.random.default_rng(8)
    years = np.arange(2000, 2017)
    f = (years - 2000) / 4.0 + np.sin(years / 2.0)
    load = np.append(rng.uniform(0.5, 1.5, 25), 2.5)
    y = load[:, None] * f + 0.02 * rng.normal(size=(26, len(years)))
    y[-1] += np.where(years >= 2010, -2.0, 0.0)
    names = [f"k{i}" for i in range(25)] + ["a"]
    df = pd.DataFrame(
        [(n, t, y[i, k]) for i, n in enumerate(names) for k, t in enumerate(years)],
        columns=["area", "year", "y"],
    )
    panel = ek.Panel.from_frame(df, unit="area", time="year", outcome="y")
    with pytest.warns(ek.AssumptionWarning, match="outside the convex hull"):
        scm = ek.synth.SyntheticControl(treated="a", treatment_time=2010, n_starts=0).fit(panel)
    scm_att = scm.to_frame().query("term == 'att'")["estimate"].item()
    res = ek.synth.AugmentedSynth(treated="a", treatment_time=2010, inference="jackknife").fit(
        panel
    )
    assert res.att == pytest.approx(-2.0, abs=0.15)
    assert abs(scm_att + 2.0) > 1.0  # SCM misses by more than half the effect
    assert (res.weights < 0).any()  # extrapolation needs negative weights
    ek.validate(res.to_frame(), "effect_table")
    for kind in ("trajectory", "gap", "weights"):
        assert isinstance(res.plot(kind=kind), Axes)


def _exact_frame(effect: float = -8.0, n_pre: int = 25) -> pd.DataFrame:
    """Treated unit = 0.5 k0 + 0.3 k1 + 0.2 k2 (+ effect from the start year on); controls
    from a two-factor model with noise, so the pre-period fit is exact."""
    rng = np.random.default_rng(3)
    years = np.arange(2000, 2000 + n_pre + 6)
    f = np.column_stack([np.linspace(0, 3, len(years)), np.sin(years / 2.0)])
    y = 10 + rng.normal(size=(15, 1)) + rng.normal(size=(15, 2)) @ f.T
    y += 0.3 * rng.normal(size=y.shape)
    treated = 0.5 * y[0] + 0.3 * y[1] + 0.2 * y[2] + np.where(years >= 2000 + n_pre, effect, 0)
    rows = [(f"k{i}", t, y[i, k]) for i in range(15) for k, t in enumerate(years)]
    rows += [("a", t, treated[k]) for k, t in enumerate(years)]
    return pd.DataFrame(rows, columns=["area", "year", "y"])


def test_ascm_conformal_inference_brackets_the_planted_effect():
    panel = ek.Panel.from_frame(_exact_frame(), unit="area", time="year", outcome="y")
    res = ek.synth.AugmentedSynth(treated="a", treatment_time=2025, lambda_=1e12).fit(panel)
    table = res.to_frame()
    ek.validate(table, "effect_table")
    # exact pre-period fit: every per-period interval holds -8 and excludes 0; the p-value
    # of no effect is the smallest attainable, 1 / (25 + 1) per period and 1 / 31 (the
    # 31 cyclic shifts of the residuals) for the constant effect over the 6 post periods
    # (noise-free gaps: only theta = -8 itself is kept per period, a degenerate interval)
    assert (table["ci_lower"] <= -8.0 + 1e-6).all() and (table["ci_upper"] >= -8.0 - 1e-6).all()
    assert (table["ci_upper"] < 0).all()
    np.testing.assert_allclose(table["p_value"].iloc[:-1], 1 / 26)
    assert table["p_value"].iloc[-1] == pytest.approx(1 / 31)
    assert (table["std_error"] >= 0).all() and np.isfinite(table["std_error"]).all()
    assert "Inference (conformal)" in str(res.summary())


def test_ascm_conformal_pvalues_equal_scm_conformal_for_an_infinite_penalty():
    # lambda -> infinity gives SCM, whose single-period conformal p-values are computed by
    # effekt.synth.inference independently (outcome-only SC, rank of the last residual)
    from effekt.synth.augmented import conformal_pvalues as ascm_p
    from effekt.synth.inference import conformal_pvalues as scm_p

    rng = np.random.default_rng(0)
    y0 = rng.normal(size=(16, 8)).cumsum(axis=0)
    y1 = y0[:, :3] @ np.array([0.2, 0.3, 0.5]) + 0.2 * rng.normal(size=16)
    thetas = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(ascm_p(y1, y0, 1, thetas, 1e14), scm_p(y1, y0, 15, thetas))


def test_ascm_jackknife_by_hand():
    # Ben-Michael et al.'s leave-one-donor-out jackknife, refitting through the public API
    df = _ascm_frame()
    panel = ek.Panel.from_frame(df, unit="area", time="year", outcome="y")
    kw = {"treated": "a", "treatment_time": 2010, "lambda_": 5.0}
    res = ek.synth.AugmentedSynth(inference="jackknife", **kw).fit(panel)
    donors = list(res.weights.index)
    atts = np.array(
        [
            ek.synth.AugmentedSynth(inference=None, donors=[d for d in donors if d != left], **kw)
            .fit(panel)
            .att
            for left in donors
        ]
    )
    n = len(donors)
    by_hand = np.sqrt((n - 1) / n * np.sum((atts - atts.mean()) ** 2))
    att_row = res.to_frame().query("term == 'att'")
    assert att_row["std_error"].item() == pytest.approx(by_hand, rel=1e-9)
    # normal interval and p-value from that SE
    assert att_row["ci_upper"].item() == pytest.approx(res.att + 1.959964 * by_hand, rel=1e-6)


def test_ascm_placebo_in_space_and_short_panels():
    panel = ek.Panel.from_frame(_exact_frame(), unit="area", time="year", outcome="y")
    res = ek.synth.AugmentedSynth(
        treated="a", treatment_time=2025, lambda_=1e12, inference=None
    ).fit(panel)
    p = res.placebo("space")
    # exact pre-fit and a -8 effect: California-style rank 1 of 16 units
    assert p.table["rank"].iloc[0] == 1 and p.p_value == pytest.approx(1 / 16)
    assert res.placebo("space") is p
    assert p.to_frame()["estimator"].iloc[0] == "AugmentedSynth"
    with pytest.raises(ek.ParameterError, match="'kind' parameter"):
        res.placebo("time")
    short = ek.Panel.from_frame(_exact_frame(n_pre=8), unit="area", time="year", outcome="y")
    with pytest.warns(ek.AssumptionWarning, match="whole real line"):
        res = ek.synth.AugmentedSynth(treated="a", treatment_time=2008, lambda_=1e12).fit(short)
    gaps = res.to_frame().query("term == 'gap'")
    assert np.isinf(gaps["ci_lower"]).all() and (gaps["p_value"] >= 1 / 9).all()


def test_sdid_result_placebo_points_to_the_placebo_se():
    res = ek.synth.SyntheticDiD(se=None).fit(panel_of(staggered_frame()))
    with pytest.raises(ek.ParameterError, match="se='placebo'"):
        res.placebo("space")


def test_ascm_bad_input():
    panel = panel_of(staggered_frame())
    with pytest.raises(ek.ParameterError, match="'lambda_' parameter"):
        ek.synth.AugmentedSynth(treated="a", treatment_time=2010, lambda_=-1.0).fit(panel)
    with pytest.raises(ek.ParameterError, match="fits one treated unit"):
        ek.synth.AugmentedSynth().fit(panel)
    with pytest.raises(ek.ParameterError, match="'inference' parameter"):
        ek.synth.AugmentedSynth(treated="a", treatment_time=2010, inference="bootstrap").fit(panel)


# ------------------------------------------------------------------ donors
def test_donor_helpers():
    df = staggered_frame()
    panel = panel_of(df)
    kommune = pd.Series(
        {u: (101 if u in ("a", "k0", "k1", "k2") else 751) for u in df["area"].unique()}
    )
    assert ek.synth.donors_in_group(panel, treated="a", groups=kommune) == ["k0", "k1", "k2"]
    outside = ek.synth.donors_in_group(panel, treated="a", groups=kommune, same=False)
    assert "k0" not in outside and "b" not in outside and "k3" in outside  # b is treated
    with pytest.raises(ek.IdentificationError, match="only 0 donor"):
        ek.synth.donors_in_group(
            panel, treated="a", groups=kommune.replace(101, 5).where(kommune.index != "a", 9)
        )
    # similar donors: the nearest on pre-period means, by hand
    pre = df.loc[df["year"] < 2010].groupby("area")["y"].mean()
    controls = pre.drop(["a", "b", "c"])
    # one indicator: standardised distance ranks like the absolute difference
    expected = (controls - pre["a"]).abs().sort_values(kind="stable").index[:5].tolist()
    assert ek.synth.similar_donors(panel, treated="a", on=["y"], before=2010, n=5) == expected
    with pytest.raises(ek.ParameterError, match="'metric' parameter"):
        ek.synth.similar_donors(panel, treated="a", on=["y"], before=2010, metric="l1")
