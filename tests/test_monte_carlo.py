"""Monte-Carlo runner: known answers within MC error, reproducibility, bad input."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from joblib import parallel_config
from scipy import special, stats

import effekt as ek
from effekt.simulate import MonteCarloResult, monte_carlo

matplotlib.use("Agg")

N, MU, SIGMA = 20, 1.0, 2.0
T_CRIT = stats.t.ppf(0.975, N - 1)


def mean_of_normals(rng):
    """Sample mean of N(1, 2^2) draws with the exact t interval and the t-test of mu = 0."""
    x = rng.normal(MU, SIGMA, size=N)
    se = x.std(ddof=1) / np.sqrt(N)
    return {
        "estimate": x.mean(),
        "std_error": se,
        "ci_lower": x.mean() - T_CRIT * se,
        "ci_upper": x.mean() + T_CRIT * se,
        "ci_level": 0.95,
        "p_value": 2 * stats.t.sf(abs(x.mean() / se), N - 1),
        "truth": MU,
    }


@pytest.fixture(scope="module")
def study():
    return monte_carlo(mean_of_normals, n_reps=2000, seed=11, progress=False)


def test_known_answers_within_monte_carlo_error(study):
    row = study.performance.iloc[0]
    assert row["n_reps"] == 2000
    # analytic values: unbiased; RMSE = sigma / sqrt(n); the t interval covers exactly 95%;
    # E[width] = 2 t_{.975,19} sigma c4(n) / sqrt(n) with c4 = E[s] / sigma; the power of
    # the t-test of mu = 0 is a noncentral-t tail with ncp = mu sqrt(n) / sigma
    c4 = np.sqrt(2 / (N - 1)) * np.exp(special.gammaln(N / 2) - special.gammaln((N - 1) / 2))
    ncp = MU * np.sqrt(N) / SIGMA
    power = stats.nct.sf(T_CRIT, N - 1, ncp) + stats.nct.cdf(-T_CRIT, N - 1, ncp)
    expected = {
        "bias": 0.0,
        "rmse": SIGMA / np.sqrt(N),
        "emp_se": SIGMA / np.sqrt(N),
        "coverage": 0.95,
        "ci_width": 2 * T_CRIT * SIGMA * c4 / np.sqrt(N),
        "rejection_rate": power,
    }
    for metric, value in expected.items():
        assert abs(row[metric] - value) < 4 * row[f"{metric}_mcse"], metric
    # MCSE formulas (Morris et al. 2019): sd/sqrt(n) for the bias, binomial for coverage
    assert row["bias_mcse"] == pytest.approx(SIGMA / np.sqrt(N) / np.sqrt(2000), rel=0.05)
    assert row["coverage_mcse"] == pytest.approx(np.sqrt(0.95 * 0.05 / 2000), rel=0.05)
    assert row["mean_std_error"] == pytest.approx(SIGMA * c4 / np.sqrt(N), rel=0.02)


@pytest.mark.parametrize(
    "backend",
    # threads keep the default suite fast; the process backend pickles the design
    ["threading", pytest.param("loky", marks=pytest.mark.slow)],
)
def test_same_numbers_for_any_n_jobs(backend):
    one = monte_carlo(mean_of_normals, n_reps=600, seed=3, n_jobs=1, progress=False)
    with parallel_config(backend=backend):
        two = monte_carlo(mean_of_normals, n_reps=600, seed=3, n_jobs=2, progress=False)
    pd.testing.assert_frame_equal(one.draws, two.draws)
    pd.testing.assert_frame_equal(one.to_frame(), two.to_frame())
    other = monte_carlo(mean_of_normals, n_reps=600, seed=4, progress=False)
    assert not np.array_equal(one.draws["estimate"], other.draws["estimate"])


def _world(rng):
    """Two groups; the truth is the realised difference in means of the potential outcomes."""
    n = 50
    y0 = rng.normal(size=n)
    tau = 0.5 + rng.normal(scale=0.1, size=n)
    treated = rng.permutation(np.repeat([0, 1], n // 2)).astype(bool)
    y = np.where(treated, y0 + tau, y0)
    frame = pd.DataFrame({"y": y, "d": treated})
    return frame, pd.DataFrame({"term": ["diff"], "truth": [tau.mean()]})


def _difference(frame):
    a, b = frame.loc[frame["d"], "y"], frame.loc[~frame["d"], "y"]
    se = np.sqrt(a.var() / len(a) + b.var() / len(b))
    est = a.mean() - b.mean()
    return pd.DataFrame(
        {"term": ["diff", "placebo"], "estimate": [est, 0.0], "std_error": [se, 1.0]}
    )


def test_world_estimator_pair_and_truth_frames():
    mc = monte_carlo((_world, _difference), n_reps=200, seed=5, progress=False)
    perf = mc.performance.set_index("term")
    assert perf.loc["diff", "n_reps"] == 200
    # randomised assignment: the difference in means is unbiased for the realised effect
    assert abs(perf.loc["diff", "bias"]) < 4 * perf.loc["diff", "bias_mcse"]
    # the placebo row has no truth in the truth frame
    assert np.isnan(perf.loc["placebo", "bias"])
    frame = mc.to_frame()
    assert list(frame.columns[:7]) == ["term", *ek.results.VALUE_COLUMNS]
    assert frame["p_value"].isna().all()


def test_effekt_estimator_on_simulated_panels(mpdta):
    """A TwoWayFE result works as the estimates (its to_frame is read)."""

    def world(rng):
        df = mpdta.sample(frac=1.0, replace=False, random_state=int(rng.integers(2**31)))
        df = df.assign(lemp=df["lemp"] + rng.normal(scale=0.01, size=len(df)))
        panel = ek.Panel.from_frame(
            df, unit="countyreal", time="year", outcome="lemp", cohort="first.treat",
            never_treated=0,
        )  # fmt: skip
        return panel, -0.0365

    mc = monte_carlo((world, ek.did.TwoWayFE().fit), n_reps=2, seed=1, progress=False)
    assert mc.performance["term"].tolist() == ["treated"]
    assert mc.performance.loc[0, "coverage"] == 1.0


def test_failures_are_recorded_or_raised():
    def flaky(rng):
        if rng.random() < 0.3:
            raise ek.IdentificationError("no variation in this draw")
        return {"estimate": rng.normal(), "truth": 0.0}

    with pytest.raises(ek.IdentificationError, match="no variation"):
        monte_carlo(flaky, n_reps=50, seed=1, progress=False)
    with pytest.warns(ek.SamplingWarning, match=r"of 50 replications raised an error"):
        mc = monte_carlo(flaky, n_reps=50, seed=1, errors="record", progress=False)
    assert 0 < len(mc.failures) < 50
    assert mc.performance.loc[0, "n_reps"] == 50 - len(mc.failures)
    assert mc.failures["error"].str.startswith("IdentificationError").all()


def test_result_protocol(study):
    assert isinstance(study, MonteCarloResult)
    text = study.summary().as_text()
    assert "Monte-Carlo simulation study" in text and "2000 (0 failed)" in text
    assert "<table>" in study._repr_html_()
    ax = study.plot(metric="coverage")
    assert ax.get_ylabel() == "Coverage"
    assert ax.lines[-1].get_ydata()[0] == pytest.approx(0.95)  # nominal line
    with pytest.raises(AttributeError, match="immutable"):
        study.n_reps = 3


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_reps": 1}, ek.ParameterError, "'n_reps' parameter of monte_carlo"),
        ({"alpha": 1.5}, ek.ParameterError, "'alpha' parameter of monte_carlo"),
        ({"errors": "skip"}, ek.ParameterError, "'errors' parameter of monte_carlo"),
        ({"n_jobs": 0}, ek.ParameterError, "'n_jobs' parameter"),
        ({"seed": -2}, ek.ParameterError, "'seed' parameter"),
        ({"design": 3}, ek.ParameterError, "'design' parameter of monte_carlo"),
        ({"design": (len,)}, ek.ParameterError, "pair \\(world, estimator\\)"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    args = {"design": mean_of_normals, "n_reps": 10, "seed": 1, "progress": False, **kwargs}
    with pytest.raises(error, match=message):
        monte_carlo(**args)


@pytest.mark.parametrize(
    ("design", "message"),
    [
        (lambda rng: 3.0, "must return an effekt result, a DataFrame or a mapping"),
        (lambda rng: {"truth": 1.0}, "no 'estimate' column"),
        (lambda rng: {"estimate": 1.0}, "returned no truth"),
        (lambda rng: ({"estimate": 1.0}, "one"), "truth must be a number or a DataFrame"),
        (lambda rng: (1, 2, 3), "tuple of 3 items"),
        (
            lambda rng: pd.DataFrame({"label": ["a"], "estimate": [1.0], "truth": [0.0]}),
            r"columns \['label'\] that are neither values nor effect_table key",
        ),
        (
            lambda rng: ({"estimate": 1.0}, pd.DataFrame({"term": ["a"], "value": [1.0]})),
            "A truth frame needs a 'truth' column",
        ),
        ((lambda rng: 1.0, lambda data: data), "must return a pair \\(data, truth\\)"),
    ],
)
def test_bad_design_output(design, message):
    with pytest.raises(ek.DataError, match=message):
        monte_carlo(design, n_reps=2, seed=1, errors="record", progress=False)


def test_every_replication_failing_is_an_error():
    def broken(rng):
        raise ek.IdentificationError("always")

    with pytest.raises(ek.DataError, match="Every one of the 4 replications failed"):
        monte_carlo(broken, n_reps=4, seed=1, errors="record", progress=False)
