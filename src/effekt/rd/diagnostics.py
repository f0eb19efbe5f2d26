"""Falsification checks of an RD design: density (manipulation), covariate balance, placebo cutoffs.

The three checks that Cattaneo, Idrobo & Titiunik (2020, ch. 5) ask of every RD:

- :func:`density_test`: the Cattaneo, Jansson & Ma (2020) local-polynomial
  density test, computed by the rddensity package (extra ``rd``); not
  re-implemented here.
- :func:`balance`: rdrobust on each pre-determined covariate, each with its own
  MSE-optimal bandwidth.
- :func:`placebo_cutoffs`: rdrobust at cutoffs where nothing happens, each
  using only the observations on its own side of the true cutoff.

References
----------
Cattaneo, M. D., Jansson, M. and Ma, X. (2020). Simple local polynomial density
estimators. Journal of the American Statistical Association 115(531), 1449-1455.
doi:10.1080/01621459.2019.1635480
Cattaneo, M. D., Idrobo, N. and Titiunik, R. (2020). A Practical Introduction to
Regression Discontinuity Designs: Foundations. Cambridge University Press.
doi:10.1017/9781108684606
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt.errors import (
    DroppedRowsWarning,
    IdentificationError,
    ParameterError,
    invalid_parameter,
    missing_column,
)
from effekt.rd._core import check_sides, rdrobust_rows, run_rdrobust
from effekt.rd._deps import quiet, rddensity
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.rd.results import RDResult

__all__ = ["BalanceResult", "DensityTestResult", "PlaceboResult", "balance", "density_test"]


def _ledger() -> Any:
    from effekt.panel import Ledger

    return Ledger.empty()


class DensityTestResult(Result):
    """Result of :func:`density_test`: densities at the cutoff and the manipulation test.

    Attributes
    ----------
    statistic, p_value : float
        rddensity's robust bias-corrected t statistic and p-value (jackknife
        variance), the numbers to report.
    density : dict
        Estimated density just below (``left``) and above (``right``) the cutoff.
    bandwidths : dict
        ``left`` and ``right`` bandwidths.
    n, n_effective : dict
        Observations per side, in all and inside the bandwidths.
    """

    title = "Manipulation test (density of the running variable)"

    def __init__(self, out: Any, x: np.ndarray, cutoff: float, level: float) -> None:
        self.statistic = float(out.test["t_jk"])
        self.p_value = float(out.test["p_jk"])
        self.density = {"left": float(out.hat["left"]), "right": float(out.hat["right"])}
        self._difference = float(out.hat["diff"])
        self._sd = {k: float(out.sd_jk[k]) for k in ("left", "right", "diff")}
        self.bandwidths = {"left": float(out.h["left"]), "right": float(out.h["right"])}
        self.n = {"left": int(out.n["left"]), "right": int(out.n["right"])}
        self.n_effective = {"left": int(out.n["eff_left"]), "right": int(out.n["eff_right"])}
        self.orders = (int(out.p), int(out.q))
        self.cutoff = cutoff
        self.level = level
        self.ledger = _ledger()
        self.provenance = Provenance("rddensity", {"c": cutoff}, None, "")
        self._x = x
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Rows ``density_left, density_right, difference`` (right minus left).

        ``estimate``, ``std_error`` (jackknife) and the normal interval are those of
        the order-p estimates rddensity reports; ``p_value`` of ``difference`` is
        rddensity's robust bias-corrected test (order q), so it need not agree with
        the interval. Extra columns: ``statistic`` (the test's t), ``h_left,
        h_right, n_eff_left, n_eff_right``.
        """
        terms = ["density_left", "density_right", "difference"]
        est = [self.density["left"], self.density["right"], self._difference]
        se = [self._sd["left"], self._sd["right"], self._sd["diff"]]
        return tidy_effects(
            {"estimator": "rddensity", "term": terms},
            est,
            se,
            level=self.level,
            p_value=[np.nan, np.nan, self.p_value],
            extra={
                "statistic": [np.nan, np.nan, self.statistic],
                "h_left": self.bandwidths["left"],
                "h_right": self.bandwidths["right"],
                "n_eff_left": self.n_effective["left"],
                "n_eff_right": self.n_effective["right"],
            },
        )

    def _summary_info(self) -> list[tuple[str, str]]:
        return [
            ("Cutoff", f"{self.cutoff:g}"),
            ("Observations", f"{self.n['left']:,} below, {self.n['right']:,} above"),
            (
                "Bandwidths",
                f"{self.bandwidths['left']:.4g} below, {self.bandwidths['right']:.4g} above",
            ),
            ("Orders", f"p = {self.orders[0]}, q = {self.orders[1]}"),
            ("Test (robust, jackknife)", f"T = {self.statistic:.3f}, p = {self.p_value:.3f}"),
        ]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Histogram of the running variable with the estimated densities at the cutoff."""
        from effekt._plotting import label, new_axes

        ax = new_axes(ax)
        ax.hist(self._x, bins="auto", density=True, color="0.8", edgecolor="white")
        z = _z(0.5 + self.level / 2)
        for side, colour, dx in (("left", "#08519c", -1), ("right", "#a50f15", 1)):
            est, sd = self.density[side], self._sd[side]
            ax.errorbar(
                [self.cutoff + dx * 0.01 * np.ptp(self._x)],
                [est],
                yerr=[[z * sd], [z * sd]],
                fmt="o",
                color=colour,
                capsize=3,
            )
        ax.axvline(self.cutoff, color="0.4", lw=1, ls="--", label=label("cutoff"))
        ax.set_ylabel(label("density"))
        ax.set_title(f"{label('rd_density')}: p = {self.p_value:.3f}")
        ax.legend(frameon=False)
        return ax


def _z(q: float) -> float:
    from scipy import stats

    return float(stats.norm.ppf(q))


def density_test(
    x: np.ndarray, *, cutoff: float = 0.0, level: float = 0.95, **rddensity_kwargs: Any
) -> DensityTestResult:
    """The Cattaneo-Jansson-Ma manipulation test, computed by rddensity.

    Parameters
    ----------
    x : array-like
        Running variable (finite values).
    cutoff : float, default 0
    level : float, default 0.95
        Level of the intervals in the table.
    **rddensity_kwargs
        Passed to ``rddensity.rddensity`` (``p``, ``h``, ``bwselect``, ...).

    Returns
    -------
    DensityTestResult

    Raises
    ------
    OptionalDependencyError
        rddensity is not installed (``pip install 'effekt[rd]'``).
    IdentificationError
        No observation on a side, or rddensity failing.

    Notes
    -----
    rddensity treats the values as independent draws; with areas observed on
    several lists the same area contributes several, correlated, values, so the
    test is approximate there. Repeated values (mass points) are handled by
    rddensity's own mass-point adjustment.

    References
    ----------
    Cattaneo, M. D., Jansson, M. and Ma, X. (2020). Simple local polynomial density
    estimators. JASA 115(531), 1449-1455. doi:10.1080/01621459.2019.1635480

    Examples
    --------
    >>> import numpy as np
    >>> from effekt.rd import density_test
    >>> x = np.random.default_rng(1).normal(size=2000)
    >>> bool(density_test(x).p_value > 0.01)  # doctest: +SKIP
    True
    """
    arr = np.asarray(x, dtype=float)
    if not np.isfinite(arr).all():
        raise invalid_parameter(
            "x", "effekt.rd.density_test", "finite values", arr[~np.isfinite(arr)][:5]
        )
    for side, mask in (("below", arr < cutoff), ("at or above", arr >= cutoff)):
        if mask.sum() < 10:
            raise IdentificationError(
                f"effekt.rd.density_test: only {int(mask.sum())} observation(s) {side} the "
                f"cutoff {cutoff:g}; the density test needs at least 10 a side."
            )
    fn = rddensity()
    try:
        out, _ = quiet(fn, X=arr, c=cutoff, **rddensity_kwargs)
    except Exception as err:  # rddensity raises bare exceptions on bad input
        raise IdentificationError(f"effekt.rd.density_test: rddensity failed: {err}") from None
    return DensityTestResult(out, arr, float(cutoff), level)


class _TableResult(Result):
    """A diagnostic result that is one tidy table and a coefficient plot."""

    _names = "outcome"
    _plot_title = "rd_balance"
    _xlabel = "effect"

    def __init__(self, table: pd.DataFrame, level: float, provenance: Provenance) -> None:
        self._table = table
        self.level = level
        self.ledger = _ledger()
        self.provenance = provenance
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """The tidy table (a copy)."""
        return self._table.copy()

    def plot(self, ax: Axes | None = None) -> Axes:
        """Robust estimates with their intervals."""
        from effekt._plotting import label, new_axes
        from effekt.rd._plots import coefficient_plot

        ax = new_axes(ax)
        rows = self._table[self._table["term"] == "robust"].reset_index(drop=True)
        return coefficient_plot(
            ax,
            rows,
            names=self._names,
            level=self.level,
            title=label(self._plot_title),
            xlabel=label(self._xlabel),
        )


class BalanceResult(_TableResult):
    """Result of :meth:`RDResult.balance`: the RD estimate on each pre-determined covariate.

    ``to_frame()`` has rdrobust's three rows per covariate (``outcome`` is the
    covariate) and ``h_left, h_right, n_eff_left, n_eff_right``. Read the robust
    rows: covariates that jump at the cutoff undermine the design.
    """

    title = "RD covariate balance"


class PlaceboResult(_TableResult):
    """Result of :meth:`RDResult.placebo_cutoffs`: robust RD estimates at placebo cutoffs.

    ``to_frame()`` has one robust row per cutoff, the true one included
    (``placebo`` False), with extra columns ``cutoff, placebo, h_left, h_right,
    n_eff_left, n_eff_right``.
    """

    title = "RD placebo cutoffs"
    _names = "cutoff"
    _plot_title = "rd_placebo"


def balance(result: RDResult, covariates: Sequence[str]) -> BalanceResult:
    """RD estimates on pre-determined covariates (see :meth:`RDResult.balance`).

    Parameters
    ----------
    result : RDResult
    covariates : sequence of str

    Returns
    -------
    BalanceResult
    """
    owner = f"{result.estimator}.balance"
    if isinstance(covariates, str) or not len(covariates):
        raise invalid_parameter("covariates", owner, "a non-empty sequence of columns", covariates)
    frame: pd.DataFrame = result._data["frame"]
    x = result._data["x"]
    cl = result._data["cluster"]
    settings = replace(result.settings, h=None, b=None)
    pieces = []
    for cov in covariates:
        if cov not in frame.columns:
            raise missing_column("covariates", owner, cov, list(frame.columns))
        if not pd.api.types.is_numeric_dtype(frame[cov]):
            raise ParameterError(f"{owner}: covariate {cov!r} must be numeric.")
        values = frame[cov].to_numpy(dtype=float, na_value=np.nan)
        ok = np.isfinite(values)
        if not ok.all():
            warnings.warn(
                f"{owner}: {int((~ok).sum())} row(s) without a finite {cov!r} are left out of "
                "its balance estimate.",
                DroppedRowsWarning,
                stacklevel=3,
            )
        check_sides(x[ok], result.cutoff, settings, owner, what=f"running variable (for {cov!r})")
        out, _ = run_rdrobust(
            values[ok],
            x[ok],
            cutoff=result.cutoff,
            settings=settings,
            cluster=None if cl is None else cl[ok],
            covs=None,
            owner=owner,
        )
        rows = rdrobust_rows(out)
        rows.insert(0, "outcome", cov)
        rows["h_left"] = float(out.bws.iloc[0, 0])
        rows["h_right"] = float(out.bws.iloc[0, 1])
        rows["n_eff_left"] = int(out.N_h[0])
        rows["n_eff_right"] = int(out.N_h[1])
        pieces.append(rows)
    t = pd.concat(pieces, ignore_index=True)
    table = tidy_effects(
        t[["outcome", "term"]].assign(estimator=f"{result.estimator} balance"),
        t["estimate"],
        t["std_error"],
        level=result.level,
        ci_lower=t["ci_lower"],
        ci_upper=t["ci_upper"],
        p_value=t["p_value"],
        extra={c: t[c].to_numpy() for c in ("h_left", "h_right", "n_eff_left", "n_eff_right")},
    )
    return BalanceResult(
        table,
        result.level,
        Provenance(
            owner, {"covariates": list(covariates)}, None, result.provenance.data_fingerprint
        ),
    )


def placebo_cutoffs(result: RDResult, cutoffs: Sequence[float] | None = None) -> PlaceboResult:
    """Robust RD estimates at placebo cutoffs (see :meth:`RDResult.placebo_cutoffs`).

    Parameters
    ----------
    result : RDResult
    cutoffs : sequence of float, optional

    Returns
    -------
    PlaceboResult
    """
    owner = f"{result.estimator}.placebo_cutoffs"
    x, y, cl = result._data["x"], result._data["y"], result._data["cluster"]
    c0 = result.cutoff
    if cutoffs is None:
        below, above = x[x < c0], x[x >= c0]
        cutoffs = [*np.quantile(below, [1 / 3, 2 / 3]), *np.quantile(above, [1 / 3, 2 / 3])]
    values = [float(c) for c in cutoffs]
    if any(not np.isfinite(c) or c == c0 for c in values):
        raise invalid_parameter(
            "cutoffs", owner, f"finite values other than the true cutoff {c0:g}", cutoffs
        )
    settings = replace(result.settings, h=None, b=None)
    rows = []
    for c in sorted(values):
        side = x < c0 if c < c0 else x >= c0
        check_sides(x[side], c, settings, owner, what=f"running variable (placebo cutoff {c:g})")
        out, _ = run_rdrobust(
            y[side],
            x[side],
            cutoff=c,
            settings=settings,
            cluster=None if cl is None else cl[side],
            covs=None,
            owner=owner,
        )
        r = rdrobust_rows(out).set_index("term").loc["robust"]
        rows.append(
            {
                "cutoff": c,
                "placebo": True,
                **r.to_dict(),
                "h_left": float(out.bws.iloc[0, 0]),
                "h_right": float(out.bws.iloc[0, 1]),
                "n_eff_left": int(out.N_h[0]),
                "n_eff_right": int(out.N_h[1]),
            }
        )
    true = result.table.set_index("term").loc["robust"]
    rows.append(
        {
            "cutoff": c0,
            "placebo": False,
            **true.to_dict(),
            "h_left": result._bw[0],
            "h_right": result._bw[1],
            "n_eff_left": result.n_effective["left"],
            "n_eff_right": result.n_effective["right"],
        }
    )
    t = pd.DataFrame(rows).sort_values("cutoff", kind="stable").reset_index(drop=True)
    table = tidy_effects(
        pd.DataFrame(
            {
                "outcome": result.outcome,
                "estimator": f"{result.estimator} placebo",
                "term": "robust",
            },
            index=t.index,
        ),
        t["estimate"],
        t["std_error"],
        level=result.level,
        ci_lower=t["ci_lower"],
        ci_upper=t["ci_upper"],
        p_value=t["p_value"],
        extra={
            c: t[c].to_numpy()
            for c in ("cutoff", "placebo", "h_left", "h_right", "n_eff_left", "n_eff_right")
        },
    )
    return PlaceboResult(
        table,
        result.level,
        Provenance(owner, {"cutoffs": values}, None, result.provenance.data_fingerprint),
    )
