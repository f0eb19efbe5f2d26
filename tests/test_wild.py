"""Wild cluster bootstrap: the fast algebra against brute-force refits, and its errors."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt.did.wild import WildClusterBootstrap, wild_test


def _small_problem(seed=3, n_clusters=8, per=12):
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_clusters), per)
    x = np.column_stack([rng.normal(size=g.size), rng.normal(size=g.size)])
    y = 0.3 * x[:, 0] + rng.normal(size=n_clusters)[g] + rng.normal(size=g.size)
    return x, y, g


def _crv_t(x, y, g, k, r):
    a = np.linalg.inv(x.T @ x)
    b = a @ x.T @ y
    u = y - x @ b
    scores = np.array([(a @ x[g == c].T @ u[g == c])[k] for c in np.unique(g)])
    return (b[k] - r) / np.sqrt(np.sum(scores**2)), b


def _brute_force_p(x, y, g, k, r, impose_null):
    """Refit OLS for every sign pattern: the textbook WCR/WCU bootstrap."""
    t_obs, b = _crv_t(x, y, g, k, r)
    if impose_null:  # restricted fit: coefficient k fixed at r
        others = [j for j in range(x.shape[1]) if j != k]
        bo = np.linalg.lstsq(x[:, others], y - r * x[:, k], rcond=None)[0]
        fitted = x[:, others] @ bo + r * x[:, k]
        center = r
    else:
        fitted = x @ b
        center = b[k]
    e = y - fitted
    n_clusters = g.max() + 1
    t_star = []
    for signs in itertools.product((-1.0, 1.0), repeat=n_clusters):
        y_star = fitted + e * np.asarray(signs)[g]
        t_star.append(_crv_t(x, y_star, g, k, center)[0])
    return float(np.mean(np.abs(np.array(t_star)) > abs(t_obs) * (1 + 1e-10)))


@pytest.mark.parametrize("impose_null", [True, False])
@pytest.mark.parametrize("r", [0.0, 0.25])
def test_enumeration_equals_brute_force(impose_null, r):
    x, y, g = _small_problem()
    config = WildClusterBootstrap(reps=999, impose_null=impose_null)
    test = wild_test(x, y, g, np.array([1.0, 0.0]), r, config, level=0.95, scale=1.0, ci=False)
    assert test.enumerated and test.reps == 256
    assert test.p_value == pytest.approx(_brute_force_p(x, y, g, 0, r, impose_null), abs=1e-12)


def test_linear_combination_against_brute_force():
    # testing b1 + b2 = 0.3 equals testing the coefficient of x1 after reparametrising
    x, y, g = _small_problem(seed=5)
    config = WildClusterBootstrap(reps=999)
    test = wild_test(x, y, g, np.array([1.0, 1.0]), 0.3, config, level=0.95, scale=1.0, ci=False)
    z = np.column_stack([x[:, 0], x[:, 1] - x[:, 0]])  # b1 on z1 is b1 + b2
    assert test.p_value == pytest.approx(_brute_force_p(z, y, g, 0, 0.3, True), abs=1e-12)


def test_interval_is_where_the_test_stops_rejecting():
    x, y, g = _small_problem(seed=7, n_clusters=20, per=8)
    config = WildClusterBootstrap(reps=1999, weights="webb", seed=2)
    test = wild_test(x, y, g, np.array([1.0, 0.0]), 0.0, config, level=0.9, scale=1.0)
    assert test.ci_lower < test.estimate < test.ci_upper
    width = test.ci_upper - test.ci_lower
    for bound, outward in ((test.ci_lower, -1), (test.ci_upper, 1)):
        inside = wild_test(
            x,
            y,
            g,
            np.array([1.0, 0.0]),
            bound - outward * 1e-3 * width,
            config,
            level=0.9,
            scale=1.0,
            ci=False,
        )
        outside = wild_test(
            x,
            y,
            g,
            np.array([1.0, 0.0]),
            bound + outward * 1e-3 * width,
            config,
            level=0.9,
            scale=1.0,
            ci=False,
        )
        assert inside.p_value >= 0.1 > outside.p_value


def test_same_numbers_for_any_n_jobs():
    x, y, g = _small_problem(n_clusters=30, per=5)
    one = wild_test(
        x,
        y,
        g,
        np.array([1.0, 0.0]),
        0.0,
        WildClusterBootstrap(reps=999, seed=4),
        level=0.95,
        scale=1.0,
    )
    two = wild_test(
        x,
        y,
        g,
        np.array([1.0, 0.0]),
        0.0,
        WildClusterBootstrap(reps=999, seed=4, n_jobs=2),
        level=0.95,
        scale=1.0,
    )
    assert one == two


def test_twfe_with_bootstrap(mpdta_panel):
    boot = ek.did.WildClusterBootstrap(reps=999, seed=11)
    res = ek.did.TwoWayFE(bootstrap=boot).fit(mpdta_panel)
    row = res.to_frame().iloc[0]
    plain = ek.did.TwoWayFE().fit(mpdta_panel).to_frame().iloc[0]
    assert row["estimate"] == plain["estimate"] and row["std_error"] == plain["std_error"]
    assert row["inference"].startswith("wild cluster bootstrap (WCR, rademacher, B = 999)")
    # with 500 clusters the bootstrap and t(G-1) inference agree closely
    assert row["p_value"] == pytest.approx(plain["p_value"], abs=0.01)
    assert row["ci_lower"] == pytest.approx(plain["ci_lower"], rel=0.05)
    assert "wild cluster bootstrap" in res.summary().as_text()
    assert res.wild_test("treated", bootstrap=boot, ci=False).p_value == row["p_value"]


def test_few_clusters_warns_for_rademacher():
    x, y, g = _small_problem(n_clusters=10, per=5)
    with pytest.warns(ek.AssumptionWarning, match="Use weights='webb'"):
        wild_test(
            x,
            y,
            g,
            np.array([1.0, 0.0]),
            0.0,
            WildClusterBootstrap(reps=999, seed=1),
            level=0.95,
            scale=1.0,
            ci=False,
        )


def test_wild_test_errors(mpdta_panel, mpdta):
    res = ek.did.TwoWayFE().fit(mpdta_panel)
    with pytest.raises(ek.ParameterError, match=r"unknown term\(s\) \['treat'\]"):
        res.wild_test("treat")
    with pytest.warns(ek.AssumptionWarning):
        two_way = ek.did.TwoWayFE(cluster=("unit", "time")).fit(mpdta_panel)
    # two-way: weights drawn by year (bootcluster "min") or by county ("max"); the observed
    # t statistic is the model's two-way one either way
    by_year = two_way.wild_test("treated", ci=False)
    assert by_year.cluster_counts[:2] == (500, 5)
    boot = ek.did.WildClusterBootstrap(bootcluster="max", reps=999)
    by_county = two_way.wild_test("treated", bootstrap=boot, ci=False)
    assert by_county.t_stat == pytest.approx(by_year.t_stat, rel=1e-10)
    weighted = ek.Panel.from_frame(
        mpdta.assign(w=1.0),
        unit="countyreal",
        time="year",
        outcome="lemp",
        cohort="first.treat",
        never_treated=0,
        weights="w",
    )
    with pytest.raises(ek.ParameterError, match="does not support weights yet"):
        ek.did.TwoWayFE(bootstrap=ek.did.WildClusterBootstrap()).fit(weighted)
    with pytest.raises(ek.ParameterError, match="'bootstrap' parameter of TwoWayFE"):
        ek.did.TwoWayFE(bootstrap="wild").fit(mpdta_panel)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"reps": 10}, "'reps' parameter of WildClusterBootstrap must be an integer >= 99"),
        ({"weights": "gauss"}, "'weights' parameter of WildClusterBootstrap must be one of"),
        ({"impose_null": 1}, "'impose_null' parameter of WildClusterBootstrap"),
    ],
)
def test_config_errors(kw, message):
    with pytest.raises(ek.ParameterError, match=message):
        WildClusterBootstrap(**kw)


def test_weights_distributions_have_mean_zero_variance_one():
    from effekt.did.wild import _draw

    rng = np.random.default_rng(0)
    for kind in ("rademacher", "webb", "mammen", "normal"):
        v = _draw(rng, 200_000, n_clusters=1, kind=kind)
        assert abs(v.mean()) < 0.01 and abs(v.var() - 1) < 0.01, kind
    assert pd.Series(_draw(rng, 6000, n_clusters=1, kind="webb").ravel()).nunique() == 6
