"""The running variable of a list-threshold RD: the distance to the binding list boundary.

:func:`list_running_variable` classifies an ``area_year`` table with
:func:`effekt.lists.classify` and turns every criterion's value and threshold into
a signed *margin* (positive when the criterion is met), then combines the margins
into one score whose sign is exactly the listing rule.

One criterion
    The score is the criterion's margin in its own units (for example
    ``outside_work_edu_share - 0.40``; for income, where the rule is "below",
    ``0.55 - income_rel_region``), so the RD estimate is the effect of just
    meeting that criterion. It is *not* the effect of being listed: crossing one
    threshold lists an area only if it meets the other criteria too.

A list category (``"udsat"``, ``"ghetto"``, ``"parallelsamfund"``, ...)
    The listing region is an intersection: residents >= 1,000, at least ``k`` of
    the counted criteria, and every required criterion (the non-Western share
    for ghetto/parallelsamfund). Each margin is first divided by the standard
    deviation of its criterion's value in the rows used (so that shares, an
    income ratio and a multiple of the national crime rate are on one scale);
    then "at least ``k`` of ``n``" is met exactly when the ``k``-th largest
    counted margin is positive, and an intersection is met exactly when the
    smallest of its margins is positive. The score is therefore

    .. math:: s = \\min\\big(m_{(k)}, m_{\\text{required}}, m_{\\text{residents}}\\big),

    with :math:`m_{(k)}` the ``k``-th largest standardised counted margin: the
    *binding score* of Reardon & Robinson (2012), the "centering" approach of
    Wong, Steiner & Cook (2013): the multiple scores are normalised and
    collapsed into one running variable, and the pooled effect over the
    boundary is estimated with a single-score RD, as in the pooled multi-score
    estimates of Cattaneo, Titiunik & Vazquez-Bare (2020). Its sign reproduces the
    category of :func:`effekt.lists.classify` row by row (checked on every call),
    so the design stays sharp; the standardisation changes distances, never sides.

    Why this and not the Euclidean distance to the boundary: the boundary of a
    "k of n" region has kinks and faces in several directions (in five or six
    dimensions here); the binding score is one number per area, needs no choice
    of boundary point, and is what the applied multiple-score literature uses.
    Its cost: areas at the same score can be near different faces of the
    boundary (near the labour threshold, near the income threshold), so the
    estimate is a weighted average of the effects at the faces, and the weights
    depend on how the margins are scaled (Wong, Steiner & Cook 2013 show this for
    two scores). Fit single criteria to see the faces apart.

Categories that need a list history (``"haardt_ghetto"``, ``"omdannelsesomraade"``)
have no single-year boundary and are refused.

References
----------
Reardon, S. F. and Robinson, J. P. (2012). Regression discontinuity designs with
multiple rating-score variables. Journal of Research on Educational Effectiveness
5(1), 83-104. doi:10.1080/19345747.2011.609583
Wong, V. C., Steiner, P. M. and Cook, T. D. (2013). Analyzing regression-discontinuity
designs with multiple assignment variables: a comparative study of four estimation
methods. Journal of Educational and Behavioral Statistics 38(2), 107-141.
doi:10.3102/1076998611432172
Cattaneo, M. D., Titiunik, R. and Vazquez-Bare, G. (2020). Analysis of regression-
discontinuity designs with multiple cutoffs or multiple scores. The Stata Journal
20(4), 866-891. doi:10.1177/1536867X20976320
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from difflib import get_close_matches
from typing import Any

import numpy as np
import pandas as pd

from effekt import lists
from effekt.errors import DataError, IdentificationError, ParameterError, show_value

__all__ = ["CRITERIA", "list_running_variable", "rd_targets"]

#: Criterion keys that can be a single-criterion running variable.
CRITERIA = ("residents", "labour", "crime", "education", "income", "nonwestern")

_OWNER = "effekt.rd.list_running_variable"
_DECIMALS = 10  # as effekt.lists: threshold cases are decided on rounded values


def rd_targets(regime: str) -> tuple[str, ...]:
    """The ``criterion`` values a regime supports: its criteria and its list categories.

    Parameters
    ----------
    regime : str
        A key of :data:`effekt.lists.REGIMES`.

    Returns
    -------
    tuple of str
        Criterion keys of the regime, then the categories without a list history.

    Examples
    --------
    >>> from effekt.rd import rd_targets
    >>> rd_targets("2021")[6:]
    ('forebyggelsesomraade', 'udsat', 'parallelsamfund')
    """
    reg = _regime(regime, _OWNER)
    keys = tuple(c.key for c in reg.headline)
    cats = tuple(c.name for c in reg.categories if c.consecutive_lists == 1)
    return keys + cats


def _regime(regime: Any, owner: str) -> lists.Regime:
    if regime not in lists.REGIMES:
        close = get_close_matches(str(regime), list(lists.REGIMES), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        year = str(regime).strip()
        if year.isdigit() and int(year) >= lists.FIRST_LIST_YEAR:
            # a list year given for a regime: name the rules of that year
            rules = lists.regime_for_year(int(year))
            hint = f" Did you mean {rules!r} (the rules of the {int(year)} list)?"
        raise ParameterError(
            f"The 'regime' parameter of {owner} must be one of "
            f"{', '.join(repr(r) for r in lists.REGIMES)}. Got {show_value(regime)} instead.{hint}"
        )
    return lists.REGIMES[regime]


def check_target(criterion: Any, regime: str, owner: str) -> None:
    """Raise ParameterError (with 'did you mean') unless ``criterion`` fits ``regime``."""
    reg = _regime(regime, owner)
    allowed = rd_targets(regime)
    if criterion in allowed:
        return
    history = [c.name for c in reg.categories if c.consecutive_lists > 1]
    if criterion in history:
        raise ParameterError(
            f"The 'criterion' {criterion!r} of {owner} needs a list history (5 consecutive "
            "lists), so it has no single-year threshold to build a running variable from. Use "
            f"the category it builds on ({reg.lineage!r}) instead."
        )
    close = get_close_matches(str(criterion), list(allowed), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ParameterError(
        f"The 'criterion' parameter of {owner} must be a criterion or list category of the "
        f"{regime} rules: {', '.join(repr(a) for a in allowed)}. Got {show_value(criterion)} "
        f"instead.{hint}"
    )


def _margin(value: np.ndarray, threshold: np.ndarray, comparison: str) -> np.ndarray:
    v = np.round(value.astype(float), _DECIMALS)
    t = np.round(threshold.astype(float), _DECIMALS)
    return v - t if comparison in (">", ">=") else t - v


def _criteria_of(
    reg: lists.Regime, name: str
) -> tuple[list[lists.Criterion], int, str, list[lists.Criterion]]:
    """A category's counted criteria, ``k``, column prefix, and single (all-must-hold)
    criteria, following its ``builds_on`` chain (a ghetto is udsat plus non-Western)."""
    counted: list[lists.Criterion] = []
    singles: list[lists.Criterion] = []
    k = 0
    prefix = ""
    cat: lists.Category | None = reg.category(name)
    while cat is not None:
        singles += [c for c in (cat.residents, *cat.required) if c is not None]
        if cat.counted:
            counted, k, prefix = list(cat.counted), cat.min_met, cat.prefix
        cat = reg.category(cat.builds_on) if cat.builds_on else None
    headline = {c.key: c for c in reg.headline}
    for crit in (*counted, *singles):
        # value_<key> holds the headline criterion's (averaged) value; a category with
        # its own thresholds must average over the same window to reuse it.
        if crit.key not in headline or headline[crit.key].window != crit.window:
            raise ParameterError(  # pragma: no cover - no regime does this
                f"{_OWNER}: {name!r} averages {crit.key!r} differently from the headline."
            )
    return counted, k, prefix, singles


def list_running_variable(
    area_year: pd.DataFrame,
    *,
    criterion: str,
    regime: str = "2021",
    lag: int = 1,
    national_convicted_share: float | Mapping[int, float] | pd.Series | None = None,
    list_years: Sequence[int] | None = None,
) -> pd.DataFrame:
    """Running variable and treatment of a list-threshold RD, one row per area and list year.

    Parameters
    ----------
    area_year : pandas.DataFrame
        The ``area_year`` table :func:`effekt.lists.classify` reads. Not modified.
    criterion : str
        A criterion key (``labour, crime, education, income, nonwestern,
        residents``) or a list category without history (``udsat``, ``ghetto``,
        ``parallelsamfund``, ``forebyggelsesomraade``); see :func:`rd_targets`.
    regime : {"2010", "2014", "2018", "2021"}, default "2021"
        Only list years drawn up under these rules are used (the rules in force,
        :func:`effekt.lists.regime_for_year`), so being on the computed list is
        the actual treatment.
    lag : int, default 1
        Data lag of the lists, as in :func:`effekt.lists.classify`.
    national_convicted_share : float, mapping or Series, optional
        As in :func:`effekt.lists.classify`.
    list_years : sequence of int, optional
        Restrict to these list years (all of the regime's by default).

    Returns
    -------
    pandas.DataFrame
        ``area_id, year`` (list year), ``data_year``, ``score`` (the running
        variable, cutoff 0), ``treated`` (bool: criterion met / area in the
        category, exactly ``score >= 0`` except at an exact tie under a strict
        rule, see Notes), ``margin_<key>`` for each criterion used (standardised
        for a category), ``at_strict_tie`` (bool) and ``complete`` (bool: every
        margin could be evaluated; ``score`` is missing otherwise). Sorted by
        area and year.

    Raises
    ------
    ParameterError
        Unknown ``regime`` or ``criterion`` (with a suggestion), a category that
        needs a list history, or ``list_years`` outside the regime.
    DataError
        As :func:`effekt.lists.classify`; or a criterion with no spread to
        standardise by.
    IdentificationError
        No list year of the regime in the data.

    Notes
    -----
    A value exactly at a strict threshold ("more than 40 %") is not met, yet its
    score is 0, which an RD estimator assigns to the treated side. Such rows are
    flagged in ``at_strict_tie`` for the estimator to set aside (with a ledger
    entry); they are rare with register shares but not impossible (400 of 1,000).
    The standard deviations for a category's score are those of the complete rows
    of the regime's list years in ``area_year``.

    See :mod:`effekt.rd.running` for the construction and its references.

    Examples
    --------
    >>> import pandas as pd
    >>> from effekt.rd import list_running_variable
    >>> ay = pd.DataFrame({
    ...     "area_id": ["A", "A", "B", "B"], "year": [2020, 2021, 2020, 2021],
    ...     "residents": [2000, 2000, 1500, 1500],
    ...     "outside_work_edu_share": [0.45, 0.43, 0.30, 0.31],
    ...     "convicted_share": [0.03, 0.02, 0.01, 0.01],
    ...     "basic_edu_share": [0.62, 0.61, 0.40, 0.41],
    ...     "income_rel_region": [0.52, 0.53, 0.80, 0.82],
    ...     "nonwestern_share": [0.65, 0.64, 0.20, 0.21]})
    >>> out = list_running_variable(ay, criterion="labour", list_years=[2022])
    >>> out[["area_id", "year", "score", "treated"]].round(3)  # 2-year labour averages
      area_id  year  score  treated
    0       A  2022  0.040     True
    1       B  2022 -0.095    False
    """
    reg = _regime(regime, _OWNER)
    check_target(criterion, regime, _OWNER)
    classified = lists.classify(
        area_year, lag=lag, national_convicted_share=national_convicted_share
    )
    rows = classified["regime"].to_numpy(dtype=object) == regime
    if list_years is not None:
        wanted = np.asarray(list(list_years))
        bad = [int(y) for y in wanted if y not in _years_of(reg, classified)]
        if bad:
            raise ParameterError(
                f"The 'list_years' of {_OWNER} include {bad}, which are not list years of the "
                f"{regime} rules in the data (those are {_years_of(reg, classified)})."
            )
        rows &= classified["year"].isin(wanted).to_numpy()
    cl = classified.loc[rows].reset_index(drop=True)
    if cl.empty:
        raise IdentificationError(
            f"{_OWNER}: the data have no list year under the {regime} rules (list years "
            f"{reg.first_list_year}-{reg.last_list_year or 'now'} with lag {lag} need data "
            f"years from {reg.first_list_year - lag}). Choose another regime or extend the data."
        )
    out = cl[["area_id", "year", "data_year"]].copy()
    if criterion in CRITERIA:
        crit = next(c for c in reg.headline if c.key == criterion)
        margin = _margin(_value(cl, crit.key), _threshold(cl, crit, ""), crit.comparison)
        out[f"margin_{crit.key}"] = margin
        complete = np.isfinite(margin)
        score = margin
        treated = cl[f"crit_{crit.key}"].fillna(False).to_numpy(dtype=bool)
    else:
        counted, k, prefix, singles = _criteria_of(reg, criterion)
        margins_c = [_std_margin(cl, c, prefix) for c in counted]
        margins_s = [_std_margin(cl, c, "") for c in singles]
        for c, m in zip([*counted, *singles], [*margins_c, *margins_s], strict=True):
            out[f"margin_{c.key}"] = m
        stacked = np.column_stack(margins_c)
        complete = np.isfinite(stacked).all(axis=1)
        for m in margins_s:
            complete &= np.isfinite(m)
        # "at least k of n" holds exactly when the k-th largest margin is positive
        kth = -np.sort(-np.where(np.isfinite(stacked), stacked, -np.inf), axis=1)[:, k - 1]
        score = np.minimum.reduce([kth, *margins_s]) if margins_s else kth
        treated = cl[criterion].fillna(False).to_numpy(dtype=bool)
    score = np.where(complete, score, np.nan)
    out["score"] = score
    out["treated"] = treated
    # A score of exactly 0 is on the treated side for an RD estimator (x >= c); when
    # the rule says "not met" there, the binding criterion is strict and at its threshold.
    out["at_strict_tie"] = complete & (score == 0) & ~treated
    out["complete"] = complete
    _check_sharp(out, criterion, regime)
    return out


def _years_of(reg: lists.Regime, classified: pd.DataFrame) -> list[int]:
    years = classified.loc[classified["regime"] == reg.name, "year"]
    return sorted(int(y) for y in years.unique())


def _value(cl: pd.DataFrame, key: str) -> np.ndarray:
    return cl[f"value_{key}"].to_numpy(dtype=float, na_value=np.nan)


def _threshold(cl: pd.DataFrame, crit: lists.Criterion, prefix: str) -> np.ndarray:
    if crit.relative_to_national:
        return cl[f"{prefix}crime_threshold"].to_numpy(dtype=float, na_value=np.nan)
    return np.full(len(cl), crit.threshold)


def _std_margin(cl: pd.DataFrame, crit: lists.Criterion, prefix: str) -> np.ndarray:
    raw = _margin(_value(cl, crit.key), _threshold(cl, crit, prefix), crit.comparison)
    values = _value(cl, crit.key)
    n_ok = int(np.isfinite(values).sum())
    if n_ok < 2:
        raise IdentificationError(
            f"{_OWNER}: the {crit.key!r} criterion can be evaluated on only {n_ok} area-list "
            f"year(s) of these rules (its {crit.window}-year average needs data years before "
            "the first list year). Extend the data back in time or choose other list years."
        )
    # summed in sorted order, so that the score does not depend on the row order
    sd = float(np.nanstd(np.sort(values), ddof=1))
    if not np.isfinite(sd) or sd <= 0:
        raise DataError(
            f"{_OWNER}: the {crit.key!r} criterion ({crit.column}) has no spread in the "
            "regime's list years, so its margin cannot be standardised. Check the column."
        )
    return raw / sd


def _check_sharp(out: pd.DataFrame, criterion: str, regime: str) -> None:
    """The score's sign must reproduce the rule (else the construction has a bug)."""
    ok = out["complete"].to_numpy() & ~out["at_strict_tie"].to_numpy()
    side = out["score"].to_numpy()[ok] >= 0
    bad = side != out["treated"].to_numpy()[ok]
    if bad.any():  # pragma: no cover - guarded by tests/test_rd_running.py
        rows = out.loc[ok].loc[bad, ["area_id", "year", "score", "treated"]]
        raise IdentificationError(
            f"{_OWNER}: the score for {criterion!r} ({regime} rules) does not reproduce "
            f"effekt.lists.classify on {int(bad.sum())} row(s), e.g.\n{rows.head().to_string()}\n"
            "Please report this as a bug."
        )
