"""Invariance properties of CallawaySantAnna on small random staggered panels (hypothesis).

DiD differences out levels, so adding a constant to the outcome leaves every ATT(g,t)
and standard error unchanged; all three 2x2 estimators are linear in the outcome, so
scaling it scales the ATTs and their standard errors; and unit labels and row order
carry no information.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import effekt as ek

SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def staggered_panels(draw) -> tuple[pd.DataFrame, dict]:
    n_periods = draw(st.integers(3, 5))
    periods = np.arange(2000, 2000 + n_periods)
    cohorts = draw(
        st.lists(st.sampled_from(periods[1:].tolist()), min_size=1, max_size=3, unique=True)
    )
    sizes = [draw(st.integers(3, 6)) for _ in cohorts]
    n_never = draw(st.integers(4, 8))
    g = np.concatenate([np.full(s, c) for s, c in zip(sizes, cohorts, strict=True)])
    g = np.concatenate([g, np.zeros(n_never, dtype=int)])
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    n = len(g)
    df = pd.DataFrame(
        {
            "unit": np.repeat(np.arange(n), n_periods),
            "year": np.tile(periods, n),
            "g": np.repeat(g, n_periods),
            "x": np.repeat(rng.normal(size=n), n_periods),
        }
    )
    treated = (df["g"] > 0) & (df["year"] >= df["g"])
    df["y"] = df["x"] + rng.normal(size=len(df)) + treated * rng.normal(1, 0.5, len(df))
    params = {
        "method": draw(st.sampled_from(["dr", "ipw", "reg"])),
        "control_group": draw(st.sampled_from(["never_treated", "not_yet_treated"])),
        "base_period": draw(st.sampled_from(["varying", "universal"])),
        "covariates": draw(st.sampled_from([(), ("x",)])),
    }
    return df, params


def _fit(df: pd.DataFrame, params: dict, unit: str = "unit") -> tuple[pd.DataFrame, pd.DataFrame]:
    panel = ek.Panel.from_frame(
        df, unit=unit, time="year", outcome="y", cohort="g", never_treated=0, covariates=["x"]
    )
    with warnings.catch_warnings():
        # tiny samples: overlap and cluster-count warnings are expected and irrelevant here
        warnings.simplefilter("ignore", ek.AssumptionWarning)
        # every panel the strategy draws is identified (>= 3 units per cohort, >= 4 never
        # treated, a continuous covariate), so a fit that raises fails the test: no
        # example is skipped
        res = ek.did.CallawaySantAnna(**params).fit(panel)
    return res.att_gt, res.aggregate("event_time").estimates


def _close(a: pd.Series, b: pd.Series, scale: float = 1.0) -> None:
    np.testing.assert_allclose(a.to_numpy(), b.to_numpy(), rtol=1e-8, atol=1e-10 * scale)


@SETTINGS
@given(staggered_panels(), st.floats(-1e3, 1e3, allow_nan=False))
def test_adding_a_constant_changes_nothing(case, shift):
    df, params = case
    base, moved = _fit(df, params), _fit(df.assign(y=df["y"] + shift), params)
    (base, base_es), (moved, moved_es) = base, moved
    _close(moved["estimate"], base["estimate"], scale=1 + abs(shift))
    _close(moved["std_error"], base["std_error"], scale=1 + abs(shift))
    _close(moved_es["estimate"], base_es["estimate"], scale=1 + abs(shift))


@SETTINGS
@given(
    staggered_panels(),
    st.floats(1e-3, 1e3).flatmap(lambda v: st.sampled_from([v, -v])),
)
def test_scaling_the_outcome_scales_estimates_and_errors(case, factor):
    df, params = case
    base, scaled = _fit(df, params), _fit(df.assign(y=df["y"] * factor), params)
    (base, base_es), (scaled, scaled_es) = base, scaled
    _close(scaled["estimate"], base["estimate"] * factor, scale=abs(factor))
    _close(scaled["std_error"], base["std_error"] * abs(factor), scale=abs(factor))
    _close(scaled_es["std_error"], base_es["std_error"] * abs(factor), scale=abs(factor))


@SETTINGS
@given(staggered_panels(), st.integers(0, 2**32 - 1))
def test_unit_labels_and_row_order_carry_no_information(case, seed):
    df, params = case
    fitted = _fit(df, params)
    rng = np.random.default_rng(seed)
    labels = rng.permutation(df["unit"].nunique())
    relabelled = df.assign(name=[f"area-{labels[u]:03d}" for u in df["unit"]]).drop(columns="unit")
    shuffled = relabelled.sample(frac=1.0, random_state=int(seed % 2**31))
    refitted = _fit(shuffled, params, unit="name")
    (base, base_es), (again, again_es) = fitted, refitted
    pd.testing.assert_frame_equal(
        again[["cohort", "time", "event_time", "n_treated", "n_control"]],
        base[["cohort", "time", "event_time", "n_treated", "n_control"]],
    )
    _close(again["estimate"], base["estimate"])
    _close(again["std_error"], base["std_error"])
    _close(again_es["estimate"], base_es["estimate"])
    _close(again_es["std_error"], base_es["std_error"])
