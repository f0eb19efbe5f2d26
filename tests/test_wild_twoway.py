"""Two-way clustered wild cluster bootstrap: fast algebra against brute-force refits.

The reference refits OLS for every Rademacher sign pattern of the bootcluster and
computes the two-way variance with statsmodels' ``cov_cluster_2groups`` (an
independent CGM implementation, each term with its own G/(G-1) (N-1)/(N-K), the
boottest/fwildclusterboot convention). Under full enumeration the p-values must
be identical.
"""

from __future__ import annotations

import itertools
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.sandwich_covariance import cov_cluster_2groups

import effekt as ek
from effekt.did.wild import WildClusterBootstrap, wild_test

REFERENCE = Path(__file__).parent / "reference" / "did" / "wild_twoway_mpdta.json"


def _crossed_problem(seed=1, n_firms=7, n_years=5, per_cell=3):
    """Firms x years with shocks in both dimensions, a firm-level and an idiosyncratic x."""
    rng = np.random.default_rng(seed)
    firm = np.repeat(np.arange(n_firms), n_years * per_cell)
    year = np.tile(np.repeat(np.arange(n_years), per_cell), n_firms)
    n = firm.size
    x = np.column_stack(
        [np.ones(n), rng.normal(size=n_firms)[firm] + rng.normal(size=n), rng.normal(size=n)]
    )
    y = (
        0.2 * x[:, 1]
        + rng.normal(size=n_firms)[firm]
        + rng.normal(size=n_years)[year]
        + rng.normal(size=n)
    )
    return x, y, np.column_stack([firm, year])


def _t_two_way(x, y, groups, k, center):
    fit = OLS(y, x).fit()
    cov = cov_cluster_2groups(fit, groups[:, 0], groups[:, 1], use_correction=True)[0]
    with np.errstate(invalid="ignore"):
        return (fit.params[k] - center) / np.sqrt(cov[k, k])


def _brute_force(x, y, groups, k, r, impose_null, boot_dim):
    """Textbook WCR/WCU: refit per sign pattern, two-way CGM variance from statsmodels."""
    t_obs = _t_two_way(x, y, groups, k, r)
    if impose_null:
        others = [j for j in range(x.shape[1]) if j != k]
        coef = np.linalg.lstsq(x[:, others], y - r * x[:, k], rcond=None)[0]
        fitted, center = x[:, others] @ coef + r * x[:, k], r
    else:
        fit = OLS(y, x).fit()
        fitted, center = fit.fittedvalues, fit.params[k]
    e = y - fitted
    boot = groups[:, boot_dim]
    t_star = np.array(
        [
            _t_two_way(x, fitted + e * np.asarray(signs)[boot], groups, k, center)
            for signs in itertools.product((-1.0, 1.0), repeat=int(boot.max()) + 1)
        ]
    )
    with np.errstate(invalid="ignore"):
        p_value = float(np.mean(np.abs(t_star) > abs(t_obs) * (1 + 1e-10)))
    return p_value, t_obs, int(np.isnan(t_star).sum())


@pytest.mark.parametrize("impose_null", [True, False])
@pytest.mark.parametrize(("bootcluster", "boot_dim"), [("min", 1), ("max", 0), (0, 0)])
def test_enumeration_equals_brute_force(impose_null, bootcluster, boot_dim):
    x, y, groups = _crossed_problem()
    n, k = x.shape
    config = WildClusterBootstrap(reps=999, impose_null=impose_null, bootcluster=bootcluster)
    expected_p, t_obs, n_nan = _brute_force(x, y, groups, 1, 0.1, impose_null, boot_dim)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        test = wild_test(
            x, y, groups, np.array([0.0, 1.0, 0.0]), 0.1, config, level=0.95,
            scale=(n - 1) / (n - k), ci=False,
        )  # fmt: skip
    # replications whose V1 + V2 - V12 is negative: the same ones, and a warning says so
    assert test.n_infeasible == n_nan
    assert len(caught) == (n_nan > 0)
    if n_nan:
        assert issubclass(caught[0].category, ek.AssumptionWarning)
        assert "non-positive two-way variance" in str(caught[0].message)
    assert test.enumerated and test.reps == 2 ** (7 if boot_dim == 0 else 5)
    assert test.n_clusters == (7 if boot_dim == 0 else 5)
    assert test.cluster_counts == (7, 5, 35)
    # the observed t uses the same two-way CRV1 variance as statsmodels
    assert test.t_stat == pytest.approx(t_obs, rel=1e-10)
    assert test.p_value == pytest.approx(expected_p, abs=1e-12)


