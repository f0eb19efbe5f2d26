"""The power section of a study: the MDE for the study's treated areas and years, in words.

For each outcome, :func:`study_power` computes the minimum detectable effect
(:func:`effekt.power.mde`, analytic, Burlig, Preonas & Woerman 2020) of a DiD with the
study's number of treated and never-treated comparison areas, calibrated on the
comparison areas' own series. The design is the study's DiD (Callaway & Sant'Anna
with a never-treated comparison: the average over the post years against the year
before the start); the post years are the median, over the treated areas, of the
years each is observed from its start within the event window. The test is two-sided
at ``1 - ci_level`` with 80 % power. :func:`power_paragraphs` turns the numbers into
the report's sentences (English and Danish), and says whether a known (simulated)
truth lay below the MDE.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt.errors import EffektError, EffektWarning
from effekt.study._text import Note, _num, term

if TYPE_CHECKING:  # pragma: no cover
    from effekt.study._data import Sample
    from effekt.study._designs import Settings

TARGET_POWER = 0.8

COLUMNS = [
    "outcome",
    "design",
    "n_treated",
    "n_control",
    "years",
    "alpha",
    "power",
    "mde",
    "std_error",
    "estimate",
    "truth",
    "truth_below_mde",
    "power_at_truth",
]


def post_years(sample: Sample, window_end: int) -> int:
    """Median over treated areas of the years observed from the start, within the window."""
    last = sample.years[1]
    cohorts = sample.cohorts.to_numpy(dtype=float)
    per_area = np.minimum(last - cohorts + 1, window_end + 1)
    return max(1, int(np.round(np.median(per_area))))


def study_power(
    sample: Sample, outcome: str, settings: Settings, truth: pd.DataFrame | None
) -> tuple[dict[str, Any] | None, Note | None]:
    """The power row of one outcome (None with a note when it cannot be computed)."""
    from effekt.panel import Panel
    from effekt.power import mde

    n_t, n_c = len(sample.treated), len(sample.comparison)
    r = post_years(sample, settings.event_window[1])
    keep = sample.frame["area_id"].isin([*sample.treated, *sample.comparison])
    frame = sample.frame.loc[keep, ["area_id", "year", "first_treated", outcome]]
    try:
        with warnings.catch_warnings():
            # rows or areas without the outcome only shrink the calibration; say so below
            warnings.simplefilter("ignore", EffektWarning)
            panel = Panel.from_frame(
                frame,
                unit="area_id",
                time="year",
                outcome=outcome,
                cohort="first_treated",
                never_treated=0,
            )
            res = mde(
                panel,
                n_treated=n_t,
                n_control=n_c,
                years=r,
                pre_years=1,
                design="callaway",
                errors="empirical",
                alpha=1.0 - settings.level,
                power=TARGET_POWER,
            )
    except EffektError as err:
        return None, Note(
            f"The power section leaves out {outcome}: {err}",
            f"Afsnittet om styrke udelader {outcome}: {err}",
        )
    t = np.nan
    if truth is not None:
        overall = truth[truth["event_time"].isna()]["truth"]
        t = float(overall.iloc[0]) if len(overall) else np.nan
    has_truth = bool(np.isfinite(t))
    row = {
        "outcome": outcome,
        "design": "did",
        "n_treated": n_t,
        "n_control": n_c,
        "years": r,
        "alpha": res.alpha,
        "power": res.power,
        "mde": res.mde,
        "std_error": res.std_error,
        "estimate": np.nan,  # filled from the DiD fit by StudyResult
        "truth": t,
        "truth_below_mde": bool(abs(t) < res.mde) if has_truth else pd.NA,
        "power_at_truth": float(res.power_at(t)["analytic"]) if has_truth and t else np.nan,
    }
    return row, None


def power_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["truth_below_mde"] = out["truth_below_mde"].astype("boolean")
    return out


def _pct(x: float, language: str) -> str:
    text = f"{x:.0%}"
    return text.replace("%", " %") if language == "da" else text


def power_paragraph(row: pd.Series, language: str) -> str:
    """The sentences of one outcome's power row, built from its numbers."""
    da = language == "da"
    o_name = term(f"outcome_{row['outcome']}", language, str(row["outcome"]))
    mde, r = float(row["mde"]), int(row["years"])
    p, a = _pct(float(row["power"]), language), _pct(float(row["alpha"]), language)
    m = _num(mde, language)
    if da:
        text = (
            f"Med {int(row['n_treated'])} behandlede områder, {int(row['n_control'])} "
            f"sammenligningsområder og {r} år efter starten er den mindste effekt på {o_name}, "
            f"som studiet ville påvise med {p} sandsynlighed (tosidet test på {a}-niveau), "
            f"{m} i begge retninger: den mindste påviselige effekt (MDE; Burlig, Preonas & "
            "Woerman 2020, kalibreret på sammenligningsområdernes udsving fra år til år)."
        )
    else:
        text = (
            f"With {int(row['n_treated'])} treated areas, {int(row['n_control'])} comparison "
            f"areas and {r} year{'' if r == 1 else 's'} after the start, the smallest effect on "
            f"{o_name} that this study would detect with {p} probability (two-sided test at "
            f"the {a} level) is {m} in either direction: the minimum detectable effect (MDE; "
            "Burlig, Preonas & Woerman 2020, calibrated on the comparison areas' year-to-year "
            "variation)."
        )
    est = float(row["estimate"])
    if np.isfinite(est):
        bigger = abs(est) >= mde
        if da:
            text += (
                f" DiD-estimatet, {_num(est, language)}, er "
                + ("større" if bigger else "mindre")
                + " end MDE i absolut værdi."
            )
        else:
            text += (
                f" The DiD estimate, {_num(est, language)}, is "
                + ("larger" if bigger else "smaller")
                + " than the MDE in absolute value."
            )
    t = float(row["truth"])
    if np.isfinite(t):
        tt = _num(t, language)
        pt = float(row["power_at_truth"]) if np.isfinite(row["power_at_truth"]) else 0.0
        below = abs(t) < mde
        if da:
            text += (
                f" Den sande effekt i den simulerede verden, {tt}, ligger under MDE: studiet "
                "kunne ikke forventes at påvise den; dets styrke mod en effekt af den størrelse "
                f"er kun {_pct(pt, language)}: et resultat, der ikke er signifikant, eller et "
                "signifikant estimat, der er langt større end den sande effekt, er, hvad dette "
                "design typisk giver."
                if below
                else f" Den sande effekt i den simulerede verden, {tt}, ligger over MDE: "
                f"studiet havde mindst {p} styrke til at påvise den ({_pct(pt, language)})."
            )
        else:
            text += (
                f" The true effect in the simulated world, {tt}, lies below the MDE: the study "
                "could not have been expected to detect it; its power against an effect of "
                f"that size is only {_pct(pt, language)}: a result that is not significant, or a "
                "significant estimate much larger than the truth, is what this design typically "
                "gives."
                if below
                else f" The true effect in the simulated world, {tt}, lies above the MDE: the "
                f"study had at least {p} power to detect it ({_pct(pt, language)})."
            )
    return text
