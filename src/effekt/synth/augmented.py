"""Ridge-augmented synthetic control (Ben-Michael, Feller & Rothstein 2021).

The synthetic control weights :math:`\\hat w` (simplex, fitted to the
pre-treatment outcomes) are corrected by a ridge regression of the outcome on
the pre-treatment outcomes, which removes the bias left by imperfect
pre-treatment fit:

.. math:: \\hat w^{aug} = \\hat w + X_{0c} (X_{0c}' X_{0c} + \\lambda I)^{-1}
          (x_1 - X_0' \\hat w),

with :math:`X_0` the donors' pre-treatment outcomes (donors x periods) and
:math:`X_{0c}` its donor-centred version, so the augmented weights still sum to
one but may be negative (controlled extrapolation). :math:`\\lambda \\to \\infty`
gives back SCM. By default :math:`\\lambda` is chosen by rolling-origin
cross-validation on the pre-treatment periods (fit on periods before ``t``,
predict the treated unit at ``t``), taking the largest :math:`\\lambda` within one
standard error of the minimum, as R augsynth's ``min_1se`` rule.

Inference (``inference="conformal"``, augsynth's default) follows Ben-Michael,
Feller & Rothstein (2021, Section 5), who apply the conformal method of
Chernozhukov, Wüthrich & Zhu (2021) to ASCM: for a null effect ``theta`` the
treated unit's post-treatment outcome is set to ``Y - theta``, SCM weights and
ridge correction are refitted (penalty fixed) on the pre-treatment periods plus
the post period(s) under test, and ``theta`` is kept when the post-period
residual is not extreme among the moving-block permutations of the residuals.
Per period this tests ``tau_t = theta``; for the ATT it tests a constant effect
``theta`` in every post period (statistic: mean absolute post-period residual).
The interval is the set of kept values on a grid (infinite bounds when the set
reaches the edge of a grid 64 times the initial width: with a small penalty the
ridge nearly interpolates the period under test, and the data cannot bound the
effect). Standard errors are the
leave-one-donor-out jackknife (penalty fixed), which ``inference="jackknife"``
also uses for normal intervals and p-values.
"""

from __future__ import annotations

import functools
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from effekt.errors import (
    AssumptionWarning,
    IdentificationError,
    ParameterError,
    check_choice,
    invalid_parameter,
)
from effekt.estimator import Estimator
from effekt.options import resolve_level
from effekt.results import Provenance, Result, tidy_effects
from effekt.synth import _prep
from effekt.synth._weights import solve_simplex
from effekt.synth.inference import SynthPlaceboResult, placebo_space_with

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    from matplotlib.axes import Axes

    from effekt.panel import Panel

__all__ = ["AugmentedSynth", "AugmentedSynthResult"]

_OWNER = "AugmentedSynth"
_GRID = 61  # grid points of the conformal inversion
_WIDEN = 3  # grid widenings (x4 each) before an interval is reported as unbounded


def ridge_augment(y1: np.ndarray, y0: np.ndarray, w: np.ndarray, lam: float) -> np.ndarray:
    """Augmented weights for pre-period outcomes ``y1`` (T0,), ``y0`` (T0, J)."""
    x0 = y0.T  # donors x periods
    x0c = x0 - x0.mean(axis=0)
    imbalance = y1 - y0 @ w
    gram = x0c.T @ x0c + lam * np.eye(x0c.shape[1])
    return w + x0c @ np.linalg.solve(gram, imbalance)


