"""The official Danish list rules (ghetto, udsatte, parallelsamfund lists) as a rule engine.

Each year on 1 December the housing ministry publishes which public-housing
(*almene*) areas meet the statutory criteria. The criteria changed four times;
this module holds every rule regime as data (frozen dataclasses, one threshold per
:class:`Criterion`, each citing its source) and applies them, vectorised, to an
``area_year`` table with :func:`classify`.

Regimes (keys of :data:`REGIMES`; list years are those of the 1 December lists,
the first 2010 list was published in October):

``"2010"`` (lists 2010-2013)
    *ghettoområde*: at least 1,000 residents and at least 2 of 3 criteria:
    non-Western share > 50 %, outside work/education (18-64) > 40 % (4-year
    average), convicted (18+) > 2.7 % (4-year average).
``"2014"`` (lists 2014-2017)
    *ghettoområde* ("særligt udsat boligområde"): at least 1,000 residents and at
    least 3 of 5: the three above with 2-year averages, basic education only
    (30-59) > 50 %, gross income (15-64) < 55 % of the region's.
``"2018"`` (lists 2018-2020, the 2018 law)
    *udsat boligområde*: at least 1,000 residents and at least 2 of 4: outside
    work/education > 40 % (2-year average), convicted >= 3 x the national average
    (2-year average), basic education only > 60 %, income < 55 %. *ghettoområde*:
    udsat and non-Western > 50 %. *hårdt ghettoområde*: ghetto on this and each
    of the 4 previous lists (5 consecutive lists).
``"2021"`` (lists 2021-, the 2021 law)
    *udsat* as in 2018; *parallelsamfund* (the renamed ghetto); *omdannelsesområde*
    (the renamed hard ghetto: parallelsamfund 5 years running, counting ghetto
    lists under the earlier rules); *forebyggelsesområde*: at least 1,000
    residents, non-Western > 30 % and at least 2 of 4: outside work/education
    > 30 %, convicted >= 2 x the national average, basic education only > 60 %,
    income < 65 %.

The thresholds, their strictness and their sources are in
``effekt/datasets/data/dk_criteria.csv``
(source keys such as ``S_TRAFIK2020`` are explained in the domain brief's
``SOURCES.md``); the 2021 wording is checked against the consolidated law
(almenboligloven §§ 61 a and 61 b, LBK nr. 1171 of 11 November 2024).

Examples
--------
>>> from effekt import lists
>>> lists.regime_for_year(2019)
'2018'
>>> lists.REGIMES["2021"].category("forebyggelsesomraade").min_met
2
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from effekt.errors import (
    DataError,
    ParameterError,
    check_choice,
    check_int,
    format_rows,
    invalid_parameter,
    show_value,
)

__all__ = [
    "DEFAULT_NATIONAL_CONVICTED_SHARE",
    "FIRST_LIST_YEAR",
    "REGIMES",
    "Category",
    "Criterion",
    "Regime",
    "classify",
    "regime_for_year",
]

Comparison = Literal[">", ">=", "<", "<="]

#: National share of adults (18+) convicted in a year, used when the caller gives
#: none: the 2021 law's forebyggelse threshold of 1.45 % is "2 x the national
#: average" (S_DKLF, in dk_criteria.csv), so the average is 1.45 % / 2 = 0.725 %.
#: The 2018 criterion's "national ~0.7 % => ~2.2 %" (S_TRAFIK2020) agrees.
DEFAULT_NATIONAL_CONVICTED_SHARE = 0.00725

#: The first official list (October 2010); no list year before it has a regime.
FIRST_LIST_YEAR = 2010

# Compared values are rounded to this many decimals first, so that binary
# floating-point noise cannot decide a threshold case: the mean of 0.39 and 0.41
# is exactly 0.40, and 3 x 0.00725 is exactly 0.02175.
_DECIMALS = 10

_OPERATORS = {">": np.greater, ">=": np.greater_equal, "<": np.less, "<=": np.less_equal}
_OWNER = "effekt.lists.classify"


@dataclass(frozen=True)
class Criterion:
    """One list criterion: an ``area_year`` column compared with a threshold.

    Parameters
    ----------
    key : str
        Short name used in output columns (``crit_<key>``, ``value_<key>``):
        ``residents, labour, crime, education, income, nonwestern``.
    column : str
        The ``area_year`` column the criterion reads.
    comparison : {">", ">=", "<", "<="}
        How the (averaged) value is compared with the threshold, exactly as the
        source words it ("overstiger"/"more than" is strict, "mindst"/"at least"
        is not).
    threshold : float
        The threshold, or the multiple of the national average when
        ``relative_to_national`` is true.
    window : int
        Number of consecutive years averaged (1 = the single data year).
    population : str
        Age band or population the share refers to.
    source : str
        Source keys (``dk_criteria.csv``; law references spelled out).
    relative_to_national : bool
        Threshold is ``threshold`` times the national convicted share.

    Examples
    --------
    >>> from effekt.lists import REGIMES
    >>> REGIMES["2018"].category("udsat").counted[1].describe()
    'crime: convicted_share (18+, 2-year average) >= 3 x national average'
    """

    key: str
    column: str
    comparison: Comparison
    threshold: float
    window: int
    population: str
    source: str
    relative_to_national: bool = False

    def describe(self) -> str:
        """One-line human-readable statement of the criterion."""
        span = "single year" if self.window == 1 else f"{self.window}-year average"
        bound = (
            f"{self.threshold:g} x national average"
            if self.relative_to_national
            else f"{self.threshold:g}"
        )
        return f"{self.key}: {self.column} ({self.population}, {span}) {self.comparison} {bound}"


@dataclass(frozen=True)
class Category:
    """One list category of a regime and how its criteria combine.

    An area is in the category when all of the following hold: the residents
    criterion (if given), every ``required`` criterion, at least ``min_met`` of the
    ``counted`` criteria, the ``builds_on`` category of the same regime, and (when
    ``consecutive_lists`` > 1) the regime's lineage category on this list and on the
    ``consecutive_lists - 1`` previous list years.

    Parameters
    ----------
    name : str
        Output column name (ASCII): ``ghetto, udsat, haardt_ghetto, parallelsamfund,
        omdannelsesomraade, forebyggelsesomraade``.
    label : str
        Official Danish name.
    residents : Criterion or None
        Population criterion; ``None`` when inherited through ``builds_on``.
    counted : tuple of Criterion
        Criteria of which at least ``min_met`` must be met.
    min_met : int
        Combination rule ("at least k of n").
    required : tuple of Criterion
        Criteria that must all be met.
    builds_on : str or None
        Category of the same regime that must hold too.
    consecutive_lists : int
        Number of consecutive lists (this one included) the lineage category must
        have held.
    prefix : str
        Prefix of the output columns of a category with its own criteria beside
        the regime's headline criteria (``"forebyg_"``); empty otherwise.
    source : str
        Source keys.

    Examples
    --------
    >>> from effekt.lists import REGIMES
    >>> REGIMES["2018"].category("haardt_ghetto").consecutive_lists
    5
    """

    name: str
    label: str
    residents: Criterion | None
    counted: tuple[Criterion, ...] = ()
    min_met: int = 0
    required: tuple[Criterion, ...] = ()
    builds_on: str | None = None
    consecutive_lists: int = 1
    prefix: str = ""
    source: str = ""


@dataclass(frozen=True)
class Regime:
    """A rule regime: the categories in force for a range of list years.

    Parameters
    ----------
    name : str
        Key in :data:`REGIMES` (``"2010"``, ``"2014"``, ``"2018"``, ``"2021"``).
    first_list_year, last_list_year : int or None
        List years (1 December lists) in which the regime was in force;
        ``last_list_year`` is ``None`` for the regime in force now.
    title : str
        Where the rules come from.
    categories : tuple of Category
        From least to most severe; ``status`` is the most severe one met.
    main : str
        The category whose counted criteria give ``n_criteria`` and the
        ``crit_*`` columns.
    lineage : str
        The ghetto-like category whose history defines hard ghettos /
        omdannelsesområder (ghetto, renamed parallelsamfund in 2021).

    Examples
    --------
    >>> from effekt.lists import REGIMES
    >>> [c.name for c in REGIMES["2021"].categories]
    ['forebyggelsesomraade', 'udsat', 'parallelsamfund', 'omdannelsesomraade']
    """

    name: str
    first_list_year: int
    last_list_year: int | None
    title: str
    categories: tuple[Category, ...]
    main: str
    lineage: str

    def category(self, name: str) -> Category:
        """Return the category called ``name`` (``ParameterError`` if absent)."""
        for cat in self.categories:
            if cat.name == name:
                return cat
        listed = ", ".join(repr(c) for c in self.category_names)
        raise invalid_parameter(
            "name", f"Regime({self.name!r}).category", f"one of {{{listed}}}", name
        )

    @property
    def category_names(self) -> tuple[str, ...]:
        """Category names from least to most severe."""
        return tuple(c.name for c in self.categories)

    @property
    def headline(self) -> tuple[Criterion, ...]:
        """Criteria reported in the ``crit_*`` columns.

        The main category's residents and counted criteria, then the required
        criteria of the lineage category (the non-Western share for 2018/2021).
        """
        main = self.category(self.main)
        lineage = self.category(self.lineage)
        crits = [c for c in (main.residents, *main.counted) if c is not None]
        crits += [c for c in lineage.required if c.key not in {k.key for k in crits}]
        return tuple(crits)

    @property
    def columns(self) -> frozenset[str]:
        """Every ``area_year`` column the regime's criteria read."""
        return frozenset(c.column for c in _all_criteria(self))


