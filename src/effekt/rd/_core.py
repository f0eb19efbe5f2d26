"""The rdrobust call and the checks around it, shared by the estimators and the diagnostics.

A leaf of ``effekt.rd``: it imports no other module of the family but ``_deps``, so
``sharp``, ``results`` and ``diagnostics`` can all use it without an import circle.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from effekt.errors import (
    AssumptionWarning,
    IdentificationError,
    ParameterError,
    check_choice,
    invalid_parameter,
)
from effekt.options import resolve_level
from effekt.rd._deps import quiet, rdrobust_module

__all__ = ["Settings", "check_settings", "check_sides", "rdrobust_rows", "run_rdrobust"]

KERNELS = ("triangular", "epanechnikov", "uniform")
BWSELECT = (
    "mserd",
    "msetwo",
    "msesum",
    "msecomb1",
    "msecomb2",
    "cerrd",
    "certwo",
    "cersum",
    "cercomb1",
    "cercomb2",
)
_VCE_PLAIN = ("nn", "hc0", "hc1", "hc2", "hc3")
_VCE_CLUSTER = ("cr1", "cr2", "cr3")
MASSPOINTS = ("adjust", "check", "off")
#: Fewest observations a side may have inside a given bandwidth ``h``. rdrobust
#: itself needs q + 1 distinct values; below 5 points a side, the local fit and its
#: variance estimate are not worth reporting.
MIN_OBS_PER_SIDE = 5

# rdrobust's own warning when few clusters lie inside the bandwidth.
_FEW_CLUSTERS = re.compile(r"Only \d+ \(left\) and \d+ \(right\) clusters within the bandwidth")


@dataclass(frozen=True)
class Settings:
    """Validated rdrobust settings shared by estimation and the diagnostics."""

    p: int
    q: int
    h: float | None
    b: float | None
    kernel: str
    bwselect: str
    vce: str
    masspoints: str
    level: float

    def rdrobust_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``rdrobust.rdrobust``."""
        kw: dict[str, Any] = {
            "p": self.p,
            "q": self.q,
            "kernel": self.kernel,
            "bwselect": self.bwselect,
            "vce": self.vce,
            "masspoints": self.masspoints,
            "level": 100 * self.level,
        }
        if self.h is not None:
            kw["h"] = self.h
            kw["b"] = self.b if self.b is not None else self.h
        return kw


def check_settings(est: Any, owner: str, clustered: bool) -> Settings:
    """Validate the local-polynomial parameters of ``est`` (SharpRD or ListThreshold)."""
    level = resolve_level(est.ci_level)
    p = est.p
    if isinstance(p, bool) or not isinstance(p, int | np.integer) or not 0 <= p <= 4:
        raise invalid_parameter("p", owner, "an integer from 0 to 4", p)
    q = p + 1 if est.q is None else est.q
    if isinstance(q, bool) or not isinstance(q, int | np.integer) or q <= p:
        raise invalid_parameter("q", owner, f"an integer greater than p = {p}, or None", est.q)
    for name in ("h", "b"):
        value = getattr(est, name)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float | np.number)
            or not np.isfinite(value)
            or value <= 0
        ):
            raise invalid_parameter(name, owner, "a positive number or None", value)
    if est.b is not None and est.h is None:
        raise ParameterError(
            f"{owner} got a bias bandwidth 'b' without a main bandwidth 'h'; give h too, "
            "or neither to have rdrobust select both."
        )
    check_choice("kernel", owner, est.kernel, KERNELS)
    check_choice("bwselect", owner, est.bwselect, BWSELECT)
    check_choice("masspoints", owner, est.masspoints, MASSPOINTS)
    vce = est.vce if est.vce is not None else ("cr1" if clustered else "nn")
    if clustered:
        check_choice("vce", owner, vce, _VCE_CLUSTER)
    else:
        if vce in _VCE_CLUSTER:
            raise invalid_parameter(
                "vce",
                owner,
                f"one of {_VCE_PLAIN} without a cluster",
                vce,
                "Cluster-robust variances need a cluster; give 'cluster' or a plain vce.",
            )
        check_choice("vce", owner, vce, _VCE_PLAIN)
    return Settings(
        int(p),
        int(q),
        None if est.h is None else float(est.h),
        None if est.b is None else float(est.b),
        est.kernel,
        est.bwselect,
        vce,
        est.masspoints,
        level,
    )


