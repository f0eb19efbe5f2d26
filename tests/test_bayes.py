"""effekt.bayes, fast tests: data preparation, model structure, priors, validation.

Sampling is replaced by ``pymc.testing.mock_sample`` (prior draws dressed as a
posterior) except in one tiny real-NUTS smoke test; recovery and cross-checks
against frequentist estimators are in test_bayes_slow.py.
"""

from __future__ import annotations

import importlib
import sys
import warnings
from functools import partial

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import effekt as ek

pm = pytest.importorskip("pymc")  # the 'bayes' extra: installed in the test environment
import pytensor  # noqa: E402
from pymc.testing import mock_sample  # noqa: E402
from pytensor.graph.traversal import graph_inputs  # noqa: E402

from effekt.bayes import HierarchicalDiD, SocialInheritance, treatment_cohorts  # noqa: E402
from effekt.bayes._common import describe_priors, rescale, scaled_priors  # noqa: E402

YEARS = list(range(2001, 2007))


@pytest.fixture
def area_frame() -> pd.DataFrame:
    """8 areas in 2 kommuner, 2001-2006; kind X in a1 (2003) and a2 (2004), Y in a5 (2003)
    and a6 (2005); the rest never treated. Effects: X +1.0, Y +0.5 from the first year."""
    rng = np.random.default_rng(7)
    areas = [f"a{i}" for i in range(1, 9)]
    cohort = {"a1": 2003, "a2": 2004, "a5": 2003, "a6": 2005}
    kind = {"a1": "X", "a2": "X", "a5": "Y", "a6": "Y"}
    rows = []
    for i, a in enumerate(areas):
        for t in YEARS:
            g = cohort.get(a, 0)
            effect = {"X": 1.0, "Y": 0.5}.get(kind.get(a, ""), 0.0) * (g > 0 and t >= g)
            rows.append(
                {
                    "area_id": a,
                    "year": t,
                    "kommune_code": 101 if i < 4 else 147,
                    "y": 0.1 * i + 0.05 * (t - 2001) + effect + rng.normal(0, 0.05),
                    "first_treated": g,
                    "kind": kind.get(a),
                    "pop": 100 + 10 * i,
                }
            )
    return pd.DataFrame(rows)


def _model(**kw) -> HierarchicalDiD:
    base = {"outcome": "y", "sampler": "pymc", "draws": 20, "tune": 20, "chains": 2, "cores": 1}
    return HierarchicalDiD(**{**base, **kw})


@pytest.fixture
def mocked(monkeypatch):
    """pm.sample replaced by prior draws with a (zero) divergence statistic."""
    fake = partial(mock_sample, sample_stats={"diverging": lambda size: np.zeros(size)})
    monkeypatch.setattr(pm, "sample", fake)


# ---------------------------------------------------------------------- optional dependency


def test_import_without_pymc_says_how_to_install(monkeypatch):
    saved = {k: v for k, v in sys.modules.items() if k.startswith("effekt.bayes")}
    for name in saved:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pymc", None)  # makes `import pymc` fail
    try:
        with pytest.raises(ek.OptionalDependencyError, match=r"pip install 'effekt\[bayes\]'"):
            importlib.import_module("effekt.bayes")
    finally:
        for name in [k for k in sys.modules if k.startswith("effekt.bayes")]:
            del sys.modules[name]
        sys.modules.update(saved)


# ---------------------------------------------------------------------- treatment timing


def test_treatment_cohorts_expands_kommune_wide_spells_and_takes_first_start():
    iv = pd.DataFrame(
        {
            "area_id": ["a1", "a1", None, "zz"],
            "kommune_code": [101, 101, 147, 101],
            "kind": ["X", "X", "Y", "X"],
            "start_year": [2005, 2003, 2004, 2002],
        }
    )
    areas = pd.DataFrame({"area_id": ["a1", "a5", "a6"], "kommune_code": [101, 147, 147]})
    out = treatment_cohorts(iv, areas)
    # by hand: a1 gets X from its earlier spell (2003); Y is kommune-wide in 147 (a5, a6);
    # 'zz' is not among the areas
    assert out.to_dict("list") == {
        "area_id": ["a1", "a5", "a6"],
        "kind": ["X", "Y", "Y"],
        "first_treated": [2003, 2004, 2004],
    }


