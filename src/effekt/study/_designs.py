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
from typing import Any, cast

import numpy as np
import pandas as pd
from scipy import stats

from effekt.errors import EffektError, EffektWarning, IdentificationError
from effekt.results import tidy_effects
from effekt.study._data import CO_START_WINDOW, Sample
from effekt.study._text import (
    dk_number,
    few_clusters_note,
    incomplete_note,
    no_placebo_note,
    synth_never_treated_note,
)

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
#: Share of treated areas where another intervention starts near the treatment (within
#: CO_START_WINDOW years) above which the study gets a caution flag. In those areas the
#: designs, which see only the treatment's timing, estimate the bundle, so the overall
#: estimate carries about this share times the co-starting efforts' own effect. Above a
#: quarter, a co-starting effort as effective as the treatment would move the estimate by
#: more than a quarter of the treatment's effect: as large as the sampling noise of a
#: typical kernedrift study, and too much to leave unsaid.
COOCCURRING_MAX = 0.25


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
    design: str,
    outcome: str,
    name: str,
    value: float,
    ok: bool | None,
    reason: str,
    reason_da: str,
) -> dict[str, Any]:
    """One diagnostic row, its reason in English and Danish (CFBU reports in Danish)."""
    flag = "not available" if ok is None else ("pass" if ok else "caution")
    return {
        "design": design,
        "outcome": outcome,
        "diagnostic": name,
        "value": float(value),
        "flag": flag,
        "reason": reason,
        "reason_da": reason_da,
    }


