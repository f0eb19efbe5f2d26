"""CohortExposure: the difference-in-gradients (triple difference) childhood-exposure design."""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from effekt._plotting import label, new_axes
from effekt.did.wild import WildClusterBootstrap, WildTest, wild_test
from effekt.errors import (
    AssumptionWarning,
    DataError,
    IdentificationError,
    invalid_parameter,
)
from effekt.estimator import Estimator
from effekt.inheritance._prep import (
    check_window,
    cluster_cov,
    fingerprint,
    group_sums,
    ledger_rows,
    prepare,
    warn_dropped,
)
from effekt.options import resolve_level
from effekt.results import VALUE_COLUMNS, Provenance, Result, tidy_effects
from effekt.schemas import load_schema

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Ledger

__all__ = ["CohortExposure", "CohortExposureResult"]

_OWNER = "CohortExposure"
_FEW_CLUSTERS = 30  # below this, cluster-robust tests over-reject (Cameron et al. 2008)
#: Bins of a cell's mean years of exposure for the dose-response (first, last year).
DOSE_BINS = ((1, 2), (3, 4), (5, 6), (7, 9), (10, 25))


class CohortExposure(Estimator):
    """Change in the parent-child gradient by childhood exposure to an effort (triple difference).

    Children are grouped into cells by childhood area *a* (``area_id``), birth
    cohort *c* and parents' background (disadvantaged or not). In each area and
    cohort the gradient is the gap ``g_ac`` between the mean outcome of children of
    disadvantaged parents and that of the other children. With ``s_a`` the first
    year the effort kind operated in area *a* and ``w1`` the last age of childhood
    (``window``), the cohort's position relative to the start is
    ``k = c - (s_a - w1 - 1)``: cohorts with ``k <= 0`` had grown up before the
    start, cohorts with ``k >= 1`` were still children when it started. The model,
    weighted least squares over the cells with weight ``n_dis n_oth / (n_dis +
    n_oth)`` (the inverse of the gap's sampling variance up to the outcome's
    variance)::

        g_ac = alpha_a + gamma_c + sum_{k != 0} beta_k 1[area a treated, k_ac = k] + e_ac

    is the triple difference of the outcome by background x area x cohort: the gap
    differences out the area x cohort effects (placement of the effort, cohort
    shocks common to an area's children), ``alpha_a`` absorbs the area x background
    effects and ``gamma_c`` the background x cohort effects (national trends in the
    gradient). Areas where the kind never operated are the comparison areas.
    ``beta_k`` for ``k < 0`` are placebo (pre-trend) coefficients; the reported change
    in the gradient is the average of ``beta_k`` over ``k = 1 .. lags``, weighted by
    the treated cells' weights, so that it averages over the exposed cohorts as
    they are and does not rest on comparisons between differently exposed cohorts
    (the event-study form avoids the bias of a single treatment dummy when the
    effect grows with years of exposure; Sun and Abraham 2021). The dose-response
    replaces the event dummies by bins of the cells' mean years of exposure
    (``exposure_<kind>``), and a slope per year of exposure (Chetty and Hendren 2018).
    Standard errors are clustered by area (CR1: ``G/(G-1) (N-1)/(N-K)``, K counting
    the fixed effects, as Stata's ``regress, cluster`` and statsmodels).

    Parameters
    ----------
    outcome : str
        A child outcome column (``effekt.registers.codes.CHILD_OUTCOMES``), e.g.
        ``"youth_edu_21"``.
    kind : str, default "lbf_helhedsplan"
        The intervention kind whose start defines the exposed cohorts.
    disadvantaged : {"basic_education", "no_work", "either"}
        Children of disadvantaged parents: parents' highest education basic, no
        parent working, or either.
    window : (int, int), default (6, 17)
        The childhood ages of the children table's exposure (its last age defines
        which cohorts were still children at the start).
    leads, lags : int, optional
        Event-study cohorts before (``k = -leads .. -1``) and after (``1 .. lags``) the
        start; cohorts beyond are binned into the endpoints. Default: 5 before (the
        pre-trend test is the joint Wald test of these; far leads rest on few areas,
        whose covariance is poorly estimated) and ``w1 - w0 + 1`` (the childhood
        length) after; ``leads=None`` estimates every observed cohort before.
    ci_level : float, optional
        Interval level; default ``effekt.options["ci_level"]``.
    bootstrap : WildClusterBootstrap, optional
        Wild cluster bootstrap by area for the overall change (p-value and interval
        by test inversion; Cameron, Gelbach and Miller 2008), for designs with few
        areas. It runs on the weighted, area-demeaned cells (the area effects are
        nested in the clusters, so projecting them out leaves the bootstrap exact).

    Notes
    -----
    On the default simulated world (``effekt.simulate.denmark()``, 100 areas) the
    estimates agree with the exact truth of the same estimand (the estimator applied
    to each child's own effect, ``Truth.child_effects``): for LBF plans and school
    collaboration and four outcomes on seeds 0 and 1 every difference was within
    1.9 standard errors. The design is weak there, not biased: the true changes in
    the gradient are 0.5-1.5 percentage points and the standard errors 2-5. The
    pre-trend test rests on the treated areas only and over-rejects when they are few
    (kommune-wide kernedrift kinds); read it with ``bootstrap=`` or as indicative.

    References
    ----------
    Chetty, R. and Hendren, N. (2018). The impacts of neighborhoods on
    intergenerational mobility I: childhood exposure effects. Quarterly Journal of
    Economics 133(3), 1107-1162. doi:10.1093/qje/qjy007

    Sun, L. and Abraham, S. (2021). Estimating dynamic treatment effects in event
    studies with heterogeneous treatment effects. Journal of Econometrics 225(2),
    175-199. doi:10.1016/j.jeconom.2020.09.006

    Olden, A. and Møen, J. (2022). The triple difference estimator. The Econometrics
    Journal 25(3), 531-553. doi:10.1093/ectj/utac010

    Examples
    --------
    >>> import warnings
    >>> import effekt as ek
    >>> world = ek.simulate.denmark(n_areas=40, years=(2005, 2020), seed=1)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     res = ek.inheritance.CohortExposure(outcome="charged_by_18").fit(
    ...         world.children(), interventions=world.interventions)
    >>> res.to_frame()["aggregation"].iloc[0]
    'overall'
    """

    def __init__(
        self,
        *,
        outcome: str,
        kind: str = "lbf_helhedsplan",
        disadvantaged: str = "basic_education",
        window: tuple[int, int] = (6, 17),
        leads: int | None = 5,
        lags: int | None = None,
        ci_level: float | None = None,
        bootstrap: WildClusterBootstrap | None = None,
    ) -> None:
        self.outcome = outcome
        self.kind = kind
        self.disadvantaged = disadvantaged
        self.window = window
        self.leads = leads
        self.lags = lags
        self.ci_level = ci_level
        self.bootstrap = bootstrap

    def fit(  # type: ignore[override]  # a children table, not an area panel
        self, children: pd.DataFrame, *, interventions: pd.DataFrame
    ) -> CohortExposureResult:
        """Aggregate the children to cells and estimate the event study and the dose-response.

        Parameters
        ----------
        children : DataFrame
            The children table (schema ``children``; ``effekt.registers.children`` or
            ``World.children``).
        interventions : DataFrame
            Intervention spells (schema ``interventions``), for each area's start.

        Returns
        -------
        CohortExposureResult

        Raises
        ------
        ParameterError
            Invalid parameters.
        DataError
            No parent link in the table, an outcome observed for no child, a window
            outside the data, a missing column.
        IdentificationError
            A kind with no exposed cohort, no comparison cells, or regressors the
            fixed effects absorb.

        Warns
        -----
        DroppedRowsWarning
            Children left out (no parents found, outcome not observed, no child of the
            other background in their area and cohort); see ``result.ledger``.
        """
        level = resolve_level(self.ci_level)
        w0, w1 = check_window(self.window, _OWNER)
        for name in ("leads", "lags"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0
            ):
                raise invalid_parameter(name, _OWNER, "a non-negative integer or None", value)
        if self.bootstrap is not None and not isinstance(self.bootstrap, WildClusterBootstrap):
            raise invalid_parameter(
                "bootstrap", _OWNER, "None or a WildClusterBootstrap(...)", self.bootstrap
            )
        if self.lags == 0:
            raise invalid_parameter("lags", _OWNER, "at least 1 (an exposed cohort)", self.lags)
        expo_col = f"exposure_{self.kind}"
        data, ledger = prepare(
            children,
            outcome=self.outcome,
            disadvantaged=self.disadvantaged,
            owner=_OWNER,
            extra=("kommune_code",),
        )
        if "area_age" in data and int(data["area_age"].min()) > w1:
            raise DataError(
                f"The window {self.window} lies outside the data: the children table's "
                f"children are first in their area at ages {int(data['area_age'].min())}+. "
                "Use the window the table was built with (effekt.registers.children(window=...))."
            )
        starts = _starts(interventions, data, self.kind)
        cells = _cells(data, expo_col)
        one_sided = cells.attrs.pop("one_sided")
        if one_sided.any():
            # children whose area and cohort has no child of the other background
            drop = data.set_index(["area_id", "birth_year"]).index.isin(one_sided[one_sided].index)
            ledger = ledger.extend(
                ledger_rows(data, drop, "no child of the other background in the area and cohort")
            )
        warn_dropped(ledger, len(children), _OWNER)
        cells["start"] = cells["area_id"].map(starts).astype("Int64")
        treated = cells["start"].notna().to_numpy()
        k = np.where(treated, cells["birth_year"] - (cells["start"].fillna(0) - w1 - 1), np.nan)
        cells["k"] = k
        if not (treated & (k >= 1)).any():
            raise IdentificationError(
                f"No exposed cohort of {self.kind!r}: no area where it operated has children "
                f"born after {w1} years before its start with an observed {self.outcome!r}. "
                "Choose another kind or outcome, or registers with younger cohorts."
            )
        if (treated & (k >= 1)).all():
            raise IdentificationError(
                f"CohortExposure has no comparison cells for {self.kind!r}: every area and "
                "cohort is exposed. It needs areas without the effort or cohorts that grew up "
                "before it started."
            )
        lo = -int(self.leads) if self.leads is not None else int(np.nanmin(np.r_[k, 0]))
        lo = min(lo, 0)
        hi = int(self.lags) if self.lags is not None else w1 - w0 + 1
        binned = np.clip(k, lo, hi)
        cells["k_bin"] = binned
        terms = [e for e in range(lo, hi + 1) if e != 0 and (treated & (binned == e)).any()]
        x_ev = np.column_stack([(treated & (binned == e)).astype(float) for e in terms])
        ev = _wls_fe(cells, x_ev, [f"event_time[{e}]" for e in terms])
        post = [j for j, e in enumerate(terms) if e >= 1]
        weights = np.array(
            [cells["w"].to_numpy()[treated & (binned == terms[j])].sum() for j in post]
        )
        a = np.zeros(len(terms))
        a[post] = weights / weights.sum()
        est = float(a @ ev.params)
        se = float(np.sqrt(a @ ev.cov @ a))
        pre = [j for j, e in enumerate(terms) if e < 0]
        if pre:
            b = ev.params[pre]
            v = ev.cov[np.ix_(pre, pre)]
            stat = float(b @ np.linalg.pinv(v) @ b)
            pretrend = (stat, len(pre), float(stats.chi2.sf(stat, len(pre))))
        else:
            pretrend = (np.nan, 0, np.nan)
        dose = _dose(cells, treated)
        wild = None
        if self.bootstrap is not None:
            assert ev.design is not None
            xs, ys, groups, factor = ev.design
            restriction = np.zeros(xs.shape[1])
            restriction[: len(a)] = a
            wild = wild_test(
                xs, ys, groups, restriction, 0.0, self.bootstrap, level=level, scale=factor
            )
        elif ev.n_clusters < _FEW_CLUSTERS:
            warnings.warn(
                f"CohortExposure: only {ev.n_clusters} areas (clusters); cluster-robust "
                "tests over-reject with few clusters (Cameron, Gelbach & Miller 2008). Read the "
                "p-values as optimistic, or use bootstrap=WildClusterBootstrap(...).",
                AssumptionWarning,
                stacklevel=2,
            )
        return CohortExposureResult(
            estimate=est,
            std_error=se,
            event_times=terms,
            event=ev,
            dose=dose,
            pretrend=pretrend,
            cells=cells.drop(columns=["k_bin"]),
            weights=a,
            wild=wild,
            outcome=self.outcome,
            kind=self.kind,
            level=level,
            ledger=ledger,
            provenance=Provenance(
                _OWNER,
                self.get_params(),
                None if self.bootstrap is None else self.bootstrap.seed,
                fingerprint(cells),
            ),
        )


