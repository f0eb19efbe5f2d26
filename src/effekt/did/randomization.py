"""Randomization inference for the two-way fixed-effects DiD coefficient.

With few treated areas, the sampling distribution of a clustered t-statistic is
a poor guide; a permutation test asks instead how unusual the estimate is among
those obtained by reassigning treatment timing at random (Fisher's exact
approach; for DiD see MacKinnon & Webb 2020). Treatment timing (each unit's
cohort) is permuted across units, or across clusters when treatment was
assigned to whole clusters (e.g. kommune-wide efforts).

On a balanced panel the two-way demeaning of any treatment matrix has a closed
form, so each permutation costs O(N T) array work and no regression is refitted.
Under the sharp null of a constant effect tau0 the permuted statistic is affine
in tau0, so the confidence set (inverting the test) costs O(B) per trial value.

References
----------
Fisher, R. A. (1935). The Design of Experiments. Oliver & Boyd.
MacKinnon, J. G. and Webb, M. D. (2020). Randomization inference for
difference-in-differences with few treated clusters. Journal of Econometrics
218(2), 435-450. doi:10.1016/j.jeconom.2020.04.024
Phipson, B. and Smyth, G. K. (2010). Permutation p-values should never be zero.
Statistical Applications in Genetics and Molecular Biology 9(1).
doi:10.2202/1544-6115.1585
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Literal

import numpy as np
import pandas as pd

from effekt.errors import (
    IdentificationError,
    ParameterError,
    check_choice,
    check_int,
    check_keywords,
    check_seed,
)
from effekt.options import resolve_level
from effekt.panel import require_panel
from effekt.parallel import resample
from effekt.results import Provenance, Result, tidy_effects

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Ledger, Panel

__all__ = ["RandomizationResult", "randomization_test"]


def _demean_two_way(d: np.ndarray) -> np.ndarray:
    """Two-way demeaning of (..., units, periods) arrays on a balanced panel."""
    return (
        d
        - d.mean(axis=-1, keepdims=True)
        - d.mean(axis=-2, keepdims=True)
        + d.mean(axis=(-2, -1), keepdims=True)
    )


def _permuted_stats(
    rng: np.random.Generator,
    size: int,
    *,
    labels: np.ndarray,
    groups: np.ndarray,
    periods: np.ndarray,
    y_tilde: np.ndarray,
    d_tilde: np.ndarray,
) -> np.ndarray:
    """(size, 2): a = D~_p'y~/D~_p'D~_p and b = D~_p'D~/D~_p'D~_p for random permutations.

    y~ and D~ are already demeaned, so D~_p'y~ = D_p'y~ = sum_i Sy[i, c_p(i)] with
    Sy[i, c] = sum over periods t >= c of y~_it: a gather per permutation, O(units).
    ||D~_p||^2 follows from the cohort counts alone (balanced two-way demeaning).
    """
    values, codes = np.unique(labels, return_inverse=True)
    post = (periods[None, :] >= values[:, None]).astype(float)  # cohorts x periods
    sy, sd = y_tilde @ post.T, d_tilde @ post.T  # units x cohorts
    n_units, n_periods = y_tilde.shape
    shuffled = rng.permuted(np.broadcast_to(codes, (size, codes.size)), axis=1)
    unit_codes = shuffled[:, groups]  # size x units
    rows = np.arange(n_units)
    num_y = sy[rows, unit_codes].sum(axis=1)
    num_d = sd[rows, unit_codes].sum(axis=1)
    counts = np.stack([np.bincount(c, minlength=values.size) for c in unit_codes])
    n_post = post.sum(axis=1)  # treated periods of each cohort
    time_means = counts @ post / n_units  # size x periods
    grand = time_means.mean(axis=1)
    ss = (
        counts @ n_post
        - counts @ n_post**2 / n_periods
        - n_units * np.sum(time_means**2, axis=1)
        + n_units * n_periods * grand**2
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        ss = np.where(ss > 1e-12, ss, np.nan)
        return np.column_stack([num_y / ss, num_d / ss])


@check_keywords
def randomization_test(
    panel: Panel,
    *,
    reps: int = 9999,
    permute: Literal["units", "clusters"] = "units",
    seed: int | None = None,
    n_jobs: int = 1,
    ci_level: float | None = None,
) -> RandomizationResult:
    """Permutation test (and confidence set) for the static TWFE DiD coefficient.

    Parameters
    ----------
    panel : effekt.Panel
        Balanced panel with a cohort (absorbing treatment).
    reps : int, default 9999
        Random permutations.
    permute : {"units", "clusters"}, default "units"
        Permute cohorts across units, or across the panel's clusters (every unit
        of a cluster must then share its cohort, as when a kommune-wide effort
        treats all areas of a kommune at once).
    seed : int, optional
        Seed; results are identical for any ``n_jobs``.
    n_jobs : int, default 1
        Parallel workers.
    ci_level : float, optional
        Level of the confidence set from inverting the test under constant
        effects; default ``effekt.options["ci_level"]``.

    Returns
    -------
    RandomizationResult

    Raises
    ------
    IdentificationError
        Unbalanced panel, no treatment timing, cohorts varying within a cluster
        with ``permute="clusters"``, or nothing to permute.
    ParameterError
        Invalid arguments.

    References
    ----------
    MacKinnon & Webb (2020), doi:10.1016/j.jeconom.2020.04.024.

    Examples
    --------
    >>> import effekt as ek
    >>> df = ek.datasets.load_dataset("mpdta")
    >>> panel = ek.Panel.from_frame(df, unit="countyreal", time="year", outcome="lemp",
    ...                             cohort="first.treat", never_treated=0)
    >>> res = ek.did.randomization_test(panel, reps=999, seed=1)
    >>> round(res.estimate, 4), res.p_value < 0.05
    (-0.0365, True)
    """
    owner = "randomization_test"
    require_panel(panel, owner)
    level = resolve_level(ci_level)
    check_choice("permute", owner, permute, ("units", "clusters"))
    check_int("reps", owner, reps, low=99, expected="an integer >= 99 (9999 is usual)")
    check_seed("seed", owner, seed)
    if panel.cohort is None:
        raise IdentificationError(
            "randomization_test permutes treatment timing and needs a panel with a cohort "
            "(Panel.from_frame(..., cohort=...) or an absorbing treatment)."
        )
    if not panel.is_balanced:
        raise IdentificationError(
            "randomization_test needs a balanced panel (every unit in every period): permuted "
            "timings are demeaned in closed form. Balance the panel first (e.g. keep units "
            "observed in all periods; Panel.from_frame records what you drop)."
        )
    if pd.api.types.is_datetime64_any_dtype(panel._data[panel.time]):
        raise ParameterError("randomization_test needs integer periods, not dates.")
    data = panel._data
    units = panel.unit_table()
    periods = np.asarray(panel.periods, dtype=float)
    pivot = data.pivot(index=panel.unit, columns=panel.time, values=panel.outcome)
    wide_y = pivot.loc[units.index].to_numpy(dtype=float)
    cohorts = units["cohort"].to_numpy(dtype=float)
    if permute == "units":
        labels, groups = cohorts, np.arange(cohorts.size)
    else:
        if panel.cluster is None:
            raise ParameterError("permute='clusters' needs a panel with a 'cluster' column.")
        per_cluster = data.groupby(panel.cluster)[panel.cohort].nunique()
        if (per_cluster > 1).any():
            raise IdentificationError(
                f"permute='clusters' needs one cohort per cluster, but "
                f"{int((per_cluster > 1).sum())} cluster(s) mix cohorts, e.g. "
                f"{per_cluster[per_cluster > 1].index[:3].tolist()}. Permute units instead."
            )
        codes, _ = pd.factorize(units["cluster"])
        labels = units.groupby(codes)["cohort"].first().to_numpy(dtype=float)
        groups = codes
    if np.unique(labels).size < 2:
        raise IdentificationError("All units share one cohort; there is nothing to permute.")

    y_tilde = _demean_two_way(wide_y)
    d_obs = _demean_two_way((periods[None, :] >= cohorts[:, None]).astype(float))
    ss = float(np.sum(d_obs * d_obs))
    if ss == 0:
        raise IdentificationError("The treatment has no variation left after the fixed effects.")
    estimate = float(np.sum(d_obs * y_tilde) / ss)
    kernel = partial(
        _permuted_stats,
        labels=labels,
        groups=groups,
        periods=periods,
        y_tilde=y_tilde,
        d_tilde=d_obs,
    )
    draws = resample(kernel, reps, seed=seed, n_jobs=n_jobs, desc="permutations")
    draws = draws[np.isfinite(draws).all(axis=1)]

    def p_value(tau0: float) -> float:
        # under H0: Y(0) = Y - tau0 D, the permuted estimates are a - tau0 b
        extreme = np.abs(draws[:, 0] - tau0 * draws[:, 1]) >= abs(estimate - tau0) * (1 - 1e-12)
        return float((1 + np.sum(extreme)) / (1 + draws.shape[0]))

    lower, upper = _invert(p_value, estimate, float(np.std(draws[:, 0])), 1 - level)
    return RandomizationResult(
        estimate=estimate,
        p_value=p_value(0.0),
        ci=(lower, upper),
        level=level,
        null_distribution=draws[:, 0].copy(),
        permute=permute,
        outcome=str(panel.outcome),
        ledger=panel.ledger,
        provenance=Provenance(
            "randomization_test",
            {"reps": reps, "permute": permute, "n_jobs": n_jobs},
            seed,
            panel.fingerprint,
        ),
    )


def _invert(p_value: object, est: float, scale: float, alpha: float) -> tuple[float, float]:
    from effekt.did.wild import _invert as invert

    return invert(p_value, est, max(scale, 1e-12), alpha)


class RandomizationResult(Result):
    """Result of :func:`randomization_test`.

    Attributes
    ----------
    estimate : float
        The TWFE coefficient on the observed assignment.
    p_value : float
        ``(1 + #{|b_perm| >= |b|}) / (1 + B)`` (Phipson & Smyth 2010).
    ci : tuple of float
        Confidence set for a constant effect, by test inversion.
    null_distribution : numpy.ndarray
        The permuted coefficients.
    """

    title = "Randomization inference for the TWFE DiD coefficient"

    def __init__(
        self,
        *,
        estimate: float,
        p_value: float,
        ci: tuple[float, float],
        level: float,
        null_distribution: np.ndarray,
        permute: str,
        outcome: str,
        ledger: Ledger,
        provenance: Provenance,
    ) -> None:
        self.estimate = estimate
        self.p_value = p_value
        self.ci = ci
        self.level = level
        self.null_distribution = null_distribution
        self.permute = permute
        self.outcome = outcome
        self.ledger = ledger
        self.provenance = provenance
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """One row: the coefficient, the permutation SD, the inverted interval, the p-value."""
        return tidy_effects(
            {"outcome": [self.outcome], "estimator": ["TwoWayFE"], "term": ["treated"]},
            [self.estimate],
            [float(np.std(self.null_distribution, ddof=1))],
            level=self.level,
            ci_lower=[self.ci[0]],
            ci_upper=[self.ci[1]],
            p_value=[self.p_value],
            extra={
                "inference": f"randomization ({self.permute}, B = {self.null_distribution.size})"
            },
        )

    def _summary_info(self) -> list[tuple[str, str]]:
        return [
            ("Outcome", self.outcome),
            ("Permuted", self.permute),
            ("Permutations", f"{self.null_distribution.size:,}"),
            ("p-value", f"{self.p_value:.4f}"),
        ]

    def plot(self, ax: Axes | None = None) -> Axes:
        """Histogram of the permuted coefficients with the observed one marked."""
        from effekt._plotting import label, new_axes

        ax = new_axes(ax)
        ax.hist(self.null_distribution, bins=50, color="#bdbdbd", edgecolor="white")
        ax.axvline(self.estimate, color="#08519c", lw=2, label=label("estimate"))
        ax.set_xlabel(label("coefficient"))
        ax.set_ylabel(label("permutations"))
        ax.set_title(label("randomization_title", outcome=self.outcome))
        ax.legend(frameon=False)
        return ax
