"""Results of the synthetic control estimators."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt.errors import ParameterError, check_choice
from effekt.results import Result, tidy_effects
from effekt.synth.inference import (
    ConformalResult,
    LeaveOneOutResult,
    PooledPlaceboResult,
    SynthPlaceboResult,
    conformal,
    leave_one_out,
    placebo_space,
    placebo_space_pooled,
    placebo_time,
    ranked_placebo,
)

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Panel
    from effekt.synth._core import WeightsFit
    from effekt.synth._prep import SynthData
    from effekt.synth.scm import SyntheticControl

__all__ = ["SyntheticControlResult"]

_COLOR = "#08519c"
_SYNTH_COLOR = "#d94801"


def _event_time(periods: np.ndarray, start: Any) -> np.ndarray:
    """Periods since ``start`` counted in observed periods (0 = first treated period)."""
    return np.arange(len(periods)) - int(np.searchsorted(periods, start))


class SyntheticControlResult(Result):
    """Result of :class:`~effekt.synth.SyntheticControl`.

    Attributes
    ----------
    treated : list
        Treated unit(s).
    weights : pandas.Series or pandas.DataFrame
        Donor weights (W): a Series over donors for one treated unit, a frame
        donors x treated units for several (0 where a donor is not in a pool).
    v_weights : pandas.Series or pandas.DataFrame
        Predictor weights (V), normalised to sum to one, by predictor label.
    loss_v : float or pandas.Series
        Pre-treatment outcome MSPE over the loss periods (R Synth's ``loss.v``).
    loss_w : float or pandas.Series
        V-weighted discrepancy of the standardised predictors (``loss.w``).
    rmspe_pre : float or pandas.Series
        Root mean squared prediction error over all pre-treatment periods.
    trajectory : pandas.DataFrame
        Per treated unit and period: ``unit, time, event_time, treated,
        synthetic, gap``.
    """

    title = "Synthetic control"

    def __init__(
        self,
        *,
        estimator: SyntheticControl,
        settings: dict[str, Any],
        panel: Panel,
        datas: list[SynthData],
        fits: list[WeightsFit],
        level: float,
        provenance: Any,
    ) -> None:
        self._estimator = estimator
        # the V-search settings, so placebo and leave-one-out refits repeat the same search
        self._settings = settings
        self._seed = int(estimator.seed)
        self._n_jobs = estimator.n_jobs
        self._panel = panel
        self._datas = datas
        self._fits = fits
        self.level = level
        self.outcome = str(panel.outcome)
        self.treated = [d.treated for d in datas]
        self.treatment_time = [d.treatment_time for d in datas]
        single = len(datas) == 1
        w = {
            d.treated: pd.Series(f.w, index=pd.Index(d.donors, name="donor"))
            for d, f in zip(datas, fits, strict=True)
        }
        v = {
            d.treated: pd.Series(
                f.v, index=pd.Index([p.label for p in d.predictors], name="predictor")
            )
            for d, f in zip(datas, fits, strict=True)
        }
        self.weights = (
            w[datas[0].treated].rename("weight") if single else pd.DataFrame(w).fillna(0.0)
        )
        self.v_weights = v[datas[0].treated].rename("v") if single else pd.DataFrame(v)
        loss_v = pd.Series({d.treated: f.loss_v for d, f in zip(datas, fits, strict=True)})
        loss_w = pd.Series({d.treated: f.loss_w for d, f in zip(datas, fits, strict=True)})
        rmspe = pd.Series(
            {
                d.treated: float(np.sqrt(np.mean((d.y1[d.pre] - d.y0[d.pre] @ f.w) ** 2)))
                for d, f in zip(datas, fits, strict=True)
            }
        )
        self.loss_v = float(loss_v.iloc[0]) if single else loss_v
        self.loss_w = float(loss_w.iloc[0]) if single else loss_w
        self.rmspe_pre = float(rmspe.iloc[0]) if single else rmspe
        frames = []
        for d, f in zip(datas, fits, strict=True):
            synthetic = d.y0 @ f.w
            frames.append(
                pd.DataFrame(
                    {
                        "unit": d.treated,
                        "time": d.periods,
                        "event_time": _event_time(d.periods, d.treatment_time),
                        "treated": d.y1,
                        "synthetic": synthetic,
                        "gap": d.y1 - synthetic,
                    }
                )
            )
        self.trajectory = pd.concat(frames, ignore_index=True)
        # donors each fit dropped (incomplete outcomes), once per row
        ledger = panel.ledger
        for d in datas:
            extra = d.ledger.to_frame().iloc[len(panel.ledger) :]
            extra = extra.loc[~extra["row"].isin(ledger.to_frame()["row"])]
            ledger = ledger.extend(extra)
        self.ledger = ledger
        self.provenance = provenance
        self._cache: dict[Any, Any] = {}
        self._freeze()

    # ------------------------------------------------------------ tables
    def balance(self, unit: Any = None) -> pd.DataFrame:
        """Predictor balance: treated unit, synthetic control and donor mean (raw scale).

        Parameters
        ----------
        unit : unit label, optional
            Which treated unit (default: the first).

        Returns
        -------
        pandas.DataFrame
            Indexed by predictor label, columns ``treated, synthetic, donor_mean, v``.
        """
        d, f = self._pick(unit)
        return pd.DataFrame(
            {
                "treated": d.x1,
                "synthetic": d.x0 @ f.w,
                "donor_mean": d.x0.mean(axis=1),
                "v": f.v,
            },
            index=pd.Index([p.label for p in d.predictors], name="predictor"),
        )

    def _pick(self, unit: Any) -> tuple[SynthData, WeightsFit]:
        if unit is None:
            return self._datas[0], self._fits[0]
        for d, f in zip(self._datas, self._fits, strict=True):
            if d.treated == unit:
                return d, f
        raise ParameterError(f"{unit!r} is not a treated unit of this result ({self.treated}).")

    def to_frame(self) -> pd.DataFrame:
        """Tidy effect table.

        One row per treated unit and period from its treatment time on
        (``term="gap"``, keys ``unit, time, event_time``), one average row per
        unit (``term="att"``, ``aggregation="simple"``) and, with several treated
        units, the pooled gap by event time (``aggregation="event_time"``) and its
        average over units and post periods. Point estimates only: p-values come
        from :meth:`placebo`, intervals from :meth:`conformal`.
        """
        traj = self.trajectory
        post = traj.loc[traj["event_time"] >= 0]
        rows = [
            pd.DataFrame(
                {
                    "aggregation": pd.NA,
                    "term": "gap",
                    "unit": post["unit"].astype(str),
                    "time": post["time"].astype(float),
                    "event_time": post["event_time"],
                    "estimate": post["gap"],
                }
            )
        ]
        avg = post.groupby("unit", sort=False)["gap"].mean()
        rows.append(
            pd.DataFrame(
                {
                    "aggregation": "simple",
                    "term": "att",
                    "unit": avg.index.astype(str),
                    "time": np.nan,
                    "event_time": pd.NA,
                    "estimate": avg.to_numpy(),
                }
            )
        )
        if len(self.treated) > 1:
            pooled = post.groupby("event_time")["gap"].mean()
            rows.append(
                pd.DataFrame(
                    {
                        "aggregation": "event_time",
                        "term": "gap",
                        "unit": pd.NA,
                        "time": np.nan,
                        "event_time": pooled.index.to_numpy(),
                        "estimate": pooled.to_numpy(),
                    }
                )
            )
            rows.append(
                pd.DataFrame(
                    {
                        "aggregation": "simple",
                        "term": "att",
                        "unit": [pd.NA],
                        "time": [np.nan],
                        "event_time": [pd.NA],
                        "estimate": [float(avg.mean())],
                    }
                )
            )
        table = pd.concat(rows, ignore_index=True)
        keys = pd.DataFrame(
            {
                "outcome": self.outcome,
                "design": "synth",
                "estimator": "SyntheticControl",
                "aggregation": table["aggregation"].astype("string"),
                "term": table["term"],
                "time": table["time"].astype(float),
                "event_time": pd.array(table["event_time"].tolist(), dtype="Int64"),
                "unit": table["unit"].astype("string"),
            }
        )
        n = len(table)
        return tidy_effects(
            keys, table["estimate"].to_numpy(float), np.full(n, np.nan), level=self.level
        )

    def _summary_info(self) -> list[tuple[str, str]]:
        d = self._datas[0]
        info = [
            ("Outcome", self.outcome),
            (
                "Treated",
                ", ".join(map(str, self.treated[:5])) + (" ..." if len(self.treated) > 5 else ""),
            ),
            ("Treatment time", ", ".join(map(str, sorted(set(map(str, self.treatment_time)))))),
            ("Donors", f"{len(d.donors)}"),
            ("Predictors", f"{len(d.predictors)}"),
        ]
        if len(self.treated) == 1:
            weights = pd.Series(self.weights)
            top = weights[weights > 0.001].sort_values(ascending=False)
            info.append(("Donor weights", ", ".join(f"{k} {v:.3f}" for k, v in top.items())))
            info.append(("Pre-treatment RMSPE", f"{self.rmspe_pre:.4g}"))
            info.append(("Loss (V, outcome MSPE)", f"{self.loss_v:.4g}"))
        else:
            info.append(("Median pre-treatment RMSPE", f"{float(np.median(self.rmspe_pre)):.4g}"))
        return info

    # ------------------------------------------------------------ inference
    def placebo(
        self,
        kind: str = "space",
        *,
        at: Any = None,
        max_pre_mspe_ratio: float | None = None,
        include_treated: bool = False,
        n_draws: int = 1000,
        n_jobs: int | None = None,
    ) -> SynthPlaceboResult | PooledPlaceboResult:
        """Placebo studies: in space (every donor as if treated) or in time.

        Parameters
        ----------
        kind : {"space", "time"}
            ``"space"``: refit with each donor in turn as the treated unit (V
            re-optimised) and rank the treated unit's post/pre RMSPE ratio among
            all units (ADH 2010, Section 4); the p-value is its rank divided by the
            number of units kept. ``"time"``: pretend treatment started at ``at``
            (before the real start), refit on the periods before the real start,
            and report the fake effect.

            With several treated units, ``"space"`` is the pooled study: every
            donor is fitted as a placebo at each treated unit's treatment time,
            and ``n_draws`` random placebo sets (one distinct donor per treated
            unit, at that unit's time) give the placebo distribution of the
            pooled ATT, of the mean post/pre RMSPE ratio and of the pooled gap
            by event time (Cavallo et al. 2013); see
            :class:`~effekt.synth.PooledPlaceboResult`. ``"time"`` needs one
            treated unit.
        at : period
            Placebo treatment time for ``kind="time"``. Predictor windows are cut
            at ``at``.
        max_pre_mspe_ratio : float, optional
            Space only: drop placebos whose pre-treatment MSPE exceeds this
            multiple of the treated unit's (ADH use 20, 5 and 2), since a unit
            that is not fitted before treatment says nothing after it.
        include_treated : bool, default False
            Space only: put the treated unit into the placebos' donor pools, as
            ADH (2010) did. Off by default, since its post-treatment outcomes
            carry the treatment effect. One treated unit only.
        n_draws : int, default 1000
            Several treated units: placebo sets drawn (seeded by the
            estimator's ``seed``).
        n_jobs : int, optional
            Workers; default the estimator's ``n_jobs``.

        Returns
        -------
        SynthPlaceboResult or PooledPlaceboResult
            The latter for ``kind="space"`` with several treated units.

        Raises
        ------
        ParameterError
            Unknown kind, ``at`` missing or not before the treatment, several
            treated units with ``kind="time"`` (fit them one by one), invalid
            ``max_pre_mspe_ratio`` or ``n_draws``.
        IdentificationError
            Too few donors (fewer than 3; with several treated units, no more
            than there are treated units).

        References
        ----------
        Abadie, A., Diamond, A. and Hainmueller, J. (2010), Section 4.
        doi:10.1198/jasa.2009.ap08746
        Cavallo, E., Galiani, S., Noy, I. and Pantano, J. (2013). Catastrophic
        natural disasters and economic growth. Review of Economics and
        Statistics 95(5), 1549-1561. doi:10.1162/REST_a_00413
        """
        check_choice("kind", "placebo", kind, ("space", "time"))
        jobs = self._n_jobs if n_jobs is None else n_jobs
        if kind == "space" and len(self._datas) > 1:
            key = ("pooled", max_pre_mspe_ratio, n_draws)
            if key not in self._cache:
                self._cache[key] = placebo_space_pooled(
                    self, max_pre_mspe_ratio=max_pre_mspe_ratio, n_draws=n_draws, n_jobs=jobs
                )
            return self._cache[key]
        if kind == "space":
            # one set of placebo fits per pool; pre-fit filters only re-rank them
            base_key = ("space", None, include_treated)
            if base_key not in self._cache:
                self._cache[base_key] = placebo_space(
                    self, max_pre_mspe_ratio=None, include_treated=include_treated, n_jobs=jobs
                )
            key = ("space", max_pre_mspe_ratio, include_treated)
            if key not in self._cache:
                base = self._cache[base_key]
                self._cache[key] = ranked_placebo(
                    self, base.table, base.gaps, base.at, max_pre_mspe_ratio
                )
            return self._cache[key]
        return placebo_time(self, at=at)

    def leave_one_out(self, *, n_jobs: int | None = None) -> LeaveOneOutResult:
        """Refit leaving out, one at a time, each donor with positive weight.

        Parameters
        ----------
        n_jobs : int, optional
            Workers; default the estimator's ``n_jobs``.

        Returns
        -------
        LeaveOneOutResult
        """
        return leave_one_out(self, n_jobs=self._n_jobs if n_jobs is None else n_jobs)

    def conformal(self, *, grid_size: int = 201) -> ConformalResult:
        """Conformal prediction intervals per post-treatment period (CWZ 2021).

        For each post period ``t`` and candidate effect ``theta``, the treated
        outcome is set to ``Y_t - theta``, the canonical synthetic control
        (simplex weights fitted to the outcomes of the pre-treatment periods
        and ``t``) is refitted, and ``theta`` is kept when the absolute residual
        at ``t`` is not among the largest ``(1 - level)`` share of the
        ``T0 + 1`` residuals (moving-block permutation p-value). The interval
        is the range of kept values on a grid of ``grid_size`` points. The
        weights are those of the outcome-only SC, as in Chernozhukov, Wüthrich
        and Zhu, not this result's predictor-based ones.

        Parameters
        ----------
        grid_size : int, default 201
            Grid points per period (the grid spans 6 pre-treatment residual SDs
            plus the gap; widened when the set touches its edge).

        Returns
        -------
        ConformalResult

        References
        ----------
        Chernozhukov, V., Wüthrich, K. and Zhu, Y. (2021). An exact and robust
        conformal inference method for counterfactual and synthetic controls.
        Journal of the American Statistical Association 116(536), 1849-1864.
        doi:10.1080/01621459.2021.1920957
        """
        return conformal(self, grid_size=grid_size)

    # ------------------------------------------------------------ plots
    def plot(
        self,
        ax: Axes | None = None,
        kind: str = "trajectory",
        unit: Any = None,
        placebo: SynthPlaceboResult | None = None,
    ) -> Axes:
        """Draw the trajectory, the gap, the placebo gaps or the donor weights.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
        kind : {"trajectory", "gap", "placebo", "weights"}
            ``trajectory``: treated and synthetic outcome with the treatment time
            marked; ``gap``: their difference; ``placebo``: gaps of every placebo
            unit with the treated unit highlighted (computes
            ``placebo("space")`` unless ``placebo`` is given); ``weights``: donor
            weights above 0.001.
        unit : unit label, optional
            Which treated unit (default: the first; ``gap`` with several treated
            units draws all of them and their mean).
        placebo : SynthPlaceboResult, optional
            A placebo result to draw for ``kind="placebo"``.

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        check_choice(
            "kind", "SyntheticControlResult.plot", kind, ("trajectory", "gap", "placebo", "weights")
        )
        if kind == "placebo":
            return (placebo if placebo is not None else self.placebo("space")).plot(ax=ax)
        ax = new_axes(ax)
        d, f = self._pick(unit)
        if kind == "weights":
            w = pd.Series(f.w, index=d.donors)
            w = w[w > 0.001].sort_values()
            ax.barh([str(i) for i in w.index], w.to_numpy(), color=_COLOR)
            ax.set_xlabel(label("donor_weight"))
            ax.set_title(f"{label('donor_weights')}: {d.treated}")
            return ax
        traj = self.trajectory
        if kind == "trajectory":
            t = traj.loc[traj["unit"] == d.treated]
            ax.plot(t["time"], t["treated"], color=_COLOR, lw=2, label=str(d.treated))
            ax.plot(
                t["time"],
                t["synthetic"],
                color=_SYNTH_COLOR,
                lw=2,
                ls="--",
                label=label("synthetic"),
            )
            ax.set_ylabel(self.outcome)
            ax.set_title(f"{label('synthetic')}: {d.treated}")
        else:
            units = [d.treated] if unit is not None or len(self.treated) == 1 else self.treated
            x = "time" if len(units) == 1 else "event_time"
            for u in units:
                t = traj.loc[traj["unit"] == u]
                ax.plot(
                    t[x],
                    t["gap"],
                    color=_COLOR if len(units) == 1 else "0.7",
                    lw=2 if len(units) == 1 else 1,
                )
            if len(units) > 1:
                mean = traj.groupby("event_time")["gap"].mean()
                ax.plot(mean.index, mean.to_numpy(), color=_COLOR, lw=2.5, label=label("pooled"))
            ax.axhline(0.0, color="0.5", lw=0.8)
            ax.set_ylabel(label("gap"))
            ax.set_title(f"{label('gap')}: {self.outcome}")
            if x == "event_time":
                ax.axvline(-0.5, color="0.4", lw=1, ls=":", label=label("treatment_start"))
                ax.set_xlabel(label("event_time"))
                ax.legend(frameon=False)
                return ax
        ax.axvline(_boundary(d), color="0.4", lw=1, ls=":", label=label("treatment_start"))
        ax.set_xlabel(label("period"))
        ax.legend(frameon=False)
        return ax


def _boundary(d: SynthData) -> float:
    """x position between the last pre-treatment and the first treated period."""
    pre = d.periods[d.pre]
    post = d.periods[d.post]
    try:
        return float(pre[-1] + (post[0] - pre[-1]) / 2)
    except TypeError:  # dates
        return pre[-1] + (post[0] - pre[-1]) / 2
