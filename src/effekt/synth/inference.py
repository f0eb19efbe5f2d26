"""Inference for synthetic control: placebos in space and time, leave-one-out, conformal.

All refits run through :func:`effekt.parallel.parallel_map`, so a placebo loop
can be spread over processes or a Dask/Ray cluster with
``joblib.parallel_config(backend=...)``. Placebos in space reuse the matrices
of the original fit (the donors' predictors and outcomes), so no data are
rebuilt per placebo.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt.errors import IdentificationError, ParameterError, invalid_parameter
from effekt.parallel import parallel_map
from effekt.results import Result, tidy_effects
from effekt.synth import _prep
from effekt.synth._core import fit_unit
from effekt.synth._weights import solve_simplex

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.synth.results import SyntheticControlResult

__all__ = ["ConformalResult", "LeaveOneOutResult", "PooledPlaceboResult", "SynthPlaceboResult"]


def _settings(result: SyntheticControlResult) -> dict[str, Any]:
    return result._settings


def _single(result: SyntheticControlResult, what: str) -> tuple[Any, Any]:
    if len(result._datas) != 1:
        raise ParameterError(
            f"{what} is defined for one treated unit; this result has {len(result._datas)}. "
            "Fit SyntheticControl(treated=<unit>) for each unit of interest; for the pooled "
            "effect use placebo('space') (pooled placebo sets) or SyntheticDiD (placebo "
            "standard errors)."
        )
    return result._datas[0], result._fits[0]


def _gap_stats(data: _prep.SynthData, w: np.ndarray) -> tuple[np.ndarray, float, float]:
    gap = data.y1 - data.y0 @ w
    pre = float(np.mean(gap[data.pre] ** 2))
    post = float(np.nanmean(gap[data.post] ** 2))
    return gap, pre, post


def _mspe_ratio(post: Any, pre: Any) -> Any:
    """ADH's post/pre RMSPE ratio; a perfect pre-period fit gives inf (or NaN when the
    post-period gap is zero too) instead of a division error."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(np.divide(post, pre))


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
    data, fit = _single(result, "placebo('space')")
    return placebo_space_with(
        result,
        data,
        fit.w,
        functools.partial(_sc_weights, settings=_settings(result)),
        max_pre_mspe_ratio=max_pre_mspe_ratio,
        include_treated=include_treated,
        n_jobs=n_jobs,
    )


def _sc_weights(data: _prep.SynthData, settings: dict[str, Any]) -> np.ndarray:
    """Donor weights of one placebo fit (module level, so process pools can pickle it)."""
    return fit_unit(data, settings).w


def placebo_space_with(
    source: Any,
    data: _prep.SynthData,
    w: np.ndarray,
    weights_of: Callable[[_prep.SynthData], np.ndarray],
    *,
    max_pre_mspe_ratio: float | None,
    include_treated: bool,
    n_jobs: int,
) -> SynthPlaceboResult:
    """Placebo in space for any single-unit synthetic control: ``weights_of`` refits one."""
    _check_ratio(max_pre_mspe_ratio)
    if len(data.donors) < 3 and not include_treated:
        raise IdentificationError("A placebo in space needs at least 3 donors.")
    placebos = [_as_placebo(data, j, include_treated) for j in range(len(data.donors))]
    fits = parallel_map(weights_of, placebos, n_jobs=n_jobs, desc="placebos in space")
    units = [data.treated, *data.donors]
    gaps, pre, post = [], [], []
    for d, f in zip([data, *placebos], [w, *fits], strict=True):
        g, a, b = _gap_stats(d, f)
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
    table["ratio"] = _mspe_ratio(table["post_mspe"].to_numpy(), table["pre_mspe"].to_numpy())
    gap_frame = pd.DataFrame(np.column_stack(gaps), index=data.periods, columns=units)
    return ranked_placebo(source, table, gap_frame, data.treatment_time, max_pre_mspe_ratio)


