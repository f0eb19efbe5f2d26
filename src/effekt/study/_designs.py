"""The designs a study runs: DiD (Callaway-Sant'Anna), synthetic DiD and Bayesian DiD.

Each ``fit_*`` function returns a :class:`DesignFit`: the effects by event time
and overall (one tidy frame), the credibility diagnostics, notes, and the
underlying effekt result. Warnings the estimators raise are collected as notes,
so that a study reports them beside the numbers they concern.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from effekt.errors import EffektError, EffektWarning
from effekt.study._data import Sample

DESIGNS = ("did", "synth", "bayes")

#: The pre-trend test's p-value below which the DiD design gets a caution flag.
PRETREND_ALPHA = 0.10
#: HonestDiD breakdown M̄ below which the DiD conclusion is fragile: a violation of
#: parallel trends after treatment smaller than the largest one seen before
#: treatment would already overturn it (Rambachan & Roth 2023).
BREAKDOWN_MIN = 1.0
#: Convergence thresholds of Vehtari et al. (2021).
RHAT_MAX = 1.01
ESS_MIN = 400.0


@dataclass
class Settings:
    """Run settings shared by the designs."""

    seed: int
    n_jobs: int
    event_window: tuple[int, int]
    level: float
    synth_reps: int
    bayes_draws: int
    bayes_tune: int
    bayes_chains: int
    bayes_sampler: str
    group: str


@dataclass
class DesignFit:
    """One design's answer for one outcome."""

    design: str
    outcome: str
    effects: pd.DataFrame  # estimator, aggregation, event_time, estimate, ..., p_value
    diagnostics: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    result: Any = None


