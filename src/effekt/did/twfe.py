"""Two-way fixed-effects DiD: the static regression and the event study.

The fixed effects are absorbed by :class:`linearmodels.panel.PanelOLS`, which
handles unbalanced panels and weights. From linearmodels we take the raw
cluster-robust sandwich; the small-sample factor is applied here, explicitly,
so that it matches the convention of R ``fixest``/pyfixest (CRV1):
``G/(G-1) * (n-1)/(n-K)``, where K counts the slope coefficients, one shared
level, and the fixed-effect levels not nested in the clusters. Inference uses the t distribution
with G-1 degrees of freedom, as fixest does for clustered errors.

Under staggered adoption with effects that change over time or differ between
cohorts, TWFE weights some 2x2 comparisons negatively (Goodman-Bacon 2021) and
its event-study leads and lags are contaminated (Sun & Abraham 2021); use it as
the familiar benchmark, not the answer.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from effekt._arrays import group_sum
from effekt.did._common import fixest_k_fe
from effekt.did._plots import event_plot
from effekt.did.wild import WildClusterBootstrap, WildTest, two_way_codes, wild_test
from effekt.errors import (
    AssumptionWarning,
    IdentificationError,
    ParameterError,
    check_bool,
    check_int,
    invalid_parameter,
)
from effekt.estimator import Estimator
from effekt.options import resolve_level
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Ledger, Panel

__all__ = ["TwoWayFE", "TwoWayFEResult"]

_FEW_CLUSTERS = 30  # below this, cluster-robust t-tests over-reject (Cameron et al. 2008)


class TwoWayFE(Estimator):
    """Two-way fixed-effects difference-in-differences, static or event study.

    Static: :math:`y_{it} = \\alpha_i + \\lambda_t + \\beta D_{it} + X_{it}'\\gamma
    + \\varepsilon_{it}`. Event study: :math:`D_{it}` is replaced by indicators
    of event time :math:`e = t - g_i` (periods since the unit's cohort), with the
    ``reference`` event time omitted; never-treated units have all indicators 0.

    Parameters
    ----------
    event_study : bool, default False
        Estimate one coefficient per event time instead of a single ``D``.
    leads, lags : int, optional
        Event study only: the number of pre-periods (leads, ``e = -leads..-1``)
        and post-periods (lags, ``e = 0..lags``) with their own coefficient.
        Event times beyond them are binned into the end points (the common
        "binned endpoints" specification). Default: every observed event time.
    reference : int, default -1
        Event time whose coefficient is normalised to zero. Must be a lead.
    cluster : str or tuple of two str, optional
        ``"unit"``, ``"time"`` or the panel's cluster column; two of them for
        two-way clustering (Cameron, Gelbach & Miller 2011). Default: the
        panel's cluster column if it has one, else the unit.
    ci_level : float, optional
        Interval level; default ``effekt.options["ci_level"]``.
    bootstrap : WildClusterBootstrap, optional
        Replace the t(G-1) p-values and intervals by a wild cluster bootstrap
        (restricted, Roodman et al. 2019) for each coefficient: the inference to
        use with few clusters. Standard errors stay CRV1. With two-way clustering the
        weights are drawn at the level of ``bootstrap.bootcluster``.

    References
    ----------
    Goodman-Bacon, A. (2021). Difference-in-differences with variation in
    treatment timing. Journal of Econometrics 225(2), 254-277.
    doi:10.1016/j.jeconom.2021.03.014
    Sun, L. and Abraham, S. (2021). Estimating dynamic treatment effects in event
    studies with heterogeneous treatment effects. Journal of Econometrics 225(2),
    175-199. doi:10.1016/j.jeconom.2020.09.006
    Cameron, A. C., Gelbach, J. B. and Miller, D. L. (2011). Robust inference with
    multiway clustering. Journal of Business & Economic Statistics 29(2), 238-249.
    doi:10.1198/jbes.2010.07136

    Examples
    --------
    >>> import effekt as ek
    >>> df = ek.datasets.load_dataset("mpdta")
    >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
    ...                             cohort="first.treat", never_treated=0)
    >>> res = ek.did.TwoWayFE().fit(panel)
    >>> round(float(res.to_frame().loc[0, "estimate"]), 4)
    -0.0365
    """

    def __init__(
        self,
        *,
        event_study: bool = False,
        leads: int | None = None,
        lags: int | None = None,
        reference: int = -1,
        cluster: str | tuple[str, str] | None = None,
        ci_level: float | None = None,
        bootstrap: WildClusterBootstrap | None = None,
    ) -> None:
        self.event_study = event_study
        self.leads = leads
        self.lags = lags
        self.reference = reference
        self.cluster = cluster
        self.ci_level = ci_level
        self.bootstrap = bootstrap

    # ------------------------------------------------------------------ fit
    def fit(self, panel: Panel) -> TwoWayFEResult:
        """Fit the regression to ``panel``.

        Parameters
        ----------
        panel : effekt.Panel
            Needs treatment timing (``treatment`` or ``cohort``); the event study
            needs an absorbing treatment (a cohort).

        Returns
        -------
        TwoWayFEResult

        Raises
        ------
        ParameterError
            Invalid parameters.
        IdentificationError
            No treatment in the panel, fewer than two clusters, or a regressor
            that the fixed effects absorb (e.g. everyone treated at once with no
            untreated comparison).
        """
        owner = "TwoWayFE"
        level = resolve_level(self.ci_level)
        self._check_params(owner)
        if panel.treatment is None:
            raise IdentificationError(
                "TwoWayFE needs treatment timing, but the panel has neither 'treatment' nor "
                "'cohort'. Rebuild it with Panel.from_frame(..., treatment=...) or cohort=..."
            )
        if self.event_study and panel.cohort is None:
            raise IdentificationError(
                "The event study needs each unit's first treated period, but the panel's "
                "treatment is not absorbing (built with absorbing=False). Use event_study=False."
            )
        gaps = panel.missing_covariates()
        if gaps.any():
            raise IdentificationError(
                f"TwoWayFE needs complete covariates, but the panel (built with missing='keep') "
                f"has missing values: {gaps[gaps > 0].to_dict()}. Rebuild it with "
                "missing='drop' to drop those rows (with a ledger entry)."
            )
        data = panel._data
        clusters, cluster_names = self._clusters(panel, data, owner)
        if self.event_study:
            exog, event_times = _event_dummies(panel, self.leads, self.lags, self.reference)
        else:
            exog = pd.DataFrame({str(panel.treatment): data[panel.treatment].astype(float)})
            event_times = {}
        for c in panel.covariates:
            exog[str(c)] = data[c].to_numpy(dtype=float)

        params, v0 = _panel_ols(panel, exog, clusters)
        n_obs, k = len(data), exog.shape[1]
        g_min = int(min(len(np.unique(c)) for c in clusters.T))
        k_fe = fixest_k_fe(data, [panel.unit, panel.time], clusters)
        factor = g_min / (g_min - 1) * (n_obs - 1) / (n_obs - k - k_fe)
        cov = pd.DataFrame(v0 * factor, index=exog.columns, columns=exog.columns)
        tests: dict[str, WildTest] = {}
        if self.bootstrap is not None:
            x, y, wild_clusters = _bootstrap_design(panel, exog, clusters, self.bootstrap)
            for j, name in enumerate(exog.columns):
                restriction = np.zeros(x.shape[1])
                restriction[j] = 1.0
                tests[name] = wild_test(
                    x,
                    y,
                    wild_clusters,
                    restriction,
                    0.0,
                    self.bootstrap,
                    level=level,
                    scale=_wild_scale(factor, g_min, clusters),
                )
        elif g_min < _FEW_CLUSTERS:
            warnings.warn(
                f"TwoWayFE: only {g_min} clusters ({', '.join(cluster_names)}); cluster-robust "
                "t-tests over-reject with few clusters (Cameron, Gelbach & Miller 2008). Read the "
                "p-values as optimistic, or cluster at a level with more groups if the design "
                "allows, or use bootstrap=WildClusterBootstrap(...).",
                AssumptionWarning,
                stacklevel=2,
            )
        return TwoWayFEResult(
            params=pd.Series(params, index=exog.columns),
            cov=cov,
            event_times=event_times,
            outcome=str(panel.outcome),
            reference=self.reference if self.event_study else None,
            n_obs=n_obs,
            n_units=panel.n_units,
            n_clusters=g_min,
            cluster_names=cluster_names,
            level=level,
            ledger=panel.ledger,
            provenance=Provenance(
                "TwoWayFE",
                self.get_params(),
                None if self.bootstrap is None else self.bootstrap.seed,
                panel.fingerprint,
            ),
            wild=tests,
            inputs=(panel, exog, clusters, factor),
        )

    def _check_params(self, owner: str) -> None:
        check_bool("event_study", owner, self.event_study)
        for name in ("leads", "lags"):
            check_int(
                name,
                owner,
                getattr(self, name),
                low=0,
                none=True,
                expected="a non-negative integer or None",
            )
        if not self.event_study and (self.leads is not None or self.lags is not None):
            raise ParameterError(
                "TwoWayFE got leads/lags but event_study=False; pass event_study=True to "
                "estimate an event study, or drop leads/lags."
            )
        if self.bootstrap is not None and not isinstance(self.bootstrap, WildClusterBootstrap):
            raise invalid_parameter(
                "bootstrap", owner, "None or a WildClusterBootstrap(...)", self.bootstrap
            )
        check_int(
            "reference",
            owner,
            self.reference,
            high=-1,
            expected="a negative integer (a pre-treatment event time)",
            hint="The usual choice is -1, the period before treatment starts.",
        )
        if self.leads is not None and -self.reference > self.leads:
            raise ParameterError(
                f"The 'reference' event time {self.reference} lies outside the {self.leads} "
                f"lead(s) estimated; use leads >= {-self.reference}."
            )

    def _clusters(
        self, panel: Panel, data: pd.DataFrame, owner: str
    ) -> tuple[np.ndarray, list[str]]:
        spec = self.cluster
        if spec is None:
            spec = "panel" if panel.cluster is not None else "unit"
        names = [spec] if isinstance(spec, str) else list(spec) if isinstance(spec, tuple) else None
        allowed = {"unit": panel.unit, "time": panel.time}
        if panel.cluster is not None:
            allowed[str(panel.cluster)] = panel.cluster
            allowed["panel"] = panel.cluster
        if names is None or not 1 <= len(names) <= 2 or any(n not in allowed for n in names):
            raise invalid_parameter(
                "cluster",
                owner,
                f"one of {sorted(allowed)} or a tuple of two of them",
                self.cluster,
                "To cluster on another column, pass it as cluster=... to Panel.from_frame.",
            )
        columns = [allowed[n] for n in names]
        codes = np.column_stack([pd.factorize(data[c])[0] for c in columns])
        n_groups = [len(np.unique(codes[:, j])) for j in range(codes.shape[1])]
        if min(n_groups) < 2:
            raise IdentificationError(
                f"TwoWayFE cannot cluster on {columns}: it has a single group. Clustered standard "
                "errors need at least two clusters (and many more to be reliable)."
            )
        return codes, [str(c) for c in columns]


def _event_dummies(
    panel: Panel, leads: int | None, lags: int | None, reference: int
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Event-time indicators for treated units, with binned endpoints."""
    data = panel._data
    time = data[panel.time]
    cohort = data[panel.cohort]
    if pd.api.types.is_datetime64_any_dtype(time):  # event time counted in observed periods
        periods = np.sort(time.unique())
        t_pos = np.searchsorted(periods, time.to_numpy())
        treated = cohort.notna().to_numpy()
        g_pos = np.searchsorted(periods, cohort.fillna(periods[0]).to_numpy())
        rel = np.where(treated, t_pos - g_pos, np.nan)
    else:
        g = cohort.to_numpy(dtype=float)
        treated = np.isfinite(g)
        rel = np.where(treated, time.to_numpy(dtype=float) - np.where(treated, g, 0.0), np.nan)
    observed = np.unique(rel[treated])
    lo = -leads if leads is not None else int(observed.min())
    hi = lags if lags is not None else int(observed.max())
    binned = np.clip(rel, lo, hi)
    if reference not in observed.astype(int) and reference >= lo:
        raise IdentificationError(
            f"The reference event time {reference} is not observed for any treated unit; the "
            f"treated units' event times run {int(observed.min())}..{int(observed.max())}. "
            "Choose another reference."
        )
    columns: dict[str, np.ndarray] = {}
    event_times: dict[str, int] = {}
    for e in range(lo, hi + 1):
        if e == reference:
            continue
        name = f"event_time[{e}]"
        col = (binned == e) & treated
        if col.any():
            columns[name] = col.astype(float)
            event_times[name] = e
    if not columns:
        raise IdentificationError("No treated unit has an event time to estimate.")
    return pd.DataFrame(columns), event_times


