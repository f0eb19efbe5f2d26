"""The nested V/W optimisation of Abadie, Diamond & Hainmueller.

Inner problem (W): for predictor weights ``v``, the donor weights minimise
``sum_k v_k (x1_k - x0_k' w)^2`` on the simplex; solved exactly by
:func:`effekt.synth._weights.solve_simplex`.

Outer problem (V): ``v`` minimises the pre-treatment outcome MSPE
``L(v) = mean_t (z1_t - z0_t' w*(v))^2`` over the loss periods, as in R Synth.
``L`` is piecewise smooth: on a fixed donor support ``S`` the weights solve the
KKT system ``[H 1; 1' 0] [w; nu] = [X_S' V x1; 1]`` with ``H = X_S' V X_S``, so
(implicit differentiation) ``dw/dv_k = M x_k r_k`` with ``M`` the top-left block
of the KKT inverse and ``r = x1 - X w`` the predictor residual.

The search, in three steps:

1. **Canonical order.** Donors and predictors are put in one canonical order
   (lexicographic on their values) before anything is computed, and the
   weights are mapped back. The answer therefore does not depend on the order
   in which predictors or donors are listed: every floating-point operation is
   the same for any permutation.
2. **The unrestricted optimum** (Becker & Klößner 2018). The donor weights that
   minimise the outcome MSPE directly, ignoring the predictors, bound ``L``
   from below. A linear programme checks whether some ``v`` makes them the
   inner solution; if so, that ``v`` is a certified global optimum.
3. **Multi-start descent.** Otherwise ``L`` is minimised with L-BFGS-B on the
   exact gradient (on the log scale of ``v``) from deterministic starts (equal
   weights, the inverse-variance weights, R Synth's regression-based start, a
   start near each vertex, any user start) and ``n_starts`` seeded random
   draws on the simplex. Short runs from every start are followed by runs to
   convergence from the best few. The loss is evaluated at every start
   itself, and the best point ever evaluated is returned, so the fit is never
   worse than any start tried.

Nelder-Mead on ``L`` (what pysyncon and R Synth's first pass use) needs
hundreds of inner solves per start and often stops at a poor vertex of the
piecewise-smooth surface.

References
----------
Becker, M. and Klößner, S. (2018). Fast and reliable computation of
generalized synthetic controls. Econometrics and Statistics 5, 1-19.
doi:10.1016/j.ecosta.2017.08.002
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.optimize import linprog, minimize, nnls

from effekt.synth._weights import solve_simplex

if TYPE_CHECKING:  # pragma: no cover
    from effekt.synth._prep import SynthData

try:  # optional: not a dependency of effekt, but present wherever scikit-learn is
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None


def _one_blas_thread() -> AbstractContextManager[Any]:
    """One BLAS thread for the V search, when threadpoolctl is installed.

    Its matrices are tiny (predictors x donors), so a multi-threaded OpenBLAS
    spends more time waking threads than multiplying: on a busy 2-core machine
    the Prop 99 fit took 3.8 s of CPU with the default threads and 1.2 s with one.
    """
    return nullcontext() if threadpool_limits is None else threadpool_limits(1, "blas")


# smallest predictor weight searched, relative to the largest: MSCMT's lower bound. Below
# it W is decided by terms at rounding level (a perfect fit on the heavy predictors leaves
# the tiny ones to break the tie), and two exact inner solvers can disagree on W.
_LOG_FLOOR = float(np.log(1e-8))
_N_POLISH = 3  # best distinct short runs continued to convergence
_SHORT_ITER = 25  # iterations of the short run from every start
_POLISH_ITER = 100  # iterations of a run to convergence (the surface is kinked: more rarely help)
_N_SCREEN = 200  # log-uniform V evaluated once to find further starts
_N_SCREEN_KEEP = 12  # best screened V that get a short run
_SCREEN_LOG = -4.0  # screened log predictor weights lie in [-4, 0] (ratios up to 55)
_SCREEN_STREAM = 20_231  # seeds the screening draws apart from the user's random starts


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


def solve_w_nnls(x1: np.ndarray, x0: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Donor weights for ``v`` through one non-negative least-squares solve.

    With points ``P = V^(1/2) (X0 - x1)``, minimising ``||P u||^2 + (1'u - 1)^2``
    over ``u >= 0`` and setting ``w = u / 1'u`` gives the nearest point of the
    simplex hull exactly: for a direction ``w`` the best scale is
    ``1 / (1 + ||P w||^2)`` and the value ``||P w||^2 / (1 + ||P w||^2)`` is
    increasing in ``||P w||^2`` (Lawson & Hanson 1974, ch. 23, least distance
    programming). scipy's compiled Lawson-Hanson NNLS is about ten times faster
    than :func:`solve_simplex` on the small problems of the V search, which
    evaluates thousands of them; the final weights are re-solved with
    :func:`solve_w`.
    """
    root = np.sqrt(np.maximum(v, 0.0))
    e = np.vstack([root[:, None] * (x0 - x1[:, None]), np.ones(x0.shape[1])])
    f = np.zeros(len(x1) + 1)
    f[-1] = 1.0
    u, _ = nnls(e, f)
    total = u.sum()
    if not total > 0:  # cannot happen: u = e_j / (1 + ||p_j||^2) already beats u = 0
        return solve_w(x1, x0, v)
    return u / total


