"""Borusyak, Jaravel & Spiess (2024) imputation estimator for staggered adoption.

1. Fit :math:`Y_{it}(0) = \\alpha_i + \\beta_t + X_{it}'\\gamma` by (weighted) least
   squares on the untreated observations only (never-treated units, and treated units
   before their cohort's start).
2. Impute :math:`\\hat Y_{it}(0)` for every treated observation and take
   :math:`\\hat\\tau_{it} = Y_{it} - \\hat Y_{it}(0)`.
3. Average :math:`\\hat\\tau_{it}` over the target: all treated observations (the ATT)
   or those at event time ``e``.

Every estimate is linear in the outcomes, :math:`\\hat\\tau_w = \\sum_{it} v_{it} Y_{it}`,
with ``v`` the target weights on treated observations and
:math:`v_0 = -A_0 Z_0 (Z_0' A_0 Z_0)^{-1} Z_1' w_1` on untreated ones (``Z`` the
fixed-effect and covariate design, ``A`` the observation weights). Standard errors use
the conservative clustered variance of the paper's Theorem 3,
:math:`\\hat\\sigma^2_w = \\sum_c (\\sum_{it \\in c} v_{it} \\tilde\\varepsilon_{it})^2`,
with the untreated observations' residuals from step 1 and, for treated observations,
:math:`\\tilde\\varepsilon_{it} = \\hat\\tau_{it} - \\bar\\tau_{g(it)}`, where
:math:`\\bar\\tau` averages :math:`\\hat\\tau` within cohort x period cells with the
weights of the Stata command ``did_imputation`` (its default ``avgeffectsby(Ei t)``,
without leave-one-out). The system is solved exactly (unit effects partialled out in
closed form), not by iterating as ``did_imputation`` does.

The pre-trend test (Test 1 of Section 4.4) regresses the untreated outcomes on the
fixed effects, covariates and ``leads`` event-time indicators; its coefficients get a
CRV1 covariance (fixest's small-sample factor), and their covariance with the effects
comes from stacking both sets of cluster scores, as ``did_imputation`` does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from effekt.did._common import (
    cluster_codes,
    fixest_k_fe,
    pretrend_row,
    wald_f,
    warn_few_clusters,
)
from effekt.did._plots import event_plot
from effekt.did.sunab import (
    _always_treated,
    _drop_rows_from,
    _require_cohort,
    _timing,
    _warn_dropped,
)
from effekt.errors import (
    IdentificationError,
    check_int,
)
from effekt.estimator import Estimator
from effekt.options import resolve_level
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Ledger, Panel

__all__ = ["Imputation", "ImputationResult"]


class Imputation(Estimator):
    """Imputation estimator of Borusyak, Jaravel & Spiess (2024).

    Parameters
    ----------
    leads : int, default 0
        Number of pre-treatment event times (``-leads..-1``) whose coefficients are
        estimated on the untreated observations for the pre-trend test (the paper's
        Test 1); they also enter :meth:`ImputationResult.event_study_coefficients`.
    lags : int, optional
        Largest event time reported; default every event time observed. The overall
        ATT always averages every treated observation.
    cluster : str, optional
        ``"unit"`` or the panel's cluster column. Default: the panel's cluster column if
        it has one, else the unit (the paper's choice).
    ci_level : float, optional
        Interval level; default ``effekt.options["ci_level"]``.

    References
    ----------
    Borusyak, K., Jaravel, X. and Spiess, J. (2024). Revisiting event-study designs:
    robust and efficient estimation. Review of Economic Studies 91(6), 3253-3285.
    doi:10.1093/restud/rdae007

    Examples
    --------
    >>> import effekt as ek
    >>> df = ek.datasets.load_dataset("mpdta")
    >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
    ...                             cohort="first.treat", never_treated=0)
    >>> res = ek.did.Imputation(leads=3).fit(panel)
    >>> table = res.to_frame()
    >>> round(float(table.query("term == 'ATT'")["estimate"].iloc[0]), 4)
    -0.0477
    """

    def __init__(
        self,
        *,
        leads: int = 0,
        lags: int | None = None,
        cluster: str | None = None,
        ci_level: float | None = None,
    ) -> None:
        self.leads = leads
        self.lags = lags
        self.cluster = cluster
        self.ci_level = ci_level

    def fit(self, panel: Panel) -> ImputationResult:
        """Impute untreated outcomes and average the treated units' effects.

        Parameters
        ----------
        panel : effekt.Panel
            Needs an absorbing treatment (a cohort). Covariates enter the model for
            the untreated outcomes; panel weights make every step weighted.

        Returns
        -------
        ImputationResult

        Raises
        ------
        ParameterError
            Invalid parameters.
        IdentificationError
            No cohort, no untreated or no imputable treated observation, a covariate
            absorbed by the fixed effects on the untreated observations, a lead with no
            observation, fewer than two clusters, incomplete covariates.

        Warns
        -----
        DroppedRowsWarning
            Treated observations whose untreated outcome cannot be imputed (their unit
            or period has no untreated observation to anchor the fixed effects).
        AssumptionWarning
            Fewer than 30 clusters.
        """
        owner = "Imputation"
        level = resolve_level(self.ci_level)
        for name, allow_none in (("leads", False), ("lags", True)):
            check_int(
                name,
                owner,
                getattr(self, name),
                low=0,
                none=allow_none,
                expected="a non-negative integer" + (" or None" if allow_none else ""),
            )
        _require_cohort(panel, owner)
        gaps = panel.missing_covariates()
        if gaps.any():
            raise IdentificationError(
                f"{owner} needs complete covariates, but the panel has missing values: "
                f"{gaps[gaps > 0].to_dict()}. Rebuild it with missing='drop'."
            )
        codes_all, cluster_name = cluster_codes(panel, self.cluster, owner)

        data = panel._data
        unit = pd.factorize(data[panel.unit])[0]
        t_pos, g_pos, rel = _timing(panel)
        period = t_pos.astype(int)
        treated = rel >= 0
        if not (~treated).any():
            raise IdentificationError(
                f"{owner} needs untreated observations to fit the model for untreated "
                "outcomes, but every observation in the panel is treated."
            )
        if not treated.any():
            raise IdentificationError(
                f"{owner}: no observation in the panel is treated; there is no effect to estimate."
            )
        imputable = _imputable(unit, period, treated)
        ledger = panel.ledger
        lost = treated & ~imputable
        if lost.any():
            reason = (
                "treated observation whose untreated outcome cannot be imputed (no untreated "
                "observation of its unit or period to anchor the fixed effects)"
            )
            ledger = _drop_rows_from(panel, ledger, lost, reason)
            _warn_dropped(owner, int(lost.sum()), reason)
            if not (treated & imputable).any():
                raise IdentificationError(
                    f"{owner}: no treated observation can be imputed: every treated unit is "
                    "treated in all its periods, or treated periods have no untreated "
                    "observation. Add never-treated units or earlier periods."
                )
        keep = ~lost
        always = _always_treated(rel, unit)  # their rows are all in `lost`
        n_units = len(np.unique(unit[keep & ~always]))

        y = data[panel.outcome].to_numpy(dtype=float)
        a = (
            data[panel.weights].to_numpy(dtype=float)
            if panel.weights is not None
            else np.ones(len(data))
        )
        x = data.loc[:, list(panel.covariates)].to_numpy(dtype=float)
        d0 = ~treated
        d1 = treated & keep
        model = _FEModel(unit[d0], period[d0], x[d0], a[d0], panel.n_periods)
        model.check_covariates([str(c) for c in panel.covariates], owner)
        coef_t, coef_x, resid0 = model.fit(y[d0])
        alpha = model.unit_effects(y[d0] - coef_t[period[d0]] - x[d0] @ coef_x)
        y0_hat = alpha[unit[d1]] + coef_t[period[d1]] + x[d1] @ coef_x
        tau = y[d1] - y0_hat

        # target weights on the treated observations: each event time, then the ATT
        rel1 = rel[d1].astype(int)
        event_times = np.unique(rel1)
        if self.lags is not None:
            event_times = event_times[event_times <= self.lags]
        a1 = a[d1]
        w = np.column_stack([a1 * (rel1 == e) for e in event_times] + [a1])
        w = w / w.sum(axis=0)
        estimates = w.T @ tau

        # Theorem 3 variance: weights implied for the untreated observations, then the
        # cluster scores with the cohort x period averaged residuals of treated obs
        v0 = model.implied_weights(unit[d1], period[d1], x[d1], w)
        clusters = codes_all
        n_clusters = len(np.unique(clusters[keep]))
        warn_few_clusters(owner, n_clusters, cluster_name)
        cell = pd.factorize(
            pd.Series(g_pos[d1]).astype(str) + ":" + pd.Series(t_pos[d1]).astype(str)
        )[0]
        scores = _theorem3_scores(
            tau, w, cell, clusters[d1], v0, resid0, clusters[d0], int(clusters.max()) + 1
        )
        cov = scores.T @ scores

        lead_times: list[int] = []
        if self.leads:
            lead_times = list(range(-int(self.leads), 0))
            lead_scores, lead_coef = _lead_regression(
                model, y[d0], rel[d0], lead_times, clusters[d0], data.loc[d0], panel, owner
            )
            estimates = np.concatenate([lead_coef, estimates])
            stacked = np.hstack([lead_scores, scores])
            cov = stacked.T @ stacked

        return ImputationResult(
            estimates=estimates,
            covariance=cov,
            lead_times=lead_times,
            event_times=[int(e) for e in event_times],
            outcome=str(panel.outcome),
            n_obs=int(keep.sum()),
            n_treated=int(d1.sum()),
            n_units=n_units,
            n_clusters=n_clusters,
            cluster_name=cluster_name,
            level=level,
            ledger=ledger,
            provenance=Provenance("Imputation", self.get_params(), None, panel.fingerprint),
        )


def _imputable(unit: np.ndarray, period: np.ndarray, treated: np.ndarray) -> np.ndarray:
    """Whether each row's unit and period effects are identified from untreated rows.

    With two-way fixed effects, :math:`\\alpha_i + \\beta_t` is estimable exactly when
    unit ``i`` and period ``t`` are connected in the bipartite graph whose edges are the
    untreated observations.
    """
    n_units = int(unit.max()) + 1
    n_periods = int(period.max()) + 1
    d0 = ~treated
    graph = sparse.coo_matrix(
        (np.ones(int(d0.sum())), (unit[d0], n_units + period[d0])),
        shape=(n_units + n_periods, n_units + n_periods),
    )
    _, label = connected_components(graph, directed=False)
    has_u = np.bincount(unit[d0], minlength=n_units) > 0
    has_p = np.bincount(period[d0], minlength=n_periods) > 0
    return has_u[unit] & has_p[period] & (label[unit] == label[n_units + period])


class _FEModel:
    """Weighted least squares on unit and period effects plus covariates (untreated rows).

    Unit effects are partialled out in closed form (within-unit weighted demeaning);
    the period effects and covariates are solved from the reduced normal equations with
    a pseudo-inverse (the design is rank deficient by one per connected component, and
    every quantity used is invariant to the normalisation chosen).
    """

    def __init__(
        self, unit: np.ndarray, period: np.ndarray, x: np.ndarray, a: np.ndarray, n_periods: int
    ) -> None:
        self.unit = unit
        self.a = a
        self.n_units = int(unit.max()) + 1
        self.mass = np.bincount(unit, weights=a, minlength=self.n_units)
        p_dummies = np.zeros((len(unit), n_periods))
        p_dummies[np.arange(len(unit)), period] = 1.0
        self.z = np.hstack([p_dummies, x])
        self.n_periods = n_periods
        self.z_means = self._unit_means(self.z)
        zt = self.z - self.z_means[unit]
        scale = np.sqrt(np.einsum("ij,ij,i->j", zt, zt, a))
        scale[scale == 0] = 1.0  # periods without untreated rows: column is zero
        self.scale = scale
        self.zt = zt / scale
        gram = self.zt.T @ (self.zt * a[:, None])
        self.gram_pinv = np.linalg.pinv(gram, rcond=1e-10, hermitian=True)

    def _unit_means(self, q: np.ndarray) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            sums = (
                np.stack(
                    [
                        np.bincount(self.unit, weights=self.a * q[:, j], minlength=self.n_units)
                        for j in range(q.shape[1])
                    ],
                    axis=1,
                )
                if q.shape[1]
                else np.zeros((self.n_units, 0))
            )
            return np.where(self.mass[:, None] > 0, sums / self.mass[:, None], 0.0)

    def check_covariates(self, names: list[str], owner: str) -> None:
        """Raise if a covariate is (nearly) absorbed by the fixed effects."""
        k = len(names)
        if not k:
            return
        zt = self.zt
        a = self.a[:, None]
        p, xc = zt[:, : self.n_periods], zt[:, self.n_periods :]
        gpp = np.linalg.pinv(p.T @ (p * a), rcond=1e-10, hermitian=True)
        resid = xc - p @ (gpp @ (p.T @ (xc * a)))
        left = np.einsum("ij,ij,i->j", resid, resid, self.a)
        absorbed = [n for n, v in zip(names, left, strict=True) if v < 1e-10]
        if absorbed:
            raise IdentificationError(
                f"{owner} cannot separate the covariate(s) {absorbed} from the unit and period "
                "fixed effects on the untreated observations (e.g. a covariate constant "
                "within units). Drop them from the panel's covariates."
            )

    def fit(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Period effects, covariate coefficients and residuals."""
        yt = y - self._unit_means(y[:, None])[self.unit, 0]
        theta = self.gram_pinv @ (self.zt.T @ (self.a * yt))
        resid = yt - self.zt @ theta
        coef = theta / self.scale
        return coef[: self.n_periods], coef[self.n_periods :], resid

    def residualize(self, q: np.ndarray) -> np.ndarray:
        """Residuals of the columns of ``q`` after the weighted fixed-effect projection."""
        qt = q - self._unit_means(q)[self.unit]
        return qt - self.zt @ (self.gram_pinv @ (self.zt.T @ (qt * self.a[:, None])))

    def unit_effects(self, y_minus_rest: np.ndarray) -> np.ndarray:
        return self._unit_means(y_minus_rest[:, None])[:, 0]

    def implied_weights(
        self, unit1: np.ndarray, period1: np.ndarray, x1: np.ndarray, w: np.ndarray
    ) -> np.ndarray:
        """:math:`v_0 = -A_0 Z_0 h` with :math:`(Z_0'A_0Z_0) h = Z_1'w` (block elimination)."""
        m = w.shape[1]
        b_unit = np.stack(
            [np.bincount(unit1, weights=w[:, j], minlength=self.n_units) for j in range(m)], axis=1
        )
        z1 = np.zeros((len(unit1), self.n_periods))
        z1[np.arange(len(unit1)), period1] = 1.0
        b_rest = np.hstack([z1, x1]).T @ w  # (T + k) x m
        # reduced system on the scaled, unit-demeaned design
        rhs = (b_rest - self.z_means.T @ b_unit) / self.scale[:, None]
        h_rest = self.gram_pinv @ rhs  # in scaled units
        with np.errstate(invalid="ignore", divide="ignore"):
            h_unit = np.where(self.mass[:, None] > 0, b_unit / self.mass[:, None], 0.0)
        # Z0 h = unit part + (z0 - unit means) h_rest + unit means h_rest
        z0_h = h_unit[self.unit] + self.zt @ h_rest
        return -self.a[:, None] * z0_h