def _panel_ols(panel: Panel, exog: pd.DataFrame, clusters: np.ndarray) -> tuple[np.ndarray, Any]:
    """Coefficients and the raw cluster sandwich (no small-sample factor)."""
    from linearmodels.panel import PanelOLS
    from linearmodels.panel.utility import AbsorbingEffectError

    data = panel._data
    index = pd.MultiIndex.from_arrays([data[panel.unit], data[panel.time]])
    y = pd.Series(data[panel.outcome].to_numpy(dtype=float), index=index)
    x = exog.set_axis(index)
    weights = None
    if panel.weights is not None:
        weights = pd.Series(data[panel.weights].to_numpy(dtype=float), index=index)
    cl = pd.DataFrame(clusters, index=index)
    try:
        model = PanelOLS(
            y,
            x,
            entity_effects=True,
            time_effects=True,
            weights=weights,
            drop_absorbed=False,
            check_rank=True,
        )
        with warnings.catch_warnings():
            # linearmodels warns about absorbed columns before raising; we raise our own error
            warnings.simplefilter("ignore")
            fitted = model.fit(
                cov_type="clustered",
                clusters=cl,
                debiased=False,
                group_debias=False,
                count_effects=False,
                auto_df=False,
            )
    except (ValueError, AbsorbingEffectError) as err:  # rank deficiency, absorbed regressors
        raise IdentificationError(
            f"TwoWayFE cannot separate the regressors {list(exog.columns)} from the unit and time "
            f"fixed effects ({' '.join(str(err).split())}). Typical causes: every unit "
            "treated in the same period with "
            "no untreated comparison, a covariate constant within units or periods, or an "
            "event time observed in only one period for all treated units."
        ) from None
    return fitted.params.to_numpy(), fitted.cov.to_numpy()


