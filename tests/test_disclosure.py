"""Tests of effekt.disclosure.

Every expected value is worked out by hand in the comments next to it from the
rules in the module docstring (count rule ``0 < n < min_count``, numerator
``round(value * n / scale)``, greedy complementary suppression).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt import disclosure
from effekt.errors import AssumptionWarning, DataError, EffektWarning, ParameterError

NA = pd.NA


def flags(frame: pd.DataFrame, column: str) -> list[object]:
    """Flag column as a list with None for published cells."""
    return [None if pd.isna(v) else v for v in frame[f"{column}_suppressed"]]


def masked_cells(frame: pd.DataFrame, column: str) -> list[int]:
    return [int(i) for i in np.flatnonzero(frame[column].isna().to_numpy())]


@pytest.fixture
def small() -> pd.DataFrame:
    # n = 4 and 3 are below 5; 5 is not; at min_count=3 none is below.
    return pd.DataFrame({"group": ["a", "b", "c"], "n": [4, 5, 3], "share": [0.5, 0.4, 2 / 3]})


@pytest.fixture
def area_year() -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "area_id": ["a1", "a2"],
            "year": [2020, 2020],
            "residents": [1200, 1500],
            "neet_share": [0.25, 0.1],  # a1 rests on pop_15_24 = 4 < 5
            "pop_15_24": [4, 100],
            "youth_charged_per_1000": [40.0, 5.0],  # a2: 5 * 200 / 1000 = 1 charged youth
            "pop_15_25": [150, 200],
            "income_rel_region": [0.5, 0.6],
            "pop_15_64": [800, 900],
        }
    )
    return ek.validate(frame, "area_year")  # it really is an area_year table


# ---------------------------------------------------------------------------
# Primary rule


def test_check_flags_counts_below_min_count(small: pd.DataFrame) -> None:
    res = disclosure.check(small, counts="n", min_count=5)
    assert not res.ok
    assert res.n_violations == 4  # rows 0 and 2, both the count and the share
    got = res.to_frame()
    assert got["group"].tolist() == ["a", "a", "c", "c"]
    assert got["row"].tolist() == [0, 0, 2, 2]
    assert got["column"].tolist() == ["n", "share", "n", "share"]
    assert got["count"].tolist() == [4, 4, 3, 3]
    assert got["reason"].astype(str).tolist() == ["count"] * 4
    assert res.n_cells == 6
    assert res.columns == {"n": "n", "share": "n"}


def test_min_count_three_keeps_three(small: pd.DataFrame) -> None:
    assert disclosure.check(small, counts="n", min_count=3).ok
    out = disclosure.suppress(small, counts="n", min_count=3)
    assert out["n"].tolist() == [4, 5, 3]
    assert flags(out, "n") == [None, None, None]


def test_suppress_masks_primary_cells(small: pd.DataFrame) -> None:
    out = disclosure.suppress(small, counts="n")
    assert out["n"].dtype == "Int64"
    assert out["n"].tolist() == [NA, 5, NA]
    assert out["share"].isna().tolist() == [True, False, True]
    assert out.loc[1, "share"] == 0.4
    assert flags(out, "n") == ["count", None, "count"]
    assert flags(out, "share") == ["count", None, "count"]
    assert out["n_suppressed"].dtype == disclosure.FLAG_DTYPE
    assert out.attrs["disclosure"]["n_primary"] == 4
    assert out.attrs["disclosure"]["n_secondary"] == 0
    assert out.attrs["disclosure"]["min_count"] == 5
    # the suppressed table passes the check it failed
    assert disclosure.check(out, counts="n").ok


def test_option_default_is_honoured() -> None:
    table = pd.DataFrame({"n": [2, 3]})
    assert disclosure.check(table, counts="n").n_violations == 2  # default 5
    with ek.set_options(min_cell_count=3):
        res = disclosure.check(table, counts="n")
        assert res.min_count == 3
        assert res.to_frame()["count"].tolist() == [2]
        assert disclosure.suppress(table, counts="n")["n"].tolist() == [NA, 3]
    assert disclosure.check(table, counts="n").min_count == 5


def test_zero_counts_are_published_unless_zeros() -> None:
    table = pd.DataFrame({"n": [0, 7]})
    assert disclosure.check(table, counts="n").ok
    res = disclosure.check(table, counts="n", zeros=True)
    assert res.to_frame()["row"].tolist() == [0]


def test_missing_values_are_not_violations() -> None:
    # A share that is missing because nobody is in the group publishes nothing.
    table = pd.DataFrame({"share": [np.nan, 0.5], "n": [0, 10]})
    assert disclosure.check(table, counts="n", zeros=True).to_frame()["column"].tolist() == ["n"]


def test_values_restrict_the_checked_columns() -> None:
    table = pd.DataFrame({"treated": [0, 1], "n": [3, 10], "share": [0.5, 0.2]})
    res = disclosure.check(table, counts="n", values=["share"])
    assert res.columns == {"n": "n", "share": "n"}
    assert "treated" in res.to_frame().columns  # shown beside the violations
    assert res.unchecked == ("treated",)  # and listed as not checked
    # by default an integer indicator is a value column like any other
    assert disclosure.check(table, counts="n").columns == {"treated": "n", "n": "n", "share": "n"}


def test_mapping_counts_and_unchecked_columns() -> None:
    table = pd.DataFrame(
        {
            "year": [2020],
            "share_a": [0.5],
            "n_a": [10],
            "share_b": [0.5],
            "n_b": [2],
            "median_income": [300_000.0],
        }
    )
    res = disclosure.check(table, counts={"share_a": "n_a", "share_b": "n_b"})
    assert res.to_frame()["column"].tolist() == ["share_b", "n_b"]
    assert res.unchecked == ("median_income",)  # year is a key, not a value
    assert "NOT checked (no person count known): median_income" in repr(res)


# ---------------------------------------------------------------------------
# area_year inference


def test_area_year_counts_inferred_from_denominators(area_year: pd.DataFrame) -> None:
    res = disclosure.check(area_year)
    # From data_schemas/area_year.schema.json: each field's "denominator", and
    # the unit-"persons" fields count themselves.
    assert res.columns == {
        "residents": "residents",
        "neet_share": "pop_15_24",
        "pop_15_24": "pop_15_24",
        "youth_charged_per_1000": "pop_15_25",
        "pop_15_25": "pop_15_25",
        "income_rel_region": "pop_15_64",
        "pop_15_64": "pop_15_64",
    }
    got = res.to_frame()
    assert got[["area_id", "column", "count"]].values.tolist() == [
        ["a1", "neet_share", 4],
        ["a1", "pop_15_24", 4],
    ]
    assert res.unchecked == ()


def test_area_year_suppressed_without_flags_still_valid(area_year: pd.DataFrame) -> None:
    out = disclosure.suppress(area_year, flag_suffix=None)
    assert list(out.columns) == list(area_year.columns)
    assert out["pop_15_24"].tolist() == [NA, 100]
    assert out["neet_share"].isna().tolist() == [True, False]
    ek.validate(out, "area_year")
    assert disclosure.check(out).ok


def test_area_year_without_denominator_column(area_year: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="rests on the person count 'pop_15_24'"):
        disclosure.check(area_year.drop(columns="pop_15_24"))


def test_not_area_year_needs_counts() -> None:
    with pytest.raises(ParameterError, match=r"Pass counts='n'"):
        disclosure.check(pd.DataFrame({"estimate": [0.1], "n_obs": [3]}))


def test_values_with_inferred_counts(area_year: pd.DataFrame) -> None:
    res = disclosure.check(area_year, values=["residents"])
    assert res.columns == {"residents": "residents"} and res.ok
    with pytest.raises(ParameterError, match="'values' parameter of check"):
        disclosure.check(area_year, values=["area_id"])


# ---------------------------------------------------------------------------
# Numerator rule


def test_numerator_rule_on_shares() -> None:
    table = pd.DataFrame({"n": [400, 400, 400, 400], "share": [0.005, 0.99, 0.5, 0.0]})
    # numerators: 0.005 * 400 = 2 (< 5); 0.99 * 400 = 396, complement 4 (< 5);
    # 200 and 196 fine; 0 persons with the attribute is allowed unless zeros=True.
    assert disclosure.check(table, counts="n").ok  # rule off by default
    res = disclosure.check(table, counts="n", numerators={"share": 1})
    got = res.to_frame()
    assert got["row"].tolist() == [0, 1]
    assert got["numerator"].tolist() == [2, 396]
    assert got["reason"].astype(str).tolist() == ["numerator", "numerator"]
    strict = disclosure.check(table, counts="n", numerators={"share": 1}, zeros=True)
    assert strict.to_frame()["row"].tolist() == [0, 1, 3]
    out = disclosure.suppress(table, counts="n", numerators={"share": 1})
    assert flags(out, "share") == ["numerator", "numerator", None, None]
    assert flags(out, "n") == [None] * 4  # the counts themselves are fine
    assert out["n"].tolist() == [400] * 4


def test_numerator_rule_uses_schema_units(area_year: pd.DataFrame) -> None:
    res = disclosure.check(area_year, numerators=True)
    # shares scale 1, per-1,000 rates scale 1000, the ratio income_rel_region none.
    assert res.numerator_scales == {"neet_share": 1.0, "youth_charged_per_1000": 1000.0}
    got = res.to_frame()
    # a2: 5 per 1,000 of 200 = 1 charged youth; a1: 40 of 150 per 1,000 = 6 (fine).
    row = got[got["column"] == "youth_charged_per_1000"]
    assert row[["area_id", "numerator", "count"]].values.tolist() == [["a2", 1, 200]]
    assert row["reason"].astype(str).tolist() == ["numerator"]


def test_numerator_percentage_scale() -> None:
    table = pd.DataFrame({"pct": [1.0, 50.0], "n": [300, 300]})  # 3 and 150 persons
    res = disclosure.check(table, counts="n", numerators={"pct": 100})
    assert res.to_frame()["numerator"].tolist() == [3]


def test_numerators_true_needs_known_units() -> None:
    table = pd.DataFrame({"rate": [0.5], "n": [10]})
    with pytest.raises(ParameterError, match=r"numerators=\{'rate': 1\}"):
        disclosure.check(table, counts="n", numerators=True)


def test_numerator_outside_range_is_an_error() -> None:
    table = pd.DataFrame({"share": [45.0], "n": [100]})  # a percentage passed as share
    with pytest.raises(DataError, match="percentage rather than a share"):
        disclosure.check(table, counts="n", numerators={"share": 1})


@pytest.mark.parametrize(
    ("numerators", "match"),
    [
        ({"n": 1}, "checked value columns"),
        ({"share": 0}, "positive scales"),
        ({"share": True}, "positive scales"),
        ("yes", "True, False or a mapping"),
    ],
)
def test_bad_numerators(numerators: object, match: str) -> None:
    table = pd.DataFrame({"share": [0.5], "n": [10]})
    with pytest.raises(ParameterError, match=match):
        disclosure.check(table, counts="n", numerators=numerators)  # type: ignore[arg-type]


def test_numerator_rule_needs_numbers() -> None:
    table = pd.DataFrame({"label": ["x"], "n": [10]})
    with pytest.raises(DataError, match="needs numbers in 'label'"):
        disclosure.check(table, counts={"label": "n"}, numerators={"label": 1})


# ---------------------------------------------------------------------------
# Secondary suppression


def group_table() -> pd.DataFrame:
    # 2020: parts 3, 10, 7 and total 20; 2021: parts 6, 8, 9, total 23 (all >= 5).
    # The shares are numerators / n: 2020 (1, 5, 3) / (3, 10, 7), total 9 / 20.
    return pd.DataFrame(
        {
            "year": [2020] * 4 + [2021] * 4,
            "kommune": ["A", "B", "C", "I alt"] * 2,
            "n": [3, 10, 7, 20, 6, 8, 9, 23],
            "share": [1 / 3, 0.5, 3 / 7, 0.45, 0.5, 0.5, 1 / 3, 10 / 23],
        }
    )


def test_one_primary_gets_the_smallest_complement() -> None:
    out = disclosure.suppress(group_table(), counts="n", groups="year", total=("kommune", "I alt"))
    # 2020: A (3) is primary; the smallest other cell of the group is C (7), not B (10)
    # or the total (20). 2021 has nothing to protect.
    expected = ["count", None, "secondary", None, None, None, None, None]
    assert flags(out, "n") == expected
    assert flags(out, "share") == expected  # shares follow their counts
    assert out["n"].tolist() == [NA, 10, NA, 20, 6, 8, 9, 23]
    assert out.attrs["disclosure"]["n_secondary"] == 2
    assert out.attrs["disclosure"]["secondary"] is True


def test_two_primaries_need_no_complement() -> None:
    table = pd.DataFrame({"kommune": ["A", "B", "C", "D", "I alt"], "n": [3, 4, 10, 20, 37]})
    out = disclosure.suppress(table, counts="n", total=("kommune", "I alt"))
    # A + B = 37 - 30 = 7 is known, but neither cell alone is.
    assert flags(out, "n") == ["count", "count", None, None, None]
    assert out.attrs["disclosure"]["n_secondary"] == 0


def test_secondary_false_does_primary_only() -> None:
    out = disclosure.suppress(
        group_table(), counts="n", groups="year", total=("kommune", "I alt"), secondary=False
    )
    assert masked_cells(out, "n") == [0]
    assert out.attrs["disclosure"]["secondary"] is False


def test_complement_ties_by_row_order_and_empty_cells_last() -> None:
    table = pd.DataFrame({"k": ["A", "B", "C", "D", "T"], "n": [3, 0, 7, 7, 17]})
    out = disclosure.suppress(table, counts="n", total=("k", "T"))
    # B has 0 persons (an empty cell protects nothing), so the first of the two 7s: C.
    assert flags(out, "n") == ["count", None, "secondary", None, None]


def test_numerator_primary_protected_in_its_own_column() -> None:
    table = pd.DataFrame(
        {
            "k": ["A", "B", "C", "D", "T"],
            "n": [100, 50, 60, 80, 290],
            # numerators 2, 25, 30, 40 and 97 in total
            "share": [0.02, 0.5, 0.5, 0.5, 97 / 290],
        }
    )
    out = disclosure.suppress(table, counts="n", numerators={"share": 1}, total=("k", "T"))
    # A's share hides 2 persons; B (n = 50) is the part resting on fewest persons.
    assert flags(out, "share") == ["numerator", "secondary", None, None, None]
    assert flags(out, "n") == [None] * 5


def test_groups_without_total_row() -> None:
    table = pd.DataFrame({"year": [2020, 2020, 2020], "area": ["x", "y", "z"], "n": [3, 10, 7]})
    # The parts' sum (e.g. the kommune's population) is public elsewhere.
    out = disclosure.suppress(table, counts="n", groups="year")
    assert flags(out, "n") == ["count", None, "secondary"]


def test_two_way_table_cascade() -> None:
    counts = {  # rows r1..r3, columns c1..c3, totals T (all margins add up)
        "r1": [3, 20, 30, 53],
        "r2": [8, 40, 6, 54],
        "r3": [25, 9, 50, 84],
        "T": [36, 69, 86, 191],
    }
    cols = ["c1", "c2", "c3", "T"]
    long = pd.DataFrame(
        [(r, c, v) for r, row in counts.items() for c, v in zip(cols, row, strict=True)],
        columns=["row", "col", "n"],
    )
    out = disclosure.suppress(long, counts="n", total={"row": "T", "col": "T"})
    # Sweep 1, along "row" (table columns): c1 has (r1,c1)=3 alone -> mask (r2,c1)=8.
    #          along "col" (table rows): r1 -> (r1,c2)=20; r2 has (r2,c1) alone -> (r2,c3)=6.
    # Sweep 2, columns: c2 now holds (r1,c2) alone -> (r3,c2)=9; c3 holds (r2,c3) alone
    #          -> (r1,c3)=30. Rows: r3 holds (r3,c2) alone -> (r3,c1)=25.
    # Sweep 3: every row and column has 0 or >= 2 masked cells.
    got = {
        (r, c): f
        for r, c, f in zip(out["row"], out["col"], out["n_suppressed"], strict=True)
        if not pd.isna(f)
    }
    assert got == {
        ("r1", "c1"): "count",
        ("r2", "c1"): "secondary",
        ("r1", "c2"): "secondary",
        ("r2", "c3"): "secondary",
        ("r3", "c2"): "secondary",
        ("r1", "c3"): "secondary",
        ("r3", "c1"): "secondary",
    }
    # Independent property: no row or column relation has exactly one masked cell.
    masked = out.assign(m=out["n"].isna())
    assert not (masked.groupby("row")["m"].sum() == 1).any()
    assert not (masked.groupby("col")["m"].sum() == 1).any()


def test_single_masked_cell_that_cannot_be_protected_warns() -> None:
    table = pd.DataFrame({"year": [2020, 2020, 2021], "n": [6, 8, 2]})
    # 2021 has one part only: its published total elsewhere equals the masked cell.
    with pytest.warns(EffektWarning, match="single masked cell"):
        out = disclosure.suppress(table, counts="n", groups="year")
    assert flags(out, "n") == [None, None, "count"]


def test_non_additive_totals_warn() -> None:
    table = pd.DataFrame({"k": ["A", "B", "T"], "n": [3, 10, 20]})  # 3 + 10 != 20
    with pytest.warns(AssumptionWarning, match="differs from the sum of its parts"):
        disclosure.suppress(table, counts="n", total=("k", "T"))


def test_structure_errors() -> None:
    table = group_table()
    with pytest.raises(DataError, match="No row has kommune == 'Total'"):
        disclosure.suppress(table, counts="n", groups="year", total=("kommune", "Total"))
    with pytest.raises(DataError, match="no total row"):
        disclosure.suppress(table.iloc[:7], counts="n", groups="year", total=("kommune", "I alt"))
    with pytest.raises(DataError, match="Each cell must appear once"):
        disclosure.suppress(table, counts="n", total=("kommune", "I alt"))  # year missing
    with pytest.raises(ParameterError, match="'groups' parameter of suppress"):
        disclosure.suppress(
            table, counts="n", groups=["year", "kommune"], total=("kommune", "I alt")
        )
    with pytest.raises(ParameterError, match=r"\(column, label\) pair"):
        disclosure.suppress(table, counts="n", total=["kommune", "I alt"])  # type: ignore[arg-type]
    with pytest.raises(DataError, match="'groups' argument of suppress"):
        disclosure.suppress(table, counts="n", groups="aar")
    with pytest.raises(ParameterError, match="both grouping/total columns and checked"):
        disclosure.suppress(table, counts="n", values=["share", "year"], groups="year")


# ---------------------------------------------------------------------------
# Safety and bad input


def test_inputs_are_never_mutated(area_year: pd.DataFrame) -> None:
    table = group_table()
    table.attrs["source"] = "test"
    before = table.copy(deep=True)
    disclosure.check(table, counts="n")
    disclosure.suppress(table, counts="n", groups="year", total=("kommune", "I alt"))
    pd.testing.assert_frame_equal(table, before)
    assert table.attrs == {"source": "test"}
    before_ay = area_year.copy(deep=True)
    disclosure.suppress(area_year, numerators=True)
    pd.testing.assert_frame_equal(area_year, before_ay)


@pytest.mark.parametrize("column", ["PNR", "person_id", "cpr_nr"])
def test_person_level_tables_are_refused(column: str) -> None:
    table = pd.DataFrame({column: ["p1", "p2"], "n": [1, 1]})
    with pytest.raises(DataError, match="aggregate first"):
        disclosure.check(table, counts="n")
    with pytest.raises(DataError, match=f"column {column!r} identifies persons"):
        disclosure.suppress(table, counts="n")


def test_person_level_index_is_refused() -> None:
    table = pd.DataFrame({"n": [1]}, index=pd.Index(["p1"], name="pnr"))
    with pytest.raises(DataError, match="looks like micro data"):
        disclosure.check(table, counts="n")


@pytest.mark.parametrize("min_count", [0, -5, 2.5, True, "5"])
def test_bad_min_count(min_count: object) -> None:
    with pytest.raises(ParameterError, match=r"'min_count' parameter of check\(\) must be"):
        disclosure.check(pd.DataFrame({"n": [4]}), counts="n", min_count=min_count)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("n", "match"),
    [
        ([4, -1], "negative person counts"),
        ([4.0, 4.5], "whole numbers of persons"),
        (["4", "5"], "must hold integer person counts"),
        ([True, False], "integer person counts"),
    ],
)
def test_bad_counts(n: list[object], match: str) -> None:
    with pytest.raises(DataError, match=match):
        disclosure.check(pd.DataFrame({"n": n, "share": [0.5, 0.5]}), counts="n")


def test_integral_float_counts_are_accepted() -> None:
    res = disclosure.check(pd.DataFrame({"n": [4.0, np.nan], "share": [0.5, np.nan]}), counts="n")
    assert res.to_frame()["count"].tolist() == [4, 4]


def test_count_column_missing() -> None:
    table = pd.DataFrame({"share": [0.5], "n": [10]})
    with pytest.raises(DataError, match=r"'counts' argument of check\(\) names column 'nn'"):
        disclosure.check(table, counts="nn")
    with pytest.raises(DataError, match=r"'counts' argument .* column 'm'"):
        disclosure.check(table, counts={"share": "m"})
    with pytest.raises(DataError, match=r"'values' argument .* column 'shar'"):
        disclosure.check(table, counts="n", values="shar")


def test_value_without_count() -> None:
    table = pd.DataFrame({"share": [0.5, 0.2], "n": [10, np.nan]})
    with pytest.raises(DataError, match="person count 'n' is missing"):
        disclosure.check(table, counts="n")


def test_bad_arguments() -> None:
    table = pd.DataFrame({"share": [0.5], "n": [10]})
    with pytest.raises(ParameterError, match="'table' parameter of check"):
        disclosure.check(table.to_dict(), counts="n")  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="'counts' parameter of check"):
        disclosure.check(table, counts=5)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match=r"'values' parameter .* None when counts is a map"):
        disclosure.check(table, counts={"share": "n"}, values=["share"])
    with pytest.raises(ParameterError, match=r"'counts' parameter .* not itself a value column"):
        disclosure.check(table.assign(m=[3]), counts={"share": "n", "n": "m"})
    with pytest.raises(ParameterError, match="'zeros' parameter"):
        disclosure.check(table, counts="n", zeros=1)  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="'secondary' parameter"):
        disclosure.suppress(table, counts="n", secondary="yes")  # type: ignore[arg-type]
    with pytest.raises(DataError, match="unique column names"):
        disclosure.check(pd.DataFrame([[1, 2]], columns=["n", "n"]), counts="n")


def test_flag_column_clash() -> None:
    once = disclosure.suppress(pd.DataFrame({"n": [3, 9]}), counts="n")
    with pytest.raises(ParameterError, match="already has 'n_suppressed'"):
        disclosure.suppress(once, counts="n")
    with pytest.raises(ParameterError, match="'flag_suffix' parameter"):
        disclosure.suppress(pd.DataFrame({"n": [3]}), counts="n", flag_suffix="")


# ---------------------------------------------------------------------------
# Rendering


def test_repr_and_html(small: pd.DataFrame) -> None:
    bad = disclosure.check(small, counts="n")
    text = repr(bad)
    assert text.startswith("DisclosureCheck(min_count=5) NOT OK: 4 of 6 published cells")
    assert "violations per column: n 2, share 2" in text
    assert "suppress()" in text
    page = bad._repr_html_()
    assert "NOT OK" in page and "<table" in page and "n &lt; 5" in page
    good = disclosure.check(small, counts="n", min_count=3)
    assert repr(good).startswith("DisclosureCheck(min_count=3) OK: none of 6 published cells")
    assert "<table" not in good._repr_html_()


def test_reason_wording() -> None:
    assert disclosure.REASONS["en"]["count"].format(min_count=5) == "suppressed (n < 5)"
    assert disclosure.REASONS["da"]["count"].format(min_count=3) == "diskretioneret (n < 3)"
    assert set(disclosure.REASONS["en"]) == set(disclosure.FLAG_DTYPE.categories)


def test_two_way_invariants_on_random_tables() -> None:
    # Property check on 40 random 4 x 5 tables with both margins: every cell below
    # 5 is masked and afterwards no row or column has exactly one masked cell.
    rng = np.random.default_rng(20240401)
    for _ in range(40):
        inner = rng.integers(0, 25, size=(4, 5))
        full = np.zeros((5, 6), dtype=int)
        full[:4, :5] = inner
        full[4, :5] = inner.sum(axis=0)
        full[:4, 5] = inner.sum(axis=1)
        full[4, 5] = inner.sum()
        rows, cols = ["r0", "r1", "r2", "r3", "T"], ["c0", "c1", "c2", "c3", "c4", "T"]
        long = pd.DataFrame({"row": np.repeat(rows, 6), "col": np.tile(cols, 5), "n": full.ravel()})
        out = disclosure.suppress(long, counts="n", total={"row": "T", "col": "T"})
        masked = out["n"].isna().to_numpy()
        primary = (long["n"] > 0) & (long["n"] < 5)
        assert masked[primary.to_numpy()].all()
        assert (out["n_suppressed"].eq("count") == primary).all()
        m = long.assign(m=masked)
        assert not (m.groupby("row")["m"].sum() == 1).any()
        assert not (m.groupby("col")["m"].sum() == 1).any()


def test_html_truncates_long_violation_lists() -> None:
    res = disclosure.check(pd.DataFrame({"n": [1, 2, 3]}), counts="n")
    with ek.set_options(display_max_rows=2):
        page = res._repr_html_()
        text = repr(res)
    assert "... and 1 more (see .to_frame())" in page
    assert "... and 1 more row(s)" in text
