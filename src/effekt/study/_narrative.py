"""The plain-language narrative of a study result, in English and Danish (CFBU publishes in Danish).

Built from the numbers of a :class:`~effekt.study.StudyResult`; the notes, terms and
number formatting it uses are in the leaf module ``_text``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from effekt.study._data import CO_START_WINDOW
from effekt.study._designs import top_co_kinds
from effekt.study._text import ASSUMPTIONS, DESIGN_NAMES, _alternatives, _join, _num, term

if TYPE_CHECKING:  # pragma: no cover
    from effekt.study._result import StudyResult


def narrative(result: StudyResult, language: str) -> str:
    """The plain-language summary (paragraphs separated by blank lines)."""
    da = language == "da"
    s = result.study
    tr = s.treatment
    kinds = _alternatives([term(f"kind_{k}", language, k) for k in tr.kinds], language)
    base = term(f"kind_{tr.base}", language, tr.base) if tr.base else None
    level = result.level
    paras: list[str] = []
    n_t, n_c = result.n_treated, result.n_comparison
    y0, y1 = result.years
    group = s.comparison.group
    if da:
        what = f"{kinds} oven på {base}" if base else kinds
        pop = (
            "hele områdets befolkning hvert år, så effekten omfatter ændringer i, hvem der bor "
            "i områderne (til- og fraflytning)"
            if s.population == "area"
            else "de faste beboere (blivere): de personer, der boede i et behandlet område året "
            "før indsatsen startede dér, og som stadig bor i området i det år, der måles (hver "
            "indikator i sin egen aldersgruppe blandt dem, fx de 15-24-årige blivere for "
            "NEET-andelen). Tilflyttere indgår ikke, så spørgsmålet er, om de beboere, der "
            "boede der i forvejen, fik det bedre, og ikke om områdets tal blev bedre, fordi "
            "beboersammensætningen ændrede sig. Sammenligningsområdernes tal er opgjort over "
            "deres egne beboere i det samme basisår (ét delpanel pr. startår, stablet)"
        )
        paras.append(
            f"Spørgsmålet er, hvordan udfaldet ændrer sig, når områderne får {what}. "
            f"Estimandet er den gennemsnitlige effekt for de behandlede områder (ATT) for {pop}. "
            f"Analysen dækker {y0}-{y1} med "
            f"{n_t} behandlede områder og {n_c} aldrig behandlede sammenligningsområder"
            + (
                " (DiD bruger også endnu ikke behandlede områder)."
                if group == "not_yet_treated"
                else "."
            )
        )
        if base:
            paras.append(
                f"Alle områder i analysen har {base}, så sammenligningen fjerner effekten af "
                f"{base} kun, hvis den udvikler sig ens i behandlede og sammenligningsområder. "
                f"Områderne fik {base} i forskellige år, så det er en antagelse, ikke en "
                "selvfølge."
            )
    else:
        what = f"{kinds} on top of {base}" if base else kinds
        pop = (
            "the area population: everyone living in the areas each year, so the effect "
            "includes changes in who lives there (in- and out-movers)"
            if s.population == "area"
            else "the baseline stayers: the persons living in a treated area in the year before "
            "its treatment started who still live there in the year measured (each indicator "
            "over its own age band among them, e.g. the stayers aged 15-24 for the NEET "
            "share). In-movers do not enter it, so the question is whether the residents who "
            "were there before did better, not whether the area's figures improved because "
            "its population changed. The comparison areas' figures are computed over their own "
            "residents of the same baseline year (one sub-panel per start year, stacked)"
        )
        paras.append(
            f"The question is how the outcome changes when areas get {what}. "
            f"The estimand is the average effect on the treated areas (ATT) for {pop}. "
            f"The analysis covers {y0}-{y1} with "
            f"{n_t} treated areas and {n_c} never-treated comparison areas"
            + (" (DiD also uses not-yet-treated areas)." if group == "not_yet_treated" else ".")
        )
        if base:
            paras.append(
                f"Every area in the analysis has {base}, so the comparison nets out the effect "
                f"of {base} only if that effect evolves alike in treated and comparison areas. "
                f"The areas got {base} in different years, so this is an assumption, not a "
                "given."
            )
    overall = result.overall()
    diag = result.diagnostics
    for outcome in s.outcomes:
        o_name = term(f"outcome_{outcome}", language, outcome)
        rows = overall[overall["outcome"] == outcome]
        lines = []
        for _, r in rows.iterrows():
            d = r["design"]
            ci = f"[{_num(r['ci_lower'], language)}; {_num(r['ci_upper'], language)}]"
            if np.isnan(r["ci_lower"]):
                ci = "(uden interval)" if da else "(no interval)"
            lines.append(f"{DESIGN_NAMES[language][d]} {_num(r['estimate'], language)} {ci}")
        if not lines:
            continue
        if da:
            text = (
                f"Effekten på {o_name} er estimeret til: "
                + "; ".join(lines)
                + f" ({level:.0%}-intervaller)."
            )
        else:
            text = (
                f"The estimated effect on {o_name} is: "
                + "; ".join(lines)
                + f" ({level:.0%} intervals)."
            )
        text += " " + _agreement(rows, language)
        truth = rows["truth"].dropna() if "truth" in rows else pd.Series(dtype=float)
        if len(truth):
            t = float(truth.iloc[0])
            cover = [
                DESIGN_NAMES[language][r["design"]]
                for _, r in rows.iterrows()
                if r["ci_lower"] <= t <= r["ci_upper"]
            ]
            if da:
                text += f" I den simulerede verden er den sande effekt {_num(t, language)}; " + (
                    f"den ligger i intervallet for {_join(cover, language)}."
                    if cover
                    else "ingen af intervallerne indeholder den."
                )
            else:
                text += f" In the simulated world the true effect is {_num(t, language)}; " + (
                    f"the intervals of {_join(cover, language)} contain it."
                    if cover
                    else "none of the intervals contains it."
                )
        cautions = diag[
            (diag["outcome"] == outcome)
            & (diag["flag"] == "caution")
            & (diag["diagnostic"] != "cooccurring_share")  # its own paragraph, below
        ]
        if len(cautions):
            listed = "; ".join(
                (
                    f"{DESIGN_NAMES[language][r['design']]}: {_diag_text(r, language)}"
                    if r["design"] in DESIGN_NAMES[language]
                    else _diag_text(r, language)  # study-level ("all")
                )
                for _, r in cautions.iterrows()
            )
            text += (" Vær varsom: " if da else " Caution: ") + listed + "."
        paras.append(text)
    co = diag[(diag["diagnostic"] == "cooccurring_share") & (diag["flag"] == "caution")]
    if len(co):
        paras.append(_cooccurring_text(result, float(co["value"].iloc[0]), kinds, language))
    used = list(dict.fromkeys(overall["design"]))
    assumptions = " ".join(ASSUMPTIONS[language][d] for d in used)
    if s.population == "stayers":
        assumptions += (
            " For blivere gælder antagelserne de faste beboeres udfald: i årene før starten er "
            "det de personer, der boede i området dengang og stadig boede der i basisåret."
            if da
            else " For the stayers the assumptions concern the stayers' outcomes: in the years "
            "before the start these are the persons who lived in the area then and were still "
            "there in the baseline year."
        )
    paras.append(assumptions)
    if len(used) > 1:
        paras.append(
            "Designene hviler på forskellige antagelser. Hvis de er enige, er konklusionen "
            "ikke et produkt af én bestemt antagelse; hvis de er uenige, kan deres antagelser "
            "ikke alle holde, og diagnostikken viser, hvilken der er mest tvivlsom."
            if da
            else "The designs rest on different assumptions. If they agree, the conclusion does "
            "not hinge on one particular assumption; if they disagree, their assumptions cannot "
            "all hold, and the diagnostics show which one is most in doubt."
        )
    return "\n\n".join(paras)


def _cooccurring_text(result: StudyResult, share: float, kinds: str, language: str) -> str:
    """The caution paragraph when other interventions often start with the treatment."""
    da = language == "da"
    near = result.co_starts
    n, n_hit = result.n_treated, int(near["area_id"].nunique())
    base = result.study.treatment.base
    parts = []
    for i, (k, c) in enumerate(top_co_kinds(near)[:3]):
        name = term(f"kind_{k}", language, k)
        if k == base:  # a further plan of the base kind, not the one the areas have
            name = (
                "en ny " + name.removeprefix("en ")
                if da
                else "a new " + name.removeprefix("an ").removeprefix("a ")
            )
        where = ("område" if c == 1 else "områder") if da else ("area" if c == 1 else "areas")
        parts.append(f"{name} i {c}" if da else f"{name} in {c}")
        if i == 0:
            parts[0] += f" {where}"
    listed = _join(parts, language)
    w = CO_START_WINDOW
    if da:
        pct = f"{share:.0%}".replace("%", " %")
        return (
            f"Vær varsom: I {n_hit} af de {n} behandlede områder ({pct}) startede en anden "
            f"indsats højst {w} år før eller efter starten af {kinds}, oftest {listed}. "
            "Designene kender kun tidspunktet for indsatsen, så i de områder måler de "
            f"effekten af hele pakken af indsatser og ikke af {kinds} alene. Hvis de andre "
            "indsatser også påvirker udfaldet, rummer estimatet også deres effekt. Områderne "
            "og indsatserne fremgår af resultatets tabel co_starts."
        )
    return (
        f"Caution: in {n_hit} of the {n} treated areas ({share:.0%}) another intervention "
        f"started at most {w} year{'' if w == 1 else 's'} before or after the start of "
        f"{kinds}, most often {listed}. The designs know only the treatment's timing, so in "
        f"those areas they measure the effect of the bundle of efforts, not of {kinds} alone. "
        "If the other efforts also move the outcome, the estimate includes their effect as "
        "well. The areas and efforts concerned are listed in the result's co_starts table."
    )


def _agreement(rows: pd.DataFrame, language: str) -> str:
    da = language == "da"
    with_ci = rows[rows["ci_lower"].notna()]
    if len(rows) < 2:
        return ""
    signs = set(np.sign(rows["estimate"].to_numpy()))
    overlap = len(with_ci) < 2 or float(with_ci["ci_lower"].max()) <= float(
        with_ci["ci_upper"].min()
    )
    zero = bool(((with_ci["ci_lower"] <= 0) & (with_ci["ci_upper"] >= 0)).all())
    if overlap and len(signs) == 1:
        text = (
            "Designene er enige: estimaterne har samme fortegn, og intervallerne overlapper."
            if da
            else "The designs agree: the estimates have the same sign and the intervals overlap."
        )
    elif overlap:
        text = (
            "Estimaterne har forskelligt fortegn, men intervallerne overlapper, så designene "
            "modsiger ikke hinanden."
            if da
            else "The estimates differ in sign, but the intervals overlap, so the designs do "
            "not contradict each other."
        )
    else:
        text = (
            "Designene er uenige: intervallerne overlapper ikke. Det betyder, at mindst én af "
            "antagelserne nedenfor ikke holder, og at resultatet afhænger af, hvilken man tror på."
            if da
            else "The designs disagree: the intervals do not overlap. At least one of the "
            "assumptions below fails, and the answer depends on which one is believed."
        )
    if zero and len(with_ci):
        text += (
            " Ingen af intervallerne udelukker en effekt på nul."
            if da
            else " None of the intervals rules out a zero effect."
        )
    return text


def _diag_text(row: pd.Series, language: str) -> str:
    da = language == "da"
    v = _num(float(row["value"]), language)
    names = {
        "pretrend_p": ("pre-trend test p = {v}", "test for trends før start p = {v}"),
        "honest_breakdown_mbar": (
            "breakdown M̄ = {v} (robust to smaller trend breaks than seen before the start)",
            "nedbrudsværdi M̄ = {v} (tåler kun mindre trendbrud end dem før starten)",
        ),
        "pre_rmspe": (
            "pre-treatment fit RMSPE = {v} exceeds the donors' noise",
            "tilpasning før start (RMSPE = {v}) er dårligere end donorernes støj",
        ),
        "placebo_p": (
            "too few placebo draws for a 5% test (p = {v})",
            "for få placebotrækninger til en test på 5 % (p = {v})",
        ),
        "rhat_max": ("R-hat = {v}", "R-hat = {v}"),
        "ess_min": ("effective sample size {v}", "effektiv stikprøvestørrelse {v}"),
        "divergences": ("{v} divergent transitions", "{v} divergente overgange"),
        "designs_agree": ("the designs disagree", "designene er uenige"),
        "cooccurring_share": (
            "other interventions start with the treatment in a share {v} of the treated areas",
            "andre indsatser starter sammen med indsatsen i en andel {v} af de behandlede områder",
        ),
    }
    en, dk = names.get(str(row["diagnostic"]), ("{v}", "{v}"))
    return (dk if da else en).format(v=v)