def capture(notes: list[str], func: Callable[[], Any]) -> Any:
    """Run ``func`` and turn effekt's warnings into notes (first line of each message)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", EffektWarning)
        out = func()
    for w in caught:
        if issubclass(w.category, EffektWarning):
            text = str(w.message).strip().splitlines()[0]
            if text not in notes:
                notes.append(f"{w.category.__name__}: {text}")
        else:  # not ours to judge: hand it back to the caller's filters
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out


def _diag(
    design: str, outcome: str, name: str, value: float, ok: bool | None, reason: str
) -> dict[str, Any]:
    flag = "not available" if ok is None else ("pass" if ok else "caution")
    return {
        "design": design,
        "outcome": outcome,
        "diagnostic": name,
        "value": float(value),
        "flag": flag,
        "reason": reason,
    }


def _effects(
    estimator: str,
    event_time: Any,
    estimate: Any,
    std_error: Any,
    level: float,
    *,
    ci_lower: Any = None,
    ci_upper: Any = None,
    p_value: Any = None,
) -> pd.DataFrame:
    est = np.asarray(estimate, float)
    se = np.asarray(std_error, float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = est - z * se if ci_lower is None else np.asarray(ci_lower, float)
        hi = est + z * se if ci_upper is None else np.asarray(ci_upper, float)
        p = 2 * stats.norm.sf(np.abs(est / se)) if p_value is None else np.asarray(p_value, float)
    et = pd.array(list(event_time), dtype="Int64")
    return pd.DataFrame(
        {
            "estimator": estimator,
            "aggregation": np.where(pd.isna(et), "overall", "event_time"),
            "event_time": et,
            "estimate": est,
            "std_error": se,
            "ci_lower": lo,
            "ci_upper": hi,
            "p_value": p,
        }
    )


def _panel(frame: pd.DataFrame, outcome: str, cluster: str | None) -> Any:
    from effekt.panel import Panel

    return Panel.from_frame(
        frame,
        unit="area_id",
        time="year",
        outcome=outcome,
        cohort="first_treated",
        never_treated=0,
        cluster=cluster,
    )


# ------------------------------------------------------------------------------ DiD
def fit_did(sample: Sample, outcome: str, s: Settings) -> DesignFit:
    """Callaway-Sant'Anna event study, overall ATT, pre-trend test and HonestDiD breakdown."""
    from effekt.did import CallawaySantAnna, honest_did
    from effekt.did._common import FEW_CLUSTERS

    notes: list[str] = []
    frame = sample.frame
    n_kommuner = frame["kommune_code"].nunique()
    cluster = "kommune_code" if n_kommuner >= FEW_CLUSTERS else None
    if cluster is None:
        notes.append(
            f"Standard errors are clustered by area: the sample has only {n_kommuner} kommuner, "
            f"too few (< {FEW_CLUSTERS}) for kommune-clustered inference."
        )
    lo, hi = s.event_window

    def run() -> tuple[Any, Any, Any]:
        panel = _panel(frame, outcome, cluster)
        est = CallawaySantAnna(
            control_group=s.group, base_period="universal", ci_level=s.level
        ).fit(panel)
        return est, est.aggregate("event_time", min_e=lo, max_e=hi), est.aggregate("simple")

    res, es, simple = capture(notes, run)
    e = es.estimates
    effects = pd.concat(
        [
            _effects(
                "CallawaySantAnna",
                [pd.NA],
                [simple.overall["estimate"]],
                [simple.overall["std_error"]],
                s.level,
            ),
            _effects(
                "CallawaySantAnna",
                e["event_time"].tolist(),
                e["estimate"],
                e["std_error"],
                s.level,
            ),
        ],
        ignore_index=True,
    )
    diagnostics = []
    try:
        pre = es.pretrend_test()
        p = float(pre["p_value"])
        diagnostics.append(
            _diag(
                "did",
                outcome,
                "pretrend_p",
                p,
                p >= PRETREND_ALPHA,
                f"joint Wald test of {int(pre['df'])} lead(s): chi2 = {pre['statistic']:.2f}",
            )
        )
    except EffektError as err:
        diagnostics.append(
            _diag("did", outcome, "pretrend_p", math.nan, None, str(err).split(".")[0])
        )
    try:
        sens = capture(
            notes,
            lambda: honest_did(
                es,
                method="relative_magnitude",
                Mbar=[BREAKDOWN_MIN],
                e="average",
                ci_level=s.level,
                seed=s.seed,
            ),
        )
        # bisection to 0.01 in M̄: the flag compares with 1, the report shows 2 decimals
        b = float(sens.breakdown(tol=0.01))
        if b == 0.0:  # the interval covers 0 already under exact parallel trends
            reason = (
                "the average effect's interval includes 0 even under exact parallel trends: "
                "no non-zero conclusion to break down"
            )
            ok: bool | None = None
        else:
            reason = (
                "the non-zero conclusion survives post-treatment trend violations up to "
                f"{b:.2f} times the largest pre-treatment one (relative magnitudes)"
            )
            ok = b >= BREAKDOWN_MIN
        diagnostics.append(_diag("did", outcome, "honest_breakdown_mbar", b, ok, reason))
    except EffektError as err:
        diagnostics.append(
            _diag("did", outcome, "honest_breakdown_mbar", math.nan, None, str(err).split(".")[0])
        )
    return DesignFit("did", outcome, effects, diagnostics, notes, res)


# ------------------------------------------------------------------------------ synth
def _placebo_draws(result: Any, y0: np.ndarray, s: Settings) -> np.ndarray:
    """Arkhangelsky et al.'s placebo replications (Algorithm 4) of a fitted SDID.

    The same draws :class:`~effekt.synth.SyntheticDiD` makes for ``se="placebo"``
    (same function, seed and inputs; a test checks the standard error agrees); kept
    here because the rank p-value needs the draws, not only their spread.
    """
    from effekt.parallel import resample
    from effekt.synth import sdid

    cohorts, weights = result._cohorts, result._weights
    func = functools.partial(
        sdid._placebo_draws,
        kind="sdid",
        controls=y0,
        cohort_sizes=[c.y1.shape[0] for c in cohorts],
        t0s=[c.t0 for c in cohorts],
        times=[c.time for c in cohorts],
        zetas=[(w.zeta_omega, w.zeta_lambda, w.noise) for w in weights],
        solver="exact",
        start_weights=[(w.omega, w.lam) for w in weights],
    )
    return resample(func, s.synth_reps, seed=s.seed, n_jobs=s.n_jobs, desc="SDID placebo")


