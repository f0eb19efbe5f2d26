"""SyntheticControl: recovery on constructed panels, bad input, inference, plots.

Published-number replications (Prop 99, Basque, Germany) are in
test_synth_replication.py.
"""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes

import effekt as ek


@pytest.fixture(autouse=True)
def _quiet():
    with ek.set_options(progress=False):
        yield


TRUE_W = {"d0": 0.5, "d1": 0.3, "d2": 0.2}
EFFECT = -3.0
T0 = 2010  # first treated period


def factor_panel(seed: int = 0, n_donors: int = 12, effect: float = EFFECT) -> pd.DataFrame:
    """Donors from a two-factor model; the treated unit is exactly 0.5 d0 + 0.3 d1 + 0.2 d2
    before T0 and that plus ``effect`` from T0 on (so the truth is known by construction)."""
    rng = np.random.default_rng(seed)
    years = np.arange(1995, 2016)
    f = np.column_stack([np.linspace(0, 3, len(years)), np.sin(years / 2.0)])
    load = rng.normal(size=(n_donors, 2))
    y = (
        10
        + rng.normal(size=(n_donors, 1))
        + load @ f.T
        + 0.3 * rng.normal(size=(n_donors, len(years)))
    )
    donors = [f"d{i}" for i in range(n_donors)]
    w = np.array([TRUE_W.get(d, 0.0) for d in donors])
    treated = w @ y + np.where(years >= T0, effect, 0.0)
    x = rng.normal(size=n_donors)  # a time-invariant covariate
    rows = []
    for i, d in enumerate(donors):
        rows += [(d, t, y[i, k], x[i]) for k, t in enumerate(years)]
    rows += [("T", t, treated[k], w @ x) for k, t in enumerate(years)]
    return pd.DataFrame(rows, columns=["area", "year", "y", "x"])


def panel_of(df: pd.DataFrame, **kw) -> ek.Panel:
    return ek.Panel.from_frame(df, unit="area", time="year", outcome="y", covariates=["x"], **kw)


@pytest.fixture(scope="module")
def fitted():
    df = factor_panel()
    return df, ek.synth.SyntheticControl(treated="T", treatment_time=T0).fit(panel_of(df))


def test_recovers_planted_weights_and_effect(fitted):
    _, res = fitted
    w = res.weights
    for donor, value in TRUE_W.items():
        assert w[donor] == pytest.approx(value, abs=1e-4)
    assert w.drop(list(TRUE_W)).abs().max() < 1e-4
    assert res.rmspe_pre < 1e-6
    table = res.to_frame()
    att = table.loc[table["term"] == "att", "estimate"].item()
    assert att == pytest.approx(EFFECT, abs=1e-4)
    gaps = table.loc[table["term"] == "gap"]
    assert gaps["event_time"].tolist() == list(range(6))
    np.testing.assert_allclose(gaps["estimate"], EFFECT, atol=1e-4)
    ek.validate(table, "effect_table")


def test_weights_on_simplex_and_balance_table(fitted):
    _, res = fitted
    assert (res.weights >= 0).all() and res.weights.sum() == pytest.approx(1.0)
    assert res.v_weights.sum() == pytest.approx(1.0)
    bal = res.balance()
    assert list(bal.columns) == ["treated", "synthetic", "donor_mean", "v"]
    # the synthetic unit matches the treated unit's lagged outcomes (exact combination)
    np.testing.assert_allclose(bal["treated"], bal["synthetic"], atol=1e-6)