class _Fit:
    """A weighted FE regression on the cells: coefficients and clustered covariance."""

    def __init__(
        self,
        names: list[str],
        params: np.ndarray,
        cov: np.ndarray,
        cov_raw: np.ndarray,
        n_obs: int,
        n_params: int,
        n_clusters: int,
    ) -> None:
        self.names, self.params, self.cov, self.cov_raw = names, params, cov, cov_raw
        self.n_obs, self.n_params, self.n_clusters = n_obs, n_params, n_clusters
        # the weighted, area-demeaned design (for the wild bootstrap): x, y, clusters, CR1 factor
        self.design: tuple[np.ndarray, np.ndarray, np.ndarray, float] | None = None


def _wls_fe(cells: pd.DataFrame, x: np.ndarray, names: list[str]) -> _Fit:
    """WLS of the gap on ``x`` with area and cohort effects; CR1 covariance clustered by area.

    The area effects are partialled out by weighted within-area demeaning and the
    cohort effects enter as dummies (Frisch-Waugh-Lovell: the same coefficients and
    the same cluster sandwich as the regression with every dummy), so that the cost
    grows with the cells, not with cells x areas.
    """
    area = pd.factorize(cells["area_id"])[0]
    cohort = pd.factorize(cells["birth_year"], sort=True)[0]
    n, g = len(cells), int(area.max() + 1)
    d_coh = np.zeros((n, cohort.max() + 1))
    d_coh[np.arange(n), cohort] = 1.0
    w = cells["w"].to_numpy(float)
    y = cells["gap"].to_numpy(float)
    z = np.hstack([x, d_coh[:, 1:], y[:, None]])
    sums = group_sums(area, z * w[:, None], g)
    z = z - (sums / np.bincount(area, weights=w, minlength=g)[:, None])[area]
    full, y = z[:, :-1], z[:, -1]
    xtwx = full.T @ (full * w[:, None])
    # rank from the eigenvalues of the (small) cross-product matrix, scaled to unit diagonal
    diag = np.diag(xtwx)
    scale = np.sqrt(np.where(diag > 1e-12 * max(diag.max(), 1e-300), diag, np.inf))
    eig = np.linalg.eigvalsh(xtwx / np.outer(scale, scale))
    rank = int((eig > 1e-9).sum())
    if rank < full.shape[1]:
        raise IdentificationError(
            f"CohortExposure cannot separate the terms {names} from the area and cohort fixed "
            "effects (the design has rank "
            f"{rank + g} < {full.shape[1] + g} columns). Typical causes: no area without the "
            "effort and every treated area starting in the same year, or too few cohorts; set "
            "leads or lags to bin more cohorts."
        )
    bread = np.linalg.inv(xtwx)
    beta = bread @ (full.T @ (w * y))
    resid = y - full @ beta
    raw = cluster_cov(full, resid, w, area, bread)
    k = full.shape[1] + g  # the area effects count in K (CR1 as with every dummy)
    factor = g / (g - 1) * (n - 1) / (n - k) if g > 1 and n > k else np.nan
    m = x.shape[1]
    fit = _Fit(names, beta[:m], raw[:m, :m] * factor, raw[:m, :m], n, k, g)
    sw = np.sqrt(w)
    fit.design = (full * sw[:, None], y * sw, area, float(factor))
    return fit


