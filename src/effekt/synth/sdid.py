"""Synthetic difference-in-differences (Arkhangelsky et al. 2021), also staggered.

For treated units adopting at ``T0`` and controls, SDID solves

- unit weights: :math:`\\min_{\\omega_0, \\omega \\in \\Delta} \\frac{1}{T_0}\\sum_{t \\le T_0}
  (\\omega_0 + \\omega' Y_{co,t} - \\bar Y_{tr,t})^2 + \\zeta_\\omega^2 \\lVert\\omega\\rVert^2`
  with :math:`\\zeta_\\omega = (N_{tr} T_{post})^{1/4} \\hat\\sigma`, :math:`\\hat\\sigma` the
  standard deviation of the controls' first differences before treatment;
- time weights: the same with the roles of units and periods swapped, targeting
  each control's post-period mean, :math:`\\zeta_\\lambda = 10^{-6} \\hat\\sigma`;
- :math:`\\hat\\tau = (\\bar Y_{tr,post} - \\lambda'\\bar Y_{tr,pre}) -
  (\\omega' \\bar Y_{co,post} - \\omega' Y_{co,pre} \\lambda)`.

These are R synthdid's defaults. synthdid solves the weight problems by
Frank-Wolfe with a sparsification heuristic and a stopping rule; we solve the
same strictly convex problems exactly (Wolfe's active-set algorithm,
:mod:`effekt.synth._weights`), so estimates agree with synthdid's to its
convergence tolerance.

``estimator="sc"`` is synthdid's synthetic-control variant: no intercept, no time
weights, a negligible ridge (:math:`\\zeta_\\omega = 10^{-6}\\hat\\sigma`), fitted to
every pre-treatment outcome. It is **not** ADH's :class:`SyntheticControl`
(no covariates, no V matrix), so its weights and estimate differ from ADH's.
``estimator="did"`` uses uniform weights (plain DiD).

Staggered adoption: each adoption cohort is estimated against the
never-treated units over all periods, and the cohort estimates are averaged
with weights proportional to their number of treated unit-periods
(:math:`N_g T_{post,g}`), the aggregation of Arkhangelsky et al. (2021,
Appendix) as implemented in Stata's ``sdid`` (Clarke et al. 2024).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from effekt.errors import (
    DataError,
    DroppedRowsWarning,
    IdentificationError,
    ParameterError,
    check_choice,
    invalid_parameter,
    show_value,
)
from effekt.estimator import Estimator
from effekt.options import resolve_level
from effekt.parallel import resample
from effekt.results import Provenance, Result, tidy_effects
from effekt.synth import _prep
from effekt.synth._weights import solve_simplex

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

    from effekt.panel import Panel

__all__ = ["SyntheticDiD", "SyntheticDiDResult"]

_OWNER = "SyntheticDiD"


@dataclass
class _Cohort:
    """One adoption cohort: its treated rows and the controls, as matrices."""

    time: Any  # first treated period
    t0: int  # number of pre-treatment periods
    y1: np.ndarray  # (N1, T)
    y0: np.ndarray  # (N0, T)
    treated: list[Any]


@dataclass
class _Weights:
    omega: np.ndarray
    lam: np.ndarray
    zeta_omega: float
    zeta_lambda: float
    noise: float


# ------------------------------------------------------------------------- core
def _noise(y0: np.ndarray, t0: int) -> float:
    diffs = np.diff(y0[:, :t0], axis=1)
    return float(np.std(diffs, ddof=1)) if diffs.size > 1 else 0.0


def _weight_problem(a: np.ndarray, b: np.ndarray, zeta: float, intercept: bool) -> np.ndarray:
    """``min ||a w - b||^2 / n + zeta^2 ||w||^2`` on the simplex (rows of a: observations)."""
    if intercept:
        a = a - a.mean(axis=0)
        b = b - b.mean()
    n = a.shape[0]
    return solve_simplex((a - b[:, None]) / np.sqrt(n), eta=zeta**2)


def _frank_wolfe(
    a: np.ndarray,
    b: np.ndarray,
    zeta: float,
    intercept: bool,
    x: np.ndarray,
    min_decrease: float,
    max_iter: int,
) -> np.ndarray:
    """R synthdid's ``sc.weight.fw``: Frank-Wolfe with exact line search, from ``x``."""
    if intercept:
        a = a - a.mean(axis=0)
        b = b - b.mean()
    n = a.shape[0]
    eta = n * zeta**2
    ax = a @ x
    prev = np.inf
    for it in range(max_iter):
        half_grad = (ax - b) @ a + eta * x
        i = int(np.argmin(half_grad))
        d_x = -x.copy()
        d_x[i] += 1.0
        if np.all(d_x == 0):
            break
        d_err = a[:, i] - ax
        step = -(half_grad @ d_x) / (d_err @ d_err + eta * (d_x @ d_x))
        step = min(1.0, max(0.0, float(step)))
        x = x + step * d_x
        ax = ax + step * d_err
        err = ax - b
        val = zeta**2 * (x @ x) + (err @ err) / n
        if it >= 1 and prev - val <= min_decrease**2:
            break
        prev = val
    return x


