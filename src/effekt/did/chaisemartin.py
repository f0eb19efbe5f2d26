"""de Chaisemartin-D'Haultfoeuille event-study DiD for treatments that switch on and off.

:class:`ChaisemartinDHaultfoeuille` estimates ``DID_l``, the effect of having been
switched for ``l`` periods, in designs where the treatment may switch on and off
or change level (de Chaisemartin & D'Haultfoeuille 2024), as ``did_multiplegt_dyn``
in R and Stata does: each group whose treatment first changes at ``F_g`` is
compared from ``F_g - 1`` to ``F_g - 1 + l`` with the groups of the same baseline
treatment that have not changed yet. It also gives the normalized effects, the
placebos with their joint test, and the average total effect per unit of
treatment. Standard errors are the packages' analytic influence-function ones,
clustered by group or a coarser cluster. The numerical core is
:mod:`effekt.did._dcdh_core`.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from effekt.did._common import cluster_codes, pretrend_row, wald_chi2, warn_few_clusters
from effekt.did._dcdh_core import DcdhFit, dcdh_fit
from effekt.did._plots import event_plot
from effekt.did.sunab import _drop_rows_from
from effekt.errors import DataError, DroppedRowsWarning, IdentificationError, invalid_parameter
from effekt.estimator import Estimator
from effekt.options import resolve_level
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Ledger, Panel

__all__ = ["ChaisemartinDHaultfoeuille", "ChaisemartinDHaultfoeuilleResult"]

_OWNER = "ChaisemartinDHaultfoeuille"


class ChaisemartinDHaultfoeuille(Estimator):
    """Event-study DiD with a treatment that can switch on and off or change level.

    For every group ``g`` whose treatment first leaves its baseline value
    :math:`D_{g,1}` at period :math:`F_g`, and every horizon ``l``,

    .. math::

        DID_{g,l} = Y_{g,F_g-1+l} - Y_{g,F_g-1}
            - \\frac{1}{N_{g,l}} \\sum_{g': D_{g',1}=D_{g,1},\\ F_{g'} > F_g-1+l}
              (Y_{g',F_g-1+l} - Y_{g',F_g-1}),

    and :math:`DID_l` averages :math:`S_g DID_{g,l}` over the switchers with such
    not-yet-switched controls (:math:`S_g = 1` if the treatment went up, ``-1`` if
    down). Placebo ``l`` compares the same groups from :math:`F_g-1` back to
    :math:`F_g-1-l`. The normalized effect divides :math:`DID_l` by the average
    cumulative treatment change :math:`\\delta^D_l`; the average total effect is
    :math:`\\sum_l N_l DID_l / \\sum_l \\sum_g |D_{g,F_g-1+l} - D_{g,1}|`.

    Parameters
    ----------
    effects : int, default 1
        Number of dynamic effects ``l = 1..effects``.
    placebo : int, default 0
        Number of placebos.
    cluster : str, optional
        ``"unit"`` or the panel's cluster column; default the panel's cluster if it
        has one, else the unit. Clusters must nest groups.
    ci_level : float, optional
        Interval level; default ``effekt.options["ci_level"]``.

    Notes
    -----
    Follows ``did_multiplegt_dyn`` (R/Stata 2.x; checked against its official Python
    port ``py_did_multiplegt_dyn`` 0.1.6, to 1e-8) in everything it computes:
    groups whose treatment goes both above and below their baseline are cut from
    the first period where that happens; baselines whose groups all switch at the
    same date, and periods where no group of a baseline is still at its baseline,
    are dropped (all recorded in the ledger). The variance demeans outcome changes
    within cohorts (same baseline, first-switch date and treatment at that date for
    switchers; same baseline and period for controls) with a ``sqrt(n/(n-1))``
    factor, as the packages do; ``diff-diff`` 3.13 uses another recentring and
    gives smaller standard errors. Normal intervals; the joint tests are Wald
    chi-squared. Needs a balanced panel with evenly spaced periods; no covariates
    or weights.

    References
    ----------
    de Chaisemartin, C. and D'Haultfoeuille, X. (2024). Difference-in-differences
    estimators of intertemporal treatment effects. Review of Economics and
    Statistics, forthcoming. doi:10.1162/rest_a_01414

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> import effekt as ek
    >>> rng = np.random.default_rng(1)
    >>> d = np.zeros((40, 8), int)
    >>> for g in range(30):                 # 30 groups switch on, some switch off again
    ...     start = 2 + g % 5
    ...     d[g, start:] = 1
    ...     if g % 3 == 0:
    ...         d[g, start + 2:] = 0
    >>> df = pd.DataFrame({"unit": np.repeat(np.arange(40), 8), "year": np.tile(np.arange(8), 40),
    ...                    "d": d.ravel()})
    >>> df["y"] = rng.normal(size=len(df)) + 2.0 * df["d"]
    >>> panel = ek.Panel.from_frame(df, unit="unit", time="year", outcome="y", treatment="d",
    ...                             absorbing=False)
    >>> res = ek.did.ChaisemartinDHaultfoeuille(effects=2, placebo=1).fit(panel)
    >>> res.to_frame()["term"].tolist()
    ['placebo[1]', 'effect[1]', 'effect[2]', 'average_total_effect']
    """

    def __init__(
        self,
        *,
        effects: int = 1,
        placebo: int = 0,
        cluster: str | None = None,
        ci_level: float | None = None,
    ) -> None:
        self.effects = effects
        self.placebo = placebo
        self.cluster = cluster
        self.ci_level = ci_level

    def fit(self, panel: Panel) -> ChaisemartinDHaultfoeuilleResult:
        """Estimate the effects, placebos and their standard errors.

        Parameters
        ----------
        panel : effekt.Panel
            Balanced, with a treatment column (0/1, or levels when built with
            ``absorbing=False``); switching treatments need ``absorbing=False``.

        Returns
        -------
        ChaisemartinDHaultfoeuilleResult

        Raises
        ------
        ParameterError
            Invalid parameters.
        DataError
            Covariates or weights in the panel, unevenly spaced periods.
        IdentificationError
            No treatment, an unbalanced panel, fewer than two clusters, clusters
            that split a unit, no switcher with a not-yet-switched control.

        Warns
        -----
        DroppedRowsWarning
            Rows removed by the sample restrictions (see Notes of the class).
        AssumptionWarning
            Fewer than 30 clusters.
        """
        level = resolve_level(self.ci_level)
        for name, low in (("effects", 1), ("placebo", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < low:
                raise invalid_parameter(name, _OWNER, f"an integer >= {low}", value)
        if panel.treatment is None:
            raise IdentificationError(
                f"{_OWNER} needs a treatment column, but the panel has none. Rebuild it with "
                "Panel.from_frame(..., treatment=..., absorbing=False)."
            )
        if panel.covariates or panel.weights is not None:
            raise DataError(
                f"{_OWNER} does not take covariates or weights yet (the panel has "
                f"covariates={list(panel.covariates)}, weights={panel.weights!r}); rebuild the "
                "panel without them."
            )
        if not panel.is_balanced:
            raise IdentificationError(
                f"{_OWNER} needs a balanced panel (every unit in every period); this one has "
                f"{panel.n_obs:,} of {panel.n_units * panel.n_periods:,} unit-periods. "
                "Balance it first (e.g. keep units observed in all periods)."
            )
        periods = panel.periods
        if not pd.api.types.is_datetime64_any_dtype(periods) and len(periods) > 2:
            steps = np.unique(np.diff(periods.astype(float)))
            if len(steps) > 1:
                raise DataError(
                    f"{_OWNER} needs evenly spaced periods (effects count periods since the "
                    f"switch); {panel.time!r} has steps {steps[:5].tolist()}. Add the missing "
                    "periods or recode time as consecutive integers."
                )
        codes, cluster_name = cluster_codes(panel, self.cluster, _OWNER)
        data = panel._data
        unit_codes, unit_labels = pd.factorize(data[panel.unit], sort=True)
        t_pos = np.searchsorted(periods, data[panel.time].to_numpy())
        n_g, n_t = len(unit_labels), len(periods)
        y = np.full((n_g, n_t), np.nan)
        d = np.full((n_g, n_t), np.nan)
        y[unit_codes, t_pos] = data[panel.outcome].to_numpy(float)
        d[unit_codes, t_pos] = data[panel.treatment].to_numpy(float)
        per_unit = pd.Series(codes).groupby(unit_codes).nunique()
        if (per_unit > 1).any():
            raise IdentificationError(
                f"{_OWNER} clusters groups, so a unit must lie in one cluster, but "
                f"{int((per_unit > 1).sum())} unit(s) change {cluster_name!r} over time."
            )
        group_cluster = np.zeros(n_g, dtype=int)
        group_cluster[unit_codes] = codes
        clustered = cluster_name != panel.unit

        fit = dcdh_fit(
            y,
            d,
            effects=int(self.effects),
            placebo=int(self.placebo),
            cluster=group_cluster if clustered else None,
        )
        if not np.isfinite(fit.effects).any():
            raise IdentificationError(
                f"{_OWNER} found no switcher with a not-yet-switched control of the same "
                "baseline treatment, so no effect is estimable. It needs groups whose "
                "treatment changes at different dates (or never)."
            )
        ledger = _ledger(panel, unit_codes, t_pos, fit)
        n_clusters = len(np.unique(group_cluster[fit.kept]))
        if n_clusters < 2:
            raise IdentificationError(
                f"{_OWNER} cannot cluster on {cluster_name!r}: the estimation sample has a "
                "single cluster."
            )
        warn_few_clusters(_OWNER, n_clusters, cluster_name)
        return ChaisemartinDHaultfoeuilleResult(
            fit=fit,
            group_cluster=group_cluster,
            outcome=panel.outcome,
            n_units=int(fit.kept.sum()),
            n_clusters=n_clusters,
            cluster_name=cluster_name,
            level=level,
            ledger=ledger,
            provenance=Provenance(_OWNER, self.get_params(), None, panel.fingerprint),
        )


def _ledger(panel: Panel, unit_codes: np.ndarray, t_pos: np.ndarray, fit: DcdhFit) -> Ledger:
    """Record the rows the sample restrictions removed, and warn once."""
    dropped_group = ~fit.kept[unit_codes]
    reasons = (
        (dropped_group, "group without comparison: all of its baseline switch at one date"),
        (
            fit.cut_cells[unit_codes, t_pos] & ~dropped_group,
            "treatment both above and below its baseline (did_multiplegt_dyn rule)",
        ),
        (
            fit.unused_cells[unit_codes, t_pos] & ~dropped_group,
            "period after every group of its baseline had switched",
        ),
    )
    ledger = panel.ledger
    n_drop = 0
    for mask, reason in reasons:
        if mask.any():
            ledger = _drop_rows_from(panel, ledger, mask, reason)
            n_drop += int(mask.sum())
    if n_drop:
        warnings.warn(
            f"{_OWNER}: {n_drop:,} row(s) dropped by the did_multiplegt_dyn sample rules. "
            "See result.ledger.",
            DroppedRowsWarning,
            stacklevel=3,
        )
    return ledger


class ChaisemartinDHaultfoeuilleResult(Result):
    """Result of :class:`ChaisemartinDHaultfoeuille`.

    Attributes
    ----------
    effects, placebos : pandas.DataFrame
        One row per horizon: ``estimate, std_error, n_switchers, dose`` (and
        ``normalized``, its ``normalized_se`` for effects).
    average_total_effect : float
    n_units, n_clusters : int
    """

    title = "de Chaisemartin-D'Haultfoeuille event-study DiD"

    def __init__(
        self,
        *,
        fit: DcdhFit,
        group_cluster: np.ndarray,
        outcome: str,
        n_units: int,
        n_clusters: int,
        cluster_name: str,
        level: float,
        ledger: Ledger,
        provenance: Provenance,
    ) -> None:
        kept = fit.kept
        clusters = group_cluster[kept]
        _, inv = np.unique(clusters, return_inverse=True)

        def by_cluster(v: np.ndarray) -> np.ndarray:
            out = np.zeros((inv.max() + 1, v.shape[1]))
            np.add.at(out, inv, v[kept])
            return out

        with np.errstate(invalid="ignore", divide="ignore"):
            cols = np.hstack(
                [
                    by_cluster(fit.v) / fit.n_switchers,
                    by_cluster(fit.v.sum(axis=1, keepdims=True)) / fit.total_dose,
                    by_cluster(fit.v_pl) / fit.n_placebo,
                ]
            )
        cols = np.where(np.isfinite(cols), cols, np.nan)
        self._covariance = cols.T @ cols
        n_eff = len(fit.effects)
        se = np.sqrt(np.diag(self._covariance))
        with np.errstate(invalid="ignore", divide="ignore"):
            ate = float(fit.u.sum() / fit.total_dose) if fit.total_dose else np.nan
        self._fit = fit
        self.effects = pd.DataFrame(
            {
                "estimate": fit.effects,
                "std_error": se[:n_eff],
                "n_switchers": fit.n_switchers,
                "dose": fit.dose,
                "normalized": fit.effects / fit.dose,
                "normalized_se": se[:n_eff] / fit.dose,
            },
            index=pd.Index(range(1, n_eff + 1), name="horizon"),
        )
        self.placebos = pd.DataFrame(
            {
                "estimate": fit.placebos,
                "std_error": se[n_eff + 1 :],
                "n_switchers": fit.n_placebo,
                "dose": fit.dose_placebo,
            },
            index=pd.Index(range(1, len(fit.placebos) + 1), name="horizon"),
        )
        self.average_total_effect = ate
        self._ate_se = float(se[n_eff])
        self.outcome = outcome
        self.n_units = n_units
        self.n_clusters = n_clusters
        self.cluster_name = cluster_name
        self.level = level
        self.ledger = ledger
        self.provenance = provenance
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: placebos (``event_time = -l - 1``), effects (``event_time = l - 1``)
        and the average total effect.

        Effect ``l`` is the outcome change from the last period before the switch to
        ``l - 1`` periods after it, so it sits at event time ``l - 1`` with reference
        period ``-1``; placebo ``l`` at ``-l - 1``. Rows carry ``n_switchers``.
        """
        pl, ef = self.placebos.iloc[::-1], self.effects
        n_pl, n_ef = len(pl), len(ef)
        keys = pd.DataFrame(
            {
                "outcome": self.outcome,
                "estimator": "ChaisemartinDHaultfoeuille",
                "aggregation": ["event_time"] * (n_pl + n_ef) + ["simple"],
                "term": [f"placebo[{h}]" for h in pl.index]
                + [f"effect[{h}]" for h in ef.index]
                + ["average_total_effect"],
                "event_time": pd.array(
                    [-h - 1 for h in pl.index] + [h - 1 for h in ef.index] + [None], dtype="Int64"
                ),
            }
        )
        est = [*pl["estimate"], *ef["estimate"], self.average_total_effect]
        se = [*pl["std_error"], *ef["std_error"], self._ate_se]
        n_sw = [*pl["n_switchers"], *ef["n_switchers"], int(ef["n_switchers"].sum())]
        return tidy_effects(keys, est, se, level=self.level, extra={"n_switchers": n_sw})

    def normalized_effects(self) -> pd.DataFrame:
        """Effects per unit of cumulative treatment change, ``DID_l / delta^D_l``.

        Returns
        -------
        pandas.DataFrame
            Tidy rows (``aggregation="normalized"``).
        """
        ef = self.effects
        keys = pd.DataFrame(
            {
                "outcome": self.outcome,
                "estimator": "ChaisemartinDHaultfoeuille",
                "aggregation": "normalized",
                "term": [f"effect[{h}]" for h in ef.index],
                "event_time": pd.array([h - 1 for h in ef.index], dtype="Int64"),
            }
        )
        return tidy_effects(keys, ef["normalized"], ef["normalized_se"], level=self.level)

    def covariance(self) -> pd.DataFrame:
        """Joint covariance of the effects, the average total effect and the placebos."""
        names = (
            [f"effect[{h}]" for h in self.effects.index]
            + ["average_total_effect"]
            + [f"placebo[{h}]" for h in self.placebos.index]
        )
        return pd.DataFrame(self._covariance, index=names, columns=names)

    def _joint(self, which: str) -> pd.Series:
        n_eff = len(self.effects)
        if which == "placebo":
            idx = np.arange(n_eff + 1, n_eff + 1 + len(self.placebos))
            est = self.placebos["estimate"].to_numpy()
        else:
            idx = np.arange(n_eff)
            est = self.effects["estimate"].to_numpy()
        if not len(idx):
            raise IdentificationError(
                "placebo_test needs placebos; fit ChaisemartinDHaultfoeuille(placebo=k), k >= 1."
            )
        if not np.isfinite(est).all():
            raise IdentificationError(
                f"Some {which}s could not be estimated, so their joint test is not possible "
                "(did_multiplegt_dyn reports none either). Ask for fewer."
            )
        stat, q, p = wald_chi2(est, self._covariance[np.ix_(idx, idx)])
        return pd.Series({"statistic": stat, "df": q, "p_value": p})

    def placebo_test(self) -> pd.Series:
        """Joint Wald test that all placebos are zero (chi-squared, ``placebo`` df).

        Returns
        -------
        pandas.Series
            ``statistic``, ``df``, ``p_value``.

        Raises
        ------
        IdentificationError
            Fitted without placebos, a placebo not estimable, or a singular covariance.
        """
        return self._joint("placebo")

    def effects_test(self) -> pd.Series:
        """Joint Wald test that all effects are zero (chi-squared, ``effects`` df)."""
        return self._joint("effect")

    def _summary_info(self) -> list[tuple[str, str]]:
        info = [
            ("Outcome", self.outcome),
            ("Groups", f"{self.n_units:,}"),
            ("Clusters", f"{self.n_clusters:,} ({self.cluster_name})"),
            ("Inference", f"influence function (did_multiplegt_dyn), {self.level:.0%} normal"),
        ]
        if len(self.placebos) and np.isfinite(self.placebos["estimate"]).all():
            try:
                test = self.placebo_test()
            except IdentificationError:
                return info
            info.append(pretrend_row(test))
        return info

    def plot(self, ax: Axes | None = None) -> Axes:
        """Event-study plot: placebos and effects by event time (reference ``-1``).

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        return event_plot(
            new_axes(ax),
            self.to_frame(),
            level=self.level,
            reference=-1,
            title=f"{label('event_study')} (dCDH): {self.outcome}",
        )
