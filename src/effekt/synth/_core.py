"""The nested V/W optimisation of Abadie, Diamond & Hainmueller.

Inner problem (W): for predictor weights ``v``, the donor weights minimise
``sum_k v_k (x1_k - x0_k' w)^2`` on the simplex; solved exactly by
:func:`effekt.synth._weights.solve_simplex`.

Outer problem (V): ``v`` minimises the pre-treatment outcome MSPE
``L(v) = mean_t (z1_t - z0_t' w*(v))^2`` over the loss periods, as in R Synth.
``L`` is piecewise smooth: on a fixed donor support ``S`` the weights solve the
KKT system ``[H 1; 1' 0] [w; nu] = [X_S' V x1; 1]`` with ``H = X_S' V X_S``, so
(implicit differentiation) ``dw/dv_k = M x_k r_k`` with ``M`` the top-left block
of the KKT inverse and ``r = x1 - X w`` the predictor residual. We minimise ``L``
with L-BFGS-B on this exact gradient from several starts (equal weights, R
Synth's regression-based start, any user start, and seeded random draws on the
simplex) and keep the best. Nelder-Mead on ``L`` (what pysyncon and R Synth's
first pass use) needs hundreds of inner solves per start and often stops at a
poor vertex of the piecewise-smooth surface.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from effekt.synth._weights import solve_simplex

_LOG_FLOOR = -30.0  # smallest log predictor weight searched (relative to the largest, 0)
_N_POLISH = 3  # best short runs continued to convergence


@dataclass
class WeightsFit:
    """Donor and predictor weights of one synthetic control."""

    w: np.ndarray  # (J,) donor weights
    v: np.ndarray  # (K,) predictor weights, normalised to sum to one
    loss_v: float  # pre-period outcome MSPE over the loss periods
    loss_w: float  # V-weighted predictor discrepancy (standardised)
    scale: np.ndarray  # (K,) predictor standardisation divisors


def scale_predictors(x1: np.ndarray, x0: np.ndarray, standardize: bool) -> np.ndarray:
    """Divisors: each predictor's SD across the treated unit and donors (as R Synth)."""
    if not standardize:
        return np.ones(x1.shape[0])
    sd = np.column_stack([x1, x0]).std(axis=1, ddof=1)
    return np.where(sd > 0, sd, 1.0)


def solve_w(x1: np.ndarray, x0: np.ndarray, v: np.ndarray, start: np.ndarray | None = None):
    """Donor weights for predictor weights ``v`` (standardised predictors)."""
    root = np.sqrt(np.maximum(v, 0.0))
    return solve_simplex(root[:, None] * (x0 - x1[:, None]), start=start)


class _Loss:
    """Outcome MSPE as a function of ``v``, with its exact gradient on the current support."""

    def __init__(self, x1, x0, z1, z0) -> None:
        self.x1, self.x0, self.z1, self.z0 = x1, x0, z1, z0
        self.support: np.ndarray | None = None
        self.best = (np.inf, None, None)  # (loss, v, w)

    def __call__(self, v: np.ndarray) -> tuple[float, np.ndarray]:
        v = np.maximum(v, 0.0)
        if v.sum() <= 0:
            v = np.ones_like(v)
        w = solve_w(self.x1, self.x0, v, self.support)
        support = np.flatnonzero(w)
        self.support = support
        resid = self.z1 - self.z0 @ w
        loss = float(resid @ resid) / len(resid)
        if loss < self.best[0]:
            self.best = (loss, v / v.sum(), w)
        grad = np.zeros_like(v)
        k = len(support)
        if k > 1:
            xs = self.x0[:, support]
            r = self.x1 - xs @ w[support]
            kkt = np.ones((k + 1, k + 1))
            kkt[:k, :k] = xs.T @ (v[:, None] * xs)
            kkt[k, k] = 0.0
            g_w = -2.0 / len(resid) * (self.z0[:, support].T @ resid)
            try:
                m = np.linalg.solve(kkt, np.append(g_w, 0.0))[:k]
            except np.linalg.LinAlgError:
                m = np.linalg.lstsq(kkt, np.append(g_w, 0.0), rcond=None)[0][:k]
            grad = (xs @ m) * r
        return loss, grad