def _failed(design: str, outcome: str, name: str, err: EffektError) -> dict[str, Any]:
    """A diagnostic that could not be computed, with the error's first sentence."""
    first = str(err).split(".")[0]
    return _diag(design, outcome, name, math.nan, None, first, f"ikke beregnet: {first}")


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
    """One design's effects: the overall row (missing ``event_time``), then event times.

    Intervals and p-values are :func:`effekt.results.tidy_effects`' (normal
    approximation) unless given.
    """
    et = pd.array(list(event_time), dtype="Int64")
    keys = {
        "estimator": estimator,
        "aggregation": np.where(pd.isna(et), "overall", "event_time"),
        "event_time": et,
    }
    return tidy_effects(
        keys,
        estimate,
        std_error,
        level=level,
        ci_lower=ci_lower,
        ci_upper=ci_upper,
        p_value=p_value,
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


# ------------------------------------------------------------------------- study-level
def cooccurring_diagnostic(sample: Sample, outcome: str) -> dict[str, Any]:
    """Share of treated areas where another intervention starts near the treatment.

    Counted from ``sample.co_starts`` (:func:`effekt.study._data.co_starts`): a treated
    area counts once however many other spells start near its treatment start.
    """
    n = len(sample.treated)
    near = sample.co_starts
    hit = near[near["area_id"].isin(sample.treated)] if len(near) else near
    n_hit = int(hit["area_id"].nunique()) if len(hit) else 0
    share = n_hit / n
    reason = (
        f"{n_hit} of {n} treated areas ({share:.0%}) see another intervention start within "
        f"±{CO_START_WINDOW} year of their treatment start"
    )
    reason_da = (
        f"{n_hit} af {n} behandlede områder ({share * 100:.0f} %) får en anden indsats, der "
        f"starter inden for ±{CO_START_WINDOW} år fra deres start"
    )
    if n_hit:
        by_kind = top_co_kinds(hit)[:3]
        reason += (
            ", most often "
            + ", ".join(f"{k} ({c} area{'s' if c > 1 else ''})" for k, c in by_kind)
            + "; there the designs estimate the bundle"
        )
        reason_da += (
            ", oftest "
            + ", ".join(f"{k} ({c} område{'r' if c > 1 else ''})" for k, c in by_kind)
            + "; dér estimerer designerne den samlede pakke af indsatser"
        )
    ok = share <= COOCCURRING_MAX
    return _diag("all", outcome, "cooccurring_share", share, ok, reason, reason_da)


def top_co_kinds(co_starts: pd.DataFrame) -> list[tuple[str, int]]:
    """Co-starting kinds by the number of treated areas they co-start in (most first)."""
    counts = co_starts.drop_duplicates(["area_id", "kind"])["kind"].value_counts()
    order = sorted(counts.items(), key=lambda kc: (-kc[1], kc[0]))  # ties: by name
    return [(str(k), int(c)) for k, c in order]


# ------------------------------------------------------------------------------ DiD
def fit_did(sample: Sample, outcome: str, s: Settings) -> DesignFit:
    """Callaway-Sant'Anna event study, overall ATT, pre-trend test and HonestDiD breakdown."""
    from effekt.did import CallawaySantAnna
    from effekt.did._common import FEW_CLUSTERS

    notes: list[str] = []
    frame = sample.frame
    n_kommuner = frame["kommune_code"].nunique()
    cluster = "kommune_code" if n_kommuner >= FEW_CLUSTERS else None
    if cluster is None:
        notes.append(few_clusters_note(n_kommuner, FEW_CLUSTERS))
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

    def wald() -> tuple[float, int, float]:
        pre = es.pretrend_test()
        return float(pre["statistic"]), int(pre["df"]), float(pre["p_value"])

    diagnostics = [_pretrend(outcome, wald), _breakdown(es, outcome, s, notes)]
    return DesignFit("did", outcome, effects, diagnostics, notes, res)


def _pretrend(outcome: str, wald: Callable[[], tuple[float, int, float]]) -> dict[str, Any]:
    """The pre-trend diagnostic from ``wald()`` = (chi2, leads, p), or why it is missing."""
    try:
        stat, q, p = wald()
    except EffektError as err:
        return _failed("did", outcome, "pretrend_p", err)
    return _diag(
        "did",
        outcome,
        "pretrend_p",
        p,
        p >= PRETREND_ALPHA,
        f"joint Wald test of {q} lead(s): chi2 = {stat:.2f}",
        f"samlet Wald-test af {q} periode(r) før start: chi2 = {dk_number(stat, '.2f')}",
    )


def _breakdown(es: Any, outcome: str, s: Settings, notes: list[str]) -> dict[str, Any]:
    """HonestDiD breakdown value (relative magnitudes, average post-treatment effect)."""
    from effekt.did import honest_did

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
            reason_da = (
                "den gennemsnitlige effekts interval indeholder 0 selv under helt parallelle "
                "trends: der er ingen konklusion om en effekt, som kan brydes ned"
            )
            ok: bool | None = None
        else:
            reason = (
                "the non-zero conclusion survives post-treatment trend violations up to "
                f"{b:.2f} times the largest pre-treatment one (relative magnitudes)"
            )
            reason_da = (
                "konklusionen om en effekt holder ved brud på de parallelle trends efter "
                f"starten op til {dk_number(b, '.2f')} gange det største før starten (relative "
                "størrelser)"
            )
            ok = b >= BREAKDOWN_MIN
        return _diag("did", outcome, "honest_breakdown_mbar", b, ok, reason, reason_da)
    except EffektError as err:
        return _failed("did", outcome, "honest_breakdown_mbar", err)


# ------------------------------------------------------------------------------ synth
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
        notes.append(incomplete_note(list(map(str, incomplete)), outcome, stayers=False))
        frame = frame[~frame["area_id"].isin(incomplete)]
        wide = wide.drop(index=incomplete)
    if s.group == "not_yet_treated":
        notes.append(synth_never_treated_note())
    panel = _panel(frame, outcome, None)

    def fit(se: str | None) -> Any:
        model = SyntheticDiD(
            estimator="sdid",
            se=se,
            n_reps=s.synth_reps,
            seed=s.seed,
            n_jobs=s.n_jobs,
            ci_level=s.level,
        )
        return capture(notes, lambda: model.fit(panel))

    # Arkhangelsky et al.'s placebo (Algorithm 4): its draws give the SE and a rank p-value
    try:
        result = fit("placebo")
    except IdentificationError:  # a placebo needs more never-treated donors than treated
        result = fit(None)
    periods = np.asarray(wide.columns)
    controls = list(result.unit_weights.index)
    y0 = wide.loc[controls].to_numpy(float)
    if result.replicates is not None:
        draws = result.replicates["att"].to_numpy()
        se = result.se
        p_rank = float((1 + np.sum(np.abs(draws) >= abs(result.att))) / (1 + len(draws)))
    else:  # a placebo assignment needs controls left over after the fake treated ones
        draws = np.empty(0)
        se = p_rank = math.nan
        n_treated = int(result.cohort_table["n_treated"].sum())
        notes.append(no_placebo_note(len(controls), n_treated))

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
    effects, diagnostics = _synth_summary(
        outcome,
        s,
        result.att,
        se,
        p_rank,
        len(draws),
        curves,
        np.asarray(sizes, float),
        rmspe,
        noise,
    )
    return DesignFit("synth", outcome, effects, diagnostics, notes, result)


def _synth_summary(
    outcome: str,
    s: Settings,
    att: float,
    se: float,
    p_rank: float,
    n_draws: int,
    curves: list[pd.Series],
    size: np.ndarray,
    rmspe: list[float],
    noise: list[float],
) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    """Effects (overall and event-time path) and fit/placebo diagnostics of a synthetic DiD."""
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
                [att],
                [se],
                s.level,
                ci_lower=[att - z * se],
                ci_upper=[att + z * se],
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
            "afvigelse før start (renset for en konstant) mod donorernes støj fra år til år "
            + dk_number(sigma, ".3g"),
        ),
        _diag(
            "synth",
            outcome,
            "placebo_p",
            p_rank,
            (n_draws >= 1 / 0.05 - 1) if n_draws else None,
            f"rank p-value of |ATT| among {n_draws} placebo assignments of never-treated "
            "areas" + (" (caution: too few draws to reach 5%)" if n_draws < 19 else ""),
            f"rang-p-værdi for |ATT| blandt {n_draws} placebotildelinger til aldrig "
            "behandlede områder"
            + (" (varsomhed: for få træk til at nå 5 %)" if n_draws < 19 else ""),
        ),
    ]
    return effects, diagnostics


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
            f"største R-hat over parametrene (bør være <= {dk_number(RHAT_MAX, 'g')})",
        ),
        _diag(
            "bayes",
            outcome,
            "ess_min",
            d.min_ess_bulk,
            bool(d.min_ess_bulk >= ESS_MIN),
            f"smallest bulk effective sample size (should be >= {ESS_MIN:.0f})",
            f"mindste effektive stikprøvestørrelse, bulk (bør være >= {ESS_MIN:.0f})",
        ),
        _diag(
            "bayes",
            outcome,
            "divergences",
            float(d.divergences),
            d.divergences == 0,
            f"divergent transitions in {d.n_draws:,} draws",
            f"divergente overgange i {dk_number(d.n_draws, ',')} træk",
        ),
    ]
    return DesignFit("bayes", outcome, effects, diagnostics, notes, result)