def ranked_placebo(
    source: Any,
    table: pd.DataFrame,
    gaps: pd.DataFrame,
    at: Any,
    max_pre_mspe_ratio: float | None,
) -> SynthPlaceboResult:
    """Rank the treated unit's RMSPE ratio among the placebos kept by the pre-fit filter.

    Separate from the fits, so filtered versions reuse one set of placebo fits.
    """
    _check_ratio(max_pre_mspe_ratio)
    table = table[["unit", "treated", "pre_mspe", "post_mspe", "ratio"]].copy()
    table["kept"] = True
    if max_pre_mspe_ratio is not None:
        # units the method cannot fit before treatment say nothing after it (ADH 2010)
        pre0 = float(table["pre_mspe"].iloc[0])
        table["kept"] = table["treated"] | (table["pre_mspe"] <= max_pre_mspe_ratio * pre0)
    kept = table.loc[table["kept"]]
    table["rank"] = np.nan
    table.loc[kept.index, "rank"] = kept["ratio"].rank(ascending=False, method="max")
    p_value = float(table["rank"].to_numpy()[0]) / len(kept)
    return SynthPlaceboResult(
        kind="space",
        source=source,
        table=table,
        gaps=gaps,
        p_value=p_value,
        at=at,
        max_pre_mspe_ratio=max_pre_mspe_ratio,
    )


def _check_ratio(max_pre_mspe_ratio: Any) -> None:
    if max_pre_mspe_ratio is not None and (
        isinstance(max_pre_mspe_ratio, bool)
        or not isinstance(max_pre_mspe_ratio, int | float)
        or not np.isfinite(max_pre_mspe_ratio)  # NaN would silently drop every placebo
        or max_pre_mspe_ratio <= 0
    ):
        raise invalid_parameter(
            "max_pre_mspe_ratio",
            "placebo",
            "a finite positive number (e.g. 2, 5, 20) or None",
            max_pre_mspe_ratio,
        )


def placebo_space_pooled(
    result: SyntheticControlResult,
    *,
    max_pre_mspe_ratio: float | None,
    n_draws: int,
    n_jobs: int,
) -> PooledPlaceboResult:
    """Pooled placebo-in-space study for several (staggered) treated units.

    Every donor is fitted once as a placebo treated unit at each distinct treatment
    time (V re-optimised, the other donors as its pool). A placebo set gives each
    treated unit a distinct donor fitted at that unit's treatment time, so the set
    has the treated units' timing structure; its pooled ATT, pooled gap by event
    time and mean post/pre RMSPE ratio are the averages over the set, as for the
    treated units (Cavallo et al. 2013). ``n_draws`` sets are drawn at random.
    """
    _check_ratio(max_pre_mspe_ratio)
    if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 19:
        raise invalid_parameter("n_draws", "placebo", "an integer >= 19", n_draws)
    datas, fits = result._datas, result._fits
    times = list(dict.fromkeys(d.treatment_time for d in datas))
    rep = {t: next(d for d in datas if d.treatment_time == t) for t in times}
    # placebo candidates: donors in every treated unit's pool (the same pool by default)
    pool = [u for u in rep[times[0]].donors if all(u in d.donors for d in datas)]
    n_units = len(datas)
    if len(pool) < n_units + 1:
        raise IdentificationError(
            f"A pooled placebo in space gives each of the {n_units} treated units its own "
            f"placebo donor, so it needs more donors than treated units; found {len(pool)}. "
            "Widen the donor pool or use SyntheticDiD(se='bootstrap')."
        )
    tasks, keys = [], []
    for t in times:
        d = rep[t]
        for u in pool:
            tasks.append(_as_placebo(d, d.donors.index(u), False))
            keys.append((t, u))
    placebo_fits = parallel_map(
        fit_unit, tasks, n_jobs=n_jobs, desc="pooled placebos", extra=(_settings(result),)
    )
    periods = datas[0].periods
    events = np.arange(-len(periods) + 1, len(periods))  # every possible event time

    def stats(d: _prep.SynthData, w: np.ndarray) -> tuple[np.ndarray, float, float, float]:
        gap, pre, post = _gap_stats(d, w)
        path = np.full(len(events), np.nan)
        start = int(np.searchsorted(d.periods, d.treatment_time))
        path[np.arange(len(d.periods)) - start + len(periods) - 1] = gap
        return path, pre, float(_mspe_ratio(post, pre)), float(np.nanmean(gap[d.post]))

    rows, paths = [], []
    for (t, u), d, f in zip(keys, tasks, placebo_fits, strict=True):
        path, pre, ratio, att = stats(d, f.w)
        rows.append((t, u, pre, ratio, att))
        paths.append(path)
    table = pd.DataFrame(rows, columns=["treatment_time", "unit", "pre_mspe", "ratio", "att"])
    paths_arr = np.asarray(paths)  # (G * J, E)
    obs = [stats(d, f.w) for d, f in zip(datas, fits, strict=True)]
    obs_paths = np.asarray([o[0] for o in obs])
    # slot i (treated unit i) may take donor j fitted at unit i's time: row g_i * J + j
    slot_rows = np.array([times.index(d.treatment_time) * len(pool) for d in datas])
    eligible = np.ones((n_units, len(pool)), dtype=bool)
    if max_pre_mspe_ratio is not None:
        # a placebo the method cannot fit before treatment says nothing after it (ADH 2010)
        pre_mspe = table["pre_mspe"].to_numpy()
        for i, o in enumerate(obs):
            eligible[i] = pre_mspe[slot_rows[i] : slot_rows[i] + len(pool)] <= (
                max_pre_mspe_ratio * o[1]
            )
        if not eligible.any(axis=1).all():
            raise IdentificationError(
                f"With max_pre_mspe_ratio={max_pre_mspe_ratio}, no placebo donor fits as well "
                "as required for some treated unit; raise the threshold or use None."
            )
    rng = np.random.default_rng(result._seed)
    chosen = _draw_sets(rng, eligible, n_draws)  # (n_draws, N) donor indexes
    rows_idx = chosen + slot_rows[None, :]
    draw_att = table["att"].to_numpy()[rows_idx].mean(axis=1)
    draw_ratio = table["ratio"].to_numpy()[rows_idx].mean(axis=1)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # event times no unit reaches
        draw_paths = np.nanmean(paths_arr[rows_idx], axis=1)  # (n_draws, E)
        obs_path = np.nanmean(obs_paths, axis=0)
    seen = np.isfinite(obs_path)
    obs_att = float(np.mean([o[3] for o in obs]))
    obs_ratio = float(np.mean([o[2] for o in obs]))

    def pval(stat: np.ndarray, value: np.ndarray) -> np.ndarray:
        return (1.0 + np.sum(stat >= value - 1e-12 * np.abs(value), axis=0)) / (n_draws + 1.0)

    p_path = pval(np.abs(draw_paths[:, seen]), np.abs(obs_path[seen]))
    event_table = pd.DataFrame(
        {"event_time": events[seen], "estimate": obs_path[seen], "p_value": p_path}
    )
    return PooledPlaceboResult(
        source=result,
        table=table,
        draws=pd.DataFrame(
            {"att": draw_att, "ratio": draw_ratio, "units": [tuple(r) for r in chosen]}
        ),
        draw_paths=pd.DataFrame(draw_paths[:, seen], columns=events[seen]),
        event_table=event_table,
        att=obs_att,
        ratio=obs_ratio,
        p_value=float(pval(np.abs(draw_att), np.array(abs(obs_att)))),
        p_value_ratio=float(pval(draw_ratio, np.array(obs_ratio))),
        pool=pool,
        max_pre_mspe_ratio=max_pre_mspe_ratio,
    )


