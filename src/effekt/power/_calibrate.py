"""Calibration of a power calculation on the analyst's own data.

The untreated units' outcomes, with unit and year fixed effects removed, carry the
noise a difference-in-differences estimate will have to see through. This module
turns a :class:`~effekt.Panel` or a simulated :class:`~effekt.simulate.World` into
that units x years matrix and estimates the within-unit covariance of its errors,
either as a stationary AR(1) process or nonparametrically (Burlig, Preonas &
Woerman 2020, who estimate the covariances from the pre-period residuals).

Why the residual covariance can be used as it is: the contrasts a DiD applies to a
unit's series (post mean minus pre mean, or minus the last pre year) sum to zero,
so they are unchanged by the within-unit demeaning ``M = I - 11'/T`` that the unit
fixed effects impose; with ``E[S] = M Omega M`` for the residual cross-product
``S = E'E / (N - 1)`` (the year effects cost one degree of freedom across units),
``a' S a`` is an unbiased estimate of ``a' Omega a`` for any such contrast ``a``
inside the observed years. Only the AR(1) fit, which extrapolates to windows
longer than the data, needs ``M`` explicitly: its parameters are fitted so that
``M Omega(sigma2, rho) M`` matches ``S``, which avoids the downward (Nickell) bias
of the naive residual autocorrelation in short panels.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from effekt.errors import (
    DroppedRowsWarning,
    IdentificationError,
    ParameterError,
    check_choice,
)
from effekt.panel import Ledger, Panel

ERRORS = ("ar1", "empirical")


@dataclass(frozen=True)
class Calibration:
    """The untreated units' outcome matrix and its estimated error covariance."""

    outcome: str
    y: np.ndarray  # units x periods, complete untreated units only
    units: tuple[str, ...]
    periods: tuple[Any, ...]
    cross: np.ndarray  # S = E'E / (N - 1), E the two-way demeaned residuals
    sigma2: float  # AR(1): marginal variance of the errors
    rho: float  # AR(1): first-order autocorrelation
    ledger: Ledger
    fingerprint: str

    @property
    def n_units(self) -> int:
        return int(self.y.shape[0])

    @property
    def n_periods(self) -> int:
        return int(self.y.shape[1])

    def contrast_variance(self, a: np.ndarray, errors: str) -> float:
        """Variance of one unit's contrast ``a @ y_i`` (``a`` sums to zero)."""
        if errors == "ar1":
            return self.sigma2 * float(a @ _ar1_corr(len(a), self.rho) @ a)
        n = len(a)
        # stationarity: average over every position of the window inside the observed years
        values = [
            float(a @ self.cross[p : p + n, p : p + n] @ a) for p in range(self.n_periods - n + 1)
        ]
        return float(np.mean(values))


def _ar1_corr(n: int, rho: float) -> np.ndarray:
    lags = np.abs(np.subtract.outer(np.arange(n), np.arange(n)))
    return np.power(rho, lags)


def _demean(y: np.ndarray) -> np.ndarray:
    return y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()


def _fit_ar1(cross: np.ndarray) -> tuple[float, float]:
    """(sigma2, rho) with ``M Omega M`` closest to ``cross`` (least squares, rho in (-1, 1))."""
    t = cross.shape[0]
    m = np.eye(t) - 1.0 / t

    def fit(rho: float) -> tuple[float, float]:
        r = m @ _ar1_corr(t, rho) @ m
        scale = float(np.sum(r * cross) / np.sum(r * r))
        return scale, float(np.sum((cross - scale * r) ** 2))

    best = optimize.minimize_scalar(
        lambda rho: fit(rho)[1], bounds=(-0.98, 0.98), method="bounded", options={"xatol": 1e-6}
    )
    rho = float(best.x)
    return max(fit(rho)[0], 0.0), rho


