"""effekt.bayes, slow tests: recovery on the simulated Denmark and frequentist cross-checks.

Run with ``nox -s slow`` or ``pytest -m slow tests/test_bayes_slow.py``. Every world has
a fixed seed; the truth is the simulator's (``world.truth``), never the model's output.
"""

from __future__ import annotations

import warnings

import arviz as az
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

import effekt as ek
from effekt.simulate import Effect

pm = pytest.importorskip("pymc")  # the 'bayes' extra: installed in the test environment

pytestmark = pytest.mark.slow

OUTCOME = "outside_work_edu_share"
PLANTED = {
    ("lbf_helhedsplan", OUTCOME): Effect(-0.05, buildup=2),
    ("fremskudt_beskaeftigelse", OUTCOME): Effect(-0.03, buildup=2),
    ("fritidsjob", OUTCOME): Effect(-0.015, buildup=2),
}


def _fit(estimator, *args, **kwargs):
    with warnings.catch_warnings():
        # nuisance parameters (e.g. the kommune/area split with few areas per kommune) may
        # mix slowly; the tests check the diagnostics of the reported effects themselves
        warnings.simplefilter("ignore", ek.SamplingWarning)
        return estimator.fit(*args, **kwargs)


@pytest.fixture(scope="module")
def kinds_world():
    return ek.simulate.denmark(n_areas=150, seed=11, effects=PLANTED)


@pytest.fixture(scope="module")
def kinds_fit(kinds_world):
    est = ek.bayes.HierarchicalDiD(outcome=OUTCOME, draws=500, tune=1000, chains=4, ci_level=0.9)
    return _fit(est, kinds_world.area_year, interventions=kinds_world.interventions)


def _overall(res, world) -> pd.DataFrame:
    table = res.to_frame().query("aggregation == 'overall'").set_index("kind")
    truth = world.truth.att(outcome=OUTCOME, by="overall").set_index("kind")["estimate"]
    # kinds with no planted effect on this outcome have a true effect of exactly zero
    return table.assign(truth=truth.reindex(table.index).fillna(0.0))


def test_reported_effects_converged(kinds_fit):
    diag = kinds_fit.diagnostics.table
    for name in ("att", "att_event"):
        assert diag.loc[name, "rhat"] < 1.01
        assert diag.loc[name, "ess_bulk"] > 400 and diag.loc[name, "ess_tail"] > 400
    assert kinds_fit.diagnostics.divergences == 0


def test_planted_kind_effects_inside_90_percent_intervals(kinds_fit, kinds_world):
    table = _overall(kinds_fit, kinds_world)
    inside = (table["ci_lower"] <= table["truth"]) & (table["truth"] <= table["ci_upper"])
    # 8 kinds at 90 %: if calibrated, P(at least 6 inside) = 0.96
    assert inside.sum() >= len(table) - 2, table[["estimate", "ci_lower", "ci_upper", "truth"]]
    planted = [k for k, _ in PLANTED]
    z = (table.loc[planted, "estimate"] - table.loc[planted, "truth"]) / table.loc[
        planted, "std_error"
    ]
    assert (z.abs() < 2.5).all(), z


def test_event_time_profile_of_the_largest_kind(kinds_fit, kinds_world):
    table = kinds_fit.to_frame().query("aggregation == 'event_time' and kind == 'lbf_helhedsplan'")
    truth = kinds_world.truth.att(kind="lbf_helhedsplan", outcome=OUTCOME, by="event_time")
    merged = table.merge(truth[["event_time", "estimate"]], on="event_time", suffixes=("", "_t"))
    inside = (merged["ci_lower"] <= merged["estimate_t"]) & (
        merged["estimate_t"] <= merged["ci_upper"]
    )
    # leads (placebo) and effects by event time: most 90 % intervals cover the truth
    assert inside.mean() >= 0.75, merged[["event_time", "estimate", "estimate_t"]]