def fit_synth(sample: Sample, outcome: str, s: Settings) -> DesignFit:
    """Staggered synthetic DiD against never-treated donors, with fit and placebo checks."""
    from effekt.synth import SyntheticDiD

    notes: list[str] = []
    frame = sample.frame
    units = set(sample.treated) | set(sample.comparison)
    frame = frame[frame["area_id"].isin(units)]
    wide = frame.pivot(index="area_id", columns="year", values=outcome)
    incomplete = wide.index[wide.isna().any(axis=1)].tolist()
    if incomplete:
        notes.append(
            f"{len(incomplete)} area(s) without {outcome} in some year left out (synthetic "
            f"DiD needs complete series): {', '.join(map(str, incomplete[:5]))}"
            + (" ..." if len(incomplete) > 5 else "")
        )
        frame = frame[~frame["area_id"].isin(incomplete)]
        wide = wide.drop(index=incomplete)
    if s.group == "not_yet_treated":
        notes.append(
            "Synthetic DiD compares each start-year cohort with never-treated donors only "
            "(comparison.group = 'not_yet_treated' applies to the DiD design)."
        )
    result = capture(
        notes,
        lambda: SyntheticDiD(estimator="sdid", se=None, seed=s.seed, ci_level=s.level).fit(
            _panel(frame, outcome, None)
        ),
    )
    periods = np.asarray(wide.columns)
    controls = list(result.unit_weights.index)
    y0 = wide.loc[controls].to_numpy(float)
    n_treated = int(result.cohort_table["n_treated"].sum())
    if len(controls) > n_treated:
        draws = _placebo_draws(result, y0, s)
        se = float(np.sqrt(np.nanmean((draws[:, 0] - np.nanmean(draws[:, 0])) ** 2)))
        p_rank = float((1 + np.sum(np.abs(draws[:, 0]) >= abs(result.att))) / (1 + len(draws)))
    else:  # a placebo assignment needs controls left over after the fake treated ones
        draws = np.empty((0, 1))
        se = p_rank = math.nan
        notes.append(
            f"No placebo inference: it needs more never-treated donors ({len(controls)}) than "
            f"treated areas ({n_treated}); widen the donor rule."
        )

    # event-time path and pre-treatment fit, from the published weights
    cohorts = sample.cohorts[sample.cohorts.index.isin(wide.index)]
    curves, sizes, rmspe, noise = [], [], [], []
    for g in result.cohort_table["cohort"]:
        members = cohorts.index[cohorts == g]
        t0 = int(np.sum(periods < g))
        diff = wide.loc[members].to_numpy(float).mean(axis=0) - (
            result.unit_weights[g].to_numpy() @ y0
        )
        lam = result.time_weights[g].dropna().to_numpy()
        curve = diff - diff[:t0] @ lam
        curves.append(pd.Series(curve, index=np.arange(len(periods)) - t0))
        sizes.append(len(members))
        pre = diff[:t0]
        rmspe.append(float(np.sqrt(np.mean((pre - pre.mean()) ** 2))))
        steps = np.diff(y0[:, :t0], axis=1)
        noise.append(float(np.std(steps, ddof=1)) if steps.size > 1 else np.nan)
    size = np.asarray(sizes, float)
    path = pd.DataFrame(curves).T.sort_index()  # event time x cohort
    present = path.notna().to_numpy()
    w = np.where(present, size[None, :], 0.0)
    avg = np.nansum(path.to_numpy() * w, axis=1) / w.sum(axis=1)
    lo, hi = s.event_window
    keep = (path.index >= lo) & (path.index <= hi)
    z = stats.norm.ppf(0.5 + s.level / 2)
    effects = pd.concat(
        [
            _effects(
                "SyntheticDiD",
                [pd.NA],
                [result.att],
                [se],
                s.level,
                ci_lower=[result.att - z * se],
                ci_upper=[result.att + z * se],
                p_value=[p_rank],
            ),
            _effects(
                "SyntheticDiD",
                path.index[keep].tolist(),
                avg[keep],
                np.full(int(keep.sum()), np.nan),
                s.level,
            ),
        ],
        ignore_index=True,
    )
    # cohorts with a single pre-treatment year have no fit to judge (nor noise to scale it)
    judged = np.isfinite(np.asarray(noise))
    share = np.where(judged, size, 0.0) / max(float(size[judged].sum()), 1.0)
    fit = float(share @ np.where(judged, rmspe, 0.0)) if judged.any() else math.nan
    sigma = float(share @ np.where(judged, noise, 0.0)) if judged.any() else math.nan
    diagnostics = [
        _diag(
            "synth",
            outcome,
            "pre_rmspe",
            fit,
            bool(fit <= sigma) if judged.any() else None,
            f"pre-treatment gap (net of a constant) vs the donors' year-to-year noise {sigma:.3g}",
        ),
        _diag(
            "synth",
            outcome,
            "placebo_p",
            p_rank,
            (len(draws) >= 1 / 0.05 - 1) if len(draws) else None,
            f"rank p-value of |ATT| among {len(draws)} placebo assignments of never-treated "
            "areas" + (" (caution: too few draws to reach 5%)" if len(draws) < 19 else ""),
        ),
    ]
    return DesignFit("synth", outcome, effects, diagnostics, notes, result)