def _starts(interventions: Any, data: pd.DataFrame, kind: str) -> pd.Series:
    """First year the kind operated in each area of the children (kommune-wide spells too)."""
    from effekt.registers._children import activity

    if not isinstance(interventions, pd.DataFrame):
        raise invalid_parameter(
            "interventions", _OWNER, "a DataFrame (schema interventions)", interventions
        )
    for col in ("area_id", "kommune_code", "scope", "kind", "start_year", "end_year"):
        if col not in interventions.columns:
            from effekt.errors import missing_column

            raise missing_column("interventions", _OWNER, col, list(interventions.columns))
    known = sorted(set(interventions["kind"].astype(str)))
    if kind not in known:
        raise invalid_parameter("kind", _OWNER, f"one of the interventions' kinds {known}", kind)
    iv = interventions[interventions["kind"].astype(str) == kind]
    areas = data.groupby("area_id", sort=True)["kommune_code"].first().reset_index()
    areas.columns = ["area", "kom"]
    last = int(data["birth_year"].max()) + 30
    act = activity(iv, areas, last)
    return act.groupby("area")["year"].min()


def _cells(data: pd.DataFrame, expo_col: str) -> pd.DataFrame:
    """Area x cohort cells with the gap by background and its weight."""
    has_expo = expo_col in data.columns
    agg = {"n": ("y", "size"), "mean": ("y", "mean")}
    if has_expo:
        agg["exposure"] = (expo_col, "sum")
    g = data.groupby(["area_id", "birth_year", "dis"], sort=True).agg(**agg).unstack("dis")
    n1, n0 = g[("n", 1.0)].fillna(0), g[("n", 0.0)].fillna(0)
    both = (n1 > 0) & (n0 > 0)
    out = pd.DataFrame(
        {
            "n_disadvantaged": n1.astype("int64"),
            "n_other": n0.astype("int64"),
            "mean_disadvantaged": g[("mean", 1.0)],
            "mean_other": g[("mean", 0.0)],
        }
    )
    if has_expo:
        total = g[("exposure", 1.0)].fillna(0) + g[("exposure", 0.0)].fillna(0)
        out["exposure"] = total / (n1 + n0)
    else:
        out["exposure"] = np.nan
    out["gap"] = out["mean_disadvantaged"] - out["mean_other"]
    out["w"] = n1 * n0 / (n1 + n0).where(both)
    cells = out[both].reset_index()
    cells.attrs["one_sided"] = ~both
    return cells


