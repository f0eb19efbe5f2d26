"""effekt.power.pretrends against the published He & Wang (2017) example of the R package
``pretrends`` (and its Stata port), stored with provenance in tests/reference/pretrends/.

Tolerances: both packages integrate the rectangle probability by quasi-Monte Carlo
(mvtnorm's pmvnorm, absolute error ~1e-3), and their two published 50 %-power slopes
differ by 6e-4 relative, so slopes are compared to 2e-3 relative and powers and Bayes
factors to 2e-3 absolute. The likelihood ratio involves no integral: 1e-5 relative.
The 80 % slope is printed in neither README; it is checked against its definition by
plain Monte Carlo (400,000 normal draws, fixed seed; MC s.e. of the rejection rate 6e-4,
tolerance 3e-3).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from scipy import optimize, stats

import effekt as ek
from effekt.results import VALUE_COLUMNS

REF = json.loads(
    (Path(__file__).parent / "reference" / "pretrends" / "he_wang.json").read_text("utf-8")
)
BETA, SIGMA, TIMES = np.array(REF["beta"]), np.array(REF["sigma"]), np.array(REF["event_times"])
R, STATA = REF["published_r"], REF["published_stata"]


@pytest.fixture(scope="module")
def linear():
    return ek.power.pretrends(
        beta=BETA, sigma=SIGMA, event_times=TIMES, slope=R["slope_for_power_0.5"]
    )


def test_slope_for_50_percent_power_matches_both_packages(linear):
    assert linear.slopes[0.5] == pytest.approx(R["slope_for_power_0.5"], rel=2e-3)
    assert linear.slopes[0.5] == pytest.approx(STATA["slope_for_power_0.5"], rel=2e-3)
    alone = ek.power.slope_for_power(SIGMA, event_times=TIMES, target_power=0.5)
    assert alone == pytest.approx(linear.slopes[0.5], rel=1e-12)


def test_power_bayes_factor_and_likelihood_ratio_at_the_published_slope(linear):
    assert linear.power == pytest.approx(R["power_at_slope50"], abs=2e-3)
    assert linear.bayes_factor == pytest.approx(R["bayes_factor_at_slope50"], abs=2e-3)
    assert linear.likelihood_ratio == pytest.approx(R["likelihood_ratio_at_slope50"], rel=1e-5)
    stata = ek.power.pretrends(
        beta=BETA, sigma=SIGMA, event_times=TIMES, slope=STATA["slope_for_power_0.5"]
    )
    assert stata.power == pytest.approx(STATA["power_at_slope"], abs=2e-3)
    assert stata.bayes_factor == pytest.approx(STATA["bayes_factor_at_slope"], abs=2e-3)
    assert stata.likelihood_ratio == pytest.approx(STATA["likelihood_ratio_at_slope"], rel=1e-5)


def test_quadratic_trend_matches_the_readme():
    q = ek.power.pretrends(
        beta=BETA, sigma=SIGMA, event_times=TIMES, delta=0.024 * (TIMES + 1.0) ** 2
    )
    assert q.power == pytest.approx(R["quadratic_0.024_power"], abs=2e-3)
    assert q.bayes_factor == pytest.approx(R["quadratic_0.024_bayes_factor"], abs=2e-3)
    assert q.likelihood_ratio == pytest.approx(R["quadratic_0.024_likelihood_ratio"], rel=1e-5)


def test_slopes_have_their_power_by_plain_monte_carlo(linear):
    pre = TIMES < -1
    sp = SIGMA[np.ix_(pre, pre)]
    se = np.sqrt(np.diag(sp))
    z = np.random.default_rng(2022).multivariate_normal(np.zeros(pre.sum()), sp, 400_000)
    for target, slope in linear.slopes.items():
        draws = z + slope * (TIMES[pre] + 1.0)
        rate = np.mean(np.any(np.abs(draws) > stats.norm.ppf(0.975) * se, axis=1))
        assert rate == pytest.approx(target, abs=3e-3)
    assert linear.slopes[0.8] > linear.slopes[0.5]


def test_one_pre_period_has_the_closed_form():
    se, c = 0.1, stats.norm.ppf(0.975)

    def gap(g):
        return stats.norm.cdf(g / se - c) + stats.norm.cdf(-g / se - c) - 0.8

    exact = optimize.brentq(gap, 0, 1, xtol=1e-14)
    got = ek.power.slope_for_power(
        [[se**2, 0.0], [0.0, 0.04]], event_times=[-2, 0], target_power=0.8
    )
    assert got == pytest.approx(exact, rel=1e-8)


def test_from_an_effekt_event_study_and_protocol():
    df = ek.datasets.load_dataset("mpdta")
    panel = ek.Panel.from_frame(
        df, unit="countyreal", time="year", outcome="lemp", cohort="first.treat", never_treated=0
    )
    es = ek.did.TwoWayFE(event_study=True).fit(panel)
    est, cov = es.event_study_coefficients()
    res = ek.power.pretrends(es, slope=0.02)
    direct = ek.power.pretrends(beta=est, sigma=cov, event_times=est.index, slope=0.02)
    pd.testing.assert_series_equal(res.slopes, direct.slopes)
    assert res.outcome == "lemp"
    assert res.provenance.data_fingerprint == es.provenance.data_fingerprint
    frame = res.to_frame()
    ek.validate(frame, "effect_table")
    assert list(frame.columns[:3]) == ["outcome", "estimator", "term"]
    assert list(frame.columns[3:9]) == list(VALUE_COLUMNS)
    assert frame["term"].tolist() == ["slope_for_power"] * 2 + ["power_against_hypothesis"]
    assert "Slope for 80% power" in str(res.summary())
    assert "<table" in res._repr_html_()
    assert isinstance(res.plot(), Axes)
    again = ek.power.pretrends(es, slope=0.02)
    assert again.power == res.power  # same seed, same numbers


def test_bad_input():
    with pytest.raises(ek.ParameterError, match="needs an event-study result or 'sigma'"):
        ek.power.pretrends()
    with pytest.raises(ek.ParameterError, match="must have event-study coefficients"):
        ek.power.pretrends(object())
    with pytest.raises(ek.ParameterError, match="needs 'event_times'"):
        ek.power.slope_for_power(SIGMA, event_times=None)
    with pytest.raises(ek.ParameterError, match="one event time per row"):
        ek.power.slope_for_power(SIGMA, event_times=[-2, 0])
    with pytest.raises(ek.ParameterError, match="include the reference period -1"):
        ek.power.slope_for_power(np.eye(2) * 0.01, event_times=[-2, -1])
    with pytest.raises(ek.IdentificationError, match="at least one pre-period"):
        ek.power.slope_for_power(SIGMA, event_times=TIMES + 10)
    with pytest.raises(ek.ParameterError, match="must be symmetric"):
        ek.power.slope_for_power([[1.0, 0.5], [0.1, 1.0]], event_times=[-3, -2])
    with pytest.raises(ek.ParameterError, match="positive definite"):
        ek.power.slope_for_power([[1.0, 1.0], [1.0, 1.0]], event_times=[-3, -2])
    with pytest.raises(ek.ParameterError, match="'target_power'.*Got 1.2"):
        ek.power.slope_for_power(SIGMA, event_times=TIMES, target_power=1.2)
    with pytest.raises(ek.ParameterError, match="'alpha'"):
        ek.power.slope_for_power(SIGMA, event_times=TIMES, alpha=0)
    with pytest.raises(ek.ParameterError, match="'powers'"):
        ek.power.pretrends(sigma=SIGMA, event_times=TIMES, powers=(0.5, 1.0))
    with pytest.raises(ek.ParameterError, match="'slope' or 'delta', not both"):
        ek.power.pretrends(sigma=SIGMA, event_times=TIMES, slope=0.1, delta=TIMES * 0.1)
    with pytest.raises(ek.ParameterError, match="'delta'.*one finite value per event time"):
        ek.power.pretrends(sigma=SIGMA, event_times=TIMES, delta=[0.1, 0.2])
    with pytest.raises(ek.ParameterError, match="'beta'"):
        ek.power.pretrends(beta=[1.0], sigma=SIGMA, event_times=TIMES)


def test_mean_after_pretesting_matches_the_readme():
    """df_eventplot's meanAfterPretesting at R's 50 % slope (R: tmvtnorm's exact truncated
    moments; here 1,000,000 Monte-Carlo draws, s.e. below 2e-4): 1e-3 absolute."""
    res = ek.power.pretrends(
        beta=BETA, sigma=SIGMA, event_times=TIMES, slope=R["slope_for_power_0.5"]
    )
    frame = res.event_plot_frame()
    assert frame["t"].tolist() == [-4, -3, -2, -1, 0, 1, 2, 3]
    np.testing.assert_allclose(frame["se"], R["df_eventplot"]["se"], atol=1e-8)
    np.testing.assert_allclose(frame["deltatrue"], R["df_eventplot"]["deltatrue"], atol=1e-8)
    np.testing.assert_allclose(
        frame["mean_after_pretest"], R["df_eventplot"]["meanAfterPretesting"], atol=1e-3
    )