class _Loss:
    """Outcome MSPE as a function of ``v``, with its exact gradient on the current support."""

    def __init__(self, x1, x0, z1, z0) -> None:
        self.x1, self.x0, self.z1, self.z0 = x1, x0, z1, z0
        self.best: tuple[float, Any, Any] = (np.inf, None, None)  # (loss, v, w)
        self.calls = 0

    def value(self, v: np.ndarray) -> float:
        """The loss alone (screening)."""
        return self(v, gradient=False)[0]

    def __call__(self, v: np.ndarray, gradient: bool = True) -> tuple[float, np.ndarray]:
        self.calls += 1
        v = np.maximum(v, 0.0)
        if v.sum() <= 0:
            v = np.ones_like(v)
        w = solve_w_nnls(self.x1, self.x0, v)
        resid = self.z1 - self.z0 @ w
        loss = float(resid @ resid) / len(resid)
        if loss < self.best[0]:
            self.best = (loss, v / v.sum(), w)
        grad = np.zeros_like(v)
        support = np.flatnonzero(w)
        k = len(support)
        if gradient and k > 1:
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


def inverse_variance_start(x1: np.ndarray, x0: np.ndarray) -> np.ndarray:
    """Predictor weights proportional to one over each predictor's variance across units.

    On standardised predictors (the default) this is the equal start: R Synth's
    scaling by the standard deviation is exactly the inverse-variance V.
    """
    var = np.column_stack([x1, x0]).var(axis=1, ddof=1)
    inv = np.where(var > 0, 1.0 / np.where(var > 0, var, 1.0), 0.0)
    return inv / inv.sum() if inv.sum() > 0 else np.ones(len(x1)) / len(x1)


def v_starts(
    x1: np.ndarray,
    x0: np.ndarray,
    z1: np.ndarray,
    z0: np.ndarray,
    *,
    v_start: np.ndarray | None,
    n_starts: int,
    seed: int | None,
) -> list[np.ndarray]:
    """Every starting V of the search (in the order given), duplicates removed.

    Deterministic starts first (equal, inverse-variance, regression-based, the
    user's, one near each vertex), then ``n_starts`` seeded Dirichlet draws.
    Called on canonically ordered inputs, so the random draws fall on the same
    predictors whatever order the user listed them in.
    """
    k = len(x1)
    starts = [np.ones(k) / k, inverse_variance_start(x1, x0)]
    reg = regression_start(x1, x0, z1, z0)
    if reg is not None:
        starts.append(reg)
    if v_start is not None:
        starts.append(np.asarray(v_start, float) / np.sum(v_start))
    # near-vertex starts: optimal V is often dominated by one or two predictors
    starts += list(0.9 * np.eye(k) + 0.1 / k)
    # and at a vertex itself (the others at the search's floor): Becker & Klößner (2018)
    # find optimal V close to a vertex, e.g. nearly all weight on lagged outcomes
    starts += list(np.eye(k))
    rng = np.random.default_rng(seed)
    starts += list(rng.dirichlet(np.full(k, 0.5), size=n_starts))
    unique: list[np.ndarray] = []
    for start in starts:
        if not any(np.allclose(start, u, rtol=0.0, atol=1e-12) for u in unique):
            unique.append(start)
    return unique


