"""Goodman-Bacon decomposition: the TWFE identity, hand computation and two peers."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matplotlib.axes import Axes

import effekt as ek

REF = Path(__file__).parent / "reference" / "did_extra"


def _panel(df: pd.DataFrame) -> ek.Panel:
    return ek.Panel.from_frame(
        df, unit="unit", time="time", outcome="y", cohort="g", never_treated=0
    )


def _twfe(panel: ek.Panel) -> float:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ek.AssumptionWarning)
        return float(ek.did.TwoWayFE().fit(panel).to_frame().loc[0, "estimate"])


def _design(sizes: dict[int, int], n_periods: int, seed: int) -> pd.DataFrame:
    """Balanced panel, cohort -> number of units (0 = never), random outcomes."""
    rng = np.random.default_rng(seed)
    rows = []
    uid = 0
    for g, n in sizes.items():
        for _ in range(n):
            uid += 1
            for t in range(1, n_periods + 1):
                rows.append((uid, t, g, rng.normal() + (0.5 * (t - g + 1) if g and t >= g else 0)))
    return pd.DataFrame(rows, columns=["unit", "time", "g", "y"])


@pytest.fixture(scope="module")
def mpdta_panel_m() -> ek.Panel:
    df = ek.datasets.load_dataset("mpdta")
    return ek.Panel.from_frame(
        df, unit="countyreal", time="year", outcome="lemp", cohort="first.treat", never_treated=0
    )


def test_weights_sum_to_one_and_reproduce_twfe_on_mpdta(mpdta_panel_m):
    dec = ek.did.bacon_decomposition(mpdta_panel_m)
    table = dec.to_frame()
    assert table["weight"].sum() == pytest.approx(1.0, abs=1e-12)
    assert float(table["weight"] @ table["estimate"]) == pytest.approx(
        _twfe(mpdta_panel_m), abs=1e-10
    )
    assert set(table["group"]) == {"treated_vs_never", "early_vs_late", "late_vs_early"}


def test_matches_pybacondecomp_and_diff_diff(mpdta_panel_m):
    ref = json.loads((REF / "bacon_mpdta.json").read_text())
    table = ek.did.bacon_decomposition(mpdta_panel_m).to_frame()
    ours = table.set_index(["treated_cohort", "control_cohort"])
    kinds = {"Early vs Late": "early_vs_late", "Late vs Early": "late_vs_early"}
    for row in ref["pybacondecomp"]["two_by_two"]:
        key = (row["treated"], row["control"].lower())
        assert ours.loc[key, "estimate"] == pytest.approx(row["estimate"], rel=1e-9)
        assert ours.loc[key, "weight"] == pytest.approx(row["weight"], rel=1e-9)
        assert ours.loc[key, "group"] == kinds.get(row["type"], "treated_vs_never")
    for c in ref["diff_diff"]["comparisons"]:
        control = "never" if c["control"] == "never_treated" else str(c["control"])
        key = (str(c["treated"]), control)
        assert ours.loc[key, "estimate"] == pytest.approx(c["estimate"], rel=1e-9)
        assert ours.loc[key, "weight"] == pytest.approx(c["weight"], rel=1e-9)
    assert len(ours) == len(ref["pybacondecomp"]["two_by_two"])


def test_three_cohort_panel_by_hand():
    # cohorts 3, 5 and never, 6 periods: one comparison computed from group means by hand
    df = _design({0: 4, 3: 2, 5: 3}, n_periods=6, seed=1)
    dec = ek.did.bacon_decomposition(_panel(df))
    table = dec.to_frame().set_index(["treated_cohort", "control_cohort"])
    m = df.groupby(["g", "time"])["y"].mean()

    def mean(g, ts):
        return float(np.mean([m[(g, t)] for t in ts]))

    # later cohort 5 vs earlier cohort 3 as control, periods 3..6: mid 3-4, post 5-6
    by_hand = (mean(5, [5, 6]) - mean(5, [3, 4])) - (mean(3, [5, 6]) - mean(3, [3, 4]))
    assert table.loc[("5", "3"), "estimate"] == pytest.approx(by_hand, rel=1e-12)
    # its weight from Goodman-Bacon (2021, eq. 10c): n_k = 2/9, n_l = 3/9, D_k = 4/6, D_l = 2/6
    nk, nl, dk, dl = 2 / 9, 3 / 9, 4 / 6, 2 / 6
    nkl = nk / (nk + nl)
    raw = {
        ("5", "3"): ((nk + nl) * dk) ** 2 * nkl * (1 - nkl) * (dl / dk) * ((dk - dl) / dk),
        ("3", "5"): ((nk + nl) * (1 - dl)) ** 2
        * nkl
        * (1 - nkl)
        * ((dk - dl) / (1 - dl))
        * ((1 - dk) / (1 - dl)),
    }
    nu = 4 / 9
    for g, d in (("3", dk), ("5", dl)):
        n_g = nk if g == "3" else nl
        share = n_g / (n_g + nu)
        raw[(g, "never")] = (n_g + nu) ** 2 * share * (1 - share) * d * (1 - d)
    total = sum(raw.values())
    for key, value in raw.items():
        assert table.loc[key, "weight"] == pytest.approx(value / total, rel=1e-12)
    assert dec.twfe_estimate == pytest.approx(_twfe(_panel(df)), abs=1e-10)


def test_always_treated_units_enter_as_their_own_type():
    df = _design({1: 3, 3: 2, 5: 3}, n_periods=6, seed=2)  # cohort 1 = treated throughout
    dec = ek.did.bacon_decomposition(_panel(df))
    table = dec.to_frame()
    assert "treated_vs_always" in set(table["group"])
    assert (table.loc[table["group"] == "treated_vs_always", "control_cohort"] == "always").all()
    assert dec.twfe_estimate == pytest.approx(_twfe(_panel(df)), abs=1e-10)
    assert table["weight"].sum() == pytest.approx(1.0, abs=1e-12)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    # a treated cohort (3, 4 or 6) and at least one other group: every draw has a 2x2
    sizes=st.lists(st.integers(0, 4), min_size=5, max_size=5).filter(
        lambda s: sum(s[2:]) > 0 and sum(n > 0 for n in s) >= 2
    ),
    seed=st.integers(0, 2**16),
)
def test_identity_holds_for_any_staggered_design(sizes, seed):
    # cohorts 1 (always treated), 3, 4, 6 and never treated, 7 periods; any group may be empty
    design = {g: n for g, n in zip((0, 1, 3, 4, 6), sizes, strict=True) if n}
    assert len(design) >= 2
    df = _design(design, n_periods=7, seed=seed)
    dec = ek.did.bacon_decomposition(_panel(df))
    assert dec.to_frame()["weight"].sum() == pytest.approx(1.0, abs=1e-10)
    assert dec.twfe_estimate == pytest.approx(_twfe(_panel(df)), abs=1e-9)


def test_by_type_summarises_the_rows(mpdta_panel_m):
    dec = ek.did.bacon_decomposition(mpdta_panel_m)
    by_type = dec.by_type()
    assert by_type["weight"].sum() == pytest.approx(1.0)
    assert float(by_type["weight"] @ by_type["estimate"]) == pytest.approx(dec.twfe_estimate)
    # pybacondecomp's summary for mpdta: treated vs never carries weight 0.8628
    assert by_type.loc["treated_vs_never", "weight"] == pytest.approx(0.8627744180814885)


def test_result_protocol_and_plot(mpdta_panel_m):
    dec = ek.did.bacon_decomposition(mpdta_panel_m)
    ek.validate(dec.to_frame(), "effect_table")
    assert "TWFE estimate" in dec.summary().as_text()
    ax = dec.plot()
    assert isinstance(ax, Axes) and ax.get_title()
    assert len(ax.collections) == 3  # one scatter per comparison type present


def test_errors(mpdta_panel_m):
    df = _design({0: 3, 3: 3}, n_periods=5, seed=0)
    with pytest.raises(ek.IdentificationError, match="needs a balanced panel"):
        ek.did.bacon_decomposition(_panel(df.iloc[1:]))
    with_x = ek.Panel.from_frame(
        df.assign(x=np.arange(len(df), dtype=float)),
        unit="unit",
        time="time",
        outcome="y",
        cohort="g",
        never_treated=0,
        covariates=["x"],
    )
    with pytest.raises(ek.IdentificationError, match="without covariates"):
        ek.did.bacon_decomposition(with_x)
    no_timing = ek.Panel.from_frame(df, unit="unit", time="time", outcome="y")
    with pytest.raises(ek.IdentificationError, match="needs treatment timing"):
        ek.did.bacon_decomposition(no_timing)
    with pytest.raises(ek.IdentificationError, match="no unit starts treatment"):
        ek.did.bacon_decomposition(_panel(df.assign(g=0)))