def _all_criteria(regime: Regime) -> list[Criterion]:
    out = []
    for cat in regime.categories:
        out += [c for c in (cat.residents, *cat.counted, *cat.required) if c is not None]
    return out


# ---------------------------------------------------------------------------
# The regimes. Every threshold carries its source key from dk_criteria.csv.


def _residents(source: str) -> Criterion:
    # ">= 1,000" in every source ("mindst 1.000 beboere", almenboligloven § 61 a, stk. 3).
    return Criterion("residents", "residents", ">=", 1000, 1, "all residents", source)


def _labour(threshold: float, window: int, source: str) -> Criterion:
    return Criterion("labour", "outside_work_edu_share", ">", threshold, window, "18-64", source)


def _nonwestern(threshold: float, source: str) -> Criterion:
    return Criterion("nonwestern", "nonwestern_share", ">", threshold, 1, "all residents", source)


def _education(threshold: float, source: str) -> Criterion:
    return Criterion("education", "basic_edu_share", ">", threshold, 1, "30-59", source)


def _income(threshold: float, source: str) -> Criterion:
    return Criterion("income", "income_rel_region", "<", threshold, 1, "15-64", source)


_SRC_2010 = "S_TV2OJ_OLD"
_GHETTO_2010 = Category(
    "ghetto",
    "ghettoområde",
    residents=_residents(_SRC_2010),
    counted=(
        _nonwestern(0.50, _SRC_2010),  # "> 50 %"
        _labour(0.40, 4, _SRC_2010),  # "> 40 %", 4-year average
        # "> 270 per 10,000 aged 18+" (= 2.7 %), 4-year average
        Criterion("crime", "convicted_share", ">", 0.027, 4, "18+", _SRC_2010),
    ),
    min_met=2,
    source=_SRC_2010,
)