def conformal_pvalues(
    y1: np.ndarray, y0: np.ndarray, n_post: int, thetas: np.ndarray, lam: float
) -> np.ndarray:
    """Moving-block conformal p-values of ``H0: tau = theta`` in the last ``n_post`` rows.

    Rows of ``y1`` (T,) and ``y0`` (T, J): the pre-treatment periods, then the
    post periods under test. Statistic: mean absolute residual of the last
    ``n_post`` rows; permutations: the ``T`` cyclic shifts of the residuals.
    """
    t = len(y1)
    shifts = (np.arange(t)[:, None] + np.arange(t - n_post, t)[None, :]) % t  # (T, n_post)
    out = np.empty(len(thetas))
    start = None
    for i, theta in enumerate(thetas):
        target = y1.copy()
        target[-n_post:] -= theta
        w = solve_simplex(y0 - target[:, None], start=start)
        start = np.flatnonzero(w)  # neighbouring nulls share most of the support
        u = np.abs(target - y0 @ ridge_augment(target, y0, w, lam))
        stat = u[shifts].mean(axis=1)  # shift 0 is the observed order
        out[i] = np.mean(stat >= stat[0] - 1e-12 * max(1.0, float(stat[0])))
    return out


def _conformal_interval(
    y1: np.ndarray,
    y0: np.ndarray,
    n_post: int,
    center: float,
    sd: float,
    lam: float,
    alpha: float,
) -> tuple[float, float, float]:
    """Conformal interval (grid inversion, widened until interior) and p-value of theta = 0."""
    p0 = float(conformal_pvalues(y1, y0, n_post, np.array([0.0]), lam)[0])
    if 1.0 / len(y1) > alpha:  # no permutation p-value can fall below alpha
        return -np.inf, np.inf, p0
    width = 6 * sd + abs(center)
    lower, upper = -np.inf, np.inf  # unbounded unless the accepted set is interior
    for _ in range(_WIDEN):
        grid = np.linspace(center - width, center + width, _GRID)
        p = conformal_pvalues(y1, y0, n_post, grid, lam)
        ok = grid[p > alpha]
        if ok.size == 0:
            lower = upper = np.nan
            break
        if ok.min() > grid[0] and ok.max() < grid[-1]:
            lower, upper = float(ok.min()), float(ok.max())
            break
        width *= 4
    return lower, upper, p0


def _jackknife(data: _prep.SynthData, lam: float) -> np.ndarray:
    """Leave-one-donor-out jackknife SEs of the post-period gaps and of their mean."""
    pre, post = data.pre, data.post
    n = len(data.donors)
    reps = np.empty((n, int(post.sum()) + 1))
    for j in range(n):
        keep = np.arange(n) != j
        y0 = data.y0[:, keep]
        w = solve_simplex(y0[pre] - data.y1[pre][:, None])
        gap = data.y1[post] - y0[post] @ ridge_augment(data.y1[pre], y0[pre], w, lam)
        reps[j] = np.append(gap, np.nanmean(gap))
    return np.sqrt((n - 1) / n * np.sum((reps - reps.mean(axis=0)) ** 2, axis=0))


def _lambda_grid(y0: np.ndarray, n: int = 20) -> np.ndarray:
    x0c = y0.T - y0.T.mean(axis=0)
    top = float(np.linalg.svd(x0c, compute_uv=False)[0] ** 2) or 1.0
    return top * np.logspace(0, -8, n)


