"""Pieces shared by the regression-based DiD estimators (TWFE, Sun-Abraham, imputation)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

__all__ = ["fixest_k_fe"]


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
