"""Wild cluster bootstrap for linear hypotheses on fixed-effects regressions.

With few clusters (tens of treated housing areas in a handful of kommuner),
cluster-robust t-tests over-reject; the wild cluster *restricted* bootstrap
(WCR, the null imposed) is the standard remedy (Cameron, Gelbach & Miller
2008; MacKinnon & Webb 2017).

Computation follows the algebra of Roodman, MacKinnon, Nielsen & Webb (2019):
the fixed effects are projected out once (Frisch-Waugh-Lovell), and every
bootstrap numerator and cluster score is a linear map of the G cluster weights,
so a replication costs O(G²) for the scores, not a regression on N rows. The
statistics are affine in the hypothesised value r, so the confidence interval
is found by inverting the test at O(B) cost per trial value. Bootstrap weights
come from :mod:`effekt.parallel` (same numbers for any ``n_jobs``); with
Rademacher weights and 2^G <= reps every sign pattern is enumerated, so the
p-value is exact.

The fixed effects are partialled out before bootstrapping, as pyfixest and
wildboottest do; when a fixed effect is not nested in the clusters (time
effects with unit clusters) this is the standard approximation.

References
----------
Roodman, D., MacKinnon, J. G., Nielsen, M. Ø. and Webb, M. D. (2019). Fast and
wild: bootstrap inference in Stata using boottest. Stata Journal 19(1), 4-60.
doi:10.1177/1536867X19830877
Cameron, A. C., Gelbach, J. B. and Miller, D. L. (2008). Bootstrap-based
improvements for inference with clustered errors. Review of Economics and
Statistics 90(3), 414-427. doi:10.1162/rest.90.3.414
Webb, M. D. (2023). Reworking wild bootstrap-based inference for clustered
errors. Canadian Journal of Economics 56(3), 839-858. doi:10.1111/caje.12661
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
from scipy import optimize

from effekt._arrays import group_sum
from effekt.errors import AssumptionWarning, check_choice, invalid_parameter
from effekt.parallel import resample

__all__ = ["WildClusterBootstrap", "WildTest", "wild_test"]

Weights = Literal["rademacher", "webb", "mammen", "normal"]
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
_MAMMEN_LO, _MAMMEN_HI = (1 - np.sqrt(5)) / 2, (1 + np.sqrt(5)) / 2
_MAMMEN_P = (np.sqrt(5) + 1) / (2 * np.sqrt(5))


@dataclass(frozen=True)
class WildClusterBootstrap:
    """Settings of a wild cluster bootstrap.

    Parameters
    ----------
    reps : int, default 9999
        Replications. With Rademacher weights and ``2**G <= reps`` all ``2**G``
        sign patterns are enumerated instead (exact p-value).
    weights : {"rademacher", "webb", "mammen", "normal"}, default "rademacher"
        Distribution of the cluster weights. Webb's six-point weights are
        preferred with fewer than about 12 clusters.
    impose_null : bool, default True
        WCR (residuals of the model with the null imposed) or WCU.
    seed : int, optional
        Seed of the weights; results are identical for any ``n_jobs``.
    n_jobs : int, default 1
        Parallel workers for the replications.

    Examples
    --------
    >>> import effekt as ek
    >>> ek.did.WildClusterBootstrap(reps=999, weights="webb", seed=1).weights
    'webb'
    """

    reps: int = 9999
    weights: Weights = "rademacher"
    impose_null: bool = True
    seed: int | None = None
    n_jobs: int = 1

    def __post_init__(self) -> None:
        owner = "WildClusterBootstrap"
        if isinstance(self.reps, bool) or not isinstance(self.reps, int) or self.reps < 99:
            raise invalid_parameter("reps", owner, "an integer >= 99 (9999 is usual)", self.reps)
        check_choice("weights", owner, self.weights, ("rademacher", "webb", "mammen", "normal"))
        if not isinstance(self.impose_null, bool):
            raise invalid_parameter("impose_null", owner, "True or False", self.impose_null)


@dataclass(frozen=True)
class WildTest:
    """Outcome of a wild cluster bootstrap test of ``R beta = r``.

    Attributes
    ----------
    estimate : float
        ``R beta_hat``.
    std_error : float
        Cluster-robust (CRV1) standard error of ``R beta_hat``.
    t_stat : float
        ``(R beta_hat - r) / std_error``.
    p_value : float
        Symmetric two-sided bootstrap p-value, the share of replications with
        ``|t*| > |t|`` (strict, as wildboottest and pyfixest count; under full
        enumeration the two sign patterns that reproduce ``|t|`` are not counted).
    ci_lower, ci_upper : float
        Confidence interval by test inversion (NaN if not requested).
    ci_level : float
    reps : int
        Replications used (``2**G`` under full enumeration).
    enumerated : bool
    n_clusters : int
    weights : str
    impose_null : bool
    """

    estimate: float
    std_error: float
    t_stat: float
    p_value: float
    ci_lower: float
    ci_upper: float
    ci_level: float
    reps: int
    enumerated: bool
    n_clusters: int
    weights: str
    impose_null: bool


def _draw(rng: np.random.Generator, size: int, *, n_clusters: int, kind: str) -> np.ndarray:
    """``size`` x G bootstrap weights."""
    if kind == "rademacher":
        return rng.integers(0, 2, size=(size, n_clusters)).astype(float) * 2.0 - 1.0
    if kind == "webb":
        return _WEBB[rng.integers(0, 6, size=(size, n_clusters))]
    if kind == "mammen":
        lo = rng.random((size, n_clusters)) < _MAMMEN_P
        return np.where(lo, _MAMMEN_LO, _MAMMEN_HI)
    return rng.standard_normal((size, n_clusters))


def _parts(
    v: np.ndarray,
    *,
    c0: np.ndarray,
    c1: np.ndarray,
    q: np.ndarray,
    s0: np.ndarray,
    s1: np.ndarray,
) -> np.ndarray:
    """Per replication: numerator and squared-score sums as affine/quadratic in r.

    Returns a (size, 5) array: N0, N1, A, Bc, C with numerator = N0 + r N1 and
    sum of squared scores = A + 2 r Bc + r^2 C.
    """
    # The score map M = Q S' has rank K, so M v costs O(G K), not O(G^2)
    # (Roodman et al. 2019, section 3).
    v = np.ascontiguousarray(v.T)  # G x size
    sc0 = c0[:, None] * v - q @ (s0.T @ v)
    sc1 = c1[:, None] * v - q @ (s1.T @ v)
    out = np.empty((v.shape[1], 5))
    out[:, 0] = c0 @ v
    out[:, 1] = c1 @ v
    out[:, 2] = np.einsum("gb,gb->b", sc0, sc0)
    out[:, 3] = np.einsum("gb,gb->b", sc0, sc1)
    out[:, 4] = np.einsum("gb,gb->b", sc1, sc1)
    return out


def wild_test(
    x: np.ndarray,
    y: np.ndarray,
    clusters: np.ndarray,
    restriction: np.ndarray,
    r: float,
    config: WildClusterBootstrap,
    *,
    level: float,
    scale: float,
    ci: bool = True,
) -> WildTest:
    """Wild cluster bootstrap test of ``restriction @ beta = r`` on demeaned data.

    Parameters
    ----------
    x : ndarray (N, K)
        Regressors with the fixed effects partialled out.
    y : ndarray (N,)
        Outcome with the fixed effects partialled out.
    clusters : ndarray (N,)
        Integer cluster codes 0..G-1.
    restriction : ndarray (K,)
        The row ``R`` of the hypothesis.
    r : float
        Hypothesised value.
    config : WildClusterBootstrap
    level : float
        Interval level for the inverted test.
    scale : float
        Small-sample factor of the CRV1 variance (G/(G-1)(N-1)/(N-K)); it cancels
        in the p-value and only scales the reported standard error.
    ci : bool, default True
        Invert the test for a confidence interval.

    Returns
    -------
    WildTest
    """
    n_clusters = int(clusters.max()) + 1
    a_inv = np.linalg.inv(x.T @ x)
    beta = a_inv @ (x.T @ y)
    resid = y - x @ beta
    a_row = restriction @ a_inv  # R A
    ra = float(a_row @ restriction)

    def cluster_sum(values: np.ndarray) -> np.ndarray:  # (N, k) -> (G, k)
        return group_sum(clusters, values, n_clusters)

    # Observed t with the unrestricted CRV1 variance.
    scores_obs = cluster_sum((x @ a_row)[:, None] * resid[:, None])[:, 0]
    se = float(np.sqrt(scale * np.sum(scores_obs**2)))
    est = float(restriction @ beta)

    # Bootstrap residuals e(r) = e0 + r e1 (WCR: restricted; WCU: unrestricted).
    if config.impose_null:
        # restricted LS: beta_tilde(r) = beta - A R'(R A R')^-1 (R beta - r), so the
        # restricted residuals are resid + (est - r) * shift
        shift = x @ (a_inv @ restriction) / ra
        e0, e1 = resid + est * shift, -shift
    else:
        e0, e1 = resid, np.zeros_like(resid)
    # Cluster quantities: c_g = R A X_g' e_g and the score map M[g, h] = q_g . s_h, with
    # q_g = R A X_g'X_g A and s_h = X_h' e_h.
    xa = x @ a_row  # N: (X A R')_i
    c0 = cluster_sum((xa * e0)[:, None])[:, 0]
    c1 = cluster_sum((xa * e1)[:, None])[:, 0]
    s0 = cluster_sum(x * e0[:, None])  # G x K
    s1 = cluster_sum(x * e1[:, None])
    q = cluster_sum(xa[:, None] * x) @ a_inv  # G x K: R A X_g'X_g A

    enumerate_all = config.weights == "rademacher" and 2**n_clusters <= config.reps
    kernel = partial(_parts, c0=c0, c1=c1, q=q, s0=s0, s1=s1)
    if enumerate_all:
        signs = np.array(list(itertools.product((-1.0, 1.0), repeat=n_clusters)))
        parts = kernel(signs)
    else:
        if n_clusters < 12 and config.weights == "rademacher":
            warnings.warn(
                f"Only {n_clusters} clusters: Rademacher weights allow just 2^{n_clusters} "
                "distinct replications. Use weights='webb' for fewer than about 12 clusters.",
                AssumptionWarning,
                stacklevel=3,
            )
        draw = partial(_draw_parts, n_clusters=n_clusters, kind=config.weights, kernel=kernel)
        parts = resample(
            draw, config.reps, seed=config.seed, n_jobs=config.n_jobs, desc="wild cluster bootstrap"
        )

    def p_value(value: float) -> float:
        t_obs = (est - value) / se
        num = parts[:, 0] + value * parts[:, 1] if config.impose_null else parts[:, 0]
        ss = parts[:, 2] + 2 * value * parts[:, 3] + value**2 * parts[:, 4]
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = num / np.sqrt(scale * np.maximum(ss, 0.0))
        # strictly more extreme, as wildboottest/pyfixest count; the relative margin keeps
        # round-off ties (all-ones and all-minus-ones sign patterns) out
        return float(np.mean(np.abs(t_star) > abs(t_obs) * (1 + 1e-10)))

    # (WCU: c1 = s1 = 0, so t* does not depend on r; only the observed t moves.)
    p = p_value(r)
    lo = hi = float("nan")
    if ci:
        lo, hi = _invert(p_value, est, se, 1 - level)
    return WildTest(
        est,
        se,
        (est - r) / se,
        p,
        lo,
        hi,
        level,
        len(parts),
        enumerate_all,
        n_clusters,
        config.weights,
        config.impose_null,
    )


def _draw_parts(
    rng: np.random.Generator, size: int, *, n_clusters: int, kind: str, kernel: Any
) -> np.ndarray:
    return kernel(_draw(rng, size, n_clusters=n_clusters, kind=kind))


def _invert(p_value: Any, est: float, se: float, alpha: float) -> tuple[float, float]:
    """The values r at which the bootstrap p-value crosses alpha, either side of est."""

    def f(value: float) -> float:
        return p_value(value) - alpha

    bounds = []
    for sign in (-1.0, 1.0):
        step = se
        inner, outer = est, est + sign * step
        for _ in range(60):  # widen until the test rejects
            if f(outer) < 0:
                break
            inner, outer = outer, outer + sign * step
            step *= 2
        else:
            bounds.append(sign * np.inf)
            continue
        bounds.append(
            optimize.brentq(f, min(inner, outer), max(inner, outer), xtol=1e-10 * max(se, 1e-300))
        )
    return float(bounds[0]), float(bounds[1])
