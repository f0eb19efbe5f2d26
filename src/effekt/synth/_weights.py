"""Exact solver for least squares on the probability simplex.

Every weight problem in :mod:`effekt.synth` has the form

.. math:: \\min_w \\; \\lVert A w - b \\rVert^2 + \\eta \\lVert w \\rVert^2
          \\quad\\text{s.t.}\\quad w \\ge 0,\\; \\textstyle\\sum_j w_j = 1

(ADH donor weights with :math:`\\eta = 0`, the unit and time weights of
synthetic DiD with the paper's ridge term). Because :math:`\\sum_j w_j = 1`,
:math:`A w - b = \\sum_j w_j (a_j - b)`, so the problem is the nearest point to
the origin of the convex hull of the points :math:`p_j = a_j - b` (augmented by
:math:`\\sqrt{\\eta}\\,e_j` for the ridge term). We solve it with Wolfe's (1976)
minimum-norm-point algorithm, an active-set method that

- terminates after finitely many steps at the exact optimum (up to rounding),
- keeps its working set ("corral") affinely independent, so it never solves a
  singular system even with many more donors than predictors, which is the
  usual synthetic-control case where generic QP codes struggle, and
- costs :math:`O(K J)` per major step (one product with the points), plus a
  small system in the working set, so thousands of donors are no problem.

It replaces interior-point codes (R Synth's ``ipop``), Frank-Wolfe (R
synthdid), and SLSQP (pysyncon): those stop near the optimum, while the active
set here identifies exactly which donors get zero weight.

References
----------
Wolfe, P. (1976). Finding the nearest point in a polytope. Mathematical
Programming 11, 128-149. doi:10.1007/BF01580381
"""

from __future__ import annotations

import numpy as np

_TOL = 1e-12  # relative optimality tolerance of Wolfe's major-cycle test
_EPS = 1e-14  # weights below this are zero
_DENSE = 200  # ridge problems with more donors than this go to projected gradient


def solve_simplex(
    points: np.ndarray,
    eta: float = 0.0,
    start: np.ndarray | None = None,
    max_iter: int = 10_000,
) -> np.ndarray:
    """Nearest point to the origin in the convex hull of ``points`` (Wolfe's algorithm).

    Minimises ``||P w||^2 + eta ||w||^2`` over the probability simplex, where
    the columns of ``P`` are the points. A ridge problem (``eta > 0``) with many
    donors has a dense solution, which Wolfe's algorithm builds one donor per
    step; it is then solved by accelerated projected gradient instead (strongly
    convex, so it converges linearly), to the same duality-gap tolerance.

    Parameters
    ----------
    points : ndarray, shape (K, J)
        One column per donor: its values minus the treated unit's.
    eta : float
        Ridge penalty (>= 0), i.e. the points augmented by ``sqrt(eta) e_j``.
    start : ndarray of int, optional
        Support of a previous solution to a nearby problem (warm start). Used
        when its affine minimiser is strictly positive, else ignored.
    max_iter : int
        Safety cap on major plus minor cycles (never reached in practice).

    Returns
    -------
    ndarray, shape (J,)
        Weights, non-negative and summing to one.
    """
    n = points.shape[1]
    if n == 1:
        return np.ones(1)
    if eta > 0 and n > _DENSE:
        return _projected_gradient(points, eta)
    sq = np.einsum("kj,kj->j", points, points) + eta
    scale = max(float(sq.max()), np.finfo(float).tiny)

    def gram(s: np.ndarray) -> np.ndarray:
        ps = points[:, s]
        g = ps.T @ ps
        if eta:
            g[np.diag_indices_from(g)] += eta
        return g

    support = np.array([int(np.argmin(sq))])
    lam = np.ones(1)
    if start is not None and len(start) > 1:
        start = np.asarray(start, dtype=np.intp)
        mu = _affine_min(gram(start))
        if np.all(mu > _EPS):
            support, lam = start, mu
    for _ in range(max_iter):
        # x = P_S lam (+ the ridge part); g_j = x . p_j
        x = points[:, support] @ lam
        g = points.T @ x
        if eta:
            g[support] += eta * lam
        j = int(np.argmin(g))
        if float(lam @ g[support]) - g[j] <= _TOL * scale or j in support:
            break
        support = np.append(support, j)
        lam = np.append(lam, 0.0)
        while True:  # minor cycles: towards the corral's affine minimiser
            mu = _affine_min(gram(support))
            neg = mu <= _EPS
            if not neg.any():
                lam = mu
                break
            # largest step from lam towards mu that keeps every weight >= 0
            idx = np.flatnonzero(neg)
            ratios = lam[idx] / (lam[idx] - mu[idx])
            blocking = idx[int(np.argmin(ratios))]
            lam = lam + min(1.0, float(ratios.min())) * (mu - lam)
            keep = lam > _EPS
            keep[blocking] = False
            if not keep.any():  # rounding guard; cannot happen for a valid corral
                keep[int(np.argmax(lam))] = True
            support, lam = support[keep], lam[keep]
            lam = lam / lam.sum()
            if len(support) == 1:
                break
    w = np.zeros(n)
    w[support] = lam
    return w


