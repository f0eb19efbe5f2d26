"""Slow checks of CallawaySantAnna: interval coverage by Monte Carlo, and recovery of the
known effects in effekt's simulated Denmark where two-way fixed effects is biased.

Run with ``nox -s slow`` (or ``pytest -m slow tests/test_callaway_slow.py``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import effekt as ek

YEARS = np.arange(2001, 2007)
# true ATT(g, t) = (1 + e) * SIZE[g]; cohorts drawn with probability 1/4 each, else never
SIZE = {2003: 1.0, 2005: 0.5}
# cohort-share weighted means over the post-treatment cells, by hand:
# simple = (1/4 * (1+2+3+4) * 1 + 1/4 * (1+2) * 0.5) / (1/4 * 4 + 1/4 * 2) = 2.875 / 1.5
TRUE_SIMPLE = 2.875 / 1.5
TRUE_EVENT = {-3: 0.0, -2: 0.0, -1: 0.0, 0: 0.75, 1: 1.5, 2: 3.0, 3: 4.0}


def _draw(rng: np.random.Generator, n: int = 600) -> pd.DataFrame:
    """Staggered adoption; trends depend on a covariate that is independent of timing."""
    g = rng.choice([0, 2003, 2005], size=n, p=[0.5, 0.25, 0.25])
    x = rng.normal(size=n)
    u = rng.normal(size=n)  # unit heterogeneity of the effect, mean zero
    t = np.tile(YEARS, n)
    gg, xx, uu = np.repeat(g, len(YEARS)), np.repeat(x, len(YEARS)), np.repeat(u, len(YEARS))
    e = t - gg
    size = np.select([gg == 2003, gg == 2005], [SIZE[2003], SIZE[2005]], 0.0)
    tau = np.where((gg > 0) & (e >= 0), (1 + e) * size * (1 + 0.5 * uu), 0.0)
    trend = (t - 2000) * (0.2 + 0.3 * xx)
    y = np.repeat(rng.normal(size=n), len(YEARS)) + trend + tau + rng.normal(size=len(t))
    return pd.DataFrame(
        {"unit": np.repeat(np.arange(n), len(YEARS)), "year": t, "g": gg, "x": xx, "y": y}
    )


@pytest.mark.slow
def test_interval_coverage_monte_carlo():
    rng = np.random.default_rng(20240601)
    reps = 400
    hits = {"simple": 0, "e0": 0, "e1": 0, "band": 0}
    for r in range(reps):
        panel = ek.Panel.from_frame(
            _draw(rng),
            unit="unit",
            time="year",
            outcome="y",
            cohort="g",
            never_treated=0,
            covariates=["x"],
        )
        boot = ek.did.MultiplierBootstrap(reps=299, seed=r)
        with ek.set_options(progress=False):
            res = ek.did.CallawaySantAnna(bootstrap=boot).fit(panel)
            es = res.aggregate("event_time")
        simple = res.aggregate("simple").to_frame().iloc[0]
        hits["simple"] += simple["ci_lower"] <= TRUE_SIMPLE <= simple["ci_upper"]
        table = es.to_frame().iloc[1:].set_index("event_time")
        truth = np.array([TRUE_EVENT[int(e)] for e in table.index])
        hits["e0"] += table.loc[0, "ci_lower"] <= TRUE_EVENT[0] <= table.loc[0, "ci_upper"]
        hits["e1"] += table.loc[1, "ci_lower"] <= TRUE_EVENT[1] <= table.loc[1, "ci_upper"]
        lower, upper = table["band_lower"].to_numpy(), table["band_upper"].to_numpy()
        hits["band"] += bool(np.all((lower <= truth) & (truth <= upper)))
    coverage = {k: v / reps for k, v in hits.items()}
    # nominal 95%; with 400 replications the Monte-Carlo standard error is 1.1 points
    for key in ("simple", "e0", "e1"):
        assert 0.93 <= coverage[key] <= 0.97, coverage
    assert 0.92 <= coverage["band"] <= 0.98, coverage


@pytest.mark.slow
def test_recovers_simulated_truth_where_twfe_is_biased():
    from effekt import simulate

    kind, outcome = "fritidsjob", "youth_charged_per_1000"
    # a large, building, persistent effect on youth charges in staggered cohorts
    effects = {(kind, outcome): simulate.Effect(size=-20.0, buildup=4, persistence=1.0)}
    world = simulate.denmark(n_areas=150, seed=11, effects=effects)
    df = world.area_panel(kind, outcomes=[outcome])
    truth_e = world.truth.att(kind=kind, outcome=outcome).set_index("event_time")["estimate"]

    # 1. observed outcomes, never-treated comparison areas: the event-time effects where
    #    several cohorts contribute (e = 0..8) lie within sampling error of the truth
    panel = ek.Panel.from_frame(
        df,
        unit="area_id",
        time="year",
        outcome=outcome,
        cohort="first_treated",
        never_treated=0,
    )
    res = ek.did.CallawaySantAnna().fit(panel)
    es = res.aggregate("event_time", min_e=0, max_e=8).estimates.set_index("event_time")
    z = (es["estimate"] - truth_e.loc[es.index]) / es["std_error"]
    assert (z.abs() < 3).all(), z
    assert z.abs().mean() < 1.5, z

    # 2. The estimands, free of sampling noise: both estimators are linear in the
    #    outcome, so applied to the effect component (observed minus the world without
    #    the intervention) they return what they target. Among the ever-treated areas,
    #    C&S with not-yet-treated comparisons recovers every true ATT(g,t) exactly,
    #    while static TWFE, which also compares later with earlier adopters, does not.
    cf = world.counterfactual(kind)[["area_id", "year", outcome]]
    both = df.merge(cf, on=["area_id", "year"], suffixes=("", "_cf"))
    both["effect"] = both[outcome] - both[f"{outcome}_cf"]
    ever = ek.Panel.from_frame(
        both[both["first_treated"] > 0],
        unit="area_id",
        time="year",
        outcome="effect",
        cohort="first_treated",
        never_treated=0,
    )
    with pytest.warns(ek.DroppedRowsWarning, match="the last cohort 2020 serves only as"):
        cs = ek.did.CallawaySantAnna(control_group="not_yet_treated").fit(ever).att_gt
    gt = world.truth.att(kind=kind, outcome=outcome, by="group_time")
    merged = cs.merge(gt, on=["cohort", "time"], suffixes=("", "_true"), validate="1:1")
    assert len(merged) == len(cs) > 20
    np.testing.assert_allclose(merged["estimate"], merged["estimate_true"], atol=1e-8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.AssumptionWarning)
        twfe = ek.did.TwoWayFE(cluster="unit").fit(ever).to_frame()["estimate"].iloc[0]
    true_overall = world.truth.att(kind=kind, outcome=outcome, by="overall")["estimate"].iloc[0]
    assert abs(twfe - true_overall) > 0.25 * abs(true_overall), (twfe, true_overall)
