"""Pieces shared by the regression-based DiD estimators (TWFE, Sun-Abraham, imputation)."""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import stats

from effekt.errors import AssumptionWarning, IdentificationError, invalid_parameter

if TYPE_CHECKING:  # pragma: no cover
    from effekt.panel import Panel

__all__ = [
    "FEW_CLUSTERS",
    "cluster_codes",
    "fixest_k_fe",
    "pretrend_row",
    "wald_chi2",
    "wald_f",
    "warn_few_clusters",
]

FEW_CLUSTERS = 30  # below this, cluster-robust inference over-rejects (Cameron et al. 2008)


def fixest_k_fe(data: pd.DataFrame, fes: Sequence[Hashable], clusters: np.ndarray) -> int:
    """Fixed-effect parameters counted in K by fixest's CRV1 rule (``fixef.K = "nested"``).

    One parameter for the level the effects share, plus levels - 1 for every fixed
    effect not nested in a clustering dimension; effects nested in the clusters add
    nothing (pyfixest: K = 6 for ``y ~ D | unit + year`` on mpdta clustered by unit).

    Parameters
    ----------
    data : pandas.DataFrame
    fes : sequence of column names
        The fixed effects.
    clusters : ndarray, shape (n,) or (n, n_dims)
        Integer cluster codes, one column per clustering dimension.

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from effekt.did._common import fixest_k_fe
    >>> d = pd.DataFrame({"u": [1, 1, 2, 2], "t": [1, 2, 1, 2]})
    >>> fixest_k_fe(d, ["u", "t"], np.array([0, 0, 1, 1]))  # unit nested: 1 + (2 - 1)
    2
    """
    codes_by_dim = clusters[:, None] if clusters.ndim == 1 else clusters
    k = 1
    for column in fes:
        codes = pd.factorize(data[column])[0]
        nested = any(
            pd.Series(codes_by_dim[:, j]).groupby(codes).nunique().max() == 1
            for j in range(codes_by_dim.shape[1])
        )
        if not nested:
            k += len(np.unique(codes)) - 1
    return k


def cluster_codes(panel: Panel, spec: str | None, owner: str) -> tuple[np.ndarray, str]:
    """Integer cluster codes per row and the cluster column's name (one-way clustering)."""
    if spec is None:
        spec = "panel" if panel.cluster is not None else "unit"
    allowed = {"unit": panel.unit}
    if panel.cluster is not None:
        allowed["panel"] = panel.cluster
        allowed[str(panel.cluster)] = panel.cluster
    if not isinstance(spec, str) or spec not in allowed:
        raise invalid_parameter(
            "cluster",
            owner,
            f"one of {sorted(allowed)}",
            spec,
            "To cluster on another column (e.g. kommune), pass it as cluster=... to "
            "Panel.from_frame.",
        )
    column = allowed[spec]
    codes = pd.factorize(panel._data[column])[0]
    if len(np.unique(codes)) < 2:
        raise IdentificationError(
            f"{owner} cannot cluster on {column!r}: it has a single group. Clustered standard "
            "errors need at least two clusters (and many more to be reliable)."
        )
    return codes, str(column)


def warn_few_clusters(owner: str, n_clusters: int, name: str) -> None:
    """Warn that cluster-robust inference with ``n_clusters`` clusters is optimistic."""
    if n_clusters < FEW_CLUSTERS:
        warnings.warn(
            f"{owner}: only {n_clusters} clusters ({name}); cluster-robust inference "
            "over-rejects with few clusters (Cameron, Gelbach & Miller 2008). Read the "
            "p-values as optimistic.",
            AssumptionWarning,
            stacklevel=3,
        )


def wald_f(b: np.ndarray, v: np.ndarray, df_denom: int) -> pd.Series:
    """Joint Wald test that ``b`` is zero, reported as F = W/q with (q, df_denom) df."""
    q = len(b)
    f_stat = float(b @ np.linalg.solve(v, b)) / q
    return pd.Series(
        {
            "statistic": f_stat,
            "df_num": q,
            "df_denom": df_denom,
            "p_value": float(stats.f.sf(f_stat, q, df_denom)),
        }
    )


def wald_chi2(est: np.ndarray, cov: np.ndarray) -> tuple[float, int, float]:
    """Joint Wald test that ``est`` is zero: (chi-squared, df, p), as R did's pre-test.

    Raises IdentificationError on a singular covariance matrix (R did returns no test).
    """
    q = len(est)
    with np.errstate(all="ignore"):
        rcond = 1.0 / np.linalg.cond(cov, 1)
    if not np.isfinite(rcond) or rcond <= np.finfo(float).eps:
        raise IdentificationError(
            "The pre-treatment estimates' covariance matrix is singular, so no joint Wald "
            "test is possible (R did also returns none). Typical cause: pre-periods estimated "
            "from the same few units."
        )
    stat = float(est @ np.linalg.solve(cov, est))
    return stat, q, float(stats.chi2.sf(stat, q))


def pretrend_row(test: pd.Series) -> tuple[str, str]:
    """The summary line of a pre-trend test, F (regression estimators) or chi-squared (C&S)."""
    if "df_num" in test:
        text = f"F({test['df_num']:.0f}, {test['df_denom']:.0f}) = {test['statistic']:.3f}"
    else:
        text = f"Wald chi2({test['df']:.0f}) = {test['statistic']:.3f}"
    return "Pre-trend test", f"{text}, p = {test['p_value']:.3f}"