def _dose(cells: pd.DataFrame, treated: np.ndarray) -> pd.DataFrame:
    """Dose-response: the gap on bins of mean exposure years, and on exposure (slope)."""
    expo = cells["exposure"].to_numpy(float)
    if np.isnan(expo).all():
        return pd.DataFrame(columns=["term", "estimate", "std_error", "n_cells"])
    rows = []
    cols, names, counts = [], [], []
    for lo, hi in DOSE_BINS:
        col = ((expo >= lo - 0.5) & (expo < hi + 0.5)).astype(float)
        if col.any():
            cols.append(col)
            names.append(f"exposure[{lo}-{hi}]" if hi < 25 else f"exposure[{lo}+]")
            counts.append(int(col.sum()))
    try:
        fit = _wls_fe(cells, np.column_stack(cols), names)
        for j, name in enumerate(names):
            rows.append((name, fit.params[j], np.sqrt(fit.cov[j, j]), counts[j]))
    except IdentificationError:
        pass
    try:
        slope = _wls_fe(cells, expo[:, None], ["per_exposure_year"])
        rows.append(
            ("per_exposure_year", slope.params[0], np.sqrt(slope.cov[0, 0]), int((expo > 0).sum()))
        )
    except IdentificationError:
        pass
    return pd.DataFrame(rows, columns=["term", "estimate", "std_error", "n_cells"])