def test_treatment_cohorts_needs_kommune_code_for_kommune_wide_spells():
    iv = pd.DataFrame({"area_id": [None], "kind": ["Y"], "start_year": [2004]})
    with pytest.raises(ek.DataError, match="kommune-wide"):
        treatment_cohorts(iv, pd.DataFrame({"area_id": ["a1"]}))


def test_event_time_cells_counted_by_hand(area_frame):
    model = _model(leads=3).build(area_frame)
    # By hand (years 2001-2006): X: a1 (g=2003) e=-2..3, a2 (g=2004) e=-3..2; Y: a5 (g=2003)
    # e=-2..3, a6 (g=2005) e=-4..1. Leads with a coefficient: -3, -2 (-1 is the reference).
    cells = model.coords["cell"]
    assert list(cells) == [
        "X[-3]", "X[-2]", "X[0]", "X[1]", "X[2]", "X[3]",
        "Y[-3]", "Y[-2]", "Y[0]", "Y[1]", "Y[2]", "Y[3]",
    ]  # fmt: skip
    assert list(model.coords["event"]) == [0, 1, 2, 3]
    assert list(model.coords["lead"]) == [-3, -2]
    assert list(model.coords["kind"]) == ["X", "Y"]
    # one area-level deviation per treated (area, kind): 4
    assert len(model.coords["unit_kind"]) == 4
    # Mundlak dummies, one per (kind, cohort)
    assert list(model.coords["cohort_dummy"]) == ["X@2003", "X@2004", "Y@2003", "Y@2005"]


def test_interventions_give_areas_several_kinds(area_frame):
    iv = pd.DataFrame(
        {
            "area_id": ["a1", None],
            "kommune_code": [101, 147],
            "kind": ["X", "Y"],
            "start_year": [2003, 2004],
        }
    )
    model = _model().build(area_frame.drop(columns=["kind", "first_treated"]), interventions=iv)
    # X: a1; Y: kommune-wide in 147 = a5..a8, all from 2004
    assert len(model.coords["unit_kind"]) == 5
    assert list(model.coords["cohort_dummy"]) == ["X@2003", "Y@2004"]


def test_lags_bin_later_event_times(area_frame):
    model = _model(lags=1).build(area_frame)
    assert list(model.coords["event"]) == [0, 1]
    # the reported cells keep the actual event times
    assert "X[3]" in list(model.coords["cell"])


def test_group_trends_are_optional(area_frame):
    assert "sigma_trend" not in _model().build(area_frame).named_vars
    model = _model(group_trends=True).build(area_frame)
    assert model.named_vars_to_dims["z_trend"] == ("group",)


def test_moderator_enters_per_kind(area_frame):
    frame = area_frame.assign(base=area_frame["area_id"].str[1:].astype(float))
    model = _model(moderators=["base"]).build(frame)
    assert model.named_vars_to_dims["moderator_effect"] == ("kind", "moderator")
    assert list(model.coords["moderator"]) == ["base"]


# ---------------------------------------------------------------------- likelihood


def test_ar1_likelihood_matches_hand_computation(area_frame):
    """At a point where every effect is zero the mean is the area level, here the intercept
    for every area, so the log
    likelihood is the stationary AR(1) density of y - intercept within each area."""
    model = _model(leads=0).build(area_frame)
    point = {k: np.zeros_like(v) for k, v in model.initial_point().items()}
    values = {"intercept": 0.4, "sigma": 0.3, "rho": 0.5}
    for name, value in values.items():
        rv = model[name]
        transform = model.rvs_to_transforms[rv]
        vv = model.rvs_to_values[rv]
        point[vv.name] = (
            value
            if transform is None
            else transform.forward(np.asarray(value), *rv.owner.inputs).eval()
        )
    # area intercepts are centred (around intercept + kommune + cohort terms, here 0.4), so
    # the likelihood reads them and not the intercept, which enters only their prior
    point["area_intercept"] = np.full_like(point["area_intercept"], 0.4)
    logp = model.logp(vars=[model["y"]], sum=True)
    needed = set(graph_inputs([logp]))
    inputs = [v for v in model.value_vars if v in needed]
    fn = pytensor.function(inputs, logp, mode="FAST_COMPILE")
    got = float(fn(*[point[v.name] for v in inputs]))
    expected = 0.0
    sigma, rho = 0.3, 0.5
    for _, g in area_frame.sort_values(["area_id", "year"]).groupby("area_id"):
        e = g["y"].to_numpy() - 0.4
        expected += stats.norm.logpdf(e[0], 0.0, sigma)
        expected += stats.norm.logpdf(e[1:], rho * e[:-1], sigma * np.sqrt(1 - rho**2)).sum()
    assert got == pytest.approx(expected, rel=1e-10)


