"""Donor-pool helpers: restrict donors by area grouping or by similarity.

Synthetic control is only as good as its donor pool: donors should be
unaffected by the intervention and similar to the treated area before it.
These helpers return plain lists of unit labels to pass as ``donors=`` to
:class:`~effekt.synth.SyntheticControl` or :class:`~effekt.synth.SyntheticDiD`.

- :func:`donors_in_group`: donors sharing (or not sharing) the treated area's
  kommune or region, e.g. to avoid spill-over within a kommune, or to compare
  within the same regional housing market.
- :func:`similar_donors`: the ``n`` areas most similar to the treated one on
  pre-period indicators (standardised Euclidean distance on their pre-period
  means), in the spirit of Landsbyggefonden's twin tool ("Tvillingeværktøjet").

Both exclude units the panel marks as treated at any time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt.errors import (
    DataError,
    IdentificationError,
    check_choice,
    invalid_parameter,
    missing_column,
)
from effekt.synth import _prep

if TYPE_CHECKING:  # pragma: no cover
    from effekt.panel import Panel

__all__ = ["donors_in_group", "similar_donors"]


def _candidates(panel: Panel, treated: Any, owner: str) -> list[Any]:
    labels = _prep.resolve_treated(panel, treated, owner)
    units = panel._data[panel.unit].unique().tolist()
    g = _prep.cohorts(panel)
    ever = set(g.index[_prep._is_finite(g)].tolist()) if not g.empty else set()
    return [u for u in sorted(units, key=str) if u not in labels and u not in ever]


def donors_in_group(
    panel: Panel, *, treated: Any, groups: pd.Series, same: bool = True
) -> list[Any]:
    """Donors in the same group (kommune, region) as the treated unit, or outside it.

    Parameters
    ----------
    panel : effekt.Panel
    treated : unit label
        The treated unit.
    groups : pandas.Series
        Group of each unit (index: unit labels), e.g. ``areas.set_index("area_id")
        ["kommune_code"]``.
    same : bool, default True
        True: donors in the treated unit's group; False: donors outside it
        (e.g. to avoid spill-overs within a kommune).

    Returns
    -------
    list
        Unit labels, never-treated, sorted.

    Raises
    ------
    DataError
        The treated unit or some units have no group.
    IdentificationError
        Fewer than 2 donors qualify.

    Examples
    --------
    >>> import pandas as pd
    >>> import effekt as ek
    >>> df = pd.DataFrame({"area": list("abcd") * 2, "year": [1] * 4 + [2] * 4,
    ...                    "y": [1.0, 2, 3, 4, 2, 3, 4, 5]})
    >>> panel = ek.Panel.from_frame(df, unit="area", time="year", outcome="y")
    >>> kommune = pd.Series({"a": 101, "b": 101, "c": 101, "d": 751})
    >>> ek.synth.donors_in_group(panel, treated="a", groups=kommune)
    ['b', 'c']
    """
    owner = "donors_in_group"
    if not isinstance(groups, pd.Series):
        raise invalid_parameter("groups", owner, "a pandas Series indexed by unit", groups)
    pool = _candidates(panel, treated, owner)
    if treated not in groups.index or pd.isna(groups.get(treated)):
        raise DataError(f"{owner}: the treated unit {treated!r} has no entry in 'groups'.")
    missing = [u for u in pool if u not in groups.index]
    if missing:
        raise DataError(
            f"{owner}: {len(missing)} unit(s) have no entry in 'groups', e.g. {missing[:5]}."
        )
    target = groups[treated]
    chosen = [u for u in pool if (groups[u] == target) == same]
    if len(chosen) < 2:
        raise IdentificationError(
            f"{owner}: only {len(chosen)} donor(s) {'share' if same else 'lie outside'} the group "
            f"{target!r} of {treated!r}; synthetic control needs at least 2."
        )
    return chosen


def similar_donors(
    panel: Panel,
    *,
    treated: Any,
    on: Sequence[str],
    before: Any,
    n: int = 20,
    start: Any = None,
    metric: str = "standardized",
) -> list[Any]:
    """The ``n`` never-treated units most similar to the treated one before ``before``.

    Each unit is summarised by its mean of each indicator over the periods
    ``[start, before)``; distances are Euclidean on indicators standardised by
    their SD across units (``metric="standardized"``) or Mahalanobis
    (``metric="mahalanobis"``, accounting for correlated indicators).

    Parameters
    ----------
    panel : effekt.Panel
    treated : unit label
    on : sequence of str
        Indicator columns: the outcome and/or covariates of the panel.
    before : period
        First treated period; only earlier periods are used.
    n : int, default 20
        Number of donors returned.
    start : period, optional
        First period used (default: the panel's first).
    metric : {"standardized", "mahalanobis"}

    Returns
    -------
    list
        Unit labels, most similar first.

    Raises
    ------
    DataError
        Unknown columns, a unit without data in the window.
    ParameterError
        Invalid ``n`` or ``metric``.

    Examples
    --------
    >>> import pandas as pd
    >>> import effekt as ek
    >>> df = pd.DataFrame({"area": list("abcde") * 2, "year": [1] * 5 + [2] * 5,
    ...                    "y": [1.0, 1.1, 5, 0.8, 9, 1, 1, 1, 1, 1]})
    >>> panel = ek.Panel.from_frame(df, unit="area", time="year", outcome="y")
    >>> ek.synth.similar_donors(panel, treated="a", on=["y"], before=2, n=2)
    ['b', 'd']
    """
    owner = "similar_donors"
    check_choice("metric", owner, metric, ("standardized", "mahalanobis"))
    if isinstance(n, bool) or not isinstance(n, int) or n < 2:
        raise invalid_parameter("n", owner, "an integer >= 2", n)
    cols = [on] if isinstance(on, str) else list(on)
    allowed = [panel.outcome, *panel.covariates]
    for c in cols:
        if c not in allowed:
            raise missing_column("on", owner, c, allowed)
    pool = _candidates(panel, treated, owner)
    data = panel._data
    mask = data[panel.time] < before
    if start is not None:
        mask &= data[panel.time] >= start
    means = data.loc[mask].groupby(panel.unit)[cols].mean().reindex([treated, *pool])
    bad = means.isna().any(axis=1)
    if bad.any():
        raise DataError(
            f"{owner}: {int(bad.sum())} unit(s) have no data on {cols} before {before!r}, e.g. "
            f"{list(means.index[bad][:5])}."
        )
    x = means.to_numpy(float)
    sd = x.std(axis=0, ddof=1)
    z = (x - x.mean(axis=0)) / np.where(sd > 0, sd, 1.0)
    d = z[1:] - z[0]
    if metric == "mahalanobis" and len(cols) > 1:
        prec = np.linalg.pinv(np.cov(z, rowvar=False))
        dist = np.einsum("ij,jk,ik->i", d, prec, d)
    else:
        dist = np.einsum("ij,ij->i", d, d)
    order = np.argsort(dist, kind="stable")[: min(n, len(pool))]
    return [pool[i] for i in order]