def _sparsify(x: np.ndarray) -> np.ndarray:
    x = np.where(x <= x.max() / 4, 0.0, x)
    return x / x.sum()


def _fw_problem(a, b, zeta, intercept, min_decrease, init=None) -> np.ndarray:
    """synthdid's two-pass scheme: 100 Frank-Wolfe steps, sparsify, then up to 10,000 more."""
    x = np.full(a.shape[1], 1 / a.shape[1]) if init is None else init
    x = _frank_wolfe(a, b, zeta, intercept, x, min_decrease, 100)
    return _frank_wolfe(a, b, zeta, intercept, _sparsify(x), min_decrease, 10_000)


def _weights(
    kind: str,
    y1: np.ndarray,
    y0: np.ndarray,
    t0: int,
    zetas=None,
    solver: str = "exact",
    init: tuple[np.ndarray, np.ndarray] | None = None,
) -> _Weights:
    n0, t = y0.shape
    n1, t1 = y1.shape[0], t - t0
    sigma = _noise(y0, t0)
    if zetas is None:
        eta_omega = (n1 * t1) ** 0.25 if kind == "sdid" else 1e-6
        zetas = (eta_omega * sigma, 1e-6 * sigma, sigma)
    zeta_omega, zeta_lambda, noise = zetas
    if kind == "did":
        return _Weights(np.full(n0, 1 / n0), np.full(t0, 1 / t0), zeta_omega, zeta_lambda, noise)
    target = y1[:, :t0].mean(axis=0)
    if solver == "exact":
        omega = _weight_problem(y0[:, :t0].T, target, zeta_omega, intercept=kind == "sdid")
    else:
        omega = _fw_problem(
            y0[:, :t0].T,
            target,
            zeta_omega,
            kind == "sdid",
            1e-5 * noise,
            None if init is None else init[0],
        )
    if kind == "sc":
        lam = np.zeros(t0)
    elif solver == "exact":
        lam = _weight_problem(y0[:, :t0], y0[:, t0:].mean(axis=1), zeta_lambda, intercept=True)
    else:
        lam = _fw_problem(
            y0[:, :t0],
            y0[:, t0:].mean(axis=1),
            zeta_lambda,
            True,
            1e-5 * noise,
            None if init is None else init[1],
        )
    return _Weights(omega, lam, zeta_omega, zeta_lambda, noise)


def _tau(y1: np.ndarray, y0: np.ndarray, t0: int, w: _Weights) -> float:
    diff = y1.mean(axis=0) - w.omega @ y0
    return float(diff[t0:].mean() - diff[:t0] @ w.lam)


def _curve(y1: np.ndarray, y0: np.ndarray, t0: int, w: _Weights) -> np.ndarray:
    diff = y1.mean(axis=0) - w.omega @ y0
    return diff - diff[:t0] @ w.lam