def test_binomial_counts_from_shares(area_frame):
    frame = area_frame.assign(share=np.tile([0.1, 0.2, 0.3, 0.4, 0.5, 0.0], 8))
    model = _model(outcome="share", likelihood="binomial", trials="pop").build(frame)
    successes = model.rvs_to_values[model["y"]].data
    # by hand: share x population (populations are multiples of 10), rows by area then year
    expected = frame.sort_values(["area_id", "year"]).eval("share * pop").round().to_numpy()
    np.testing.assert_array_equal(successes, expected)


# ---------------------------------------------------------------------- priors


def test_default_prior_scales_follow_the_outcome_sd(area_frame, mocked):
    with pytest.warns(ek.SamplingWarning):
        res = _model().fit(area_frame)
    s = float(np.std(area_frame["y"]))
    table = res.priors.set_index("prior")["distribution"]
    # documented rule: intercept N(mean, 2.5 s), group SDs HalfNormal(s), kind SD HalfNormal(s/2)
    assert table["intercept"] == f"Normal({area_frame['y'].mean():.4g}, {2.5 * s:.4g})"
    assert table["sigma_area"] == f"HalfNormal({s:.4g})"
    assert table["sigma_kind"] == f"HalfNormal({0.5 * s:.4g})"


def test_user_priors_by_number_and_distribution(area_frame):
    model = _model(priors={"sigma_kind": 0.123, "effect_mean": pm.Normal.dist(1.0, 0.01)}).build(
        area_frame
    )
    sigma = model["sigma_kind"].owner.inputs[-1].eval()
    assert float(sigma) == pytest.approx(0.123)
    draws = pm.draw(model["effect_mean"], draws=2000, random_seed=1)
    assert draws.mean() == pytest.approx(1.0, abs=0.002)


def test_user_prior_distribution_object_is_not_renamed(area_frame):
    dist = pm.HalfNormal.dist(0.5)
    _model(priors={"sigma_kind": dist}).build(area_frame)
    assert dist.name is None


def test_prior_predictive_shapes(area_frame):
    check = _model().prior_predictive(area_frame, draws=25)
    assert check.idata.prior_predictive["y"].shape == (1, 25, len(area_frame))
    ax = check.plot()
    assert "Prior predictive" in ax.get_title()


@pytest.mark.parametrize(
    ("priors", "match"),
    [
        ({"sigma_nonsense": 1.0}, "unknown prior 'sigma_nonsense'"),
        ({"sigma_kind": -1.0}, "positive numbers"),
        ({"cohort_mean": pm.Normal.dist(0, 1)}, "vector-valued"),
        ("tight", "mapping"),
    ],
)
def test_bad_priors(area_frame, priors, match):
    with pytest.raises(ek.ParameterError, match=match):
        _model(priors=priors).build(area_frame)


def test_rho_prior_needs_a_distribution(area_frame):
    with pytest.raises(ek.ParameterError, match="'rho' prior"):
        _model(priors={"rho": 0.5}).build(area_frame)


# ---------------------------------------------------------------------- bad input


def test_kind_without_treated_areas(area_frame):
    with pytest.raises(ek.IdentificationError, match=r"kind\(s\) \['Z'\] have no treated area"):
        _model(kinds=["X", "Z"]).build(area_frame)


def test_binomial_outcome_outside_unit_interval(area_frame):
    with pytest.raises(ek.DataError, match=r"(?s)share in \[0, 1\].*divide by 1,000"):
        _model(likelihood="binomial", trials="pop").build(area_frame.assign(y=area_frame["y"] + 2))


def test_binomial_missing_population_counts(area_frame):
    frame = area_frame.assign(y=0.5, pop=area_frame["pop"].astype(float))
    frame.loc[3, "pop"] = np.nan
    with pytest.raises(ek.DataError, match="population counts in 'pop' are missing in 1 row"):
        _model(likelihood="binomial", trials="pop").build(frame)


def test_binomial_needs_trials(area_frame):
    with pytest.raises(ek.DataError, match="pass trials="):
        _model(likelihood="binomial").build(area_frame.assign(y=0.5))