def unrestricted_optimum(
    x1: np.ndarray, x0: np.ndarray, z1: np.ndarray, z0: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """The outcome-only optimum, when some V makes it the inner solution (else None).

    The donor weights ``w_u`` that minimise the outcome MSPE over the simplex
    bound the outer loss from below. ``w_u`` solves the inner problem for ``v``
    exactly when the KKT conditions hold: the inner gradient
    ``g_j(v) = sum_k v_k r_k x0_kj`` (``r = X0 w_u - x1``) equals a constant
    ``lambda`` on the support of ``w_u`` and is at least ``lambda`` elsewhere.
    That is linear in ``(v, lambda)``, so one LP decides it (Becker & Klößner
    2018, Section 3: the "unrestricted outer optimum" is feasible). The LP
    maximises the smallest slack off the support; the candidate is accepted
    only when the inner solver, given that ``v``, reproduces ``w_u``'s loss.
    """
    w_u = solve_simplex(z0 - z1[:, None])
    resid = z1 - z0 @ w_u
    loss_u = float(resid @ resid) / len(resid)
    k = x0.shape[0]
    r = x0 @ w_u - x1
    if np.abs(r).max() <= 1e-10 * (np.abs(x1).max() + 1.0):
        # the outcome-only weights also match every predictor: optimal for any V
        return _attained(x1, x0, z1, z0, np.ones(k) / k, loss_u)
    support = w_u > 0
    a = (x0 * r[:, None]).T  # (J, K): g(v) = a @ v
    a = a / float(np.abs(a).max())
    # variables (v_1..v_K, lambda, t); maximise t
    c = np.zeros(k + 2)
    c[-1] = -1.0
    a_eq = np.zeros((int(support.sum()) + 1, k + 2))
    a_eq[:-1, :k] = a[support]
    a_eq[:-1, k] = -1.0
    a_eq[-1, :k] = 1.0
    b_eq = np.zeros(len(a_eq))
    b_eq[-1] = 1.0
    off = ~support
    a_ub = np.zeros((int(off.sum()), k + 2))
    a_ub[:, :k] = -a[off]
    a_ub[:, k] = 1.0
    a_ub[:, k + 1] = 1.0
    # every v_k at least the search's floor, as in MSCMT: with a zero weight the inner
    # problem can have a whole face of solutions and "feasible" would say nothing
    bounds = [(float(np.exp(_LOG_FLOOR)), None)] * k + [(None, None), (None, 1.0)]
    lp = linprog(
        c,
        A_ub=a_ub if len(a_ub) else None,
        b_ub=np.zeros(len(a_ub)) if len(a_ub) else None,
        A_eq=a_eq,
        b_eq=b_eq,
        bounds=bounds,
        method="highs",
    )
    if lp.status != 0 or lp.x[-1] < -1e-9:
        return None
    v = np.maximum(lp.x[:k], 0.0)
    if v.sum() <= 0:
        return None
    return _attained(x1, x0, z1, z0, v / v.sum(), loss_u)


def _attained(x1, x0, z1, z0, v, loss_u) -> tuple[np.ndarray, np.ndarray] | None:
    """``(v, w)`` when the inner solution for ``v`` reaches the bound ``loss_u``, else None."""
    w = solve_w_nnls(x1, x0, v)
    # both exact solvers must reach the bound (up to their stopping rules, relative to the
    # outcome's scale when the bound is a perfect fit): a face of inner solutions fails here
    slack = 1e-9 * (loss_u + 1e-3 * float(np.mean(z1**2)))
    for candidate in (w, solve_w(x1, x0, v)):
        resid = z1 - z0 @ candidate
        if float(resid @ resid) / len(resid) > loss_u + slack:
            return None
    return v, w


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
    certified = unrestricted_optimum(x1, x0, z1, z0)
    if certified is not None:
        return certified
    k = len(x1)
    loss = _Loss(x1, x0, z1, z0)
    starts = v_starts(x1, x0, z1, z0, v_start=v_start, n_starts=n_starts, seed=seed)
    floor = np.exp(_LOG_FLOOR)
    starts = [np.maximum(s / s.max(), floor) for s in starts]  # inside the searched box
    for start in starts:  # the start itself counts: the search never ends worse
        loss.value(start)
    # screening: the loss surface has many basins (a vertex of W for every support), so
    # cheap evaluations on a log-uniform grid of V pick further starts for the descent
    rng = np.random.default_rng([_SCREEN_STREAM, 0 if seed is None else seed])
    screen = np.exp(rng.uniform(_SCREEN_LOG, 0.0, size=(_N_SCREEN, k)))
    screen = np.maximum(screen / screen.max(axis=1, keepdims=True), floor)
    values = np.array([loss.value(v) for v in screen])
    starts += [screen[i] for i in np.argsort(values, kind="stable")[:_N_SCREEN_KEEP]]

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        v = np.exp(theta)
        value, grad = loss(v)
        return value, grad * v

    bounds = [(_LOG_FLOOR, 0.0)] * k
    short = []
    for start in starts:
        theta0 = np.log(start)
        res = minimize(
            objective,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": _SHORT_ITER, "ftol": 1e-10, "gtol": 1e-9},
        )
        short.append((float(res.fun), res.x))
    short.sort(key=lambda item: item[0])
    polished: list[float] = []
    for value, theta0 in short:
        if len(polished) == _N_POLISH:
            break
        if any(abs(value - p) <= 1e-9 * max(abs(p), 1e-300) for p in polished):
            continue  # the same basin as a run already polished
        polished.append(value)
        minimize(
            objective,
            theta0,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": _POLISH_ITER, "ftol": 1e-12, "gtol": 1e-10},
        )
    _, v, w = loss.best
    if v is None or w is None:  # every start failed to evaluate: cannot happen for finite data
        raise RuntimeError("the V search evaluated no point")
    return v, w


def canonical_order(
    x1: np.ndarray, x0: np.ndarray, z0: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Orders of predictors and donors that do not depend on how they were listed.

    Donors are sorted lexicographically by their loss-period outcomes, then
    their predictors; predictors by the treated unit's value, then the donors'
    (in canonical donor order). Ties are identical rows or columns, whose order
    changes no number.
    """
    donor_order = np.lexsort(np.vstack([z0, x0])[::-1])
    rows = np.column_stack([x1, x0[:, donor_order]])
    predictor_order = np.lexsort(rows.T[::-1])
    return predictor_order, donor_order


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

    Returns
    -------
    WeightsFit
        In the caller's order of predictors and donors; the numbers are the same
        for any order (see :func:`canonical_order`).
    """
    pk, pj = canonical_order(x1, x0, z0)
    x1c, x0c, z0c = x1[pk], x0[np.ix_(pk, pj)], z0[:, pj]
    vc = None if v_start is None else np.asarray(v_start, float)[pk]
    scale = scale_predictors(x1c, x0c, standardize)
    xs1, xs0 = x1c / scale, x0c / scale[:, None]
    k = len(x1)
    if not optimize_v or k == 1:
        v = np.ones(k) / k if vc is None else vc / np.sum(vc)
        w = solve_w(xs1, xs0, v)
    else:
        with _one_blas_thread():
            v, w = _search_v(xs1, xs0, z1, z0c, v_start=vc, n_starts=n_starts, seed=seed)
    resid_x = xs1 - xs0 @ w
    resid_z = z1 - z0c @ w
    w_out, v_out, scale_out = np.empty_like(w), np.empty_like(v), np.empty_like(scale)
    w_out[pj], v_out[pk], scale_out[pk] = w, v, scale
    return WeightsFit(
        w=w_out,
        v=v_out,
        loss_v=float(resid_z @ resid_z) / len(resid_z),
        loss_w=float(resid_x @ (v * resid_x)),
        scale=scale_out,
    )


def fit_unit(data: SynthData, settings: dict[str, Any]) -> WeightsFit:
    """Weights for one treated unit (module level, so process pools can pickle it).

    ``settings`` are the estimator's V-search settings (``optimize_v``,
    ``v_start``, ``n_starts``, ``seed``, ``standardize``), kept on the result so
    that placebo and leave-one-out refits use the same search.
    """
    mask = data.loss_mask
    return fit_weights(data.x1, data.x0, data.y1[mask], data.y0[mask], **settings)
