"""The RD plot (binned means and local fits) and the coefficient plot of the diagnostics."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np

from effekt.errors import IdentificationError
from effekt.rd._deps import quiet, rdrobust_module

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["coefficient_plot", "rd_plot"]

_BLUE = "#08519c"
_RED = "#a50f15"


def rd_plot(
    ax: Axes,
    x: np.ndarray,
    y: np.ndarray,
    *,
    cutoff: float,
    h: tuple[float, float],
    coefficients: tuple[np.ndarray, np.ndarray],
    nbins: int | None,
    xlabel: str,
    ylabel: str,
    title: str,
) -> Axes:
    """Binned means from rdrobust's ``rdplot`` (drawn here with matplotlib, as rdplot
    draws with plotnine) and the fitted local polynomials inside the bandwidth."""
    from effekt._plotting import label

    rd = rdrobust_module()
    try:
        with warnings.catch_warnings():
            # rdplot averages empty bins (mass points leave some bins empty); their NaN
            # means are dropped below, so numpy's warnings about them are noise here
            warnings.filterwarnings("ignore", "Mean of empty slice", RuntimeWarning)
            warnings.filterwarnings(
                "ignore", "invalid value encountered in scalar divide", RuntimeWarning
            )
            out, _ = quiet(rd.rdplot, y, x, c=cutoff, nbins=nbins, hide=True)
    except Exception as err:  # rdplot raises bare exceptions (too few points for bins)
        raise IdentificationError(f"The RD plot could not bin the data: {err}") from None
    bins = out.vars_bins.dropna(subset=["rdplot_mean_y"])
    below = bins["rdplot_mean_x"] < cutoff
    for mask, colour in ((below, _BLUE), (~below, _RED)):
        ax.plot(
            bins.loc[mask, "rdplot_mean_x"],
            bins.loc[mask, "rdplot_mean_y"],
            "o",
            ms=4,
            color=colour,
            alpha=0.8,
        )
    for side, (beta, width, colour) in enumerate(zip(coefficients, h, (_BLUE, _RED), strict=True)):
        lo, hi = (cutoff - width, cutoff) if side == 0 else (cutoff, cutoff + width)
        lo, hi = max(lo, float(x.min())), min(hi, float(x.max()))
        grid = np.linspace(lo, hi, 100)
        fit = np.polynomial.polynomial.polyval(grid - cutoff, beta)
        ax.plot(grid, fit, color=colour, lw=2, label=label("rd_local_fit") if side == 0 else None)
    ax.axvline(cutoff, color="0.4", lw=1, ls="--", label=label("cutoff"))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False)
    return ax


def coefficient_plot(
    ax: Axes, table: pd.DataFrame, *, names: str, level: float, title: str, xlabel: str
) -> Axes:
    """Estimates with intervals, one row per ``names`` value, and a zero line."""
    from effekt._plotting import label

    pos = np.arange(len(table))
    est = table["estimate"].to_numpy(dtype=float)
    ax.errorbar(
        est,
        pos,
        xerr=[
            est - table["ci_lower"].to_numpy(dtype=float),
            table["ci_upper"].to_numpy(dtype=float) - est,
        ],
        fmt="o",
        color=_BLUE,
        capsize=3,
        label=label("ci", level=level),
    )
    ax.axvline(0.0, color="0.6", lw=0.8)
    ax.set_yticks(pos, [str(v) for v in table[names]])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(frameon=False)
    return ax
