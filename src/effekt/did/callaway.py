"""Callaway & Sant'Anna (2021): group-time ATTs and their aggregations.

Every cohort ``g`` (units first treated in period ``g``) is compared with a
comparison group in every period ``t`` through a 2x2 DiD between ``t`` and a
base period (the period before ``g``, or for pre-treatment periods under
``base_period="varying"`` the period before ``t``). The 2x2 estimates use the
doubly robust, IPW or regression estimators of Sant'Anna & Zhao (2020)
(:mod:`effekt.did._drdid`), with covariates from the earlier of the two
periods. Inference rests on the influence functions: analytic standard errors
(cluster-robust when clustering above the unit), or the multiplier bootstrap
(:class:`~effekt.did.MultiplierBootstrap`) with uniform sup-t bands.

The numbers follow R ``did`` 2.x (``att_gt`` and ``aggte``) convention by
convention, and the tests check them against it on ``mpdta``. Where effekt
deliberately differs, the class docstring says so.

The estimation is vectorised by (g, t) cell: each cell gathers its units with
index arrays, so panels of millions of rows run without loops over units.
"""

from __future__ import annotations

import bisect
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats

from effekt.did import _bootstrap, _drdid
from effekt.did._bootstrap import MultiplierBootstrap
from effekt.did._common import FEW_CLUSTERS, pretrend_row, wald_chi2
from effekt.errors import (
    AssumptionWarning,
    DataError,
    DroppedRowsWarning,
    IdentificationError,
    ParameterError,
    check_choice,
    check_columns,
    check_int,
    format_rows,
    invalid_parameter,
)
from effekt.estimator import Estimator
from effekt.options import resolve_level
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Ledger, Panel

__all__ = ["CallawaySantAnna", "CallawaySantAnnaAggregate", "CallawaySantAnnaResult"]

_OWNER = "CallawaySantAnna"
_DENSE_LIMIT = 20_000_000  # influence-function entries bootstrapped as a dense matrix
_AGGREGATIONS = ("simple", "event_time", "cohort", "calendar")
_METHOD_NAMES = {"dr": "doubly robust", "ipw": "IPW (normalised)", "reg": "outcome regression"}
_DATA_KINDS = ("panel", "unbalanced_panel", "repeated_cross_section")


class CallawaySantAnna(Estimator):
    """Callaway & Sant'Anna (2021) DiD with staggered adoption.

    Estimates every group-time average treatment effect ATT(g, t) (cohort ``g``
    in period ``t``) with a 2x2 DiD against never-treated or not-yet-treated
    units, and aggregates them (:meth:`CallawaySantAnnaResult.aggregate`) into an
    overall ATT, an event study, cohort effects or calendar-time effects. Unlike
    two-way fixed effects it never uses already-treated units as controls, so it
    stays unbiased under effects that vary by cohort and over time.

    Parameters
    ----------
    control_group : {"never_treated", "not_yet_treated"}, default "never_treated"
        Comparison units: those never treated in the window, or also those
        treated later than ``max(t, base period) + anticipation``.
    method : {"dr", "ipw", "reg"}, default "dr"
        2x2 estimator: doubly robust, normalised inverse-probability weighting, or
        outcome regression (Sant'Anna & Zhao 2020). Identical without covariates.
    anticipation : int, default 0
        Periods before ``g`` in which units may already react; the base period is
        then ``g - anticipation - 1`` and later cohorts count as not yet treated
        only until ``g - anticipation``.
    base_period : {"varying", "universal"}, default "varying"
        Base of pre-treatment cells: the previous period (``"varying"``, R's
        default), or the period before treatment for every cell (``"universal"``;
        that cell is then normalised to 0, like an event-study regression).
        Post-treatment cells are the same either way.
    covariates : sequence of str, optional
        Covariates of the propensity score and outcome regression; a subset of the
        panel's covariates. Default: all of the panel's covariates (``()`` for none).
    data : {"panel", "unbalanced_panel", "repeated_cross_section"}, default "panel"
        ``"panel"``: a balanced panel (units missing a period are dropped, with a
        ledger entry); ``"unbalanced_panel"``: keep every unit-period and use the
        repeated cross-section estimators with influence functions summed by unit
        (R's ``allow_unbalanced_panel``); ``"repeated_cross_section"``: every row
        is its own observation (R's ``panel = FALSE``); the panel's ``unit`` column
        is then an observation id.
    bootstrap : MultiplierBootstrap, optional
        Multiplier bootstrap for standard errors and uniform bands. Default:
        analytic influence-function standard errors, no uniform band.
    cluster : str, optional
        ``"unit"`` or the panel's cluster column (e.g. kommune). Clustering sums the
        influence functions within clusters; the cluster must be constant within a
        unit. Default: the panel's cluster column if it has one, else the unit.
    ci_level : float, optional
        Interval level; default ``effekt.options["ci_level"]``.

    Notes
    -----
    Conventions, all as R ``did`` 2.x unless said otherwise:

    - Cohorts later than the last period plus ``anticipation`` count as never
      treated. Units treated in the first period (plus ``anticipation``) have no
      pre-period; they are dropped with a ledger entry and a
      :class:`~effekt.DroppedRowsWarning` (an error if no cohort remains).
    - With no never-treated units and ``control_group="not_yet_treated"``, periods
      from the last cohort's start (minus ``anticipation``) on have no comparison
      units; those rows are dropped (ledger entry) and the last cohort serves only
      as comparison. Under ``"never_treated"`` this is an error (R instead relabels
      the last cohort as never treated).
    - Time-varying covariates and weights are taken from the earlier of the two
      periods of each 2x2 comparison (the base period, except for pre-treatment
      cells before a universal base period). With repeated cross-sections and
      unbalanced panels each observation uses its own values.
    - Propensity scores are capped at ``1 - 1e-6`` and comparison units with a
      score of 0.995 or more get weight zero (DRDID's trimming); an
      :class:`~effekt.AssumptionWarning` says how many. R ``did`` instead sets a
      cell to missing when any score reaches 0.999.
    - A cell without treated or comparison units, or whose covariates are collinear
      within the cell, raises :class:`~effekt.IdentificationError` (R returns a
      missing ATT(g,t) with a warning).
    - Standard errors that are exactly zero (the normalised base cell) are
      reported as missing. Analytic standard errors are cluster-robust when
      clustering above the unit (R requires the bootstrap for that).
    - Event times are calendar differences ``t - g`` (periods must be integers).
    - With the bootstrap, ``std_error`` is the bootstrap standard error (interquartile
      range of the draws over that of the normal, as R) and ``std_error_analytic``
      keeps the analytic one; the multipliers are the same for the ATT(g, t) and
      every aggregation (one draw of the cells' and cohort shares' influence
      functions), so bands and aggregates are mutually consistent.
    - Repeated cross-sections and unbalanced panels with ``method="dr"`` use the exact
      influence function of DRDID's ``drdid_rc`` (as the Python ports csdid and drdid
      do); R DRDID's code adds one base-period term with the opposite sign, so R's
      standard errors differ slightly there. Point estimates agree.

    References
    ----------
    Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with
    multiple time periods. Journal of Econometrics 225(2), 200-230.
    doi:10.1016/j.jeconom.2020.12.001
    Sant'Anna, P. H. C. and Zhao, J. (2020). Doubly robust
    difference-in-differences estimators. Journal of Econometrics 219(1), 101-122.
    doi:10.1016/j.jeconom.2020.06.003

    Examples
    --------
    >>> import effekt as ek
    >>> df = ek.datasets.load_dataset("mpdta")
    >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
    ...                             cohort="first.treat", never_treated=0)
    >>> res = ek.did.CallawaySantAnna().fit(panel)
    >>> round(float(res.att_gt.loc[0, "estimate"]), 4)  # ATT(2004, 2004), as R did
    -0.0105
    >>> es = res.aggregate("event_time")
    >>> round(float(es.overall["estimate"]), 4)
    -0.0772
    """

    def __init__(
        self,
        *,
        control_group: str = "never_treated",
        method: str = "dr",
        anticipation: int = 0,
        base_period: str = "varying",
        covariates: Sequence[str] | None = None,
        data: str = "panel",
        bootstrap: MultiplierBootstrap | None = None,
        cluster: str | None = None,
        ci_level: float | None = None,
    ) -> None:
        self.control_group = control_group
        self.method = method
        self.anticipation = anticipation
        self.base_period = base_period
        self.covariates = covariates
        self.data = data
        self.bootstrap = bootstrap
        self.cluster = cluster
        self.ci_level = ci_level

    # ------------------------------------------------------------------ fit
    def fit(self, panel: Panel) -> CallawaySantAnnaResult:
        """Estimate every ATT(g, t) on ``panel``.

        Parameters
        ----------
        panel : effekt.Panel
            Needs an absorbing treatment (a cohort) and integer periods.

        Returns
        -------
        CallawaySantAnnaResult

        Raises
        ------
        ParameterError
            Invalid parameters.
        DataError
            Date-valued periods, or a cluster that varies within a unit.
        IdentificationError
            No treatment timing, no never-treated units under
            ``control_group="never_treated"``, no cohort with a pre-period, a cell
            without treated or comparison units, collinear covariates, a single
            cluster, or missing covariates.
        """
        level = resolve_level(self.ci_level)
        covs = self._check_params(panel)
        prep = _prepare(panel, self, covs)
        if prep.n_clusters < 2:
            raise IdentificationError(
                f"{_OWNER} cannot cluster on {prep.cluster_name!r}: it has a single group. "
                "Clustered standard errors need at least two clusters (and many more to be "
                "reliable); cluster on 'unit' instead."
            )
        if prep.clustered and prep.n_clusters < FEW_CLUSTERS:
            warnings.warn(
                f"{_OWNER}: only {prep.n_clusters} clusters ({prep.cluster_name}); cluster-"
                "robust inference (analytic or bootstrap) is unreliable with fewer than "
                f"{FEW_CLUSTERS} clusters (Cameron, Gelbach & Miller 2008). Read the intervals "
                "as optimistic, or cluster at a level with more groups if the design allows.",
                AssumptionWarning,
                stacklevel=2,
            )
        cells = _cells(prep, self.base_period, self.anticipation)
        fitted = _estimate(prep, cells, self, covs)
        _warn_diagnostics(fitted.diagnostics, self.method)
        glist = np.unique(cells.cohort)
        treated = np.isin(prep.g_unit, glist)
        rows = np.flatnonzero(treated)
        # w_i 1(G_i = g): the estimated cohort shares' influence lies in their span
        w_ind = sp.csc_array(
            (prep.w_unit[rows], (rows, np.searchsorted(glist, prep.g_unit[rows]))),
            shape=(prep.n, len(glist)),
        )
        fit = _Fit(
            cohort=cells.cohort,
            time=cells.time,
            base=cells.base,
            att=fitted.att,
            inf=fitted.inf,
            glist=glist,
            w_ind=w_ind,
            n=prep.n,
            cluster_codes=prep.cluster_codes,
            n_clusters=prep.n_clusters,
            cluster_name=prep.cluster_name,
            level=level,
            bootstrap=self.bootstrap,
            seed_seq=self.bootstrap.seed_sequence() if self.bootstrap is not None else None,
            outcome=str(panel.outcome),
            params=self.get_params(),
            fingerprint=panel.fingerprint,
        ).with_bootstrap()
        return CallawaySantAnnaResult(
            fit=fit,
            n_treated=fitted.n_treated,
            n_control=fitted.n_control,
            units=prep.labels,
            n_obs=prep.n_obs,
            periods=prep.periods,
            data_kind=self.data,
            ledger=prep.ledger,
        )

    def _check_params(self, panel: Panel) -> tuple[str, ...]:
        check_choice(
            "control_group", _OWNER, self.control_group, ("never_treated", "not_yet_treated")
        )
        check_choice("method", _OWNER, self.method, ("dr", "ipw", "reg"))
        check_choice("base_period", _OWNER, self.base_period, ("varying", "universal"))
        check_choice("data", _OWNER, self.data, _DATA_KINDS)
        check_int(
            "anticipation",
            _OWNER,
            self.anticipation,
            low=0,
            expected="a non-negative integer (periods)",
        )
        if self.bootstrap is not None and not isinstance(self.bootstrap, MultiplierBootstrap):
            raise invalid_parameter(
                "bootstrap",
                _OWNER,
                "None or an effekt.did.MultiplierBootstrap",
                self.bootstrap,
                "For example bootstrap=ek.did.MultiplierBootstrap(reps=999, seed=1).",
            )
        if self.covariates is None:
            return tuple(panel.covariates)
        covs = check_columns("covariates", _OWNER, self.covariates, text=True)
        unknown = [c for c in covs if c not in panel.covariates]
        if unknown:
            raise ParameterError(
                f"The covariates {unknown} of {_OWNER} are not covariates of the panel "
                f"(its covariates: {list(panel.covariates)}). Rebuild the panel with "
                "Panel.from_frame(..., covariates=[...]) naming them."
            )
        return tuple(covs)