def _estimate(
    kind: str, cohorts: list[_Cohort], zetas=None, solver: str = "exact", inits=None
) -> tuple[np.ndarray, list[_Weights]]:
    """Aggregated estimate followed by the cohort estimates, and the cohorts' weights."""
    taus, weights, sizes = [], [], []
    for i, c in enumerate(cohorts):
        w = _weights(
            kind,
            c.y1,
            c.y0,
            c.t0,
            None if zetas is None else zetas[i],
            solver,
            None if inits is None else inits[i],
        )
        weights.append(w)
        taus.append(_tau(c.y1, c.y0, c.t0, w))
        sizes.append(c.y1.shape[0] * (c.y1.shape[1] - c.t0))
    share = np.asarray(sizes, float) / np.sum(sizes)
    return np.array([float(share @ np.asarray(taus)), *taus]), weights


def _placebo_draws(
    rng: np.random.Generator,
    size: int,
    kind: str,
    controls: np.ndarray,
    cohort_sizes: list[int],
    t0s: list[int],
    times: list[Any],
    zetas: list[tuple[float, float, float]],
    solver: str,
    start_weights: list[tuple[np.ndarray, np.ndarray]],
) -> np.ndarray:
    """Algorithm 4: controls permuted, the first ones given the treated units' adoption times.

    ``controls`` is (N0, T), or (K, N0, T) when each of the K cohorts compares with
    its own outcomes of the same controls (the baseline-stayer design of
    :mod:`effekt.study`); one permutation per draw serves every cohort either way.
    With the Frank-Wolfe solver the weights start, as in synthdid, from the
    original fit's (omega of the remaining controls renormalised, lambda as is).
    """
    out = np.empty((size, len(cohort_sizes) + 1))
    n_tr = sum(cohort_sizes)
    n_c = controls.shape[-2]
    for b in range(size):
        perm = rng.permutation(n_c)
        fake, rest = perm[:n_tr], perm[n_tr:]
        cohorts, start, inits = [], 0, []
        for g, (n, t0, time) in enumerate(zip(cohort_sizes, t0s, times, strict=True)):
            idx = fake[start : start + n]
            start += n
            y = controls if controls.ndim == 2 else controls[g]
            cohorts.append(_Cohort(time, t0, y[idx], y[rest], []))
            om, lam = start_weights[g]
            om = om[rest]
            om = om / om.sum() if om.sum() > 0 else np.full(len(om), 1 / len(om))
            inits.append((om, lam))
        out[b] = _estimate(kind, cohorts, zetas, solver, inits)[0]
    return out


def _bootstrap_draws(
    rng: np.random.Generator,
    size: int,
    kind: str,
    controls: np.ndarray,
    treated: np.ndarray,
    cohort_of: np.ndarray,
    t0s: list[int],
    times: list[Any],
    zetas: list[tuple[float, float, float]],
    solver: str,
) -> np.ndarray:
    """Algorithm 2: units resampled with replacement (draws without treated or controls redrawn)."""
    n0, n1 = controls.shape[0], treated.shape[0]
    n_cohorts = len(t0s)
    out = np.full((size, n_cohorts + 1), np.nan)
    b = 0
    while b < size:
        draw = rng.integers(0, n0 + n1, size=n0 + n1)
        ctrl = draw[draw < n0]
        trt = draw[draw >= n0] - n0
        if len(ctrl) == 0 or len(trt) == 0:
            continue
        cohorts, keep = [], []
        for g in range(n_cohorts):
            rows = trt[cohort_of[trt] == g]
            if len(rows):
                cohorts.append(_Cohort(times[g], t0s[g], treated[rows], controls[ctrl], []))
                keep.append(g)
        est = _estimate(kind, cohorts, [zetas[g] for g in keep], solver)[0]
        out[b, 0] = est[0]
        out[b, [g + 1 for g in keep]] = est[1:]
        b += 1
    return out