def test_binomial_trials_must_be_the_denominator(area_frame):
    with pytest.raises(ek.DataError, match="not a whole number of persons"):
        _model(likelihood="binomial", trials="pop").build(area_frame.assign(y=0.123456))


def test_single_kommune(area_frame):
    with pytest.raises(ek.IdentificationError, match="at least two groups"):
        _model().build(area_frame.assign(kommune_code=101))


def test_every_area_treated_in_a_period(area_frame):
    frame = area_frame.copy()
    frame.loc[frame["first_treated"] == 0, "first_treated"] = 2006
    frame.loc[frame["kind"].isna(), "kind"] = "X"
    with pytest.raises(ek.IdentificationError, match=r"period\(s\) \[2006\]"):
        _model().build(frame)


def test_kind_varying_within_area(area_frame):
    frame = area_frame.copy()
    frame.loc[0, "kind"] = "Y"
    with pytest.raises(ek.DataError, match="varies within 1 area"):
        _model().build(frame)


def test_treated_area_without_kind(area_frame):
    frame = area_frame.copy()
    frame.loc[frame["area_id"] == "a1", "kind"] = None
    with pytest.raises(ek.DataError, match="have no value in the 'kind' column"):
        _model().build(frame)


def test_moderator_must_be_constant_within_area(area_frame):
    with pytest.raises(ek.DataError, match="varies within"):
        _model(moderators=["m"]).build(area_frame.assign(m=area_frame["year"] * 1.0))


def test_missing_columns(area_frame):
    with pytest.raises(ek.DataError, match="'group' argument"):
        _model(group="kommune").build(area_frame)
    with pytest.raises(ek.DataError, match="'cohort' argument"):
        _model().build(area_frame.drop(columns="first_treated"))


def test_areas_treated_from_the_start_are_dropped_with_a_ledger_entry(area_frame):
    frame = area_frame.copy()
    frame.loc[frame["area_id"] == "a3", ["first_treated", "kind"]] = (2001, "X")
    with pytest.warns(ek.DroppedRowsWarning, match="treated from their first observed period"):
        model = _model().build(frame)
    assert "a3" not in list(model.coords["area"])


@pytest.mark.parametrize(
    ("param", "value", "match"),
    [
        ("likelihood", "poisson", "'likelihood' parameter"),
        ("pooling", "full", "'pooling' parameter"),
        ("group_trends", "yes", "'group_trends' parameter"),
        ("sampler", "stan", "'sampler' parameter"),
        ("draws", 0, "'draws' parameter"),
        ("target_accept", 1.2, "'target_accept' parameter"),
        ("leads", -1, "'leads' parameter"),
        ("moderators", "base", "'moderators' parameter"),
        ("trials", "pop", "likelihood='binomial' only"),
        ("seed", -3, "'seed' parameter"),
    ],
)
def test_bad_parameters(area_frame, param, value, match):
    with pytest.raises(ek.ParameterError, match=match):
        _model(**{param: value}).build(area_frame)


# ---------------------------------------------------------------------- result protocol


def test_result_table_and_probabilities(area_frame, mocked):
    before = area_frame.copy(deep=True)
    with pytest.warns(ek.SamplingWarning, match="effective sample size"):
        res = _model().fit(area_frame)
    pd.testing.assert_frame_equal(area_frame, before)
    table = res.to_frame()
    ek.validate(table, "effect_table")
    assert table.columns[-1] == "prob_positive" and table["p_value"].isna().all()
    overall = table[table["aggregation"] == "overall"].set_index("kind")
    draws = res.draws()
    # posterior mean / SD / equal-tailed interval of the draws, by definition
    assert overall.loc["X", "estimate"] == pytest.approx(draws["X"].mean())
    assert overall.loc["X", "std_error"] == pytest.approx(draws["X"].std(ddof=1))
    assert overall.loc["X", "ci_lower"] == pytest.approx(draws["X"].quantile(0.025))
    p = res.prob_superior("X", "Y")
    assert p == pytest.approx((draws["X"] > draws["Y"]).mean())
    assert p + res.prob_superior("Y", "X") == pytest.approx(1.0)
    assert res.prob_exceeds(0.0)["X"] == pytest.approx(overall.loc["X", "prob_positive"])
    less = res.prob_exceeds(0.0, kind="Y", direction="less")
    assert less["Y"] == pytest.approx(1 - overall.loc["Y", "prob_positive"])
    at_one = res.draws(event_time=1)
    assert list(at_one.columns) == ["X", "Y"]
    with pytest.raises(ek.ParameterError, match="event time 7"):
        res.prob_superior("X", "Y", event_time=7)
    with pytest.raises(ek.ParameterError, match="'kind' parameter"):
        res.prob_exceeds(0.0, kind="Z")
    assert "Sampler" in res.summary().as_text()
    for kind in ("forest", "event_time", "trace"):
        assert res.plot(kind=kind).get_title()
    with pytest.raises(ek.ParameterError, match="'kind' parameter"):
        res.plot(kind="pie")