# ------------------------------------------------------------------ baseline stayers
class StackedEventStudy:
    """Event-time estimates and covariance of the stacked stayer DiD (for HonestDiD)."""

    def __init__(
        self, outcome: str, estimates: pd.Series, covariance: pd.DataFrame, fits: dict[int, Any]
    ) -> None:
        from effekt.panel import Ledger

        self.outcome = outcome
        self._est = estimates
        self._cov = covariance
        ledger = Ledger.empty()
        for fit in fits.values():  # rows the sub-panels' fits left out
            if len(fit.ledger):
                ledger = ledger.extend(fit.ledger.to_frame())
        self.ledger = ledger

    def event_study_coefficients(self) -> tuple[pd.Series, pd.DataFrame]:
        """Estimates indexed by event time and their cluster-robust covariance."""
        return self._est.copy(), self._cov.copy()


@dataclass
class _Stack:
    """The cohorts' ATT(g, t) from their own stayer sub-panels, with their influence."""

    cells: pd.DataFrame  # cohort, time, event_time, estimate
    psi: np.ndarray  # clusters x cells: per-area influence summed within clusters
    members: np.ndarray  # clusters x cohorts: areas of each cohort in each cluster
    cohorts: np.ndarray  # the cohorts (columns of members)
    n: int  # distinct areas in the stacked sample
    fits: dict[int, Any]


