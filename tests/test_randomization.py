"""Randomization inference for TWFE: permuted statistics equal explicit refits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

import effekt as ek
from effekt.did.randomization import _demean_two_way, _permuted_stats


def test_estimate_is_the_twfe_coefficient(mpdta_panel):
    res = ek.did.randomization_test(mpdta_panel, reps=199, seed=3)
    twfe = ek.did.TwoWayFE().fit(mpdta_panel).to_frame().loc[0, "estimate"]
    assert res.estimate == pytest.approx(twfe, rel=1e-10)
    assert res.null_distribution.size == 199
    assert res.ci[0] < res.estimate < res.ci[1]


def test_permuted_statistics_equal_refits(mpdta):
    units = mpdta.groupby("countyreal")["first.treat"].first()
    labels = units.replace(0, np.inf).to_numpy(dtype=float)
    periods = np.arange(2003, 2008, dtype=float)
    wide_y = mpdta.pivot(index="countyreal", columns="year", values="lemp").loc[units.index]
    y_t = _demean_two_way(wide_y.to_numpy())
    d_t = _demean_two_way((periods[None, :] >= labels[:, None]).astype(float))
    stats = _permuted_stats(
        np.random.default_rng(8),
        3,
        labels=labels,
        groups=np.arange(labels.size),
        periods=periods,
        y_tilde=y_t,
        d_tilde=d_t,
    )
    # replay the same permutations and refit TWFE by OLS with dummies (statsmodels)
    shuffled = np.random.default_rng(8).permuted(np.broadcast_to(labels, (3, labels.size)), axis=1)
    for b in range(3):
        cohort = pd.Series(shuffled[b], index=units.index)
        df = mpdta.assign(D=(mpdta["year"] >= mpdta["countyreal"].map(cohort)).astype(float))
        fit = smf.ols("lemp ~ D + C(countyreal) + C(year)", data=df).fit()
        assert stats[b, 0] == pytest.approx(fit.params["D"], rel=1e-9)


def test_p_value_uses_phipson_smyth_and_inverts():
    # 40 units, a strong effect: the observed estimate is more extreme than all permutations
    rng = np.random.default_rng(1)
    units = np.repeat(np.arange(40), 6)
    time = np.tile(np.arange(6), 40)
    cohort = np.where(np.arange(40) < 10, 3, 0)[units]
    y = rng.normal(size=units.size) + 5.0 * ((cohort > 0) & (time >= cohort))
    panel = ek.Panel.from_frame(
        pd.DataFrame({"u": units, "t": time, "y": y, "g": cohort}),
        unit="u",
        time="t",
        outcome="y",
        cohort="g",
        never_treated=0,
    )
    res = ek.did.randomization_test(panel, reps=999, seed=2)
    assert res.p_value == pytest.approx(1 / 1000)
    assert res.ci[0] < 5.0 < res.ci[1]


def test_same_numbers_for_any_n_jobs(mpdta_panel):
    a = ek.did.randomization_test(mpdta_panel, reps=300, seed=4, n_jobs=1)
    b = ek.did.randomization_test(mpdta_panel, reps=300, seed=4, n_jobs=2)
    np.testing.assert_array_equal(a.null_distribution, b.null_distribution)
    assert a.p_value == b.p_value


def test_cluster_permutation(mpdta):
    # minimum wages are set by states (county code // 1000): mpdta's cohorts are state-level
    df = mpdta.assign(state=mpdta["countyreal"] // 1000, other=mpdta["countyreal"] % 10)
    roles = dict(
        unit="countyreal", time="year", outcome="lemp", cohort="first.treat", never_treated=0
    )
    panel = ek.Panel.from_frame(df, cluster="state", **roles)
    res = ek.did.randomization_test(panel, reps=199, seed=5, permute="clusters")
    assert "clusters" in res.to_frame().loc[0, "inference"]
    # Phipson-Smyth from the stored null draws: (1 + #{|draw| >= |estimate|}) / (1 + B)
    null = res.null_distribution
    extreme = np.sum(np.abs(null) >= abs(res.estimate) * (1 - 1e-12))
    assert res.p_value == pytest.approx((1 + extreme) / (1 + null.size), rel=1e-12)
    assert 1 / (1 + null.size) <= res.p_value < 1  # mpdta's effect is not the most extreme
    mixed = ek.Panel.from_frame(df, cluster="other", **roles)
    with pytest.raises(ek.IdentificationError, match="needs one cohort per cluster"):
        ek.did.randomization_test(mixed, reps=199, permute="clusters")


def test_errors(mpdta, mpdta_panel):
    unbalanced = ek.Panel.from_frame(
        mpdta.iloc[1:],
        unit="countyreal",
        time="year",
        outcome="lemp",
        cohort="first.treat",
        never_treated=0,
    )
    with pytest.raises(ek.IdentificationError, match="needs a balanced panel"):
        ek.did.randomization_test(unbalanced)
    no_timing = ek.Panel.from_frame(mpdta, unit="countyreal", time="year", outcome="lemp")
    with pytest.raises(ek.IdentificationError, match="needs a panel with a cohort"):
        ek.did.randomization_test(no_timing)
    with pytest.raises(ek.ParameterError, match="'reps' parameter of randomization_test"):
        ek.did.randomization_test(mpdta_panel, reps=10)
    with pytest.raises(ek.ParameterError, match="'permute' parameter"):
        ek.did.randomization_test(mpdta_panel, permute="rows")
    with pytest.raises(ek.ParameterError, match="needs a panel with a 'cluster' column"):
        ek.did.randomization_test(mpdta_panel, permute="clusters")


def test_result_protocol(mpdta_panel):
    res = ek.did.randomization_test(mpdta_panel, reps=199, seed=6)
    ek.validate(res.to_frame(), "effect_table")
    assert res.plot().get_title() == "Randomization inference: lemp"
    assert "Permutations" in res.summary().as_text()