# ------------------------------------------------------------------------- estimator
class SyntheticDiD(Estimator):
    """Synthetic difference-in-differences, with synthdid's SC and DiD variants.

    Parameters
    ----------
    treated : unit label, list of labels, or None
        Treated unit(s). None: the units the panel marks as treated (its
        ``treatment``/``cohort`` columns); several adoption times give the
        staggered estimator.
    treatment_time : period, optional
        First treated period for ``treated`` (default: the panel's cohorts).
    estimator : {"sdid", "sc", "did"}, default "sdid"
        Synthetic DiD; synthdid's synthetic control (no intercept, no time
        weights, no covariates, not ADH's :class:`SyntheticControl`); or DiD.
    se : {"placebo", "bootstrap", "jackknife"} or None, default "placebo"
        Standard error: placebo (Algorithm 4, the only one valid with one
        treated unit; needs more controls than treated units), unit bootstrap
        (Algorithm 2) or fixed-weight jackknife (Algorithm 3, needs at least two
        treated units). None skips it.
    n_reps : int, default 200
        Placebo or bootstrap replications.
    donors : list of unit labels, optional
        Control units (default: every never-treated unit).
    solver : {"exact", "frank-wolfe"}, default "exact"
        ``"exact"`` solves the weight problems to optimality (active set).
        ``"frank-wolfe"`` replays R synthdid's solver step by step (100
        Frank-Wolfe steps, sparsification of weights below a quarter of the
        largest, then Frank-Wolfe until the decrease per step falls below
        :math:`(10^{-5}\\hat\\sigma)^2`), to reproduce published synthdid numbers;
        its weights stop short of the optimum, which moves e.g. the SC estimate
        on Proposition 99 by about 0.1 packs.
    seed : int, default 0
        Seed of the placebo/bootstrap draws (:func:`effekt.parallel.resample`;
        identical for any ``n_jobs``).
    n_jobs : int, default 1
        Workers for the replications.
    ci_level : float, optional
        Level of the normal interval ``estimate ± z * se``.

    Notes
    -----
    Only the outcome is used: the panel's covariates are ignored (synthdid's
    covariate adjustment is not implemented); residualise the outcome on them
    first if they matter. The panel must be balanced for the units used.

    References
    ----------
    Arkhangelsky, D., Athey, S., Hirshberg, D. A., Imbens, G. W. and Wager, S.
    (2021). Synthetic difference-in-differences. American Economic Review
    111(12), 4088-4118. doi:10.1257/aer.20190159
    Clarke, D., Pailañir, D., Athey, S. and Imbens, G. (2024). On synthetic
    difference-in-differences and related estimation methods in Stata. The
    Stata Journal 24(4), 557-598. doi:10.1177/1536867X241297914

    Examples
    --------
    >>> import effekt as ek
    >>> df = ek.datasets.load_dataset("prop99")
    >>> panel = ek.Panel.from_frame(df, unit="state", time="year", outcome="cigsale")
    >>> res = ek.synth.SyntheticDiD(treated="California", treatment_time=1989,
    ...                             se=None).fit(panel)
    >>> round(res.att, 1)
    -15.6
    """

    def __init__(
        self,
        *,
        treated: Any = None,
        treatment_time: Any = None,
        estimator: str = "sdid",
        se: str | None = "placebo",
        n_reps: int = 200,
        donors: Sequence[Any] | None = None,
        solver: str = "exact",
        seed: int = 0,
        n_jobs: int = 1,
        ci_level: float | None = None,
    ) -> None:
        self.treated = treated
        self.treatment_time = treatment_time
        self.estimator = estimator
        self.se = se
        self.n_reps = n_reps
        self.donors = donors
        self.solver = solver
        self.seed = seed
        self.n_jobs = n_jobs
        self.ci_level = ci_level

    def fit(self, panel: Panel) -> SyntheticDiDResult:
        """Estimate the average effect on the treated and its standard error.

        Parameters
        ----------
        panel : effekt.Panel

        Returns
        -------
        SyntheticDiDResult

        Raises
        ------
        ParameterError
            Invalid parameters.
        DataError
            Unknown units, treated units with missing outcomes.
        IdentificationError
            Treatment time outside the panel, fewer than 2 controls, placebo SE
            with no more controls than treated units, jackknife with one treated
            unit.
        """

        level = resolve_level(self.ci_level)
        check_choice("estimator", _OWNER, self.estimator, ("sdid", "sc", "did"))
        check_choice("se", _OWNER, self.se, ("placebo", "bootstrap", "jackknife", None))
        check_choice("solver", _OWNER, self.solver, ("exact", "frank-wolfe"))
        if isinstance(self.n_reps, bool) or not isinstance(self.n_reps, int) or self.n_reps < 2:
            raise invalid_parameter("n_reps", _OWNER, "an integer >= 2", self.n_reps)
        treated = _prep.resolve_treated(panel, self.treated, _OWNER)
        times = {
            u: _prep.treatment_time_for(panel, u, self.treatment_time, _OWNER) for u in treated
        }
        wide = _prep.outcome_wide(panel)
        periods = np.asarray(wide.columns)
        controls = _controls(panel, treated, self.donors)
        y_c = wide.loc[controls]
        bad = y_c.isna().any(axis=1)
        ledger = panel.ledger
        if bad.any():
            dropped = list(y_c.index[bad])
            warnings.warn(
                f"{_OWNER}: {len(dropped)} control unit(s) lack the outcome in some period and "
                f"were left out: {show_value(dropped)}. SDID needs a balanced panel.",
                DroppedRowsWarning,
                stacklevel=2,
            )
            rows = panel._data.loc[panel._data[panel.unit].isin(dropped)]
            ledger = ledger.extend(
                pd.DataFrame(
                    {
                        "row": rows.index,
                        "unit": rows[panel.unit].to_numpy(),
                        "time": rows[panel.time].to_numpy(),
                        "reason": "synthetic DiD: control with incomplete outcome",
                    }
                )
            )
            y_c = y_c.loc[~bad]
        if len(y_c) < 2:
            raise IdentificationError(f"{_OWNER} needs at least 2 control units; found {len(y_c)}.")
        y_t = wide.loc[treated]
        missing = y_t.isna().any(axis=1)
        if missing.any():
            raise DataError(
                f"{_OWNER}: treated unit(s) {show_value(list(y_t.index[missing]))} lack the "
                "outcome in some period; SDID needs a balanced panel. Restrict the periods or "
                "impute."
            )
        y0 = y_c.to_numpy(float)
        y1 = y_t.to_numpy(float)
        cohort_times = sorted(set(times.values()))
        cohort_of = np.array([cohort_times.index(times[u]) for u in treated])
        cohorts = []
        for g, time in enumerate(cohort_times):
            members = np.flatnonzero(cohort_of == g)
            t0 = int(np.sum(periods < time))
            cohorts.append(_Cohort(time, t0, y1[members], y0, [treated[i] for i in members]))
        est, weights = _estimate(self.estimator, cohorts, solver=self.solver)
        zetas = [(w.zeta_omega, w.zeta_lambda, w.noise) for w in weights]
        draws = None
        ses = np.full(len(est), np.nan)
        if self.se == "placebo":
            if y0.shape[0] <= len(treated):
                raise IdentificationError(
                    f"Placebo standard errors need more control units ({y0.shape[0]}) than treated "
                    f"units ({len(treated)}); use se='bootstrap' or 'jackknife'."
                )
            func = functools.partial(
                _placebo_draws,
                kind=self.estimator,
                controls=y0,
                cohort_sizes=[c.y1.shape[0] for c in cohorts],
                t0s=[c.t0 for c in cohorts],
                times=cohort_times,
                zetas=zetas,
                solver=self.solver,
                start_weights=[(w.omega, w.lam) for w in weights],
            )
            draws = resample(
                func, self.n_reps, seed=self.seed, n_jobs=self.n_jobs, desc="SDID placebo"
            )
        elif self.se == "bootstrap":
            func = functools.partial(
                _bootstrap_draws,
                kind=self.estimator,
                controls=y0,
                treated=y1,
                cohort_of=cohort_of,
                t0s=[c.t0 for c in cohorts],
                times=cohort_times,
                zetas=zetas,
                solver=self.solver,
            )
            draws = resample(
                func, self.n_reps, seed=self.seed, n_jobs=self.n_jobs, desc="SDID bootstrap"
            )
        elif self.se == "jackknife":
            ses = _jackknife(cohorts, weights, y0.shape[0])
        if draws is not None:
            ses = np.sqrt(np.nanmean((draws - np.nanmean(draws, axis=0)) ** 2, axis=0))
        return SyntheticDiDResult(
            estimator=self.estimator,
            outcome=str(panel.outcome),
            periods=periods,
            cohorts=cohorts,
            weights=weights,
            controls=list(y_c.index),
            estimates=est,
            std_errors=ses,
            se_method=self.se,
            n_reps=self.n_reps,
            level=level,
            ledger=ledger,
            provenance=Provenance(_OWNER, self.get_params(), self.seed, panel.fingerprint),
            draws=draws,
        )


