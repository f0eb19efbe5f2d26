"""Multiplier bootstrap of influence functions, with sup-t uniform bands.

An asymptotically linear estimator :math:`\\hat\\theta` with influence function
:math:`\\psi_i` is bootstrapped without refitting: each draw multiplies the
influence functions by i.i.d. weights :math:`v_i` with mean 0 and variance 1,
:math:`\\hat\\theta^* - \\hat\\theta = n^{-1} \\sum_i v_i \\psi_i`. Clustering at a
level above the unit draws one weight per cluster and applies it to the
cluster's sum of influence functions (Callaway & Sant'Anna 2021, Remark 10).
Standard errors are the interquartile range of the draws divided by that of the
standard normal, and the uniform (simultaneous) band's critical value is the
bootstrap quantile of the largest t-statistic over all estimates, as in R
``did`` (``mboot``).

The draws run through :func:`effekt.parallel.resample`, so they are identical for
any ``n_jobs``; the same seed gives the same multipliers for the group-time
effects and for every aggregation of them.

References
----------
Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with
multiple time periods. Journal of Econometrics 225(2), 200-230.
doi:10.1016/j.jeconom.2020.12.001
Mammen, E. (1993). Bootstrap and wild bootstrap for high dimensional linear
models. The Annals of Statistics 21(1), 255-285. doi:10.1214/aos/1176349025
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy import stats

from effekt.errors import (
    check_choice,
    check_int,
    check_n_jobs,
    check_seed,
)
from effekt.parallel import resample

__all__ = ["MultiplierBootstrap"]

_BLOCK = 1 << 22  # multipliers drawn at a time (reps x clusters), bounding memory
_IQR_NORMAL = float(stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
_SQRT5 = float(np.sqrt(5.0))


@dataclass(frozen=True, kw_only=True)
class MultiplierBootstrap:
    """Settings of the multiplier bootstrap used by :class:`~effekt.did.CallawaySantAnna`.

    Parameters
    ----------
    reps : int, default 999
        Number of bootstrap draws.
    seed : int, numpy.random.SeedSequence or None, default None
        Seed of the multipliers. ``None`` draws fresh entropy at fit time; the
        entropy is kept in the result's provenance, so the run can be repeated.
    weights : {"rademacher", "mammen"}, default "rademacher"
        Distribution of the multipliers: Rademacher (±1 with probability 1/2,
        as R ``did``) or Mammen's (1993) two-point distribution.
    n_jobs : int, default 1
        Parallel workers (``-1``: all cores). The draws do not depend on it.

    Raises
    ------
    ParameterError
        Invalid settings.

    References
    ----------
    Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with
    multiple time periods. Journal of Econometrics 225(2), 200-230.
    doi:10.1016/j.jeconom.2020.12.001
    Mammen, E. (1993). Bootstrap and wild bootstrap for high dimensional linear
    models. The Annals of Statistics 21(1), 255-285. doi:10.1214/aos/1176349025

    Examples
    --------
    >>> import effekt as ek
    >>> ek.did.MultiplierBootstrap(reps=499, seed=1)
    MultiplierBootstrap(reps=499, seed=1, weights='rademacher', n_jobs=1)
    """

    reps: int = 999
    seed: int | np.random.SeedSequence | None = None
    weights: str = "rademacher"
    n_jobs: int = 1

    def __post_init__(self) -> None:
        owner = "MultiplierBootstrap"
        check_int("reps", owner, self.reps, expected="an integer of at least 99")
        check_int(
            "reps",
            owner,
            self.reps,
            low=99,
            expected="an integer of at least 99",
            hint="Standard errors and band quantiles need many draws; 999 is the usual choice.",
        )
        check_seed("seed", owner, self.seed)
        check_choice("weights", owner, self.weights, ("rademacher", "mammen"))
        check_n_jobs("n_jobs", owner, self.n_jobs)

    def seed_sequence(self) -> np.random.SeedSequence:
        """The root :class:`~numpy.random.SeedSequence` (fresh entropy when ``seed`` is None)."""
        if isinstance(self.seed, np.random.SeedSequence):
            return self.seed
        return np.random.SeedSequence(None if self.seed is None else int(self.seed))


def _bernoulli(rng: np.random.Generator, shape: tuple[int, int], weights: str) -> np.ndarray:
    """0/1 indicators of the upper multiplier value, as float32."""
    if weights == "rademacher":
        # eight fair coins per random byte
        packed = rng.integers(0, 256, size=(shape[0], (shape[1] + 7) // 8), dtype=np.uint8)
        return np.unpackbits(packed, axis=1, count=shape[1]).astype(np.float32)
    # Mammen: the upper value (sqrt5+1)/2 has probability (sqrt5-1)/(2 sqrt5)
    p_upper = (_SQRT5 - 1.0) / (2.0 * _SQRT5)
    return (rng.random(shape) < p_upper).astype(np.float32)


def _levels(weights: str) -> tuple[float, float]:
    if weights == "rademacher":
        return -1.0, 1.0
    return -(_SQRT5 - 1.0) / 2.0, (_SQRT5 + 1.0) / 2.0


def _chunk(
    rng: np.random.Generator,
    size: int,
    *,
    psi: Any,
    colsum: np.ndarray,
    n: int,
    weights: str,
) -> np.ndarray:
    """``size`` draws of ``v' psi / n``, multipliers drawn in blocks of bounded size.

    A two-point multiplier is ``lo + (hi - lo) u`` with ``u`` in {0, 1}, so
    ``v' psi = lo * colsum(psi) + (hi - lo) * u' psi``: the product runs on 0/1
    indicators in single precision (relative error ~1e-7, far below the Monte-Carlo
    error) while the result is assembled in double precision. The block size depends
    only on the number of clusters, so the draws depend on the seed and data alone.
    """
    n_clusters, k = psi.shape
    lo, hi = _levels(weights)
    out = np.empty((size, k))
    step = max(1, min(size, _BLOCK // max(n_clusters, 1)))
    for start in range(0, size, step):
        m = min(step, size - start)
        u = _bernoulli(rng, (m, n_clusters), weights)
        s = np.asarray(psi.T @ u.T).T if sp.issparse(psi) else u @ psi
        out[start : start + m] = (lo * colsum + (hi - lo) * s) / n
    return out


def draws(psi: Any, n: int, spec: MultiplierBootstrap, seed: np.random.SeedSequence) -> np.ndarray:
    """Bootstrap draws of the estimates' deviations, shape ``(reps, k)``.

    ``psi`` holds one row per independent sampling unit (a unit, or a cluster's
    summed influence functions) and one column per estimate; ``n`` is the number
    of units the influence functions were averaged over.
    """
    colsum = np.asarray(psi.sum(axis=0), dtype=float).ravel()
    psi32 = psi.astype(np.float32)
    func = partial(_chunk, psi=psi32, colsum=colsum, n=n, weights=spec.weights)
    return resample(
        func, int(spec.reps), seed=seed, n_jobs=spec.n_jobs, desc="multiplier bootstrap"
    )


def summarize(
    boot: np.ndarray, degenerate: np.ndarray, level: float, band: np.ndarray | None = None
) -> tuple[np.ndarray, float]:
    """IQR-based standard errors and the sup-t critical value of a uniform band.

    Columns flagged ``degenerate`` (influence function identically zero, e.g. the
    normalised base period) get a missing standard error and are left out of the
    band, as in R ``did``; ``band`` (default: all columns) selects the columns the
    uniform band covers.
    """
    q75, q25 = np.quantile(boot, [0.75, 0.25], axis=0, method="inverted_cdf")
    se = (q75 - q25) / _IQR_NORMAL
    se = np.where(degenerate | ~(se > 0), np.nan, se)
    ok = np.isfinite(se) if band is None else np.isfinite(se) & band
    if not ok.any():
        return se, float("nan")
    t_max = np.max(np.abs(boot[:, ok]) / se[ok], axis=1)
    crit = float(np.quantile(t_max, level, method="inverted_cdf"))
    return se, crit