def test_ci_level_option_is_used(area_frame, mocked):
    with ek.set_options(ci_level=0.9), pytest.warns(ek.SamplingWarning):
        res = _model().fit(area_frame)
    table = res.to_frame()
    assert (table["ci_level"] == 0.9).all()
    x = res.draws()["X"]
    row = table[(table["aggregation"] == "overall") & (table["kind"] == "X")].iloc[0]
    assert row["ci_upper"] == pytest.approx(x.quantile(0.95))


def test_diagnostics_flag_divergences(area_frame, monkeypatch):
    fake = partial(mock_sample, sample_stats={"diverging": lambda size: np.ones(size)})
    monkeypatch.setattr(pm, "sample", fake)
    with pytest.warns(ek.SamplingWarning, match="divergent.*Raise target_accept"):
        res = _model(draws=10).fit(area_frame)
    assert res.diagnostics.divergences == 20


def test_nutpie_fallback_note(area_frame, mocked, monkeypatch):
    monkeypatch.setattr("effekt.bayes._common.has_nutpie", lambda: False)
    with pytest.warns(ek.SamplingWarning):
        res = _model(sampler="nutpie").fit(area_frame)
    assert res.sampler == "pymc"
    assert "nutpie is not installed" in res.summary().as_text()


# ---------------------------------------------------------------------- prior sensitivity

# every prior that the reported (post-treatment) effects depend on in the Gaussian model
EFFECT_PRIORS = ["effect_mean", "sigma_kind", "sigma_dynamic", "sigma_kind_event",
                 "sigma_area_effect"]  # fmt: skip


def test_prior_sensitivity_scales_the_effects_with_the_priors(area_frame, mocked):
    """With the sampler mocked by prior draws (same seed at every factor), every effect
    draw is a sum of N(0, c s) and HalfNormal(c s) x N(0, 1) terms, so multiplying all
    effect prior scales by c multiplies every draw by c: means and SDs double at c = 2."""
    with pytest.warns(ek.SamplingWarning):
        res = _model().fit(area_frame)
        sens = res.prior_sensitivity(scales=(1, 2), priors=EFFECT_PRIORS)
    table = sens.to_frame()
    assert list(table.columns[:2]) == ["prior_scale", "outcome"]
    one = table[table["prior_scale"] == 1.0].set_index("kind")
    two = table[table["prior_scale"] == 2.0].set_index("kind")
    # factor 1 is the original fit, not a refit
    original = res.to_frame().query("aggregation == 'overall'").set_index("kind")
    pd.testing.assert_series_equal(one["estimate"], original["estimate"])
    np.testing.assert_allclose(two["estimate"], 2 * one["estimate"], rtol=1e-8)
    np.testing.assert_allclose(two["std_error"], 2 * one["std_error"], rtol=1e-8)
    assert sens.scaled == EFFECT_PRIORS
    # the refit's priors: the documented default HalfNormal(s / 2) of sigma_kind, doubled
    s = float(np.std(area_frame["y"]))
    refit_priors = sens.priors[2.0].set_index("prior")["distribution"]
    assert refit_priors["sigma_kind"] == f"HalfNormal({s:.4g}) (user)"
    assert refit_priors["sigma_area"] == f"HalfNormal({s:.4g})"  # not in the scaled list
    assert sens.max_shift().index.tolist() == ["X", "Y"]
    assert set(sens.diagnostics) == {1.0, 2.0}
    assert "Prior sensitivity" in sens.plot().get_title()
    for kwargs, match in [
        ({"scales": (0, 1)}, "positive numbers"),
        ({"scales": (1, 1.0)}, "distinct factors"),
        ({"scales": 2}, "positive numbers"),
        ({"priors": ["rho"]}, "'rho', which is not a prior that can be scaled"),
        ({"priors": ["sigma_nonsense"]}, "not a prior that can be scaled"),
        ({"priors": "sigma_kind"}, "list of prior names"),
    ]:
        with pytest.raises(ek.ParameterError, match=match):
            res.prior_sensitivity(**kwargs)


