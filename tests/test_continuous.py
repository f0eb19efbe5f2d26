"""ContinuousDiD (Callaway, Goodman-Bacon & Sant'Anna 2024) against diff-diff 3.13.

Reference: tests/reference/contdid/diffdiff.json, made by generate.py there with
diff-diff 3.13 ``ContinuousDiD`` (which follows the authors' R package ``contdid``) on
the stored two-cohort panel ``dose_panel.csv``, cubic B-spline with 0 and 2 interior
knots. The dose grid, ATT(d), ACRT(d), the overall ATT and ACRT and all their
analytic standard errors agree to 1e-10 (the same closed forms; differences are float
rounding). The bootstrap bands are random, so they are checked for their properties
(wider than pointwise, same seed same band) rather than against the peer's draws.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import effekt as ek

REF = Path(__file__).parent / "reference" / "contdid"
DIFFDIFF = json.loads((REF / "diffdiff.json").read_text())["results"]


def _frame() -> pd.DataFrame:
    return pd.read_csv(REF / "dose_panel.csv")


def _panel(df: pd.DataFrame | None = None, **kw) -> ek.Panel:
    return ek.Panel.from_frame(
        _frame() if df is None else df,
        unit="unit",
        time="period",
        outcome="y",
        cohort="first_treat",
        never_treated=0,
        covariates=kw.pop("covariates", ["dose"]),
        **kw,
    )


@pytest.mark.parametrize("knots", [0, 2])
def test_matches_diff_diff(knots):
    res = ek.did.ContinuousDiD(dose="dose", num_knots=knots).fit(_panel())
    ref = DIFFDIFF[f"num_knots={knots}"]
    c = res.curves
    np.testing.assert_allclose(c.index, ref["grid"], rtol=0, atol=1e-10)
    for col in ("att", "att_se", "acrt", "acrt_se"):
        np.testing.assert_allclose(c[col], ref[col], rtol=0, atol=1e-10)
    table = res.to_frame().set_index("term")
    assert table.loc["ATT", "estimate"] == pytest.approx(ref["att_glob"], abs=1e-10)
    assert table.loc["ATT", "std_error"] == pytest.approx(ref["att_glob_se"], abs=1e-10)
    assert table.loc["ACRT", "estimate"] == pytest.approx(ref["acrt_glob"], abs=1e-10)
    assert table.loc["ACRT", "std_error"] == pytest.approx(ref["acrt_glob_se"], abs=1e-10)


def test_linear_dose_response_is_recovered_exactly():
    """y changes by 2 d after treatment, no noise: ATT(d) = 2 d and ACRT(d) = 2."""
    rng = np.random.default_rng(3)
    n = 60
    dose = np.where(np.arange(n) < 20, 0.0, rng.uniform(1, 4, n))
    g = np.where(dose > 0, 2, 0)
    rows = [
        (i, t, g[i], dose[i], i * 0.1 + t + (2 * dose[i] if g[i] and t >= 2 else 0.0))
        for i in range(n)
        for t in (1, 2, 3)
    ]
    df = pd.DataFrame(rows, columns=["unit", "period", "first_treat", "dose", "y"])
    res = ek.did.ContinuousDiD(dose="dose").fit(_panel(df))
    np.testing.assert_allclose(res.curves["att"], 2 * res.curves.index, atol=1e-8)
    np.testing.assert_allclose(res.curves["acrt"], 2.0, atol=1e-8)
    assert res.acrt_glob == pytest.approx(2.0)


def test_uniform_band_and_protocol():
    boot = ek.did.MultiplierBootstrap(reps=499, seed=7)
    res = ek.did.ContinuousDiD(dose="dose", bootstrap=boot).fit(_panel())
    again = ek.did.ContinuousDiD(dose="dose", bootstrap=boot).fit(_panel())
    pd.testing.assert_frame_equal(res.to_frame(), again.to_frame())
    assert res.critical_values[0] > 1.96
    table = res.to_frame()
    curve = table.query("term == 'ATT(d)'")
    assert curve["band"].eq("uniform").all()
    pointwise = ek.did.ContinuousDiD(dose="dose").fit(_panel()).to_frame()
    width = (curve["ci_upper"] - curve["ci_lower"]).to_numpy()
    pw = pointwise.query("term == 'ATT(d)'")
    assert (width > (pw["ci_upper"] - pw["ci_lower"]).to_numpy() * 0.9).all()
    assert "Overall ATT" in res.summary().as_text()
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.axes import Axes

    assert isinstance(res.plot(which="acrt"), Axes)
    with pytest.raises(ek.ParameterError, match="'which'"):
        res.plot(which="dose")


def test_bad_input():
    df = _frame()
    est = ek.did.ContinuousDiD(dose="dose")
    neg = df.assign(dose=np.where(df["unit"] == df["unit"].iloc[-1], -1.0, df["dose"]))
    with pytest.raises(ek.DataError, match="must be non-negative"):
        est.fit(_panel(neg))
    varying = df.assign(dose=np.where(df["period"] == 6, df["dose"] + 1, df["dose"]))
    with pytest.raises(ek.DataError, match="constant"):
        est.fit(_panel(varying))
    zero = df.assign(dose=np.where(df["first_treat"] > 0, 0.0, 1.0))
    with pytest.raises(ek.DataError, match="dose 0 for never-treated"):
        est.fit(_panel(zero))
    with pytest.raises(ek.ParameterError, match="must name a covariate"):
        ek.did.ContinuousDiD(dose="amount").fit(_panel())
    with pytest.raises(ek.DataError, match="unconditional"):
        est.fit(_panel(df.assign(x=1.0), covariates=["dose", "x"]))
    with pytest.raises(ek.ParameterError, match="'degree'"):
        ek.did.ContinuousDiD(dose="dose", degree=0).fit(_panel())
    with pytest.raises(ek.ParameterError, match="'bootstrap'"):
        ek.did.ContinuousDiD(dose="dose", bootstrap=99).fit(_panel())
    with pytest.raises(ek.ParameterError, match="'dose_grid'"):
        ek.did.ContinuousDiD(dose="dose", dose_grid=[]).fit(_panel())
    treated_only = df.query("first_treat > 0")
    with pytest.raises(ek.IdentificationError, match="has none"):
        est.fit(_panel(treated_only))
    no_cohort = ek.Panel.from_frame(
        df, unit="unit", time="period", outcome="y", covariates=["dose"]
    )
    with pytest.raises(ek.IdentificationError, match="cohort"):
        est.fit(no_cohort)
    with pytest.raises(ek.IdentificationError, match="balanced"):
        est.fit(_panel(df.iloc[1:]))