def _stacked_cells(
    sample: Sample, outcome: str, s: Settings, cluster: str | None, notes: list[str]
) -> _Stack:
    """ATT(g, t) of each cohort ``g`` on its own stayer sub-panel, and their influence.

    ``psi @ a`` sums, within clusters, the influence of a linear combination ``a`` of
    the cells, scaled so that its variance is ``sum((psi @ a) ** 2)``.
    """
    from effekt.did import CallawaySantAnna

    st = sample.stayers
    assert st is not None  # built by build_stayers for population="stayers"
    key = cluster or "area_id"
    codes = {c: i for i, c in enumerate(sorted(st[key].astype(str).unique()))}
    area_code = st.groupby("area_id")[key].first().astype(str).map(codes)
    cells: list[pd.DataFrame] = []
    columns: list[np.ndarray] = []
    fits: dict[int, Any] = {}
    used: set[str] = set()
    estimator = CallawaySantAnna(control_group=s.group, base_period="universal", ci_level=s.level)
    for b, part in st.groupby("baseline_year", sort=True):  # loop over treatment cohorts
        g = int(cast(int, b)) + 1
        panel = _panel(part.drop(columns="baseline_year"), outcome, None)  # unit-level influence
        res = capture(notes, functools.partial(estimator.fit, panel))
        fits[g] = res
        used.update(map(str, res.units))
        gt = res.att_gt
        own = np.flatnonzero(gt["cohort"].to_numpy() == g)
        if not len(own):
            continue
        # CS scales the influence function so that a cell's variance is sum(inf^2) / n^2
        phi = res.influence_function[:, own] / res.n_units
        rows = area_code.reindex(np.asarray(res.units, dtype=object)).to_numpy(np.int64)
        psi = np.zeros((len(codes), len(own)))
        np.add.at(psi, rows, phi)  # sum within clusters (an area is in one cluster)
        columns.append(psi)
        cells.append(gt.iloc[own][["cohort", "time", "event_time", "estimate"]])
    if not cells:
        raise IdentificationError(
            "No treatment cohort could be estimated on its stayer sub-panel (see the notes)."
        )
    table = pd.concat(cells, ignore_index=True)
    glist = np.unique(table["cohort"].to_numpy(float))
    areas = sorted(used)
    cohort_of = sample.cohorts.reindex(areas).fillna(0).to_numpy(float)
    members = np.zeros((len(codes), len(glist)))
    hit = np.isin(cohort_of, glist)
    np.add.at(
        members,
        (area_code.reindex(areas).to_numpy(np.int64)[hit], np.searchsorted(glist, cohort_of[hit])),
        1.0,
    )
    return _Stack(table, np.hstack(columns), members, glist, len(areas), fits)