def _theorem3_scores(
    tau: np.ndarray,
    w: np.ndarray,
    cell: np.ndarray,
    cl1: np.ndarray,
    v0: np.ndarray,
    resid0: np.ndarray,
    cl0: np.ndarray,
    n_clusters: int,
) -> np.ndarray:
    """Per-cluster sums of :math:`v_{it}\\tilde\\varepsilon_{it}` (clusters x targets)."""
    n1 = len(tau)
    n_cells = int(cell.max()) + 1
    # weight of each (cluster, cell) block, as did_imputation's "clusterweight"
    block = pd.factorize(pd.Series(cl1).astype(str) + "|" + pd.Series(cell).astype(str))[0]
    b_ind = sparse.csr_matrix((np.ones(n1), (block, np.arange(n1))))
    block_w = (b_ind @ w)[block]  # n1 x m
    c_ind = sparse.csr_matrix((np.ones(n1), (cell, np.arange(n1))), shape=(n_cells, n1))
    num = c_ind @ (block_w * w * tau[:, None])
    den = c_ind @ (block_w * w)
    with np.errstate(invalid="ignore", divide="ignore"):
        tau_bar = np.where(den != 0, num / den, 0.0)[cell]
    eps1 = tau[:, None] - tau_bar
    g1 = sparse.csr_matrix((np.ones(n1), (cl1, np.arange(n1))), shape=(n_clusters, n1))
    g0 = sparse.csr_matrix(
        (np.ones(len(cl0)), (cl0, np.arange(len(cl0)))), shape=(n_clusters, len(cl0))
    )
    return np.asarray(g1 @ (w * eps1) + g0 @ (v0 * resid0[:, None]))


