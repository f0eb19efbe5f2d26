"""Sharp regression discontinuity on rdrobust: the estimator behind every effekt.rd design.

rdrobust (Calonico, Cattaneo, Farrell & Titiunik) is the reference implementation
of local-polynomial RD estimation, MSE/CER-optimal bandwidths and robust
bias-corrected inference; effekt calls it and does not re-implement any of it.
What effekt adds around it: input checks with effekt's errors (rdrobust raises
bare ``Exception``), a ledger for rows with missing values, rdrobust's printed
messages and warnings turned into effekt warnings or summary notes, a
deterministic row order, and the result protocol.

References
----------
Calonico, S., Cattaneo, M. D. and Titiunik, R. (2014). Robust nonparametric
confidence intervals for regression-discontinuity designs. Econometrica 82(6),
2295-2326. doi:10.3982/ECTA11757
Calonico, S., Cattaneo, M. D., Farrell, M. H. and Titiunik, R. (2017). rdrobust:
Software for regression-discontinuity designs. The Stata Journal 17(2), 372-404.
doi:10.1177/1536867X1701700208
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from effekt.errors import (
    DataError,
    DroppedRowsWarning,
    format_rows,
    invalid_parameter,
    missing_column,
)
from effekt.estimator import Estimator
from effekt.panel import Ledger
from effekt.rd._core import (
    check_settings,
    check_sides,
    run_rdrobust,
)
from effekt.rd.results import RDResult
from effekt.results import Provenance

__all__ = ["SharpRD"]


def sort_order(*columns: np.ndarray) -> np.ndarray:
    """Row order that does not depend on the caller's row order (rdrobust's nn variance
    and its bandwidth search read the data in order); the first column is the primary key."""
    keys = [np.asarray(c) for c in reversed(columns)]
    return np.lexsort(keys)


def fingerprint(*arrays: np.ndarray) -> str:
    """SHA-256 of the analysis arrays (already in canonical order)."""
    h = hashlib.sha256()
    for a in arrays:
        h.update(pd.util.hash_array(np.asarray(a, dtype=object)).tobytes())
    return h.hexdigest()[:16]


def drop_missing(
    frame: pd.DataFrame, columns: Sequence[str], owner: str, unit: str | None, time: str | None
) -> tuple[pd.DataFrame, Ledger]:
    """Drop rows with a missing value in ``columns`` (ledger + DroppedRowsWarning);
    raise DataError on infinite values."""
    ledger = Ledger.empty()
    for col in columns:
        values = frame[col]
        if not (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)):
            continue
        arr = values.to_numpy(dtype=float, na_value=np.nan)
        inf = np.isinf(arr)
        if inf.any():
            raise DataError(
                f"{owner}: column {col!r} has {int(inf.sum())} infinite value(s):\n"
                f"{format_rows(frame.loc[inf, [col]])}\nReplace them (by NaN to drop the rows)."
            )
    missing = frame[list(columns)].isna()
    bad = missing.any(axis=1).to_numpy()
    if bad.any():
        reasons = missing.loc[bad].apply(
            lambda r: "missing " + ", ".join(c for c in columns if r[c]), axis=1
        )
        rows = pd.DataFrame(
            {
                "row": frame.index[bad],
                "unit": frame.loc[bad, unit].to_numpy() if unit else None,
                "time": frame.loc[bad, time].to_numpy() if time else None,
                "reason": reasons.to_numpy(),
            }
        )
        ledger = ledger.extend(rows)
        warnings.warn(
            f"{owner}: dropped {int(bad.sum()):,} of {len(frame):,} rows with missing values "
            f"({ledger.describe()}); see result.ledger.",
            DroppedRowsWarning,
            stacklevel=3,
        )
    return frame.loc[~bad], ledger


class SharpRD(Estimator):
    """Sharp regression discontinuity: local-polynomial estimate at a cutoff (rdrobust).

    The effect at the cutoff :math:`\\tau = \\lim_{x \\downarrow c} E[Y|X=x] -
    \\lim_{x \\uparrow c} E[Y|X=x]`, with units at or above ``cutoff`` treated,
    estimated by rdrobust: local polynomial of order ``p`` on each side within
    bandwidth ``h`` (MSE-optimal by default), bias correction with order ``q``
    and bandwidth ``b``, and the robust bias-corrected confidence interval of
    Calonico, Cattaneo & Titiunik (2014). The result reports rdrobust's three
    rows (conventional, bias-corrected, robust); the robust interval and p-value
    are the ones to report.

    Parameters
    ----------
    running : str
        Column of the running variable (score).
    outcome : str
        Column of the outcome.
    cutoff : float, default 0
        Units with ``running >= cutoff`` are treated.
    p : int, default 1
        Order of the local polynomial (1: local linear).
    q : int, optional
        Order of the bias-correction polynomial; default ``p + 1``.
    h, b : float, optional
        Main and bias bandwidths; default selected by rdrobust (``bwselect``).
        ``b`` defaults to ``h`` when only ``h`` is given.
    kernel : {"triangular", "epanechnikov", "uniform"}, default "triangular"
    bwselect : str, default "mserd"
        rdrobust's bandwidth selector (``mserd, msetwo, msesum, msecomb1,
        msecomb2, cerrd, certwo, cersum, cercomb1, cercomb2``).
    vce : str, optional
        Variance estimator: ``nn`` (default), ``hc0``-``hc3``; with a cluster
        ``cr1`` (default), ``cr2``, ``cr3``.
    cluster : str, optional
        Column of cluster ids (cluster-robust variance).
    covariates : sequence of str, default ()
        Pre-determined covariates for covariate-adjusted estimation (Calonico
        et al. 2019); they must not be affected by the treatment.
    masspoints : {"adjust", "check", "off"}, default "adjust"
        rdrobust's handling of repeated running-variable values.
    ci_level : float, optional
        Interval level; default ``effekt.options["ci_level"]``.

    References
    ----------
    Calonico, S., Cattaneo, M. D. and Titiunik, R. (2014). Robust nonparametric
    confidence intervals for regression-discontinuity designs. Econometrica 82(6),
    2295-2326. doi:10.3982/ECTA11757
    Calonico, S., Cattaneo, M. D., Farrell, M. H. and Titiunik, R. (2019).
    Regression discontinuity designs using covariates. Review of Economics and
    Statistics 101(3), 442-451. doi:10.1162/rest_a_00760
    Cattaneo, M. D., Idrobo, N. and Titiunik, R. (2020). A Practical Introduction
    to Regression Discontinuity Designs: Foundations. Cambridge University Press.
    doi:10.1017/9781108684606

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from effekt.rd import SharpRD
    >>> rng = np.random.default_rng(0)
    >>> x = rng.uniform(-1, 1, 1000)
    >>> df = pd.DataFrame({"x": x, "y": 0.5 * x + 2.0 * (x >= 0) + rng.normal(0, 0.3, 1000)})
    >>> res = SharpRD(running="x", outcome="y").fit(df)
    >>> bool(abs(res.estimate - 2.0) < 0.2)
    True
    """

    def __init__(
        self,
        *,
        running: str,
        outcome: str,
        cutoff: float = 0.0,
        p: int = 1,
        q: int | None = None,
        h: float | None = None,
        b: float | None = None,
        kernel: str = "triangular",
        bwselect: str = "mserd",
        vce: str | None = None,
        cluster: str | None = None,
        covariates: Sequence[str] = (),
        masspoints: str = "adjust",
        ci_level: float | None = None,
    ) -> None:
        self.running = running
        self.outcome = outcome
        self.cutoff = cutoff
        self.p = p
        self.q = q
        self.h = h
        self.b = b
        self.kernel = kernel
        self.bwselect = bwselect
        self.vce = vce
        self.cluster = cluster
        self.covariates = covariates
        self.masspoints = masspoints
        self.ci_level = ci_level

    def fit(self, frame: pd.DataFrame) -> RDResult:  # type: ignore[override]
        """Estimate the discontinuity on ``frame``.

        Parameters
        ----------
        frame : pandas.DataFrame
            One row per unit with the running variable, the outcome and any
            cluster and covariate columns. Not modified. Rows with a missing
            value in one of these columns are dropped (ledger, warning).

        Returns
        -------
        RDResult

        Raises
        ------
        ParameterError
            Invalid parameters.
        DataError
            A named column is missing or not numeric, or has infinite values.
        IdentificationError
            No observation on one side of the cutoff, too few distinct values,
            too few observations inside a given ``h``, or rdrobust failing.
        """
        owner = "SharpRD"
        if not isinstance(frame, pd.DataFrame):
            raise invalid_parameter("frame", f"{owner}.fit", "a pandas DataFrame", type(frame))
        if isinstance(self.covariates, str):
            raise invalid_parameter(
                "covariates", owner, "a sequence of column names", self.covariates
            )
        if isinstance(self.cutoff, bool) or not isinstance(self.cutoff, int | float | np.number):
            raise invalid_parameter("cutoff", owner, "a finite number", self.cutoff)
        if not np.isfinite(self.cutoff):
            raise invalid_parameter("cutoff", owner, "a finite number", self.cutoff)
        settings = check_settings(self, owner, self.cluster is not None)
        roles = [("running", self.running), ("outcome", self.outcome)]
        roles += [("covariates", c) for c in self.covariates]
        if self.cluster is not None:
            roles.append(("cluster", self.cluster))
        for arg, col in roles:
            if col not in frame.columns:
                raise missing_column(arg, owner, col, list(frame.columns))
            if arg != "cluster" and not pd.api.types.is_numeric_dtype(frame[col]):
                raise DataError(
                    f"{owner}: the {arg!r} column {col!r} must be numeric; it has dtype "
                    f"{frame[col].dtype}."
                )
        used = list(dict.fromkeys(c for _, c in roles))
        data, ledger = drop_missing(frame, used, owner, None, None)
        x = data[self.running].to_numpy(dtype=float)
        y = data[self.outcome].to_numpy(dtype=float)
        check_sides(x, float(self.cutoff), settings, owner)
        cl = None if self.cluster is None else data[self.cluster].to_numpy()
        covs = data[list(self.covariates)].to_numpy(dtype=float) if self.covariates else None
        extra = [] if cl is None else [pd.factorize(cl.astype(str), sort=True)[0]]
        order = sort_order(x, y, *extra, *([] if covs is None else list(covs.T)))
        data = data.iloc[order]
        x, y = x[order], y[order]
        cl = None if cl is None else cl[order]
        covs = None if covs is None else covs[order]
        out, notes = run_rdrobust(
            y, x, cutoff=float(self.cutoff), settings=settings, cluster=cl, covs=covs, owner=owner
        )
        return RDResult.from_rdrobust(
            out,
            outcome=self.outcome,
            estimator=owner,
            x=x,
            y=y,
            cutoff=float(self.cutoff),
            settings=settings,
            cluster=cl,
            covs=covs,
            frame=data.reset_index(drop=True),
            running_name=self.running,
            ledger=ledger,
            notes=notes,
            provenance=Provenance(
                owner, self.get_params(), None, fingerprint(x, y, *([] if cl is None else [cl]))
            ),
        )
