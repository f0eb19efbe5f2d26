"""The event-study figure shared by the DiD results (TWFE, Sun-Abraham, imputation)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = ["event_plot"]


def event_plot(
    ax: Axes,
    table: pd.DataFrame,
    *,
    level: float,
    reference: int | None,
    title: str,
) -> Axes:
    """Coefficients by event time with their intervals (rows with an event_time)."""
    from effekt._plotting import label

    rows = table.dropna(subset=["event_time"]).sort_values("event_time")
    x = rows["event_time"].to_numpy(dtype=float)
    est = rows["estimate"].to_numpy(dtype=float)
    ax.axhline(0.0, color="0.6", lw=0.8)
    ax.axvline(-0.5, color="0.6", lw=0.8, ls="--")
    ax.errorbar(
        x,
        est,
        yerr=[est - rows["ci_lower"].to_numpy(float), rows["ci_upper"].to_numpy(float) - est],
        fmt="o",
        color="#08519c",
        capsize=3,
        label=label("ci", level=level),
    )
    if reference is not None:
        ax.plot(
            [reference], [0.0], "o", mfc="white", color="#08519c", label=label("reference_period")
        )
    ax.set_xlabel(label("event_time"))
    ax.set_ylabel(label("effect"))
    ax.set_title(title)
    ax.legend(frameon=False)
    return ax