# ------------------------------------------------------------------------ preparation
@dataclass
class _Prepared:
    """Arrays the cell loop needs, after every drop the design requires."""

    kind: str
    periods: np.ndarray  # sorted int periods
    cohorts: np.ndarray  # treated cohorts with a pre-period (float)
    # observation level (panel: unit x period tensors)
    y: np.ndarray  # panel: (T, n); rc: (N,)
    x: np.ndarray | None  # panel: (T, n, k) with intercept; rc: (N, k); None: intercept only
    w: np.ndarray | None  # panel: (T, n); rc: (N,)
    tpos: np.ndarray | None  # rc: period index of each observation
    g_obs: np.ndarray | None  # rc: cohort of each observation
    obs_row: np.ndarray | None  # rc: IF row of each observation
    rows_by_period: list[np.ndarray] | None
    # influence-function rows (units, or observations for repeated cross-sections)
    n: int
    n_obs: int
    g_unit: np.ndarray
    w_unit: np.ndarray
    labels: pd.Index
    cluster_codes: np.ndarray | None
    n_clusters: int
    cluster_name: str
    clustered: bool
    ledger: Ledger
    static: bool = True  # panel: covariates and weights constant within units


def _prepare(panel: Panel, est: CallawaySantAnna, covs: tuple[str, ...]) -> _Prepared:
    if panel.treatment is None:
        raise IdentificationError(
            f"{_OWNER} needs treatment timing, but the panel has neither 'treatment' nor "
            "'cohort'. Rebuild it with Panel.from_frame(..., cohort=...) or treatment=..."
        )
    if panel.cohort is None:
        raise IdentificationError(
            f"{_OWNER} needs each unit's first treated period, but the panel's treatment is "
            "not absorbing (built with absorbing=False). Staggered-adoption DiD needs "
            "treatment to stay on once it starts; for treatments that switch on and off use "
            "effekt.did.ChaisemartinDHaultfoeuille."
        )
    data = panel._data
    if pd.api.types.is_datetime64_any_dtype(data[panel.time]):
        raise DataError(
            f"{_OWNER} needs integer periods (event time is t - g), but {panel.time!r} holds "
            "dates. Convert them to integer periods (e.g. the year, or year*4 + quarter) and "
            "the cohort column likewise."
        )
    if covs:
        n_missing = np.isnan(data.loc[:, list(covs)].to_numpy(float)).sum(axis=0)
        if n_missing.any():
            gaps = {c: int(k) for c, k in zip(covs, n_missing, strict=True) if k}
            raise IdentificationError(
                f"{_OWNER} needs complete covariates, but the panel (built with "
                f"missing='keep') has missing values: {gaps}. Rebuild it with missing='drop' "
                "to drop those rows (with a ledger entry)."
            )
    antic = int(est.anticipation)
    unit_col, time_col = panel.unit, panel.time
    t_all = data[time_col].to_numpy(np.int64)
    g_all = data[panel.cohort].to_numpy(float)
    periods = np.sort(pd.unique(t_all))
    if len(periods) < 2:
        raise IdentificationError(f"{_OWNER} needs at least two periods; the panel has one.")
    # a cohort beyond the window (plus anticipation) is untreated throughout it (R did)
    g_all = np.where(g_all > periods[-1] + antic, np.inf, g_all)

    keep = np.ones(len(data), dtype=bool)
    entries: list[pd.DataFrame] = []

    def drop(mask: np.ndarray, reason: str) -> None:
        mask = mask & keep
        if mask.any():
            entries.append(
                pd.DataFrame(
                    {
                        "row": pd.array([pd.NA] * int(mask.sum()), dtype=object),
                        "unit": data.loc[mask, unit_col].to_numpy(),
                        "time": data.loc[mask, time_col].to_numpy(),
                        "reason": reason,
                    }
                )
            )
            keep[mask] = False

    last_control_only: float | None = None
    finite = np.isfinite(g_all)
    if finite.all():
        if est.control_group == "never_treated":
            raise IdentificationError(
                f"{_OWNER}(control_group='never_treated') needs never-treated units, but every "
                f"unit is treated by period {periods[-1]} (plus anticipation {antic}). Use "
                "control_group='not_yet_treated' to compare with units treated later."
            )
        last = float(g_all.max())
        cutoff = last - antic
        drop(
            t_all >= cutoff,
            f"period >= {cutoff:g}: no unit is untreated from then on (no never-treated units; "
            f"the last cohort {last:g} serves only as comparison)",
        )
        last_control_only = last
    first = int(t_all[keep].min()) if keep.any() else int(periods[0])
    early = finite & (g_all <= first + antic)
    drop(
        early,
        f"treated in the first period {first} (plus anticipation {antic}): no pre-period",
    )
    if est.data == "panel" and not panel.is_balanced:
        kept_periods = np.unique(t_all[keep])
        counts = pd.Series(keep).groupby(data[unit_col].to_numpy()).transform("sum").to_numpy()
        drop(
            counts < len(kept_periods),
            "unit not observed in every period (data='panel' needs a balanced panel)",
        )
    ledger = panel.ledger
    if entries:
        new = pd.concat(entries, ignore_index=True)
        ledger = ledger.extend(new)
        by_reason = new.groupby("reason", sort=False).size()
        detail = "; ".join(f"{n:,} rows: {r}" for r, n in by_reason.items())
        hint = (
            " Pass data='unbalanced_panel' to keep units observed in only some periods."
            if est.data == "panel" and not panel.is_balanced
            else ""
        )
        warnings.warn(
            f"{_OWNER} dropped {len(new):,} rows ({detail}). See result.ledger.{hint}",
            DroppedRowsWarning,
            stacklevel=3,
        )
    if not keep.any():
        raise IdentificationError(f"{_OWNER}: no rows remain after the drops listed above.")

    sub = data.loc[keep]
    t_obs = t_all[keep]
    g_obs = g_all[keep]
    periods = np.sort(pd.unique(t_obs))
    if len(periods) < 2:
        raise IdentificationError(
            f"{_OWNER} needs at least two periods after the drops; only {periods.tolist()} remain."
        )
    cohorts = np.unique(g_obs[np.isfinite(g_obs)])
    cohorts = cohorts[cohorts > periods[0] + antic]
    if last_control_only is not None:
        cohorts = cohorts[cohorts < last_control_only]
    if not len(cohorts):
        raise IdentificationError(
            f"{_OWNER}: no treated cohort has a pre-treatment period in the data (periods "
            f"{periods[0]}–{periods[-1]}, anticipation {antic}). Units treated in the first "
            "period cannot be evaluated; a DiD needs at least one period before treatment."
        )
    if est.control_group == "never_treated" and not np.isinf(g_obs).any():
        raise IdentificationError(
            f"{_OWNER}(control_group='never_treated'): no never-treated units remain after "
            "the drops. Use control_group='not_yet_treated'."
        )

    x_obs = _covariate_matrix(sub, covs)
    w_obs = sub[panel.weights].to_numpy(float) if panel.weights is not None else None
    y_obs = sub[panel.outcome].to_numpy(float)
    units = sub[unit_col]
    codes, labels = pd.factorize(units, sort=True)
    spec = est.cluster
    if spec is None:
        spec = panel.cluster if panel.cluster is not None else "unit"
    allowed = ["unit"] + ([str(panel.cluster)] if panel.cluster is not None else [])
    if spec not in allowed:
        raise invalid_parameter(
            "cluster",
            _OWNER,
            f"one of {allowed}",
            est.cluster,
            "To cluster on another column, pass it as cluster=... to Panel.from_frame.",
        )
    clustered = spec != "unit"
    cluster_row = pd.factorize(sub[panel.cluster])[0] if clustered else None

    if est.data == "repeated_cross_section":
        repeated = units.duplicated(keep=False).to_numpy()
        if repeated.any():
            rows = sub.loc[repeated, [unit_col, time_col]]
            raise DataError(
                f"data='repeated_cross_section' treats every row as its own observation, but "
                f"{int(repeated.sum())} rows share a {unit_col!r} with another period, e.g.:\n"
                f"{format_rows(rows)}\nIf the same units recur, use data='unbalanced_panel' "
                "(influence functions summed by unit); if they are distinct observations, give "
                "each row its own id."
            )
        n = len(sub)
        g_unit = g_obs
        w_unit = w_obs if w_obs is not None else np.ones(n)
        obs_row = np.arange(n)
        cl = cluster_row
        out_labels = pd.Index(units.to_numpy(), name=unit_col)
    else:
        n = len(labels)
        # sorted by unit, so each unit's rows are contiguous and its codes ascending
        first_row = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
        g_unit = g_obs[first_row]
        if w_obs is None:
            w_unit = np.ones(n)
        elif est.data == "panel":
            # R did: the aggregation weights are the first period's
            w_unit = w_obs[first_row]
        else:
            w_unit = np.bincount(codes, w_obs, minlength=n) / np.bincount(codes, minlength=n)
        obs_row = codes
        cl = None
        if cluster_row is not None:
            cl = cluster_row[first_row]
            varying = np.flatnonzero(cluster_row != cl[codes])
            if len(varying):
                bad = sub.iloc[varying][[unit_col, time_col, panel.cluster]]
                raise DataError(
                    f"The cluster column {panel.cluster!r} varies within units, e.g.:\n"
                    f"{format_rows(bad)}\nA unit must belong to one cluster; use its cluster "
                    "at baseline (e.g. df.groupby(unit)[cluster].transform('first'))."
                )
        out_labels = pd.Index(labels, name=unit_col)
    if cl is not None:
        cl = pd.factorize(cl)[0]
        n_clusters = int(cl.max()) + 1
    else:
        n_clusters = n
    tpos = np.searchsorted(periods, t_obs)
    base = dict(
        kind=est.data,
        periods=periods,
        cohorts=cohorts,
        n=n,
        n_obs=len(sub),
        g_unit=g_unit,
        w_unit=w_unit,
        labels=out_labels,
        cluster_codes=cl,
        n_clusters=n_clusters,
        cluster_name=str(panel.cluster)
        if clustered
        else ("observation" if est.data == "repeated_cross_section" else str(unit_col)),
        clustered=clustered,
        ledger=ledger,
    )
    if est.data == "panel":
        n_t = len(periods)
        # balanced and sorted by unit then time: a reshape gives unit x period
        y = np.ascontiguousarray(y_obs.reshape(n, n_t).T)
        x = None
        if x_obs is not None:
            x = np.ascontiguousarray(x_obs.reshape(n, n_t, -1).transpose(1, 0, 2))
        w = None if w_obs is None else np.ascontiguousarray(w_obs.reshape(n, n_t).T)
        static = (x is None or bool(np.all(x == x[:1]))) and (w is None or bool(np.all(w == w[:1])))
        return _Prepared(
            y=y,
            x=x,
            w=w,
            tpos=None,
            g_obs=None,
            obs_row=None,
            rows_by_period=None,
            static=static,
            **base,
        )
    order = np.argsort(tpos, kind="stable")
    bounds = np.searchsorted(tpos[order], np.arange(len(periods) + 1))
    rows_by_period = [order[bounds[i] : bounds[i + 1]] for i in range(len(periods))]
    return _Prepared(
        y=y_obs,
        x=x_obs,
        w=w_obs,
        tpos=tpos,
        g_obs=g_obs,
        obs_row=obs_row,
        rows_by_period=rows_by_period,
        **base,
    )


