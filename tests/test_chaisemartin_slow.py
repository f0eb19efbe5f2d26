"""Monte-Carlo coverage of ChaisemartinDHaultfoeuille on a design with known dynamic effects.

Staggered joiners (first treated in periods 3-8 of 10, 1-based) and 30% never-treated
groups, fixed across replications; the effect of having been treated for k periods is
1 + 0.5 (k - 1), so DID_l = 1 + 0.5 (l - 1) exactly, the placebos are 0 and the average
total effect is sum_l N_l DID_l / sum_l N_l. Errors are AR(1) (rho = 0.6) within
groups, so the standard errors must handle serial correlation. 200 replications: the
Monte-Carlo SE of a 95% coverage is 1.5 points, so each coverage must lie in
[0.90, 0.99] (the variance is the packages' conservative one, so over-coverage is
allowed up to 0.99).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import effekt as ek

N, T, REPS = 200, 10, 200


@pytest.mark.slow
def test_coverage_of_effects_placebos_and_total_effect():
    design = np.random.default_rng(11)
    first = np.where(design.random(N) < 0.3, 99, design.integers(3, 9, N))  # 1-based
    tt = np.arange(1, T + 1)
    k = tt[None, :] - first[:, None] + 1
    d = (k >= 1).astype(int)
    tau = np.where(k >= 1, 1.0 + 0.5 * (k - 1), 0.0)
    truth_l = np.array([1.0, 1.5, 2.0])
    n_l = np.array([((first < 99) & (first - 1 + h <= T)).sum() for h in (1, 2, 3)])
    truth = np.r_[0.0, 0.0, truth_l, (n_l * truth_l).sum() / n_l.sum()]  # placebo 2, 1, ...
    rng = np.random.default_rng(12)
    est = ek.did.ChaisemartinDHaultfoeuille(effects=3, placebo=2)
    hits, estimates = [], []
    for _ in range(REPS):
        e = np.zeros((N, T))
        e[:, 0] = rng.normal(size=N)
        for t in range(1, T):
            e[:, t] = 0.6 * e[:, t - 1] + rng.normal(size=N)
        y = rng.normal(size=N)[:, None] + 0.2 * tt + tau + e
        frame = pd.DataFrame(
            {"u": np.repeat(np.arange(N), T), "t": np.tile(tt, N), "y": y.ravel(), "d": d.ravel()}
        )
        panel = ek.Panel.from_frame(frame, unit="u", time="t", outcome="y", treatment="d")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ek.EffektWarning)
            table = est.fit(panel).to_frame()
        hits.append(((table["ci_lower"] <= truth) & (truth <= table["ci_upper"])).to_numpy())
        estimates.append(table["estimate"].to_numpy())
    coverage = np.mean(hits, axis=0)
    bias = np.mean(estimates, axis=0) - truth
    sd = np.std(estimates, axis=0)
    assert ((coverage >= 0.90) & (coverage <= 0.99)).all(), coverage
    assert (np.abs(bias) < 4 * sd / np.sqrt(REPS)).all(), (bias, sd)
