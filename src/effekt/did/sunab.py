"""Sun & Abraham (2021) interaction-weighted event study.

The regression saturates treatment timing: one indicator per treated cohort ``g`` and
relative period ``e = t - g`` (except the reference period), with unit and period
fixed effects and a clean comparison group (never-treated units, or the last-treated
cohort with the periods from its start dropped). Each cohort-specific coefficient is
then an unbiased DiD for that cohort and period under parallel trends and no
anticipation, whatever the effect heterogeneity. The event-time effect is the average
of the cohort coefficients at ``e`` weighted by the cohorts' shares of the
observations at ``e`` (the interaction-weighted estimator).

Conventions follow R ``fixest::sunab``/``aggregate`` and pyfixest's saturated event
study, the references the tests match: CRV1 cluster-robust covariance with fixest's
small-sample factor ``G/(G-1) * (n-1)/(n-K)``, where ``K`` counts the slopes, the
levels of the fixed effects not nested in the clusters and one for each nested fixed
effect; t(G-1) inference; the cohort shares are treated as known when the covariance
of the aggregate is formed (``w' V w``), as fixest does. Sun & Abraham's own Stata
command ``eventstudyinteract`` adds a term for the shares' sampling error; it is not
included here, and is small when cohorts are large.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from effekt.did._common import (
    cluster_codes,
    fixest_k_fe,
    pretrend_row,
    wald_f,
    warn_few_clusters,
)
from effekt.did._plots import event_plot
from effekt.errors import (
    DroppedRowsWarning,
    IdentificationError,
    check_choice,
    check_int,
)
from effekt.estimator import Estimator
from effekt.options import resolve_level
from effekt.panel import Panel
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Ledger

__all__ = ["SunAbraham", "SunAbrahamResult"]


# --------------------------------------------------------------------------------------
# Helpers shared by the staggered-adoption estimators in this package (sunab, imputation,
# bacon): event time, clusters, the fixest small-sample factor, drop records, the plot.


def _require_cohort(panel: Panel, owner: str) -> None:
    if panel.treatment is None:
        raise IdentificationError(
            f"{owner} needs treatment timing, but the panel has neither 'treatment' nor "
            "'cohort'. Rebuild it with Panel.from_frame(..., cohort=...) or treatment=..."
        )
    if panel.cohort is None:
        raise IdentificationError(
            f"{owner} needs each unit's first treated period, but the panel's treatment is "
            "not absorbing (built with absorbing=False). Staggered-adoption estimators need "
            "an absorbing treatment; for treatments that switch on and off use "
            "effekt.did.ChaisemartinDHaultfoeuille."
        )


def _timing(panel: Panel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Period position, cohort position and event time of every row.

    Integer time: event time is ``t - g`` in the time column's units. Dates: event time
    counts observed periods. Never-treated units have cohort ``inf`` and event time NaN.
    Returns ``(t_pos, g_pos, rel)`` where ``t_pos`` indexes ``panel.periods`` and
    ``g_pos`` is the cohort on the same scale (``inf`` for never treated).
    """
    data = panel._data
    time = data[panel.time]
    cohort = data[panel.cohort]
    periods = panel.periods
    t_pos = np.searchsorted(periods, time.to_numpy()).astype(float)
    if pd.api.types.is_datetime64_any_dtype(time):
        treated = cohort.notna().to_numpy()
        g = np.searchsorted(periods, cohort.fillna(periods[0]).to_numpy()).astype(float)
        g_pos = np.where(treated, g, np.inf)
        rel = np.where(treated, t_pos - g_pos, np.nan)
        return t_pos, g_pos, rel
    g_val = cohort.to_numpy(dtype=float)
    t_val = time.to_numpy(dtype=float)
    treated = np.isfinite(g_val)
    rel = np.where(treated, t_val - np.where(treated, g_val, 0.0), np.nan)
    # cohort on the position scale: first period position at or after g
    g_pos = np.where(treated, np.searchsorted(periods, np.where(treated, g_val, 0.0)), np.inf)
    return t_pos, g_pos.astype(float), rel


def _cohort_label(panel: Panel, g: Any) -> str:
    """Readable cohort value: 2004 rather than 2004.0, dates as ISO dates."""
    if isinstance(g, np.datetime64 | pd.Timestamp):
        return str(pd.Timestamp(g).date())
    value = float(g)
    return str(int(value)) if value.is_integer() else str(value)


