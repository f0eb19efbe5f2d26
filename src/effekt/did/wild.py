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

Two-way clustering (Cameron, Gelbach & Miller 2011) uses the variance
``V = m1 V1 + m2 V2 - m12 V12`` (each term with its own small-sample factor, as
boottest and fwildclusterboot do by default) and draws the weights at the level
of one clustering dimension, the *bootcluster* (Roodman et al. 2019, sec. 4.2;
MacKinnon, Nielsen & Webb 2021 recommend the dimension with fewer clusters).
Each dimension's bootstrap scores are a linear map ``M_d v`` of the bootcluster
weights, so the whole variance is one quadratic form ``v' H v`` with
``H = sum_d m_d M_d' M_d`` (G_b x G_b, computed once): a replication costs
O(G_b^2) whatever the number of observations or of intersection cells.

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
Cameron, A. C., Gelbach, J. B. and Miller, D. L. (2011). Robust inference with
multiway clustering. Journal of Business & Economic Statistics 29(2), 238-249.
doi:10.1198/jbes.2010.07136
MacKinnon, J. G., Nielsen, M. Ø. and Webb, M. D. (2021). Wild bootstrap and
asymptotic inference with multiway clustering. Journal of Business & Economic
Statistics 39(2), 505-519. doi:10.1080/07350015.2019.1677473
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

import numpy as np
from scipy import optimize, sparse

from effekt._arrays import group_sum
from effekt.errors import (
    AssumptionWarning,
    IdentificationError,
    ParameterError,
    check_bool,
    check_choice,
    check_int,
    check_n_jobs,
    check_seed,
)
from effekt.parallel import resample

__all__ = ["WildClusterBootstrap", "WildTest", "wild_test"]

# Draws whose |t*| equals |t| in exact arithmetic (the identity sign pattern and its mirror
# under WCR) are ties, not more extreme; through the cluster-aggregate algebra their rounding
# error reaches ~1e-9 relative on ill-conditioned dummy designs (mpdta, K = 505), far below
# any real difference between draws.
_TIE_RTOL = 1e-7