_SRC_2014 = "S_BERL2013;S_BSN2017;S_SONDERBORG2017"
_GHETTO_2014 = Category(
    "ghetto",
    "ghettoområde (særligt udsat boligområde)",
    residents=_residents("S_BERL2013"),
    counted=(
        _labour(0.40, 2, "S_BSN2017;S_SONDERBORG2017"),  # "> 40 %", 2-year average
        _nonwestern(0.50, "S_BSN2017"),  # "> 50 %"
        # "> 2.70 % of 18+", 2-year average
        Criterion("crime", "convicted_share", ">", 0.027, 2, "18+", "S_BSN2017"),
        _education(0.50, "S_BSN2017"),  # "> 50 %", unknown education included
        _income(0.55, "S_BSN2017"),  # "< 55 % of the region"
    ),
    min_met=3,
    source=_SRC_2014,
)

# 2018 law; the udsat criteria stay in force under the 2021 law (§ 61 a, stk. 1).
_UDSAT_COUNTED = (
    _labour(0.40, 2, "S_TRAFIK2020;S_BLFAQ"),  # "> 40 %" ("overstiger"), 2-year average
    # ">= 3 x national average" ("mindst tre gange"), 2-year average
    Criterion("crime", "convicted_share", ">=", 3.0, 2, "18+", "S_TRAFIK2020", True),
    _education(0.60, "S_TRAFIK2020;S_REG2018"),  # "> 60 %" ("overstiger")
    _income(0.55, "S_TRAFIK2020"),  # "< 55 %" ("mindre end")
)
_UDSAT_2018 = Category(
    "udsat",
    "udsat boligområde",
    residents=_residents("S_TRAFIK2020;S_BLFAQ"),
    counted=_UDSAT_COUNTED,
    min_met=2,
    source="S_TRAFIK2020",
)
_GHETTO_2018 = Category(
    "ghetto",
    "ghettoområde",
    residents=None,
    required=(_nonwestern(0.50, "S_TRAFIK2020"),),  # udsat and "> 50 %"
    builds_on="udsat",
    source="S_TRAFIK2020",
)
_HARD_2018 = Category(
    "haardt_ghetto",
    "hårdt ghettoområde",
    residents=None,
    builds_on="ghetto",
    # "ghetto in each of the last 4 years", i.e. listed the 5th consecutive time
    # (S_TRAFIK2020; S_TV2FYN2018); see classify's Notes on the ambiguity.
    consecutive_lists=5,
    source="S_TRAFIK2020;S_TV2FYN2018",
)

_LAW_2021 = "almenboligloven § 61 a (LBK 1171 of 11/11/2024)"
_UDSAT_2021 = Category(
    "udsat",
    "udsat boligområde",
    residents=_residents(f"S_TRAFIK2020;{_LAW_2021}"),
    counted=_UDSAT_COUNTED,
    min_met=2,
    source=_LAW_2021,
)
_PARALLEL_2021 = Category(
    "parallelsamfund",
    "parallelsamfund",
    residents=None,
    required=(_nonwestern(0.50, f"S_TV2OJ2022;S_DKLF;{_LAW_2021} stk. 2"),),
    builds_on="udsat",
    source="S_TV2OJ2022;S_DKLF",
)
_OMDANNELSE_2021 = Category(
    "omdannelsesomraade",
    "omdannelsesområde",
    residents=None,
    builds_on="parallelsamfund",
    # "de seneste 5 år har opfyldt betingelserne i stk. 2" (§ 61 a, stk. 4)
    consecutive_lists=5,
    source=f"S_TV2OJ2022;S_CPH2022;{_LAW_2021} stk. 4",
)
_LAW_61B = "almenboligloven § 61 b (LBK 1171 of 11/11/2024)"
_FOREBYG_2021 = Category(
    "forebyggelsesomraade",
    "forebyggelsesområde",
    residents=_residents(f"S_DKLF;{_LAW_61B}"),
    counted=(
        _labour(0.30, 2, "S_DKLF"),  # "> 30 %", 2-year average
        # S_DKLF and the brief say "> 1.45 % (= 2 x national average)"; the law says
        # "mindst to gange landsgennemsnittet" (at least), which we follow.
        Criterion("crime", "convicted_share", ">=", 2.0, 2, "18+", f"S_DKLF;{_LAW_61B}", True),
        _education(0.60, "S_DKLF"),  # "> 60 %"
        _income(0.65, "S_DKLF"),  # "< 65 %"
    ),
    min_met=2,
    required=(_nonwestern(0.30, f"S_DKLF;S_BL2023;{_LAW_61B}"),),  # "> 30 %"
    prefix="forebyg_",
    source=f"S_DKLF;S_BL2023;{_LAW_61B}",
)

REGIMES: Mapping[str, Regime] = MappingProxyType(
    {
        "2010": Regime(
            "2010",
            2010,
            2013,
            "Strategy 'Ghettoen tilbage til samfundet' (October 2010)",
            (_GHETTO_2010,),
            main="ghetto",
            lineage="ghetto",
        ),
        "2014": Regime(
            "2014",
            2014,
            2017,
            "Agreement of the government with K and LA (first list 1 February 2014)",
            (_GHETTO_2014,),
            main="ghetto",
            lineage="ghetto",
        ),
        "2018": Regime(
            "2018",
            2018,
            2020,
            "2018 law (Parallelsamfundsaftalen), lists of 1 December 2018-2020",
            (_UDSAT_2018, _GHETTO_2018, _HARD_2018),
            main="udsat",
            lineage="ghetto",
        ),
        "2021": Regime(
            "2021",
            2021,
            None,
            "2021 law (forebyggelsesområder, new names), lists from 1 December 2021",
            (_FOREBYG_2021, _UDSAT_2021, _PARALLEL_2021, _OMDANNELSE_2021),
            main="udsat",
            lineage="parallelsamfund",
        ),
    }
)
"""The rule regimes by name (read-only mapping of :class:`Regime`)."""