def _covariate_matrix(sub: pd.DataFrame, covs: tuple[str, ...]) -> np.ndarray | None:
    """Intercept plus covariates, after refusing collinear covariates (named)."""
    if not covs:
        return None
    z = sub.loc[:, list(covs)].to_numpy(float)
    constant = [c for c, spread in zip(covs, np.ptp(z, axis=0), strict=True) if spread == 0]
    if constant:
        raise IdentificationError(
            f"The covariates {constant} are constant in the estimation sample, so they are "
            f"collinear with the intercept of the propensity score and outcome models. Drop "
            "them from covariates=..."
        )
    zc = (z - z.mean(axis=0)) / z.std(axis=0)
    corr = zc.T @ zc / len(zc)
    kept: list[int] = []
    for j in range(len(covs)):
        if kept:
            s = np.array(kept)
            coef = np.linalg.solve(corr[np.ix_(s, s)], corr[s, j])
            resid = corr[j, j] - corr[j, s] @ coef
            if resid <= 1e-10:
                partners = [covs[s[i]] for i in np.flatnonzero(np.abs(coef) > 1e-8)]
                raise IdentificationError(
                    f"The covariate {covs[j]!r} is (numerically) a linear combination of "
                    f"{partners} and the intercept, so the propensity score and outcome "
                    f"models cannot separate them. Drop {covs[j]!r} (or one of {partners}) "
                    "from covariates=..."
                )
        kept.append(j)
    return np.column_stack([np.ones(len(z)), z])