def test_predictor_spec_windows_and_special_predictors():
    df = factor_panel(1)
    res = ek.synth.SyntheticControl(
        treated="T",
        treatment_time=T0,
        predictors={"x": None, "y": (2005, 2009)},
        special_predictors={"y": [1998, 2002, (2000, 2001)]},
    ).fit(panel_of(df))
    labels = list(res.v_weights.index)
    assert labels == ["x (1995–2009)", "y (2005–2009)", "y (1998)", "y (2002)", "y (2000–2001)"]
    bal = res.balance()
    treated = df.loc[df["area"] == "T"].set_index("year")["y"]
    # by hand: window means of the treated unit's outcome
    assert bal.loc["y (2005–2009)", "treated"] == pytest.approx(treated.loc[2005:2009].mean())
    assert bal.loc["y (2000–2001)", "treated"] == pytest.approx(treated.loc[2000:2001].mean())
    assert bal.loc["y (1998)", "treated"] == pytest.approx(treated.loc[1998])


def test_missing_covariate_years_are_skipped_like_synth():
    df = factor_panel(2)
    df["x"] = df["x"].where(df["year"] >= 2000)  # covariate missing before 2000
    panel = panel_of(df, missing="keep")
    res = ek.synth.SyntheticControl(
        treated="T",
        treatment_time=T0,
        predictors={"x": (1995, 2009)},
        special_predictors={"y": [2000, 2009]},
    ).fit(panel)
    assert res.balance().loc["x (1995–2009)", "treated"] == pytest.approx(
        df.loc[(df["area"] == "T") & (df["year"] >= 2000), "x"].mean()
    )


def test_row_order_and_caller_frame(fitted):
    df, res = fitted
    before = df.copy(deep=True)
    shuffled = df.sample(frac=1.0, random_state=7)
    again = ek.synth.SyntheticControl(treated="T", treatment_time=T0).fit(panel_of(shuffled))
    pd.testing.assert_series_equal(res.weights, again.weights)
    pd.testing.assert_frame_equal(df, before)


def test_fixed_v_is_used_as_given():
    df = factor_panel(3)
    est = ek.synth.SyntheticControl(
        treated="T",
        treatment_time=T0,
        special_predictors={"y": [2000, 2005, 2009]},
        optimize_v=False,
        v=[1.0, 0.0, 0.0],
    )
    res = est.fit(panel_of(df))
    np.testing.assert_allclose(res.v_weights, [1.0, 0.0, 0.0])
    by_label = est.set_params(v={"y (2000)": 2.0}).fit(panel_of(df))
    np.testing.assert_allclose(by_label.v_weights, [1.0, 0.0, 0.0])


# ------------------------------------------------------------------ bad input
def test_treated_with_missing_pre_outcome():
    df = factor_panel()
    df.loc[(df["area"] == "T") & (df["year"] == 2001), "y"] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.DroppedRowsWarning)
        panel = panel_of(df)
    with pytest.raises(ek.DataError, match=r"no outcome in pre-treatment period\(s\) \[2001\]"):
        ek.synth.SyntheticControl(treated="T", treatment_time=T0).fit(panel)


@pytest.mark.parametrize("time", [1995, 1990, 2020])
def test_treatment_time_outside_panel(time):
    with pytest.raises(ek.IdentificationError, match="lies outside the panel's periods"):
        ek.synth.SyntheticControl(treated="T", treatment_time=time).fit(panel_of(factor_panel()))


def test_fewer_than_two_donors():
    df = factor_panel()
    with pytest.raises(ek.IdentificationError, match="at least 2 donors"):
        ek.synth.SyntheticControl(treated="T", treatment_time=T0, donors=["d0"]).fit(panel_of(df))


def test_predictor_window_without_data():
    df = factor_panel()
    df["x"] = df["x"].where(df["year"] >= 2005)
    panel = panel_of(df, missing="keep")
    with pytest.raises(ek.DataError, match=r"'x \(1995–2000\)' .* has no data for 13 unit"):
        ek.synth.SyntheticControl(
            treated="T", treatment_time=T0, predictors={"x": (1995, 2000)}
        ).fit(panel)


def test_predictor_window_reaching_into_treatment():
    with pytest.raises(ek.ParameterError, match="reaches into the treated periods"):
        ek.synth.SyntheticControl(
            treated="T", treatment_time=T0, predictors={"x": (2005, 2012)}
        ).fit(panel_of(factor_panel()))


