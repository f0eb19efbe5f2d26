"""Panel.from_frame: every validation rule, the ledger, immutability, display."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import effekt as ek

ROLES = dict(unit="unit", time="time", outcome="y")


def build(df, **kw):
    return ek.Panel.from_frame(df, **{**ROLES, **kw})


# ----------------------------------------------------------------- happy path
def test_derives_cohort_from_treatment(small_frame):
    panel = build(small_frame, treatment="d")
    units = panel.unit_table()
    assert units["cohort"].to_dict() == {"a": 2.0, "b": 3.0, "c": np.inf}
    assert panel.cohort == "cohort" and panel.treatment == "d"
    assert panel.absorbing


def test_derives_treatment_from_cohort(small_frame):
    panel = build(small_frame, cohort="g", never_treated=0)
    data = panel.data
    # treated from the cohort period on; never-treated (0 -> inf) never
    assert data["treated"].tolist() == small_frame["d"].tolist()
    assert panel.cohort_sizes() == {2.0: 1, 3.0: 1, np.inf: 1}


def test_treatment_and_cohort_checked_against_each_other(small_frame):
    panel = build(small_frame, treatment="d", cohort="g", never_treated=0)
    assert panel.treatment == "d" and panel.cohort == "g"
    bad = small_frame.assign(d=small_frame["d"].where(small_frame.index != 1, 0))
    with pytest.raises(ek.DataError, match="disagrees with the 'cohort' column 'g' in 1 row"):
        build(bad, treatment="d", cohort="g", never_treated=0)


def test_input_frame_is_unchanged(small_frame):
    before = small_frame.copy(deep=True)
    panel = build(small_frame.iloc[::-1], treatment="d", covariates=["x"], weights="w", cluster="k")
    pd.testing.assert_frame_equal(small_frame, before)
    # and the panel's data is a copy: editing it does not reach back or into the panel
    data = panel.data
    data.loc[0, "y"] = -99.0
    pd.testing.assert_frame_equal(small_frame, before)
    assert panel.data.loc[0, "y"] != -99.0


def test_mpdta_shape(mpdta_panel):
    assert (mpdta_panel.n_units, mpdta_panel.n_periods, mpdta_panel.n_obs) == (500, 5, 2500)
    assert mpdta_panel.is_balanced
    # published cohort sizes of mpdta (Callaway & Sant'Anna 2021; R did's mpdta documentation)
    assert mpdta_panel.cohort_sizes() == {2004.0: 20, 2006.0: 40, 2007.0: 131, np.inf: 309}


def test_never_treated_as_nan(small_frame):
    df = small_frame.assign(g=small_frame["g"].replace(0, np.nan))
    panel = build(df, cohort="g", never_treated=np.nan)
    assert panel.cohort_sizes()[np.inf] == 1


def test_integral_float_years_are_accepted(small_frame):
    panel = build(small_frame.assign(time=small_frame["time"].astype(float)), treatment="d")
    assert panel.data["time"].dtype == np.int64


def test_date_time_is_accepted(small_frame):
    dates = pd.to_datetime(small_frame["time"].map(lambda t: f"20{10 + t}-01-01"))
    panel = build(small_frame.assign(time=dates), treatment="d")
    assert panel.n_periods == 4
    assert pd.isna(panel.unit_table().loc["c", "cohort"])


def test_panel_is_immutable(small_frame):
    panel = build(small_frame, treatment="d")
    with pytest.raises(AttributeError, match="immutable"):
        panel.outcome = "x"


def test_fingerprint_stable_and_sensitive(small_frame):
    a = build(small_frame, treatment="d")
    b = build(small_frame.sample(frac=1.0, random_state=1), treatment="d")
    assert a.fingerprint == b.fingerprint  # row order does not matter
    c = build(small_frame.assign(y=small_frame["y"] + 1), treatment="d")
    assert a.fingerprint != c.fingerprint


def test_cluster_may_equal_unit(small_frame):
    panel = build(small_frame, treatment="d", cluster="unit")
    assert panel.cluster == "unit"


# ------------------------------------------------------------ ledger of drops
def test_missing_outcome_dropped_with_ledger_and_warning(small_frame):
    df = small_frame.copy()
    df.loc[2, "y"] = np.nan
    df.loc[5, "x"] = np.nan
    with pytest.warns(
        ek.DroppedRowsWarning,
        match=r"Dropped 2 of 12 rows: 1 missing outcome 'y'; "
        r"1 missing covariate 'x'",
    ):
        panel = build(df, treatment="d", covariates=["x"])
    ledger = panel.dropped
    assert ledger["row"].tolist() == [2, 5]
    assert ledger["reason"].tolist() == ["missing outcome 'y'", "missing covariate 'x'"]
    assert panel.n_obs == 10
    assert "Dropped 2 of 12 rows" in repr(panel)


def test_missing_raise_mode(small_frame):
    df = small_frame.copy()
    df.loc[3, "y"] = np.nan
    with pytest.raises(ek.DataError, match=r"1 row\(s\) have missing values .*missing outcome 'y'"):
        build(df, treatment="d", missing="raise")


def test_missing_keep_keeps_rows_with_missing_covariates(small_frame):
    df = small_frame.copy()
    df.loc[2, "x"] = np.nan
    df.loc[4, "y"] = np.nan
    with pytest.warns(ek.DroppedRowsWarning, match="Dropped 1 of 12 rows: 1 missing outcome"):
        panel = build(df, treatment="d", covariates=["x"], missing="keep")
    assert panel.n_obs == 11
    assert panel.missing_covariates().to_dict() == {"x": 1}


def test_no_warning_when_nothing_dropped(small_frame, recwarn):
    build(small_frame, treatment="d")
    assert not [w for w in recwarn if issubclass(w.category, ek.EffektWarning)]


# ---------------------------------------------------------------- bad input
def test_empty_frame():
    with pytest.raises(ek.DataError, match="empty frame"):
        ek.Panel.from_frame(pd.DataFrame({"unit": [], "time": [], "y": []}), **ROLES)


def test_not_a_dataframe():
    with pytest.raises(ek.ParameterError, match="needs a pandas DataFrame as 'df'. Got dict"):
        ek.Panel.from_frame({"unit": [1]}, **ROLES)


def test_unknown_column_suggests_close_match(small_frame):
    with pytest.raises(
        ek.DataError,
        match=r"'outcome' argument .* names column 'yy'.*Did you "
        r"mean 'y'\?",
    ):
        build(small_frame, outcome="yy")


def test_unknown_covariate(small_frame):
    with pytest.raises(ek.DataError, match="'covariates' argument .* names column 'z'"):
        build(small_frame, covariates=["z"])


def test_covariates_as_single_string_is_one_column(small_frame):
    panel = build(small_frame, treatment="d", covariates="x")
    assert panel.covariates == ("x",)


def test_column_in_two_roles(small_frame):
    with pytest.raises(
        ek.ParameterError, match="Column 'x' is given both as 'outcome' and as 'covariates'"
    ):
        build(small_frame, outcome="x", covariates=["x"])


def test_duplicated_unit_time(small_frame):
    df = pd.concat([small_frame, small_frame.iloc[[0]]])
    with pytest.raises(ek.DataError, match=r"2 rows share a \('unit', 'time'\) pair"):
        build(df)


def test_nan_in_unit(small_frame):
    df = small_frame.astype({"unit": object})
    df.loc[4, "unit"] = None
    with pytest.raises(ek.DataError, match="The 'unit' column 'unit' has 1 missing value"):
        build(df)


def test_nan_in_time(small_frame):
    df = small_frame.astype({"time": float})
    df.loc[0, "time"] = np.nan
    with pytest.raises(ek.DataError, match="The 'time' column 'time' has 1 missing value"):
        build(df)


def test_string_years(small_frame):
    df = small_frame.assign(time=small_frame["time"].astype(str))
    with pytest.raises(
        ek.DataError,
        match=r"(?s)must hold integer periods .*first value '1'.*"
        r"astype\(int\)",
    ):
        build(df)


def test_fractional_time(small_frame):
    df = small_frame.assign(time=small_frame["time"] + 0.5)
    with pytest.raises(ek.DataError, match="holds fractional values"):
        build(df)


def test_non_numeric_outcome(small_frame):
    df = small_frame.assign(y=small_frame["y"].astype(str))
    with pytest.raises(ek.DataError, match="The 'outcome' column 'y' must be numeric"):
        build(df)


def test_treatment_not_binary(small_frame):
    df = small_frame.assign(d=small_frame["d"] * 2)
    with pytest.raises(ek.DataError, match="must be 0/1 or boolean; found values"):
        build(df, treatment="d")


def test_non_absorbing_treatment(small_frame):
    df = small_frame.copy()
    df.loc[3, "d"] = 0  # unit a: 0 1 1 0
    with pytest.raises(
        ek.IdentificationError,
        match=r"(?s)not absorbing: 1 unit\(s\) switch .* "
        r"units \['a'\].*absorbing=False",
    ):
        build(df, treatment="d")


def test_non_absorbing_allowed_when_asked(small_frame):
    df = small_frame.copy()
    df.loc[3, "d"] = 0
    panel = build(df, treatment="d", absorbing=False)
    assert panel.cohort is None and not panel.absorbing


def test_cohort_varying_within_unit(small_frame):
    df = small_frame.copy()
    df.loc[1, "g"] = 3
    with pytest.raises(ek.DataError, match=r"varies within 1 unit\(s\), e.g. \['a'\]"):
        build(df, cohort="g", never_treated=0)


def test_never_treated_coding_must_be_explicit(small_frame):
    with pytest.raises(
        ek.DataError,
        match=r"holds \[0\], outside the observed periods 1–4.*"
        r"never_treated=0",
    ):
        build(small_frame, cohort="g")


def test_cohort_nan_without_nan_coding(small_frame):
    df = small_frame.assign(g=small_frame["g"].replace(0, np.nan))
    with pytest.raises(ek.DataError, match="has 4 missing value.*never_treated=numpy.nan"):
        build(df, cohort="g", never_treated=0)


def test_non_positive_weights(small_frame):
    df = small_frame.assign(w=small_frame["w"].where(small_frame.index != 0, 0.0))
    with pytest.raises(ek.DataError, match="'weights' column 'w' must be positive; 1 row"):
        build(df, treatment="d", weights="w")


def test_invalid_missing_argument(small_frame):
    with pytest.raises(
        ek.ParameterError,
        match=r"The 'missing' parameter of Panel.from_frame "
        r"must be one of \{'drop', 'raise', 'keep'\}. Got 'ignore' instead.",
    ):
        build(small_frame, missing="ignore")


def test_cohort_sizes_without_treatment(small_frame):
    with pytest.raises(ek.IdentificationError, match="needs treatment timing"):
        build(small_frame).cohort_sizes()


# ------------------------------------------------------------------- display
def test_repr_and_html(mpdta_panel):
    text = repr(mpdta_panel)
    assert "500 (countyreal)" in text and "balanced" in text
    assert "3 (2004: 20, 2006: 40, 2007: 131); never treated: 309" in text
    html = mpdta_panel._repr_html_()
    assert html.startswith("<div>") and "never treated: 309" in html


def test_rollout_plot(mpdta_panel):
    ax = mpdta_panel.plot_rollout(max_units=1000)
    assert ax.get_title() == "Treatment rollout"
    image = ax.get_images()[0].get_array()
    assert image.shape == (500, 5)
    # rows are sorted by cohort: the 20 units of cohort 2004 come first, treated from 2004
    assert image[0].tolist() == [0, 1, 1, 1, 1]
    assert image[-1].tolist() == [0, 0, 0, 0, 0]
    # beyond max_units an evenly spaced subset is drawn
    assert mpdta_panel.plot_rollout(max_units=100).get_images()[0].get_array().shape == (100, 5)


def test_rollout_plot_in_danish(mpdta_panel):
    with ek.set_options(language="da"):
        ax = mpdta_panel.plot_rollout()
    assert ax.get_title() == "Indfasning af indsatsen"
