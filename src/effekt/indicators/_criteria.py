"""Each area against the official list criteria: value, threshold, margin, trend, outlook.

The values and thresholds are :func:`effekt.lists.classify`'s (averaged as the law
averages them); this module adds what a kommune's analyst reads off them: the margin
to each threshold in the criterion's own unit, the trend of the underlying yearly
indicator over the last five data years, and what it would take for an area to leave
the list.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from effekt import lists
from effekt.errors import DataError

__all__ = ["criteria_table", "list_outlook"]

#: years of data in the trend (ordinary least squares slope per year)
TREND_YEARS = 5


def _margin(value: float, criterion: lists.Criterion, threshold: float) -> float:
    """Distance to the threshold, positive on the side where the criterion is met."""
    if criterion.comparison in (">", ">="):
        return value - threshold
    return threshold - value


def _slope(years: np.ndarray, values: np.ndarray) -> float:
    ok = np.isfinite(values)
    if ok.sum() < 3:  # a slope through two points is no trend
        return float("nan")
    x, y = years[ok].astype(float), values[ok]
    x = x - x.mean()
    return float((x * (y - y.mean())).sum() / (x * x).sum())


def _latest_lists(classified: pd.DataFrame, year: int | None) -> pd.DataFrame:
    if year is None:
        year = int(classified["year"].max())
    rows = classified[classified["year"] == year]
    if rows.empty:
        have = sorted(int(y) for y in classified["year"].unique())
        raise DataError(
            f"The 'year' argument names list year {year}, which the data cannot classify "
            f"(list years available: {have[0]}-{have[-1]}). Pass one of those, or None for the "
            "latest."
        )
    return rows


def criteria_table(
    area_year: pd.DataFrame,
    classified: pd.DataFrame,
    *,
    year: int | None = None,
) -> pd.DataFrame:
    """One row per area and headline criterion of the list year's regime.

    Parameters
    ----------
    area_year : pandas.DataFrame
        The yearly indicators (``area_year`` schema), for the trend.
    classified : pandas.DataFrame
        :func:`effekt.lists.classify` of ``area_year``.
    year : int, optional
        The list year; default the latest the data can classify.

    Returns
    -------
    pandas.DataFrame
        ``area_id, year, regime, criterion, column, comparison, value, threshold,
        margin, met, trend_per_year``. ``margin`` is in the criterion's unit
        (proportion, ratio or persons), positive where the criterion is met;
        ``trend_per_year`` is the OLS slope of the yearly column over the last
        five data years up to the list's data year.
    """
    rows = _latest_lists(classified, year)
    out = []
    for _, r in rows.iterrows():
        regime = lists.REGIMES[str(r["regime"])]
        own = area_year[area_year["area_id"] == r["area_id"]]
        recent = own[(own["year"] <= r["data_year"]) & (own["year"] > r["data_year"] - TREND_YEARS)]
        for crit in regime.headline:
            value = r[f"value_{crit.key}"]
            value = float(value) if pd.notna(value) else float("nan")
            threshold = (
                float(r["crime_threshold"]) if crit.relative_to_national else float(crit.threshold)
            )
            met = r[f"crit_{crit.key}"]
            out.append(
                {
                    "area_id": r["area_id"],
                    "year": int(r["year"]),
                    "regime": regime.name,
                    "criterion": crit.key,
                    "column": crit.column,
                    "comparison": crit.comparison,
                    "value": value,
                    "threshold": threshold,
                    "margin": _margin(value, crit, threshold),
                    "met": None if pd.isna(met) else bool(met),
                    "trend_per_year": _slope(
                        recent["year"].to_numpy(), recent[crit.column].to_numpy(dtype=float)
                    ),
                }
            )
    return pd.DataFrame(out)


def list_outlook(criteria: pd.DataFrame, classified: pd.DataFrame) -> pd.DataFrame:
    """Per area: the status, how many criteria are met, and what would take it off.

    The projection moves each criterion's value by one year of its trend and applies
    the same "k of n" rule; it is a linear extrapolation, not a forecast, and ignores
    the averaging windows and the rule's other conditions (residents, lineage).

    Parameters
    ----------
    criteria : pandas.DataFrame
        :func:`criteria_table`'s output.
    classified : pandas.DataFrame
        :func:`effekt.lists.classify`'s output (for the status).

    Returns
    -------
    pandas.DataFrame
        ``area_id, year, status, n_met, min_met, projected_n_met, projected_on,
        to_leave`` where ``to_leave`` lists the smallest changes (criterion and the
        change in its unit) that would bring the count below the rule, or is empty
        when the area does not meet the main rule.
    """
    out = []
    for key, part in criteria.groupby(["area_id", "year"], sort=False):
        area, year = key
        yr = int(year)  # type: ignore[call-overload]
        regime = lists.REGIMES[str(part["regime"].iloc[0])]
        main = regime.category(regime.main)
        counted = part[part["criterion"].isin([c.key for c in main.counted])]
        n_met = int(counted["met"].fillna(False).astype(bool).sum())
        projected = counted["margin"] + counted["trend_per_year"].fillna(0.0) * np.where(
            counted["comparison"].isin([">", ">="]), 1.0, -1.0
        )
        projected_n = int((projected > 0).sum())
        need = n_met - main.min_met + 1
        closest = counted[counted["met"].fillna(False).astype(bool)].nsmallest(
            max(need, 0), "margin"
        )
        to_leave = [
            (c, float(m)) for c, m in zip(closest["criterion"], closest["margin"], strict=True)
        ]
        status = classified.loc[
            (classified["area_id"] == area) & (classified["year"] == yr), "status"
        ]
        out.append(
            {
                "area_id": area,
                "year": yr,
                "status": None if status.empty or pd.isna(status.iloc[0]) else status.iloc[0],
                "n_met": n_met,
                "min_met": main.min_met,
                "projected_n_met": projected_n,
                "projected_on": projected_n >= main.min_met,
                "to_leave": to_leave if n_met >= main.min_met else [],
            }
        )
    return pd.DataFrame(out)