def cv_lambda(y1: np.ndarray, y0: np.ndarray, grid: np.ndarray) -> tuple[float, np.ndarray]:
    """Rolling-origin CV of the ridge penalty; largest lambda within 1 SE of the minimum."""
    t0 = len(y1)
    origins = range(max(2, t0 // 2), t0)
    errors = np.empty((len(grid), len(origins)))
    for j, t in enumerate(origins):
        w = solve_simplex(y0[:t] - y1[:t, None])
        for i, lam in enumerate(grid):
            aug = ridge_augment(y1[:t], y0[:t], w, lam)
            errors[i, j] = (y1[t] - y0[t] @ aug) ** 2
    mean = errors.mean(axis=1)
    se = errors.std(axis=1, ddof=1) / np.sqrt(errors.shape[1]) if errors.shape[1] > 1 else 0 * mean
    best = int(np.argmin(mean))
    ok = np.flatnonzero(mean <= mean[best] + se[best])
    return float(grid[ok].max()), mean


class AugmentedSynth(Estimator):
    """Ridge-augmented synthetic control (ASCM) for one treated unit.

    Parameters
    ----------
    treated : unit label
        The treated unit (default: the panel's only treated unit).
    treatment_time : period, optional
        First treated period (default: from the panel's cohort).
    lambda_ : float, optional
        Ridge penalty. Default: cross-validated (see module docstring).
    donors : list of unit labels, optional
        Donor pool (default: every never-treated unit).
    inference : {"conformal", "jackknife"} or None, default "conformal"
        ``"conformal"``: conformal intervals and p-values per post period and
        for the ATT (augsynth's default; see the module docstring), with
        leave-one-donor-out jackknife standard errors. ``"jackknife"``: the
        jackknife standard errors with normal intervals and p-values. None:
        point estimates only.
    ci_level : float, optional
        Interval level; default ``effekt.options["ci_level"]``. Conformal
        intervals need ``1 - ci_level >= 1 / (T0 + 1)`` with ``T0`` pre-periods.

    References
    ----------
    Ben-Michael, E., Feller, A. and Rothstein, J. (2021). The augmented synthetic
    control method. Journal of the American Statistical Association 116(536),
    1789-1803. doi:10.1080/01621459.2021.1929245
    Chernozhukov, V., Wüthrich, K. and Zhu, Y. (2021). An exact and robust
    conformal inference method for counterfactual and synthetic controls. Journal
    of the American Statistical Association 116(536), 1849-1864.
    doi:10.1080/01621459.2021.1920957

    Examples
    --------
    >>> import effekt as ek
    >>> df = ek.datasets.load_dataset("prop99")
    >>> panel = ek.Panel.from_frame(df, unit="state", time="year", outcome="cigsale")
    >>> res = ek.synth.AugmentedSynth(treated="California", treatment_time=1989).fit(panel)
    >>> round(float(res.weights.sum()), 6)
    1.0
    >>> att = res.to_frame().query("term == 'att'")
    >>> bool(att["std_error"].item() > 0 and 0 < att["p_value"].item() <= 1)
    True
    """

    def __init__(
        self,
        *,
        treated: Any = None,
        treatment_time: Any = None,
        lambda_: float | None = None,
        donors: Sequence[Any] | None = None,
        inference: str | None = "conformal",
        ci_level: float | None = None,
    ) -> None:
        self.treated = treated
        self.treatment_time = treatment_time
        self.lambda_ = lambda_
        self.donors = donors
        self.inference = inference
        self.ci_level = ci_level

    def fit(self, panel: Panel) -> AugmentedSynthResult:
        """Fit SCM weights, the ridge correction and its penalty.

        Parameters
        ----------
        panel : effekt.Panel

        Returns
        -------
        AugmentedSynthResult

        Raises
        ------
        ParameterError
            Invalid ``lambda_`` or ``inference``, several treated units.
        DataError
            Unknown units, missing pre-treatment outcomes of the treated unit.
        IdentificationError
            Treatment time outside the panel, fewer than 2 donors or 3
            pre-treatment periods (for the cross-validation).

        Warns
        -----
        AssumptionWarning
            Too few pre-treatment periods for a bounded conformal interval at
            ``ci_level`` (the intervals are then infinite).
        """
        level = resolve_level(self.ci_level)
        check_choice("inference", _OWNER, self.inference, ("conformal", "jackknife", None))
        if self.lambda_ is not None and (
            isinstance(self.lambda_, bool)
            or not isinstance(self.lambda_, int | float)
            or not np.isfinite(self.lambda_)
            or self.lambda_ <= 0
        ):
            raise invalid_parameter(
                "lambda_", _OWNER, "a finite positive number or None", self.lambda_
            )
        treated = _prep.resolve_treated(panel, self.treated, _OWNER)
        if len(treated) != 1:
            raise ParameterError(
                f"{_OWNER} fits one treated unit; got {len(treated)}. Pass treated=<unit>."
            )
        time = _prep.treatment_time_for(panel, treated[0], self.treatment_time, _OWNER)
        data = _prep.build(
            panel,
            treated=treated[0],
            treatment_time=time,
            donors=self.donors,
            predictors=None,
            special_predictors=None,
            loss_periods=None,
            owner=_OWNER,
        )
        pre = data.pre
        y1, y0 = data.y1[pre], data.y0[pre]
        if self.lambda_ is None and pre.sum() < 3:
            raise IdentificationError(
                f"{_OWNER} chooses lambda_ by cross-validation over pre-treatment periods and "
                f"needs at least 3; the panel has {int(pre.sum())}. Pass lambda_=..."
            )
        alpha = 1.0 - level
        if self.inference == "conformal" and 1.0 / (pre.sum() + 1) > alpha:
            warnings.warn(
                f"{_OWNER}: with {int(pre.sum())} pre-treatment periods the smallest conformal "
                f"p-value of one post period is 1/{int(pre.sum()) + 1} > {alpha:.3g}, so the "
                f"per-period {level:.0%} conformal intervals are the whole real line (reported "
                "as -inf, inf). Lower ci_level or use inference='jackknife'.",
                AssumptionWarning,
                stacklevel=2,
            )
        lam, w, aug = _fit_ascm(y1, y0, self.lambda_)
        inference = None
        if self.inference is not None:
            inference = _inference(data, aug, lam, level, conformal=self.inference == "conformal")
        return AugmentedSynthResult(
            data=data,
            scm_weights=w,
            weights=aug,
            lambda_=lam,
            outcome=str(panel.outcome),
            level=level,
            inference=inference,
            inference_method=self.inference,
            settings={"lambda_": self.lambda_},
            provenance=Provenance(_OWNER, self.get_params(), None, panel.fingerprint),
        )


def _fit_ascm(
    y1: np.ndarray, y0: np.ndarray, lambda_: float | None
) -> tuple[float, np.ndarray, np.ndarray]:
    """Penalty, SCM weights and augmented weights from pre-period outcomes."""
    w = solve_simplex(y0 - y1[:, None])
    lam = cv_lambda(y1, y0, _lambda_grid(y0))[0] if lambda_ is None else float(lambda_)
    return lam, w, ridge_augment(y1, y0, w, lam)


def _inference(
    data: _prep.SynthData, aug: np.ndarray, lam: float, level: float, *, conformal: bool
) -> pd.DataFrame:
    """Per post period and for the ATT (last row): SE, interval and p-value."""
    pre, post = data.pre, data.post
    gap = data.y1 - data.y0 @ aug
    est = np.append(gap[post], np.nanmean(gap[post]))
    se = _jackknife(data, lam)
    if not conformal:
        z = stats.norm.ppf(0.5 + level / 2)
        with np.errstate(divide="ignore", invalid="ignore"):
            p = 2 * stats.norm.sf(np.abs(est / se))
        return pd.DataFrame(
            {"std_error": se, "ci_lower": est - z * se, "ci_upper": est + z * se, "p_value": p}
        )
    alpha = 1.0 - level
    sd = float(np.std(gap[pre], ddof=1)) or 1.0
    rows = []
    y1p, y0p = data.y1[pre], data.y0[pre]
    for t, g in zip(np.flatnonzero(post), gap[post], strict=True):
        y1t, y0t = np.append(y1p, data.y1[t]), np.vstack([y0p, data.y0[t]])
        rows.append(_conformal_interval(y1t, y0t, 1, g, sd, lam, alpha))
    order = np.concatenate([np.flatnonzero(pre), np.flatnonzero(post)])
    n_post = int(post.sum())
    rows.append(
        _conformal_interval(data.y1[order], data.y0[order], n_post, est[-1], sd, lam, alpha)
    )
    table = pd.DataFrame(rows, columns=["ci_lower", "ci_upper", "p_value"])
    table.insert(0, "std_error", se)
    return table


class AugmentedSynthResult(Result):
    """Result of :class:`AugmentedSynth`.

    Attributes
    ----------
    weights : pandas.Series
        Augmented donor weights (sum to one; may be negative).
    scm_weights : pandas.Series
        The SCM weights before augmentation.
    lambda_ : float
        Ridge penalty used.
    att : float
        Average post-treatment gap.
    trajectory : pandas.DataFrame
        ``time, event_time, treated, synthetic, scm, gap``.
    inference : pandas.DataFrame or None
        Per post period, then the ATT: ``std_error`` (jackknife), ``ci_lower,
        ci_upper, p_value`` (conformal or normal); None with ``inference=None``.
    """

    title = "Augmented synthetic control (ridge)"

    def __init__(
        self,
        *,
        data: _prep.SynthData,
        scm_weights: np.ndarray,
        weights: np.ndarray,
        lambda_: float,
        outcome: str,
        level: float,
        inference: pd.DataFrame | None,
        inference_method: str | None,
        settings: dict[str, Any],
        provenance: Provenance,
    ) -> None:
        index = pd.Index(data.donors, name="donor")
        self._data = data
        self._settings = settings
        self._cache: dict[Any, Any] = {}
        self.inference = inference
        self.inference_method = inference_method
        self.treated = data.treated
        self.treatment_time = data.treatment_time
        self.weights = pd.Series(weights, index=index, name="weight")
        self.scm_weights = pd.Series(scm_weights, index=index, name="weight")
        self.lambda_ = lambda_
        self.outcome = outcome
        self.level = level
        synthetic = data.y0 @ weights
        event = np.arange(len(data.periods)) - int(data.pre.sum())
        self.trajectory = pd.DataFrame(
            {
                "time": data.periods,
                "event_time": event,
                "treated": data.y1,
                "synthetic": synthetic,
                "scm": data.y0 @ scm_weights,
                "gap": data.y1 - synthetic,
            }
        )
        self.att = float(np.nanmean(self.trajectory.loc[event >= 0, "gap"]))
        self.rmspe_pre = float(np.sqrt(np.mean(self.trajectory.loc[event < 0, "gap"] ** 2)))
        self.ledger = data.ledger
        self.provenance = provenance
        self._freeze()

    def to_frame(self) -> pd.DataFrame:
        """Per post period gap (``term="gap"``) and the average (``term="att"``), points."""
        post = self.trajectory.loc[self.trajectory["event_time"] >= 0]
        n = len(post) + 1
        keys = pd.DataFrame(
            {
                "outcome": self.outcome,
                "design": "synth",
                "estimator": "AugmentedSynth",
                "aggregation": pd.array([pd.NA] * (n - 1) + ["simple"], dtype="string"),
                "term": ["gap"] * (n - 1) + ["att"],
                "time": np.append(post["time"].to_numpy(float), np.nan),
                "event_time": pd.array([*post["event_time"].tolist(), pd.NA], dtype="Int64"),
                "unit": str(self.treated),
            }
        )
        est = np.append(post["gap"].to_numpy(float), self.att)
        inf = self.inference
        if inf is None:
            return tidy_effects(keys, est, np.full(n, np.nan), level=self.level)
        return tidy_effects(
            keys,
            est,
            inf["std_error"].to_numpy(float),
            level=self.level,
            ci_lower=inf["ci_lower"].to_numpy(float),
            ci_upper=inf["ci_upper"].to_numpy(float),
            p_value=inf["p_value"].to_numpy(float),
        )

    def placebo(
        self,
        kind: str = "space",
        *,
        max_pre_mspe_ratio: float | None = None,
        n_jobs: int = 1,
    ) -> SynthPlaceboResult:
        """Placebo in space: refit ASCM with each donor in turn as the treated unit.

        Each placebo uses the other donors as its pool (the treated unit left
        out) and chooses its own penalty as the fit did (cross-validated unless
        ``lambda_`` was given). The p-value is the treated unit's rank of the
        post/pre RMSPE ratio among the units kept (ADH 2010), as for
        :meth:`SyntheticControlResult.placebo`.

        Parameters
        ----------
        kind : {"space"}
            Only placebos in space (use :class:`SyntheticControl` for a placebo
            in time).
        max_pre_mspe_ratio : float, optional
            Drop placebos whose pre-treatment MSPE exceeds this multiple of the
            treated unit's.
        n_jobs : int, default 1
            Workers (:func:`effekt.parallel.parallel_map`).

        Returns
        -------
        SynthPlaceboResult

        Raises
        ------
        ParameterError
            ``kind`` other than "space", invalid ``max_pre_mspe_ratio``.
        IdentificationError
            Fewer than 3 donors.
        """
        check_choice("kind", "AugmentedSynthResult.placebo", kind, ("space",))
        key = (kind, max_pre_mspe_ratio)
        if key not in self._cache:
            self._cache[key] = placebo_space_with(
                self,
                self._data,
                self.weights.to_numpy(),
                functools.partial(_placebo_weights, lambda_=self._settings["lambda_"]),
                max_pre_mspe_ratio=max_pre_mspe_ratio,
                include_treated=False,
                n_jobs=n_jobs,
            )
        return self._cache[key]

    def _summary_info(self) -> list[tuple[str, str]]:
        info = [
            ("Outcome", self.outcome),
            ("Treated", str(self.treated)),
            ("Treatment time", str(self.treatment_time)),
            ("Ridge lambda", f"{self.lambda_:.4g}"),
            ("Pre-treatment RMSPE", f"{self.rmspe_pre:.4g}"),
            ("ATT", f"{self.att:.4g}"),
        ]
        if self.inference is not None:
            att = self.inference.iloc[-1]
            info.append(
                (
                    f"Inference ({self.inference_method})",
                    f"SE {att['std_error']:.4g}, {self.level:.0%} interval "
                    f"[{att['ci_lower']:.4g}, {att['ci_upper']:.4g}], p = {att['p_value']:.4f}",
                )
            )
        return info

    def plot(self, ax: Axes | None = None, kind: str = "trajectory") -> Axes:
        """Treated vs augmented (and plain SCM) synthetic path, the gap, or the weights.

        Parameters
        ----------
        ax : matplotlib.axes.Axes, optional
        kind : {"trajectory", "gap", "weights"}

        Returns
        -------
        matplotlib.axes.Axes
        """
        from effekt._plotting import label, new_axes

        check_choice("kind", "AugmentedSynthResult.plot", kind, ("trajectory", "gap", "weights"))
        ax = new_axes(ax)
        t = self.trajectory
        if kind == "weights":
            w = self.weights[self.weights.abs() > 0.001].sort_values()
            ax.barh([str(i) for i in w.index], w.to_numpy(), color="#08519c")
            ax.axvline(0.0, color="0.5", lw=0.8)
            ax.set_xlabel(label("donor_weight"))
            ax.set_title(f"{label('donor_weights')}: {self.treated}")
            return ax
        if kind == "trajectory":
            ax.plot(t["time"], t["treated"], color="#08519c", lw=2, label=str(self.treated))
            ax.plot(t["time"], t["synthetic"], color="#d94801", lw=2, ls="--", label="ASCM")
            ax.plot(t["time"], t["scm"], color="0.5", lw=1, ls=":", label="SCM")
            ax.set_ylabel(self.outcome)
        else:
            ax.plot(t["time"], t["gap"], color="#08519c", lw=2)
            ax.axhline(0.0, color="0.5", lw=0.8)
            ax.set_ylabel(label("gap"))
        ax.axvline(self.treatment_time, color="0.4", lw=1, ls=":", label=label("treatment_start"))
        ax.set_xlabel(label("period"))
        ax.set_title(f"ASCM: {self.treated}")
        ax.legend(frameon=False)
        return ax


def _placebo_weights(data: _prep.SynthData, lambda_: float | None) -> np.ndarray:
    """Augmented weights of one placebo fit (module level, so process pools can pickle it)."""
    pre = data.pre
    return _fit_ascm(data.y1[pre], data.y0[pre], lambda_)[2]