def test_donor_treated_before_treatment_time():
    df = factor_panel()
    df["g"] = np.where(df["area"] == "T", T0, np.where(df["area"] == "d4", 2003, 0))
    panel = ek.Panel.from_frame(
        df, unit="area", time="year", outcome="y", cohort="g", never_treated=0
    )
    with pytest.raises(ek.IdentificationError, match=r"(?s)themselves treated .*d4.*2003"):
        ek.synth.SyntheticControl(treated="T", treatment_time=T0, donors=["d0", "d1", "d4"]).fit(
            panel
        )
    # by default such a donor is left out of the pool
    res = ek.synth.SyntheticControl(treated="T").fit(panel)
    assert "d4" not in res.weights.index and res.treatment_time == [T0]


def test_unknown_unit_and_column():
    panel = panel_of(factor_panel())
    with pytest.raises(ek.DataError, match="names unit 'X', which is not in the panel"):
        ek.synth.SyntheticControl(treated="X", treatment_time=T0).fit(panel)
    with pytest.raises(ek.DataError, match="must be covariates of the panel"):
        ek.synth.SyntheticControl(treated="T", treatment_time=T0, predictors={"z": None}).fit(panel)
    with pytest.raises(ek.ParameterError, match="'n_starts' parameter"):
        ek.synth.SyntheticControl(treated="T", treatment_time=T0, n_starts=-1).fit(panel)
    with pytest.raises(ek.ParameterError, match="'v' parameter"):
        ek.synth.SyntheticControl(treated="T", treatment_time=T0, v=[1.0]).fit(panel)


def test_outside_convex_hull_warns():
    df = factor_panel()
    df.loc[df["area"] == "T", "y"] += 50.0  # far above every donor
    with pytest.warns(ek.AssumptionWarning, match="outside the convex hull.*AugmentedSynth"):
        ek.synth.SyntheticControl(treated="T", treatment_time=T0).fit(panel_of(df))


# ------------------------------------------------------------------ inference
@pytest.fixture(scope="module")
def big_effect():
    df = factor_panel(5, n_donors=9, effect=-8.0)
    est = ek.synth.SyntheticControl(
        treated="T",
        treatment_time=T0,
        special_predictors={"y": [1996, 2000, 2005, 2009]},
        n_starts=1,
        ci_level=0.9,  # conformal needs 1/(T0+1) <= 1 - level; T0 = 15 here
    )
    return est.fit(panel_of(df))


def test_placebo_in_space_ranks_large_effect_first(big_effect):
    p = big_effect.placebo("space")
    assert len(p.table) == 10 and p.table["rank"].iloc[0] == 1
    assert p.p_value == pytest.approx(1 / 10)  # rank 1 of 10 units
    assert big_effect.placebo("space") is p  # cached
    assert p.gaps.columns[0] == "T"
    # filtering: only units with pre-MSPE <= 1e6 x the treated's are kept (all here),
    # and a tiny threshold keeps the treated unit alone
    only = big_effect.placebo("space", max_pre_mspe_ratio=1e-9)
    assert only.table["kept"].sum() >= 1 and only.p_value == 1 / only.table["kept"].sum()
    ek.validate(p.to_frame(), "effect_table")


def test_placebo_in_time_finds_no_effect(fitted, big_effect):
    # all lagged outcomes as predictors: the treated unit is an exact combination of donors
    # in every year, so a fake start in 2005 shows no effect at all
    p = fitted[1].placebo("time", at=2005)
    assert abs(p.table["effect"].item()) < 1e-4
    assert p.table["pre_mspe"].item() < 1e-8
    with pytest.raises(ek.ParameterError, match="'at' parameter"):
        big_effect.placebo("time", at=2012)