_CRITERION_KEYS = ("residents", "labour", "crime", "education", "income", "nonwestern")
_SHARE_COLUMNS = (
    "outside_work_edu_share",
    "convicted_share",
    "basic_edu_share",
    "nonwestern_share",
)
# Output order of the category columns: first appearance over the regimes.
_CATEGORY_ORDER = tuple(dict.fromkeys(c.name for r in REGIMES.values() for c in r.categories))


def regime_for_year(year: int) -> str:
    """Name of the rule regime in force for the list of a given year.

    Lists are those of 1 December (the first, 2010, list was published in
    October): 2010-2013 -> ``"2010"``, 2014-2017 -> ``"2014"``, 2018-2020 ->
    ``"2018"``, 2021 and later -> ``"2021"``. The list of 1 February 2014, the
    first under the 2014 rules, has no list year of its own here.

    Parameters
    ----------
    year : int
        List year, 2010 or later.

    Returns
    -------
    str
        A key of :data:`REGIMES`.

    Raises
    ------
    ParameterError
        If ``year`` is not an integer or is before 2010 (no list existed).

    References
    ----------
    List dates and counts: ``data/dk_list_counts.csv`` (S_UIM2016, S_BL2023).

    Examples
    --------
    >>> from effekt.lists import regime_for_year
    >>> [regime_for_year(y) for y in (2013, 2014, 2020, 2021)]
    ['2010', '2014', '2018', '2021']
    """
    check_int("year", "effekt.lists.regime_for_year", year)
    if year < FIRST_LIST_YEAR:
        raise invalid_parameter(
            "year",
            "effekt.lists.regime_for_year",
            f"a list year from {FIRST_LIST_YEAR} on",
            year,
            "The first official list was published in October 2010.",
        )
    for regime in REGIMES.values():
        if regime.last_list_year is None or year <= regime.last_list_year:
            return regime.name
    raise AssertionError("unreachable")  # pragma: no cover


def _regimes_for_years(years: np.ndarray) -> np.ndarray:
    """Vectorised :func:`regime_for_year` for years >= FIRST_LIST_YEAR."""
    names = list(REGIMES)
    firsts = np.array([REGIMES[n].first_list_year for n in names])
    idx = np.searchsorted(firsts, years, side="right") - 1
    return np.asarray(names, dtype=object)[idx]


# ---------------------------------------------------------------------------
# Input validation


def _check_lag(lag: Any) -> int:
    check_int(
        "lag",
        _OWNER,
        lag,
        low=0,
        expected="a non-negative integer (years between the data year and the list year)",
    )
    return int(lag)


def _key_arrays(frame: pd.DataFrame) -> tuple[np.ndarray, pd.Index, np.ndarray]:
    """Factorised area codes, the area labels and integer data years; checks keys."""
    for column in ("area_id", "year"):
        if column not in frame.columns:
            raise _missing_columns_error(
                frame, {column: ["the (area_id, year) key"]}, "Every table needs it."
            )
    for column in ("area_id", "year"):
        bad = frame[column].isna()
        if bad.any():
            raise DataError(
                f"Column {column!r} of 'area_year' has {int(bad.sum())} missing value(s); every "
                f"row needs an area and a year. First rows:\n{format_rows(frame[bad])}"
            )
    year = frame["year"]
    if not pd.api.types.is_numeric_dtype(year) or pd.api.types.is_bool_dtype(year):
        raise DataError(
            f"Column 'year' of 'area_year' must hold integer years; it has dtype {year.dtype}. "
            "Convert it, e.g. with df['year'].astype(int)."
        )
    values = year.to_numpy(dtype=float)
    bad_year = values != np.round(values)
    if bad_year.any():
        raise DataError(
            "Column 'year' of 'area_year' must hold whole years. First rows:\n"
            f"{format_rows(frame.loc[bad_year, ['area_id', 'year']])}"
        )
    codes, areas = pd.factorize(frame["area_id"], sort=False)
    years = values.astype(np.int64)
    dup = frame.duplicated(["area_id", "year"], keep=False).to_numpy()
    if dup.any():
        raise DataError(
            f"'area_year' has {int(dup.sum())} rows with a duplicated (area_id, year); keep "
            f"one row per area and year. First rows:\n{format_rows(frame.loc[dup])}"
        )
    return codes, areas, years


def _missing_columns_error(
    frame: pd.DataFrame,
    needs: Mapping[str, list[str]],
    hint: str = "Add them, or choose a 'regime' that does not use them.",
) -> DataError:
    what = "; ".join(
        f"{col!r} (needed by {', '.join(sorted(set(by)))})" for col, by in needs.items()
    )
    shown = ", ".join(repr(str(c)) for c in list(frame.columns)[:20])
    more = ", ..." if len(frame.columns) > 20 else ""
    return DataError(
        f"'area_year' lacks column(s) {what}. Available columns: {shown}{more}. {hint}"
    )


