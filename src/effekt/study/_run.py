"""Run a study: build the sample once, fit each design per outcome, collect the answers."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from effekt.errors import (
    OptionalDependencyError,
    ParameterError,
    check_choice,
    check_int,
    invalid_parameter,
)
from effekt.options import resolve_level
from effekt.parallel import _progress
from effekt.study._data import Sample, as_tables, build_sample, build_stayers, truth_table
from effekt.study._designs import (
    DESIGNS,
    DesignFit,
    Settings,
    fit_bayes,
    fit_did,
    fit_did_stayers,
    fit_synth,
    fit_synth_stayers,
)
from effekt.study._power import power_frame, study_power
from effekt.study._result import StudyResult
from effekt.study._spec import Study
from effekt.study._text import Note

_OWNER = "Study.run"


def _int(name: str, value: Any, low: int) -> int:
    return int(check_int(name, _OWNER, value, low=low))


def _designs(designs: Any) -> tuple[str, ...]:
    if isinstance(designs, str):
        designs = (designs,)
    if not isinstance(designs, Sequence) or not designs:
        raise invalid_parameter(
            "designs",
            _OWNER,
            "a non-empty sequence of design names",
            designs,
            f"Designs: {', '.join(DESIGNS)}.",
        )
    for d in designs:
        check_choice("designs", _OWNER, d, DESIGNS)
    return tuple(dict.fromkeys(designs))


def basis_table(sample: Sample, outcome: str) -> pd.DataFrame:
    """Treated areas and persons behind each event time's estimate (and the overall one).

    Persons at event time ``e``: the outcome's denominator summed over the treated
    areas observed at ``e`` (distinct persons within one year). Overall: the
    largest of these, a lower bound on the distinct persons behind the average.
    For the baseline stayers, the persons are the treated areas' stayers (each
    area's own sub-panel).
    """
    if sample.stayers is not None:
        f = sample.stayers
        f = f[f["first_treated"] == f["baseline_year"] + 1]
    else:
        f = sample.frame
    t = f[f["first_treated"] > 0]
    t = t.assign(event_time=t["year"] - t["first_treated"])
    by_e = t.groupby("event_time").agg(
        n_units=("area_id", "nunique"), n_persons=(sample.counts[outcome], "sum")
    )
    post = by_e[by_e.index >= 0]
    overall = pd.DataFrame(
        {
            "event_time": pd.array([pd.NA], dtype="Int64"),
            "n_units": [len(sample.treated)],
            "n_persons": [int(post["n_persons"].max()) if len(post) else 0],
        }
    )
    rest = by_e.reset_index()
    rest["event_time"] = rest["event_time"].astype("Int64")
    out = pd.concat([overall, rest], ignore_index=True)
    out["n_units"] = out["n_units"].astype(np.int64)
    out["n_persons"] = out["n_persons"].astype(np.int64)
    return out


def run_study(
    study: Study,
    data: Any,
    designs: Any,
    *,
    seed: int,
    n_jobs: int,
    event_window: Any,
    ci_level: float | None,
    synth_reps: int,
    bayes_draws: int,
    bayes_tune: int,
    bayes_chains: int,
    bayes_sampler: str,
) -> StudyResult:
    """Implementation of :meth:`Study.run` (see there)."""
    start = time.perf_counter()
    chosen = _designs(designs)
    settings = Settings(
        seed=_int("seed", seed, 0),
        n_jobs=_int("n_jobs", n_jobs, 1),
        event_window=_window(event_window),
        level=resolve_level(ci_level),
        synth_reps=_int("synth_reps", synth_reps, 2),
        bayes_draws=_int("bayes_draws", bayes_draws, 1),
        bayes_tune=_int("bayes_tune", bayes_tune, 0),
        bayes_chains=_int("bayes_chains", bayes_chains, 1),
        bayes_sampler=str(bayes_sampler),
        group=study.comparison.group,
    )
    check_choice("bayes_sampler", _OWNER, bayes_sampler, ("nutpie", "pymc"))
    tables = as_tables(data, study)
    stayers = study.population == "stayers"
    notes: list[str] = []
    if stayers and "bayes" in chosen:
        if chosen == ("bayes",):
            raise ParameterError(
                "The Bayesian design does not support population = 'stayers': its multilevel "
                "model describes one area panel, and the stayer sub-panels (one per treatment "
                "cohort) repeat the comparison areas, which a likelihood would count several "
                "times. Ask for designs ('did', 'synth') for the stayers."
            )
        chosen = tuple(d for d in chosen if d != "bayes")
        notes.append(
            Note(
                "The Bayesian design was skipped: it does not support population = 'stayers' "
                "(the stayer sub-panels repeat the comparison areas, which its likelihood would "
                "count several times).",
                "Det bayesianske design blev udeladt: det understøtter ikke population = "
                "'stayers' (blivernes delpaneler gentager sammenligningsområderne, som dets "
                "likelihood ville tælle flere gange).",
            )
        )
    if "bayes" in chosen:
        try:
            import effekt.bayes  # noqa: F401
        except ImportError as err:  # OptionalDependencyError is an ImportError
            if chosen == ("bayes",):
                raise OptionalDependencyError(
                    "The Bayesian design needs PyMC, installed with the 'bayes' extra: "
                    "pip install 'effekt[bayes]'. Ask for other designs (did, synth) meanwhile."
                ) from err
            chosen = tuple(d for d in chosen if d != "bayes")
            notes.append(
                Note(
                    "The Bayesian design was skipped: PyMC is not installed "
                    "(pip install 'effekt[bayes]').",
                    "Det bayesianske design blev udeladt: PyMC er ikke installeret "
                    "(pip install 'effekt[bayes]').",
                )
            )
    sample = build_sample(study, tables)
    if stayers:
        build_stayers(study, tables, sample)
    notes.extend(sample.notes)
    label = "+".join(study.treatment.kinds)
    fits: list[DesignFit] = []
    truths: dict[str, pd.DataFrame] = {}
    bases: dict[str, pd.DataFrame] = {}
    truth_note = None
    for outcome in study.outcomes:
        bases[outcome] = basis_table(sample, outcome)
        if tables.world is not None:
            if study.treatment.funder is not None or study.treatment.round is not None:
                truth_note = Note(
                    "The true effect is not shown: the simulator's counterfactual removes every "
                    "intervention of a kind, not only one funder's or round's.",
                    "Den sande effekt vises ikke: simulatorens kontrafaktiske verden fjerner "
                    "alle indsatser af en type, ikke kun én finansieringskildes eller "
                    "ansøgningsrundes.",
                )
            else:
                tt = truth_table(tables.world, sample, study, outcome)
                if tt is not None:
                    truths[outcome] = tt
                elif stayers:
                    notes.append(
                        Note(
                            f"The true effect on the stayers is not shown for {outcome}: the "
                            "simulator keeps stayer effects of share outcomes only, each for "
                            "the stayers before its kind's own start, which differs from the "
                            "study's start year in some treated area.",
                            f"Den sande effekt på bliverne vises ikke for {outcome}: "
                            "simulatoren gemmer kun bliver-effekter for andelsudfald, hver for "
                            "bliverne før typens egen start, som i nogle behandlede områder "
                            "afviger fra studiets startår.",
                        )
                    )
    # one step per (outcome, design); the bar follows effekt.options["progress"] as the
    # resampling engine's do (the placebo and HonestDiD loops show their own bars inside)
    bar = _progress(len(study.outcomes) * len(chosen), "effekt study", None)
    try:
        for outcome in study.outcomes:
            for design in chosen:
                if bar is not None:
                    bar.set_description(f"{outcome}: {design}")
                if design == "did":
                    fit_d = fit_did_stayers if stayers else fit_did
                    fits.append(fit_d(sample, outcome, settings))
                elif design == "synth":
                    fit_s = fit_synth_stayers if stayers else fit_synth
                    fits.append(fit_s(sample, outcome, settings))
                else:
                    fits.append(fit_bayes(sample, outcome, settings, label))
                if bar is not None:
                    bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    if truth_note:
        notes.append(truth_note)
    power_rows = []
    if not stayers:  # the stacked stayer sub-panels are not one panel to calibrate on
        for outcome in study.outcomes:
            row, power_note = study_power(sample, outcome, settings, truths.get(outcome))
            if row is not None:
                power_rows.append(row)
            if power_note is not None:
                notes.append(power_note)
    return StudyResult(
        study=study,
        fits=fits,
        truths=truths,
        bases=bases,
        sample=sample,
        settings=settings,
        notes=notes,
        seconds=time.perf_counter() - start,
        simulated=tables.world is not None,
        power=power_frame(power_rows),
    )


def _window(value: Any) -> tuple[int, int]:
    ok = (
        isinstance(value, Sequence)
        and len(value) == 2
        and all(isinstance(v, int | np.integer) and not isinstance(v, bool) for v in value)
        and value[0] <= -2
        and value[1] >= 0
    )
    if not ok:
        raise invalid_parameter(
            "event_window",
            _OWNER,
            "a pair (first, last) of integers with first <= -2 <= 0 <= last",
            value,
            "For example (-5, 5): five leads and effects up to five years after.",
        )
    return int(value[0]), int(value[1])