def test_leave_one_out_and_conformal(big_effect):
    loo = big_effect.leave_one_out()
    positive = (big_effect.weights > 1e-6).sum()
    assert loo.synthetic.shape[1] == positive + 1
    conf = big_effect.conformal()
    t = conf.to_frame()
    # the treated unit is an exact mix of donors, so the pre-fit is perfect and the
    # conformal interval can shrink to the estimate: compare up to rounding
    assert len(t) == 6 and (t["ci_lower"] <= t["estimate"] + 1e-9).all()
    assert (t["ci_upper"] < 0).all()  # an effect of -8: the interval excludes zero
    ek.validate(t, "effect_table")


def test_multiple_treated_units_separate_and_pooled():
    df = factor_panel(6)
    extra = df.loc[df["area"] == "T"].assign(area="T2")
    extra["y"] = extra["y"] + np.where(extra["year"] >= 2012, -1.0, 3.0 * 0)
    df = pd.concat([df, extra], ignore_index=True)
    df["g"] = df["area"].map({"T": T0, "T2": 2012}).fillna(0)
    panel = ek.Panel.from_frame(
        df, unit="area", time="year", outcome="y", cohort="g", never_treated=0
    )
    res = ek.synth.SyntheticControl(n_starts=1).fit(panel)
    assert res.treated == ["T", "T2"] and res.treatment_time == [T0, 2012]
    assert isinstance(res.weights, pd.DataFrame) and res.weights.shape[1] == 2
    table = res.to_frame()
    pooled = table.loc[table["aggregation"] == "event_time"].set_index("event_time")["estimate"]
    unit_gaps = table.loc[table["term"] == "gap"].dropna(subset=["unit"])
    by_hand = unit_gaps.groupby("event_time")["estimate"].mean()
    np.testing.assert_allclose(pooled.to_numpy(), by_hand.loc[pooled.index].to_numpy())
    with pytest.raises(ek.ParameterError, match="one treated unit"):
        res.placebo("time", at=2005)


def staggered_synth_frame(effect: float) -> pd.DataFrame:
    """Two treated units, T (from 2010) and T2 (from 2012), each an exact combination of
    donors before its start and that plus ``effect`` from it on."""
    df = factor_panel(6, effect=effect)
    t2 = df.loc[df["area"] == "T"].assign(area="T2")
    # T2 = T without T's effect, plus the same effect from 2012 on
    t2["y"] += np.where(t2["year"] >= 2012, effect, 0.0) - np.where(t2["year"] >= T0, effect, 0)
    df = pd.concat([df, t2], ignore_index=True)
    df["g"] = df["area"].map({"T": T0, "T2": 2012}).fillna(0)
    return df


def test_pooled_placebo_in_space_for_staggered_treated_units():
    df = staggered_synth_frame(-8.0)
    panel = ek.Panel.from_frame(
        df, unit="area", time="year", outcome="y", cohort="g", never_treated=0
    )
    res = ek.synth.SyntheticControl(n_starts=1).fit(panel)
    p = res.placebo("space", n_draws=99)
    assert isinstance(p, ek.synth.PooledPlaceboResult) and res.placebo("space", n_draws=99) is p
    # both units are exact donor combinations shifted by -8: pooled ATT -8, and no placebo
    # set of untreated donors comes close, so p = 1 / (99 + 1), the smallest possible
    assert p.att == pytest.approx(-8.0, abs=1e-3)
    assert p.p_value == pytest.approx(1 / 100) and p.p_value_ratio == pytest.approx(1 / 100)
    # every donor is fitted at both treatment times (the timing structure of the treated)
    assert len(p.table) == 2 * 12 and set(p.table["treatment_time"]) == {T0, 2012}
    # a placebo set's pooled ATT, checked by refitting each of its donors through the public
    # API as the treated unit at its slot's treatment time, the other donors as its pool
    units = [p.pool[i] for i in p.draws["units"].iloc[0]]
    donors = [f"d{i}" for i in range(12)]
    by_hand = []
    for unit, start in zip(units, [T0, 2012], strict=True):
        one = ek.synth.SyntheticControl(
            treated=unit,
            treatment_time=start,
            donors=[d for d in donors if d != unit],
            n_starts=1,
        ).fit(panel)
        by_hand.append(one.to_frame().query("term == 'att'")["estimate"].item())
    assert p.draws["att"].iloc[0] == pytest.approx(np.mean(by_hand), abs=1e-6)
    table = p.to_frame()
    ek.validate(table, "effect_table")
    assert table["term"].tolist()[:2] == ["att", "rmspe_ratio"]
    assert isinstance(p.plot(), Axes) and "Pooled ATT" in str(p.summary())
    assert res.plot(kind="placebo") is not None