def _check_columns(frame: pd.DataFrame, regimes: list[str]) -> dict[str, np.ndarray]:
    """Check presence, type and range of the criterion columns; return them as float arrays."""
    needs: dict[str, list[str]] = {}
    for name in regimes:
        for crit in _all_criteria(REGIMES[name]):
            needs.setdefault(crit.column, []).append(
                f"the {crit.key} criterion of the {name} rules"
            )
    missing = {col: by for col, by in needs.items() if col not in frame.columns}
    if missing:
        raise _missing_columns_error(frame, missing)
    arrays: dict[str, np.ndarray] = {}
    for column in needs:
        series = frame[column]
        if not pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            raise DataError(
                f"Column {column!r} of 'area_year' must be numeric; it has dtype {series.dtype}. "
                f"First values: {show_value(series.head(3).tolist())}."
            )
        values = series.to_numpy(dtype=float, na_value=np.nan)
        if column in _SHARE_COLUMNS:
            bad = (values < 0) | (values > 1)
            hint = (
                "Shares must be proportions in [0, 1]; if these are percentages, divide the "
                "column by 100."
            )
        elif column == "income_rel_region":
            # A housing area's mean income is never 10 x its region's: larger values
            # are percentages (55 for 0.55).
            bad = (values < 0) | (values > 10)
            hint = (
                "income_rel_region is a ratio (0.55 = 55 % of the region's mean income); if "
                "these are percentages, divide the column by 100."
            )
        else:
            bad = (values < 0) | ((values != np.round(values)) & ~np.isnan(values))
            hint = "residents must be non-negative whole counts."
        if bad.any():
            raise DataError(
                f"Column {column!r} of 'area_year' has {int(bad.sum())} value(s) out of range. "
                f"{hint} First rows:\n{format_rows(frame.loc[bad, ['area_id', 'year', column]])}"
            )
        arrays[column] = values
    return arrays


# ---------------------------------------------------------------------------
# The engine


def _window_mean(matrix: np.ndarray, window: int) -> np.ndarray:
    """Mean over the ``window`` years ending at each column; NaN unless all are present."""
    if window == 1:
        return matrix
    pad = np.full((matrix.shape[0], window - 1), np.nan)
    return sliding_window_view(np.hstack([pad, matrix]), window, axis=1).mean(axis=-1)


def _run_lengths(flags: np.ndarray) -> np.ndarray:
    """Length of the run of True ending at each column (0 where False), row-wise."""
    pos = np.arange(flags.shape[1])
    last_false = np.maximum.accumulate(np.where(flags, -1, pos), axis=1)
    return np.where(flags, pos - last_false, 0)


def _check_national(national: Any) -> float | dict[int, float]:
    """Validate ``national_convicted_share``; return a float or a year -> share dict."""
    expected = (
        "a proportion in (0, 0.1), e.g. 0.00725 for 0.725 %, or a mapping/Series from data "
        "year to such proportions"
    )
    hint = (
        "About 0.7 % of Danish adults are convicted in a year; 0.1 or more would mean 10 %, "
        "probably a percentage."
    )

    def share(value: Any) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float | np.integer | np.floating)
            or not 0 < float(value) < 0.1
        ):
            raise invalid_parameter("national_convicted_share", _OWNER, expected, national, hint)
        return float(value)

    if national is None:
        return DEFAULT_NATIONAL_CONVICTED_SHARE
    if not isinstance(national, pd.Series | Mapping):
        return share(national)
    items = list(national.items())
    out: dict[int, float] = {}
    for key, value in items:
        if isinstance(key, bool) or not isinstance(key, int | np.integer):
            raise invalid_parameter(
                "national_convicted_share", _OWNER, expected, national, "Keys must be years."
            )
        out[int(key)] = share(value)
    return out


@dataclass(frozen=True)
class _Evaluation:
    met: np.ndarray  # bool; False where the criterion could not be evaluated
    available: np.ndarray  # bool
    value: np.ndarray  # the (averaged) value compared
    threshold: np.ndarray


class _Engine:
    """Evaluates criteria on the rows of one call, caching the windowed values."""

    def __init__(
        self,
        arrays: dict[str, np.ndarray],
        codes: np.ndarray,
        years: np.ndarray,
        national: float | dict[int, float],
    ) -> None:
        self.arrays = arrays
        self.codes = codes
        self.years = years
        self.national = national
        self.first_year = int(years.min()) if len(years) else 0
        self.cols = years - self.first_year
        self.shape = (
            (int(codes.max()) + 1, int(years.max()) - self.first_year + 1) if len(years) else (0, 0)
        )
        self._values: dict[tuple[str, int], np.ndarray] = {}

    def value(self, column: str, window: int) -> np.ndarray:
        """Per input row: mean of ``column`` over the window ending at the row's data year."""
        key = (column, window)
        if key not in self._values:
            grid = np.full(self.shape, np.nan)
            grid[self.codes, self.cols] = self.arrays[column]
            self._values[key] = _window_mean(grid, window)[self.codes, self.cols]
        return self._values[key]

    def national_mean(self, window: int, rows: np.ndarray) -> np.ndarray:
        """National share averaged over the same window as the areas' values.

        Only ``rows`` whose own window is complete need it; the others are NaN.
        """
        if isinstance(self.national, float):
            return np.full(len(rows), self.national)
        needed = self.years[rows][:, None] - np.arange(window)[None, :]
        uniq, inverse = np.unique(needed, return_inverse=True)
        table = pd.Series(self.national, dtype=float).reindex(uniq).to_numpy(dtype=float)
        if np.isnan(table).any():
            raise ParameterError(
                f"The 'national_convicted_share' parameter of {_OWNER} has no value for data "
                f"year(s) {[int(y) for y in uniq[np.isnan(table)]]}, which the {window}-year "
                "crime averages need. Add them, or pass one float for all years."
            )
        return table[inverse.reshape(needed.shape)].mean(axis=1)

    def evaluate(self, crit: Criterion, rows: np.ndarray) -> _Evaluation:
        """Evaluate ``crit`` on the input rows ``rows``."""
        value = self.value(crit.column, crit.window)[rows]
        available = ~np.isnan(value)
        threshold = np.full(len(rows), float(crit.threshold))
        if crit.relative_to_national:
            threshold[:] = np.nan
            threshold[available] = crit.threshold * self.national_mean(crit.window, rows[available])
            if isinstance(self.national, float):
                threshold[~available] = crit.threshold * self.national
        with np.errstate(invalid="ignore"):
            met = _OPERATORS[crit.comparison](
                np.round(value, _DECIMALS), np.round(threshold, _DECIMALS)
            )
        return _Evaluation(met & available, available, value, threshold)


