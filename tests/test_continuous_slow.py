"""Monte-Carlo coverage of ContinuousDiD's uniform band and pointwise intervals.

Two periods, 400 units (30% never treated), doses uniform on (0.5, 3), ATT(d) =
1 + 0.5 d + 0.2 d^2 (inside the cubic spline's span, so the sieve is exact) and
ACRT(d) = 0.5 + 0.4 d. 120 replications with a 199-draw multiplier bootstrap: the
uniform 95% band must cover the whole ATT(d) curve in [0.88, 0.995] of the
replications (Monte-Carlo SE 2 points), and the pointwise interval at the median
dose must cover ATT(median) likewise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import effekt as ek

N, REPS = 400, 120


@pytest.mark.slow
def test_band_coverage():
    rng = np.random.default_rng(21)
    dose = np.where(rng.random(N) < 0.3, 0.0, rng.uniform(0.5, 3.0, N))
    g = np.where(dose > 0, 2, 0)
    grid = np.quantile(dose[dose > 0], [0.1, 0.25, 0.5, 0.75, 0.9])
    truth = 1 + 0.5 * grid + 0.2 * grid**2
    effect = np.where(dose > 0, 1 + 0.5 * dose + 0.2 * dose**2, 0.0)
    uniform, pointwise = [], []
    for rep in range(REPS):
        a = rng.normal(size=N)
        y1 = a + rng.normal(size=N)
        y2 = a + 0.3 + effect + rng.normal(size=N)
        df = pd.DataFrame(
            {
                "unit": np.tile(np.arange(N), 2),
                "period": np.repeat([1, 2], N),
                "g": np.tile(g, 2),
                "dose": np.tile(dose, 2),
                "y": np.r_[y1, y2],
            }
        )
        panel = ek.Panel.from_frame(
            df,
            unit="unit",
            time="period",
            outcome="y",
            cohort="g",
            never_treated=0,
            covariates=["dose"],
        )
        boot = ek.did.MultiplierBootstrap(reps=199, seed=rep)
        band = ek.did.ContinuousDiD(dose="dose", dose_grid=grid, bootstrap=boot).fit(panel)
        rows = band.to_frame().query("term == 'ATT(d)'")
        uniform.append(bool(((rows.ci_lower <= truth) & (truth <= rows.ci_upper)).all()))
        plain = ek.did.ContinuousDiD(dose="dose", dose_grid=grid).fit(panel).to_frame()
        mid = plain.query("term == 'ATT(d)'").iloc[2]
        pointwise.append(bool(mid.ci_lower <= truth[2] <= mid.ci_upper))
    assert 0.88 <= np.mean(uniform) <= 0.995, np.mean(uniform)
    assert 0.88 <= np.mean(pointwise) <= 0.995, np.mean(pointwise)
