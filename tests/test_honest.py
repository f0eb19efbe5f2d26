"""honest_did against HonestDiD's published example, closed forms and properties.

External checks: the Medicaid-expansion example printed in the R HonestDiD README and
the Stata port's README (see tests/reference/did_extra/README.md). The event study is
refitted here with effekt's TwoWayFE from the same public data; its coefficients match
fixest's (pyfixest, stored in the JSON) to 1e-10.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from scipy import stats

import effekt as ek

REF = Path(__file__).parent / "reference" / "did_extra"


@pytest.fixture(scope="module")
def published() -> dict:
    return json.loads((REF / "honest_ehec.json").read_text())


@pytest.fixture(scope="module")
def ehec_es():
    df = pd.read_csv(REF / "ehec_data.csv")
    d = df[(df["year"] < 2016) & (df["yexp2"].isna() | (df["yexp2"] != 2015))]
    panel = ek.Panel.from_frame(
        d.assign(g=np.where(d["yexp2"] == 2014, 2014, 0)).drop(columns="yexp2"),
        unit="stfips",
        time="year",
        outcome="dins",
        cohort="g",
        never_treated=0,
    )
    # D = 1{yexp2 == 2014}: later adopters (2016-2019) are controls, as in the README
    return ek.did.TwoWayFE(event_study=True).fit(panel)


def test_event_study_input_matches_fixest(ehec_es, published):
    est, _ = ehec_es.event_study_coefficients()
    assert est.index.tolist() == published["event_times"]
    np.testing.assert_allclose(est.to_numpy(), published["betahat"], rtol=1e-8)


def test_relative_magnitudes_match_r_readme(ehec_es, published):
    # R's C-LF inverts the test on a 1,000-point grid of +-20 sd (step 3.7e-4 here) and
    # prints 3-4 significant digits; effekt refines the end points, so agreement is
    # within one grid step plus rounding: 4e-4.
    # R's call: numPostPeriods = 2, l_vec = basisVector(1, 2), i.e. both post periods
    # kept, which is effekt's default (post_periods="all")
    res = ek.did.honest_did(ehec_es, method="relative_magnitude", Mbar=[0.5, 1, 1.5, 2])
    assert res.provenance.params["post_periods"] == "all"
    ref = published["published"]["rm_first_post_r"]
    for mbar, lo, hi in zip(res.values, res.lower, res.upper, strict=True):
        want = ref[f"{mbar:.1f}"]
        assert lo == pytest.approx(want[0], abs=4e-4)
        assert hi == pytest.approx(want[1], abs=4e-4)
    stata = published["published"]["original_first_post_stata"]
    assert res.original[0] == pytest.approx(stata[0], abs=6e-4)
    assert res.original[1] == pytest.approx(stata[1], abs=6e-4)


def test_smoothness_flci_matches_r_readme(ehec_es, published):
    # R's FLCI searches a grid of standard deviations with simulated folded-normal
    # quantiles; printed with 3 significant digits: within 1e-4, or rounding (5e-4) plus
    # 1e-4 for the upper bounds above 0.1, printed with 3 decimals.
    ms = [0.0, 0.01, 0.02, 0.03, 0.04, 0.05]
    res = ek.did.honest_did(ehec_es, method="smoothness", M=ms)
    ref = published["published"]["sd_first_post_r"]
    for m, lo, hi in zip(ms, res.lower, res.upper, strict=True):
        want = ref[f"{m:.2f}"]
        assert lo == pytest.approx(want[0], abs=1e-4)
        assert hi == pytest.approx(want[1], abs=6e-4 if abs(want[1]) >= 0.1 else 1e-4)


@pytest.mark.slow
def test_average_effect_relative_magnitudes_match_stata_readme(ehec_es, published):
    # Stata prints 3 decimals (rounding 5e-4) after a 1,000-point grid search (3.6e-4)
    res = ek.did.honest_did(ehec_es, Mbar=[0.0, 0.5, 1.0, 1.5, 2.0], e="average")
    ref = published["published"]["rm_average_post_stata"]
    for mbar, lo, hi in zip(res.values, res.lower, res.upper, strict=True):
        want = ref[f"{mbar:.1f}"]
        assert lo == pytest.approx(want[0], abs=1e-3)
        assert hi == pytest.approx(want[1], abs=1e-3)


@pytest.mark.slow
def test_breakdown_values_match_readme_statements(ehec_es):
    # READMEs: significant up to Mbar ~ 2 (RM) and M ~ 0.03 (SD); bracket from the sets
    rm = ek.did.honest_did(ehec_es, Mbar=[1.5, 2.0])
    b = rm.breakdown(tol=1e-3)
    assert 1.5 < b < 2.0
    sd = ek.did.honest_did(ehec_es, method="smoothness", M=[0.02, 0.03])
    b = sd.breakdown(tol=1e-5)
    assert 0.02 < b < 0.03
    lo, _ = sd._problem.interval(b)
    assert lo == pytest.approx(0.0, abs=2e-4)


def test_post_periods_all_is_default_and_through_e_drops_later_periods(ehec_es):
    est, cov = ehec_es.event_study_coefficients()
    default = ek.did.honest_did(ehec_es, Mbar=[0.5, 2.0])
    kept = ek.did.honest_did(ehec_es, Mbar=[0.5, 2.0], post_periods="all")
    np.testing.assert_array_equal(default.lower, kept.lower)
    np.testing.assert_array_equal(default.upper, kept.upper)
    # the truncated variant is the analysis of the event study without event time 1
    cut = ek.did.honest_did(ehec_es, Mbar=[0.5, 2.0], post_periods="through_e")
    short = _stub(
        est.drop(1).to_numpy(), cov.drop(index=1, columns=1).to_numpy(), [-6, -5, -4, -3, -2, 0]
    )
    alone = ek.did.honest_did(short, Mbar=[0.5, 2.0])
    np.testing.assert_allclose(cut.lower, alone.lower, rtol=1e-12)
    np.testing.assert_allclose(cut.upper, alone.upper, rtol=1e-12)
    # keeping event time 1 changes the RM test (more moments, one nuisance effect) ...
    assert np.max(np.abs(kept.upper - cut.upper)) > 1e-5
    # ... but not the FLCI: later periods restrict no second difference through delta_0
    ms = [0.0, 0.02]
    sd_all = ek.did.honest_did(ehec_es, method="smoothness", M=ms)
    sd_cut = ek.did.honest_did(ehec_es, method="smoothness", M=ms, post_periods="through_e")
    np.testing.assert_allclose(sd_all.lower, sd_cut.lower, atol=1e-9)
    np.testing.assert_allclose(sd_all.upper, sd_cut.upper, atol=1e-9)
    # for the last post period the two conventions coincide
    last_all = ek.did.honest_did(ehec_es, Mbar=1.0, e=1)
    last_cut = ek.did.honest_did(ehec_es, Mbar=1.0, e=1, post_periods="through_e")
    np.testing.assert_array_equal(last_all.lower, last_cut.lower)
    np.testing.assert_array_equal(last_all.upper, last_cut.upper)


def _stub(beta: np.ndarray, sigma: np.ndarray, times: list[int]):
    class Stub:
        outcome = "y"
        ledger = ek.panel.Ledger.empty()

        def event_study_coefficients(self):
            idx = pd.Index(times, name="event_time")
            return pd.Series(beta, index=idx), pd.DataFrame(sigma, index=idx, columns=idx)

    return Stub()


def test_flci_with_m_zero_and_one_pre_period_is_linear_extrapolation():
    # Delta^SD(0) with one pre-period: delta is linear through delta_0 = 0, so
    # delta_(e=0) = -delta_(e=-2); theta = beta_0 + beta_-2 with its Wald interval
    beta = np.array([0.3, 1.0])
    sigma = np.array([[0.04, 0.01], [0.01, 0.09]])
    res = ek.did.honest_did(_stub(beta, sigma, [-2, 0]), method="smoothness", M=0.0)
    center = 1.3
    se = np.sqrt(0.04 + 0.09 + 2 * 0.01)
    z = stats.norm.ppf(0.975)
    assert res.lower[0] == pytest.approx(center - z * se, rel=1e-10)
    assert res.upper[0] == pytest.approx(center + z * se, rel=1e-10)


def test_flci_and_breakdown_with_one_pre_period_have_a_closed_form():
    # one pre-period: the weights are fixed (v = (1, 1)), the only second difference is
    # delta_1 + delta_-1, so the worst-case bias is exactly M and the FLCI is
    # theta +- se * cv(M / se), cv(b) the 95% quantile of |N(b, 1)|
    beta = np.array([0.3, 1.0])
    sigma = np.array([[0.04, 0.01], [0.01, 0.09]])
    theta, se = 1.3, np.sqrt(0.15)
    res = ek.did.honest_did(_stub(beta, sigma, [-2, 0]), method="smoothness", M=[0.2, 1.0])
    for m, lo, hi in zip(res.values, res.lower, res.upper, strict=True):
        half = se * stats.foldnorm.ppf(0.95, m / se)
        assert lo == pytest.approx(theta - half, rel=1e-8)
        assert hi == pytest.approx(theta + half, rel=1e-8)
    # breakdown: the M at which theta - se * cv(M / se) = 0
    from scipy.optimize import brentq

    want = brentq(lambda m: theta - se * stats.foldnorm.ppf(0.95, m / se), 0.0, 10.0, xtol=1e-12)
    assert res.breakdown(tol=1e-7) == pytest.approx(want, abs=1e-6)


def test_flci_with_m_zero_is_the_best_linear_extrapolation():
    # several pre-periods: the M = 0 FLCI is the minimum-variance unbiased combination
    # under linear trends, found here by brute force over the free pre-period weights
    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 5))
    sigma = a @ a.T / 10 + np.eye(5) * 0.05
    beta = rng.normal(size=5)
    res = ek.did.honest_did(_stub(beta, sigma, [-4, -3, -2, 0, 1]), method="smoothness", M=0.0)
    # target e = 0 (position 1): v_pre . (-3, -2, -1) = -1 ; minimise v' Sigma v
    from scipy.optimize import minimize

    s3 = sigma[:4, :4]

    def var(u):
        v = np.array([u[0], u[1], (1 - 3 * u[0] - 2 * u[1]), 1.0])  # -3a -2b -c = -1
        return v @ s3 @ v

    best = minimize(var, np.zeros(2), tol=1e-14).x
    v = np.array([best[0], best[1], 1 - 3 * best[0] - 2 * best[1], 1.0])
    z = stats.norm.ppf(0.975)
    center, half = v @ beta[:4], z * np.sqrt(v @ s3 @ v)
    assert res.lower[0] == pytest.approx(center - half, abs=1e-7)
    assert res.upper[0] == pytest.approx(center + half, abs=1e-7)


def test_rm_with_mbar_zero_and_one_pre_period_is_the_wald_interval():
    # Delta^RM(0): the post difference must be zero, so theta = beta_0 exactly; with a
    # single moment pair the conditional-LF test inverts to beta_0 +- z se (derivation in
    # tests/reference/did_extra/README.md), up to the simulated LF critical value
    beta = np.array([0.2, 1.0])
    sigma = np.array([[0.04, 0.01], [0.01, 0.09]])
    res = ek.did.honest_did(_stub(beta, sigma, [-2, 0]), Mbar=0.0)
    z = stats.norm.ppf(0.975)
    assert res.lower[0] == pytest.approx(1.0 - z * 0.3, abs=0.02 * 0.3)
    assert res.upper[0] == pytest.approx(1.0 + z * 0.3, abs=0.02 * 0.3)


def test_sets_widen_with_the_bound(ehec_es):
    res = ek.did.honest_did(ehec_es, Mbar=[0.0, 0.5, 1.0, 3.0])
    assert np.all(np.diff(res.lower) < 0) and np.all(np.diff(res.upper) > 0)
    sd = ek.did.honest_did(ehec_es, method="smoothness", M=[0.0, 0.02, 0.2])
    assert np.all(np.diff(sd.lower) < 0) and np.all(np.diff(sd.upper) > 0)
    # large M: half-length grows linearly, slope = the FLCI's worst-case bias per unit M
    assert sd.upper[2] - sd.lower[2] > 5 * (sd.upper[1] - sd.lower[1])


def test_works_with_each_event_study_estimator():
    df = ek.datasets.load_dataset("mpdta")
    panel = ek.Panel.from_frame(
        df, unit="countyreal", time="year", outcome="lemp", cohort="first.treat", never_treated=0
    )
    sa = ek.did.SunAbraham().fit(panel)
    res = ek.did.honest_did(sa, method="smoothness", M=[0.0, 0.01], e=1)
    table = res.to_frame()
    ek.validate(table, "effect_table")
    est, _ = sa.event_study_coefficients()
    assert (table["estimate"] == est.loc[1]).all()
    assert table["ci_method"].tolist() == ["original", "FLCI", "FLCI"]
    assert table["source"].iloc[0] == "SunAbraham"
    imp = ek.did.Imputation(leads=2).fit(panel)
    with pytest.warns(ek.AssumptionWarning, match="include event time -1"):
        out = ek.did.honest_did(imp, Mbar=1.0)
    assert np.isfinite(out.lower[0]) and out.lower[0] <= out.estimate <= out.upper[0]
    cs = ek.did.CallawaySantAnna(base_period="universal").fit(panel)
    out = ek.did.honest_did(cs, Mbar=0.5)
    assert out.lower[0] < out.upper[0]


def test_same_seed_same_sets_and_protocol(ehec_es):
    a = ek.did.honest_did(ehec_es, Mbar=[1.0], seed=3)
    b = ek.did.honest_did(ehec_es, Mbar=[1.0], seed=3)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert a.provenance.seed == 3
    assert "Original interval" in a.summary().as_text()
    ax = a.plot()
    assert isinstance(ax, Axes) and ax.get_title()
    with pytest.raises(AttributeError, match="immutable"):
        a.values = None


def test_errors(ehec_es):
    df = ek.datasets.load_dataset("mpdta")
    panel = ek.Panel.from_frame(
        df, unit="countyreal", time="year", outcome="lemp", cohort="first.treat", never_treated=0
    )
    with pytest.raises(ek.IdentificationError, match="has no event_study_coefficients"):
        ek.did.honest_did(ek.did.bacon_decomposition(panel))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.AssumptionWarning)
        static = ek.did.TwoWayFE().fit(panel)
    with pytest.raises(ek.IdentificationError, match="needs an event study"):
        ek.did.honest_did(static)
    with pytest.raises(ek.IdentificationError, match="at least one pre-period"):
        ek.did.honest_did(ek.did.Imputation().fit(panel))
    with pytest.raises(ek.ParameterError, match="'Mbar' parameter of honest_did"):
        ek.did.honest_did(ehec_es, Mbar=-0.5)
    with pytest.raises(ek.ParameterError, match="'M' parameter of honest_did"):
        ek.did.honest_did(ehec_es, method="smoothness", M=[0.1, np.inf])
    with pytest.raises(ek.ParameterError, match="takes Mbar, not M"):
        ek.did.honest_did(ehec_es, M=0.1)
    with pytest.raises(ek.ParameterError, match="takes M, not Mbar"):
        ek.did.honest_did(ehec_es, method="smoothness", Mbar=1.0)
    with pytest.raises(ek.ParameterError, match="'method' parameter of honest_did"):
        ek.did.honest_did(ehec_es, method="sd")
    with pytest.raises(ek.ParameterError, match="'post_periods' parameter of honest_did"):
        ek.did.honest_did(ehec_es, post_periods="truncated")
    with pytest.raises(ek.ParameterError, match="'e' parameter of honest_did"):
        ek.did.honest_did(ehec_es, e=5)
    gap = _stub(np.ones(3), np.eye(3), [-3, 0, 1])
    with pytest.raises(ek.IdentificationError, match="consecutive pre-period event times"):
        ek.did.honest_did(gap)
    one_pre = _stub(np.ones(2), np.eye(2), [-2, 0])
    with pytest.raises(ek.IdentificationError, match="pass M=... explicitly"):
        ek.did.honest_did(one_pre, method="smoothness")