# ------------------------------------------------------------------------------ cells
@dataclass(frozen=True)
class _Cells:
    cohort: np.ndarray  # float
    time: np.ndarray  # int
    base: np.ndarray  # int
    t_idx: np.ndarray
    b_idx: np.ndarray


def _cells(prep: _Prepared, base_period: str, antic: int) -> _Cells:
    periods = prep.periods
    rows: list[tuple[float, int, int, int, int]] = []
    for g in prep.cohorts:
        b_g = int(np.flatnonzero(periods + antic < g)[-1])  # g - anticipation - 1, or earlier
        if base_period == "varying":
            for ti in range(1, len(periods)):
                bi = b_g if g <= periods[ti] else ti - 1
                rows.append((g, periods[ti], periods[bi], ti, bi))
        else:
            for ti in range(len(periods)):
                rows.append((g, periods[ti], periods[b_g], ti, b_g))
    arr = list(zip(*rows, strict=True))
    return _Cells(
        cohort=np.asarray(arr[0], dtype=float),
        time=np.asarray(arr[1], dtype=np.int64),
        base=np.asarray(arr[2], dtype=np.int64),
        t_idx=np.asarray(arr[3], dtype=np.int64),
        b_idx=np.asarray(arr[4], dtype=np.int64),
    )


@dataclass
class _Diagnostics:
    trimmed: int = 0
    trimmed_cells: int = 0
    not_converged: int = 0


@dataclass(frozen=True)
class _Estimated:
    att: np.ndarray
    inf: sp.csc_array
    n_treated: np.ndarray
    n_control: np.ndarray
    diagnostics: _Diagnostics


def _estimate(
    prep: _Prepared, cells: _Cells, est: CallawaySantAnna, covs: tuple[str, ...]
) -> _Estimated:
    k = len(cells.cohort)
    att = np.zeros(k)
    n_treated = np.zeros(k, dtype=np.int64)
    n_control = np.zeros(k, dtype=np.int64)
    col_rows: list[np.ndarray] = []
    col_vals: list[np.ndarray] = []
    diag = _Diagnostics()
    never_treated = est.control_group == "never_treated"
    antic = int(est.anticipation)
    g_ref = prep.g_unit if prep.kind == "panel" else prep.g_obs
    assert g_ref is not None
    never_mask = np.isinf(g_ref)
    all_cohorts = np.unique(g_ref[~never_mask]).tolist()
    # cells of one cohort with the same comparison units and covariates share the
    # outcome-free part (units, propensity score, regression design); cells come cohort
    # by cohort, so one entry suffices
    cached: tuple[Any, ...] = (None,)
    for j in range(k):
        g, t, b = cells.cohort[j], int(cells.time[j]), int(cells.base[j])
        ti, bi = int(cells.t_idx[j]), int(cells.b_idx[j])
        if ti == bi:  # universal base period: normalised to zero, no influence
            col_rows.append(np.empty(0, dtype=np.int64))
            col_vals.append(np.empty(0))
            continue
        if prep.kind == "panel":
            cutoff = max(t, b) + antic
            early = min(ti, bi)
            key = (
                g,
                -1 if prep.static else early,
                -1 if never_treated else bisect.bisect_right(all_cohorts, cutoff),
            )
            if cached[0] != key:
                treat = g_ref == g
                control = never_mask if never_treated else _not_yet(g_ref, g, cutoff)
                rows = np.flatnonzero(treat | control)
                d = treat[rows].astype(float)
                n_t = int(d.sum())
                if n_t == len(rows):
                    _no_comparison(g, t, b, est.control_group)
                x = np.ones((len(rows), 1)) if prep.x is None else prep.x[early, rows]
                w = None if prep.w is None else prep.w[early, rows]
                design = _run(_drdid.panel_design, (d, x, w, est.method), g, t, b, covs)
                cached = (key, rows, d, x, design, n_t)
            _, rows, d, x, design, n_t = cached
            n1 = len(rows)
            n_treated[j], n_control[j] = n_t, n1 - n_t
            dy = prep.y[ti, rows] - prep.y[bi, rows]
            res = _run(_drdid.panel_did, (dy, d, x, None, est.method, design), g, t, b, covs)
            vals = res.inf * (prep.n / n1)
        else:
            assert prep.rows_by_period is not None and prep.tpos is not None
            obs = np.concatenate([prep.rows_by_period[bi], prep.rows_by_period[ti]])
            g_cell = g_ref[obs]
            treat = g_cell == g
            control = np.isinf(g_cell) if never_treated else _not_yet(g_cell, g, max(t, b) + antic)
            obs = obs[treat | control]
            d = (g_ref[obs] == g).astype(float)
            post = (prep.tpos[obs] == ti).astype(float)
            _check_rc_cell(d, post, g, t, b, est.control_group)
            n1 = len(obs)
            n_treated[j] = int(d.sum())
            n_control[j] = n1 - n_treated[j]
            x = np.ones((n1, 1)) if prep.x is None else prep.x[obs]
            w = None if prep.w is None else prep.w[obs]
            res = _run(_drdid.rc_did, (prep.y[obs], post, d, x, w, est.method), g, t, b, covs)
            assert prep.obs_row is not None
            if prep.kind == "repeated_cross_section":
                rows = prep.obs_row[obs]
                vals = res.inf * (prep.n / n1)
                order = np.argsort(rows)
                rows, vals = rows[order], vals[order]
            else:  # unbalanced panel: sum each unit's observations (R: rowsum by id)
                unit = prep.obs_row[obs]
                sums = np.bincount(unit, res.inf * (prep.n / n1), minlength=prep.n)
                rows = np.unique(unit)
                vals = sums[rows]
        att[j] = res.att
        if res.n_trimmed:
            diag.trimmed += res.n_trimmed
            diag.trimmed_cells += 1
        if not res.converged:
            diag.not_converged += 1
        col_rows.append(rows)
        col_vals.append(vals)
    lengths = np.array([len(r) for r in col_rows])
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    inf = sp.csc_array(
        (np.concatenate(col_vals), np.concatenate(col_rows), indptr), shape=(prep.n, k)
    )
    return _Estimated(att, inf, n_treated, n_control, diag)


def _not_yet(g_arr: np.ndarray, g: float, cutoff: float) -> np.ndarray:
    # never treated, or first treated after the later of t and the base period
    return (g_arr > cutoff) & (g_arr != g)