def test_linear_combination_and_intersection_bootcluster():
    # one observation per cell: the intersection bootcluster is the heteroskedastic
    # wild bootstrap, 2^9 patterns; b1 + b2 = 0.2 is b1 after reparametrising
    x, y, groups = _crossed_problem(seed=1, n_firms=3, n_years=3, per_cell=1)
    config = WildClusterBootstrap(reps=9999, bootcluster="intersection")
    with pytest.warns(ek.AssumptionWarning, match="non-positive two-way variance"):
        test = wild_test(
            x, y, groups, np.array([0.0, 1.0, 1.0]), 0.2, config, level=0.95, scale=1.0,
            ci=False,
        )  # fmt: skip
    z = np.column_stack([x[:, 0], x[:, 1], x[:, 2] - x[:, 1]])
    expected, n_nan = _brute_force_cells(z, y, groups, 1, 0.2)
    assert test.n_clusters == 9 and test.reps == 512
    assert test.n_infeasible == n_nan > 0
    assert test.p_value == pytest.approx(expected, abs=1e-12)


def _brute_force_cells(x, y, groups, k, r):
    """WCR with one weight per observation and the two-way variance."""
    t_obs = _t_two_way(x, y, groups, k, r)
    others = [j for j in range(x.shape[1]) if j != k]
    coef = np.linalg.lstsq(x[:, others], y - r * x[:, k], rcond=None)[0]
    fitted = x[:, others] @ coef + r * x[:, k]
    e = y - fitted
    t_star = np.array(
        [
            _t_two_way(x, fitted + e * np.asarray(signs), groups, k, r)
            for signs in itertools.product((-1.0, 1.0), repeat=len(y))
        ]
    )
    with np.errstate(invalid="ignore"):
        p_value = float(np.mean(np.abs(t_star) > abs(t_obs) * (1 + 1e-10)))
    return p_value, int(np.isnan(t_star).sum())


def test_cluster_df_min_uses_one_factor():
    # with the "min" rule all three terms share min(G)/(min(G)-1): the SE is the
    # unadjusted CGM SE times sqrt(5/4) (years are the smaller dimension)
    x, y, groups = _crossed_problem()
    fit = OLS(y, x).fit()
    raw = cov_cluster_2groups(fit, groups[:, 0], groups[:, 1], use_correction=False)[0]
    config = WildClusterBootstrap(reps=999, cluster_df="min")
    test = wild_test(
        x, y, groups, np.array([0.0, 1.0, 0.0]), 0.0, config, level=0.95, scale=1.0, ci=False
    )
    assert test.std_error == pytest.approx(np.sqrt(raw[1, 1] * 5 / 4), rel=1e-10)


def test_interval_inverts_the_two_way_test():
    x, y, groups = _crossed_problem(seed=2, n_firms=30, n_years=6, per_cell=2)
    config = WildClusterBootstrap(reps=999, weights="webb", seed=3, bootcluster="max")
    restriction = np.array([0.0, 1.0, 0.0])
    test = wild_test(x, y, groups, restriction, 0.0, config, level=0.9, scale=1.0)
    assert test.ci_lower < test.estimate < test.ci_upper
    width = test.ci_upper - test.ci_lower
    for bound, outward in ((test.ci_lower, -1), (test.ci_upper, 1)):
        p_in, p_out = (
            wild_test(
                x, y, groups, restriction, bound + step * outward * 1e-3 * width, config,
                level=0.9, scale=1.0, ci=False,
            ).p_value
            for step in (-1, 1)
        )  # fmt: skip
        assert p_in >= 0.1 > p_out