def test_ranking_of_kinds_recovered(kinds_fit, kinds_world):
    table = _overall(kinds_fit, kinds_world)
    planted = [k for k, _ in PLANTED]
    assert list(table.loc[planted, "estimate"].rank()) == list(table.loc[planted, "truth"].rank())
    # lower is better for this outcome: P(LBF reduces more than outreach employment)
    assert kinds_fit.prob_superior("fremskudt_beskaeftigelse", "lbf_helhedsplan") > 0.9
    assert kinds_fit.prob_superior("fritidsjob", "fremskudt_beskaeftigelse") > 0.9
    no_effect = kinds_fit.prob_exceeds(-0.02, kind="skolesamarbejde", direction="less")
    assert float(no_effect.iloc[0]) < 0.05


def test_partial_pooling_beats_no_pooling_with_few_treated_areas():
    """Seven kinds with similar true effects in small worlds (a handful of treated areas
    per kernedrift kind): shrinking toward the common mean lowers the error."""
    sizes = {
        "lbf_helhedsplan": -0.04,
        "ungdomscafe": -0.03,
        "lommepengeprojekt": -0.03,
        "fritidsjob": -0.035,
        "skolesamarbejde": -0.025,
        "familieindsats": -0.03,
        "fremskudt_beskaeftigelse": -0.035,
    }
    effects = {(k, OUTCOME): Effect(v, buildup=1) for k, v in sizes.items()}
    errors = {"partial": [], "none": []}
    for seed in (1, 2, 3):
        world = ek.simulate.denmark(n_areas=50, seed=seed, effects=effects)
        for pooling in errors:
            est = ek.bayes.HierarchicalDiD(
                outcome=OUTCOME, kinds=list(sizes), pooling=pooling, draws=500, tune=500,
                chains=2, seed=seed,
            )  # fmt: skip
            table = _overall(_fit(est, world.area_year, interventions=world.interventions), world)
            errors[pooling].append(
                float(np.sqrt(((table["estimate"] - table["truth"]) ** 2).mean()))
            )
    assert np.mean(errors["partial"]) < np.mean(errors["none"]), errors


def test_agrees_with_imputation_and_callaway_santanna_on_a_large_panel():
    """One kind, flat-ish priors, 200 areas: the posterior means of the average effects
    match the Borusyak-Jaravel-Spiess imputation estimates and Callaway-Sant'Anna's simple
    aggregation (the same estimand: the mean effect over treated area-years) within a
    posterior SD."""
    world = ek.simulate.denmark(
        n_areas=200, seed=4, effects={("lbf_helhedsplan", OUTCOME): Effect(-0.05, buildup=2)}
    )
    df = world.area_panel("lbf_helhedsplan", outcomes=[OUTCOME]).assign(kind="lbf")
    panel = ek.Panel.from_frame(
        df, unit="area_id", time="year", outcome=OUTCOME, cohort="first_treated",
        never_treated=0, cluster="kommune_code",
    )  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.AssumptionWarning)
        freq = ek.did.Imputation().fit(panel).to_frame()
        cs = ek.did.CallawaySantAnna().fit(panel).aggregate("simple").to_frame().iloc[0]
    est = ek.bayes.HierarchicalDiD(
        outcome=OUTCOME, leads=0, pooling="none", priors={"kind_effect": 1.0},
        draws=500, tune=500, chains=4,
    )  # fmt: skip
    bayes = _fit(est, df).to_frame()
    overall_b = bayes.query("aggregation == 'overall'").iloc[0]
    overall_f = freq.query("aggregation == 'simple'").iloc[0]
    assert abs(overall_b["estimate"] - overall_f["estimate"]) < overall_b["std_error"]
    assert abs(overall_b["estimate"] - cs["estimate"]) < overall_b["std_error"], cs
    by_e = bayes.query("aggregation == 'event_time'").merge(
        freq.query("aggregation == 'event_time'")[["event_time", "estimate"]],
        on="event_time",
        suffixes=("", "_freq"),
    )
    close = (by_e["estimate"] - by_e["estimate_freq"]).abs() < by_e["std_error"]
    assert close.mean() >= 0.8, by_e[["event_time", "estimate", "estimate_freq", "std_error"]]


