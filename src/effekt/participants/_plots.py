"""Figures of the participant designs: the effect by follow-up year and the love plot."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["effect_plot", "love_plot"]


def effect_plot(
    ax: Axes, table: pd.DataFrame, *, level: float, naive: pd.DataFrame | None = None
) -> Axes:
    """Effects by years since the start with intervals, the pooled effect as a band."""
    from effekt._plotting import label

    rows = table[table["aggregation"] == "event_time"]
    x = rows["event_time"].to_numpy(dtype=float)
    est = rows["estimate"].to_numpy(dtype=float)
    ax.axhline(0.0, color="0.6", lw=0.8)
    pooled = table[table["aggregation"] == "pooled"]
    if len(pooled):
        p = pooled.iloc[0]
        ax.axhspan(float(p["ci_lower"]), float(p["ci_upper"]), color="#c6dbef", alpha=0.5)
        ax.axhline(float(p["estimate"]), color="#6baed6", lw=1.0, label=label("pooled"))
    ax.errorbar(
        x,
        est,
        yerr=[est - rows["ci_lower"].to_numpy(float), rows["ci_upper"].to_numpy(float) - est],
        fmt="o",
        color="#08519c",
        capsize=3,
        label=label("ci", level=level),
    )
    if naive is not None:
        nv = naive[naive["aggregation"] == "event_time"]
        ax.plot(
            nv["event_time"].to_numpy(float) + 0.1,
            nv["estimate"].to_numpy(float),
            "s",
            mfc="white",
            color="#a50f15",
            label=label("naive_difference"),
        )
    ax.set_xticks(x)
    ax.set_xlabel(label("years_since_start"))
    ax.set_ylabel(label("effect"))
    ax.set_title(label("matched_did"))
    ax.legend(frameon=False)
    return ax


def love_plot(ax: Axes, balance: pd.DataFrame, *, threshold: float = 0.1) -> Axes:
    """Absolute standardised mean differences before and after, one row per covariate."""
    from effekt._plotting import label

    order = np.argsort(-np.abs(balance["smd_before"].to_numpy(float)), kind="stable")
    b = balance.iloc[order]
    y = np.arange(len(b))
    ax.scatter(
        np.abs(b["smd_before"].to_numpy(float)),
        y,
        marker="o",
        facecolors="white",
        edgecolors="#a50f15",
        label=label("before_matching"),
    )
    ax.scatter(
        np.abs(b["smd_after"].to_numpy(float)),
        y,
        marker="o",
        color="#08519c",
        label=label("after_matching"),
    )
    ax.axvline(threshold, color="0.6", lw=0.8, ls="--")
    ax.set_yticks(y, b["covariate"].astype(str).tolist())
    ax.invert_yaxis()
    ax.set_xlabel(f"|{label('smd')}|")
    ax.set_title(label("covariate_balance"))
    ax.legend(frameon=False)
    return ax