def regression_start(x1, x0, z1, z0) -> np.ndarray | None:
    """R Synth's regression-based starting V: squared coefficients of Z on X (with intercept)."""
    xall = np.column_stack([np.ones(x0.shape[1] + 1), np.column_stack([x1, x0]).T])
    if xall.shape[0] <= xall.shape[1]:
        return None
    zall = np.column_stack([z1, z0])
    beta, *_ = np.linalg.lstsq(xall, zall.T, rcond=None)
    diag = np.sum(beta[1:] ** 2, axis=1)
    if not np.isfinite(diag).all() or diag.sum() <= 0:
        return None
    return diag / diag.sum()


def _search_v(
    x1: np.ndarray,
    x0: np.ndarray,
    z1: np.ndarray,
    z0: np.ndarray,
    *,
    v_start: np.ndarray | None,
    n_starts: int,
    seed: int | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-start search of V: short L-BFGS runs from every start, then the best few to the end.

    V is searched on the log scale (``v = exp(theta)``): optimal predictor weights
    are often tiny but not zero, and the loss is invariant to V's scale.
    """
    k = len(x1)
    loss = _Loss(x1, x0, z1, z0)
    starts = [np.ones(k) / k]
    reg = regression_start(x1, x0, z1, z0)
    if reg is not None:
        starts.append(reg)
    if v_start is not None:
        starts.append(np.asarray(v_start, float) / np.sum(v_start))
    # near-vertex starts: optimal V is often dominated by one or two predictors
    starts += list(0.9 * np.eye(k) + 0.1 / k)
    rng = np.random.default_rng(seed)
    starts += list(rng.dirichlet(np.full(k, 0.5), size=n_starts))

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        v = np.exp(theta)
        value, grad = loss(v)
        return value, grad * v

    bounds = [(_LOG_FLOOR, 0.0)] * k
    short = []
    for start in starts:
        loss.support = None
        theta0 = np.log(np.maximum(start, np.exp(_LOG_FLOOR)))
        res = minimize(
            objective,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 25, "ftol": 1e-10, "gtol": 1e-9},
        )
        short.append((float(res.fun), res.x))
    short.sort(key=lambda item: item[0])
    for _, theta0 in short[:_N_POLISH]:
        loss.support = None
        minimize(
            objective,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-11},
        )
    _, v, w = loss.best
    if v is None or w is None:  # every start failed to evaluate: cannot happen for finite data
        raise RuntimeError("the V search evaluated no point")
    return v, w


def fit_weights(
    x1: np.ndarray,
    x0: np.ndarray,
    z1: np.ndarray,
    z0: np.ndarray,
    *,
    optimize_v: bool,
    v_start: np.ndarray | None,
    n_starts: int,
    seed: int | None,
    standardize: bool = True,
) -> WeightsFit:
    """ADH synthetic control weights for one treated unit.

    Parameters
    ----------
    x1, x0 : raw predictors of the treated unit (K,) and donors (K, J).
    z1, z0 : outcomes in the loss periods of the treated unit (T,) and donors (T, J).
    optimize_v : search V (True) or use ``v_start`` / equal weights as they are.
    v_start : optional user V (raw predictor scale is irrelevant: V applies to
        standardised predictors).
    n_starts : number of random starts added to the deterministic ones.
    seed : seed of the random starts.
    """
    scale = scale_predictors(x1, x0, standardize)
    xs1, xs0 = x1 / scale, x0 / scale[:, None]
    k = len(x1)
    if not optimize_v or k == 1:
        v = np.ones(k) / k if v_start is None else np.asarray(v_start, float) / np.sum(v_start)
        w = solve_w(xs1, xs0, v)
    else:
        v, w = _search_v(xs1, xs0, z1, z0, v_start=v_start, n_starts=n_starts, seed=seed)
    resid_x = xs1 - xs0 @ w
    resid_z = z1 - z0 @ w
    return WeightsFit(
        w=w,
        v=v,
        loss_v=float(resid_z @ resid_z) / len(resid_z),
        loss_w=float(resid_x @ (v * resid_x)),
        scale=scale,
    )
