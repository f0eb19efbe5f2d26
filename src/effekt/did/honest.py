"""HonestDiD: confidence sets robust to violations of parallel trends (Rambachan & Roth 2023).

An event study's coefficients are :math:`\\beta = \\tau + \\delta`, with
:math:`\\tau_{pre} = 0` and :math:`\\delta` the difference in trends. Parallel trends
says :math:`\\delta_{post} = 0`; Rambachan & Roth instead restrict :math:`\\delta` to a
set :math:`\\Delta` informed by the pre-trends and report confidence sets for
:math:`\\theta = l'\\tau_{post}` that are valid for every :math:`\\delta \\in \\Delta`.
Positions follow HonestDiD: the reference period (event time -1) is 0, pre-periods
are :math:`-T_{pre}, \\dots, -1`, post-periods :math:`1, \\dots, T_{post}`, and
:math:`\\delta_0 = 0`.

- Smoothness, :math:`\\Delta^{SD}(M)`: every second difference of :math:`\\delta`
  (with :math:`\\delta_0 = 0`) is at most ``M`` in absolute value; ``M = 0`` means the
  difference in trends is exactly linear. The interval is the optimal fixed-length
  confidence interval (FLCI, HonestDiD's default for :math:`\\Delta^{SD}`): the affine
  estimator :math:`v'\\hat\\beta` with post weights ``l`` whose worst-case-bias-aware
  half-length :math:`\\sigma_v \\, cv_\\alpha(\\bar b(v)/\\sigma_v)` is smallest, where
  :math:`cv_\\alpha(b)` is the :math:`1-\\alpha` quantile of :math:`|N(b, 1)|`. The worst
  case bias has the closed form :math:`M \\lVert (A^{+})'v \\rVert_1` (``A`` the
  second-difference matrix) when ``v`` is orthogonal to linear trends, so the problem
  is a small convex program solved exactly here (HonestDiD searches a grid).
- Relative magnitudes, :math:`\\Delta^{RM}(\\bar M)`: each post-period first difference
  of :math:`\\delta` is at most :math:`\\bar M` times the largest pre-period first
  difference. :math:`\\Delta^{RM}` is the union over the location and sign of that
  largest pre-period difference of polyhedra; for each, the Andrews-Roth-Pakes (2023)
  conditional test with the least-favourable hybrid (:math:`\\kappa = \\alpha/10`) is
  inverted and the union of the accepted values reported, as HonestDiD's ``C-LF``
  method does (post-period moments only, which leaves the union unchanged). The dual
  vertices of each test's linear program are enumerated, so the statistic, its
  conditioning bounds and the least-favourable critical value (10,000 simulated draws,
  HonestDiD uses 1,000) are exact matrix operations; the accepted set is found on a
  grid of 1,000 points and its end points refined by bisection.

For a single post event time ``e``, the post periods after ``e`` are kept by default,
as R HonestDiD does (``l_vec`` a basis vector over all post periods) and as Roth
recommends (HonestDiD issue #49: dropping them discards information in the
relative-magnitudes test). They restrict neither set's bound on :math:`\\delta_e`, so
the FLCI is the same either way; the RM test keeps their moments, with the later
post-period effects as nuisance parameters, and its sets differ slightly.
``post_periods="through_e"`` gives the truncated variant (the later periods left out).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from effekt.errors import (
    AssumptionWarning,
    IdentificationError,
    ParameterError,
    check_choice,
    check_int,
    check_keywords,
    invalid_parameter,
)
from effekt.options import resolve_level
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

__all__ = ["HonestDiDResult", "honest_did"]

_DEFAULT_MBAR = (0.5, 1.0, 1.5, 2.0)
_LF_SIMS = 10_000
_GRID = 1000
_MAX_SUPPORTS = 2_000_000


@check_keywords
def honest_did(
    result: Any,
    *,
    method: str = "relative_magnitude",
    Mbar: float | Sequence[float] | None = None,
    M: float | Sequence[float] | None = None,
    e: int | str = 0,
    post_periods: str = "all",
    ci_level: float | None = None,
    seed: int = 0,
) -> HonestDiDResult:
    """Sensitivity of an event-study effect to violations of parallel trends.

    Parameters
    ----------
    result : Result
        Any result with ``event_study_coefficients()``: ``TwoWayFE(event_study=True)``,
        ``SunAbraham``, ``Imputation`` (with ``leads``) or ``CallawaySantAnna``'s
        event-time aggregate. Pre-periods are the negative event times, which must be
        consecutive and end at -2 (reference -1 omitted); post-periods must run
        0, 1, ... without gaps.
    method : {"relative_magnitude", "smoothness"}, default "relative_magnitude"
        The restriction: :math:`\\Delta^{RM}(\\bar M)` or :math:`\\Delta^{SD}(M)`.
    Mbar : float or sequence of float, optional
        Relative-magnitude bounds (non-negative), one robust set each. Default
        0.5, 1, 1.5, 2.
    M : float or sequence of float, optional
        Smoothness bounds (non-negative, in outcome units per period squared). Default:
        five values from 0 to the upper 1 - alpha/2 confidence bound of the largest
        pre-period second difference (as HonestDiD's default grid); needs two
        pre-periods.
    e : int or "average", default 0
        The target: the effect at post event time ``e``, or the average over all
        post event times.
    post_periods : {"all", "through_e"}, default "all"
        Which post-period coefficients enter the analysis of a single event time
        ``e``. ``"all"`` keeps every post period (R HonestDiD's convention and Roth's
        recommendation); ``"through_e"`` drops those after ``e``. The FLCI
        (smoothness) is the same under both; the relative-magnitudes set can differ.
        Ignored for ``e="average"``, which uses every post period.
    ci_level : float, optional
        Confidence level; default ``effekt.options["ci_level"]``.
    seed : int, default 0
        Seed of the draws for the least-favourable critical value (relative
        magnitudes); the same seed gives identical sets.

    Returns
    -------
    HonestDiDResult
        One row per ``Mbar``/``M`` value (robust set) after the original interval;
        :meth:`HonestDiDResult.breakdown` gives the breakdown value.

    Raises
    ------
    IdentificationError
        The result has no event-study coefficients, no pre-period, gaps in the event
        times, or (smoothness, default ``M``) a single pre-period.
    ParameterError
        Invalid ``method`` or ``post_periods``, negative or non-finite
        ``Mbar``/``M``, a bound given for the other method, an ``e`` that is not a
        post event time.

    Warns
    -----
    AssumptionWarning
        The coefficients include event time -1 (no omitted reference period, e.g.
        ``Imputation`` leads or a varying base period): the restrictions are applied
        as if the reference lay between -1 and 0, as HonestDiD does when given such
        coefficients. Also: a robust set still open at the edge of the search window.

    References
    ----------
    Rambachan, A. and Roth, J. (2023). A more credible approach to parallel trends.
    Review of Economic Studies 90(5), 2555-2591. doi:10.1093/restud/rdad018
    Andrews, I., Roth, J. and Pakes, A. (2023). Inference for linear conditional moment
    inequalities. Review of Economic Studies 90(6), 2763-2791. doi:10.1093/restud/rdad004

    Examples
    --------
    >>> import effekt as ek
    >>> df = ek.datasets.load_dataset("mpdta")
    >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
    ...                             cohort="first.treat", never_treated=0)
    >>> es = ek.did.SunAbraham().fit(panel)
    >>> sens = ek.did.honest_did(es, method="smoothness", M=[0.0, 0.01])
    >>> sens.to_frame()["ci_method"].tolist()
    ['original', 'FLCI', 'FLCI']
    """
    owner = "honest_did"
    check_choice("method", owner, method, ("relative_magnitude", "smoothness"))
    check_choice("post_periods", owner, post_periods, ("all", "through_e"))
    level = resolve_level(ci_level)
    alpha = 1.0 - level
    check_int("seed", owner, seed, low=0, expected="a non-negative integer")
    getter = getattr(result, "event_study_coefficients", None)
    if getter is None:
        raise IdentificationError(
            f"{owner} needs a result with event-study coefficients (TwoWayFE(event_study="
            f"True), SunAbraham, Imputation, CallawaySantAnna's event-time aggregate); got "
            f"{type(result).__name__}, which has no event_study_coefficients()."
        )
    try:
        est, cov = getter()
    except IdentificationError as err:
        raise IdentificationError(f"{owner} needs event-study coefficients: {err}") from None
    times = [int(t) for t in est.index]
    order = np.argsort(times)
    times = [times[i] for i in order]
    beta_all = est.to_numpy(dtype=float)[order]
    sigma_all = cov.to_numpy(dtype=float)[np.ix_(order, order)]
    pre = [t for t in times if t < 0]
    post = [t for t in times if t >= 0]
    if not pre:
        raise IdentificationError(
            f"{owner} needs at least one pre-period coefficient (a lead) to learn how large "
            "violations of parallel trends can be; the event study has none. Estimate leads "
            "(e.g. Imputation(leads=k), or a panel with earlier periods)."
        )
    if not post or post != list(range(len(post))):
        raise IdentificationError(
            f"{owner} needs post-period event times 0, 1, 2, ... without gaps; got {post}."
        )
    if pre != list(range(pre[0], pre[-1] + 1)) or pre[-1] not in (-1, -2):
        raise IdentificationError(
            f"{owner} needs consecutive pre-period event times ending at -2 (the reference -1 "
            f"omitted, normalised to zero); got {pre}. Refit with reference=-1."
        )
    if pre[-1] == -1:
        warnings.warn(
            f"{owner}: the event-study coefficients include event time -1, so no period is "
            "normalised to zero. The restrictions are applied as if the reference period lay "
            "between -1 and 0 (HonestDiD's convention for such coefficients); read the bounds "
            "with that in mind.",
            AssumptionWarning,
            stacklevel=2,
        )
    n_pre = len(pre)
    if isinstance(e, str):
        check_choice("e", owner, e, ("average",))
        l_vec = np.full(len(post), 1.0 / len(post))
        target = "average"
    else:
        check_int("e", owner, e, expected=f"a post event time in {post} or 'average'")
        if int(e) not in post:
            raise invalid_parameter("e", owner, f"a post event time in {post} or 'average'", e)
        if post_periods == "through_e":
            post = post[: int(e) + 1]  # the truncated variant: later periods left out
        l_vec = np.zeros(len(post))
        l_vec[int(e)] = 1.0
        target = f"event_time[{int(e)}]"
    keep = n_pre + len(post)
    beta = beta_all[:keep]
    sigma = sigma_all[:keep, :keep]

    if method == "relative_magnitude":
        if M is not None:
            raise ParameterError(
                f"{owner}(method='relative_magnitude') takes Mbar, not M (M bounds the "
                "smoothness restriction)."
            )
        values = _bounds("Mbar", owner, _DEFAULT_MBAR if Mbar is None else Mbar)
    else:
        if Mbar is not None:
            raise ParameterError(
                f"{owner}(method='smoothness') takes M, not Mbar (Mbar bounds the "
                "relative-magnitudes restriction)."
            )
        if M is None:
            if n_pre < 2:
                raise IdentificationError(
                    f"{owner}: the default M grid comes from the pre-period second "
                    "differences, which need two pre-periods; pass M=... explicitly."
                )
            M = tuple(np.linspace(0.0, _sd_upper_bound(beta, sigma, n_pre, alpha), 5))
        values = _bounds("M", owner, M)

    problem = _Problem(beta, sigma, n_pre, len(post), l_vec, alpha, int(seed), method)
    intervals = np.array([problem.interval(v) for v in values])
    theta = float(l_vec @ beta[n_pre:])
    se = float(np.sqrt(l_vec @ sigma[n_pre:, n_pre:] @ l_vec))
    source = getattr(getattr(result, "provenance", None), "estimator", type(result).__name__)
    params = {
        "method": method,
        "values": list(values),
        "e": e,
        "post_periods": post_periods,
        "ci_level": level,
    }
    fingerprint = getattr(getattr(result, "provenance", None), "data_fingerprint", "")
    return HonestDiDResult(
        problem=problem,
        values=values,
        lower=intervals[:, 0],
        upper=intervals[:, 1],
        estimate=theta,
        std_error=se,
        target=target,
        event_time=None if target == "average" else int(e),
        source=str(source),
        outcome=str(getattr(result, "outcome", "")),
        level=level,
        ledger=result.ledger,
        provenance=Provenance(owner, params, int(seed), str(fingerprint)),
    )


def _bounds(name: str, owner: str, value: Any) -> np.ndarray:
    values = np.atleast_1d(np.asarray(value, dtype=object))
    try:
        out = values.astype(float)
    except (TypeError, ValueError):
        out = np.array([np.nan])
    if out.ndim != 1 or not len(out) or not np.all(np.isfinite(out)) or np.any(out < 0):
        raise ParameterError(
            f"The {name!r} parameter of {owner} must be a non-negative number or a sequence of "
            f"them. Got {value!r} instead."
        )
    return out


def _second_differences(n_pre: int, n_post: int) -> np.ndarray:
    """Rows: second differences of delta over positions -n_pre..n_post, delta_0 dropped."""
    n = n_pre + n_post + 1
    d2 = np.zeros((n - 2, n))
    for r in range(n - 2):
        d2[r, r : r + 3] = (1.0, -2.0, 1.0)
    return np.delete(d2, n_pre, axis=1)


def _sd_upper_bound(beta: np.ndarray, sigma: np.ndarray, n_pre: int, alpha: float) -> float:
    """Upper confidence bound of the largest pre-period second difference (HonestDiD's Mub)."""
    a = _second_differences(n_pre, 0)
    b = beta[:n_pre]
    s = sigma[:n_pre, :n_pre]
    sd = np.sqrt(np.diag(a @ s @ a.T))
    z = stats.norm.ppf(1 - alpha)
    return float(np.max(np.abs(a @ b) + z * sd))


def _folded_normal_cv(b: float, alpha: float) -> float:
    """The 1 - alpha quantile of |N(b, 1)|."""
    z = stats.norm.ppf(1 - alpha / 2)
    b = abs(b)
    if b < 1e-12:
        return float(z)

    def gap(c: float) -> float:
        return float(stats.norm.cdf(c - b) - stats.norm.cdf(-c - b) - (1 - alpha))

    return float(optimize.brentq(gap, z, b + z, xtol=1e-14))


class _Problem:
    """The event-study inputs of one honest_did call, and the robust interval for a bound."""

    def __init__(
        self,
        beta: np.ndarray,
        sigma: np.ndarray,
        n_pre: int,
        n_post: int,
        l_vec: np.ndarray,
        alpha: float,
        seed: int,
        method: str,
    ) -> None:
        self.beta = beta
        self.sigma = sigma
        self.n_pre = n_pre
        self.n_post = n_post
        self.l_vec = l_vec
        self.alpha = alpha
        self.seed = seed
        self.method = method
        self.theta = float(l_vec @ beta[n_pre:])
        self.sd_theta = float(np.sqrt(l_vec @ sigma[n_pre:, n_pre:] @ l_vec))
        self._draws: np.ndarray | None = None

    def interval(self, bound: float) -> tuple[float, float]:
        if self.method == "smoothness":
            return self._flci(bound)
        return self._rm_interval(bound)

    # ---------------------------------------------------------------- smoothness
    def _flci(self, m: float) -> tuple[float, float]:
        n_pre, n_post, l_vec = self.n_pre, self.n_post, self.l_vec
        t_pre = np.arange(-n_pre, 0, dtype=float)
        t_post = np.arange(1, n_post + 1, dtype=float)
        target = -float(t_post @ l_vec)  # v_pre' t_pre must equal this (no linear-trend bias)
        s_pp = self.sigma[:n_pre, :n_pre]
        s_pl = self.sigma[:n_pre, n_pre:] @ l_vec
        # minimum-variance v_pre under the constraint (the M = 0 solution, via KKT)
        kkt = np.block([[2 * s_pp, t_pre[:, None]], [t_pre[None, :], np.zeros((1, 1))]])
        sol = np.linalg.lstsq(kkt, np.concatenate([-2 * s_pl, [target]]), rcond=None)[0]
        v_start = sol[:n_pre]
        z = stats.norm.ppf(1 - self.alpha / 2)

        def full(v_pre: np.ndarray) -> np.ndarray:
            return np.concatenate([v_pre, l_vec])

        def sd(v_pre: np.ndarray) -> float:
            v = full(v_pre)
            return float(np.sqrt(max(v @ self.sigma @ v, 1e-300)))

        if m == 0:
            v_pre = v_start
            half = z * sd(v_pre)
        else:
            g = np.linalg.pinv(_second_differences(n_pre, n_post))  # bias = m * |g'v|_1
            null = _null_space(t_pre[None, :])  # directions keeping the trend constraint
            n_free = null.shape[1]

            def split(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
                return v_start + null @ x[:n_free], x[n_free:]

            def objective(x: np.ndarray) -> float:
                v_pre, slack = split(x)
                s = sd(v_pre)
                return s * _folded_normal_cv(m * float(slack.sum()) / s, self.alpha)

            def slack_ok(x: np.ndarray) -> np.ndarray:
                v_pre, slack = split(x)
                gv = g.T @ full(v_pre)
                return np.concatenate([slack - gv, slack + gv])

            x0 = np.concatenate([np.zeros(n_free), np.abs(g.T @ full(v_start))])
            res = optimize.minimize(
                objective,
                x0,
                method="SLSQP",
                constraints=[{"type": "ineq", "fun": slack_ok}],
                options={"ftol": 1e-12, "maxiter": 500},
            )
            x_best = res.x if res.fun <= objective(x0) else x0
            v_pre = split(x_best)[0]
            bias = m * float(np.abs(g.T @ full(v_pre)).sum())
            s = sd(v_pre)
            half = s * _folded_normal_cv(bias / s, self.alpha)
        center = float(full(v_pre) @ self.beta)
        return center - half, center + half

    # ------------------------------------------------------- relative magnitudes
    def _standard_draws(self, dim: int) -> np.ndarray:
        if self._draws is None or self._draws.shape[1] < dim:
            rng = np.random.default_rng(self.seed)
            self._draws = rng.standard_normal((_LF_SIMS, max(dim, 1)))
        return self._draws[:, :dim]

    def _rm_tests(self, mbar: float) -> list[_ARPTest]:
        n_pre, n_post = self.n_pre, self.n_post
        n = n_pre + n_post
        # first differences of delta over positions -n_pre..n_post (delta_0 dropped)
        first = np.zeros((n, n + 1))
        for r in range(n):
            first[r, r], first[r, r + 1] = -1.0, 1.0
        first = np.delete(first, n_pre, axis=1)
        post_rows = first[n_pre:]
        tests = []
        for s in range(n_pre):  # location of the largest pre-period difference
            for sign in (1.0, -1.0):
                bound = sign * mbar * first[s]
                a = np.vstack([post_rows - bound, -post_rows - bound])
                a = a[np.abs(a).sum(axis=1) > 1e-12]
                tests.append(_ARPTest(a, self))
        return tests

    def _rm_interval(self, mbar: float) -> tuple[float, float]:
        tests = self._rm_tests(mbar)

        def accept(theta: np.ndarray) -> np.ndarray:
            out = np.zeros(theta.shape, dtype=bool)
            for test in tests:
                out |= test.accepts(theta)
            return out

        first_diffs = np.abs(np.diff(np.concatenate([self.beta[: self.n_pre], [0.0]])))
        width = 20 * self.sd_theta + mbar * float(first_diffs.max(initial=0.0)) * (self.n_post + 1)
        for _ in range(6):
            grid = np.linspace(self.theta - width, self.theta + width, _GRID)
            ok = accept(grid)
            if not ok.any():
                return (math.nan, math.nan)  # empty set: the restrictions are rejected
            if not (ok[0] or ok[-1]):
                break
            width *= 4
        else:
            warnings.warn(
                f"honest_did: the robust set for Mbar={mbar} is still open at the edge of the "
                "search window; reporting an unbounded interval.",
                AssumptionWarning,
                stacklevel=4,
            )
            return (-math.inf if ok[0] else grid[ok][0], math.inf if ok[-1] else grid[ok][-1])
        idx = np.flatnonzero(ok)
        lo = _refine(accept, grid[idx[0] - 1], grid[idx[0]])
        hi = _refine(accept, grid[idx[-1] + 1], grid[idx[-1]])
        return lo, hi


def _refine(accept: Any, rejected: float, accepted: float, iters: int = 30) -> float:
    """Bisect between a rejected and an accepted value for the boundary of the set."""
    for _ in range(iters):
        mid = 0.5 * (rejected + accepted)
        if accept(np.array([mid]))[0]:
            accepted = mid
        else:
            rejected = mid
    return float(accepted)


def _null_space(a: np.ndarray) -> np.ndarray:
    _, s, vt = np.linalg.svd(a)
    rank = int(np.sum(s > 1e-12 * max(s.max(initial=0.0), 1.0)))
    return vt[rank:].T


class _ARPTest:
    """Andrews-Roth-Pakes conditional test, least-favourable hybrid, for one polyhedron.

    Moments: :math:`E[A\\hat\\beta] - A_{post}\\tau \\le 0` with
    :math:`\\tau = \\Gamma^{-1}(\\theta, \\tilde\\tau)`, i.e. ``Y(theta) - X tau~ <= 0``
    with ``Y(theta) = A beta - a1 theta``. The LP statistic
    :math:`\\hat\\eta = \\min\\{\\eta: Y - X\\tilde\\tau \\le \\eta\\,\\sigma_Y\\}` equals the
    maximum of :math:`\\gamma'Y` over the vertices of the dual polytope
    :math:`\\{\\gamma \\ge 0, X'\\gamma = 0, \\sigma_Y'\\gamma = 1\\}`, enumerated once.
    """

    def __init__(self, a: np.ndarray, problem: _Problem) -> None:
        n_pre, n_post = problem.n_pre, problem.n_post
        l_vec = problem.l_vec
        gamma = np.eye(n_post)
        j = int(np.argmax(np.abs(l_vec)))
        gamma = np.vstack([l_vec, np.delete(gamma, j, axis=0)])  # invertible, l' first row
        a_post = a[:, n_pre:] @ np.linalg.inv(gamma)
        self.a1 = a_post[:, 0]
        x = a_post[:, 1:]
        self.y0 = a @ problem.beta
        sigma_y = a @ problem.sigma @ a.T
        sd = np.sqrt(np.clip(np.diag(sigma_y), 1e-300, None))
        self.vertices = _dual_vertices(x, sd)
        self.alpha = problem.alpha
        self.kappa = problem.alpha / 10
        if len(self.vertices):
            self.q = self.vertices @ sigma_y @ self.vertices.T
            # least-favourable critical value: 1 - kappa quantile of eta under mean zero
            eigval, eigvec = np.linalg.eigh(sigma_y)
            root = eigvec * np.sqrt(np.clip(eigval, 0.0, None))
            draws = problem._standard_draws(len(sd)) @ root.T
            eta = (draws @ self.vertices.T).max(axis=1)
            self.lf_cv = float(np.quantile(eta, 1 - self.kappa))

    def accepts(self, theta: np.ndarray) -> np.ndarray:
        if not len(self.vertices):  # dual infeasible: eta = -inf, nothing is rejected
            return np.ones(theta.shape, dtype=bool)
        p = self.vertices @ (self.y0[:, None] - self.a1[:, None] * theta[None, :])
        best = np.argmax(p, axis=0)
        cols = np.arange(len(theta))
        eta = p[best, cols]
        q_hh = self.q[best, best]
        sigma_b = np.sqrt(np.clip(q_hh, 1e-300, None))
        r = self.q[:, best] / q_hh  # gamma_v' b, b = Sigma gamma_hat / (gamma_hat' Sigma gamma_hat)
        c = 1.0 - r
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = (p - r * eta) / c
        tol = 1e-10
        vlo = np.where(c > tol, ratio, -np.inf).max(axis=0)
        vup = np.where(c < -tol, ratio, np.inf).min(axis=0)
        z = eta / sigma_b
        zlo = vlo / sigma_b
        zup = np.minimum(vup, self.lf_cv) / sigma_b
        size = (self.alpha - self.kappa) / (1 - self.kappa)
        inside = (zlo <= z) & (z <= zup)
        cval = np.zeros_like(z)
        if inside.any():
            with np.errstate(invalid="ignore", divide="ignore"):
                cval[inside] = np.maximum(
                    0.0, stats.truncnorm.ppf(1 - size, zlo[inside], zup[inside])
                )
        reject = (eta > self.lf_cv) | (inside & (z > cval))
        return ~reject


def _dual_vertices(x: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Vertices of {g >= 0, x'g = 0, sd'g = 1} (rows), by enumerating basic solutions."""
    m = len(sd)
    eq = np.vstack([x.T, sd[None, :]]) if x.size else sd[None, :]
    rhs = np.zeros(eq.shape[0])
    rhs[-1] = 1.0
    u, s, _ = np.linalg.svd(eq, full_matrices=False)
    rank = int(np.sum(s > 1e-10 * s.max()))
    proj = u[:, :rank].T  # independent combinations of the equations
    eq_r, rhs_r = proj @ eq, proj @ rhs
    if np.linalg.norm(u[:, :rank] @ rhs_r - rhs) > 1e-9:  # inconsistent: empty polytope
        return np.zeros((0, m))
    n_sub = math.comb(m, rank)
    if n_sub > _MAX_SUPPORTS:
        raise ParameterError(
            f"honest_did: the relative-magnitudes test would enumerate {n_sub:,} bases; "
            "target a single event time (e=...) or use fewer post-periods."
        )
    found = []
    combos = itertools.combinations(range(m), rank)
    while True:
        chunk = np.array(list(itertools.islice(combos, 50_000)), dtype=int)
        if not len(chunk):
            break
        mats = eq_r[:, chunk].transpose(1, 0, 2)  # (n, rank, rank)
        det = np.linalg.det(mats)
        ok = np.abs(det) > 1e-12
        if not ok.any():
            continue
        sol = np.linalg.solve(mats[ok], np.broadcast_to(rhs_r, (int(ok.sum()), rank))[..., None])
        sol = sol[..., 0]
        good = np.all(sol >= -1e-12, axis=1)
        for idx, val in zip(chunk[ok][good], sol[good], strict=True):
            g = np.zeros(m)
            g[idx] = np.clip(val, 0.0, None)
            found.append(g)
    if not found:
        return np.zeros((0, m))
    return np.unique(np.round(np.array(found), 12), axis=0)


class HonestDiDResult(Result):
    """Result of :func:`honest_did`: robust confidence sets by restriction bound.

    Attributes
    ----------
    estimate : float
        The point estimate of the target (:math:`l'\\hat\\beta_{post}`).
    std_error : float
        Its standard error from the original event study.
    values : numpy.ndarray
        The ``Mbar`` or ``M`` values.
    lower, upper : numpy.ndarray
        The robust sets' end points, one per value.
    """

    title = "HonestDiD sensitivity analysis (Rambachan-Roth)"

    def __init__(
        self,
        *,
        problem: _Problem,
        values: np.ndarray,
        lower: np.ndarray,
        upper: np.ndarray,
        estimate: float,
        std_error: float,
        target: str,
        event_time: int | None,
        source: str,
        outcome: str,
        level: float,
        ledger: Any,
        provenance: Provenance,
    ) -> None:
        self._problem = problem
        self.method = problem.method
        self.values = values
        self.lower = lower
        self.upper = upper
        self.estimate = estimate
        self.std_error = std_error
        self.target = target
        self.event_time = event_time
        self.source = source
        self.outcome = outcome
        self.level = level
        self.ledger = ledger
        self.provenance = provenance
        z = stats.norm.ppf(0.5 + level / 2)
        self.original = (estimate - z * std_error, estimate + z * std_error)
        self._freeze()

    @property
    def _bound_name(self) -> str:
        return "Mbar" if self.method == "relative_magnitude" else "M"

    def to_frame(self) -> pd.DataFrame:
        """The original interval, then one robust set per bound.

        Keys: ``outcome``, ``estimator="honest_did"``, ``term`` (the target),
        ``group`` (the restriction) and ``event_time``. ``estimate`` and ``std_error``
        are the original point estimate and standard error on every row; the extra
        columns are the bound (``M``: the ``Mbar`` or ``M`` value, empty for the
        original row), ``ci_method`` (``original``, ``C-LF`` or ``FLCI``) and ``source``
        (the estimator of the event study).
        """
        n = len(self.values) + 1
        method = "C-LF" if self.method == "relative_magnitude" else "FLCI"
        keys = pd.DataFrame(
            {
                "outcome": self.outcome,
                "estimator": "honest_did",
                "term": self.target,
                "group": self.method,
                "event_time": pd.array([self.event_time] * n, dtype="Int64"),
            }
        )
        with np.errstate(divide="ignore"):
            p0 = 2 * stats.norm.sf(abs(self.estimate / self.std_error))
        return tidy_effects(
            keys,
            np.full(n, self.estimate),
            np.full(n, self.std_error),
            level=self.level,
            ci_lower=np.concatenate([[self.original[0]], self.lower]),
            ci_upper=np.concatenate([[self.original[1]], self.upper]),
            p_value=np.concatenate([[p0], np.full(n - 1, np.nan)]),
            extra={
                "M": np.concatenate([[np.nan], self.values]),
                "ci_method": ["original"] + [method] * (n - 1),
                "source": self.source,
            },
        )

    def breakdown(self, *, tol: float = 1e-4) -> float:
        """The breakdown value: the smallest bound at which the robust set includes 0.

        Found by bisection on the bound (the sets grow with it), not only among the
        values fitted. Zero if the set already includes 0 at bound 0; ``inf`` if it
        still excludes 0 at a bound 1,000 times the original standard error (smoothness)
        or at ``Mbar = 1000``.

        Parameters
        ----------
        tol : float, default 1e-4
            Absolute tolerance on the bound.

        Returns
        -------
        float
        """

        def covers(bound: float) -> bool:
            lo, hi = self._problem.interval(bound)
            return bool(not np.isnan(lo) and lo <= 0.0 <= hi)

        if covers(0.0):
            return 0.0
        hi = float(max(self.values.max(initial=0.0), tol, 1e-3 * self.std_error))
        cap = 1000.0 if self.method == "relative_magnitude" else 1000.0 * self.std_error
        while not covers(hi):
            hi *= 2
            if hi > cap:
                return math.inf
        lo = 0.0
        while hi - lo > tol:
            mid = 0.5 * (lo + hi)
            if covers(mid):
                hi = mid
            else:
                lo = mid
        return hi

    def _summary_info(self) -> list[tuple[str, str]]:
        restriction = (
            "relative magnitudes (Delta^RM), ARP conditional-LF hybrid"
            if self.method == "relative_magnitude"
            else "smoothness (Delta^SD), FLCI"
        )
        return [
            ("Event study", f"{self.source}: {self.outcome}"),
            ("Target", self.target),
            ("Restriction", restriction),
            ("Estimate", f"{self.estimate:.4f} (SE {self.std_error:.4f})"),
            ("Original interval", f"[{self.original[0]:.4f}, {self.original[1]:.4f}]"),
            ("Level", f"{self.level:.0%}"),
        ]

    def plot(self, ax: Axes | None = None) -> Axes:
        """The sensitivity plot: robust sets against the bound, next to the original CI.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        ax = new_axes(ax)
        x = self.values.astype(float)
        step = float(np.min(np.diff(np.unique(x)))) if len(np.unique(x)) > 1 else 1.0
        x0 = float(x.min()) - step
        mid = 0.5 * (self.lower + self.upper)
        ax.errorbar(
            x,
            mid,
            yerr=[mid - self.lower, self.upper - mid],
            fmt="none",
            ecolor="#08519c",
            capsize=4,
            lw=2,
            label=label("robust_ci", level=self.level),
        )
        ax.errorbar(
            [x0],
            [self.estimate],
            yerr=[[self.estimate - self.original[0]], [self.original[1] - self.estimate]],
            fmt="none",
            ecolor="#cb181d",
            capsize=4,
            lw=2,
            label=label("original_ci"),
        )
        ax.axhline(0.0, color="0.6", lw=0.8)
        ax.set_xlabel(label("mbar" if self.method == "relative_magnitude" else "m_smoothness"))
        ax.set_ylabel(label("effect"))
        ax.set_title(f"{label('honest_sensitivity')}: {self.outcome} ({self.target})")
        ax.legend(frameon=False)
        return ax