def test_prior_sensitivity_multiplies_default_and_user_scales(area_frame):
    # the rule prior_sensitivity applies to each refit, checked without sampling
    s = float(np.std(area_frame["y"]))
    est = _model(priors={"sigma_kind": 0.1, "effect_mean": pm.Normal.dist(0.0, 0.2)})
    _, specs, user = est._prepare(area_frame, None)
    names, factors = scaled_priors(specs, user, None, (3,), "prior_sensitivity")
    assert factors == [3.0]
    table = describe_priors(specs, rescale(specs, user, names, 3.0))
    table = table.set_index("prior")["distribution"]
    # documented defaults (class docstring) times 3; the user's number times 3; the user's
    # distribution and the Uniform AR(1) prior left alone
    assert table["sigma_area"] == f"HalfNormal({3 * s:.4g}) (user)"
    assert table["intercept"] == f"Normal({area_frame['y'].mean():.4g}, {3 * 2.5 * s:.4g}) (user)"
    assert table["sigma_kind"] == f"HalfNormal({0.3:.4g}) (user)"
    assert table["effect_mean"] == "user: NormalRV"
    assert table["rho"] == "Uniform(-1, 1)"
    assert "effect_mean" not in names and "rho" not in names


def test_tiny_real_sampling_is_reproducible(area_frame):
    """The one real NUTS run of the fast suite: the seed fixes the draws."""
    est = _model(draws=15, tune=15, leads=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.SamplingWarning)
        first = est.fit(area_frame)
        again = est.clone().fit(area_frame.sample(frac=1.0, random_state=1))
    pd.testing.assert_frame_equal(first.to_frame(), again.to_frame())
    assert first.provenance.seed == 0
    assert first.diagnostics.n_draws == 30


# ---------------------------------------------------------------------- social inheritance


@pytest.fixture
def persons() -> pd.DataFrame:
    """12 persons in 3 areas of 2 kommuner; outcome and exposure chosen by hand."""
    return pd.DataFrame(
        {
            "youth_edu_by_25": [1, 0, 1, 1, 0, 1, 1, 1, 0, 1, None, 1],
            "parental_education": ["basic", "basic", "higher", "higher", "basic", "youth"] * 2,
            "exposure_years": [0, 0, 5, 0, 2, 10, 0, 3, 0, 12, 4, 0],
            "baseline_area_id": ["a", "a", "a", "a", "b", "b", "b", "b", "c", "c", "c", "c"],
            "sex": ["male", "female"] * 6,
        }
    )


AREAS = pd.DataFrame({"area_id": ["a", "b", "c"], "kommune_code": [101, 101, 147]})


def test_cells_aggregate_persons_exactly(persons):
    est = SocialInheritance(covariates=())
    with pytest.warns(ek.DroppedRowsWarning, match="1 missing outcome"):
        cells = est.cells(persons, areas=AREAS)
    # by hand: 11 persons with an outcome; area a: (basic, 0) 2 persons 1 success,
    # (higher, 4-7) 1/1, (higher, 0) 1/1
    assert cells["n"].sum() == 11
    assert cells["successes"].sum() == 8
    a = cells[cells["area"] == "a"].set_index(["parental", "exposure_bin"])
    assert a.loc[("basic", "0"), ["n", "successes"]].tolist() == [2, 1]
    assert a.loc[("higher", "4-7"), ["n", "successes"]].tolist() == [1, 1]
    assert set(cells["group"]) == {"101", "147"}


def test_social_inheritance_model_structure(persons):
    est = SocialInheritance(covariates=("sex",))
    with pytest.warns(ek.DroppedRowsWarning):
        model = est.build(persons, areas=AREAS)
    assert list(model.coords["parental_level"]) == ["higher", "youth"]
    assert list(model.coords["exposure_bin"]) == ["1-3", "4-7", "8-18"]
    assert list(model.coords["sex_level"]) == ["female", "male"]
    assert model["interaction"].shape.eval().tolist() == [3, 2]