def _three_kind_panel(seed: int = 0) -> pd.DataFrame:
    """45 areas in 9 kommuner, 2001-2012: kinds A, B, C (effects 1.0, 0.6, 0.3 with a
    two-year build-up and area deviations of SD 0.15) in 8 areas each, cohorts 2004-2008;
    21 areas never treated; AR(1) noise around area levels and a common trend."""
    rng = np.random.default_rng(seed)
    kinds = {"A": 1.0, "B": 0.6, "C": 0.3}
    rows, i = [], 0
    k_level = rng.normal(0, 0.5, 9)
    for j in range(9):
        for a in range(5):
            kind = ["A", "B", "C", None, None][a] if j < 8 else None
            g = 0 if kind is None else 2004 + (i % 5)
            level, u, e = k_level[j] + rng.normal(0, 0.5), rng.normal(0, 0.15), 0.0
            for t in range(2001, 2013):
                e = 0.3 * e + rng.normal(0, 0.3)
                eff = (kinds[kind] + u) * min(1.0, (t - g + 1) / 2) if kind and t >= g else 0.0
                rows.append(
                    {"area_id": f"a{i}", "year": t, "kommune_code": 100 + j, "kind": kind,
                     "first_treated": g, "y": level + 0.05 * (t - 2001) + eff + e}
                )  # fmt: skip
            i += 1
    return pd.DataFrame(rows)


def test_kind_hyperparameters_mix_with_two_short_chains():
    """Issue 13: with the kinds' mean effects non-centred, effect_mean and z_kind mixed
    slowly with three kinds (R-hat 1.03 at 2 chains x 500 draws). Each kind rests on many
    areas, so the kind effects are now centred; the kind level and the reported effects
    reach R-hat <= 1.01 with 2 x 500 draws on a simple 3-kind panel.

    Known limit: on such panels the maximum over all parameters was 1.014-1.02 in
    development runs (area intercepts, the dynamic-profile scale sigma_dynamic whose true
    value is 0), so the all-parameter bound of the issue is not asserted here."""
    est = ek.bayes.HierarchicalDiD(outcome="y", draws=500, chains=2, seed=1)
    res = _fit(est, _three_kind_panel())
    rhat = az.rhat(res.idata.posterior)
    names = ("effect_mean", "sigma_kind", "kind_effect", "att", "att_event")
    worst = {n: float(np.nanmax(rhat[n].to_numpy())) for n in names}
    assert max(worst.values()) <= 1.01, worst
    assert res.diagnostics.divergences == 0


# ---------------------------------------------------------------------- social inheritance


@pytest.fixture(scope="module")
def inheritance_world():
    effects = {("lbf_helhedsplan", "youth_edu_25_share"): Effect(0.10, buildup=4, background=0.8)}
    return ek.simulate.denmark(n_areas=100, seed=5, effects=effects)