def _run(func: Any, args: tuple[Any, ...], g: float, t: int, b: int, covs: tuple[str, ...]) -> Any:
    try:
        return func(*args)
    except _drdid.SingularDesign as err:
        cell = f"{_OWNER} cannot estimate ATT(g={g:g}, t={t}) (base period {b})"
        if err.overlap:
            raise IdentificationError(
                f"{cell}: every comparison unit has a propensity score of 0.995 or more and "
                f"was trimmed, so there is no overlap on the covariates {list(covs)}. Drop "
                "covariates that predict treatment (almost) perfectly, restrict the sample to "
                "comparable units, or use method='reg'."
            ) from None
        named = f"the covariates {list(covs)}" if covs else "the intercept"
        raise IdentificationError(
            f"{cell}: the {err.what} is singular, i.e. {named} are collinear or constant "
            "within the units of this 2x2 comparison (e.g. a dummy that is 0 for every "
            "comparison unit). Drop or coarsen covariates, or use method='ipw'/'reg' if only "
            "one model is affected."
        ) from None


def _no_comparison(g: float, t: int, b: int, control_group: str) -> None:
    hint = (
        " Try control_group='not_yet_treated'."
        if control_group == "never_treated"
        else " Add never-treated units or restrict the periods."
    )
    raise IdentificationError(
        f"{_OWNER}: cohort {g:g} has no valid comparison units in period {t} (base period "
        f"{b}) under control_group={control_group!r}.{hint}"
    )


def _check_rc_cell(
    d: np.ndarray, post: np.ndarray, g: float, t: int, b: int, control_group: str
) -> None:
    for group, period, count in (
        ("treated", t, np.sum(d * post)),
        ("treated", b, np.sum(d * (1 - post))),
        ("comparison", t, np.sum((1 - d) * post)),
        ("comparison", b, np.sum((1 - d) * (1 - post))),
    ):
        if count == 0:
            if group == "comparison":
                _no_comparison(g, period, b, control_group)
            raise IdentificationError(
                f"{_OWNER}: cohort {g:g} has no observations in period {period} (needed for "
                f"ATT(g={g:g}, t={t}) with base period {b}). Each cohort must be observed in "
                "every period it is evaluated in."
            )


def _warn_diagnostics(diag: _Diagnostics, method: str) -> None:
    if method == "reg":
        return
    if diag.trimmed:
        warnings.warn(
            f"{_OWNER}: {diag.trimmed:,} comparison-unit observations in {diag.trimmed_cells} "
            "(g,t) cell(s) had propensity scores of 0.995 or more and got weight zero "
            "(DRDID's trimming). The covariates nearly determine treatment there, so overlap "
            "is poor: check the covariates' balance between cohorts and comparison units, drop "
            "covariates that predict treatment almost perfectly, or restrict the sample to "
            "comparable units.",
            AssumptionWarning,
            stacklevel=3,
        )
    if diag.not_converged:
        warnings.warn(
            f"{_OWNER}: the propensity-score logit did not converge in {diag.not_converged} "
            "(g,t) cell(s), typically because the covariates separate treated from comparison "
            "units. Treat those ATT(g,t) with caution (see the trimming advice).",
            AssumptionWarning,
            stacklevel=3,
        )


# -------------------------------------------------------------------------- inference
@dataclass(frozen=True)
class _Fit:
    """Everything inference and aggregation need, shared by the results.

    Every aggregate's influence function is ``inf @ a + w_ind @ b`` for coefficient
    vectors ``a`` (cells) and ``b`` (cohorts): the second term is R's
    estimated-weights term, which lies in the span of the cohort indicators
    ``w_i 1(G_i = g)``. So one bootstrap of these columns, at fit time, serves
    every aggregation with the same multipliers.
    """

    cohort: np.ndarray
    time: np.ndarray
    base: np.ndarray
    att: np.ndarray
    inf: sp.csc_array  # n x cells
    glist: np.ndarray  # treated cohorts
    w_ind: sp.csc_array  # n x cohorts: w_i 1(G_i = g)
    n: int
    cluster_codes: np.ndarray | None
    n_clusters: int
    cluster_name: str
    level: float
    bootstrap: MultiplierBootstrap | None
    seed_seq: np.random.SeedSequence | None
    outcome: str
    params: dict[str, Any]
    fingerprint: str
    boot: np.ndarray | None = field(default=None, repr=False)  # reps x (cells + cohorts)

    @property
    def clustered(self) -> bool:
        return self.cluster_codes is not None

    @property
    def pg(self) -> np.ndarray:
        """Cohort shares ``mean(w_i 1(G_i = g))`` over all units (R's ``pg``)."""
        return np.asarray(self.w_ind.sum(axis=0)).ravel() / self.n

    def psi(self, inf: Any) -> Any:
        """Influence functions summed within clusters (the unit's own without clustering)."""
        if self.cluster_codes is None:
            return inf
        agg = sp.csr_array(
            (np.ones(self.n), (self.cluster_codes, np.arange(self.n))),
            shape=(self.n_clusters, self.n),
        )
        return agg @ inf

    def cov(self, inf: Any) -> np.ndarray:
        psi = self.psi(inf)
        gram = psi.T @ psi
        gram = gram.toarray() if sp.issparse(gram) else np.asarray(gram)
        return gram / self.n**2

    def analytic_se(self, inf: Any) -> tuple[np.ndarray, np.ndarray]:
        """Standard errors ``sqrt(sum psi^2) / n`` and the mask of all-zero columns."""
        psi = self.psi(inf)
        if sp.issparse(psi):
            ss = np.asarray(psi.multiply(psi).sum(axis=0)).ravel()
        else:
            ss = np.einsum("ij,ij->j", psi, psi)
        degenerate = ss == 0
        se = np.where(degenerate, np.nan, np.sqrt(ss) / self.n)
        return se, degenerate

    def with_bootstrap(self) -> _Fit:
        """The same fit with the multiplier-bootstrap draws of cells and cohort shares."""
        if self.bootstrap is None or self.seed_seq is None:
            return self
        psi = self.psi(sp.hstack([self.inf, self.w_ind], format="csc"))
        if psi.shape[0] * psi.shape[1] <= _DENSE_LIMIT:
            psi = psi.toarray()
        boot = _bootstrap.draws(psi, self.n, self.bootstrap, self.seed_seq)
        return replace(self, boot=boot)

    def boot_of(self, coef_cells: np.ndarray, coef_cohorts: np.ndarray) -> np.ndarray | None:
        """Bootstrap draws of ``inf @ coef_cells + w_ind @ coef_cohorts`` (same multipliers)."""
        if self.boot is None:
            return None
        return self.boot @ np.vstack([coef_cells, coef_cohorts])

    def seed_entropy(self) -> int | None:
        if self.seed_seq is None:
            return None
        entropy = self.seed_seq.entropy
        return int(entropy) if isinstance(entropy, int) else None


@dataclass(frozen=True)
class _Inference:
    se: np.ndarray
    se_analytic: np.ndarray
    crit: float  # uniform band critical value (nan without bootstrap)


def _inference(
    fit: _Fit, inf: Any, boot: np.ndarray | None, band: np.ndarray | None = None
) -> _Inference:
    """Analytic standard errors, and with the bootstrap its SEs and uniform-band value."""
    se_an, degenerate = fit.analytic_se(inf)
    if boot is None:
        return _Inference(se_an, se_an, float("nan"))
    se_bs, crit = _bootstrap.summarize(boot, degenerate, fit.level, band)
    return _Inference(se_bs, se_an, crit)


def _pretrend_series(stat: float, q: int, p: float) -> pd.Series:
    return pd.Series({"statistic": stat, "df": q, "p_value": p}, name="wald_chi2")