def _controls(panel: Panel, treated: list[Any], donors: Sequence[Any] | None) -> list[Any]:
    g = _prep.cohorts(panel)
    units = panel._data[panel.unit].unique()
    if donors is None:
        pool = [u for u in sorted(units.tolist(), key=str) if u not in treated]
        if not g.empty:
            ever = set(g.index[_prep._is_finite(g)].tolist())
            pool = [u for u in pool if u not in ever]
        return pool
    pool = list(dict.fromkeys(donors))
    known = set(units.tolist())
    for label in pool:
        if label not in known:
            raise _prep.missing_unit("donors", _OWNER, label, units)
        if label in treated:
            raise invalid_parameter("donors", _OWNER, "control units only", label)
    if not g.empty:
        cg = g.reindex(pool)
        bad = cg[_prep._is_finite(cg)]
        if len(bad):
            raise IdentificationError(
                f"Donor(s) {show_value(list(bad.index))} of {_OWNER} are themselves treated in the "
                "panel; a treated unit is no control. Drop them from donors=..."
            )
    return pool


def _jackknife(cohorts: list[_Cohort], weights: list[_Weights], n0: int) -> np.ndarray:
    """Algorithm 3: leave one unit out, weights fixed (omega renormalised)."""
    n1 = sum(c.y1.shape[0] for c in cohorts)
    if n1 < 2:
        raise IdentificationError(
            "The jackknife standard error needs at least 2 treated units (Arkhangelsky et al. "
            "2021, Algorithm 3); with one treated unit use se='placebo'."
        )
    reps = []
    for i in range(n0):  # controls
        keep = np.arange(n0) != i
        est, sizes = [], []
        for c, w in zip(cohorts, weights, strict=True):
            om = w.omega[keep]
            om = om / om.sum() if om.sum() > 0 else np.full(len(om), 1 / len(om))
            est.append(_tau(c.y1, c.y0[keep], c.t0, _Weights(om, w.lam, 0, 0, 0)))
            sizes.append(c.y1.shape[0] * (c.y1.shape[1] - c.t0))
        reps.append(_agg(est, sizes))
    for gi, c in enumerate(cohorts):  # treated units
        for r in range(c.y1.shape[0]):
            est, sizes = [], []
            for gj, (d, w) in enumerate(zip(cohorts, weights, strict=True)):
                y1 = np.delete(d.y1, r, axis=0) if gj == gi else d.y1
                if y1.shape[0] == 0:
                    continue
                est.append(_tau(y1, d.y0, d.t0, w))
                sizes.append(y1.shape[0] * (y1.shape[1] - d.t0))
            reps.append(_agg(est, sizes))
    reps_arr = np.asarray(reps)
    n = len(reps_arr)
    se = float(np.sqrt((n - 1) / n * np.sum((reps_arr - reps_arr.mean()) ** 2)))
    out = np.full(len(cohorts) + 1, np.nan)
    out[0] = se
    return out


