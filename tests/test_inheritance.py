"""effekt.inheritance: the cohort (triple-difference) and sibling exposure designs.

Cross-checks: CohortExposure's coefficients and clustered covariance equal a weighted
least-squares regression with area and cohort dummies in statsmodels
(``WLS(...).fit(cov_type="cluster")``, CR1) and a two-way fixed-effects regression in
linearmodels (``PanelOLS``, raw cluster sandwich) on the same cells; SiblingExposure
equals a family fixed-effects regression in linearmodels (``PanelOLS`` with entity
effects). Tolerances: 1e-6 relative on coefficients and standard errors (linearmodels
demeans iteratively; statsmodels and effekt solve the same normal equations).
Recovery: on the default world the estimates are compared with the exact truth of
the same estimand (the estimator applied to each child's own true effect,
``Truth.child_effects``).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt.errors import DataError, DroppedRowsWarning, IdentificationError, ParameterError

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def world():
    return ek.simulate.denmark(n_areas=40, years=(2005, 2020), seed=3)


@pytest.fixture(scope="module")
def kids(world):
    return world.children()


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DroppedRowsWarning)
        return fn(*args, **kwargs)


@pytest.fixture(scope="module")
def cohort(world, kids):
    est = ek.inheritance.CohortExposure(outcome="charged_by_18", kind="lbf_helhedsplan")
    return _quiet(est.fit, kids, interventions=world.interventions)


def _event_design(cells: pd.DataFrame, lo: int = -5, hi: int = 12) -> pd.DataFrame:
    treated = cells["start"].notna().to_numpy()
    k = np.clip(cells["k"].to_numpy(float), lo, hi)
    cols = {}
    for e in range(lo, hi + 1):
        col = (treated & (k == e)).astype(float)
        if e != 0 and col.any():
            cols[f"event_time[{e}]"] = col
    return pd.DataFrame(cols, index=cells.index)


def test_cohort_equals_statsmodels_wls_with_dummies(cohort):
    sm = pytest.importorskip("statsmodels.api")
    cells = cohort.cells
    x = _event_design(cells)
    assert list(x.columns) == list(cohort.params.index)
    dummies = pd.get_dummies(cells["area_id"], dtype=float)
    years = pd.get_dummies(cells["birth_year"], dtype=float).iloc[:, 1:]
    design = pd.concat([x, dummies, years], axis=1)
    fit = sm.WLS(cells["gap"], design, weights=cells["w"]).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(cells["area_id"])[0]}
    )
    names = list(x.columns)
    np.testing.assert_allclose(cohort.params.to_numpy(), fit.params[names], rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(np.sqrt(np.diag(cohort.cov.to_numpy())), fit.bse[names], rtol=1e-6)
    # the overall change: the treated cells' weights over the exposed cohorts
    a = cohort.aggregation_weights[names].to_numpy()
    v = fit.cov_params().loc[names, names].to_numpy()
    np.testing.assert_allclose(cohort.estimate, a @ fit.params[names], rtol=1e-6)
    np.testing.assert_allclose(cohort.std_error, np.sqrt(a @ v @ a), rtol=1e-6)


def test_cohort_equals_linearmodels_two_way_fixed_effects(cohort):
    lm = pytest.importorskip("linearmodels.panel")
    cells = cohort.cells
    x = _event_design(cells)
    index = pd.MultiIndex.from_arrays([cells["area_id"], cells["birth_year"]])
    model = lm.PanelOLS(
        cells["gap"].set_axis(index),
        x.set_axis(index),
        entity_effects=True,
        time_effects=True,
        weights=cells["w"].set_axis(index),
    )
    fit = model.fit(
        cov_type="clustered",
        cluster_entity=True,
        debiased=False,
        group_debias=False,
        count_effects=False,
        auto_df=False,
    )
    np.testing.assert_allclose(cohort.params.to_numpy(), fit.params.to_numpy(), rtol=1e-6)
    g = cells["area_id"].nunique()
    n = len(cells)
    k = x.shape[1] + g + cells["birth_year"].nunique() - 1
    factor = g / (g - 1) * (n - 1) / (n - k)
    np.testing.assert_allclose(cohort.cov.to_numpy() / factor, fit.cov.to_numpy(), rtol=1e-5)


def test_cohort_result_protocol(cohort):
    import matplotlib

    matplotlib.use("Agg")
    tab = cohort.to_frame()
    assert tab.loc[0, "term"] == "gradient_change"
    assert {"overall", "event_study", "dose"} == set(tab["aggregation"])
    assert list(tab.columns[-6:]) == [
        "estimate",
        "std_error",
        "ci_lower",
        "ci_upper",
        "ci_level",
        "p_value",
    ]
    assert "per_exposure_year" in set(tab["term"])
    assert 1 <= cohort.pretrend[1] <= 5  # at most the 5 default leads
    assert 0 <= cohort.pretrend[2] <= 1
    ax = cohort.plot()
    assert ax.get_xlabel()
    assert "Change in gradient" in str(cohort.summary())
    with pytest.raises(AttributeError):
        cohort.estimate = 0.0


def test_cohort_ledger_keeps_children_without_parents(world, kids):
    # ten observed children whose parents are not in the registers
    lost = kids.index[kids["charged_by_18"].notna()][:10]
    orphans = kids.copy()
    orphans.loc[lost, ["mother_id", "father_id", "parents_education"]] = None
    orphans.loc[lost, "parents_employed"] = pd.NA
    orphans.loc[lost, "n_parents"] = 0
    est = ek.inheritance.CohortExposure(outcome="charged_by_18")
    with pytest.warns(DroppedRowsWarning, match="no parent in the registers"):
        res = est.fit(orphans, interventions=world.interventions)
    reasons = res.ledger.counts()
    assert (
        reasons["no parent in the registers (no background)"] == (orphans["n_parents"] == 0).sum()
    )
    entries = res.ledger.to_frame()
    assert set(lost) <= set(entries["row"])
    assert "charged_by_18 not observed (too young or not in the registers)" in reasons.index


def test_other_definitions_of_disadvantage(world, kids):
    iv = world.interventions
    fits = {
        d: _quiet(
            ek.inheritance.CohortExposure(outcome="charged_by_18", disadvantaged=d).fit,
            kids,
            interventions=iv,
        )
        for d in ("basic_education", "no_work", "either")
    }
    n = {d: int(r.cells["n_disadvantaged"].sum()) for d, r in fits.items()}
    # "either" counts every child counted by one of the two definitions
    assert n["either"] >= max(n["basic_education"], n["no_work"])
    assert n["either"] <= n["basic_education"] + n["no_work"]
    sib = _quiet(
        ek.inheritance.SiblingExposure(outcome="charged_by_18", cluster="family").fit, kids
    )
    assert sib.n_clusters == sib.n_families


def test_wild_cluster_bootstrap_with_few_areas(world, kids):
    from effekt.errors import AssumptionWarning

    few = kids[kids["area_id"].isin(sorted(kids["area_id"].unique())[:16])]
    est = ek.inheritance.CohortExposure(outcome="charged_by_18")
    with pytest.warns(AssumptionWarning, match="WildClusterBootstrap"):
        plain = _quiet(est.fit, few, interventions=world.interventions)
    boot = ek.did.WildClusterBootstrap(reps=199, seed=4)
    res = _quiet(
        ek.inheritance.CohortExposure(outcome="charged_by_18", bootstrap=boot).fit,
        few,
        interventions=world.interventions,
    )
    # the bootstrap tests the same linear combination with the same CR1 standard error
    assert res.wild is not None
    np.testing.assert_allclose(res.wild.estimate, plain.estimate, rtol=1e-8)
    np.testing.assert_allclose(res.wild.std_error, plain.std_error, rtol=1e-8)
    row = res.to_frame().iloc[0]
    assert row["p_value"] == res.wild.p_value
    assert row["ci_lower"] <= res.estimate <= row["ci_upper"]
    assert res.provenance.seed == 4


def test_cohort_bad_input(world, kids):
    iv = world.interventions
    est = ek.inheritance.CohortExposure(outcome="charged_by_18")
    with pytest.raises(DataError, match="no parent link"):
        est.fit(kids.drop(columns=["parents_education"]), interventions=iv)
    with pytest.raises(DataError, match="observed for no child"):
        _quiet(ek.inheritance.CohortExposure(outcome="employed_30").fit, kids, interventions=iv)
    with pytest.raises(DataError, match="outside the data"):
        _quiet(
            ek.inheritance.CohortExposure(outcome="charged_by_18", window=(0, 3)).fit,
            kids,
            interventions=iv,
        )
    late = iv.assign(start_year=np.where(iv["kind"] == "lbf_helhedsplan", 2099, iv["start_year"]))
    late["end_year"] = pd.array([pd.NA] * len(late), dtype="Int64")
    with pytest.raises(IdentificationError, match="No exposed cohort"):
        _quiet(est.fit, kids, interventions=late)
    with pytest.raises(ParameterError, match="kind"):
        _quiet(
            ek.inheritance.CohortExposure(outcome="charged_by_18", kind="nope").fit,
            kids,
            interventions=iv,
        )
    with pytest.raises(ParameterError, match="outcome"):
        ek.inheritance.CohortExposure(outcome="nope").fit(kids, interventions=iv)
    with pytest.raises(ParameterError, match="lags"):
        ek.inheritance.CohortExposure(outcome="charged_by_18", lags=0).fit(kids, interventions=iv)
    with pytest.raises(ParameterError, match="window"):
        ek.inheritance.CohortExposure(outcome="charged_by_18", window=(9, 2)).fit(
            kids, interventions=iv
        )
    with pytest.raises(ParameterError, match="disadvantaged"):
        ek.inheritance.CohortExposure(outcome="charged_by_18", disadvantaged="poor").fit(
            kids, interventions=iv
        )
    before = kids.copy()
    _quiet(est.fit, kids, interventions=iv)
    pd.testing.assert_frame_equal(kids, before)


@pytest.fixture(scope="module")
def sibling(kids):
    est = ek.inheritance.SiblingExposure(outcome="charged_by_18", kind="lbf_helhedsplan")
    return _quiet(est.fit, kids)


def test_sibling_equals_linearmodels_family_fixed_effects(kids, sibling):
    lm = pytest.importorskip("linearmodels.panel")
    d = kids[kids["charged_by_18"].notna() & (kids["n_parents"] > 0)].copy()
    d["family"] = d["mother_id"].where(d["mother_id"].notna(), "F:" + d["father_id"].astype(str))
    d = d[d.groupby("family")["person_id"].transform("size") >= 2]
    dis = (d["parents_education"] == "basic").astype(float)
    x = d["exposure_lbf_helhedsplan"].astype(float)
    order = d.groupby("family")["birth_year"].rank(method="first")
    exog = pd.DataFrame(
        {
            "exposure": x,
            "exposure_x_disadvantaged": x * dis,
            "dis": dis,
            "birth_order_2": (order == 2).astype(float),
            "birth_order_3plus": (order >= 3).astype(float),
        }
    )
    years = pd.get_dummies(d["birth_year"], prefix="birth_year", prefix_sep="_", dtype=float)
    exog = pd.concat([exog, years.iloc[:, 1:]], axis=1)
    exog = exog[[c for c in sibling.params.index]]
    # (linearmodels wants a numeric second index level: the child's position)
    index = pd.MultiIndex.from_arrays([d["family"], np.arange(len(d))])
    area = d.groupby("family")["area_id"].transform("first")
    fit = lm.PanelOLS(
        d["charged_by_18"].set_axis(index), exog.set_axis(index), entity_effects=True
    ).fit(
        cov_type="clustered",
        clusters=pd.DataFrame({"a": pd.factorize(area)[0]}, index=index),
        debiased=False,
        group_debias=False,
        count_effects=False,
        auto_df=False,
    )
    np.testing.assert_allclose(sibling.params.to_numpy(), fit.params.to_numpy(), rtol=1e-6)
    g, n, k = area.nunique(), len(d), exog.shape[1]
    factor = g / (g - 1) * (n - 1) / (n - k)
    np.testing.assert_allclose(sibling.cov.to_numpy() / factor, fit.cov.to_numpy(), rtol=1e-5)
    tab = sibling.to_frame()
    assert list(tab["term"]) == [
        "exposure_slope_other",
        "exposure_slope_disadvantaged",
        "gradient_change_per_year",
    ]
    np.testing.assert_allclose(tab["estimate"].iloc[2], fit.params["exposure_x_disadvantaged"])
    assert sibling.n_families == d["family"].nunique()


def test_sibling_bad_input_and_ledger(kids):
    est = ek.inheritance.SiblingExposure(outcome="charged_by_18")
    with pytest.raises(DataError, match="no parent link"):
        est.fit(kids.drop(columns=["mother_id", "father_id"]))
    with pytest.raises(ParameterError, match="kind"):
        _quiet(ek.inheritance.SiblingExposure(outcome="charged_by_18", kind="nope").fit, kids)
    with pytest.raises(ParameterError, match="cluster"):
        ek.inheritance.SiblingExposure(outcome="charged_by_18", cluster="kommune").fit(kids)
    with pytest.raises(IdentificationError, match="does not vary within families"):
        _quiet(est.fit, kids.assign(exposure_lbf_helhedsplan=0))
    with pytest.warns(DroppedRowsWarning, match="no sibling"):
        res = est.fit(kids)
    assert "no sibling in the data (one child in the family)" in res.ledger.counts().index
    import matplotlib

    matplotlib.use("Agg")
    assert res.plot().get_xlabel()


def _truth_same_estimand(est, kids, effects, outcome, **kw):
    """The estimator applied to each child's own true effect: the exact estimand."""
    eff = effects.set_index("person_id")[outcome]
    return _quiet(est.fit, kids.assign(**{outcome: eff.loc[kids["person_id"]].to_numpy()}), **kw)


@pytest.mark.slow
def test_recovery_on_the_default_world():
    world = ek.simulate.denmark()
    kids = world.children()
    effects = world.truth.child_effects("lbf_helhedsplan")
    iv = world.interventions
    for outcome in ("youth_edu_25", "charged_by_18"):
        est = ek.inheritance.CohortExposure(outcome=outcome)
        res = _quiet(est.fit, kids, interventions=iv)
        truth = _truth_same_estimand(est, kids, effects, outcome, interventions=iv)
        assert abs(res.estimate - truth.estimate) < 2.58 * res.std_error, outcome
        sib = ek.inheritance.SiblingExposure(outcome=outcome)
        s = _quiet(sib.fit, kids).to_frame().iloc[2]
        st = _truth_same_estimand(sib, kids, effects, outcome).to_frame().iloc[2]
        assert abs(s["estimate"] - st["estimate"]) < 2.58 * s["std_error"], outcome
    # the truth of the estimand agrees in sign with the truth table's exposed children
    table = world.truth.inheritance.query(
        "kind == 'lbf_helhedsplan' and contrast == 'basic_education_minus_other' "
        "and outcome == 'youth_edu_25'"
    )
    assert table["change"].iloc[0] > 0