# ---------------------------------------------------------------------------- results
class CallawaySantAnnaResult(Result):
    """Result of :class:`CallawaySantAnna`: every ATT(g, t) and its influence function.

    Attributes
    ----------
    att_gt : pandas.DataFrame
        One row per cell: ``cohort, time, event_time, base_period, estimate,
        std_error, std_error_analytic, n_treated, n_control``.
    units : pandas.Index
        Labels of the influence function's rows (units; observation ids for
        repeated cross-sections).
    n_units : int
        Rows of the influence function.
    n_clusters : int
        Independent sampling units used for inference (clusters, or units).
    critical_value : float
        Sup-t critical value of the uniform band over all cells with a standard
        error (``nan`` without bootstrap).
    level : float
        Interval level.
    """

    title = "Callaway & Sant'Anna (2021): group-time ATT"

    def __init__(
        self,
        *,
        fit: _Fit,
        n_treated: np.ndarray,
        n_control: np.ndarray,
        units: pd.Index,
        n_obs: int,
        periods: np.ndarray,
        data_kind: str,
        ledger: Ledger,
    ) -> None:
        k = len(fit.att)
        boot = None if fit.boot is None else fit.boot[:, :k]
        inference = _inference(fit, fit.inf, boot)
        self._fit = fit
        self.units = units
        self.n_units = fit.n
        self.n_obs = n_obs
        self.n_clusters = fit.n_clusters
        self.periods = periods
        self.data_kind = data_kind
        self.outcome = fit.outcome
        self.level = fit.level
        self.critical_value = inference.crit
        self.att_gt = pd.DataFrame(
            {
                "cohort": fit.cohort,
                "time": fit.time,
                "event_time": (fit.time - fit.cohort).astype(np.int64),
                "base_period": fit.base,
                "estimate": fit.att,
                "std_error": inference.se,
                "std_error_analytic": inference.se_analytic,
                "n_treated": n_treated,
                "n_control": n_control,
            }
        )
        self.ledger = ledger
        self.provenance = Provenance(_OWNER, fit.params, fit.seed_entropy(), fit.fingerprint)
        self._freeze()

    @property
    def influence_function(self) -> np.ndarray:
        """The influence-function matrix, units x cells (dense; rows follow :attr:`units`).

        Scaled like R ``did``: a cell's analytic variance is ``sum(column**2) / n**2``.
        """
        return self._fit.inf.toarray()

    @property
    def vcov(self) -> pd.DataFrame:
        """Analytic (cluster-robust when clustering) covariance of the ATT(g, t)."""
        index = pd.MultiIndex.from_arrays(
            [self._fit.cohort, self._fit.time], names=["cohort", "time"]
        )
        return pd.DataFrame(self._fit.cov(self._fit.inf), index=index, columns=index)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``outcome, estimator, cohort, time, event_time``, then the values.

        Intervals are pointwise; with the bootstrap, ``band_lower``/``band_upper``
        give the uniform band over all cells.
        """
        t = self.att_gt
        keys = {
            "outcome": self.outcome,
            "estimator": _OWNER,
            "cohort": t["cohort"].to_numpy(float),
            "time": t["time"].to_numpy(),
            "event_time": pd.array(t["event_time"].to_numpy(), dtype="Int64"),
        }
        extra = _band_extra(
            t["estimate"].to_numpy(), t["std_error"].to_numpy(), self.critical_value
        )
        extra.update(
            {"n_treated": t["n_treated"].to_numpy(), "n_control": t["n_control"].to_numpy()}
        )
        return tidy_effects(
            pd.DataFrame(keys),
            t["estimate"].to_numpy(),
            t["std_error"].to_numpy(),
            level=self.level,
            extra=extra,
        )

    def aggregate(
        self,
        kind: str,
        *,
        min_e: int | None = None,
        max_e: int | None = None,
        balance_e: int | None = None,
    ) -> CallawaySantAnnaAggregate:
        """Aggregate the ATT(g, t) as R ``did::aggte``.

        Parameters
        ----------
        kind : {"simple", "event_time", "cohort", "calendar"}
            ``"simple"``: average of all post-treatment ATT(g, t) weighted by cohort
            size. ``"event_time"``: by periods since treatment ``e = t - g``
            (weights: cohort sizes), overall = mean over ``e >= 0``. ``"cohort"``:
            each cohort's mean post-treatment effect, overall weighted by cohort size.
            ``"calendar"``: by period, overall = mean over periods.
        min_e, max_e : int, optional
            ``"event_time"``: event times kept. ``max_e`` also limits the
            post-treatment cells of ``"simple"`` and ``"cohort"`` to ``t - g <= max_e``.
        balance_e : int, optional
            ``"event_time"``: keep only cohorts observed at least ``balance_e``
            periods after treatment, so the composition does not change over
            ``e <= balance_e``.

        Returns
        -------
        CallawaySantAnnaAggregate

        Raises
        ------
        ParameterError
            Unknown ``kind`` or options that do not apply to it.
        IdentificationError
            No cell left to aggregate.

        Examples
        --------
        >>> import effekt as ek
        >>> df = ek.datasets.load_dataset("mpdta")
        >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
        ...                             cohort="first.treat", never_treated=0)
        >>> res = ek.did.CallawaySantAnna().fit(panel)
        >>> round(float(res.aggregate("simple").overall["estimate"]), 4)
        -0.04
        """
        return _make_aggregate(self, kind, min_e, max_e, balance_e)

    def event_study_coefficients(self) -> tuple[pd.Series, pd.DataFrame]:
        """Event-time estimates and covariance (of ``aggregate("event_time")``).

        Returns
        -------
        estimates : pandas.Series
            Indexed by event time.
        covariance : pandas.DataFrame
            Analytic influence-function covariance, indexed by event time.
        """
        return self.aggregate("event_time").event_study_coefficients()

    def pretrend_test(self) -> pd.Series:
        """Joint Wald test that all pre-treatment ATT(g, t) are zero (R did's pre-test).

        Uses the cells with ``t < g`` and a non-zero influence function, and their
        analytic (cluster-robust when clustering) covariance.

        Returns
        -------
        pandas.Series
            ``statistic`` (chi-squared), ``df`` and ``p_value``.

        Raises
        ------
        IdentificationError
            No pre-treatment cell, or a singular covariance matrix.
        """
        fit = self._fit
        pre = np.flatnonzero((fit.time < fit.cohort) & np.isfinite(self.att_gt["std_error"]))
        if not len(pre):
            raise IdentificationError(
                "pretrend_test needs pre-treatment cells (t < g); there are none."
            )
        cov = fit.cov(fit.inf[:, pre])
        return _pretrend_series(*wald_chi2(fit.att[pre], cov))

    def _summary_info(self) -> list[tuple[str, str]]:
        fit = self._fit
        p = fit.params
        cohorts = np.unique(fit.cohort)
        unit_word = "Observations" if self.data_kind == "repeated_cross_section" else "Units"
        info = [
            ("Outcome", self.outcome),
            (
                "Estimator",
                f"{_METHOD_NAMES[p['method']]}, comparison: {p['control_group'].replace('_', '-')}",
            ),
            ("Base period", f"{p['base_period']}, anticipation {p['anticipation']}"),
            ("Data", self.data_kind.replace("_", " ")),
            (unit_word, f"{self.n_units:,}"),
            ("Cohorts", ", ".join(f"{g:g}" for g in cohorts)),
            ("Periods", f"{self.periods[0]}–{self.periods[-1]} ({len(self.periods)})"),
            ("Cells", f"{len(fit.att)}"),
            ("Inference", _inference_text(fit, self.critical_value)),
        ]
        try:
            info.append(pretrend_row(self.pretrend_test()))
        except IdentificationError as err:
            info.append(("Pre-trend test", f"not available ({str(err).split('.')[0]})"))
        return info

    def plot(self, ax: Axes | None = None) -> Axes:
        """ATT(g, t) by event time, one colour per cohort, with intervals.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        ax = new_axes(ax)
        t = self.att_gt
        cohorts = np.unique(t["cohort"])
        width = 0.6 / max(len(cohorts), 1)
        cmap = _cohort_colors(len(cohorts))
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.axvline(-0.5, color="0.6", lw=0.8, ls="--")
        for i, g in enumerate(cohorts):
            rows = t[t["cohort"] == g]
            x = rows["event_time"].to_numpy(float) + (i - (len(cohorts) - 1) / 2) * width
            _draw_estimates(
                ax,
                x,
                rows["estimate"].to_numpy(),
                rows["std_error"].to_numpy(),
                self.level,
                self.critical_value,
                color=cmap[i],
                name=f"{label('cohort')} {g:g}",
            )
        ax.set_xlabel(label("event_time"))
        ax.set_ylabel(label("effect"))
        ax.set_title(f"{label('att_gt')}: {self.outcome}")
        ax.legend(frameon=False, fontsize="small")
        return ax


class CallawaySantAnnaAggregate(Result):
    """An aggregation of Callaway & Sant'Anna ATT(g, t) (R ``did::aggte``).

    Attributes
    ----------
    kind : str
        ``"simple"``, ``"event_time"``, ``"cohort"`` or ``"calendar"``.
    overall : pandas.Series
        The overall aggregate: ``estimate, std_error, std_error_analytic``.
    estimates : pandas.DataFrame
        One row per event time / cohort / period (empty for ``"simple"``), with
        ``estimate, std_error, std_error_analytic``.
    influence_function : numpy.ndarray
        Units x (1 + rows): the overall aggregate's column first, each including
        the estimated-weights term as in R's ``aggte``.
    critical_value : float
        Sup-t critical value of the uniform band over the rows (bootstrap only).
    """

    title = "Callaway & Sant'Anna (2021): aggregated ATT"

    def __init__(
        self,
        *,
        kind: str,
        key: str | None,
        keys: np.ndarray,
        estimates: np.ndarray,
        coef_cells: np.ndarray,
        coef_cohorts: np.ndarray,
        options: dict[str, Any],
        parent: CallawaySantAnnaResult,
    ) -> None:
        fit = parent._fit
        inf = _dense(fit.inf @ coef_cells) + _dense(fit.w_ind @ coef_cohorts)
        band = np.ones(len(estimates), dtype=bool)
        band[0] = False  # the uniform band covers the rows, not the overall aggregate
        inference = _inference(fit, inf, fit.boot_of(coef_cells, coef_cohorts), band)
        self._fit = fit
        self.kind = kind
        self.key = key
        self.options = options
        self.outcome = fit.outcome
        self.level = fit.level
        self.n_units = fit.n
        self.n_clusters = fit.n_clusters
        self.influence_function = inf
        self.critical_value = inference.crit if len(keys) else float("nan")
        self.overall = pd.Series(
            {
                "estimate": estimates[0],
                "std_error": inference.se[0],
                "std_error_analytic": inference.se_analytic[0],
            },
            name="overall",
        )
        self.estimates = pd.DataFrame(
            {
                key or "key": keys,
                "estimate": estimates[1:],
                "std_error": inference.se[1:],
                "std_error_analytic": inference.se_analytic[1:],
            }
        )
        self.ledger = parent.ledger
        params = {**fit.params, "aggregate": kind, **options}
        self.provenance = Provenance(_OWNER, params, fit.seed_entropy(), fit.fingerprint)
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: the overall row (``term="overall"``) then one row per key.

        Keys: ``outcome, estimator, aggregation, term`` and ``event_time``,
        ``cohort`` or ``time``. With the bootstrap, ``band_lower``/``band_upper``
        give the uniform band over the rows (missing for the overall row).
        """
        e = self.estimates
        est = np.concatenate([[self.overall["estimate"]], e["estimate"].to_numpy()])
        se = np.concatenate([[self.overall["std_error"]], e["std_error"].to_numpy()])
        terms = ["overall"] + [f"{self.key}={_fmt_key(v)}" for v in e.get(self.key or "", [])]
        keys: dict[str, Any] = {
            "outcome": self.outcome,
            "estimator": _OWNER,
            "aggregation": self.kind,
            "term": terms,
        }
        if self.key == "event_time":
            keys["event_time"] = pd.array([pd.NA, *e["event_time"].tolist()], dtype="Int64")
        elif self.key is not None:
            keys[self.key] = np.concatenate([[np.nan], e[self.key].to_numpy(float)])
        extra = _band_extra(est, se, self.critical_value)
        if extra:
            extra["band_lower"][0] = np.nan
            extra["band_upper"][0] = np.nan
        return tidy_effects(pd.DataFrame(keys), est, se, level=self.level, extra=extra)

    def event_study_coefficients(self) -> tuple[pd.Series, pd.DataFrame]:
        """Event-time estimates and their covariance, indexed by event time.

        The interface every event-study result in effekt offers (HonestDiD and
        plots take any of them). The covariance is the analytic influence-function
        one (cluster-robust when clustering), as R's ``honest_did`` uses. Event
        times without a standard error (the normalised base period under
        ``base_period="universal"``) are left out, like a regression's reference
        period. For HonestDiD, prefer ``base_period="universal"``: with a varying
        base the pre-period estimates are period-to-period changes.

        Returns
        -------
        estimates : pandas.Series
            Indexed by event time (int).
        covariance : pandas.DataFrame
            Indexed by event time on both axes.

        Raises
        ------
        IdentificationError
            If the aggregation is not ``"event_time"``.

        Examples
        --------
        >>> import effekt as ek
        >>> df = ek.datasets.load_dataset("mpdta")
        >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
        ...                             cohort="first.treat", never_treated=0)
        >>> res = ek.did.CallawaySantAnna(base_period="universal").fit(panel)
        >>> est, cov = res.aggregate("event_time").event_study_coefficients()
        >>> est.index.tolist()
        [-4, -3, -2, 0, 1, 2, 3]
        """
        if self.key != "event_time":
            raise IdentificationError(
                "event_study_coefficients needs aggregate('event_time'); this is "
                f"aggregate({self.kind!r})."
            )
        ok = np.flatnonzero(np.isfinite(self.estimates["std_error_analytic"].to_numpy()))
        index = pd.Index(self.estimates["event_time"].to_numpy()[ok], name="event_time")
        est = pd.Series(self.estimates["estimate"].to_numpy()[ok], index=index, name="estimate")
        cov = self._fit.cov(self.influence_function[:, 1 + ok])
        return est, pd.DataFrame(cov, index=index, columns=index)

    def pretrend_test(self) -> pd.Series:
        """Joint Wald test that all event-time leads (``e < 0``) are zero.

        Returns
        -------
        pandas.Series
            ``statistic`` (chi-squared), ``df`` and ``p_value``.

        Raises
        ------
        IdentificationError
            Not an event-time aggregation, no lead with a standard error, or a
            singular covariance matrix.
        """
        est, cov = self.event_study_coefficients()
        leads = est.index < 0
        if not leads.any():
            raise IdentificationError("pretrend_test needs at least one lead (e < 0).")
        return _pretrend_series(*wald_chi2(est[leads].to_numpy(), cov.loc[leads, leads].to_numpy()))

    def _summary_info(self) -> list[tuple[str, str]]:
        fit = self._fit
        p = fit.params
        info = [
            ("Outcome", self.outcome),
            (
                "Aggregation",
                self.kind + "".join(f", {k}={v}" for k, v in self.options.items() if v is not None),
            ),
            (
                "Estimator",
                f"{_METHOD_NAMES[p['method']]}, comparison: {p['control_group'].replace('_', '-')}",
            ),
            ("Base period", f"{p['base_period']}, anticipation {p['anticipation']}"),
            ("Overall ATT", f"{self.overall['estimate']:.4f} (SE {self.overall['std_error']:.4f})"),
            ("Inference", _inference_text(fit, self.critical_value)),
        ]
        if self.key == "event_time":
            try:
                info.append(pretrend_row(self.pretrend_test()))
            except IdentificationError as err:
                info.append(("Pre-trend test", f"not available ({str(err).split('.')[0]})"))
        return info

    def plot(self, ax: Axes | None = None) -> Axes:
        """Event-study plot (by event time), or estimates by cohort / period, or the ATT.

        Pointwise intervals as error bars; with the bootstrap, the uniform band as
        shaded bars behind them.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        ax = new_axes(ax)
        colour = "#08519c"
        if self.key is None:
            est, se = self.overall["estimate"], self.overall["std_error"]
            z = stats.norm.ppf(0.5 + self.level / 2)
            ax.errorbar(
                [est],
                [0],
                xerr=[[z * se], [z * se]],
                fmt="o",
                color=colour,
                capsize=4,
                label=label("ci", level=self.level),
            )
            ax.axvline(0.0, color="0.6", lw=0.8)
            ax.set_yticks([0], [label("att")])
            ax.set_xlabel(label("effect"))
            ax.set_title(f"Callaway & Sant'Anna: {self.outcome}")
            ax.legend(frameon=False)
            return ax
        e = self.estimates
        x = e[self.key].to_numpy(float)
        ax.axhline(0.0, color="0.6", lw=0.8)
        _draw_estimates(
            ax,
            x,
            e["estimate"].to_numpy(),
            e["std_error"].to_numpy(),
            self.level,
            self.critical_value,
            color=colour,
            name=None,
        )
        if self.key == "event_time":
            ax.axvline(-0.5, color="0.6", lw=0.8, ls="--")
            ref = np.isnan(e["std_error"].to_numpy()) & (e["estimate"].to_numpy() == 0)
            if ref.any():
                ax.plot(
                    x[ref],
                    np.zeros(int(ref.sum())),
                    "o",
                    mfc="white",
                    color=colour,
                    label=label("reference_period"),
                )
            ax.set_xlabel(label("event_time"))
            ax.set_title(f"{label('event_study')}: {self.outcome}")
        else:
            ax.axhline(
                self.overall["estimate"], color=colour, lw=0.8, ls=":", label=label("overall")
            )
            ax.set_xlabel(label("cohort") if self.key == "cohort" else label("period"))
            ax.set_title(f"Callaway & Sant'Anna: {self.outcome}")
        ax.set_ylabel(label("effect"))
        ax.legend(frameon=False)
        return ax


