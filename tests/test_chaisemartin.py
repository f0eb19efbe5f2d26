"""de Chaisemartin-D'Haultfoeuille (2024) event-study DiD against its reference implementations.

Reference values (tests/reference/dcdh/, made by generate.py there):

* ``official.json``: ``py_did_multiplegt_dyn`` 0.1.6, the official Python port of the
  R/Stata ``did_multiplegt_dyn``, on three stored panels (binary switching with groups
  that switch on and off, binary single switch, treatment levels), with and without
  clustering. effekt follows it: estimates, standard errors and joint-test p-values
  agree to 1e-8 (both are exact formulas; the only differences are float summation
  order).
* ``official.json`` also holds the ``did_multiplegt_dyn`` help's example (Favara &
  Imbs 2015 banking deregulation, ``effects(8) placebo(3) cluster(state_n)``) on the
  928 counties with complete data (``favara_imbs_complete.csv.gz``, provenance in
  generate.py): a real panel with treatment levels 0-4 and state clusters.
* ``diffdiff.json``: ``diff-diff`` 3.13 ``ChaisemartinDHaultfoeuille``. On the panel
  where every switcher switches once, its point estimates (effects, placebos,
  normalized effects, the average total effect) agree with effekt and the official
  port to 1e-8. Its standard errors are smaller: it recentres the influence terms on
  cohort means without the packages' ``sqrt(n/(n-1))`` factor and without demeaning
  the controls' outcome changes by period; effekt follows R/Stata there. On the panel
  with groups that switch twice diff-diff drops those groups (R/Stata keeps them), so
  that panel is compared with the official port only.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import effekt as ek

REF = Path(__file__).parent / "reference" / "dcdh"
OFFICIAL = json.loads((REF / "official.json").read_text())["results"]
DIFFDIFF = json.loads((REF / "diffdiff.json").read_text())["results"]
TOL = 1e-8


def _panel(name: str, cluster: bool = False) -> ek.Panel:
    df = pd.read_csv(REF / f"{name}.csv")
    return ek.Panel.from_frame(
        df,
        unit="unit",
        time="year",
        outcome="y",
        treatment="d",
        cluster="cluster" if cluster else None,
        absorbing=False,
    )


def _fit(name: str, cluster: bool = False, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.EffektWarning)
        return ek.did.ChaisemartinDHaultfoeuille(effects=3, placebo=2, **kw).fit(
            _panel(name, cluster)
        )


CASES = [(n, c) for n in ("switching", "single_switch", "levels") for c in (False, True)]


@pytest.mark.parametrize(("name", "cluster"), CASES)
def test_matches_did_multiplegt_dyn(name, cluster):
    res = _fit(name, cluster)
    raw = OFFICIAL[f"{name}|cluster={'cluster' if cluster else None}|normalized=False"]
    norm = OFFICIAL[f"{name}|cluster={'cluster' if cluster else None}|normalized=True"]
    ef, pl = res.effects, res.placebos
    np.testing.assert_allclose(ef["estimate"], raw["effects"], rtol=0, atol=TOL)
    np.testing.assert_allclose(ef["std_error"], raw["effects_se"], rtol=0, atol=TOL)
    np.testing.assert_array_equal(ef["n_switchers"], raw["switchers"])
    np.testing.assert_allclose(ef["normalized"], norm["effects"], rtol=0, atol=TOL)
    np.testing.assert_allclose(ef["normalized_se"], norm["effects_se"], rtol=0, atol=TOL)
    np.testing.assert_allclose(pl["estimate"], raw["placebos"], rtol=0, atol=TOL)
    np.testing.assert_allclose(pl["std_error"], raw["placebos_se"], rtol=0, atol=TOL)
    np.testing.assert_array_equal(pl["n_switchers"], raw["placebo_switchers"])
    np.testing.assert_allclose(pl["estimate"] / pl["dose"], norm["placebos"], rtol=0, atol=TOL)
    assert res.average_total_effect == pytest.approx(raw["ate"], abs=TOL)
    ate = res.to_frame().query("term == 'average_total_effect'")
    assert float(ate["std_error"].iloc[0]) == pytest.approx(raw["ate_se"], abs=TOL)
    assert float(res.placebo_test()["p_value"]) == pytest.approx(raw["p_jointplacebo"], abs=1e-8)


@pytest.mark.parametrize("cluster", [None, "state_n"])
def test_favara_imbs_help_example(cluster):
    df = pd.read_csv(REF / "favara_imbs_complete.csv.gz")
    panel = ek.Panel.from_frame(
        df,
        unit="county",
        time="year",
        outcome="Dl_vloans_b",
        treatment="inter_bra",
        cluster=cluster,
        absorbing=False,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.EffektWarning)
        res = ek.did.ChaisemartinDHaultfoeuille(effects=8, placebo=3).fit(panel)
    ref = OFFICIAL[f"favara|cluster={cluster}"]
    np.testing.assert_allclose(res.effects["estimate"], ref["effects"], rtol=0, atol=TOL)
    np.testing.assert_allclose(res.effects["std_error"], ref["effects_se"], rtol=0, atol=TOL)
    np.testing.assert_array_equal(res.effects["n_switchers"], ref["switchers"])
    np.testing.assert_allclose(res.placebos["estimate"], ref["placebos"], rtol=0, atol=TOL)
    np.testing.assert_allclose(res.placebos["std_error"], ref["placebos_se"], rtol=0, atol=TOL)
    assert res.average_total_effect == pytest.approx(ref["ate"], abs=TOL)
    ate = res.to_frame().query("term == 'average_total_effect'")
    assert float(ate["std_error"].iloc[0]) == pytest.approx(ref["ate_se"], abs=TOL)
    assert float(res.placebo_test()["p_value"]) == pytest.approx(ref["p_jointplacebo"], abs=1e-8)


def test_point_estimates_match_diff_diff_on_single_switches():
    res = _fit("single_switch")
    ref = DIFFDIFF["single_switch"]
    np.testing.assert_allclose(res.effects["estimate"], ref["effects"], rtol=0, atol=TOL)
    np.testing.assert_allclose(res.effects["normalized"], ref["normalized"], rtol=0, atol=TOL)
    np.testing.assert_allclose(res.placebos["estimate"], ref["placebos"], rtol=0, atol=TOL)
    np.testing.assert_array_equal(res.effects["n_switchers"], ref["switchers"])
    assert res.average_total_effect == pytest.approx(ref["ate"], abs=TOL)
    # the convention difference in the variance (module docstring): diff-diff is smaller
    assert (res.effects["std_error"].to_numpy() > np.asarray(ref["effects_se"])).all()


def test_staggered_design_reduces_to_a_cohort_comparison():
    """One cohort switching on at 3, never-treated controls: DID_l is the 2x2 DiD."""
    rng = np.random.default_rng(0)
    n, n_t = 30, 6
    d = np.zeros((n, n_t), int)
    d[:12, 3:] = 1
    y = rng.normal(size=(n, n_t)) + 1.5 * d
    df = pd.DataFrame(
        {"u": np.repeat(range(n), n_t), "t": np.tile(range(n_t), n), "y": y.ravel(), "d": d.ravel()}
    )
    panel = ek.Panel.from_frame(df, unit="u", time="t", outcome="y", treatment="d")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.EffektWarning)
        res = ek.did.ChaisemartinDHaultfoeuille(effects=3, placebo=2).fit(panel)
    for lag in (1, 2, 3):
        dy = y[:, 2 + lag] - y[:, 2]
        assert res.effects.loc[lag, "estimate"] == pytest.approx(dy[:12].mean() - dy[12:].mean())
    dyp = y[:, 1] - y[:, 2]
    assert res.placebos.loc[1, "estimate"] == pytest.approx(dyp[:12].mean() - dyp[12:].mean())


def test_result_protocol_and_ledger():
    with pytest.warns(ek.DroppedRowsWarning, match="did_multiplegt_dyn sample rules"):
        res = ek.did.ChaisemartinDHaultfoeuille(effects=3, placebo=2).fit(_panel("levels"))
    ledger = res.ledger.to_frame()
    assert ledger["reason"].str.contains("above and below").any()
    table = res.to_frame()
    assert table.columns[-7:].tolist() == [
        "estimate",
        "std_error",
        "ci_lower",
        "ci_upper",
        "ci_level",
        "p_value",
        "n_switchers",
    ]
    assert table["event_time"].dropna().tolist() == [-3, -2, 0, 1, 2]
    assert "Pre-trend test" in res.summary().as_text()
    assert "<table>" in res._repr_html_()
    assert res.covariance().shape == (6, 6)
    assert res.normalized_effects()["aggregation"].eq("normalized").all()
    assert res.effects_test()["p_value"] < 1e-6
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.axes import Axes

    assert isinstance(res.plot(), Axes)
    with pytest.raises(AttributeError, match="immutable"):
        res.average_total_effect = 0.0


def _frame(n=20, n_t=6):
    d = np.zeros((n, n_t), int)
    d[: n // 2, 3:] = 1
    d[: n // 4, 5:] = 0
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "u": np.repeat(range(n), n_t),
            "t": np.tile(range(n_t), n),
            "y": rng.normal(size=n * n_t),
            "d": d.ravel(),
            "x": rng.normal(size=n * n_t),
            "c": np.repeat(np.arange(n) % 5, n_t),
        }
    )


def _switch_panel(df, **kw):
    return ek.Panel.from_frame(
        df, unit="u", time="t", outcome="y", treatment="d", absorbing=False, **kw
    )


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"effects": 0}, "'effects' parameter"),
        ({"placebo": -1}, "'placebo' parameter"),
        ({"effects": True}, "'effects' parameter"),
        ({"cluster": "kommune"}, "'cluster' parameter"),
    ],
)
def test_bad_parameters(params, match):
    with pytest.raises(ek.ParameterError, match=match):
        ek.did.ChaisemartinDHaultfoeuille(**params).fit(_switch_panel(_frame()))


def test_bad_panels():
    df = _frame()
    est = ek.did.ChaisemartinDHaultfoeuille()
    no_treatment = ek.Panel.from_frame(df, unit="u", time="t", outcome="y")
    with pytest.raises(ek.IdentificationError, match="needs a treatment column"):
        est.fit(no_treatment)
    with pytest.raises(ek.DataError, match="covariates or weights"):
        est.fit(_switch_panel(df, covariates=["x"]))
    with pytest.raises(ek.IdentificationError, match="balanced panel"):
        est.fit(_switch_panel(df.iloc[1:]))
    with pytest.raises(ek.DataError, match="evenly spaced"):
        est.fit(_switch_panel(df.query("t != 4")))
    with pytest.raises(ek.IdentificationError, match="no switcher"):
        est.fit(_switch_panel(df.assign(d=0)))
    moving = df.assign(c=np.where(df["t"] > 2, df["c"] + 1, df["c"]))
    with pytest.raises(ek.IdentificationError, match="lie in one cluster"):
        est.fit(_switch_panel(moving, cluster="c"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.EffektWarning)
        res = est.fit(_switch_panel(df))
    with pytest.raises(ek.IdentificationError, match="needs placebos"):
        res.placebo_test()


def test_switching_treatment_points_to_dcdh():
    df = _frame()
    with pytest.raises(ek.IdentificationError, match="ChaisemartinDHaultfoeuille"):
        ek.Panel.from_frame(df, unit="u", time="t", outcome="y", treatment="d")
    with pytest.raises(ek.IdentificationError, match="ChaisemartinDHaultfoeuille"):
        ek.did.CallawaySantAnna().fit(_switch_panel(df))
    with pytest.raises(ek.IdentificationError, match="ChaisemartinDHaultfoeuille"):
        ek.did.SunAbraham().fit(_switch_panel(df))


def test_treatment_levels_need_absorbing_false():
    df = _frame().assign(d=lambda f: f["d"] * 2.5)
    with pytest.raises(ek.DataError, match="must be 0/1"):
        ek.Panel.from_frame(df, unit="u", time="t", outcome="y", treatment="d")
    panel = _switch_panel(df)
    assert panel.data["d"].max() == 2.5
    with pytest.raises(ek.DataError, match="must be numeric"):
        _switch_panel(df.assign(d=df["d"].astype(str)))
    with pytest.raises(ek.DataError, match="must be numeric"):
        _switch_panel(df.assign(d=df["d"].replace(2.5, np.inf)))
