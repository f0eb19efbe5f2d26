"""Matching and weighting of participants against comparison persons, and balance tables.

The building blocks behind :class:`~effekt.participants.MatchedFollowUp`:

- :func:`propensity_score`: a logit of participation on the covariates (statsmodels);
- :func:`nearest_neighbour`: nearest-neighbour matching on a distance, with or without
  replacement, with ties and a caliper, as in Abadie & Imbens (2006) and R's
  ``Matching`` (Sekhon 2011);
- :func:`bias_adjustment`: the regression bias adjustment (Abadie & Imbens 2011);
- :func:`conditional_variance`: the matching estimator of the conditional outcome
  variance that the Abadie-Imbens standard error needs;
- :func:`coarsened_exact`: coarsened exact matching (Iacus, King & Porro 2012);
- :func:`entropy_balance`: entropy balancing (Hainmueller 2012), the convex dual
  solved with :func:`scipy.optimize.minimize`;
- :func:`balance_table`: standardised mean differences before and after.

Why hand-written: of the Python matching packages on PyPI, ``psmpy`` and ``pymatch``
match one-to-one on the propensity score without the Abadie-Imbens variance (pymatch's
last release is from 2019), and ``causalinference`` matches with replacement only,
without caliper or matching within strata such as start cohorts; none does matching
within start cohorts together with ties, a caliper and the Abadie-Imbens variance for
matched sets of unequal size. Entropy balancing is one small convex problem, for which
``ebal``/``empirical_calibration`` would be a dependency of their own. The tests check
these functions against R's ``Matching`` 4.10-8 and ``empirical_calibration`` 0.12.

References
----------
Abadie, A. & Imbens, G. W. (2006). Large sample properties of matching estimators for
average treatment effects. Econometrica 74(1), 235-267. doi:10.1111/j.1468-0262.2006.00655.x
Hainmueller, J. (2012). Entropy balancing for causal effects. Political Analysis 20(1),
25-46. doi:10.1093/pan/mpr025
Iacus, S. M., King, G. & Porro, G. (2012). Causal inference without balance checking:
coarsened exact matching. Political Analysis 20(1), 1-24. doi:10.1093/pan/mpr013
Sekhon, J. S. (2011). Multivariate and propensity score matching software with automated
balance optimization: the Matching package for R. J. Stat. Softw. 42(7).
doi:10.18637/jss.v042.i07
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from effekt.errors import IdentificationError

__all__ = [
    "Matches",
    "balance_table",
    "bias_adjustment",
    "coarsened_exact",
    "conditional_variance",
    "entropy_balance",
    "nearest_neighbour",
    "propensity_score",
]

# squared distances within this of the M-th nearest count as ties (Matching's
# distance.tolerance is 1e-5 on the same scale)
_TIE_TOL = 1e-10


@dataclass(frozen=True)
class Matches:
    """Matched sets: treated ``t[k]`` gets control ``c[k]`` with weight ``w[k]``.

    Weights of one treated unit sum to 1. ``unmatched`` lists the treated units
    (positions) that got no control.
    """

    t: np.ndarray
    c: np.ndarray
    w: np.ndarray
    unmatched: np.ndarray

    def control_weights(self, n_controls: int) -> tuple[np.ndarray, np.ndarray]:
        """``K`` (sum of a control's weights) and ``KK`` (sum of their squares)."""
        k = np.bincount(self.c, weights=self.w, minlength=n_controls)
        kk = np.bincount(self.c, weights=self.w**2, minlength=n_controls)
        return k, kk

    def counterfactual(self, y_control: np.ndarray, n_treated: int) -> np.ndarray:
        """Each treated unit's matched control mean of ``y_control`` (rows: treated)."""
        y = np.asarray(y_control, dtype=float)
        out = np.zeros((n_treated, *y.shape[1:]))
        np.add.at(out, self.t, self.w.reshape(-1, *([1] * (y.ndim - 1))) * y[self.c])
        return out


def propensity_score(x: np.ndarray, d: np.ndarray, *, owner: str) -> np.ndarray:
    """Linear predictor (log-odds) of a logit of ``d`` on ``[1, x]`` (statsmodels).

    Under (quasi-)separation, e.g. a rare 0/1 covariate that no participant has, the
    maximum-likelihood logit has no finite solution; the score is then refitted with
    a small ridge penalty (statsmodels ``GLM.fit_regularized``, ``L1_wt=0``, penalty
    1e-3 per observation on standardised columns), which keeps the ranking of the
    others, and an :class:`~effekt.AssumptionWarning` says so.

    Raises
    ------
    IdentificationError
        If even the penalised fit fails.
    """
    import statsmodels.api as sm
    from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

    design = np.column_stack([np.ones(len(d)), x])
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("error", RuntimeWarning)
        try:
            fit = sm.Logit(d.astype(float), design).fit(disp=0, method="newton", maxiter=100)
            return np.asarray(design @ fit.params, dtype=float)
        except (
            PerfectSeparationWarning,
            ConvergenceWarning,
            RuntimeWarning,
            np.linalg.LinAlgError,
        ):
            pass
    from effekt.errors import AssumptionWarning

    warnings.warn(
        f"{owner}: the propensity-score logit has no finite maximum-likelihood fit "
        "(a covariate separates participants from comparison persons, e.g. a category "
        "no participant has); it was refitted with a small ridge penalty. Check the "
        "balance table, and consider coarsening that covariate.",
        AssumptionWarning,
        stacklevel=4,
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            glm = sm.GLM(d.astype(float), design, family=sm.families.Binomial())
            alpha = np.r_[0.0, np.full(design.shape[1] - 1, 1e-3)]
            params = glm.fit_regularized(alpha=alpha, L1_wt=0.0, maxiter=200).params
    except (ValueError, np.linalg.LinAlgError) as err:
        raise IdentificationError(
            f"The propensity-score logit of {owner} failed ({type(err).__name__}: {err}). "
            "Remove or coarsen the separating covariate in 'covariates', or use "
            "distance='mahalanobis' or method='entropy'."
        ) from None
    score = np.asarray(design @ params, dtype=float)
    if not np.isfinite(score).all():
        raise IdentificationError(
            f"The propensity-score logit of {owner} gave non-finite scores; remove or "
            "coarsen the separating covariate in 'covariates'."
        )
    return score


def nearest_neighbour(
    xt: np.ndarray,
    xc: np.ndarray,
    *,
    n_neighbors: int = 1,
    replace: bool = True,
    caliper: float | None = None,
    ties: bool = True,
    tie_tol: float = _TIE_TOL,
) -> Matches:
    """Nearest-neighbour matching of treated rows ``xt`` to control rows ``xc``.

    Distances are Euclidean on the columns as given (scale them first: a
    propensity score, or covariates whitened for Mahalanobis distance).

    Parameters
    ----------
    xt, xc : ndarray of shape (n, k) or (n,)
    n_neighbors : int
        Matches per treated unit (M).
    replace : bool
        With replacement (a control can serve several treated units) or greedy
        without (treated units in the given order; ties broken by control order).
    caliper : float, optional
        Largest allowed distance; treated units with no control within it are
        unmatched, those with fewer than ``n_neighbors`` keep the ones within.
    ties : bool
        With replacement: also use every control as close as the M-th (weights
        shared equally), as Abadie & Imbens (2006) and ``Matching(ties=TRUE)``.
    tie_tol : float
        A control is tied with the M-th nearest when its squared distance exceeds
        the M-th's by at most this (``Matching``'s ``distance.tolerance`` is 1e-5).

    Returns
    -------
    Matches
    """
    xt = np.asarray(xt, dtype=float).reshape(len(xt), -1)
    xc = np.asarray(xc, dtype=float)
    xc = xc.reshape(len(xc), -1) if xc.size else np.empty((0, xt.shape[1]))
    n1, n0 = len(xt), len(xc)
    ts: list[np.ndarray] = []
    cs: list[np.ndarray] = []
    ws: list[np.ndarray] = []
    unmatched: list[int] = []
    if n0 == 0:
        return Matches(
            np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.arange(n1, dtype=np.int64)
        )
    m = min(n_neighbors, n0)
    available = np.ones(n0, bool)
    chunk = max(1, 2_000_000 // max(n0, 1))
    for start in range(0, n1, chunk):
        block = xt[start : start + chunk]
        dist = np.sqrt(((block[:, None, :] - xc[None, :, :]) ** 2).sum(axis=2))
        for r in range(len(block)):
            i = start + r
            d = dist[r]
            if not replace:
                d = np.where(available, d, np.inf)
                if not np.isfinite(d).any():
                    unmatched.append(i)
                    continue
                # stable: ties go to the control that comes first
                order = np.argsort(d, kind="stable")[:m]
                order = order[np.isfinite(d[order])]
            else:
                kth = np.partition(d, m - 1)[m - 1]
                if ties:
                    order = np.flatnonzero(d**2 <= kth**2 + tie_tol)
                else:
                    order = np.argsort(d, kind="stable")[:m]
            if caliper is not None:
                order = order[d[order] <= caliper]
            if not len(order):
                unmatched.append(i)
                continue
            if not replace:
                available[order] = False
            ts.append(np.full(len(order), i, np.int64))
            cs.append(order.astype(np.int64))
            ws.append(np.full(len(order), 1.0 / len(order)))

    def cat(parts: list[np.ndarray], dt: type) -> np.ndarray:
        return np.concatenate(parts).astype(dt) if parts else np.empty(0, dt)

    return Matches(
        cat(ts, np.int64), cat(cs, np.int64), cat(ws, float), np.asarray(unmatched, np.int64)
    )


def bias_adjustment(
    m: Matches, zt: np.ndarray, zc: np.ndarray, yc: np.ndarray, n_treated: int
) -> np.ndarray:
    """Abadie-Imbens (2011) regression bias adjustment of matched counterfactuals (ATT).

    The controls' outcome is regressed on ``[1, z]`` by least squares weighted by how
    often each control is used (controls never used get no weight), as
    ``Matching(BiasAdjust=TRUE)``; each treated unit's counterfactual is then shifted
    by ``sum_j w_ij (z_i - z_j)' b``, which removes the part of the matching
    discrepancy that the regression explains.

    Parameters
    ----------
    m : Matches
    zt, zc : ndarray (n, k)
        Adjustment covariates of the treated and the controls.
    yc : ndarray (n_controls,) or (n_controls, p)
        The controls' outcomes.
    n_treated : int

    Returns
    -------
    ndarray (n_treated, p)
        The shift to subtract from each treated unit's effect ``y_i - cf_i``.

    References
    ----------
    Abadie, A. & Imbens, G. W. (2011). Bias-corrected matching estimators for average
    treatment effects. J. Bus. Econ. Stat. 29(1), 1-11. doi:10.1198/jbes.2009.07333
    """
    zt = np.asarray(zt, float).reshape(n_treated, -1)
    zc = np.asarray(zc, float).reshape(len(zc), -1)
    y = np.asarray(yc, float).reshape(len(zc), -1)
    k = np.bincount(m.c, weights=m.w, minlength=len(zc))
    used = k > 0
    sw = np.sqrt(k[used])[:, None]
    design = np.column_stack([np.ones(int(used.sum())), zc[used]])
    beta = np.linalg.lstsq(design * sw, y[used] * sw, rcond=None)[0][1:]
    out = np.zeros((n_treated, y.shape[1]))
    np.add.at(out, m.t, m.w[:, None] * ((zt[m.t] - zc[m.c]) @ beta))
    return out


def conditional_variance(
    x: np.ndarray,
    y: np.ndarray,
    *,
    n_matches: int = 1,
    tie_tol: float = _TIE_TOL,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """Matching estimate of Var(y | x) within one treatment group (Abadie & Imbens 2006).

    Each unit's variance is the sample variance of its own ``y`` and that of its
    ``n_matches`` nearest other units of the group (ties included), the estimator
    of ``Matching(Var.calc=J)`` (whose tie tolerance on squared distances is its
    ``distance.tolerance``, 1e-5). ``y`` may have several columns. ``rows``: compute
    only these units' variances (their neighbours are still sought among all);
    the result then has one row per entry of ``rows``.
    """
    x = np.asarray(x, dtype=float).reshape(len(x), -1)
    y = np.asarray(y, dtype=float)
    y2 = y.reshape(len(y), -1)
    n = len(x)
    which = np.arange(n) if rows is None else np.asarray(rows, np.int64)
    out = np.zeros((len(which), y2.shape[1]))
    if n < 2:
        return out if rows is not None else out.reshape(y.shape)
    j = min(n_matches, n - 1)
    chunk = max(1, 2_000_000 // n)
    for start in range(0, len(which), chunk):
        idx = which[start : start + chunk]
        dist = np.sqrt(((x[idx][:, None, :] - x[None, :, :]) ** 2).sum(axis=2))
        for r in range(len(idx)):
            i = idx[r]
            d = dist[r].copy()
            d[i] = np.inf
            kth = np.partition(d, j - 1)[j - 1]
            near = np.flatnonzero(d**2 <= kth**2 + tie_tol)
            vals = np.vstack([y2[i : i + 1], y2[near]])
            out[start + r] = vals.var(axis=0, ddof=1)
    return out if rows is not None else out.reshape(y.shape)


def coarsened_exact(
    xt: np.ndarray, xc: np.ndarray, *, bins: int, ft: np.ndarray, fc: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Coarsened exact matching: strata of equal-width bins of every column.

    Columns with at most ``bins`` distinct values are matched exactly; the others
    are cut into ``bins`` equal-width bins over the pooled range (``cem``'s default
    cut-points are Sturges' rule; a fixed count keeps the strata reproducible).

    Parameters
    ----------
    xt, xc : ndarray (n, k)
        Covariates of the treated and the controls.
    bins : int
        Bins per continuous column.
    ft, fc : ndarray
        Frequency weights of the treated and the controls (ones, or bootstrap counts).

    Returns
    -------
    control_weight : ndarray
        ATT weight of each control: ``fc * F1_s / F0_s`` in its stratum ``s``
        (``F``: the frequency weights ``ft``/``fc`` summed), 0 outside matched strata.
    treated_matched : ndarray of bool
        Treated units whose stratum has a control.
    """
    xt = np.asarray(xt, dtype=float).reshape(len(xt), -1)
    xc = np.asarray(xc, dtype=float).reshape(len(xc), -1)
    both = np.vstack([xt, xc])
    codes = np.empty(both.shape, np.int64)
    for k in range(both.shape[1]):
        col = both[:, k]
        values = np.unique(col)
        if len(values) <= bins:
            codes[:, k] = np.searchsorted(values, col)
        else:
            edges = np.linspace(col.min(), col.max(), bins + 1)[1:-1]
            codes[:, k] = np.searchsorted(edges, col, side="right")
    _, stratum = np.unique(codes, axis=0, return_inverse=True)
    stratum = stratum.ravel()
    st, sc = stratum[: len(xt)], stratum[len(xt) :]
    n_strata = int(stratum.max()) + 1
    f1 = np.bincount(st, weights=ft, minlength=n_strata)
    f0 = np.bincount(sc, weights=fc, minlength=n_strata)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(f0 > 0, f1 / f0, 0.0)
    return fc * ratio[sc], f0[st] > 0


def entropy_balance(
    xc: np.ndarray,
    target: np.ndarray,
    *,
    base_weights: np.ndarray | None = None,
    tol: float = 1e-6,
) -> np.ndarray:
    """Entropy-balancing weights of the controls (Hainmueller 2012).

    The weights ``w`` minimise the Kullback-Leibler divergence from the base weights
    ``q`` subject to ``sum(w) = 1`` and ``w @ xc = target`` (the participants'
    moments). The dual, ``min_l log sum_j q_j exp(l'(x_j - target))``, is smooth and
    convex; it is solved by Newton's method (:func:`scipy.optimize.minimize`,
    ``Newton-CG`` with the exact gradient and Hessian) on the principal components of
    the moments scaled to unit standard deviation (which drops linearly dependent
    ones), and ``w_j ∝ q_j exp(l'x_j)``. A target on the edge of the controls' range
    (a 0/1 covariate equal to 1 for every participant) is the limit of the dual as
    ``l -> inf``: the weights then sit on the controls at that edge.

    Parameters
    ----------
    xc : ndarray (n_controls, k)
        Control moments (covariates, and their squares for second moments).
    target : ndarray (k,)
        Moments to reproduce.
    base_weights : ndarray, optional
        ``q`` (e.g. bootstrap frequency weights); uniform by default.
    tol : float
        Largest allowed moment imbalance after weighting, in standard deviations.

    Returns
    -------
    ndarray
        Weights summing to 1.

    Raises
    ------
    IdentificationError
        If the moments cannot be balanced (the target lies outside the convex hull
        of the controls, so no positive weights reproduce it).
    """
    from scipy.optimize import minimize

    xc = np.asarray(xc, dtype=float).reshape(len(xc), -1)
    target = np.asarray(target, dtype=float).ravel()
    q = np.ones(len(xc)) if base_weights is None else np.asarray(base_weights, float)
    keep = q > 0
    cols = np.ones(xc.shape[1], bool)
    # A target on the edge of the controls' range (e.g. every participant of a cohort
    # has a 0/1 covariate equal to 1) is reached only in the limit l -> inf, where all
    # weight sits on the controls at that edge: restrict to them and drop the column.
    while True:
        if not keep.any():
            break
        lo = xc[keep].min(axis=0)
        hi = xc[keep].max(axis=0)
        scale = 1e-9 * (1 + np.abs(target))
        outside = cols & ((target < lo - scale) | (target > hi + scale))
        if outside.any():
            raise IdentificationError(
                "Entropy balancing cannot reproduce the participants' moments: the "
                "participants' mean of a covariate lies outside the comparison persons' "
                "range in a start cohort. Drop or coarsen it in 'covariates', or widen "
                "the comparison pool."
            )
        edge = cols & ((np.abs(target - lo) <= scale) | (np.abs(target - hi) <= scale))
        if not edge.any():
            break
        for k in np.flatnonzero(edge):
            keep &= np.abs(xc[:, k] - target[k]) <= scale[k]
            cols[k] = False
    sd = xc[keep][:, cols].std(axis=0) if keep.any() else np.zeros(int(cols.sum()))
    z = (xc[:, cols] - target[cols]) / np.where(sd > 0, sd, 1.0)
    z[~keep] = 0.0
    if z.shape[1]:
        # linearly dependent moments (e.g. indicators of all categories) make the dual's
        # Hessian singular: balance the principal components instead, which balances
        # every original column as well
        _, sv, vt = np.linalg.svd(z[keep], full_matrices=False)
        z = z @ vt[sv > 1e-9 * sv.max()].T if sv.max() > 0 else z[:, :0]
    logq = np.where(keep, np.log(np.where(keep, q, 1.0)), -np.inf)

    def weights(lam: np.ndarray) -> np.ndarray:
        a = logq + z @ lam
        a -= a.max()
        w = np.exp(a)
        return w / w.sum()

    def fun(lam: np.ndarray) -> tuple[float, np.ndarray]:
        a = logq + z @ lam
        top = a.max()
        w = np.exp(a - top)
        s = w.sum()
        return float(top + np.log(s)), (w / s) @ z

    def hess(lam: np.ndarray) -> np.ndarray:
        w = weights(lam)
        g = w @ z
        return (z * w[:, None]).T @ z - np.outer(g, g)

    lam0 = np.zeros(z.shape[1])
    if z.shape[1]:
        res = minimize(
            fun,
            lam0,
            jac=True,
            hess=hess,
            method="Newton-CG",
            options={"xtol": 1e-12, "maxiter": 200},
        )
        lam0 = res.x
    w = weights(lam0)
    imbalance = np.abs(w @ (xc - target)[:, :] / _unit_sd(xc, keep)).max() if len(target) else 0.0
    if not np.isfinite(imbalance) or imbalance > tol:
        raise IdentificationError(
            f"Entropy balancing did not balance the moments (largest imbalance {imbalance:.3g} "
            "standard deviations): the participants' covariate means lie outside the range "
            "the comparison persons can reproduce. Use fewer or coarser 'covariates', "
            "moments=1, or a larger comparison pool."
        )
    return w


def _unit_sd(x: np.ndarray, keep: np.ndarray) -> np.ndarray:
    sd = x[keep].std(axis=0) if keep.any() else np.ones(x.shape[1])
    full = x.std(axis=0)
    return np.where(full > 0, full, np.where(sd > 0, sd, 1.0))


def _weighted_mean_var(x: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = w.sum()
    m = (w[:, None] * x).sum(axis=0) / s
    v = (w[:, None] * (x - m) ** 2).sum(axis=0) / s
    return m, v


def balance_table(
    names: list[str],
    xt: np.ndarray,
    xc: np.ndarray,
    control_weight: np.ndarray,
    treated_weight: np.ndarray | None = None,
) -> pd.DataFrame:
    """Means and standardised mean differences before and after matching/weighting.

    The SMD divides the mean difference by the pooled standard deviation of the
    unadjusted samples, ``sqrt((s_t^2 + s_c^2) / 2)``, before and after, so that
    the two are comparable (Austin 2009, doi:10.1002/sim.3697); the variance ratio
    is the participants' variance over the weighted controls'.

    Parameters
    ----------
    names : list of str
        Covariate names (rows of the table).
    xt, xc : ndarray (n, k)
        Covariates of the participants and of all comparison records.
    control_weight : ndarray
        Weight of each comparison record after matching/weighting (0: unused).
    treated_weight : ndarray, optional
        Weights of the participants (default equal).

    Returns
    -------
    DataFrame
        ``covariate, mean_participants, mean_comparison_before, mean_comparison_after,
        smd_before, smd_after, variance_ratio_after``.

    Examples
    --------
    >>> import numpy as np
    >>> from effekt.participants import balance_table
    >>> t = balance_table(["x"], np.array([1.0, 2.0]), np.array([0.0, 2.0, 4.0]),
    ...                   np.array([0.0, 1.0, 0.0]))
    >>> float(t.loc[0, "mean_comparison_after"])
    2.0
    """
    xt = np.asarray(xt, float).reshape(len(xt), -1)
    xc = np.asarray(xc, float).reshape(len(xc), -1)
    wt = np.ones(len(xt)) if treated_weight is None else treated_weight
    mt, vt = _weighted_mean_var(xt, wt)
    mc, vc = _weighted_mean_var(xc, np.ones(len(xc)))
    used = control_weight > 0
    ma, va = _weighted_mean_var(xc[used], control_weight[used])
    with np.errstate(divide="ignore", invalid="ignore"):
        pooled = np.sqrt((vt + vc) / 2)
        pooled = np.where(pooled > 0, pooled, np.nan)
        ratio = np.where(va > 0, vt / va, np.nan)
    return pd.DataFrame(
        {
            "covariate": names,
            "mean_participants": mt,
            "mean_comparison_before": mc,
            "mean_comparison_after": ma,
            "smd_before": (mt - mc) / pooled,
            "smd_after": (mt - ma) / pooled,
            "variance_ratio_after": ratio,
        }
    )