@pytest.mark.parametrize(
    "backend",
    # threads keep the default suite fast; the process backend pickles the sparse kernel
    ["threading", pytest.param("loky", marks=pytest.mark.slow)],
)
def test_same_numbers_for_any_n_jobs(backend):
    x, y, groups = _crossed_problem(seed=5, n_firms=40, n_years=6, per_cell=1)
    restriction = np.array([0.0, 1.0, 0.0])
    runs = []
    for n_jobs in (1, 2):
        config = WildClusterBootstrap(reps=999, seed=8, bootcluster="max", n_jobs=n_jobs)
        with parallel_config(backend=backend):
            runs.append(wild_test(x, y, groups, restriction, 0.0, config, level=0.95, scale=1.0))
    assert runs[0] == runs[1]


def test_mpdta_matches_brute_force_reference():
    """mpdta TWFE (county and year dummies), clustered by region x year.

    Expected p-values come from tests/reference/did/generate_wild_twoway.py: statsmodels
    OLS refitted for every sign pattern with statsmodels' two-way cluster covariance
    (no effekt code). wildboottest 0.3.2 and pyfixest 0.60 have no two-way bootstrap.
    """
    ref = json.loads(REFERENCE.read_text())
    df = ek.datasets.load_dataset("mpdta")
    post = ((df["first.treat"] > 0) & (df["year"] >= df["first.treat"])).to_numpy(float)
    dummies = pd.get_dummies(df[["countyreal", "year"]].astype(str), drop_first=True, dtype=float)
    x = np.column_stack([post, np.ones(len(df)), dummies.to_numpy()])
    groups = np.column_stack([df["countyreal"].to_numpy() // 5000, df["year"].to_numpy()])
    n, k = x.shape
    restriction = np.zeros(k)
    restriction[0] = 1.0
    assert ref["meta"]["K"] == k
    for case in ref["cases"]:
        config = WildClusterBootstrap(
            reps=9999, impose_null=case["impose_null"], bootcluster=case["bootcluster"]
        )
        test = wild_test(
            x, y := df["lemp"].to_numpy(float), groups, restriction, 0.0, config,
            level=0.95, scale=(n - 1) / (n - k), ci=False,
        )  # fmt: skip
        del y
        assert test.enumerated and test.reps == case["B_used"], case
        assert test.std_error == pytest.approx(case["se"], rel=1e-8), case
        assert test.t_stat == pytest.approx(case["t"], rel=1e-8), case
        assert test.p_value == case["p_value"], case


def test_errors():
    x, y, groups = _crossed_problem()
    restriction = np.array([0.0, 1.0, 0.0])
    config = WildClusterBootstrap(reps=999)
    one = groups.copy()
    one[:, 1] = 0
    with pytest.raises(ek.IdentificationError, match="at least two clusters in each dimension"):
        wild_test(x, y, one, restriction, 0.0, config, level=0.95, scale=1.0)
    with pytest.raises(ek.ParameterError, match="one column .* or two"):
        wild_test(x, y, np.column_stack([groups, groups]), restriction, 0.0, config,
                  level=0.95, scale=1.0)  # fmt: skip
    big = np.column_stack([np.arange(2100) % 3, np.arange(2100)])
    xb = np.column_stack([np.ones(2100), np.arange(2100) % 7])
    with pytest.raises(ek.ParameterError, match="bootcluster, which has 2100 clusters"):
        wild_test(xb, np.arange(2100.0) % 5, big, np.array([0.0, 1.0]), 0.0,
                  WildClusterBootstrap(bootcluster="max"), level=0.95, scale=1.0)  # fmt: skip
    with pytest.raises(ek.ParameterError, match="'bootcluster' parameter of WildClusterBootstrap"):
        WildClusterBootstrap(bootcluster="largest")
    with pytest.raises(ek.ParameterError, match="'bootcluster' parameter"):
        WildClusterBootstrap(bootcluster=True)
    with pytest.raises(ek.ParameterError, match="'cluster_df' parameter of WildClusterBootstrap"):
        WildClusterBootstrap(cluster_df="fixest")


def test_infeasible_observed_variance_is_an_error():
    # 2 x 2 crossed cells, residuals c_ab * z with a checkerboard c: every row and column
    # score cancels (V1 = V2 = 0) while the cell scores do not (V12 > 0), so V < 0
    firm = np.repeat([0, 0, 1, 1], 2)
    year = np.repeat([0, 1, 0, 1], 2)
    z = np.tile([1.0, -1.0], 4)
    checker = np.where(firm == year, 1.0, -1.0)
    x = np.column_stack([np.ones(8), z])
    config = WildClusterBootstrap(reps=999)
    with pytest.raises(ek.IdentificationError, match="variance of the tested combination is not"):
        wild_test(x, checker * z, np.column_stack([firm, year]), np.array([0.0, 1.0]), 0.0,
                  config, level=0.95, scale=1.0)  # fmt: skip


def test_absorbing_the_fixed_effect_nested_in_the_bootcluster_is_exact():
    """The rule for fixed-effects models: a fixed effect whose groups lie inside one
    bootcluster can be projected out (its projection of the bootstrap errors is zero);
    the others must stay as dummies. Reference: the full dummy design."""
    rng = np.random.default_rng(6)
    units, years = 16, 5
    unit = np.repeat(np.arange(units), years)
    year = np.tile(np.arange(years), units)
    d = ((unit % 2 == 0) & (year >= 2)).astype(float)
    y = 0.3 * d + rng.normal(size=units)[unit] + rng.normal(size=years)[year]
    y = y + rng.normal(size=unit.size)
    groups = np.column_stack([unit // 4, year])  # 4 regions x 5 years; bootcluster "min"
    unit_dummies = (unit[:, None] == np.arange(1, units)).astype(float)
    year_dummies = (year[:, None] == np.arange(1, years)).astype(float)
    full = np.column_stack([d, np.ones(unit.size), unit_dummies, year_dummies])
    counts = np.bincount(unit)

    def within_unit(values):
        means = (
            np.stack([np.bincount(unit, weights=col) for col in values.T], axis=1) / counts[:, None]
        )
        return values - means[unit]

    absorbed = within_unit(np.column_stack([d, year_dummies]))
    y_absorbed = within_unit(y[:, None])[:, 0]
    config = WildClusterBootstrap(reps=999)
    with warnings.catch_warnings():  # 4 x 5 cells: some patterns have V < 0, in both designs
        warnings.simplefilter("ignore", ek.AssumptionWarning)
        tests = [
            wild_test(
                xx, yy, groups, np.eye(xx.shape[1])[0], 0.0, config, level=0.95, scale=1.0,
                ci=False,
            )
            for xx, yy in ((full, y), (absorbed, y_absorbed))
        ]  # fmt: skip
    assert tests[0].n_clusters == 4 and tests[0].enumerated
    assert tests[1].t_stat == pytest.approx(tests[0].t_stat, rel=1e-9)
    assert tests[1].n_infeasible == tests[0].n_infeasible
    assert tests[1].p_value == tests[0].p_value


def test_twfe_two_way_bootstrap_matches_the_brute_force_reference():
    """TwoWayFE clustered by region x year with the bootstrap drawn by year (bootcluster
    "min"): the p-values of tests/reference/did/wild_twoway_mpdta.json (statsmodels refits
    per sign pattern). TwoWayFE projects out the year effects (nested in the bootcluster)
    and keeps county dummies, which the reference's full dummy design shows is exact."""
    ref = json.loads(REFERENCE.read_text())
    df = ek.datasets.load_dataset("mpdta").assign(
        region=lambda d: d["countyreal"] // 5000,
        post=lambda d: ((d["first.treat"] > 0) & (d["year"] >= d["first.treat"])).astype(int),
    )
    panel = ek.Panel.from_frame(
        df, unit="countyreal", time="year", outcome="lemp", treatment="post", cluster="region"
    )
    for case in ref["cases"]:
        boot = WildClusterBootstrap(reps=9999, impose_null=case["impose_null"])
        res = ek.did.TwoWayFE(cluster=("panel", "time"), bootstrap=boot).fit(panel)
        test = res.wild["post"]
        assert res.params["post"] == pytest.approx(case["coef"], rel=1e-9)
        assert test.enumerated and test.reps == case["B_used"]
        assert test.p_value == case["p_value"], case
    # with fixest's small-sample convention (min G for every term) the bootstrap's
    # standard error is the model's own two-way CRV1 standard error
    boot = WildClusterBootstrap(reps=9999, cluster_df="min")
    res = ek.did.TwoWayFE(cluster=("panel", "time"), bootstrap=boot).fit(panel)
    assert res.wild["post"].std_error == pytest.approx(res.std_errors["post"], rel=1e-8)