# ------------------------------------------------------------------------------ Bayes
def fit_bayes(sample: Sample, outcome: str, s: Settings, label: str) -> DesignFit:
    """Hierarchical Bayesian DiD (one kind: the study's treatment), with R-hat and ESS."""
    from effekt import bayes

    notes: list[str] = []
    frame = sample.frame.copy()
    frame["study_kind"] = frame["first_treated"].gt(0).map({True: label, False: None})
    lo, hi = s.event_window
    model = bayes.HierarchicalDiD(
        outcome=outcome,
        kind="study_kind",
        cohort="first_treated",
        never_treated=0,
        leads=max(2, -lo),
        lags=hi,
        # one kind: partial pooling across kinds would leave the kinds' common mean and
        # spread unidentified (a funnel NUTS mixes poorly in), so the kind gets its own prior
        pooling="none",
        draws=s.bayes_draws,
        tune=s.bayes_tune,
        chains=s.bayes_chains,
        cores=min(s.bayes_chains, max(1, s.n_jobs)),
        seed=s.seed,
        sampler=s.bayes_sampler,  # type: ignore[arg-type]
        ci_level=s.level,
    )
    result = capture(notes, lambda: model.fit(frame))
    t = result.to_frame()
    t = t[(t["term"] == "att") & t["aggregation"].isin(["overall", "event_time"])]
    t = t[t["event_time"].isna() | ((t["event_time"] >= lo) & (t["event_time"] <= hi))]
    effects = _effects(
        "HierarchicalDiD",
        t["event_time"].tolist(),
        t["estimate"],
        t["std_error"],
        s.level,
        ci_lower=t["ci_lower"],
        ci_upper=t["ci_upper"],
        p_value=t["p_value"],
    )
    d = result.diagnostics
    diagnostics = [
        _diag(
            "bayes",
            outcome,
            "rhat_max",
            d.max_rhat,
            bool(d.max_rhat <= RHAT_MAX),
            f"largest R-hat over the parameters (should be <= {RHAT_MAX})",
        ),
        _diag(
            "bayes",
            outcome,
            "ess_min",
            d.min_ess_bulk,
            bool(d.min_ess_bulk >= ESS_MIN),
            f"smallest bulk effective sample size (should be >= {ESS_MIN:.0f})",
        ),
        _diag(
            "bayes",
            outcome,
            "divergences",
            float(d.divergences),
            d.divergences == 0,
            f"divergent transitions in {d.n_draws:,} draws",
        ),
    ]
    return DesignFit("bayes", outcome, effects, diagnostics, notes, result)