def _frame_from(data: Any, outcome: str | None, kind: str, owner: str) -> tuple[pd.DataFrame, str]:
    """(unit, time, y, never) frame of the never-treated units and the outcome's name."""
    from effekt.simulate import World

    if isinstance(data, Panel):
        if outcome is not None and outcome != data.outcome:
            raise ParameterError(
                f"The 'outcome' argument of {owner} is {outcome!r}, but the panel's outcome is "
                f"{data.outcome!r}. Leave 'outcome' out for a Panel, or build the panel with "
                "the outcome you want."
            )
        data._require_cohort(owner)
        d = data.data
        never = d[data.cohort].isna() | (d[data.cohort] == np.inf)
        frame = pd.DataFrame(
            {
                "unit": d[data.unit].astype(str).to_numpy(),
                "time": d[data.time].to_numpy(),
                "y": d[data.outcome].to_numpy(dtype=float),
                "never": never.to_numpy(),
            }
        )
        return frame, data.outcome
    if isinstance(data, World):
        if outcome is None:
            raise ParameterError(
                f"{owner} on a simulated World needs 'outcome' (an area_year indicator, e.g. "
                "'neet_share')."
            )
        df = data.area_panel(kind, outcomes=[outcome])
        frame = pd.DataFrame(
            {
                "unit": df["area_id"].to_numpy(),
                "time": df["year"].to_numpy(),
                "y": df[outcome].to_numpy(dtype=float),
                "never": (df["first_treated"] == 0).to_numpy(),
            }
        )
        return frame, outcome
    raise ParameterError(
        f"The 'data' argument of {owner} must be an effekt.Panel (with treatment timing) or an "
        f"effekt.simulate.World. Got {type(data).__name__}."
    )


def calibrate(
    data: Any, *, outcome: str | None, kind: str, owner: str, stacklevel: int = 3
) -> Calibration:
    """Build the complete untreated units' matrix and fit its error covariance.

    Never-treated units missing the outcome in some year are left out of the
    calibration (recorded in the ledger, with a :class:`DroppedRowsWarning`).
    """
    frame, name = _frame_from(data, outcome, kind, owner)
    untreated = frame[frame["never"]]
    if untreated.empty:
        raise IdentificationError(
            f"{owner} calibrates on never-treated units and places placebo treatments among "
            "them, but the data have no never-treated unit. Add comparison units that are "
            "never treated in the period."
        )
    wide = untreated.pivot_table(index="unit", columns="time", values="y", aggfunc="first")
    wide = wide.reindex(columns=np.sort(frame["time"].unique()))
    complete = wide.notna().all(axis=1)
    ledger = Ledger.empty()
    if not complete.all():
        left = wide.index[~complete]
        rows = untreated[untreated["unit"].isin(left)]
        ledger = ledger.extend(
            pd.DataFrame(
                {
                    "row": pd.Series([None] * len(rows), dtype=object),
                    "unit": rows["unit"].astype(object).to_numpy(),
                    "time": rows["time"].astype(object).to_numpy(),
                    "reason": "untreated unit without the outcome in every year (not used "
                    "to calibrate the power calculation)",
                }
            )
        )
        warnings.warn(
            f"{owner}: {len(left)} of {len(wide)} never-treated unit(s) lack the outcome "
            f"{name!r} in some year and are left out of the calibration (e.g. "
            f"{', '.join(map(str, left[:3]))}); see the result's ledger.",
            DroppedRowsWarning,
            stacklevel=stacklevel,
        )
    wide = wide[complete]
    n, t = wide.shape
    if n < 3:
        raise IdentificationError(
            f"{owner} needs at least 3 never-treated units observed in every year to estimate "
            f"the noise and to place placebo treatments; the data have {n}. Widen the "
            "comparison group or the period."
        )
    if t < 3:
        raise IdentificationError(
            f"{owner} needs at least 3 years of data to estimate the serial correlation of the "
            f"errors after unit and year effects; the data have {t}."
        )
    y = wide.to_numpy(dtype=float)
    e = _demean(y)
    cross = e.T @ e / (n - 1)
    sigma2, rho = _fit_ar1(cross)
    digest = hashlib.sha256(y.tobytes() + repr(tuple(wide.index)).encode()).hexdigest()[:16]
    return Calibration(
        outcome=name,
        y=y,
        units=tuple(map(str, wide.index)),
        periods=tuple(wide.columns),
        cross=cross,
        sigma2=sigma2,
        rho=rho,
        ledger=ledger,
        fingerprint=digest,
    )


def check_errors(errors: str, owner: str) -> None:
    check_choice("errors", owner, errors, ERRORS)
