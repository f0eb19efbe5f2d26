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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt.errors import IdentificationError, ParameterError, check_choice, invalid_parameter
from effekt.estimator import Estimator
from effekt.options import resolve_level
from effekt.results import Provenance, Result, tidy_effects
from effekt.synth import _prep
from effekt.synth._weights import solve_simplex

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    from matplotlib.axes import Axes

    from effekt.panel import Panel

__all__ = ["AugmentedSynth", "AugmentedSynthResult"]

_OWNER = "AugmentedSynth"


def ridge_augment(y1: np.ndarray, y0: np.ndarray, w: np.ndarray, lam: float) -> np.ndarray:
    """Augmented weights for pre-period outcomes ``y1`` (T0,), ``y0`` (T0, J)."""
    x0 = y0.T  # donors x periods
    x0c = x0 - x0.mean(axis=0)
    imbalance = y1 - y0 @ w
    gram = x0c.T @ x0c + lam * np.eye(x0c.shape[1])
    return w + x0c @ np.linalg.solve(gram, imbalance)


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
    ci_level : float, optional
        Level reported with the (point) estimates.

    References
    ----------
    Ben-Michael, E., Feller, A. and Rothstein, J. (2021). The augmented synthetic
    control method. Journal of the American Statistical Association 116(536),
    1789-1803. doi:10.1080/01621459.2021.1929245

    Examples
    --------
    >>> import effekt as ek
    >>> df = ek.datasets.load_dataset("prop99")
    >>> panel = ek.Panel.from_frame(df, unit="state", time="year", outcome="cigsale")
    >>> res = ek.synth.AugmentedSynth(treated="California", treatment_time=1989).fit(panel)
    >>> round(float(res.weights.sum()), 6)
    1.0
    """

    def __init__(
        self,
        *,
        treated: Any = None,
        treatment_time: Any = None,
        lambda_: float | None = None,
        donors: Sequence[Any] | None = None,
        ci_level: float | None = None,
    ) -> None:
        self.treated = treated
        self.treatment_time = treatment_time
        self.lambda_ = lambda_
        self.donors = donors
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
            Invalid ``lambda_``, several treated units.
        DataError
            Unknown units, missing pre-treatment outcomes of the treated unit.
        IdentificationError
            Treatment time outside the panel, fewer than 2 donors or 3
            pre-treatment periods (for the cross-validation).
        """
        level = resolve_level(self.ci_level)
        if self.lambda_ is not None and (
            isinstance(self.lambda_, bool)
            or not isinstance(self.lambda_, int | float)
            or self.lambda_ <= 0
        ):
            raise invalid_parameter("lambda_", _OWNER, "a positive number or None", self.lambda_)
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
        w = solve_simplex(y0 - y1[:, None])
        if self.lambda_ is None:
            lam, _ = cv_lambda(y1, y0, _lambda_grid(y0))
        else:
            lam = float(self.lambda_)
        aug = ridge_augment(y1, y0, w, lam)
        return AugmentedSynthResult(
            data=data,
            scm_weights=w,
            weights=aug,
            lambda_=lam,
            outcome=str(panel.outcome),
            level=level,
            provenance=Provenance(_OWNER, self.get_params(), None, panel.fingerprint),
        )


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
        provenance: Provenance,
    ) -> None:
        index = pd.Index(data.donors, name="donor")
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
        return tidy_effects(keys, est, np.full(n, np.nan), level=self.level)

    def _summary_info(self) -> list[tuple[str, str]]:
        return [
            ("Outcome", self.outcome),
            ("Treated", str(self.treated)),
            ("Treatment time", str(self.treatment_time)),
            ("Ridge lambda", f"{self.lambda_:.4g}"),
            ("Pre-treatment RMSPE", f"{self.rmspe_pre:.4g}"),
            ("ATT", f"{self.att:.4g}"),
        ]

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