class CohortExposureResult(Result):
    """Result of :class:`CohortExposure`.

    Attributes
    ----------
    estimate, std_error : float
        Change in the gradient (disadvantaged minus other, outcome units: a
        proportion, so 0.02 is 2 percentage points) averaged over the exposed cohorts.
    event_study : DataFrame
        ``event_time`` (cohort relative to the start), estimate, std_error, interval.
    dose : DataFrame
        The dose-response by bins of years of exposure, and the slope per year.
    pretrend : tuple
        Wald statistic, degrees of freedom and p-value of the joint test that every
        pre-start coefficient (``k < 0``) is zero.
    wild : WildTest or None
        The wild cluster bootstrap of the overall change (``bootstrap=``); its
        p-value and interval are the overall row's in :meth:`to_frame`.
    cells : DataFrame
        The area x cohort cells fitted (gap, weight, relative cohort ``k``).
    ledger : Ledger
        Children left out and why.
    """

    title = "Cohort exposure: change in the parent-child gradient"

    def __init__(
        self,
        *,
        estimate: float,
        std_error: float,
        event_times: list[int],
        event: _Fit,
        dose: pd.DataFrame,
        pretrend: tuple[float, int, float],
        cells: pd.DataFrame,
        weights: np.ndarray,
        wild: WildTest | None,
        outcome: str,
        kind: str,
        level: float,
        ledger: Ledger,
        provenance: Provenance,
    ) -> None:
        self.estimate = estimate
        self.std_error = std_error
        self.event_times = list(event_times)
        self.params = pd.Series(event.params, index=event.names)
        self.cov = pd.DataFrame(event.cov, index=event.names, columns=event.names)
        self.n_clusters = event.n_clusters
        self.n_cells = event.n_obs
        self.aggregation_weights = pd.Series(weights, index=event.names)
        self.wild = wild
        self.dose = dose
        self.pretrend = pretrend
        self.cells = cells
        self.outcome = outcome
        self.kind = kind
        self.level = level
        self.ledger = ledger
        self.provenance = provenance
        se = np.sqrt(np.diag(event.cov))
        self.event_study = tidy_effects(
            {"event_time": self.event_times}, event.params, se, level=level
        )
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: the overall change, the event study and the dose-response."""
        keys: dict[str, Any] = {
            "outcome": self.outcome,
            "design": "cohort_exposure",
            "kind": self.kind,
        }
        parts = [
            tidy_effects(
                {**keys, "aggregation": ["overall"], "term": ["gradient_change"]},
                [self.estimate],
                [self.std_error],
                level=self.level,
                ci_lower=None if self.wild is None else [self.wild.ci_lower],
                ci_upper=None if self.wild is None else [self.wild.ci_upper],
                p_value=None if self.wild is None else [self.wild.p_value],
            ),
            tidy_effects(
                {
                    **keys,
                    "aggregation": "event_study",
                    "term": list(self.params.index),
                    "event_time": self.event_times,
                },
                self.params.to_numpy(),
                np.sqrt(np.diag(self.cov.to_numpy())),
                level=self.level,
            ),
        ]
        if len(self.dose):
            parts.append(
                tidy_effects(
                    {**keys, "aggregation": "dose", "term": list(self.dose["term"])},
                    self.dose["estimate"].to_numpy(float),
                    self.dose["std_error"].to_numpy(float),
                    level=self.level,
                )
            )
        out = pd.concat(parts, ignore_index=True)
        out["event_time"] = out["event_time"].astype("Int64")
        order = [c for c in load_schema("effect_table")["keyColumns"] if c in out.columns]
        return out.loc[:, [*order, *VALUE_COLUMNS]]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Event study: the gradient change by birth cohort relative to the start."""
        ax = new_axes(ax)
        es = self.event_study
        e = es["event_time"].to_numpy(float)
        est = es["estimate"].to_numpy(float)
        ax.errorbar(
            e,
            est,
            yerr=[est - es["ci_lower"].to_numpy(float), es["ci_upper"].to_numpy(float) - est],
            fmt="o",
            capsize=2,
            label=label("ci", level=self.level),
        )
        ax.plot([0], [0], "s", color="grey", label=label("reference_period"))
        ax.axhline(0, color="grey", lw=0.8)
        ax.axvline(0.5, color="grey", lw=0.8, ls="--")
        ax.set_xlabel(label("relative_cohort"))
        ax.set_ylabel(label("gradient_change"))
        ax.set_title(f"{label('event_study')}: {self.outcome}")
        ax.legend(frameon=False)
        return ax

    def _summary_info(self) -> list[tuple[str, str]]:
        stat, df, p = self.pretrend
        lo, hi = stats.norm.interval(self.level, self.estimate, self.std_error)
        return [
            ("Outcome", self.outcome),
            ("Kind", self.kind),
            (
                "Change in gradient",
                f"{100 * self.estimate:.2f} pp (SE {100 * self.std_error:.2f}; "
                f"{self.level:.0%} CI {100 * lo:.2f} to {100 * hi:.2f})",
            ),
            ("Pre-trend test", f"chi2({df}) = {stat:.2f}, p = {p:.3f}" if df else "no pre cohorts"),
            ("Cells / areas", f"{self.n_cells:,} / {self.n_clusters:,} (clusters)"),
        ]