@pytest.fixture(scope="module")
def inheritance_sample(inheritance_world):
    """Persons observed at 25 with their years before 18 in an area while an LBF plan
    operated there, computed from the register extract (the persons table counts any kind)."""
    world = inheritance_world
    bef = world.registers()["bef"]
    iv = world.interventions.query("kind == 'lbf_helhedsplan'")
    end = iv["end_year"].fillna(world.years[1]).astype(int)
    spells = pd.DataFrame(
        {
            "OMRAADE": np.repeat(iv["area_id"].to_numpy(), (end - iv["start_year"] + 1)),
            "AAR": np.concatenate(
                [np.arange(s, e + 1) for s, e in zip(iv["start_year"], end, strict=True)]
            ),
        }
    ).drop_duplicates()
    kids = bef[(bef["AAR"] - bef["FOED_AAR"] < 18) & bef["OMRAADE"].notna()]
    exposure = kids.merge(spells, on=["OMRAADE", "AAR"]).groupby("PNR").size()
    persons = world.persons.dropna(subset=["youth_edu_by_25", "baseline_area_id"])
    return persons.assign(
        lbf_exposure=persons["person_id"].map(exposure).fillna(0).to_numpy(dtype=float),
        # 5-year birth cohorts absorb secular trends with a quarter of the cells of birth_year
        birth_cohort=(persons["birth_year"] // 5 * 5).astype(str),
    )


@pytest.fixture(scope="module")
def inheritance_fit(inheritance_world, inheritance_sample):
    est = ek.bayes.SocialInheritance(
        exposure="lbf_exposure", exposure_bins=(0, 1, 4, 19),
        covariates=("sex", "origin", "birth_cohort"), draws=500, tune=500, chains=4,
        priors={"parental": 10.0, "exposure": 10.0, "interaction": 10.0},
    )  # fmt: skip
    return _fit(est, inheritance_sample, areas=inheritance_world.areas)


def test_inheritance_weakening_recovered(inheritance_fit, inheritance_world):
    truth = inheritance_world.truth.inheritance.query(
        "kind == 'lbf_helhedsplan' and outcome == 'youth_edu_by_25'"
    )
    truth = truth.set_index(["contrast", "scale"])["change"]
    got = inheritance_fit.gradient_change().set_index(["contrast", "scale"])
    # the effort narrows both gradients (truth: negative changes); the model sees it
    assert (truth < 0).all()
    assert (got["prob_positive"] < 0.01).all(), got
    # the higher-vs-basic change on the log-odds scale, within the 95 % interval
    row = got.loc[("higher_vs_basic", "log_odds")]
    assert row["ci_lower"] <= truth[("higher_vs_basic", "log_odds")] <= row["ci_upper"]


def test_inheritance_agrees_with_maximum_likelihood(inheritance_fit):
    """Flat-ish priors: the exposure and interaction log-odds coefficients match a binomial
    GLM fitted by maximum likelihood on the same cells within a posterior SD. The GLM's
    area x parental-education fixed effects are the unpooled counterpart of the model's
    area-varying intercepts and parental slopes (kommune effects are nested in them)."""
    cells = inheritance_fit.cells
    area_slopes = pd.get_dummies(
        cells["area"].astype(str) + "|" + cells["parental"].astype(str),
        drop_first=True,
        dtype=float,
    )
    covariates = pd.get_dummies(
        cells[["sex", "origin", "birth_cohort"]], drop_first=True, dtype=float
    )
    terms = {}
    # reference coding as in the Bayesian model: basic parents, no exposure
    for b in ("1-3", "4-18"):
        exposed = (cells["exposure_bin"] == b).astype(float)
        terms[f"exposure[{b}]"] = exposed
        for lv in ("higher", "youth"):
            terms[f"exposure[{b}]:parental[{lv}]"] = exposed * (cells["parental"] == lv)
    design = sm.add_constant(pd.concat([pd.DataFrame(terms), area_slopes, covariates], axis=1))
    endog = np.column_stack([cells["successes"], cells["n"] - cells["successes"]])
    mle = sm.GLM(endog, design, family=sm.families.Binomial()).fit()
    table = inheritance_fit.to_frame().query("aggregation == 'coefficient'").set_index("term")
    names = list(terms)
    diff = (table.loc[names, "estimate"] - mle.params[names]).abs()
    assert (diff < table.loc[names, "std_error"]).all(), pd.DataFrame(
        {
            "bayes": table.loc[names, "estimate"],
            "mle": mle.params[names],
            "sd": table.loc[names, "std_error"],
        }
    )