def _agg(est: list[float], sizes: list[int]) -> float:
    s = np.asarray(sizes, float)
    return float(np.asarray(est) @ (s / s.sum()))


class SyntheticDiDResult(Result):
    """Result of :class:`SyntheticDiD`.

    Attributes
    ----------
    att : float
        Average effect on the treated (aggregated over cohorts).
    se : float
        Its standard error (NaN when ``se=None``).
    cohort_table : pandas.DataFrame
        Per adoption cohort: ``cohort, estimate, std_error, n_treated, n_post,
        weight`` (share in the aggregate).
    unit_weights : pandas.DataFrame
        Control units x cohorts: omega.
    time_weights : pandas.DataFrame
        Pre-treatment periods x cohorts: lambda.
    replicates : pandas.DataFrame or None
        The placebo or bootstrap replications behind ``se`` (one row per draw;
        column ``att``, then one per cohort), e.g. for a rank p-value of ``att``
        among the placebo draws; None for ``se="jackknife"`` or ``None``.
    """

    title = "Synthetic difference-in-differences"

    def __init__(
        self,
        *,
        estimator: str,
        outcome: str,
        periods: np.ndarray,
        cohorts: list[_Cohort],
        weights: list[_Weights],
        controls: list[Any],
        estimates: np.ndarray,
        std_errors: np.ndarray,
        se_method: str | None,
        n_reps: int,
        level: float,
        ledger: Any,
        provenance: Provenance,
        draws: np.ndarray | None = None,
    ) -> None:
        self.estimator = estimator
        self.outcome = outcome
        self.periods = periods
        self.att = float(estimates[0])
        self.se = float(std_errors[0])
        self.se_method = se_method
        self.n_reps = n_reps
        self.level = level
        sizes = np.array([c.y1.shape[0] * (c.y1.shape[1] - c.t0) for c in cohorts], float)
        self.cohort_table = pd.DataFrame(
            {
                "cohort": [c.time for c in cohorts],
                "estimate": estimates[1:],
                "std_error": std_errors[1:],
                "n_treated": [c.y1.shape[0] for c in cohorts],
                "n_post": [c.y1.shape[1] - c.t0 for c in cohorts],
                "weight": sizes / sizes.sum(),
            }
        )
        self.unit_weights = pd.DataFrame(
            {c.time: w.omega for c, w in zip(cohorts, weights, strict=True)},
            index=pd.Index(controls, name="unit"),
        )
        self.time_weights = pd.DataFrame(
            {
                c.time: pd.Series(w.lam, index=periods[: c.t0])
                for c, w in zip(cohorts, weights, strict=True)
            }
        )
        self.time_weights.index.name = "time"
        self.treated = [u for c in cohorts for u in c.treated]
        self.replicates = (
            None
            if draws is None
            else pd.DataFrame(draws, columns=pd.Index(["att", *(c.time for c in cohorts)]))
        )
        self._cohorts = cohorts
        self._weights = weights
        self.ledger = ledger
        self.provenance = provenance
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: the ATT (``aggregation="simple"``), one row per cohort
        (``aggregation="cohort"``) and the per-period effect curve of each cohort
        (``term="gap"``, keys ``cohort, time, event_time``; point estimates)."""
        name = {"sdid": "SyntheticDiD", "sc": "SyntheticDiD(sc)", "did": "SyntheticDiD(did)"}[
            self.estimator
        ]
        rows = [
            {
                "aggregation": "simple",
                "term": "att",
                "cohort": np.nan,
                "time": np.nan,
                "event_time": pd.NA,
                "estimate": self.att,
                "std_error": self.se,
            }
        ]
        for _, r in self.cohort_table.iterrows():
            rows.append(
                {
                    "aggregation": "cohort",
                    "term": "att",
                    "cohort": float(r["cohort"]),
                    "time": np.nan,
                    "event_time": pd.NA,
                    "estimate": r["estimate"],
                    "std_error": r["std_error"],
                }
            )
        for c, w in zip(self._cohorts, self._weights, strict=True):
            curve = _curve(c.y1, c.y0, c.t0, w)
            for k in range(c.t0, len(self.periods)):
                rows.append(
                    {
                        "aggregation": pd.NA,
                        "term": "gap",
                        "cohort": float(c.time),
                        "time": float(self.periods[k]),
                        "event_time": k - c.t0,
                        "estimate": curve[k],
                        "std_error": np.nan,
                    }
                )
        t = pd.DataFrame(rows)
        keys = pd.DataFrame(
            {
                "outcome": self.outcome,
                "design": "synth",
                "estimator": name,
                "aggregation": t["aggregation"].astype("string"),
                "term": t["term"],
                "cohort": t["cohort"].astype(float),
                "time": t["time"].astype(float),
                "event_time": pd.array(t["event_time"].tolist(), dtype="Int64"),
            }
        )
        est = t["estimate"].to_numpy(float)
        se = t["std_error"].to_numpy(float)
        z = stats.norm.ppf(0.5 + self.level / 2)
        return tidy_effects(
            keys, est, se, level=self.level, ci_lower=est - z * se, ci_upper=est + z * se
        )

    def placebo(self, kind: str = "space", **kwargs: Any) -> None:
        """Not a separate step for synthetic DiD: its placebo inference is the SE.

        Arkhangelsky et al. (2021, Algorithm 4) turn placebo assignments into the
        standard error: ``SyntheticDiD(se="placebo", n_reps=...)`` draws placebo
        treated sets among the controls with the treated units' adoption times
        (also for staggered adoption) and reports their spread as ``se`` (the
        draws are not kept). For the ADH-style rank of the post/pre RMSPE ratio
        use :meth:`SyntheticControlResult.placebo` or
        :meth:`AugmentedSynthResult.placebo`.

        Parameters
        ----------
        kind : str
            Ignored.
        **kwargs
            Ignored.

        Raises
        ------
        ParameterError
            Always, saying what to use instead.
        """
        raise ParameterError(
            "SyntheticDiDResult has no placebo() step: its placebo inference is the standard "
            "error. Fit SyntheticDiD(se='placebo', n_reps=...) (Arkhangelsky et al. 2021, "
            "Algorithm 4; staggered adoption included) and read result.se / to_frame(); for "
            "the ADH rank of the post/pre RMSPE ratio use SyntheticControl(...).fit(panel)"
            ".placebo('space')."
        )

    def _summary_info(self) -> list[tuple[str, str]]:
        se = "not computed" if self.se_method is None else f"{self.se:.4g} ({self.se_method}"
        if self.se_method in ("placebo", "bootstrap"):
            se += f", {self.n_reps} replications)"
        elif self.se_method is not None:
            se += ")"
        return [
            ("Outcome", self.outcome),
            ("Estimator", self.estimator),
            ("Treated units", f"{len(self.treated)}"),
            ("Cohorts", ", ".join(map(str, self.cohort_table["cohort"]))),
            ("Control units", f"{len(self.unit_weights)}"),
            ("ATT", f"{self.att:.4g}"),
            ("Standard error", se),
        ]

    def plot(self, ax: Axes | None = None, kind: str = "trajectory", cohort: Any = None) -> Axes:
        """Treated and synthetic-control paths with the time weights, or the unit weights.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
        kind : {"trajectory", "weights"}
            ``trajectory``: treated mean and the omega-weighted controls shifted by
            their lambda-weighted pre-treatment difference (synthdid's plot), time
            weights as bars, treatment time marked. ``weights``: unit weights above
            0.001.
        cohort : period, optional
            Which adoption cohort (default: the first).

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        check_choice("kind", "SyntheticDiDResult.plot", kind, ("trajectory", "weights"))
        ax = new_axes(ax)
        idx = 0 if cohort is None else [c.time for c in self._cohorts].index(cohort)
        c, w = self._cohorts[idx], self._weights[idx]
        if kind == "weights":
            om = self.unit_weights.iloc[:, idx]
            om = om[om > 0.001].sort_values()
            ax.barh([str(i) for i in om.index], om.to_numpy(), color="#08519c")
            ax.set_xlabel(label("donor_weight"))
            ax.set_title(f"{label('donor_weights')}: {self.estimator}")
            return ax
        treated = c.y1.mean(axis=0)
        synth = w.omega @ c.y0
        shift = float((treated[: c.t0] - synth[: c.t0]) @ w.lam) if w.lam.sum() > 0 else 0.0
        x = self.periods
        ax.plot(x, treated, color="#08519c", lw=2, label=label("treated"))
        ax.plot(x, synth + shift, color="#d94801", lw=2, ls="--", label=label("synthetic"))
        if w.lam.sum() > 0:
            low = float(np.min([treated.min(), (synth + shift).min()]))
            span = float(np.ptp(np.concatenate([treated, synth + shift]))) or 1.0
            ax.bar(
                x[: c.t0],
                w.lam * 0.25 * span,
                bottom=low - 0.3 * span,
                color="0.6",
                width=0.8,
                label=label("time_weights"),
            )
        ax.axvline(c.time, color="0.4", lw=1, ls=":", label=label("treatment_start"))
        ax.set_xlabel(label("period"))
        ax.set_ylabel(self.outcome)
        ax.set_title(f"{label('sdid')}: {self.outcome}")
        ax.legend(frameon=False)
        return ax
