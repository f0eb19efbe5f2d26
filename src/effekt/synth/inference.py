"""Inference for synthetic control: placebos in space and time, leave-one-out, conformal.

All refits run through :func:`effekt.parallel.parallel_map`, so a placebo loop
can be spread over processes or a Dask/Ray cluster with
``joblib.parallel_config(backend=...)``. Placebos in space reuse the matrices
of the original fit (the donors' predictors and outcomes), so no data are
rebuilt per placebo.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt.errors import IdentificationError, ParameterError, invalid_parameter
from effekt.results import Result, tidy_effects
from effekt.synth import _prep
from effekt.synth._weights import solve_simplex
from effekt.synth.scm import fit_unit

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.synth.results import SyntheticControlResult

__all__ = ["ConformalResult", "LeaveOneOutResult", "SynthPlaceboResult"]


def _settings(result: SyntheticControlResult) -> dict[str, Any]:
    est = result._estimator
    return est._settings(result._datas[0])


def _single(result: SyntheticControlResult, what: str) -> tuple[Any, Any]:
    if len(result._datas) != 1:
        raise ParameterError(
            f"{what} is defined for one treated unit; this result has {len(result._datas)}. "
            "Fit SyntheticControl(treated=<unit>) for each unit of interest, or use "
            "SyntheticDiD for the pooled effect with placebo standard errors."
        )
    return result._datas[0], result._fits[0]


def _gap_stats(data: _prep.SynthData, w: np.ndarray) -> tuple[np.ndarray, float, float]:
    gap = data.y1 - data.y0 @ w
    pre = float(np.mean(gap[data.pre] ** 2))
    post = float(np.nanmean(gap[data.post] ** 2))
    return gap, pre, post


def _as_placebo(data: _prep.SynthData, j: int, include_treated: bool) -> _prep.SynthData:
    keep = np.arange(len(data.donors)) != j
    y0, x0, donors = (
        data.y0[:, keep],
        data.x0[:, keep],
        [d for d, k in zip(data.donors, keep, strict=True) if k],
    )
    if include_treated:
        y0 = np.column_stack([y0, data.y1])
        x0 = np.column_stack([x0, data.x1])
        donors = [*donors, data.treated]
    return replace(
        data,
        treated=data.donors[j],
        donors=donors,
        y1=data.y0[:, j],
        y0=y0,
        x1=data.x0[:, j],
        x0=x0,
    )


def placebo_space(
    result: SyntheticControlResult,
    *,
    max_pre_mspe_ratio: float | None,
    include_treated: bool,
    n_jobs: int,
) -> SynthPlaceboResult:
    """Placebo-in-space study (see :meth:`SyntheticControlResult.placebo`)."""
    from effekt.parallel import parallel_map

    data, fit = _single(result, "placebo('space')")
    if max_pre_mspe_ratio is not None and (
        isinstance(max_pre_mspe_ratio, bool)
        or not isinstance(max_pre_mspe_ratio, int | float)
        or max_pre_mspe_ratio <= 0
    ):
        raise invalid_parameter(
            "max_pre_mspe_ratio",
            "placebo",
            "a positive number (e.g. 2, 5, 20) or None",
            max_pre_mspe_ratio,
        )
    if len(data.donors) < 3 and not include_treated:
        raise IdentificationError("A placebo in space needs at least 3 donors.")
    placebos = [_as_placebo(data, j, include_treated) for j in range(len(data.donors))]
    fits = parallel_map(
        fit_unit, placebos, n_jobs=n_jobs, desc="placebos in space", extra=(_settings(result),)
    )
    units = [data.treated, *data.donors]
    gaps, pre, post = [], [], []
    for d, f in zip([data, *placebos], [fit, *fits], strict=True):
        g, a, b = _gap_stats(d, f.w)
        gaps.append(g)
        pre.append(a)
        post.append(b)
    table = pd.DataFrame(
        {
            "unit": units,
            "treated": [True] + [False] * len(data.donors),
            "pre_mspe": pre,
            "post_mspe": post,
        }
    )
    table["ratio"] = np.sqrt(table["post_mspe"] / table["pre_mspe"])
    table["kept"] = True
    if max_pre_mspe_ratio is not None:
        # units the method cannot fit before treatment say nothing after it (ADH 2010)
        table["kept"] = table["treated"] | (table["pre_mspe"] <= max_pre_mspe_ratio * pre[0])
    kept = table.loc[table["kept"]]
    table["rank"] = np.nan
    table.loc[kept.index, "rank"] = kept["ratio"].rank(ascending=False, method="max")
    p_value = float(table["rank"].to_numpy()[0]) / len(kept)
    gap_frame = pd.DataFrame(np.column_stack(gaps), index=data.periods, columns=units)
    return SynthPlaceboResult(
        kind="space",
        source=result,
        table=table,
        gaps=gap_frame,
        p_value=p_value,
        at=data.treatment_time,
        max_pre_mspe_ratio=max_pre_mspe_ratio,
    )


def placebo_time(result: SyntheticControlResult, *, at: Any) -> SynthPlaceboResult:
    """Placebo-in-time study (see :meth:`SyntheticControlResult.placebo`)."""
    data, _ = _single(result, "placebo('time')")
    periods = data.periods
    pre_periods = periods[data.pre]
    if at is None or not np.isscalar(at) or at not in set(pre_periods[1:].tolist()):
        raise invalid_parameter(
            "at",
            "placebo('time')",
            f"a pre-treatment period after the first ({pre_periods[1]!r}–{pre_periods[-1]!r})",
            at,
            "The placebo treatment time must leave at least one period before it.",
        )
    # predictors measured from the placebo time on would see the placebo "treatment": cut
    # windows at `at` and drop predictors with no earlier period (e.g. late outcome lags)
    specs = []
    for spec in data.predictors:
        kept = tuple(p for p in spec.periods if p < at)
        if kept:
            specs.append(_prep.PredictorSpec(spec.column, kept, spec.label))
    if not specs:
        raise ParameterError(
            f"No predictor has a period before the placebo time {at!r}; choose a later 'at'."
        )
    panel = result._panel
    xall = _prep.predictor_matrix(panel, [data.treated, *data.donors], specs, "placebo('time')")
    upto = data.pre
    fake = replace(
        data,
        periods=periods[upto],
        treatment_time=at,
        y1=data.y1[upto],
        y0=data.y0[upto],
        x1=xall[:, 0],
        x0=xall[:, 1:],
        predictors=specs,
        loss_mask=data.loss_mask[upto] & (periods[upto] < at),
    )
    fit = fit_unit(fake, _settings(result))
    gap, pre, post = _gap_stats(fake, fit.w)
    table = pd.DataFrame(
        {
            "unit": [data.treated],
            "treated": [True],
            "pre_mspe": [pre],
            "post_mspe": [post],
            "ratio": [np.sqrt(post / pre)],
            "effect": [float(np.mean(gap[fake.post]))],
        }
    )
    return SynthPlaceboResult(
        kind="time",
        source=result,
        table=table,
        gaps=pd.DataFrame({data.treated: gap}, index=fake.periods),
        p_value=np.nan,
        at=at,
        max_pre_mspe_ratio=None,
    )


class SynthPlaceboResult(Result):
    """Placebo study of a synthetic control (in space or in time).

    Attributes
    ----------
    kind : {"space", "time"}
    table : pandas.DataFrame
        One row per unit: ``unit, treated, pre_mspe, post_mspe, ratio``
        (post/pre RMSPE ratio), ``kept`` and ``rank`` (space), ``effect`` (time).
    gaps : pandas.DataFrame
        Gap paths, periods x units (the treated unit first).
    p_value : float
        Space: rank of the treated unit's ratio among the kept units divided by
        their number (ADH 2010's permutation p-value). NaN for time placebos.
    """

    title = "Synthetic control placebo study"

    def __init__(
        self,
        *,
        kind: str,
        source: SyntheticControlResult,
        table: pd.DataFrame,
        gaps: pd.DataFrame,
        p_value: float,
        at: Any,
        max_pre_mspe_ratio: float | None,
    ) -> None:
        self.kind = kind
        self.table = table
        self.gaps = gaps
        self.p_value = p_value
        self.at = at
        self.max_pre_mspe_ratio = max_pre_mspe_ratio
        self.outcome = source.outcome
        self.level = source.level
        self.treated = source.treated[0]
        self.ledger = source.ledger
        self.provenance = source.provenance
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: the post/pre RMSPE ratio as ``estimate``; the treated
        unit's row carries the permutation p-value (space) or the fake average
        effect is the estimate (time)."""
        t = self.table
        if self.kind == "time":
            est = t["effect"].to_numpy(float)
            term = "placebo_time_att"
        else:
            est = t["ratio"].to_numpy(float)
            term = "rmspe_ratio"
        p = np.where(t["treated"], self.p_value, np.nan)
        extra = {c: t[c].to_numpy() for c in t.columns if c not in ("unit",)}
        return tidy_effects(
            pd.DataFrame(
                {
                    "outcome": self.outcome,
                    "design": "synth",
                    "estimator": "SyntheticControl",
                    "term": term,
                    "time": float(self.at) if _numeric(self.at) else np.nan,
                    "unit": t["unit"].astype(str).to_numpy(),
                }
            ),
            est,
            np.full(len(t), np.nan),
            level=self.level,
            p_value=p,
            extra=extra,
        )

    def _summary_info(self) -> list[tuple[str, str]]:
        info = [("Kind", f"placebo in {self.kind}"), ("Treated", str(self.treated))]
        if self.kind == "space":
            kept = int(self.table["kept"].sum())
            info.append(("Units ranked", f"{kept} of {len(self.table)}"))
            rank = float(self.table["rank"].to_numpy()[0])
            info.append(("Treated unit's rank", f"{int(rank)} (p = {self.p_value:.4f})"))
        else:
            info.append(("Placebo time", str(self.at)))
            info.append(("Placebo effect", f"{float(self.table['effect'].iloc[0]):.4g}"))
        return info

    def plot(self, ax: Axes | None = None) -> Axes:
        """Spaghetti plot of the gaps, the treated unit highlighted.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        ax = new_axes(ax)
        x = np.asarray(self.gaps.index)
        kept = (
            self.table.loc[self.table["kept"], "unit"].tolist()
            if "kept" in self.table
            else list(self.gaps.columns)
        )
        for unit in self.gaps.columns[1:]:
            if unit in kept:
                ax.plot(x, self.gaps[unit], color="0.75", lw=0.8)
        ax.plot([], [], color="0.75", lw=0.8, label=label("placebo_units"))
        ax.plot(x, self.gaps.iloc[:, 0], color="#08519c", lw=2.2, label=str(self.treated))
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.axvline(self.at, color="0.4", lw=1, ls=":", label=label("treatment_start"))
        ax.set_xlabel(label("period"))
        ax.set_ylabel(label("gap"))
        ax.set_title(f"{label('placebo_in_' + self.kind)}: {self.outcome}")
        ax.legend(frameon=False)
        return ax


def _numeric(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating)


def leave_one_out(result: SyntheticControlResult, *, n_jobs: int) -> LeaveOneOutResult:
    """Leave-one-out donor robustness (see :meth:`SyntheticControlResult.leave_one_out`)."""
    from effekt.parallel import parallel_map

    data, fit = _single(result, "leave_one_out()")
    used = np.flatnonzero(fit.w > 1e-6)
    if len(data.donors) - 1 < 2:
        raise IdentificationError("leave_one_out() needs at least 3 donors.")
    subsets = []
    for j in used:
        keep = np.arange(len(data.donors)) != j
        subsets.append(
            replace(
                data,
                donors=[d for d, k in zip(data.donors, keep, strict=True) if k],
                y0=data.y0[:, keep],
                x0=data.x0[:, keep],
            )
        )
    fits = parallel_map(
        fit_unit, subsets, n_jobs=n_jobs, desc="leave one out", extra=(_settings(result),)
    )
    synthetic = {"(all donors)": data.y0 @ fit.w}
    for j, s, f in zip(used, subsets, fits, strict=True):
        synthetic[str(data.donors[j])] = s.y0 @ f.w
    frame = pd.DataFrame(synthetic, index=data.periods)
    return LeaveOneOutResult(source=result, synthetic=frame, treated_path=data.y1, post=data.post)


class LeaveOneOutResult(Result):
    """Synthetic controls refitted without each donor that had positive weight.

    Attributes
    ----------
    synthetic : pandas.DataFrame
        Periods x fits: the original synthetic path, then one per left-out donor.
    """

    title = "Synthetic control: leave-one-out donors"

    def __init__(
        self,
        *,
        source: SyntheticControlResult,
        synthetic: pd.DataFrame,
        treated_path: np.ndarray,
        post: np.ndarray,
    ) -> None:
        self.synthetic = synthetic
        self.treated_path = treated_path
        self._post = post
        self.outcome = source.outcome
        self.level = source.level
        self.treated = source.treated[0]
        self.treatment_time = source.treatment_time[0]
        self.ledger = source.ledger
        self.provenance = source.provenance
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Average post-treatment gap of each fit (``group`` = left-out donor)."""
        gaps = self.treated_path[:, None] - self.synthetic.to_numpy()
        att = np.nanmean(gaps[self._post], axis=0)
        return tidy_effects(
            pd.DataFrame(
                {
                    "outcome": self.outcome,
                    "design": "synth",
                    "estimator": "SyntheticControl",
                    "aggregation": "simple",
                    "term": "att",
                    "group": [str(c) for c in self.synthetic.columns],
                    "unit": str(self.treated),
                }
            ),
            att,
            np.full(len(att), np.nan),
            level=self.level,
        )

    def _summary_info(self) -> list[tuple[str, str]]:
        att = self.to_frame()["estimate"]
        return [
            ("Treated", str(self.treated)),
            ("Donors left out", f"{self.synthetic.shape[1] - 1}"),
            ("Effect, all donors", f"{att.iloc[0]:.4g}"),
            ("Range leaving one out", f"{att.iloc[1:].min():.4g} to {att.iloc[1:].max():.4g}"),
        ]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Treated path, original synthetic control and the leave-one-out paths.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        ax = new_axes(ax)
        x = np.asarray(self.synthetic.index)
        for col in self.synthetic.columns[1:]:
            ax.plot(x, self.synthetic[col], color="0.7", lw=0.9)
        ax.plot([], [], color="0.7", lw=0.9, label=label("leave_one_out"))
        ax.plot(x, self.treated_path, color="#08519c", lw=2, label=str(self.treated))
        ax.plot(
            x, self.synthetic.iloc[:, 0], color="#d94801", lw=2, ls="--", label=label("synthetic")
        )
        ax.axvline(self.treatment_time, color="0.4", lw=1, ls=":", label=label("treatment_start"))
        ax.set_xlabel(label("period"))
        ax.set_ylabel(self.outcome)
        ax.set_title(f"{label('leave_one_out')}: {self.treated}")
        ax.legend(frameon=False)
        return ax


def conformal_pvalues(y1: np.ndarray, y0: np.ndarray, t: int, thetas: np.ndarray) -> np.ndarray:
    """CWZ permutation p-values of ``H0: effect at row t = theta`` for each theta.

    ``y1``/``y0`` hold the pre-treatment rows followed by the single row ``t``
    under test (the last row). The canonical SC is refitted under each null.
    """
    out = np.empty(len(thetas))
    start = None
    for i, theta in enumerate(thetas):
        target = y1.copy()
        target[-1] -= theta
        w = solve_simplex(y0 - target[:, None], start=start)
        start = np.flatnonzero(w)
        u = np.abs(target - y0 @ w)
        out[i] = np.mean(u >= u[-1] - 1e-12 * max(1.0, float(u[-1])))
    return out


def conformal(result: SyntheticControlResult, *, grid_size: int) -> ConformalResult:
    """Conformal intervals (see :meth:`SyntheticControlResult.conformal`)."""
    data, _ = _single(result, "conformal()")
    if isinstance(grid_size, bool) or not isinstance(grid_size, int) or grid_size < 11:
        raise invalid_parameter("grid_size", "conformal", "an integer >= 11", grid_size)
    alpha = 1.0 - result.level
    pre = data.pre
    n_pre = int(pre.sum())
    if 1.0 / (n_pre + 1) > alpha:
        raise IdentificationError(
            f"Conformal intervals at level {result.level} need at least {int(np.ceil(1 / alpha))} "
            f"pre-treatment periods; the panel has {n_pre}. Lower ci_level."
        )
    w_pre = solve_simplex(data.y0[pre] - data.y1[pre][:, None])
    sd = float(np.std(data.y1[pre] - data.y0[pre] @ w_pre, ddof=1)) or 1.0
    rows = []
    for t in np.flatnonzero(data.post).tolist():
        if np.isnan(data.y1[t]):
            continue
        y1 = np.append(data.y1[pre], data.y1[t])
        y0 = np.vstack([data.y0[pre], data.y0[t]])
        gap = float(data.y1[t] - data.y0[t] @ w_pre)
        width = 6 * sd + abs(gap)
        for _ in range(6):  # widen until the accepted set is interior to the grid
            grid = np.linspace(gap - width, gap + width, grid_size)
            p = conformal_pvalues(y1, y0, t, grid)
            ok = grid[p > alpha]
            if ok.size == 0 or (ok.min() > grid[0] and ok.max() < grid[-1]):
                break
            width *= 2
        p0 = conformal_pvalues(y1, y0, t, np.array([0.0]))[0]
        rows.append(
            (
                data.periods[t],
                gap,
                float(ok.min()) if ok.size else np.nan,
                float(ok.max()) if ok.size else np.nan,
                float(p0),
            )
        )
    table = pd.DataFrame(rows, columns=["time", "estimate", "ci_lower", "ci_upper", "p_value"])
    return ConformalResult(source=result, table=table, treatment_time=data.treatment_time)


class ConformalResult(Result):
    """Conformal prediction intervals for the per-period effects (CWZ 2021).

    Attributes
    ----------
    table : pandas.DataFrame
        ``time, estimate`` (gap of the outcome-only SC), ``ci_lower, ci_upper``
        and ``p_value`` of no effect in that period.
    """

    title = "Synthetic control: conformal inference"

    def __init__(
        self, *, source: SyntheticControlResult, table: pd.DataFrame, treatment_time: Any
    ) -> None:
        self.table = table
        self.outcome = source.outcome
        self.level = source.level
        self.treated = source.treated[0]
        self.treatment_time = treatment_time
        self.ledger = source.ledger
        self.provenance = source.provenance
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Per post period: gap, conformal interval and p-value of no effect."""
        t = self.table
        times = t["time"].to_numpy()
        event = np.arange(len(t))
        return tidy_effects(
            pd.DataFrame(
                {
                    "outcome": self.outcome,
                    "design": "synth",
                    "estimator": "SyntheticControl",
                    "term": "gap",
                    "time": times.astype(float) if _numeric(times[0]) else np.nan,
                    "event_time": pd.array(event, dtype="Int64"),
                    "unit": str(self.treated),
                }
            ),
            t["estimate"].to_numpy(float),
            np.full(len(t), np.nan),
            level=self.level,
            ci_lower=t["ci_lower"].to_numpy(float),
            ci_upper=t["ci_upper"].to_numpy(float),
            p_value=t["p_value"].to_numpy(float),
        )

    def _summary_info(self) -> list[tuple[str, str]]:
        return [
            ("Treated", str(self.treated)),
            ("Method", "Chernozhukov, Wüthrich & Zhu (2021), moving-block permutations"),
            ("Level", f"{self.level:.0%}"),
        ]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Per-period gaps with their conformal intervals.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        ax = new_axes(ax)
        t = self.table
        ax.fill_between(
            t["time"],
            t["ci_lower"],
            t["ci_upper"],
            color="#9ecae1",
            alpha=0.6,
            label=label("ci", level=self.level),
        )
        ax.plot(t["time"], t["estimate"], "o-", color="#08519c", label=label("gap"))
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.set_xlabel(label("period"))
        ax.set_ylabel(label("gap"))
        ax.set_title(f"{label('conformal')}: {self.treated}")
        ax.legend(frameon=False)
        return ax
