"""Goodman-Bacon (2021) decomposition of the static two-way fixed-effects coefficient.

With staggered adoption and no covariates, the TWFE coefficient on a balanced panel
is exactly a weighted average of every 2x2 DiD between timing groups (Theorem 1):

- treated vs never treated;
- earlier vs later treated, before the later group starts (a clean comparison);
- later vs earlier treated, after the earlier group started: the earlier group, already
  treated, serves as control. Its effect changes over time enter with a negative sign
  (the "forbidden" comparisons);
- treated vs always treated: units treated in every period act as controls like the
  never treated (their treatment is constant, so the unit effects absorb it), but their
  outcome trends carry any evolving effect, so they are reported as a type of their own
  (as Stata's ``bacondecomp`` does).

The weights are proportional to the groups' sizes and to the variance of treatment in
each 2x2 sample, and sum to one. effekt computes them in closed form from group means.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from effekt.did.sunab import _cohort_label, _require_cohort, _timing
from effekt.errors import (
    IdentificationError,
    check_keywords,
    format_rows,
)
from effekt.panel import require_panel
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Ledger, Panel

__all__ = ["BaconDecomposition", "bacon_decomposition"]

_TYPES = ("treated_vs_never", "early_vs_late", "late_vs_early", "treated_vs_always")
_COLORS = {
    "treated_vs_never": "#08519c",
    "early_vs_late": "#238b45",
    "late_vs_early": "#cb181d",
    "treated_vs_always": "#fd8d3c",
}
_MARKERS = {
    "treated_vs_never": "o",
    "early_vs_late": "s",
    "late_vs_early": "^",
    "treated_vs_always": "v",
}


@check_keywords
def bacon_decomposition(panel: Panel) -> BaconDecomposition:
    """Decompose the static TWFE DiD coefficient into its 2x2 comparisons.

    Parameters
    ----------
    panel : effekt.Panel
        Balanced, with an absorbing treatment (a cohort), and without covariates or
        weights (the decomposition is of the unweighted regression
        ``y ~ D | unit + period``).

    Returns
    -------
    BaconDecomposition
        One row per 2x2 comparison with its estimate and weight; the weighted sum of the
        estimates equals ``TwoWayFE().fit(panel)``'s coefficient.

    Raises
    ------
    IdentificationError
        Unbalanced panel, covariates or weights in the panel, no cohort, or no variation
        in treatment timing (nothing to decompose).

    References
    ----------
    Goodman-Bacon, A. (2021). Difference-in-differences with variation in treatment
    timing. Journal of Econometrics 225(2), 254-277. doi:10.1016/j.jeconom.2021.03.014

    Examples
    --------
    >>> import effekt as ek
    >>> df = ek.datasets.load_dataset("mpdta")
    >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
    ...                             cohort="first.treat", never_treated=0)
    >>> dec = ek.did.bacon_decomposition(panel)
    >>> round(float(dec.to_frame()["weight"].sum()), 10)
    1.0
    >>> round(dec.twfe_estimate, 4)
    -0.0365
    """
    owner = "bacon_decomposition"
    require_panel(panel, owner)
    _require_cohort(panel, owner)
    if not panel.is_balanced:
        counts = panel.unit_table()["n_periods"]
        short = counts[counts < panel.n_periods]
        raise IdentificationError(
            f"{owner} needs a balanced panel: Goodman-Bacon's weights are shares of the "
            "treatment variance that add up to the TWFE coefficient only when every unit is "
            f"observed in all {panel.n_periods} periods, but {len(short)} unit(s) are not, "
            f"e.g.:\n{format_rows(short.rename('n_periods').to_frame())}\nRestrict the data "
            "to units observed in every period (or to a common window)."
        )
    if panel.covariates or panel.weights is not None:
        raise IdentificationError(
            f"{owner} decomposes the unweighted TWFE regression without covariates, but the "
            f"panel has covariates {list(panel.covariates)} and weights {panel.weights!r}. "
            "Rebuild the panel without them."
        )
    data = panel._data
    n_periods = panel.n_periods
    t_pos, g_pos, _ = _timing(panel)
    start = np.clip(g_pos, 0, n_periods)  # 0: treated from the first period; T: never
    units = pd.DataFrame(
        {"unit": data[panel.unit].to_numpy(), "start": start, "cohort": data[panel.cohort]}
    ).drop_duplicates("unit")
    y = data[panel.outcome].to_numpy(dtype=float)
    means = (
        pd.DataFrame({"start": start, "t": t_pos.astype(int), "y": y})
        .groupby(["start", "t"])["y"]
        .mean()
        .unstack("t")
        .sort_index()
    )
    size = units.groupby("start").size() / len(units)
    label = {
        s: (
            "never"
            if s == n_periods
            else "always"
            if s == 0
            else _cohort_label(panel, units.loc[units["start"] == s, "cohort"].iloc[0])
        )
        for s in size.index
    }
    n_units = units.groupby("start").size()
    share = {s: (n_periods - s) / n_periods for s in size.index}  # D-bar: share treated
    timing = [s for s in size.index if 0 < s < n_periods]
    if not timing:
        raise IdentificationError(
            f"{owner}: no unit starts treatment within the panel's periods, so the TWFE "
            "coefficient has no 2x2 comparison to decompose."
        )

    grid = means.to_numpy()  # group x period means (balanced: no gaps)
    row = {s: i for i, s in enumerate(means.index)}

    def window(s: float, lo: float, hi: float) -> float:
        return float(grid[row[s], int(lo) : int(hi)].mean())

    rows = []
    for k in timing:
        if n_periods in size.index:  # treated vs never treated
            u = float(n_periods)
            est = (window(k, k, n_periods) - window(k, 0, k)) - (
                window(u, k, n_periods) - window(u, 0, k)
            )
            n_ku = size[k] / (size[k] + size[u])
            raw = (size[k] + size[u]) ** 2 * n_ku * (1 - n_ku) * share[k] * (1 - share[k])
            rows.append(("treated_vs_never", k, u, est, raw))
        for ell in [s for s in size.index if s < k]:  # ell starts earlier (or always treated)
            # later group k vs earlier group ell as control, from ell's start on
            est = (window(k, k, n_periods) - window(k, ell, k)) - (
                window(ell, k, n_periods) - window(ell, ell, k)
            )
            n_kl = size[ell] / (size[ell] + size[k])
            d_e, d_l = share[ell], share[k]
            raw = (
                ((size[ell] + size[k]) * d_e) ** 2
                * n_kl
                * (1 - n_kl)
                * (d_l / d_e)
                * ((d_e - d_l) / d_e)
            )
            rows.append(("late_vs_early" if ell > 0 else "treated_vs_always", k, ell, est, raw))
            if ell > 0:  # earlier group ell vs later group k as control, before k starts
                est = (window(ell, ell, k) - window(ell, 0, ell)) - (
                    window(k, ell, k) - window(k, 0, ell)
                )
                raw = (
                    ((size[ell] + size[k]) * (1 - d_l)) ** 2
                    * n_kl
                    * (1 - n_kl)
                    * ((d_e - d_l) / (1 - d_l))
                    * ((1 - d_e) / (1 - d_l))
                )
                rows.append(("early_vs_late", ell, k, est, raw))

    table = pd.DataFrame(rows, columns=["type", "treated", "control", "estimate", "raw"])
    table["weight"] = table["raw"] / table["raw"].sum()
    order = {t: i for i, t in enumerate(_TYPES)}
    table = (
        table.assign(_o=table["type"].map(order))
        .sort_values(["_o", "treated", "control"], kind="stable")
        .reset_index(drop=True)
    )
    return BaconDecomposition(
        comparison=table["type"].tolist(),
        treated=[label[s] for s in table["treated"]],
        control=[label[s] for s in table["control"]],
        n_treated=[int(n_units[s]) for s in table["treated"]],
        n_control=[int(n_units[s]) for s in table["control"]],
        estimates=table["estimate"].to_numpy(),
        weights=table["weight"].to_numpy(),
        outcome=str(panel.outcome),
        provenance=Provenance(owner, {}, None, panel.fingerprint),
        ledger=panel.ledger,
    )


class BaconDecomposition(Result):
    """Result of :func:`bacon_decomposition`: the 2x2 comparisons and their weights.

    Attributes
    ----------
    twfe_estimate : float
        The weighted sum of the 2x2 estimates, equal to the static TWFE coefficient.
    """

    title = "Goodman-Bacon decomposition of the TWFE coefficient"

    def __init__(
        self,
        *,
        comparison: list[str],
        treated: list[str],
        control: list[str],
        n_treated: list[int],
        n_control: list[int],
        estimates: np.ndarray,
        weights: np.ndarray,
        outcome: str,
        provenance: Provenance,
        ledger: Ledger,
    ) -> None:
        self._comparison = comparison
        self._treated = treated
        self._control = control
        self._n_treated = n_treated
        self._n_control = n_control
        self._estimates = estimates
        self._weights = weights
        self.outcome = outcome
        self.twfe_estimate = float(weights @ estimates)
        self.provenance = provenance
        self.ledger = ledger
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """One row per 2x2 comparison.

        Key ``group`` is the comparison type (``treated_vs_never``, ``early_vs_late``,
        ``late_vs_early``, ``treated_vs_always``) and ``term`` names the pair; the extra columns are
        ``treated_cohort``, ``control_cohort`` (a cohort, ``"never"`` or ``"always"``),
        ``weight`` and the two groups' numbers of units. The 2x2 estimates are
        descriptive, so ``std_error``, the interval and ``p_value`` are empty.
        """
        n = len(self._estimates)
        keys = pd.DataFrame(
            {
                "outcome": self.outcome,
                "estimator": "bacon_decomposition",
                "term": [f"{t} vs {c}" for t, c in zip(self._treated, self._control, strict=True)],
                "group": self._comparison,
            }
        )
        empty = np.full(n, np.nan)
        return tidy_effects(
            keys,
            self._estimates,
            empty,
            level=0.95,
            ci_lower=empty,
            ci_upper=empty,
            p_value=empty,
            extra={
                "treated_cohort": self._treated,
                "control_cohort": self._control,
                "weight": self._weights,
                "n_treated_units": self._n_treated,
                "n_control_units": self._n_control,
            },
        )

    def by_type(self) -> pd.DataFrame:
        """Total weight and weighted average estimate per comparison type.

        Returns
        -------
        pandas.DataFrame
            Indexed by comparison type, columns ``weight`` and ``estimate``; the
            weight-weighted sum of ``estimate`` is :attr:`twfe_estimate`.
        """
        table = self.to_frame()
        table["wx"] = table["weight"] * table["estimate"]
        out = table.groupby("group", sort=False)[["weight", "wx"]].sum()
        out["estimate"] = out["wx"] / out["weight"]
        return out.loc[:, ["weight", "estimate"]].rename_axis("comparison")

    def _summary_info(self) -> list[tuple[str, str]]:
        info = [
            ("Outcome", self.outcome),
            ("TWFE estimate", f"{self.twfe_estimate:.4f}"),
            ("2x2 comparisons", str(len(self._estimates))),
        ]
        for kind, row in self.by_type().iterrows():
            info.append((str(kind), f"weight {row['weight']:.3f}, average {row['estimate']:.4f}"))
        return info

    def plot(self, ax: Axes | None = None) -> Axes:
        """The classic scatter: each 2x2 estimate against its weight, by comparison type.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        ax = new_axes(ax)
        table = self.to_frame()
        for kind in _TYPES:
            part = table[table["group"] == kind]
            if len(part):
                ax.scatter(
                    part["weight"],
                    part["estimate"],
                    marker=_MARKERS[kind],
                    color=_COLORS[kind],
                    label=label(kind),
                )
        ax.axhline(self.twfe_estimate, color="0.3", lw=1.0, ls="--", label=label("twfe_estimate"))
        ax.axhline(0.0, color="0.7", lw=0.8)
        ax.set_xlabel(label("weight"))
        ax.set_ylabel(label("two_by_two"))
        ax.set_title(f"{label('bacon_decomposition')}: {self.outcome}")
        ax.legend(frameon=False)
        return ax