def check_sides(
    x: np.ndarray, cutoff: float, settings: Settings, owner: str, what: str = "running variable"
) -> None:
    """Each side of ``cutoff`` must have data, enough distinct values, and enough inside h."""
    left, right = x < cutoff, x >= cutoff
    for side, mask in (("below", left), ("at or above", right)):
        if not mask.any():
            other = x[~mask]
            raise IdentificationError(
                f"{owner}: the {what} has no observation {side} the cutoff {cutoff:g} (its "
                f"{other.size:,} values run {other.min():.4g} to {other.max():.4g}), so there is "
                "no discontinuity to estimate. Check the cutoff or the sample."
            )
        distinct = np.unique(x[mask]).size
        if distinct < settings.q + 1:
            raise IdentificationError(
                f"{owner}: the {what} has only {distinct} distinct value(s) {side} the cutoff; "
                f"the bias-correction polynomial of order q = {settings.q} needs at least "
                f"{settings.q + 1}. Use more data or a lower p/q."
            )
    if settings.h is not None:
        for side, mask in (("below", left), ("at or above", right)):
            inside = mask & (np.abs(x - cutoff) <= settings.h)
            n_in = int(inside.sum())
            need = max(MIN_OBS_PER_SIDE, settings.q + 1)
            if n_in < need or np.unique(x[inside]).size < settings.q + 1:
                raise IdentificationError(
                    f"{owner}: the bandwidth h = {settings.h:g} leaves {n_in} observation(s) "
                    f"{side} the cutoff; at least {need} (with {settings.q + 1} distinct values) "
                    "are needed. Widen 'h' or leave it None for rdrobust's MSE-optimal choice."
                )


def run_rdrobust(
    y: np.ndarray,
    x: np.ndarray,
    *,
    cutoff: float,
    settings: Settings,
    cluster: np.ndarray | None,
    covs: np.ndarray | None,
    owner: str,
) -> tuple[Any, list[str]]:
    """Call rdrobust; return its output and notes (its printed messages, re-worded)."""
    rd = rdrobust_module()
    kwargs = settings.rdrobust_kwargs()
    if cluster is not None:
        kwargs["cluster"] = cluster
    if covs is not None:
        kwargs["covs"] = covs
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            out, printed = quiet(rd.rdrobust, y, x, c=cutoff, **kwargs)
        except Exception as err:  # rdrobust raises bare Exception/ValueError on bad input
            raise IdentificationError(
                f"{owner}: rdrobust could not estimate the discontinuity: {err}"
            ) from None
    for w in caught:
        if _FEW_CLUSTERS.search(str(w.message)):
            warnings.warn(
                f"{owner} (rdrobust): {w.message} Read the intervals as optimistic, or "
                "widen the sample (more list years or areas).",
                AssumptionWarning,
                stacklevel=3,
            )
        else:  # anything else rdrobust warns about is passed on unchanged
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    notes = []
    if "Mass points detected" in printed:
        notes.append(
            "rdrobust found mass points (repeated values) in the running variable and "
            f"adjusted for them (masspoints={settings.masspoints!r})."
        )
    if "Not enough observations to perform bandwidth calculations" in printed:
        warnings.warn(
            f"{owner}: fewer than 20 observations, so rdrobust used the full range of the "
            "running variable as bandwidth instead of selecting one.",
            AssumptionWarning,
            stacklevel=3,
        )
    return out, notes


#: rdrobust's row names, and effekt's term names for them.
TERMS = {"Conventional": "conventional", "Bias-Corrected": "bias_corrected", "Robust": "robust"}


def rdrobust_rows(out: Any) -> pd.DataFrame:
    """rdrobust's estimate, standard error, interval and p-value per row, as floats."""
    rows = []
    for name, term in TERMS.items():
        rows.append(
            {
                "term": term,
                "estimate": float(out.coef.loc[name].iloc[0]),
                "std_error": float(out.se.loc[name].iloc[0]),
                "ci_lower": float(out.ci.loc[name, "CI Lower"]),
                "ci_upper": float(out.ci.loc[name, "CI Upper"]),
                "p_value": float(out.pv.loc[name].iloc[0]),
            }
        )
    return pd.DataFrame(rows)