def test_pooled_placebo_without_effect_is_not_significant():
    df = staggered_synth_frame(0.0)
    panel = ek.Panel.from_frame(
        df, unit="area", time="year", outcome="y", cohort="g", never_treated=0
    )
    p = ek.synth.SyntheticControl(n_starts=1).fit(panel).placebo("space", n_draws=99)
    assert abs(p.att) < 1e-3 and p.p_value > 0.5  # nothing to find: |ATT| ~ 0 is typical


def test_pooled_placebo_bad_input():
    df = staggered_synth_frame(-8.0)
    panel = ek.Panel.from_frame(
        df, unit="area", time="year", outcome="y", cohort="g", never_treated=0
    )
    res = ek.synth.SyntheticControl(n_starts=0).fit(panel)
    with pytest.raises(ek.ParameterError, match="'n_draws' parameter"):
        res.placebo("space", n_draws=5)
    with pytest.raises(ek.ParameterError, match="'max_pre_mspe_ratio' parameter"):
        res.placebo("space", max_pre_mspe_ratio=-1)
    # both treated units fit exactly (pre-MSPE ~ 0): no donor fits within 1e-12 of that
    with pytest.raises(ek.IdentificationError, match="no placebo donor fits"):
        res.placebo("space", max_pre_mspe_ratio=1e-12)
    few = df.loc[df["area"].isin(["T", "T2", "d0", "d1"])]
    res_few = ek.synth.SyntheticControl(n_starts=0).fit(
        ek.Panel.from_frame(few, unit="area", time="year", outcome="y", cohort="g", never_treated=0)
    )
    with pytest.raises(ek.IdentificationError, match="more donors than treated units"):
        res_few.placebo("space")


def test_plots(big_effect):
    for kind in ("trajectory", "gap", "placebo", "weights"):
        ax = big_effect.plot(kind=kind)
        assert isinstance(ax, Axes) and ax.get_title()
    _, own = plt.subplots()
    assert big_effect.plot(ax=own, kind="gap") is own
    assert isinstance(big_effect.placebo("time", at=2005).plot(), Axes)
    assert isinstance(big_effect.leave_one_out().plot(), Axes)
    assert isinstance(big_effect.conformal().plot(), Axes)
    with pytest.raises(ek.ParameterError, match="'kind' parameter"):
        big_effect.plot(kind="bars")
    text = str(big_effect.summary())
    assert "Donor weights" in text and "Pre-treatment RMSPE" in text


def test_donor_with_incomplete_outcome_is_dropped_with_ledger_entry():
    df = factor_panel()
    df = df.loc[~((df["area"] == "d7") & (df["year"] == 2003))]  # d7 unobserved in 2003
    with pytest.warns(ek.DroppedRowsWarning, match=r"left out of the donor pool: \['d7'\]"):
        res = ek.synth.SyntheticControl(treated="T", treatment_time=T0, n_starts=0).fit(
            panel_of(df)
        )
    assert "d7" not in res.weights.index
    ledger = res.ledger.to_frame()
    assert (ledger["unit"] == "d7").sum() == 20  # its 20 remaining rows
    assert ledger["reason"].str.contains("incomplete outcome").all()