# ------------------------------------------------------------------------ aggregation
def _make_aggregate(
    result: CallawaySantAnnaResult,
    kind: str,
    min_e: int | None,
    max_e: int | None,
    balance_e: int | None,
) -> CallawaySantAnnaAggregate:
    owner = "CallawaySantAnnaResult.aggregate"
    check_choice("kind", owner, kind, _AGGREGATIONS)
    given = {"min_e": min_e, "max_e": max_e, "balance_e": balance_e}
    for name, value in given.items():
        check_int(name, owner, value, none=True, expected="an integer (event time) or None")
    allowed = {
        "simple": {"max_e"},
        "cohort": {"max_e"},
        "calendar": set(),
        "event_time": {"min_e", "max_e", "balance_e"},
    }[kind]
    extra = {k for k, v in given.items() if v is not None} - allowed
    if extra:
        raise ParameterError(
            f"aggregate({kind!r}) does not take {sorted(extra)}; it accepts "
            f"{sorted(allowed) or 'no options'}."
        )
    fit = result._fit
    g, t, att = fit.cohort, fit.time, fit.att
    k, n_g = len(att), len(fit.glist)
    e = (t - g).astype(np.int64)
    cell_code = np.searchsorted(fit.glist, g)
    pgg = fit.pg
    pg = pgg[cell_code]
    hi = np.inf if max_e is None else max_e
    post = (g <= t) & (e <= hi)

    def weighted(idx: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        """Cohort-share weighted mean of cells ``idx`` with R's estimated-weights term."""
        if not len(idx):
            raise IdentificationError(f"aggregate({kind!r}): no ATT(g,t) cell to aggregate.")
        s_pg = pg[idx].sum()
        pa = float(pg[idx] @ att[idx])
        a = np.zeros(k)
        a[idx] = pg[idx] / s_pg
        sums = np.bincount(cell_code[idx], att[idx], minlength=n_g)
        counts = np.bincount(cell_code[idx], minlength=n_g)
        b = sums / s_pg - counts * pa / s_pg**2
        return pa / s_pg, a, b

    def mean_of(idx: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        if not len(idx):
            raise IdentificationError(f"aggregate({kind!r}): no ATT(g,t) cell to aggregate.")
        a = np.zeros(k)
        a[idx] = 1.0 / len(idx)
        return float(att[idx].mean()), a, np.zeros(n_g)

    rows: list[tuple[float, np.ndarray, np.ndarray]] = []
    key: str | None
    if kind == "simple":
        options: dict[str, Any] = {"max_e": max_e}
        overall = weighted(np.flatnonzero(post))
        keys: np.ndarray = np.empty(0)
        key = None
    elif kind == "event_time":
        options = {"min_e": min_e, "max_e": max_e, "balance_e": balance_e}
        eseq = np.unique(e)
        include = np.ones(k, dtype=bool)
        if balance_e is not None:
            span = int(t.max() - t.min())
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - span)]
            include = (t.max() - g) >= balance_e
        lo = -np.inf if min_e is None else min_e
        keys = eseq[(eseq >= lo) & (eseq <= hi)]
        rows = [weighted(np.flatnonzero((e == ev) & include)) for ev in keys]
        overall = _average(rows, keys >= 0, "event time 0 or later", kind)
        key = "event_time"
    elif kind == "cohort":
        options = {"max_e": max_e}
        keys = fit.glist
        rows = [mean_of(np.flatnonzero(post & (g == gg))) for gg in keys]
        # overall: cohort effects weighted by cohort shares, with the weights' term
        est_g = np.array([r[0] for r in rows])
        s_pg = pgg.sum()
        a = np.column_stack([r[1] for r in rows]) @ (pgg / s_pg)
        b = est_g / s_pg - float(pgg @ est_g) / s_pg**2
        overall = (float(pgg @ est_g) / s_pg, a, b)
        key = "cohort"
    else:  # calendar
        options = {}
        keys = np.unique(t[t >= g.min()])
        rows = [weighted(np.flatnonzero((t == tt) & (g <= tt))) for tt in keys]
        overall = _average(rows, np.ones(len(keys), dtype=bool), "period", kind)
        key = "time"
    parts = [overall, *rows]
    coef_cells = np.column_stack([p[1] for p in parts])
    coef_cohorts = np.column_stack([p[2] for p in parts])
    return CallawaySantAnnaAggregate(
        kind=kind,
        key=key,
        keys=np.asarray(keys),
        estimates=np.array([p[0] for p in parts]),
        coef_cells=coef_cells,
        coef_cohorts=coef_cohorts,
        options=options,
        parent=result,
    )