def _drop_rows_from(panel: Panel, ledger: Ledger, mask: np.ndarray, reason: str) -> Ledger:
    """``ledger`` with the rows in ``mask`` added (the panel keeps no caller row labels)."""
    data = panel._data
    rows = pd.DataFrame(
        {
            "row": pd.array([pd.NA] * int(mask.sum()), dtype="Int64"),
            "unit": data.loc[mask, panel.unit].to_numpy(),
            "time": data.loc[mask, panel.time].to_numpy(),
            "reason": reason,
        }
    )
    return ledger.extend(rows)


def _subpanel(panel: Panel, keep: np.ndarray, ledger: Ledger) -> Panel:
    """The panel restricted to the rows in ``keep`` (validated rows, so no re-validation)."""
    data = panel._data.loc[keep].reset_index(drop=True)
    return Panel(data, dict(panel._roles), ledger, panel._n_input, panel._absorbing)


def _warn_dropped(owner: str, n: int, reason: str) -> None:
    warnings.warn(
        f"{owner} dropped {n:,} row(s): {reason}. They are listed in result.ledger.",
        DroppedRowsWarning,
        stacklevel=3,
    )


def _always_treated(rel: np.ndarray, unit_codes: np.ndarray) -> np.ndarray:
    """Rows of units that are treated in every observed period (no untreated period)."""
    untreated = ~(rel >= 0)  # NaN (never treated) counts as untreated
    has_untreated = pd.Series(untreated).groupby(unit_codes).transform("any").to_numpy()
    return ~has_untreated


# --------------------------------------------------------------------------------------