def _bootstrap_design(
    panel: Panel, exog: pd.DataFrame, clusters: np.ndarray, bootstrap: WildClusterBootstrap
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Regressors, outcome and cluster codes for the wild bootstrap.

    The fixed effect nested in the clusters whose scores get the bootstrap weights
    (with two-way clustering: the bootcluster) is projected out (within
    transformation); the other enters as dummies after the model's regressors. This
    keeps the bootstrap identical to one on the full dummy design (Roodman et al.
    2019, sec. 4.4; what wildboottest and pyfixest compute), which projecting out
    both effects is not when one of them cuts across clusters.
    """
    if clusters.shape[1] == 2:
        dims, _, boot_dim = two_way_codes(clusters, bootstrap.bootcluster)
        drawn = dims[boot_dim]
        wild_clusters = clusters
    else:
        drawn = wild_clusters = clusters[:, 0]
    data = panel._data
    if panel.weights is not None:
        raise ParameterError(
            "TwoWayFE's wild cluster bootstrap does not support weights yet; fit without "
            "'weights' in the panel or without the bootstrap."
        )
    cluster = pd.Series(drawn, index=data.index)
    nested = [c for c in (panel.unit, panel.time) if cluster.groupby(data[c]).nunique().max() == 1]
    if not nested:
        raise ParameterError(
            "The wild cluster bootstrap needs clusters that contain whole units (e.g. areas "
            "nested in kommuner) or whole periods; these clusters cut across both. Cluster "
            "on the unit or on a level above it (with two-way clustering: choose the "
            "bootcluster of WildClusterBootstrap accordingly)."
        )
    absorbed = nested[0]
    other = panel.time if absorbed == panel.unit else panel.unit
    dummies = pd.get_dummies(data[other], drop_first=True, dtype=float).to_numpy()
    x = np.column_stack([exog.to_numpy(dtype=float), dummies])
    y = data[panel.outcome].to_numpy(dtype=float)
    codes = pd.factorize(data[absorbed])[0]
    counts = np.bincount(codes).astype(float)

    def within(values: np.ndarray) -> np.ndarray:
        return values - (group_sum(codes, values, counts.size) / counts[:, None])[codes]

    return within(x), within(y[:, None])[:, 0], wild_clusters


def _wild_scale(factor: float, g_min: int, clusters: np.ndarray) -> float:
    """The CRV1 factor G/(G-1) (N-1)/(N-K) for one-way clustering; without G/(G-1) for
    two-way, where the bootstrap applies each variance term's own cluster factor."""
    return factor if clusters.shape[1] == 1 else factor * (g_min - 1) / g_min


def _describe_wild(test: WildTest) -> str:
    kind = "WCR" if test.impose_null else "WCU"
    how = "all sign patterns" if test.enumerated else f"B = {test.reps}"
    return f"wild cluster bootstrap ({kind}, {test.weights}, {how})"


class TwoWayFEResult(Result):
    """Result of :class:`TwoWayFE`: coefficients, cluster-robust covariance, plots.

    Attributes
    ----------
    params : pandas.Series
        Coefficients (treatment or event-time indicators, then covariates).
    cov : pandas.DataFrame
        Cluster-robust covariance (CRV1 small-sample factor applied).
    n_obs, n_units, n_clusters : int
    """

    title = "Two-way fixed-effects DiD"

    def __init__(
        self,
        *,
        params: pd.Series,
        cov: pd.DataFrame,
        event_times: dict[str, int],
        outcome: str,
        reference: int | None,
        n_obs: int,
        n_units: int,
        n_clusters: int,
        cluster_names: list[str],
        level: float,
        ledger: Ledger,
        provenance: Provenance,
        wild: dict[str, WildTest],
        inputs: tuple[Panel, pd.DataFrame, np.ndarray, float],
    ) -> None:
        self.params = params
        self.cov = cov
        self.event_times = event_times
        self.outcome = outcome
        self.reference = reference
        self.n_obs = n_obs
        self.n_units = n_units
        self.n_clusters = n_clusters
        self.cluster_names = cluster_names
        self.level = level
        self.ledger = ledger
        self.provenance = provenance
        self.wild = wild
        self._inputs = inputs  # for wild_test after the fit
        self._freeze()

    @property
    def std_errors(self) -> pd.Series:
        """Cluster-robust standard errors."""
        return pd.Series(np.sqrt(np.diag(self.cov.to_numpy())), index=self.params.index)

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: ``outcome, estimator, term[, event_time]`` then the value columns."""
        est = self.params.to_numpy()
        se = self.std_errors.to_numpy()
        df = self.n_clusters - 1
        crit = stats.t.ppf(0.5 + self.level / 2, df)
        keys: dict[str, Any] = {
            "outcome": self.outcome,
            "estimator": "TwoWayFE",
            "term": list(self.params.index),
        }
        if self.event_times:
            keys["event_time"] = pd.array(
                [self.event_times.get(t) for t in self.params.index], dtype="Int64"
            )
        if self.wild:
            tests = [self.wild[t] for t in self.params.index]
            return tidy_effects(
                pd.DataFrame(keys),
                est,
                se,
                level=self.level,
                ci_lower=[t.ci_lower for t in tests],
                ci_upper=[t.ci_upper for t in tests],
                p_value=[t.p_value for t in tests],
                extra={"inference": _describe_wild(tests[0])},
            )
        return tidy_effects(
            pd.DataFrame(keys),
            est,
            se,
            level=self.level,
            ci_lower=est - crit * se,
            ci_upper=est + crit * se,
            p_value=2 * stats.t.sf(np.abs(est / se), df),
        )

    def wild_test(
        self,
        hypothesis: str | dict[str, float],
        value: float = 0.0,
        *,
        bootstrap: WildClusterBootstrap | None = None,
        ci: bool = True,
    ) -> WildTest:
        """Wild cluster bootstrap test of a linear hypothesis on the coefficients.

        Parameters
        ----------
        hypothesis : str or dict
            A term (``"treated"``) or weights on terms, e.g.
            ``{"event_time[0]": 0.5, "event_time[1]": 0.5}`` for the average of
            two event-time effects.
        value : float, default 0
            Hypothesised value of the combination.
        bootstrap : WildClusterBootstrap, optional
            Settings; default ``WildClusterBootstrap()`` (WCR, Rademacher, 9999).
        ci : bool, default True
            Also invert the test for a confidence interval at the result's level.

        Returns
        -------
        WildTest
            Estimate, CRV1 standard error, t, bootstrap p-value and interval.

        Raises
        ------
        ParameterError
            Unknown terms, or a model clustered two ways.

        Examples
        --------
        >>> import effekt as ek
        >>> df = ek.datasets.load_dataset("mpdta")
        >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
        ...                             cohort="first.treat", never_treated=0)
        >>> res = ek.did.TwoWayFE().fit(panel)
        >>> boot = ek.did.WildClusterBootstrap(reps=999, seed=1)
        >>> res.wild_test("treated", bootstrap=boot, ci=False).p_value < 0.05
        True
        """
        weights = {hypothesis: 1.0} if isinstance(hypothesis, str) else dict(hypothesis)
        unknown = [t for t in weights if t not in self.params.index]
        if unknown:
            raise ParameterError(
                f"The 'hypothesis' of wild_test names unknown term(s) {unknown}; the model's "
                f"terms are {list(self.params.index)}."
            )
        panel, exog, clusters, scale = self._inputs
        bootstrap = bootstrap or WildClusterBootstrap()
        x, y, wild_clusters = _bootstrap_design(panel, exog, clusters, bootstrap)
        restriction = np.zeros(x.shape[1])
        restriction[: len(self.params)] = [weights.get(t, 0.0) for t in self.params.index]
        g_min = int(min(len(np.unique(c)) for c in clusters.T))
        return wild_test(
            x,
            y,
            wild_clusters,
            restriction,
            float(value),
            bootstrap,
            level=self.level,
            scale=_wild_scale(scale, g_min, clusters),
            ci=ci,
        )

    def _inference_text(self) -> str:
        if self.wild:
            return _describe_wild(next(iter(self.wild.values())))
        return f"t({self.n_clusters - 1}), {self.level:.0%} intervals"

    def event_study_coefficients(self) -> tuple[pd.Series, pd.DataFrame]:
        """Event-time coefficients and their covariance, indexed by event time.

        The interface every event-study result in effekt offers, so sensitivity
        analysis (HonestDiD) and plots can take any of them. The reference period
        is not included (its coefficient is zero by construction).

        Returns
        -------
        estimates : pandas.Series
            Indexed by event time (int).
        covariance : pandas.DataFrame
            Indexed by event time on both axes.

        Raises
        ------
        IdentificationError
            If the model is not an event study.

        Examples
        --------
        >>> import effekt as ek
        >>> df = ek.datasets.load_dataset("mpdta")
        >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
        ...                             cohort="first.treat", never_treated=0)
        >>> est, cov = ek.did.TwoWayFE(event_study=True).fit(panel).event_study_coefficients()
        >>> est.index.tolist()
        [-4, -3, -2, 0, 1, 2, 3]
        """
        if not self.event_times:
            raise IdentificationError(
                "event_study_coefficients needs an event study; fit TwoWayFE(event_study=True)."
            )
        names = list(self.event_times)
        index = pd.Index([self.event_times[n] for n in names], name="event_time")
        est = pd.Series(self.params[names].to_numpy(), index=index, name="estimate")
        cov = pd.DataFrame(self.cov.loc[names, names].to_numpy(), index=index, columns=index)
        return est, cov

    def pretrend_test(self) -> pd.Series:
        """Joint Wald test that all lead coefficients are zero (event study only).

        Returns
        -------
        pandas.Series
            ``statistic`` (F = W/q), ``df_num`` (q leads), ``df_denom`` (G-1) and
            ``p_value`` from the F distribution.

        Raises
        ------
        IdentificationError
            Not an event study, or no lead besides the reference.
        """
        leads = [t for t, e in self.event_times.items() if e < 0]
        if not leads:
            raise IdentificationError(
                "pretrend_test needs an event study with at least one lead besides the "
                "reference period; fit TwoWayFE(event_study=True)."
            )
        b = self.params[leads].to_numpy()
        v = self.cov.loc[leads, leads].to_numpy()
        q = len(leads)
        f_stat = float(b @ np.linalg.solve(v, b)) / q
        df_denom = self.n_clusters - 1
        return pd.Series(
            {
                "statistic": f_stat,
                "df_num": q,
                "df_denom": df_denom,
                "p_value": float(stats.f.sf(f_stat, q, df_denom)),
            }
        )

    def _summary_info(self) -> list[tuple[str, str]]:
        info = [
            ("Outcome", self.outcome),
            ("Specification", "event study" if self.event_times else "static"),
            ("Observations", f"{self.n_obs:,}"),
            ("Units", f"{self.n_units:,}"),
            ("Clusters", f"{self.n_clusters:,} ({' × '.join(self.cluster_names)})"),
            ("Standard errors", f"CRV1 clustered by {' × '.join(self.cluster_names)}"),
            ("Inference", self._inference_text()),
        ]
        if self.event_times and any(e < 0 for e in self.event_times.values()):
            test = self.pretrend_test()
            info.append(
                (
                    "Pre-trend test",
                    f"F({test.df_num:.0f}, {test.df_denom:.0f}) = {test.statistic:.3f}, "
                    f"p = {test.p_value:.3f}",
                )
            )
        return info

    def plot(self, ax: Axes | None = None) -> Axes:
        """Event-study plot (coefficients by event time with intervals), or the ATT.

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
        if self.event_times:
            return event_plot(
                ax,
                table,
                level=self.level,
                reference=self.reference,
                title=f"{label('event_study')}: {self.outcome}",
            )
        row = table.iloc[0]
        ax.errorbar(
            [row["estimate"]],
            [0],
            xerr=[[row["estimate"] - row["ci_lower"]], [row["ci_upper"] - row["estimate"]]],
            fmt="o",
            color="#08519c",
            capsize=4,
            label=label("ci", level=self.level),
        )
        ax.axvline(0.0, color="0.6", lw=0.8)
        ax.set_yticks([0], [str(row["term"])])
        ax.set_xlabel(label("effect"))
        ax.set_title(f"TWFE: {self.outcome}")
        ax.legend(frameon=False)
        return ax
