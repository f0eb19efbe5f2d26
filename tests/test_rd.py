"""effekt.rd.SharpRD and ListThreshold: rdrobust's numbers, recovery, diagnostics, bad input.

Reference: rdrobust 2.1.1 (the reference implementation, installed with the ``rd``
extra), called directly on the same data. Data: the U.S. Senate elections data
shipped with rdrobust (``rdrobust_RDsenate``: Cattaneo, Frandsen & Titiunik 2015,
Journal of Causal Inference 3(1), doi:10.1515/jci-2013-0010; running variable the
Democratic margin, outcome the vote share at the next election). Tolerance: relative
1e-10 on every number rdrobust reports (estimates, standard errors, interval ends,
p-values, bandwidths) and equality of the effective sample sizes; the tiny
differences come only from the row order effekt imposes for reproducibility.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

import effekt as ek
from effekt.rd import ListThreshold, SharpRD, list_running_variable
from effekt.simulate.listing import list_threshold_data

rdrobust = pytest.importorskip("rdrobust")

RTOL = 1e-10
ATOL = 1e-12  # p-values of order 1e-7 are compared absolutely at this level


@pytest.fixture(scope="module")
def senate() -> pd.DataFrame:
    return rdrobust.rdrobust_RDsenate()


def _fit(est, frame, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.DroppedRowsWarning)  # 93 races without a next vote
        return est.fit(frame, *args)


def _assert_same(result, direct):
    table = result.to_frame()
    np.testing.assert_allclose(table["estimate"], direct.coef.to_numpy().ravel(), RTOL, ATOL)
    np.testing.assert_allclose(table["std_error"], direct.se.to_numpy().ravel(), RTOL, ATOL)
    np.testing.assert_allclose(
        table[["ci_lower", "ci_upper"]].to_numpy(), direct.ci.to_numpy(), RTOL, ATOL
    )
    np.testing.assert_allclose(table["p_value"], direct.pv.to_numpy().ravel(), RTOL, ATOL)
    np.testing.assert_allclose(result.bandwidths.to_numpy(), direct.bws.to_numpy(), RTOL, ATOL)
    assert [result.n_effective["left"], result.n_effective["right"]] == list(direct.N_h)
    assert [result.n["left"], result.n["right"]] == list(direct.N)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ({}, {}),
        ({"p": 2, "kernel": "uniform", "vce": "hc1"}, {"p": 2, "kernel": "uniform", "vce": "hc1"}),
        ({"h": 10.0}, {"h": 10.0}),
        ({"h": 12.0, "b": 20.0, "kernel": "epanechnikov"}, {"h": 12.0, "b": 20.0, "kernel": "epa"}),
        ({"bwselect": "msetwo"}, {"bwselect": "msetwo"}),
        ({"bwselect": "cerrd", "vce": "hc3"}, {"bwselect": "cerrd", "vce": "hc3"}),
    ],
    ids=["default", "p2-uniform-hc1", "given-h", "given-h-b-epa", "msetwo", "cerrd-hc3"],
)
def test_sharp_rd_equals_rdrobust(senate, ours, theirs):
    result = _fit(SharpRD(running="margin", outcome="vote", **ours), senate)
    direct = rdrobust.rdrobust(senate["vote"], senate["margin"], **theirs)
    _assert_same(result, direct)
    assert result.estimate == pytest.approx(float(direct.coef.iloc[0, 0]), rel=RTOL)
    assert result.ci_robust == pytest.approx(tuple(direct.ci.loc["Robust"]), rel=RTOL)


def test_cluster_and_covariates_equal_rdrobust(senate):
    covs = ["population", "dopen"]
    frame = senate.dropna(subset=["vote", "margin", *covs])  # rdrobust drops these itself
    result = SharpRD(running="margin", outcome="vote", cluster="state", covariates=covs).fit(frame)
    direct = rdrobust.rdrobust(
        frame["vote"], frame["margin"], cluster=frame["state"], covs=frame[covs], vce="cr1"
    )
    _assert_same(result, direct)
    assert result.n_clusters == direct.n_clust
    assert result.settings.vce == "cr1"


def test_result_protocol_and_summary(senate):
    result = _fit(SharpRD(running="margin", outcome="vote"), senate)
    table = result.to_frame()
    ek.validate(table, "effect_table")
    assert table["term"].tolist() == ["conventional", "bias_corrected", "robust"]
    assert {"h_left", "h_right", "n_eff_left", "n_eff_right"} <= set(table.columns)
    text = result.summary().as_text()
    assert "Robust bias-corrected" in text and "93 missing vote" in text
    assert len(result.ledger) == 93
    assert isinstance(result.plot(), Axes)


def test_missing_rows_are_dropped_with_a_warning(senate):
    with pytest.warns(ek.DroppedRowsWarning, match="dropped 93 of 1,390 rows"):
        SharpRD(running="margin", outcome="vote").fit(senate)


def test_row_order_does_not_matter(senate):
    a = _fit(SharpRD(running="margin", outcome="vote"), senate)
    b = _fit(SharpRD(running="margin", outcome="vote"), senate.sample(frac=1.0, random_state=5))
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert a.provenance.data_fingerprint == b.provenance.data_fingerprint


def test_balance_equals_rdrobust_on_each_covariate(senate):
    frame = senate.dropna(subset=["vote"])
    result = SharpRD(running="margin", outcome="vote").fit(frame)
    bal = result.balance(["population", "dmidterm"])
    table = bal.to_frame()
    ek.validate(table, "effect_table")
    for cov in ("population", "dmidterm"):
        direct = rdrobust.rdrobust(frame[cov], frame["margin"])
        rows = table[table["outcome"] == cov]
        np.testing.assert_allclose(rows["estimate"], direct.coef.to_numpy().ravel(), RTOL, ATOL)
        np.testing.assert_allclose(rows["p_value"], direct.pv.to_numpy().ravel(), RTOL, ATOL)
    assert isinstance(bal.plot(), Axes)
    assert bal._repr_html_().startswith("<div") and "balance" in bal.summary().as_text()


def test_placebo_cutoffs_use_one_side_only(senate):
    frame = senate.dropna(subset=["vote"])
    result = SharpRD(running="margin", outcome="vote").fit(frame)
    placebo = result.placebo_cutoffs([-10.0, 10.0])
    table = placebo.to_frame()
    assert table["cutoff"].tolist() == [-10.0, 0.0, 10.0]
    assert table["placebo"].tolist() == [True, False, True]
    above = frame[frame["margin"] >= 0]
    direct = rdrobust.rdrobust(above["vote"], above["margin"], c=10.0)
    row = table[table["cutoff"] == 10.0].iloc[0]
    assert row["estimate"] == pytest.approx(float(direct.coef.loc["Robust"].iloc[0]), rel=RTOL)
    assert row["ci_upper"] == pytest.approx(float(direct.ci.loc["Robust", "CI Upper"]), rel=RTOL)
    true = table[table["cutoff"] == 0.0].iloc[0]
    assert true["estimate"] == pytest.approx(result.estimate_bc)
    assert isinstance(placebo.plot(), Axes)
    ek.validate(table, "effect_table")
    assert "placebo" in placebo.summary().as_text()
    with pytest.raises(ek.ParameterError, match="other than the true cutoff"):
        result.placebo_cutoffs([0.0])


# --------------------------------------------------------------------------- recovery


def test_sharp_rd_recovers_a_planted_jump():
    # y = 1 + 0.8 x - 0.5 x^2 + 0.4 [x >= 0] + N(0, 0.2^2); the robust interval covers 0.4.
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, 4000)
    y = 1 + 0.8 * x - 0.5 * x**2 + 0.4 * (x >= 0) + rng.normal(0, 0.2, x.size)
    result = SharpRD(running="x", outcome="y").fit(pd.DataFrame({"x": x, "y": y}))
    lo, hi = result.ci_robust
    assert lo < 0.4 < hi
    assert result.estimate == pytest.approx(0.4, abs=0.06)  # ~ 3 standard errors


@pytest.mark.parametrize(("category", "regime"), [("udsat", "2021"), ("ghetto", "2018")])
def test_list_threshold_recovers_the_planted_listing_effect(category, regime):
    area_year, truth = list_threshold_data(
        n_areas=400, effect=0.06, category=category, noise_sd=0.02, seed=4
    )
    result = ListThreshold(criterion=category, outcome="outcome", regime=regime).fit(area_year)
    lo, hi = result.ci_robust
    assert lo < truth.effect < hi
    assert result.n_effective["right"] >= 30
    assert result.list_years == sorted(result.sample["year"].unique().tolist())
    assert result.regime == regime and result.horizon == 1


def test_list_threshold_equals_rdrobust_on_its_sample():
    area_year, _ = list_threshold_data(n_areas=200, seed=2)
    result = ListThreshold(criterion="udsat", outcome="outcome", regime="2021").fit(area_year)
    s = result.sample
    direct = rdrobust.rdrobust(
        s["outcome"], s["score"], cluster=pd.factorize(s["area_id"])[0], vce="cr1"
    )
    _assert_same(result, direct)
    # the sample is the list years 2021.. whose outcome year (+1) is in the data (to 2024)
    assert result.list_years == [2021, 2022, 2023]
    scores = list_running_variable(area_year, criterion="udsat", regime="2021")
    merged = s.merge(scores, on=["area_id", "year"], suffixes=("", "_ref"))
    np.testing.assert_array_equal(merged["score"], merged["score_ref"])
    assert (s["treated"] == (s["score"] >= 0)).all()


def test_list_threshold_outcomes_frame_and_horizon():
    area_year, _ = list_threshold_data(n_areas=150, seed=3)
    outcomes = area_year[["area_id", "year"]].assign(z=np.arange(len(area_year), dtype=float))
    result = ListThreshold(
        criterion="labour", outcome="z", regime="2021", horizon=2, cluster=False
    ).fit(area_year.drop(columns="outcome"), outcomes=outcomes)
    s = result.sample
    looked_up = s.merge(
        outcomes.rename(columns={"year": "outcome_year", "z": "z_ref"}),
        on=["area_id", "outcome_year"],
    )
    assert (looked_up["outcome_year"] == looked_up["year"] + 2).all()
    np.testing.assert_array_equal(looked_up["z"], looked_up["z_ref"])
    assert result.settings.vce == "nn"


# --------------------------------------------------------------------------- bad input


def test_no_observation_on_one_side():
    df = pd.DataFrame({"x": np.linspace(-2, -0.1, 50), "y": np.arange(50.0)})
    with pytest.raises(ek.IdentificationError, match="no observation at or above the cutoff 0"):
        SharpRD(running="x", outcome="y").fit(df)


def test_bandwidth_with_too_few_observations(senate):
    with pytest.raises(ek.IdentificationError, match=r"h = 0\.05 leaves \d observation"):
        _fit(SharpRD(running="margin", outcome="vote", h=0.05), senate)


def test_too_few_distinct_values_on_a_side():
    x = np.r_[np.linspace(-1, -0.1, 40), np.full(40, 0.5), np.full(40, 0.7)]
    df = pd.DataFrame({"x": x, "y": x.copy()})
    with pytest.raises(ek.IdentificationError, match="only 2 distinct value"):
        SharpRD(running="x", outcome="y").fit(df)


def test_non_finite_values_are_refused(senate):
    bad = senate.assign(vote=senate["vote"].where(senate.index != 5, np.inf))
    with pytest.raises(ek.DataError, match="'vote' has 1 infinite value"):
        SharpRD(running="margin", outcome="vote").fit(bad)
    with pytest.raises(ek.ParameterError, match="'cutoff'"):
        SharpRD(running="margin", outcome="vote", cutoff=np.nan).fit(senate)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"p": 5}, "'p' parameter"),
        ({"q": 1}, "greater than p = 1"),
        ({"h": -1.0}, "'h' parameter"),
        ({"b": 3.0}, "without a main bandwidth"),
        ({"kernel": "gaussian"}, "'kernel' parameter"),
        ({"bwselect": "cct"}, "'bwselect' parameter"),
        ({"vce": "cr1"}, "need a cluster"),
        ({"vce": "nn", "cluster": "state"}, "'vce' parameter"),
        ({"masspoints": "drop"}, "'masspoints' parameter"),
        ({"covariates": "population"}, "sequence of column names"),
    ],
)
def test_bad_parameters(senate, params, match):
    with pytest.raises(ek.ParameterError, match=match):
        SharpRD(running="margin", outcome="vote", **params).fit(senate)


def test_unknown_columns_suggest(senate):
    with pytest.raises(ek.DataError, match="Did you mean 'margin'"):
        SharpRD(running="margn", outcome="vote").fit(senate)
    with pytest.raises(ek.DataError, match="must be numeric"):
        SharpRD(running="margin", outcome="state").fit(senate)


def test_list_threshold_bad_input():
    area_year, _ = list_threshold_data(n_areas=60, seed=1)
    with pytest.raises(ek.ParameterError, match="Did you mean 'udsat'"):
        ListThreshold(criterion="udsaat", outcome="outcome").fit(area_year)
    with pytest.raises(ek.ParameterError, match=r"Did you mean '2010' \(the rules of the 2012"):
        ListThreshold(criterion="udsat", outcome="outcome", regime="2012").fit(area_year)
    with pytest.raises(ek.ParameterError, match="Did you mean '2021'"):
        ListThreshold(criterion="udsat", outcome="outcome", regime="221").fit(area_year)
    with pytest.raises(ek.ParameterError, match="needs a list history"):
        ListThreshold(criterion="omdannelsesomraade", outcome="outcome").fit(area_year)
    with pytest.raises(ek.ParameterError, match="'horizon' parameter"):
        ListThreshold(criterion="udsat", outcome="outcome", horizon=-1).fit(area_year)
    with pytest.raises(ek.DataError, match="Did you mean 'outcome'"):
        ListThreshold(criterion="udsat", outcome="outcme").fit(area_year)
    with pytest.raises(ek.IdentificationError, match="outcome data, which end in 2024"):
        ListThreshold(criterion="udsat", outcome="outcome", horizon=9).fit(area_year)
    dup = pd.concat([area_year.head(2), area_year.head(2)])
    with pytest.raises(ek.DataError, match="duplicated"):
        ListThreshold(criterion="udsat", outcome="outcome").fit(area_year, outcomes=dup)


def test_few_clusters_inside_the_bandwidth_warn():
    area_year, _ = list_threshold_data(n_areas=60, seed=1)
    with pytest.warns(ek.AssumptionWarning, match=r"ListThreshold \(rdrobust\): Only \d+"):
        ListThreshold(criterion="parallelsamfund", outcome="outcome").fit(area_year)


def test_rdrobust_messages_become_notes_and_warnings(capsys):
    # rdrobust prints these instead of warning; effekt never prints
    rng = np.random.default_rng(1)
    x = np.round(rng.uniform(-1, 1, 800), 1)  # 21 distinct values: mass points
    df = pd.DataFrame({"x": x, "y": x + (x >= 0) + rng.normal(0, 0.2, x.size)})
    result = SharpRD(running="x", outcome="y").fit(df)
    assert any("mass points" in n for n in result.notes)
    assert "mass points" in result.summary().as_text()
    result.plot()  # rdplot prints the same message
    assert capsys.readouterr().out == ""
    x = np.linspace(-1, 1, 16)
    small = pd.DataFrame({"x": x, "y": x + (x >= 0) + rng.normal(0, 0.2, x.size)})
    with pytest.warns(ek.AssumptionWarning, match="fewer than 20 observations"):
        SharpRD(running="x", outcome="y").fit(small)


def test_missing_rdrobust_says_how_to_install(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "rdrobust" or name.startswith("rdrobust."):
            raise ImportError("No module named 'rdrobust'", name="rdrobust")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    df = pd.DataFrame({"x": np.linspace(-1, 1, 50), "y": np.arange(50.0)})
    with pytest.raises(ek.OptionalDependencyError, match=r"pip install 'effekt\[rd\]'"):
        SharpRD(running="x", outcome="y").fit(df)