def _combine(stack: _Stack, groups: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Cohort-size-weighted means of the cells in each group, and their covariance.

    As Callaway and Sant'Anna's ``aggregate`` on one panel (R ``did::aggte``): the
    weights are the cohorts' shares ``p_g`` of the areas in the stacked sample, and the
    influence function adds the estimated-weights term, ``b_g / n`` for an area of
    cohort ``g`` with ``b_g = sum_t ATT(g, t) / S - k_g * theta / S`` (``S`` the summed
    weights of the group's cells, ``k_g`` its cells of cohort ``g``).
    """
    cells = stack.cells
    att = cells["estimate"].to_numpy(float)
    code = np.searchsorted(stack.cohorts, cells["cohort"].to_numpy(float))
    p = stack.members.sum(axis=0) / stack.n
    pc = p[code]
    a = np.zeros((len(cells), len(groups)))
    b = np.zeros((len(stack.cohorts), len(groups)))
    for j, idx in enumerate(groups):  # loop over aggregates (a few)
        s_p = pc[idx].sum()
        theta = float(pc[idx] @ att[idx]) / s_p
        a[idx, j] = pc[idx] / s_p
        sums = np.bincount(code[idx], att[idx], minlength=len(p))
        counts = np.bincount(code[idx], minlength=len(p))
        b[:, j] = sums / s_p - counts * theta / s_p
    est = att @ a
    psi = stack.psi @ a + stack.members @ b / stack.n
    return est, psi.T @ psi


def fit_did_stayers(sample: Sample, outcome: str, s: Settings) -> DesignFit:
    """Stacked Callaway-Sant'Anna DiD on the baseline stayers of each treatment cohort.

    Each cohort ``g`` gets its own sub-panel (its treated areas and the comparison
    areas, with indicators over the persons resident in ``g - 1``) and its own
    ATT(g, t) against that sub-panel's comparison areas, with the universal base
    period ``g - 1``: the baseline year itself. The cohorts' ATT(g, t) are then
    aggregated as ``aggregate("event_time")`` and ``aggregate("simple")`` do on one
    panel (weights: the cohorts' treated areas), with the influence functions of
    every sub-panel summed by cluster across sub-panels, because a comparison area
    (and its kommune) serves in several sub-panels, and with the estimated-weights term
    over the distinct areas of the stacked sample (:func:`_combine`). When every
    sub-panel holds the same numbers (everyone stays), this reproduces the area
    design's estimates and standard errors exactly.

    Why not stacked two-way fixed effects (Cengiz et al. 2019): its implicit weights
    across sub-experiments depend on each sub-panel's treated share and variance, not
    on the number of treated areas (Wing, Freedman & Hollingsworth 2024), so it would
    not estimate the same aggregate as the area design; per-cohort Callaway-Sant'Anna
    with explicit weights does.

    References
    ----------
    Callaway, B. and Sant'Anna, P. H. C. (2021). Difference-in-differences with multiple
    time periods. Journal of Econometrics 225(2), 200-230.
    doi:10.1016/j.jeconom.2020.12.001
    Cengiz, D., Dube, A., Lindner, A. and Zipperer, B. (2019). The effect of minimum
    wages on low-wage jobs. Quarterly Journal of Economics 134(3), 1405-1454.
    doi:10.1093/qje/qjz014
    Wing, C., Freedman, S. M. and Hollingsworth, A. (2024). Stacked
    difference-in-differences. NBER Working Paper 32054. doi:10.3386/w32054
    """
    from effekt.did._common import FEW_CLUSTERS, wald_chi2

    notes: list[str] = []
    st = sample.stayers
    assert st is not None
    n_kommuner = st["kommune_code"].nunique()
    cluster = "kommune_code" if n_kommuner >= FEW_CLUSTERS else None
    if cluster is None:
        notes.append(few_clusters_note(n_kommuner, FEW_CLUSTERS))
    lo, hi = s.event_window
    stack = _stacked_cells(sample, outcome, s, cluster, notes)
    fits = stack.fits
    e = stack.cells["event_time"].to_numpy()
    keys = [int(v) for v in np.unique(e) if lo <= v <= hi]
    groups = [np.flatnonzero(e >= 0), *(np.flatnonzero(e == k) for k in keys)]
    est, cov = _combine(stack, groups)
    with np.errstate(invalid="ignore"):
        se = np.sqrt(np.diag(cov))
    se = np.where(se > 0, se, np.nan)  # the base period g - 1 is 0 by construction
    label = "StackedCallawaySantAnna"
    effects = _effects(label, [pd.NA, *keys], est, se, s.level)
    ok = np.flatnonzero(np.isfinite(se[1:]))
    index = pd.Index(np.asarray(keys)[ok], name="event_time")
    es = StackedEventStudy(
        outcome,
        pd.Series(est[1:][ok], index=index, name="estimate"),
        pd.DataFrame(cov[1:, 1:][np.ix_(ok, ok)], index=index, columns=index),
        fits,
    )
    leads = np.flatnonzero(index < 0)
    if len(leads):
        cov = es._cov.to_numpy()[np.ix_(leads, leads)]
        pretrend = _pretrend(outcome, lambda: wald_chi2(es._est.to_numpy()[leads], cov))
    else:
        pretrend = _diag(
            "did",
            outcome,
            "pretrend_p",
            math.nan,
            None,
            "no lead in the event window",
            "ingen periode før start i hændelsesvinduet",
        )
    diagnostics = [pretrend, _breakdown(es, outcome, s, notes)]
    return DesignFit("did", outcome, effects, diagnostics, notes, fits)


def fit_synth_stayers(sample: Sample, outcome: str, s: Settings) -> DesignFit:
    """Synthetic DiD per cohort on its baseline stayers, aggregated as the staggered SDID.

    Cohort ``g``'s treated areas are compared with a synthetic control of
    never-treated donors whose outcomes are computed over *their* residents of
    ``g - 1``; the cohorts' ATTs are averaged with weights treated areas x
    post-treatment years, as :class:`effekt.synth.SyntheticDiD` does for staggered
    adoption. The placebo replications permute the donors once per draw for all
    cohorts (the placebo of :class:`effekt.synth.SyntheticDiD`, given each cohort's
    donor outcomes).
    """
    from effekt.parallel import resample
    from effekt.synth.sdid import _Cohort, _estimate, _placebo_draws

    notes: list[str] = []
    st = sample.stayers
    assert st is not None
    if s.group == "not_yet_treated":
        notes.append(synth_never_treated_note())
    wides = {
        int(cast(int, b)) + 1: part.pivot(index="area_id", columns="year", values=outcome)
        for b, part in st.groupby("baseline_year", sort=True)
    }
    donors = [a for a in sample.comparison]
    treated_of = {g: sample.cohorts.index[sample.cohorts == g].tolist() for g in wides}
    bad = set()
    for g, w in wides.items():  # loop over cohorts
        ids = [*treated_of[g], *donors]
        bad |= set(w.loc[ids].index[w.loc[ids].isna().any(axis=1)])
    if bad:
        shown = sorted(map(str, bad))
        notes.append(incomplete_note(shown, outcome, stayers=True))
    donors = [a for a in donors if a not in bad]
    gs = [g for g in wides if any(a not in bad for a in treated_of[g])]
    if len(donors) < 2 or not gs:
        raise IdentificationError(
            f"Synthetic DiD on the stayers needs at least 2 donors with complete {outcome} "
            f"series and a treated area; there are {len(donors)} donor(s)."
        )
    periods = np.asarray(next(iter(wides.values())).columns)
    cohorts, controls = [], []
    for g in gs:  # loop over cohorts
        members = [a for a in treated_of[g] if a not in bad]
        y1 = wides[g].loc[members].to_numpy(float)
        y0 = wides[g].loc[donors].to_numpy(float)
        cohorts.append(_Cohort(g, int(np.sum(periods < g)), y1, y0, members))
        controls.append(y0)
    est, weights = capture(notes, lambda: _estimate("sdid", cohorts))
    att = float(est[0])
    sizes = [c.y1.shape[0] for c in cohorts]
    n_treated = sum(sizes)
    if len(donors) > n_treated:
        # one permutation of the donors per draw for every cohort, each cohort with its
        # own donor outcomes (over its baseline stayers): controls of shape (K, N0, T)
        func = functools.partial(
            _placebo_draws,
            kind="sdid",
            controls=np.stack(controls),
            cohort_sizes=sizes,
            t0s=[c.t0 for c in cohorts],
            times=gs,
            zetas=[(w.zeta_omega, w.zeta_lambda, w.noise) for w in weights],
            solver="exact",
            start_weights=[(w.omega, w.lam) for w in weights],
        )
        draws = resample(func, s.synth_reps, seed=s.seed, n_jobs=s.n_jobs, desc="SDID placebo")
        se = float(np.sqrt(np.nanmean((draws[:, 0] - np.nanmean(draws[:, 0])) ** 2)))
        p_rank = float((1 + np.sum(np.abs(draws[:, 0]) >= abs(att))) / (1 + len(draws)))
    else:
        draws = np.empty((0, 1))
        se = p_rank = math.nan
        notes.append(no_placebo_note(len(donors), n_treated))
    curves, rmspe, noise = [], [], []
    for c, w, y0 in zip(cohorts, weights, controls, strict=True):  # loop over cohorts
        diff = c.y1.mean(axis=0) - w.omega @ y0
        curve = diff - diff[: c.t0] @ w.lam
        curves.append(pd.Series(curve, index=np.arange(len(periods)) - c.t0))
        pre = diff[: c.t0]
        rmspe.append(float(np.sqrt(np.mean((pre - pre.mean()) ** 2))))
        steps = np.diff(y0[:, : c.t0], axis=1)
        noise.append(float(np.std(steps, ddof=1)) if steps.size > 1 else np.nan)
    effects, diagnostics = _synth_summary(
        outcome, s, att, se, p_rank, len(draws), curves, np.asarray(sizes, float), rmspe, noise
    )
    result = {"att": att, "cohort_att": dict(zip(gs, est[1:].tolist(), strict=True))}
    return DesignFit("synth", outcome, effects, diagnostics, notes, result)