class _Sink:
    """Output columns filled regime by regime, with a validity mask each."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.data: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def put(self, name: str, local: np.ndarray, values: np.ndarray, valid: Any = True) -> None:
        if name not in self.data:
            self.data[name] = (np.zeros(self.n), np.zeros(self.n, dtype=bool))
        stored, ok = self.data[name]
        stored[local] = values
        ok[local] = valid

    def boolean(self, name: str) -> pd.arrays.BooleanArray:
        stored, ok = self.data.get(name, (np.zeros(self.n), np.zeros(self.n, dtype=bool)))
        return pd.arrays.BooleanArray(stored.astype(bool), ~ok)

    def floats(self, name: str) -> np.ndarray:
        stored, ok = self.data.get(name, (np.zeros(self.n), np.zeros(self.n, dtype=bool)))
        return np.where(ok, stored, np.nan)

    def integers(self, name: str) -> Any:
        stored, ok = self.data.get(name, (np.zeros(self.n), np.zeros(self.n, dtype=bool)))
        if ok.all():
            return stored.astype(np.int64)
        return pd.arrays.IntegerArray(stored.astype(np.int64), ~ok)


def classify(
    area_year: pd.DataFrame,
    *,
    regime: Literal["auto", "2010", "2014", "2018", "2021"] = "auto",
    lag: int = 1,
    national_convicted_share: float | Mapping[int, float] | pd.Series | None = None,
) -> pd.DataFrame:
    """Classify areas by the official Danish list rules, per list year.

    Parameters
    ----------
    area_year : pandas.DataFrame
        One row per area and data year (the ``area_year`` schema): ``area_id``,
        ``year``, ``residents`` and the criterion columns the regimes in use read
        (``outside_work_edu_share``, ``convicted_share``, ``nonwestern_share``,
        and from the 2014 rules on ``basic_edu_share`` and ``income_rel_region``).
        Shares are proportions in [0, 1]; ``income_rel_region`` is a ratio.
        Missing values are allowed (see Notes). Not modified.
    regime : {"auto", "2010", "2014", "2018", "2021"}, default "auto"
        ``"auto"`` applies the regime in force for each list year
        (:func:`regime_for_year`); a regime name applies that regime to every
        list year (a counterfactual classification).
    lag : int, default 1
        List year ``Y`` is classified on data years up to ``Y - lag``:
        point-in-time criteria read data year ``Y - lag`` and averages end there.
    national_convicted_share : float, mapping or Series, optional
        National share of adults (18+) convicted in a year, for the crime
        criteria of the 2018 and 2021 rules (">= 3 x" and ">= 2 x the national
        average"): one float for all years, or a mapping/Series from data year to
        share, averaged over the same window as the areas' shares. Default
        :data:`DEFAULT_NATIONAL_CONVICTED_SHARE` (0.725 %, derived from the 2021
        law's 1.45 % = 2 x national average).

    Returns
    -------
    pandas.DataFrame
        One row per area and list year, sorted by area (in order of first
        appearance) and year. Columns:

        - ``area_id``, ``year`` (the list year), ``data_year`` (``year - lag``),
          ``regime``, ``status`` (the most severe category met; missing if none);
        - one nullable boolean per category of the regimes present, in the order
          ``ghetto, udsat, haardt_ghetto, forebyggelsesomraade, parallelsamfund,
          omdannelsesomraade``; missing where the row's regime has no such
          category. Categories follow the legal definitions, so they nest (a
          ghetto is also udsat) and an udsat area can also meet the forebyggelse
          criteria; the published lists show an area under its most severe
          category, which is ``status``;
        - ``crit_residents, crit_labour, crit_crime, crit_education, crit_income,
          crit_nonwestern``: the regime's headline criteria (those of its main
          category, plus the non-Western criterion of the ghetto/parallelsamfund
          category under the 2018 and 2021 rules), nullable booleans, missing
          where the criterion is not part of the regime or could not be evaluated;
        - ``n_criteria``: how many of the main category's non-population
          criteria are met (of 3, 5, 4, 4 under the 2010, 2014, 2018, 2021 rules);
          ``n_criteria_missing``: how many of them could not be evaluated;
        - ``value_residents, value_labour, value_crime, value_education,
          value_income, value_nonwestern``: the (averaged) values compared, and
          ``crime_threshold``: the crime threshold applied;
        - if 2021 rows are present, the forebyggelse criteria:
          ``forebyg_crit_nonwestern, forebyg_crit_labour, forebyg_crit_crime,
          forebyg_crit_education, forebyg_crit_income``, ``forebyg_n_criteria``,
          ``forebyg_n_criteria_missing`` and ``forebyg_crime_threshold``, missing
          for rows of other regimes.

    Raises
    ------
    ParameterError
        If ``area_year`` is not a DataFrame, ``regime`` is unknown, ``lag`` is not a
        non-negative integer, or ``national_convicted_share`` is not a plausible
        proportion or lacks a year that the crime averages need.
    DataError
        If a needed column is missing (the message names the criterion that needs
        it), a key value is missing, ``year`` is not integer, (``area_id``,
        ``year``) is duplicated, a criterion column is not numeric, or a value is
        out of range (shares outside [0, 1], i.e. percentages given instead of
        proportions; negative or fractional residents; an income ratio below 0 or
        above 10).

    See Also
    --------
    regime_for_year : The regime in force for a list year.
    REGIMES : The rules as data.

    Notes
    -----
    **Reference dates.** The official lists mix reference dates: residents are
    counted on 1 January of the list year (domain brief, section 0), while the
    register criteria come from the latest statistics finished by the autumn,
    one or two calendar years before the list (Bolig- og Planstyrelsen,
    *Ghettokriterier - opgørelsesmetode*, 2021; the year used for each criterion
    is not verified here). One ``lag`` for all criteria is therefore an
    approximation; ``lag=1`` is the default because convictions and income of
    year ``Y`` are not known on 1 December ``Y``.

    **Averaging windows.** Labour and crime are averaged over the 2 data years
    (4 under the 2010 rules) ending at ``Y - lag``, as the unweighted mean of the
    annual shares (the sources do not say whether the average is pooled over
    persons). Every year of the window must be present with a non-missing
    value; otherwise the criterion is *missing*: its ``crit_*`` column is
    ``<NA>``, it counts as not met, and it is counted in ``n_criteria_missing``.
    A missing point-in-time value is treated the same way. A row whose
    ``n_criteria + n_criteria_missing`` reaches the combination rule is therefore
    undetermined rather than off the list (typically the first list years of a
    panel). The national average is averaged over the same window.

    **Comparisons.** Values and thresholds are rounded to 10 decimals before
    they are compared, so that an average exactly at a threshold compares as
    equal despite binary floating point. Strictness follows the sources: "more
    than"/"overstiger" is strict (non-Western, labour, education, and crime under
    the 2010 and 2014 rules), "less than"/"mindre end" is strict (income), "at
    least"/"mindst" is not (residents >= 1,000; crime >= 3 x and >= 2 x the
    national average). For the forebyggelse crime criterion the domain brief and
    S_DKLF say "> 1.45 % (= 2 x national average)" but almenboligloven § 61 b says
    "mindst to gange landsgennemsnittet"; the law is followed.

    **History.** A hard ghetto (2018 rules) or omdannelsesområde (2021 rules)
    needs the lineage category (ghetto, renamed parallelsamfund in 2021) on this
    list and on each of the 4 previous lists, i.e. 5 consecutive lists. That is
    how the 2018-2020 lists were drawn up under the transitional rule
    ("på ghettolisten i de seneste fem år", Kristeligt Dagblad/Ritzau 2018) and
    how § 61 a, stk. 4 words it since 2021 ("de seneste 5 år"); the 2018 wording
    in ``dk_criteria.csv``, "ghetto in each of the last 4 years", is ambiguous
    about whether the current list is one of the 4. The history is read from the
    list years of this call: with ``regime="auto"`` earlier ghetto lists count
    whichever rules produced them (the 15 hard ghettos of 2018 had been on the
    2014-2017 lists; the 2021 omdannelse history counts 2018-law ghetto lists).
    A list year absent from the data (a gap in an area's data years) breaks the
    run, and an area that leaves the list starts a new run when it returns.

    With ``regime="auto"``, list years before 2010 (no list existed) are not
    returned; their data still feed the averaging windows of later lists.

    References
    ----------
    Lov om almene boliger m.v. (almenboligloven) §§ 61 a-61 b, LBK nr. 1171 af
    11/11/2024. Criteria, thresholds and source keys: ``effekt/datasets/data/dk_criteria.csv``
    (S_TV2OJ_OLD, S_BERL2013, S_BSN2017, S_SONDERBORG2017, S_TRAFIK2020, S_BLFAQ,
    S_REG2018, S_TV2FYN2018, S_TV2OJ2022, S_CPH2022, S_DKLF, S_BL2023).

    Examples
    --------
    >>> import pandas as pd
    >>> from effekt.lists import classify
    >>> df = pd.DataFrame({
    ...     "area_id": ["A", "A", "A"], "year": [2017, 2018, 2019],
    ...     "residents": [2500, 2450, 2400],
    ...     "outside_work_edu_share": [0.45, 0.43, 0.41],
    ...     "convicted_share": [0.030, 0.025, 0.020],
    ...     "basic_edu_share": [0.62, 0.61, 0.58],
    ...     "income_rel_region": [0.52, 0.53, 0.56],
    ...     "nonwestern_share": [0.65, 0.64, 0.63]})
    >>> out = classify(df)
    >>> out[["year", "regime", "status", "n_criteria", "n_criteria_missing"]]
       year regime  status  n_criteria  n_criteria_missing
    0  2018   2018  ghetto           2                   2
    1  2019   2018  ghetto           4                   0
    2  2020   2018  ghetto           2                   0
    """
    if not isinstance(area_year, pd.DataFrame):
        raise invalid_parameter("area_year", _OWNER, "a pandas DataFrame", type(area_year))
    check_choice("regime", _OWNER, regime, ("auto", *REGIMES))
    lag = _check_lag(lag)
    national = _check_national(national_convicted_share)
    codes, areas, data_years = _key_arrays(area_year)

    list_years = data_years + lag
    kept = np.flatnonzero(list_years >= FIRST_LIST_YEAR) if regime == "auto" else None
    order = np.arange(len(list_years)) if kept is None else kept
    # Output rows: area in order of first appearance, then list year.
    order = order[np.lexsort((list_years[order], codes[order]))]
    row_regime = (
        _regimes_for_years(list_years[order])
        if regime == "auto"
        else np.full(len(order), regime, dtype=object)
    )
    used = [name for name in REGIMES if (row_regime == name).any()]
    arrays = _check_columns(area_year, used)

    n = len(order)
    sink = _Sink(n)
    engine = _Engine(arrays, codes, data_years, national)
    met_by_regime: dict[str, dict[str, np.ndarray]] = {}
    lineage = np.zeros(n, dtype=bool)
    for name in used:
        reg = REGIMES[name]
        local = np.flatnonzero(row_regime == name)
        met_by_regime[name] = _current_categories(reg, engine, order[local], local, sink)
        lineage[local] = met_by_regime[name][reg.lineage]
        for crit in reg.headline:
            ev = engine.evaluate(crit, order[local])
            sink.put(f"crit_{crit.key}", local, ev.met, ev.available)
            sink.put(f"value_{crit.key}", local, ev.value, ev.available)

    # History categories need the lineage list of every row, whatever its regime.
    runs = _lineage_runs(codes[order], list_years[order], lineage)
    status = np.full(n, None, dtype=object)
    for name in used:
        reg = REGIMES[name]
        local = np.flatnonzero(row_regime == name)
        met = met_by_regime[name]
        for cat in reg.categories:  # least to most severe
            if cat.consecutive_lists > 1:
                met[cat.name] = met[cat.builds_on or reg.lineage] & (
                    runs[local] >= cat.consecutive_lists
                )
            sink.put(cat.name, local, met[cat.name])
            status[local[met[cat.name]]] = cat.name

    out: dict[str, Any] = {
        "area_id": areas.take(codes[order]),
        "year": list_years[order],
        "data_year": data_years[order],
        "regime": pd.array(row_regime, dtype="string"),
        "status": pd.array(status, dtype="string"),
    }
    out |= {c: sink.boolean(c) for c in _CATEGORY_ORDER if c in sink.data}
    out |= {f"crit_{k}": sink.boolean(f"crit_{k}") for k in _CRITERION_KEYS}
    out["n_criteria"] = sink.integers("n_criteria")
    out["n_criteria_missing"] = sink.integers("n_criteria_missing")
    out |= {f"value_{k}": sink.floats(f"value_{k}") for k in _CRITERION_KEYS}
    out["crime_threshold"] = sink.floats("crime_threshold")
    for prefix in dict.fromkeys(c.prefix for r in used for c in REGIMES[r].categories if c.prefix):
        keys = ("nonwestern", "labour", "crime", "education", "income")
        out |= {f"{prefix}crit_{k}": sink.boolean(f"{prefix}crit_{k}") for k in keys}
        out[f"{prefix}n_criteria"] = sink.integers(f"{prefix}n_criteria")
        out[f"{prefix}n_criteria_missing"] = sink.integers(f"{prefix}n_criteria_missing")
        out[f"{prefix}crime_threshold"] = sink.floats(f"{prefix}crime_threshold")
    return pd.DataFrame(out, index=pd.RangeIndex(n))


def _current_categories(
    reg: Regime, engine: _Engine, rows: np.ndarray, local: np.ndarray, sink: _Sink
) -> dict[str, np.ndarray]:
    """Categories of ``reg`` that need no history, on input ``rows`` (output ``local``)."""
    met: dict[str, np.ndarray] = {}
    for cat in reg.categories:
        if cat.consecutive_lists > 1:
            continue
        ok = np.ones(len(rows), dtype=bool)
        singles = [c for c in (cat.residents, *cat.required) if c is not None]
        for crit in singles:
            ok &= engine.evaluate(crit, rows).met
        if cat.counted:
            evals = [engine.evaluate(c, rows) for c in cat.counted]
            n_met = np.sum([e.met for e in evals], axis=0)
            ok &= n_met >= cat.min_met
            if cat.name == reg.main or cat.prefix:
                _report(sink, cat, evals, singles, local, engine, rows)
        if cat.builds_on is not None:
            ok &= met[cat.builds_on]
        met[cat.name] = ok
    return met


def _lineage_runs(codes: np.ndarray, list_years: np.ndarray, flags: np.ndarray) -> np.ndarray:
    """Per row: number of consecutive list years, ending at the row's, with ``flags`` true."""
    if len(codes) == 0:
        return np.zeros(0, dtype=np.int64)
    first = int(list_years.min())
    grid = np.zeros((int(codes.max()) + 1, int(list_years.max()) - first + 1), dtype=bool)
    grid[codes, list_years - first] = flags
    return _run_lengths(grid)[codes, list_years - first]


def _report(
    sink: _Sink,
    cat: Category,
    evals: list[_Evaluation],
    singles: list[Criterion],
    local: np.ndarray,
    engine: _Engine,
    rows: np.ndarray,
) -> None:
    """Store the combination counts and crime threshold of ``cat`` (and its own criteria)."""
    p = cat.prefix
    sink.put(f"{p}n_criteria", local, np.sum([e.met for e in evals], axis=0))
    sink.put(f"{p}n_criteria_missing", local, np.sum([~e.available for e in evals], axis=0))
    for crit, ev in zip(cat.counted, evals, strict=True):
        if crit.key == "crime":
            sink.put(f"{p}crime_threshold", local, ev.threshold)
        if p:
            sink.put(f"{p}crit_{crit.key}", local, ev.met, ev.available)
    if p:
        for crit in singles:
            if crit.key != "residents":
                ev = engine.evaluate(crit, rows)
                sink.put(f"{p}crit_{crit.key}", local, ev.met, ev.available)