def _average(
    rows: list[tuple[float, np.ndarray, np.ndarray]], use: np.ndarray, what: str, kind: str
) -> tuple[float, np.ndarray, np.ndarray]:
    """Equal-weight mean of aggregated rows (R: overall event-time and calendar effects)."""
    chosen = [r for r, u in zip(rows, use, strict=True) if u]
    if not chosen:
        raise IdentificationError(f"aggregate({kind!r}): no estimate for any {what}.")
    m = len(chosen)
    return (
        sum(r[0] for r in chosen) / m,
        np.sum([r[1] for r in chosen], axis=0) / m,
        np.sum([r[2] for r in chosen], axis=0) / m,
    )


def _dense(v: Any) -> np.ndarray:
    return np.asarray(v.toarray() if sp.issparse(v) else v, dtype=float)


# ---------------------------------------------------------------------------- helpers
def _fmt_key(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float | np.floating) else str(v)


def _band_extra(est: np.ndarray, se: np.ndarray, crit: float) -> dict[str, Any]:
    if not np.isfinite(crit):
        return {}
    with np.errstate(invalid="ignore"):
        return {"band_lower": est - crit * se, "band_upper": est + crit * se}


def _inference_text(fit: _Fit, crit: float) -> str:
    cluster = (
        f"clustered on {fit.cluster_name} ({fit.n_clusters:,} clusters)"
        if fit.clustered
        else f"by {fit.cluster_name}"
    )
    if fit.bootstrap is None:
        return f"analytic influence function, {cluster}, {fit.level:.0%} pointwise intervals"
    b = fit.bootstrap
    band = f", uniform band c = {crit:.3f}" if np.isfinite(crit) else ""
    return (
        f"multiplier bootstrap ({b.reps} draws, {b.weights}), {cluster}, {fit.level:.0%} "
        f"intervals{band}"
    )


def _cohort_colors(k: int) -> list[Any]:
    import matplotlib as mpl

    cmap = mpl.colormaps["viridis"]
    return [cmap(v) for v in np.linspace(0.1, 0.85, max(k, 1))]


def _draw_estimates(
    ax: Any,
    x: np.ndarray,
    est: np.ndarray,
    se: np.ndarray,
    level: float,
    crit: float,
    *,
    color: Any,
    name: str | None,
) -> None:
    from effekt._plotting import label

    z = stats.norm.ppf(0.5 + level / 2)
    ok = np.isfinite(se)
    if np.isfinite(crit) and ok.any():
        ax.vlines(
            x[ok],
            est[ok] - crit * se[ok],
            est[ok] + crit * se[ok],
            color=color,
            lw=6,
            alpha=0.25,
            label=label("uniform_band", level=level) if name is None else None,
        )
    ax.errorbar(
        x[ok],
        est[ok],
        yerr=z * se[ok],
        fmt="o",
        color=color,
        capsize=3,
        label=name if name is not None else label("ci", level=level),
    )