class SunAbraham(Estimator):
    """Interaction-weighted event study of Sun & Abraham (2021).

    Estimates
    :math:`y_{it} = \\alpha_i + \\lambda_t + \\sum_{g \\notin C} \\sum_{e \\ne r}
    \\delta_{g,e} 1\\{G_i = g, t - g = e\\} + X_{it}'\\gamma + \\varepsilon_{it}`
    with comparison cohort(s) :math:`C` and reference period :math:`r`, then averages
    the cohort coefficients at each event time with the cohorts' shares of the
    observations at that event time as weights:
    :math:`\\hat\\nu_e = \\sum_g \\hat w_{g,e} \\hat\\delta_{g,e}`. Unlike the TWFE event
    study, each :math:`\\hat\\nu_e` is a convex combination of cohort-specific effects at
    that event time only, so effects at other event times do not contaminate it.

    Parameters
    ----------
    control : {"never", "last"}, default "never"
        Comparison group. ``"never"``: units never treated within the panel (including
        cohorts that start after the last period). ``"last"``: the last-treated cohort
        (together with any never-treated units); every period from that cohort's start on
        is dropped, as in Sun & Abraham (2021, Section 3), and recorded in the ledger.
    reference : int, default -1
        Relative period whose coefficient is normalised to zero (a lead).
    cluster : str, optional
        ``"unit"`` or the panel's cluster column. Default: the panel's cluster column if
        it has one, else the unit.
    ci_level : float, optional
        Interval level; default ``effekt.options["ci_level"]``.

    References
    ----------
    Sun, L. and Abraham, S. (2021). Estimating dynamic treatment effects in event
    studies with heterogeneous treatment effects. Journal of Econometrics 225(2),
    175-199. doi:10.1016/j.jeconom.2020.09.006
    Bergé, L. (2018). Efficient estimation of maximum likelihood models with multiple
    fixed-effects: the R package FENmlm. CREA Discussion Papers 13 (fixest).

    Examples
    --------
    >>> import effekt as ek
    >>> df = ek.datasets.load_dataset("mpdta")
    >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
    ...                             cohort="first.treat", never_treated=0)
    >>> res = ek.did.SunAbraham().fit(panel)
    >>> est, cov = res.event_study_coefficients()
    >>> est.index.tolist()
    [-4, -3, -2, 0, 1, 2, 3]
    >>> round(float(est.loc[0]), 4)
    -0.0199
    """

    def __init__(
        self,
        *,
        control: str = "never",
        reference: int = -1,
        cluster: str | None = None,
        ci_level: float | None = None,
    ) -> None:
        self.control = control
        self.reference = reference
        self.cluster = cluster
        self.ci_level = ci_level

    def fit(self, panel: Panel) -> SunAbrahamResult:
        """Fit the saturated regression and aggregate it by event time.

        Parameters
        ----------
        panel : effekt.Panel
            Needs an absorbing treatment (a cohort).

        Returns
        -------
        SunAbrahamResult

        Raises
        ------
        ParameterError
            Invalid parameters.
        IdentificationError
            No cohort, no comparison group (no never-treated units with
            ``control="never"``, a single cohort with ``control="last"``), a cohort not
            observed in the reference period, fewer than two clusters, incomplete
            covariates, or regressors absorbed by the fixed effects.

        Warns
        -----
        DroppedRowsWarning
            Always-treated units (no pre-treatment period) and, with
            ``control="last"``, the periods from the last cohort's start.
        AssumptionWarning
            Fewer than 30 clusters.
        """
        owner = "SunAbraham"
        level = resolve_level(self.ci_level)
        check_choice("control", owner, self.control, ("never", "last"))
        check_int(
            "reference",
            owner,
            self.reference,
            high=-1,
            expected="a negative integer (a pre-treatment relative period)",
            hint="The usual choice is -1, the period before treatment starts.",
        )
        _require_cohort(panel, owner)
        gaps = panel.missing_covariates()
        if gaps.any():
            raise IdentificationError(
                f"{owner} needs complete covariates, but the panel has missing values: "
                f"{gaps[gaps > 0].to_dict()}. Rebuild it with missing='drop'."
            )
        cluster_codes(panel, self.cluster, owner)  # validate the spec before any work

        data = panel._data
        unit_codes = pd.factorize(data[panel.unit])[0]
        _, g_pos, rel = _timing(panel)
        n_periods = panel.n_periods
        ledger = panel.ledger
        keep = np.ones(len(data), dtype=bool)

        always = _always_treated(rel, unit_codes)
        if always.any():
            reason = "always treated (no pre-treatment period to compare with)"
            ledger = _drop_rows_from(panel, ledger, always, reason)
            keep &= ~always
            _warn_dropped(owner, int(always.sum()), reason)

        # cohorts that start after the last period are never treated within the window
        in_window = np.isfinite(g_pos) & (g_pos < n_periods)
        cohort_values = data[panel.cohort].to_numpy()
        treated_cohorts = np.unique(g_pos[in_window & keep])
        never = ~in_window & keep
        if self.control == "never":
            if not never.any():
                if len(treated_cohorts) >= 2:
                    hint = (
                        " Pass control='last' to use the last-treated cohort as the "
                        "comparison group (its periods from its start are dropped)."
                    )
                else:
                    hint = " With a single cohort and no untreated units nothing is compared."
                raise IdentificationError(
                    f"{owner}(control='never') needs never-treated units, but every unit in "
                    f"the panel is treated within the observed periods.{hint}"
                )
            control_mask = never
        else:
            if len(treated_cohorts) < 2:
                raise IdentificationError(
                    f"{owner}(control='last') needs at least two treated cohorts (the last "
                    f"one serves as the comparison group); the panel has "
                    f"{len(treated_cohorts)}."
                )
            last = treated_cohorts[-1]
            t_pos = np.searchsorted(panel.periods, data[panel.time].to_numpy()).astype(float)
            late = keep & (t_pos >= last)
            reason = "period on or after the last-treated cohort's start (control='last')"
            ledger = _drop_rows_from(panel, ledger, late, reason)
            keep &= ~late
            _warn_dropped(owner, int(late.sum()), reason)
            control_mask = keep & ((g_pos == last) | ~in_window)
            treated_cohorts = treated_cohorts[:-1]

        treated_rows = keep & in_window & ~control_mask
        cells = (
            pd.DataFrame(
                {
                    "g_pos": g_pos[treated_rows],
                    "cohort": cohort_values[treated_rows],
                    "event_time": rel[treated_rows].astype(int),
                    "w": (
                        data.loc[treated_rows, panel.weights].to_numpy(float)
                        if panel.weights is not None
                        else np.ones(int(treated_rows.sum()))
                    ),
                }
            )
            .groupby(["g_pos", "event_time"], sort=True)
            .agg(cohort=("cohort", "first"), n_obs=("w", "size"), mass=("w", "sum"))
            .reset_index()
        )
        missing_ref = set(treated_cohorts) - set(
            cells.loc[cells["event_time"] == self.reference, "g_pos"]
        )
        if missing_ref:
            labels = sorted(
                _cohort_label(panel, cells.loc[cells["g_pos"] == g, "cohort"].iloc[0])
                for g in missing_ref
            )
            raise IdentificationError(
                f"{owner}: cohort(s) {labels} are not observed in the reference period "
                f"(event time {self.reference}), so their effects cannot be normalised "
                "against it. Choose another reference, or drop those cohorts."
            )
        cells = cells[cells["event_time"] != self.reference].reset_index(drop=True)
        cells["term"] = [
            f"cohort[{_cohort_label(panel, c)}]:event_time[{e}]"
            for c, e in zip(cells["cohort"], cells["event_time"], strict=True)
        ]

        sub = _subpanel(panel, keep, ledger)
        sdata = sub._data
        s_rel = rel[keep]
        s_g = g_pos[keep]
        s_treated = treated_rows[keep]
        exog = pd.DataFrame(
            {
                term: ((s_g == g) & (s_rel == e) & s_treated).astype(float)
                for term, g, e in zip(
                    cells["term"], cells["g_pos"], cells["event_time"], strict=True
                )
            }
        )
        for c in panel.covariates:
            exog[str(c)] = sdata[c].to_numpy(dtype=float)
        clusters, cluster_name = cluster_codes(sub, self.cluster, owner)
        params, v0 = _fit_fe(sub, exog, clusters, owner)
        n_obs = len(sdata)
        n_clusters = len(np.unique(clusters))
        k = exog.shape[1] + fixest_k_fe(sdata, [sub.unit, sub.time], clusters)
        factor = n_clusters / (n_clusters - 1) * (n_obs - 1) / (n_obs - k)
        warn_few_clusters(owner, n_clusters, cluster_name)
        cov = v0 * factor

        n_cells = len(cells)
        cells["weight"] = cells["mass"] / cells.groupby("event_time")["mass"].transform("sum")
        event_times = sorted(cells["event_time"].unique())
        agg = np.zeros((len(event_times) + 1, exog.shape[1]))
        for row, e in enumerate(event_times):
            at_e = (cells["event_time"] == e).to_numpy()
            agg[row, :n_cells][at_e] = cells.loc[at_e, "weight"].to_numpy()
        post = (cells["event_time"] >= 0).to_numpy()
        if post.any():
            agg[-1, :n_cells][post] = (
                cells.loc[post, "mass"] / cells.loc[post, "mass"].sum()
            ).to_numpy()
        estimates = agg @ params
        agg_cov = agg @ cov @ agg.T
        names = [*cells["term"], *[str(c) for c in panel.covariates]]
        return SunAbrahamResult(
            estimates=estimates,
            covariance=agg_cov,
            event_times=[int(e) for e in event_times],
            has_post=bool(post.any()),
            cohort_params=pd.Series(params, index=names),
            cohort_cov=pd.DataFrame(cov, index=names, columns=names),
            cells=cells.loc[:, ["cohort", "event_time", "term", "n_obs", "weight"]],
            outcome=str(panel.outcome),
            control=str(self.control),
            reference=int(self.reference),
            n_obs=n_obs,
            n_units=sub.n_units,
            n_clusters=n_clusters,
            cluster_name=cluster_name,
            level=level,
            ledger=ledger,
            provenance=Provenance("SunAbraham", self.get_params(), None, panel.fingerprint),
        )


