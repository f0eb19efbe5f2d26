"""TwoWayFE and the wild cluster bootstrap against pyfixest 0.60.0 and wildboottest 0.3.2.

Reference values: tests/reference/did/twfe_mpdta.json and wild_bootstrap_mpdta.json, made by
tests/reference/did/generate_twfe.py and generate_wild_bootstrap.py (peer versions in
tests/reference/did/requirements.txt; README there). Tolerances: coefficients rtol 1e-10,
standard errors rtol 1e-8 (same small-sample convention), p-values of the exact (fully
enumerated) bootstrap equal to 1e-12, Monte-Carlo p-values within 4 binomial SDs.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import effekt as ek

REF = Path(__file__).parent / "reference" / "did"
TWFE = json.loads((REF / "twfe_mpdta.json").read_text())
WILD = json.loads((REF / "wild_bootstrap_mpdta.json").read_text())
CLUSTERS = {"county": lambda c: c, "state": lambda c: c // 1000, "region11": lambda c: c // 5000}


def _panel(mpdta, clustering="county"):
    df = mpdta.assign(k=CLUSTERS[clustering](mpdta["countyreal"]))
    return ek.Panel.from_frame(
        df,
        unit="countyreal",
        time="year",
        outcome="lemp",
        cohort="first.treat",
        never_treated=0,
        cluster="k",
    )


def _fit(panel, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.AssumptionWarning)
        return ek.did.TwoWayFE(**kw).fit(panel).to_frame()


@pytest.mark.parametrize(
    ("clustering", "key"), [("county", "pyfixest_crv1_county"), ("state", "pyfixest_crv1_state")]
)
def test_static_one_way(mpdta, clustering, key):
    ref = TWFE["static"][key]
    row = _fit(_panel(mpdta, clustering)).iloc[0]
    assert row["estimate"] == pytest.approx(ref["coef"], rel=1e-10)
    assert row["std_error"] == pytest.approx(ref["se"], rel=1e-8)
    assert row["p_value"] == pytest.approx(ref["p"], rel=1e-6)
    assert [row["ci_lower"], row["ci_upper"]] == pytest.approx(ref["ci95"], rel=1e-7)


def test_static_two_way(mpdta_panel):
    ref = TWFE["static"]["pyfixest_crv1_county_and_year"]
    row = _fit(mpdta_panel, cluster=("unit", "time")).iloc[0]
    assert row["std_error"] == pytest.approx(ref["se"], rel=1e-8)
    assert row["p_value"] == pytest.approx(ref["p"], rel=1e-6)  # t with Gmin - 1 = 4 df


def test_event_study(mpdta_panel):
    ref = TWFE["event_study"]["coefficients"]
    table = _fit(mpdta_panel, event_study=True).set_index("event_time")
    for c in ref:
        row = table.loc[c["event_time"]]
        assert row["estimate"] == pytest.approx(c["coef"], rel=1e-9)
        assert row["std_error"] == pytest.approx(c["se"], rel=1e-8)
        assert row["p_value"] == pytest.approx(c["p"], rel=1e-5)


def _run(cluster, weights, seed):
    return next(
        r
        for r in WILD["runs"]
        if (r["cluster"], r["weights"], r["seed"]) == (cluster, weights, seed)
    )


def test_wild_full_enumeration_is_exact(mpdta):
    """G = 11 clusters, Rademacher: all 2^11 sign patterns, so the p-value is exact."""
    ref = _run("region11", "rademacher", 12345)
    assert ref["full_enumeration"] and ref["B_used"] == 2048
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.AssumptionWarning)
        fit = ek.did.TwoWayFE().fit(_panel(mpdta, "region11"))
    test = fit.wild_test("treated", bootstrap=ek.did.WildClusterBootstrap(reps=9999), ci=False)
    assert test.enumerated and test.reps == 2048
    assert test.p_value == pytest.approx(ref["p_value"], abs=1e-12)


@pytest.mark.parametrize(
    ("cluster", "weights"), [("state", "rademacher"), ("state", "webb"), ("region11", "webb")]
)
def test_wild_monte_carlo_agrees(mpdta, cluster, weights):
    spread = next(
        s for s in WILD["monte_carlo_spread"] if (s["cluster"], s["weights"]) == (cluster, weights)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.AssumptionWarning)
        fit = ek.did.TwoWayFE().fit(_panel(mpdta, cluster))
    test = fit.wild_test(
        "treated",
        ci=False,
        bootstrap=ek.did.WildClusterBootstrap(reps=9999, weights=weights, seed=20261121),
    )
    # two independent Monte-Carlo estimates of the same p-value: difference SD is about
    # sqrt(2) binomial SDs; allow 4 of those around the peer's mean over seeds
    tolerance = 4 * np.sqrt(2) * spread["binomial_mc_sd_at_mean"]
    assert abs(test.p_value - spread["p_mean"]) < tolerance


@pytest.mark.slow
def test_wild_county_clusters(mpdta_panel):
    spread = next(
        s
        for s in WILD["monte_carlo_spread"]
        if (s["cluster"], s["weights"]) == ("county", "rademacher")
    )
    fit = ek.did.TwoWayFE().fit(mpdta_panel)
    test = fit.wild_test(
        "treated", ci=False, bootstrap=ek.did.WildClusterBootstrap(reps=9999, seed=7)
    )
    assert abs(test.p_value - spread["p_mean"]) < 4 * np.sqrt(2) * spread["binomial_mc_sd_at_mean"]
