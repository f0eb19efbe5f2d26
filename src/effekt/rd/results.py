"""Results of the RD designs: the estimate at the cutoff and its diagnostics.

:class:`RDResult` holds rdrobust's numbers unchanged (conventional,
bias-corrected and robust rows; bandwidths; effective sample sizes) and offers
the diagnostics of Cattaneo, Idrobo & Titiunik (2020, sections 5-6):
:meth:`RDResult.density_test`, :meth:`RDResult.balance` and
:meth:`RDResult.placebo_cutoffs`, each its own result with a table and a plot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Ledger
    from effekt.rd._core import Settings
    from effekt.rd.diagnostics import BalanceResult, DensityTestResult, PlaceboResult

from effekt.rd._core import TERMS, rdrobust_rows  # noqa: F401 - re-exported

__all__ = ["RDResult"]


class RDResult(Result):
    """Result of a sharp RD (:class:`~effekt.rd.SharpRD`, :class:`~effekt.rd.ListThreshold`).

    Attributes
    ----------
    estimate : float
        Conventional local-polynomial estimate of the jump at the cutoff.
    estimate_bc : float
        Bias-corrected estimate (the centre of the robust interval).
    std_error, std_error_robust : float
        Conventional and robust standard errors.
    ci, ci_robust : tuple of float
        Conventional and robust bias-corrected intervals.
    p_value, p_value_robust : float
    bandwidths : pandas.DataFrame
        ``h`` and ``b`` (rows) below and above the cutoff (columns ``left, right``).
    n, n_effective : dict
        Observations per side (``left``, ``right``), in all and inside ``h``.
    table : pandas.DataFrame
        rdrobust's three rows (``conventional, bias_corrected, robust``).
    """

    title = "Regression discontinuity (sharp)"

    def __init__(
        self,
        *,
        table: pd.DataFrame,
        bandwidths: pd.DataFrame,
        n: dict[str, int],
        n_effective: dict[str, int],
        outcome: str,
        estimator: str,
        cutoff: float,
        settings: Settings,
        n_clusters: int | None,
        data: dict[str, Any],
        ledger: Ledger,
        notes: list[str],
        provenance: Provenance,
        coefficients: tuple[np.ndarray, np.ndarray],
        info: list[tuple[str, str]] | None = None,
    ) -> None:
        self.table = table
        cols = ["estimate", "std_error", "ci_lower", "ci_upper", "p_value"]
        rows = dict(zip(table["term"], table[cols].to_numpy(dtype=float), strict=True))
        conv, robust = rows["conventional"], rows["robust"]
        self.estimate = float(conv[0])
        self.estimate_bc = float(robust[0])
        self.std_error = float(conv[1])
        self.std_error_robust = float(robust[1])
        self.ci = (float(conv[2]), float(conv[3]))
        self.ci_robust = (float(robust[2]), float(robust[3]))
        self.p_value = float(conv[4])
        self.p_value_robust = float(robust[4])
        self.bandwidths = bandwidths
        # (h_left, h_right, b_left, b_right) as floats, for tables and labels
        self._bw = tuple(float(v) for v in bandwidths.to_numpy(dtype=float).ravel())
        self.n = n
        self.n_effective = n_effective
        self.outcome = outcome
        self.estimator = estimator
        self.cutoff = cutoff
        self.settings = settings
        self.level = settings.level
        self.n_clusters = n_clusters
        self.ledger = ledger
        self.notes = tuple(notes)
        self.provenance = provenance
        self._data = data  # x, y, cluster, covs, frame: for the plot and the diagnostics
        self._coefficients = coefficients
        self._info = list(info or [])
        self._freeze()

    @classmethod
    def from_rdrobust(
        cls,
        out: Any,
        *,
        outcome: str,
        estimator: str,
        x: np.ndarray,
        y: np.ndarray,
        cutoff: float,
        settings: Settings,
        cluster: np.ndarray | None,
        covs: np.ndarray | None,
        frame: pd.DataFrame,
        running_name: str,
        ledger: Ledger,
        notes: list[str],
        provenance: Provenance,
        info: list[tuple[str, str]] | None = None,
        result_class: type[RDResult] | None = None,
    ) -> RDResult:
        """Build the result from rdrobust's output object (numbers taken unchanged)."""
        bws = out.bws.astype(float)
        bandwidths = pd.DataFrame(
            bws.to_numpy(), index=pd.Index(["h", "b"]), columns=pd.Index(["left", "right"])
        )
        beta_l = np.asarray(out.beta_p_l, dtype=float).reshape(settings.p + 1, -1)[:, 0]
        beta_r = np.asarray(out.beta_p_r, dtype=float).reshape(settings.p + 1, -1)[:, 0]
        return (result_class or cls)(
            table=rdrobust_rows(out),
            bandwidths=bandwidths,
            n={"left": int(out.N[0]), "right": int(out.N[1])},
            n_effective={"left": int(out.N_h[0]), "right": int(out.N_h[1])},
            outcome=outcome,
            estimator=estimator,
            cutoff=cutoff,
            settings=settings,
            n_clusters=None if out.n_clust is None else int(out.n_clust),
            data={
                "x": x,
                "y": y,
                "cluster": cluster,
                "covs": covs,
                "frame": frame,
                "running": running_name,
            },
            ledger=ledger,
            notes=notes,
            provenance=provenance,
            coefficients=(beta_l, beta_r),
            info=info,
        )

    # ------------------------------------------------------------ protocol
    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``outcome, estimator, term`` (``conventional, bias_corrected,
        robust``), the value columns, then ``h_left, h_right, b_left, b_right,
        n_eff_left, n_eff_right``."""
        t = self.table
        bw = self._bw
        return tidy_effects(
            pd.DataFrame({"outcome": self.outcome, "estimator": self.estimator, "term": t["term"]}),
            t["estimate"],
            t["std_error"],
            level=self.level,
            ci_lower=t["ci_lower"],
            ci_upper=t["ci_upper"],
            p_value=t["p_value"],
            extra={
                "h_left": bw[0],
                "h_right": bw[1],
                "b_left": bw[2],
                "b_right": bw[3],
                "n_eff_left": self.n_effective["left"],
                "n_eff_right": self.n_effective["right"],
            },
        )

    def _summary_info(self) -> list[tuple[str, str]]:
        s = self.settings
        bw = self._bw
        info = [
            ("Outcome", self.outcome),
            *self._info,
            ("Cutoff", f"{self.cutoff:g} (treated at or above)"),
            (
                "Observations",
                f"{self.n['left']:,} below, {self.n['right']:,} above; inside h: "
                f"{self.n_effective['left']:,} below, {self.n_effective['right']:,} above",
            ),
            (
                "Bandwidths",
                f"h = {bw[0]:.4g} / {bw[1]:.4g}, b = {bw[2]:.4g} / {bw[3]:.4g} "
                f"(left / right; {'given' if s.h is not None else s.bwselect})",
            ),
            ("Local polynomial", f"p = {s.p}, q = {s.q}, {s.kernel} kernel"),
            (
                "Variance",
                s.vce + ("" if self.n_clusters is None else f", {self.n_clusters} clusters"),
            ),
            (
                "Robust bias-corrected",
                f"{self.estimate_bc:.4g}, {self.level:.0%} CI [{self.ci_robust[0]:.4g}, "
                f"{self.ci_robust[1]:.4g}], p = {self.p_value_robust:.3g}",
            ),
        ]
        info += [("Note", n) for n in self.notes]
        return info

    def plot(self, ax: Axes | None = None, *, nbins: int | None = None) -> Axes:
        """RD plot: binned means (rdrobust's ``rdplot`` bins) and the local fits inside h.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
        nbins : int, optional
            Bins per side; default rdrobust's mimicking-variance choice (``esmv``).

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes
        from effekt.rd._plots import rd_plot

        ax = new_axes(ax)
        h = (self._bw[0], self._bw[1])
        return rd_plot(
            ax,
            self._data["x"],
            self._data["y"],
            cutoff=self.cutoff,
            h=h,
            coefficients=self._coefficients,
            nbins=nbins,
            xlabel=self._data["running"],
            ylabel=self.outcome,
            title=f"{label('rd_plot')}: {self.outcome}",
        )

    # ---------------------------------------------------------- diagnostics
    def density_test(self, **rddensity_kwargs: Any) -> DensityTestResult:
        """Manipulation test: is the running variable's density continuous at the cutoff?

        Runs rddensity (Cattaneo, Jansson & Ma 2020) on the fitted running variable.

        Parameters
        ----------
        **rddensity_kwargs
            Passed to ``rddensity.rddensity`` (e.g. ``p``, ``h``, ``bwselect``).

        Returns
        -------
        effekt.rd.diagnostics.DensityTestResult
        """
        from effekt.rd.diagnostics import density_test

        return density_test(
            self._data["x"], cutoff=self.cutoff, level=self.level, **rddensity_kwargs
        )

    def balance(self, covariates: Sequence[str]) -> BalanceResult:
        """Covariate balance: the RD estimate (rdrobust) on each pre-determined covariate.

        Each covariate gets its own MSE-optimal bandwidth, as Cattaneo, Idrobo &
        Titiunik (2020, sec. 5.2) recommend; a significant jump says the units on
        the two sides differ already before treatment.

        Parameters
        ----------
        covariates : sequence of str
            Columns of the fitted frame (for :class:`~effekt.rd.ListThreshold`,
            ``area_year`` columns measured in the data year of the list).

        Returns
        -------
        effekt.rd.diagnostics.BalanceResult
        """
        from effekt.rd.diagnostics import balance

        return balance(self, covariates)

    def placebo_cutoffs(self, cutoffs: Sequence[float] | None = None) -> PlaceboResult:
        """RD estimates at cutoffs where nothing happens.

        Each placebo cutoff uses only the observations on its own side of the
        true cutoff (treated ones above, untreated below), so the true jump cannot
        contaminate it (Cattaneo, Idrobo & Titiunik 2020, sec. 5.4).

        Parameters
        ----------
        cutoffs : sequence of float, optional
            Default: the 1/3 and 2/3 quantiles of the running variable on each side.

        Returns
        -------
        effekt.rd.diagnostics.PlaceboResult
        """
        from effekt.rd.diagnostics import placebo_cutoffs

        return placebo_cutoffs(self, cutoffs)