def _fit_fe(panel: Panel, exog: pd.DataFrame, clusters: np.ndarray, owner: str) -> tuple[Any, Any]:
    """TwoWayFE's fixed-effects regression (linearmodels), with this estimator's wording."""
    from effekt.did.twfe import _panel_ols

    try:
        return _panel_ols(panel, exog, clusters)
    except IdentificationError:
        raise IdentificationError(
            f"{owner} cannot separate the cohort x relative-period indicators (or covariates) "
            "from the unit and period fixed effects. Typical causes: a cohort observed in a "
            "single period, or a covariate constant within units or periods."
        ) from None


class SunAbrahamResult(Result):
    """Result of :class:`SunAbraham`: event-time effects, the ATT and cohort effects.

    Attributes
    ----------
    cohort_params : pandas.Series
        The cohort x relative-period coefficients (then covariates).
    cohort_cov : pandas.DataFrame
        Their CRV1 covariance.
    cells : pandas.DataFrame
        One row per cohort x relative period: ``cohort, event_time, term, n_obs, weight``
        (the weight of the cell in its event time's average).
    n_obs, n_units, n_clusters : int
    """

    title = "Sun-Abraham interaction-weighted event study"

    def __init__(
        self,
        *,
        estimates: np.ndarray,
        covariance: np.ndarray,
        event_times: list[int],
        has_post: bool,
        cohort_params: pd.Series,
        cohort_cov: pd.DataFrame,
        cells: pd.DataFrame,
        outcome: str,
        control: str,
        reference: int,
        n_obs: int,
        n_units: int,
        n_clusters: int,
        cluster_name: str,
        level: float,
        ledger: Ledger,
        provenance: Provenance,
    ) -> None:
        self._estimates = estimates
        self._covariance = covariance
        self.event_times = event_times
        self._has_post = has_post
        self.cohort_params = cohort_params
        self.cohort_cov = cohort_cov
        self.cells = cells
        self.outcome = outcome
        self.control = control
        self.reference = reference
        self.n_obs = n_obs
        self.n_units = n_units
        self.n_clusters = n_clusters
        self.cluster_name = cluster_name
        self.level = level
        self.ledger = ledger
        self.provenance = provenance
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per event time (``aggregation="event_time"``), then the ATT.

        The ATT row (``aggregation="simple"``, ``term="ATT"``) averages every
        post-treatment cohort x period coefficient weighted by its number of
        observations, as fixest's ``aggregate(..., "att")``.
        """
        n = len(self.event_times)
        rows = n + (1 if self._has_post else 0)
        est = self._estimates[:rows]
        se = np.sqrt(np.diag(self._covariance))[:rows]
        df = self.n_clusters - 1
        crit = stats.t.ppf(0.5 + self.level / 2, df)
        keys = pd.DataFrame(
            {
                "outcome": self.outcome,
                "estimator": "SunAbraham",
                "aggregation": ["event_time"] * n + ["simple"] * (rows - n),
                "term": [f"event_time[{e}]" for e in self.event_times] + ["ATT"] * (rows - n),
                "event_time": pd.array(self.event_times + [None] * (rows - n), dtype="Int64"),
            }
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            p = 2 * stats.t.sf(np.abs(est / se), df)
        return tidy_effects(
            keys,
            est,
            se,
            level=self.level,
            ci_lower=est - crit * se,
            ci_upper=est + crit * se,
            p_value=p,
        )

    def event_study_coefficients(self) -> tuple[pd.Series, pd.DataFrame]:
        """Event-time effects and their covariance, indexed by event time.

        The reference period is not included (it is normalised to zero).

        Returns
        -------
        estimates : pandas.Series
        covariance : pandas.DataFrame

        Examples
        --------
        >>> import effekt as ek
        >>> df = ek.datasets.load_dataset("mpdta")
        >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
        ...                             cohort="first.treat", never_treated=0)
        >>> est, cov = ek.did.SunAbraham().fit(panel).event_study_coefficients()
        >>> cov.shape
        (7, 7)
        """
        n = len(self.event_times)
        index = pd.Index(self.event_times, name="event_time")
        est = pd.Series(self._estimates[:n], index=index, name="estimate")
        cov = pd.DataFrame(self._covariance[:n, :n], index=index, columns=index)
        return est, cov

    def pretrend_test(self) -> pd.Series:
        """Joint Wald test that every lead (event time < 0, reference excluded) is zero.

        Returns
        -------
        pandas.Series
            ``statistic`` (F = W/q), ``df_num`` (q leads), ``df_denom`` (G-1) and
            ``p_value`` from the F distribution, as :meth:`TwoWayFEResult.pretrend_test`.

        Raises
        ------
        IdentificationError
            No lead besides the reference period.
        """
        lead = [i for i, e in enumerate(self.event_times) if e < 0]
        if not lead:
            raise IdentificationError(
                "pretrend_test needs at least one lead besides the reference period; the "
                "panel has no earlier pre-treatment period for any cohort."
            )
        b = self._estimates[lead]
        v = self._covariance[np.ix_(lead, lead)]
        return wald_f(b, v, self.n_clusters - 1)

    def _summary_info(self) -> list[tuple[str, str]]:
        info = [
            ("Outcome", self.outcome),
            ("Comparison group", f"{self.control}-treated units"),
            ("Reference period", str(self.reference)),
            ("Observations", f"{self.n_obs:,}"),
            ("Units", f"{self.n_units:,}"),
            ("Clusters", f"{self.n_clusters:,} ({self.cluster_name})"),
            ("Inference", f"CRV1, t({self.n_clusters - 1}), {self.level:.0%} intervals"),
        ]
        if any(e < 0 for e in self.event_times):
            info.append(pretrend_row(self.pretrend_test()))
        return info

    def plot(self, ax: Axes | None = None) -> Axes:
        """Event-study plot: interaction-weighted effects by event time with intervals.

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
            reference=self.reference,
            title=f"{label('event_study')} (Sun-Abraham): {self.outcome}",
        )