def test_gradient_change_formula(persons, mocked):
    """The documented definition on known probabilities: with basic 0.5 and higher 0.8
    among the exposed, and basic 0.4, higher 0.8 without exposure, the log-odds gradient
    is logit(0.8) - logit(0.5) = 1.386 with and logit(0.8) - logit(0.4) = 1.792 without."""
    est = SocialInheritance(covariates=(), draws=5, chains=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.DroppedRowsWarning)
        warnings.simplefilter("ignore", ek.SamplingWarning)
        res = est.fit(persons, areas=AREAS)
    post = res.idata.posterior
    with_ = np.broadcast_to([0.5, 0.8, 0.6], post["exposed_with"].shape)
    without = np.broadcast_to([0.4, 0.8, 0.6], post["exposed_without"].shape)
    post["exposed_with"] = post["exposed_with"].copy(data=with_)
    post["exposed_without"] = post["exposed_without"].copy(data=without)
    table = res.gradient_change().set_index(["contrast", "scale"])
    logit = stats.logistic.ppf
    expected = (logit(0.8) - logit(0.5)) - (logit(0.8) - logit(0.4))
    assert table.loc[("higher_vs_basic", "log_odds"), "change"] == pytest.approx(expected)
    assert table.loc[("higher_vs_basic", "probability"), "change"] == pytest.approx(-0.1)
    assert table.loc[("youth_vs_basic", "log_odds"), "with_exposure"] == pytest.approx(
        logit(0.6) - logit(0.5)
    )


def test_social_inheritance_result_protocol(persons, mocked):
    est = SocialInheritance(covariates=("sex",), draws=20, chains=2)
    before = persons.copy(deep=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.DroppedRowsWarning)
        warnings.simplefilter("ignore", ek.SamplingWarning)
        res = est.fit(persons, areas=AREAS)
    pd.testing.assert_frame_equal(persons, before)
    table = res.to_frame()
    ek.validate(table, "effect_table")
    assert "exposure[4-7]:parental[higher]" in set(table["term"])
    assert set(table.loc[table["aggregation"] == "gradient_change", "scale"]) == {
        "probability",
        "log_odds",
    }
    assert res.n_persons == 11
    for kind in ("forest", "gradient", "trace"):
        assert res.plot(kind=kind).get_title()


def test_social_inheritance_prior_sensitivity(persons, mocked):
    est = SocialInheritance(covariates=(), draws=20, chains=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.DroppedRowsWarning)
        warnings.simplefilter("ignore", ek.SamplingWarning)
        sens = est.fit(persons, areas=AREAS).prior_sensitivity(scales=(1, 2))
    table = sens.to_frame()
    # 2 gradient contrasts x 2 scales + 3 exposure bins x 2 levels of interactions, per factor
    assert len(table) == 2 * (4 + 6)
    assert "exposure[4-7]:parental[higher] (log_odds)" in set(table["effect"])
    # the interaction prior N(0, 0.5) (class docstring) doubled
    assert sens.priors[2.0].set_index("prior").loc["interaction", "distribution"] == (
        "Normal(0, 1) (user)"
    )
    assert sens.plot().get_title()


def test_social_inheritance_bad_input(persons):
    est = SocialInheritance(covariates=())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.DroppedRowsWarning)
        with pytest.raises(ek.DataError, match="must be binary"):
            est.cells(persons.assign(youth_edu_by_25=2), areas=AREAS)
        with pytest.raises(ek.DataError, match="non-negative years"):
            est.cells(persons.assign(exposure_years=-1), areas=AREAS)
        with pytest.raises(ek.DataError, match="reference level 'none'"):
            SocialInheritance(covariates=(), reference="none").cells(persons, areas=AREAS)
        with pytest.raises(ek.IdentificationError, match="both unexposed"):
            est.cells(persons.assign(exposure_years=3), areas=AREAS)
        with pytest.raises(ek.IdentificationError, match="at least two groups"):
            est.cells(persons, areas=AREAS.assign(kommune_code=101))
        with pytest.raises(ek.DataError, match="pass the area table"):
            est.cells(persons)
        with pytest.raises(ek.DataError, match="missing from the area table"):
            est.cells(persons, areas=AREAS.iloc[:2])
        with pytest.raises(ek.DataError, match="extend exposure_bins"):
            est.cells(persons.assign(exposure_years=persons["exposure_years"] * 2), areas=AREAS)
    with pytest.raises(ek.ParameterError, match="'exposure_bins' parameter"):
        SocialInheritance(exposure_bins=(1, 5)).cells(persons, areas=AREAS)