def _project(v: np.ndarray) -> np.ndarray:
    """Euclidean projection onto the probability simplex (sort-based, Held et al. 1974)."""
    u = np.sort(v)[::-1]
    css = np.cumsum(u) - 1.0
    k = np.arange(1, len(v) + 1)
    rho = int(np.nonzero(u - css / k > 0)[0][-1])
    return np.maximum(v - css[rho] / (rho + 1), 0.0)


def _projected_gradient(points: np.ndarray, eta: float, max_iter: int = 100_000) -> np.ndarray:
    """FISTA with adaptive restart for ``||P w||^2 + eta ||w||^2`` on the simplex.

    Stops when the Frank-Wolfe duality gap ``g'w - min_j g_j`` (an upper bound on
    the distance to the optimal value) falls below the same relative tolerance
    as Wolfe's algorithm.
    """
    n = points.shape[1]
    lipschitz = 2.0 * (float(np.linalg.norm(points, 2)) ** 2 + eta)
    scale = float(np.max(np.einsum("kj,kj->j", points, points))) + eta
    w = np.full(n, 1.0 / n)
    y, t = w.copy(), 1.0

    def grad(x: np.ndarray) -> np.ndarray:
        return 2.0 * (points.T @ (points @ x) + eta * x)

    for _ in range(max_iter):
        w_new = _project(y - grad(y) / lipschitz)
        g = grad(w_new)
        if float(g @ w_new - g.min()) <= 2.0 * _TOL * scale:
            return w_new
        t_new = (1.0 + np.sqrt(1.0 + 4.0 * t * t)) / 2.0
        if float(g @ (w_new - w)) > 0:  # restart momentum when it points uphill
            y, t_new = w_new.copy(), 1.0
        else:
            y = w_new + (t - 1.0) / t_new * (w_new - w)
        w, t = w_new, t_new
    return w


def _affine_min(gram_s: np.ndarray) -> np.ndarray:
    """Minimiser of ``mu' G mu`` subject to ``sum(mu) = 1`` (the corral's KKT system)."""
    k = gram_s.shape[0]
    kkt = np.ones((k + 1, k + 1))
    kkt[:k, :k] = gram_s
    kkt[k, k] = 0.0
    rhs = np.zeros(k + 1)
    rhs[k] = 1.0
    try:
        sol = np.linalg.solve(kkt, rhs)
    except np.linalg.LinAlgError:  # affinely dependent up to rounding: least-norm solution
        sol = np.linalg.lstsq(kkt, rhs, rcond=None)[0]
    return sol[:k]


def simplex_lstsq(a: np.ndarray, b: np.ndarray, eta: float = 0.0) -> np.ndarray:
    """Solve ``min ||a w - b||^2 + eta ||w||^2`` over the probability simplex.

    Parameters
    ----------
    a : ndarray, shape (K, J)
        One column per donor (predictors or pre-period outcomes).
    b : ndarray, shape (K,)
        The treated unit's values.
    eta : float
        Ridge penalty (>= 0).

    Returns
    -------
    ndarray, shape (J,)

    Examples
    --------
    >>> import numpy as np
    >>> from effekt.synth._weights import simplex_lstsq
    >>> a = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> np.round(simplex_lstsq(a, np.array([0.25, 0.25])), 6).tolist()
    [0.5, 0.25, 0.25]
    """
    a = np.asarray(a, dtype=float)
    return solve_simplex(a - np.asarray(b, dtype=float)[:, None], eta)