def _lead_regression(
    model: _FEModel,
    y0: np.ndarray,
    rel0: np.ndarray,
    lead_times: list[int],
    cl0: np.ndarray,
    data0: pd.DataFrame,
    panel: Panel,
    owner: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Lead coefficients on the untreated rows and their (CRV1-scaled) cluster scores."""
    leads = np.column_stack([(rel0 == e).astype(float) for e in lead_times])
    empty = [e for e, n in zip(lead_times, leads.sum(axis=0), strict=True) if n == 0]
    if empty:
        raise IdentificationError(
            f"{owner}: no untreated observation at event time(s) {empty}, so their lead "
            f"coefficients cannot be estimated; use leads <= {-max(empty) - 1}."
        )
    lt = model.residualize(leads)
    a = model.a
    gram = lt.T @ (lt * a[:, None])
    if np.linalg.matrix_rank(gram) < len(lead_times):
        raise IdentificationError(
            f"{owner}: the lead indicators {lead_times} are collinear with the fixed effects "
            "on the untreated observations (too few pre-treatment periods); use fewer leads."
        )
    r = (lt * a[:, None]) @ np.linalg.inv(gram)  # coefficient = r' y
    coef = r.T @ y0
    _, _, resid_fe = model.fit(y0)
    resid = resid_fe - lt @ coef  # residual of the regression with leads (FWL)
    n0 = len(y0)
    n_clusters = int(cl0.max()) + 1
    g = sparse.csr_matrix((np.ones(n0), (cl0, np.arange(n0))), shape=(n_clusters, n0))
    scores = np.asarray(g @ (r * resid[:, None]))
    g_count = len(np.unique(cl0))
    k = len(lead_times) + len(panel.covariates) + fixest_k_fe(data0, [panel.unit, panel.time], cl0)
    factor = g_count / (g_count - 1) * (n0 - 1) / (n0 - k)
    return scores * np.sqrt(factor), coef


class ImputationResult(Result):
    """Result of :class:`Imputation`: effects by event time, the ATT and the leads.

    Attributes
    ----------
    n_obs : int
        Observations used (untreated ones and imputable treated ones).
    n_treated : int
        Treated observations whose effect was imputed.
    n_units, n_clusters : int
    """

    title = "Imputation DiD (Borusyak-Jaravel-Spiess)"

    def __init__(
        self,
        *,
        estimates: np.ndarray,
        covariance: np.ndarray,
        lead_times: list[int],
        event_times: list[int],
        outcome: str,
        n_obs: int,
        n_treated: int,
        n_units: int,
        n_clusters: int,
        cluster_name: str,
        level: float,
        ledger: Ledger,
        provenance: Provenance,
    ) -> None:
        self._estimates = estimates
        self._covariance = covariance
        self.lead_times = lead_times
        self.event_times = event_times
        self.outcome = outcome
        self.n_obs = n_obs
        self.n_treated = n_treated
        self.n_units = n_units
        self.n_clusters = n_clusters
        self.cluster_name = cluster_name
        self.level = level
        self.ledger = ledger
        self.provenance = provenance
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: leads, effects by event time, then the overall ATT.

        Leads and event-time effects have ``aggregation="event_time"``; the ATT row has
        ``aggregation="simple"`` and ``term="ATT"``. Intervals and p-values use the
        normal distribution (the paper's asymptotics).
        """
        times = [*self.lead_times, *self.event_times]
        n = len(times)
        se = np.sqrt(np.diag(self._covariance))
        keys = pd.DataFrame(
            {
                "outcome": self.outcome,
                "estimator": "Imputation",
                "aggregation": ["event_time"] * n + ["simple"],
                "term": [f"event_time[{e}]" for e in times] + ["ATT"],
                "event_time": pd.array([*times, None], dtype="Int64"),
            }
        )
        return tidy_effects(keys, self._estimates, se, level=self.level)

    def event_study_coefficients(self) -> tuple[pd.Series, pd.DataFrame]:
        """Leads (if estimated) and event-time effects with their joint covariance.

        Unlike a regression event study there is no omitted reference period: the
        leads (``leads=...``) are deviations of untreated outcomes from the fitted model,
        and the effects are imputation averages.

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
        >>> est, _ = ek.did.Imputation(leads=2).fit(panel).event_study_coefficients()
        >>> est.index.tolist()
        [-2, -1, 0, 1, 2, 3]
        """
        times = [*self.lead_times, *self.event_times]
        n = len(times)
        index = pd.Index(times, name="event_time")
        est = pd.Series(self._estimates[:n], index=index, name="estimate")
        cov = pd.DataFrame(self._covariance[:n, :n], index=index, columns=index)
        return est, cov

    def pretrend_test(self) -> pd.Series:
        """Joint Wald test that the lead coefficients are zero (the paper's Test 1).

        Returns
        -------
        pandas.Series
            ``statistic`` (F = W/q), ``df_num`` (q leads), ``df_denom`` (G-1) and
            ``p_value``, as :meth:`TwoWayFEResult.pretrend_test`.

        Raises
        ------
        IdentificationError
            Fitted without leads.
        """
        q = len(self.lead_times)
        if not q:
            raise IdentificationError(
                "pretrend_test needs lead coefficients; fit Imputation(leads=k) with k >= 1."
            )
        return wald_f(self._estimates[:q], self._covariance[:q, :q], self.n_clusters - 1)

    def _summary_info(self) -> list[tuple[str, str]]:
        info = [
            ("Outcome", self.outcome),
            ("Observations", f"{self.n_obs:,} ({self.n_treated:,} treated, imputed)"),
            ("Units", f"{self.n_units:,}"),
            ("Clusters", f"{self.n_clusters:,} ({self.cluster_name})"),
            ("Inference", f"BJS Theorem 3 (conservative), normal, {self.level:.0%} intervals"),
        ]
        if self.lead_times:
            info.append(pretrend_row(self.pretrend_test()))
        return info

    def plot(self, ax: Axes | None = None) -> Axes:
        """Event-study plot of the leads and the imputation effects by event time.

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
            reference=None,
            title=f"{label('event_study')} (imputation): {self.outcome}",
        )