Weights = Literal["rademacher", "webb", "mammen", "normal"]
_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
_MAMMEN_LO, _MAMMEN_HI = (1 - np.sqrt(5)) / 2, (1 + np.sqrt(5)) / 2
_MAMMEN_P = (np.sqrt(5) + 1) / (2 * np.sqrt(5))
# Two-way: H is G_b x G_b and a replication costs G_b^2; beyond this the quadratic form
# is slower than refitting and H no longer fits comfortably in memory.
_MAX_BOOTCLUSTERS_TWO_WAY = 2000


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
    bootcluster : {"min", "max", "intersection"} or {0, 1}, default "min"
        Two-way clustering only: the level at which the weights are drawn. "min"
        is the clustering dimension with fewer clusters (MacKinnon, Nielsen & Webb
        2021), "max" the one with more, "intersection" the cells of both (the
        default of Stata's boottest), 0 or 1 a dimension by position.
    cluster_df : {"conventional", "min"}, default "conventional"
        Two-way clustering only: small-sample factor of each variance term.
        "conventional" multiplies each of ``V1, V2, V12`` by its own
        ``G/(G-1)`` (boottest, fwildclusterboot); "min" uses
        ``min(G1, G2)/(min(G1, G2)-1)`` for all three (fixest's default).

    Raises
    ------
    ParameterError
        An invalid setting.

    References
    ----------
    Roodman, D., MacKinnon, J. G., Nielsen, M. Ø. and Webb, M. D. (2019). Fast and
    wild: bootstrap inference in Stata using boottest. Stata Journal 19(1), 4-60.
    doi:10.1177/1536867X19830877

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
    bootcluster: Literal["min", "max", "intersection"] | int = "min"
    cluster_df: Literal["conventional", "min"] = "conventional"

    def __post_init__(self) -> None:
        owner = "WildClusterBootstrap"
        check_int("reps", owner, self.reps, low=99, expected="an integer >= 99 (9999 is usual)")
        check_choice("weights", owner, self.weights, ("rademacher", "webb", "mammen", "normal"))
        check_bool("impose_null", owner, self.impose_null)
        # checked here, not first in the resampling loop, so a slip fails at construction
        check_seed("seed", owner, self.seed, sequence=False)
        check_n_jobs("n_jobs", owner, self.n_jobs)
        check_choice("bootcluster", owner, self.bootcluster, ("min", "max", "intersection", 0, 1))
        check_choice("cluster_df", owner, self.cluster_df, ("conventional", "min"))


@dataclass(frozen=True)
class WildTest:
    """Outcome of a wild cluster bootstrap test of ``R beta = r``.

    Attributes
    ----------
    estimate : float
        ``R beta_hat``.
    std_error : float
        Cluster-robust (CRV1) standard error of ``R beta_hat``; two-way: the
        Cameron-Gelbach-Miller one, ``sqrt(m1 V1 + m2 V2 - m12 V12)``.
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
        Clusters at which the weights are drawn (the bootcluster when two-way).
    weights : str
    impose_null : bool
    cluster_counts : tuple of int
        Two-way: clusters in each dimension and in their intersection; one-way:
        ``(n_clusters,)``.
    n_infeasible : int
        Two-way: replications whose two-way variance is not positive (their t*
        is undefined and never counts as more extreme); 0 one-way.
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
    cluster_counts: tuple[int, ...] = ()
    n_infeasible: int = 0


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
    clusters : ndarray (N,) or (N, 2)
        Integer cluster codes 0..G-1; two columns for two-way clustering.
    restriction : ndarray (K,)
        The row ``R`` of the hypothesis.
    r : float
        Hypothesised value.
    config : WildClusterBootstrap
    level : float
        Interval level for the inverted test.
    scale : float
        One-way: the small-sample factor of the CRV1 variance,
        G/(G-1) (N-1)/(N-K); it cancels in the p-value and only scales the
        reported standard error. Two-way: the (N-1)/(N-K) part only; the cluster
        factors are applied per variance term as ``config.cluster_df`` says.
    ci : bool, default True
        Invert the test for a confidence interval.

    Returns
    -------
    WildTest

    Raises
    ------
    ParameterError
        Clusters that are not one or two columns, or a two-way bootcluster with
        more than 2,000 clusters.
    IdentificationError
        A clustering dimension with a single cluster, or a two-way variance of
        ``R beta_hat`` that is not positive (the test is infeasible).

    References
    ----------
    Roodman, D., MacKinnon, J. G., Nielsen, M. Ø. and Webb, M. D. (2019). Fast and
    wild: bootstrap inference in Stata using boottest. Stata Journal 19(1), 4-60.
    doi:10.1177/1536867X19830877

    Examples
    --------
    >>> import numpy as np
    >>> from effekt.did.wild import WildClusterBootstrap, wild_test
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(40), 10)
    >>> x = np.column_stack([np.ones(400), rng.normal(size=400)])
    >>> y = 0.5 * x[:, 1] + rng.normal(size=40)[g] + rng.normal(size=400)
    >>> boot = WildClusterBootstrap(reps=999, seed=1)
    >>> test = wild_test(x, y, g, np.array([0.0, 1.0]), 0.0, boot, level=0.95, scale=1.0)
    >>> test.p_value < 0.01, test.ci_lower < 0.5 < test.ci_upper
    (True, True)
    """
    clusters = np.asarray(clusters)
    if clusters.ndim == 2 and clusters.shape[1] == 1:
        clusters = clusters[:, 0]
    if clusters.ndim == 2 and clusters.shape[1] == 2:
        return _two_way(x, y, clusters, restriction, r, config, level=level, scale=scale, ci=ci)
    if clusters.ndim != 1:
        raise ParameterError(
            f"wild_test takes cluster codes as one column (one-way) or two (two-way); got an "
            f"array of shape {clusters.shape}."
        )
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

    kernel = partial(_parts, c0=c0, c1=c1, q=q, s0=s0, s1=s1)
    parts, enumerate_all = _replicate(kernel, n_clusters, config)

    def p_value(value: float) -> float:
        t_obs = (est - value) / se
        num = parts[:, 0] + value * parts[:, 1] if config.impose_null else parts[:, 0]
        ss = parts[:, 2] + 2 * value * parts[:, 3] + value**2 * parts[:, 4]
        with np.errstate(divide="ignore", invalid="ignore"):
            t_star = num / np.sqrt(scale * np.maximum(ss, 0.0))
        # strictly more extreme, as wildboottest/pyfixest count; the relative margin keeps
        # round-off ties (all-ones and all-minus-ones sign patterns) out
        return float(np.mean(np.abs(t_star) > abs(t_obs) * (1 + _TIE_RTOL)))

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
        (n_clusters,),
    )


def _draw_parts(
    rng: np.random.Generator, size: int, *, n_clusters: int, kind: str, kernel: Any
) -> np.ndarray:
    return kernel(_draw(rng, size, n_clusters=n_clusters, kind=kind))


def _quadratic_parts(v: np.ndarray, *, c0: np.ndarray, c1: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Two-way: numerator and the weighted variance sum as affine/quadratic in r.

    ``h`` stacks the three G_b x G_b matrices H00, H01, H11 of the variance
    ``v'(H00 + 2 r H01 + r^2 H11) v``; returns (size, 5): N0, N1, A, Bc, C as
    :func:`_parts` does.
    """
    v = np.ascontiguousarray(v.T)  # G_b x size
    n_boot = v.shape[0]
    hv = (h @ v).reshape(3, n_boot, -1)
    out = np.empty((v.shape[1], 5))
    out[:, 0] = c0 @ v
    out[:, 1] = c1 @ v
    for j in range(3):
        out[:, 2 + j] = np.einsum("gb,gb->b", v, hv[j])
    return out


def _replicate(kernel: Any, n_boot: int, config: WildClusterBootstrap) -> tuple[np.ndarray, bool]:
    """Run ``kernel`` on all sign patterns (Rademacher, 2^G <= reps) or on drawn weights."""
    if config.weights == "rademacher" and 2**n_boot <= config.reps:
        return kernel(np.array(list(itertools.product((-1.0, 1.0), repeat=n_boot)))), True
    if n_boot < 12 and config.weights == "rademacher":
        warnings.warn(
            f"Only {n_boot} clusters: Rademacher weights allow just 2^{n_boot} "
            "distinct replications. Use weights='webb' for fewer than about 12 clusters.",
            AssumptionWarning,
            stacklevel=4,
        )
    draw = partial(_draw_parts, n_clusters=n_boot, kind=config.weights, kernel=kernel)
    parts = resample(
        draw, config.reps, seed=config.seed, n_jobs=config.n_jobs, desc="wild cluster bootstrap"
    )
    return parts, False


def two_way_codes(
    clusters: np.ndarray, bootcluster: str | int
) -> tuple[list[np.ndarray], list[int], int]:
    """Codes 0..G-1 of both clustering dimensions and their intersection, and which is drawn.

    Parameters
    ----------
    clusters : ndarray (N, 2)
        Integer cluster codes, one column per dimension.
    bootcluster : {"min", "max", "intersection", 0, 1}
        As :class:`WildClusterBootstrap`.

    Returns
    -------
    codes : list of three ndarray
        Dimension 1, dimension 2, their intersection.
    counts : list of three int
        Clusters in each.
    boot_dim : int
        Index into ``codes`` of the dimension whose clusters get the bootstrap weights.
    """
    first = np.unique(clusters[:, 0], return_inverse=True)[1]
    second = np.unique(clusters[:, 1], return_inverse=True)[1]
    both = np.unique(first * (int(second.max()) + 1) + second, return_inverse=True)[1]
    codes = [first, second, both]
    counts = [int(c.max()) + 1 for c in codes]
    if bootcluster == "intersection":
        boot_dim = 2
    elif bootcluster in (0, 1):
        boot_dim = int(bootcluster)
    elif bootcluster == "min":
        boot_dim = int(counts[1] < counts[0])
    else:
        boot_dim = int(counts[1] > counts[0])
    return codes, counts, boot_dim


def _two_way(
    x: np.ndarray,
    y: np.ndarray,
    clusters: np.ndarray,
    restriction: np.ndarray,
    r: float,
    config: WildClusterBootstrap,
    *,
    level: float,
    scale: float,
    ci: bool,
) -> WildTest:
    """Wild cluster bootstrap with the two-way CGM variance (see the module notes)."""
    codes, counts, boot_dim = two_way_codes(clusters, config.bootcluster)
    if min(counts[:2]) < 2:
        raise IdentificationError(
            f"Two-way clustering needs at least two clusters in each dimension; the dimensions "
            f"have {counts[0]} and {counts[1]}. Cluster one way instead."
        )
    if config.cluster_df == "conventional":
        factors = [g / (g - 1) for g in counts]
    else:
        g_min = min(counts[:2])
        factors = [g_min / (g_min - 1)] * 3
    # V = m1 V1 + m2 V2 - m12 V12 (Cameron, Gelbach & Miller 2011)
    term_weights = [scale * factors[0], scale * factors[1], -scale * factors[2]]
    boot, n_boot = codes[boot_dim], counts[boot_dim]
    if n_boot > _MAX_BOOTCLUSTERS_TWO_WAY:
        raise ParameterError(
            f"The two-way wild bootstrap draws weights at the level of the bootcluster, which "
            f"has {n_boot} clusters here (bootcluster={config.bootcluster!r}); its algebra "
            f"works with up to {_MAX_BOOTCLUSTERS_TWO_WAY}. Use bootcluster='min' (the "
            "dimension with fewer clusters, the usual recommendation)."
        )

    a_inv = np.linalg.inv(x.T @ x)
    beta = a_inv @ (x.T @ y)
    resid = y - x @ beta
    a_row = restriction @ a_inv
    ra = float(a_row @ restriction)
    est = float(restriction @ beta)
    xa = x @ a_row

    variance = sum(
        w * float(np.sum(group_sum(c, xa * resid, g) ** 2))
        for w, c, g in zip(term_weights, codes, counts, strict=True)
    )
    if not variance > 0:
        raise IdentificationError(
            f"The two-way cluster-robust variance of the tested combination is not positive "
            f"({variance:.3g}): V1 + V2 - V12 can be negative in finite samples, and then the "
            "t-test is infeasible (boottest reports the same). Cluster one way, on the "
            "dimension that matters most."
        )
    se = float(np.sqrt(variance))

    if config.impose_null:
        shift = x @ (a_inv @ restriction) / ra
        e0, e1 = resid + est * shift, -shift
    else:
        e0, e1 = resid, np.zeros_like(resid)
    s0 = group_sum(boot, x * e0[:, None], n_boot)  # G_b x K
    s1 = group_sum(boot, x * e1[:, None], n_boot)
    # H_ab = sum_d w_d M_d(a)' M_d(b) with the score map M_d(e) = C_d(e) - q_d S(e)'
    # (G_d x G_b): C_d[c, b] = sum of xa_i e_i over the cell (c, b), q_d = R A X_c'X_c A.
    h = np.zeros((3, n_boot, n_boot))
    for w, c, g in zip(term_weights, codes, counts, strict=True):
        q = group_sum(c, xa[:, None] * x, g) @ a_inv
        c_mats = [sparse.csr_matrix((xa * e, (c, boot)), shape=(g, n_boot)) for e in (e0, e1)]
        # blocks of rows keep the dense G_d x G_b map small when G_d is large
        step = max(1, 2_000_000 // n_boot)
        for start in range(0, g, step):
            rows = slice(start, min(start + step, g))
            m0 = c_mats[0][rows].toarray() - q[rows] @ s0.T
            m1 = c_mats[1][rows].toarray() - q[rows] @ s1.T
            cross = m0.T @ m1
            h[0] += w * (m0.T @ m0)
            h[1] += w * 0.5 * (cross + cross.T)
            h[2] += w * (m1.T @ m1)
    c0 = group_sum(boot, xa * e0, n_boot)
    c1 = group_sum(boot, xa * e1, n_boot)
    kernel = partial(_quadratic_parts, c0=c0, c1=c1, h=h.reshape(3 * n_boot, n_boot))
    parts, enumerated = _replicate(kernel, n_boot, config)

    def t_abs(value: float) -> np.ndarray:
        num = parts[:, 0] + value * parts[:, 1] if config.impose_null else parts[:, 0]
        var = parts[:, 2] + 2 * value * parts[:, 3] + value**2 * parts[:, 4]
        out = np.full(len(parts), np.nan)
        ok = var > 0  # infeasible replications stay NaN and never count as more extreme
        out[ok] = np.abs(num[ok]) / np.sqrt(var[ok])
        return out

    def p_value(value: float) -> float:
        with np.errstate(invalid="ignore"):
            return float(np.mean(t_abs(value) > abs(est - value) / se * (1 + _TIE_RTOL)))

    n_infeasible = int(np.isnan(t_abs(r)).sum())
    if n_infeasible:
        warnings.warn(
            f"{n_infeasible} of {len(parts)} bootstrap replications have a non-positive "
            "two-way variance; their t* is undefined and they never count as more extreme, "
            "so the p-value is conservative. Consider clustering one way.",
            AssumptionWarning,
            stacklevel=3,
        )
    lo = hi = float("nan")
    if ci:
        lo, hi = _invert(p_value, est, se, 1 - level)
    return WildTest(
        est,
        se,
        (est - r) / se,
        p_value(r),
        lo,
        hi,
        level,
        len(parts),
        enumerated,
        n_boot,
        config.weights,
        config.impose_null,
        tuple(counts),
        n_infeasible,
    )


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