def _draw_sets(rng: np.random.Generator, eligible: np.ndarray, n_draws: int) -> np.ndarray:
    """Random placebo sets: one distinct eligible donor per slot, uniformly."""
    n_slots, n_pool = eligible.shape
    if eligible.all():
        return np.argsort(rng.random((n_draws, n_pool)), axis=1)[:, :n_slots]
    out = np.empty((n_draws, n_slots), dtype=np.intp)
    b = 0
    while b < n_draws:  # sequential assignment; redraw when a slot runs out of donors
        used = np.zeros(n_pool, dtype=bool)
        ok = True
        for i in rng.permutation(n_slots):
            free = np.flatnonzero(eligible[i] & ~used)
            if free.size == 0:
                ok = False
                break
            out[b, i] = free[rng.integers(free.size)]
            used[out[b, i]] = True
        b += ok
    return out


class PooledPlaceboResult(Result):
    """Pooled placebo-in-space study of a synthetic control with several treated units.

    Attributes
    ----------
    att : float
        Pooled ATT of the treated units (mean of their average post-treatment gaps).
    ratio : float
        Mean post/pre RMSPE ratio of the treated units.
    p_value : float
        Share of placebo sets whose pooled ATT is at least as large in absolute value
        (the observed set counted in: ``(1 + #) / (n_draws + 1)``).
    p_value_ratio : float
        The same for the mean RMSPE ratio (one-sided: larger is more extreme).
    table : pandas.DataFrame
        One row per placebo fit: ``treatment_time, unit, pre_mspe, ratio, att``.
    draws : pandas.DataFrame
        Per placebo set: pooled ``att``, mean ``ratio`` and the donors used (``units``,
        indexes into ``pool``, in treated-unit order).
    event_table : pandas.DataFrame
        ``event_time, estimate`` (pooled gap of the treated units) and ``p_value``
        (two-sided, against the placebo sets' pooled gaps).
    pool : list
        Placebo candidates (donors in every treated unit's pool).

    References
    ----------
    Cavallo, E., Galiani, S., Noy, I. and Pantano, J. (2013). Catastrophic natural
    disasters and economic growth. Review of Economics and Statistics 95(5),
    1549-1561. doi:10.1162/REST_a_00413
    """

    title = "Synthetic control: pooled placebo study"

    def __init__(
        self,
        *,
        source: SyntheticControlResult,
        table: pd.DataFrame,
        draws: pd.DataFrame,
        draw_paths: pd.DataFrame,
        event_table: pd.DataFrame,
        att: float,
        ratio: float,
        p_value: float,
        p_value_ratio: float,
        pool: list[Any],
        max_pre_mspe_ratio: float | None,
    ) -> None:
        self.table = table
        self.draws = draws
        self.draw_paths = draw_paths
        self.event_table = event_table
        self.att = att
        self.ratio = ratio
        self.p_value = p_value
        self.p_value_ratio = p_value_ratio
        self.pool = pool
        self.n_draws = len(draws)
        self.max_pre_mspe_ratio = max_pre_mspe_ratio
        self.treated = list(source.treated)
        self.outcome = source.outcome
        self.level = source.level
        self.ledger = source.ledger
        self.provenance = source.provenance
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Pooled ATT and mean RMSPE ratio (``aggregation="simple"``) and the pooled gap by
        event time, each with its placebo p-value."""
        et = self.event_table
        post = et.loc[et["event_time"] >= 0]
        n = len(post)
        keys = pd.DataFrame(
            {
                "outcome": self.outcome,
                "design": "synth",
                "estimator": "SyntheticControl",
                "aggregation": pd.array(["simple", "simple"] + ["event_time"] * n, "string"),
                "term": ["att", "rmspe_ratio"] + ["gap"] * n,
                "event_time": pd.array([pd.NA, pd.NA, *post["event_time"].tolist()], "Int64"),
            }
        )
        est = np.concatenate([[self.att, self.ratio], post["estimate"].to_numpy(float)])
        p = np.concatenate([[self.p_value, self.p_value_ratio], post["p_value"].to_numpy(float)])
        return tidy_effects(keys, est, np.full(n + 2, np.nan), level=self.level, p_value=p)

    def _summary_info(self) -> list[tuple[str, str]]:
        return [
            ("Treated units", f"{len(self.treated)}"),
            ("Placebo donors", f"{len(self.pool)}"),
            ("Placebo sets drawn", f"{self.n_draws}"),
            ("Pooled ATT", f"{self.att:.4g} (p = {self.p_value:.4f})"),
            ("Mean RMSPE ratio", f"{self.ratio:.4g} (p = {self.p_value_ratio:.4f})"),
        ]

    def plot(self, ax: Axes | None = None, max_paths: int = 200) -> Axes:
        """Pooled gap by event time of placebo sets (grey) and of the treated units.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
        max_paths : int, default 200
            Placebo sets drawn (the first ones).

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        ax = new_axes(ax)
        x = np.asarray(self.draw_paths.columns, dtype=float)
        paths = self.draw_paths.to_numpy()[:max_paths]
        ax.plot(x, paths.T, color="0.8", lw=0.6)
        ax.plot([], [], color="0.8", lw=0.6, label=label("placebo_units"))
        et = self.event_table
        ax.plot(et["event_time"], et["estimate"], color="#08519c", lw=2.2, label=label("pooled"))
        ax.axhline(0.0, color="0.5", lw=0.8)
        ax.axvline(-0.5, color="0.4", lw=1, ls=":", label=label("treatment_start"))
        ax.set_xlabel(label("event_time"))
        ax.set_ylabel(label("gap"))
        ax.set_title(f"{label('placebo_in_space')}: {self.outcome}")
        ax.legend(frameon=False)
        return ax


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
            "ratio": [float(_mspe_ratio(post, pre))],
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
        source: Any,
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
        self.treated = source.treated[0] if isinstance(source.treated, list) else source.treated
        self.estimator = type(source).__name__.removesuffix("Result")
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
                    "estimator": self.estimator,
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
