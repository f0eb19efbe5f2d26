"""The leaf of the study's text: notes, terms and number formatting in English and Danish.

It imports nothing else from ``effekt.study``, so every other module of the study can
use it; the narrative built from a whole result is in ``_narrative``.
"""

from __future__ import annotations

from effekt._plotting import _LABELS

DESIGN_NAMES = {
    "en": {
        "did": "difference-in-differences (Callaway & Sant'Anna)",
        "synth": "synthetic difference-in-differences",
        "bayes": "the Bayesian multilevel model",
    },
    "da": {
        "did": "forskel-i-forskelle (Callaway & Sant'Anna)",
        "synth": "syntetisk forskel-i-forskelle",
        "bayes": "den bayesianske flerniveaumodel",
    },
}

ASSUMPTIONS = {
    "en": {
        "did": (
            "DiD assumes that, without the treatment, the treated areas' outcome would have "
            "moved in parallel with the comparison areas' (parallel trends) and that areas did "
            "not react before the start (no anticipation)."
        ),
        "synth": (
            "Synthetic DiD assumes that a weighted combination of never-treated areas, chosen "
            "to track the treated areas before the start (up to a constant level difference), "
            "would have kept tracking them afterwards."
        ),
        "bayes": (
            "The Bayesian model rests on the same parallel-trends assumption as DiD, within a "
            "multilevel model of areas in kommuner; its priors and partial pooling matter most "
            "where there are few treated areas."
        ),
    },
    "da": {
        "did": (
            "DiD forudsætter, at udfaldet i de behandlede områder uden indsatsen ville have "
            "udviklet sig parallelt med udfaldet i sammenligningsområderne (parallelle trends), "
            "og at områderne ikke reagerede, før indsatsen startede (ingen foregribelse)."
        ),
        "synth": (
            "Syntetisk DiD forudsætter, at en vægtet kombination af aldrig behandlede områder, "
            "valgt så den følger de behandlede områder før starten (bortset fra en konstant "
            "niveauforskel), også ville have fulgt dem bagefter."
        ),
        "bayes": (
            "Den bayesianske model hviler på den samme antagelse om parallelle trends som DiD, "
            "i en flerniveaumodel af områder i kommuner; dens priorfordelinger og delvise "
            "pooling betyder mest, når der er få behandlede områder."
        ),
    },
}


class Note(str):
    """A note in English (the string itself) that carries its Danish text too (``da``).

    Notes stay plain strings for the caller (``StudyResult.notes``); the Danish
    reports show ``da``. Notes without a Danish text (an estimator's warning) are
    shown in English in both.
    """

    da: str

    def __new__(cls, en: str, da: str) -> Note:
        note = super().__new__(cls, en)
        note.da = da
        return note

    def prefixed(self, prefix: str) -> Note:
        return Note(prefix + str(self), prefix + self.da)


def in_language(note: str, language: str) -> str:
    """A note's text in ``language`` (English when it has no Danish text)."""
    return note.da if language == "da" and isinstance(note, Note) else str(note)


def few_clusters_note(n_kommuner: int, minimum: int) -> Note:
    return Note(
        f"Standard errors are clustered by area: the sample has only {n_kommuner} kommuner, "
        f"too few (< {minimum}) for kommune-clustered inference.",
        f"Standardfejlene er klyngerobuste på områdeniveau: stikprøven har kun {n_kommuner} "
        f"kommuner, for få (< {minimum}) til klynger på kommuneniveau.",
    )


def synth_never_treated_note() -> Note:
    return Note(
        "Synthetic DiD compares each start-year cohort with never-treated donors only "
        "(comparison.group = 'not_yet_treated' applies to the DiD design).",
        "Syntetisk DiD sammenligner hver startårgang med aldrig behandlede donorområder alene "
        "(comparison.group = 'not_yet_treated' gælder DiD-designet).",
    )


def no_placebo_note(n_donors: int, n_treated: int) -> Note:
    return Note(
        f"No placebo inference: it needs more never-treated donors ({n_donors}) than "
        f"treated areas ({n_treated}); widen the donor rule.",
        f"Ingen placeboinferens: den kræver flere aldrig behandlede donorområder ({n_donors}) "
        f"end behandlede områder ({n_treated}); udvid donorreglen.",
    )


def incomplete_note(areas: list[str], outcome: str, stayers: bool) -> Note:
    shown = ", ".join(areas[:5]) + (" ..." if len(areas) > 5 else "")
    return Note(
        f"{len(areas)} area(s) without {outcome}{' over the stayers' if stayers else ''} in "
        f"some year left out (synthetic DiD needs complete series): {shown}",
        f"{len(areas)} område(r) uden {outcome}{' blandt bliverne' if stayers else ''} i "
        f"nogle år udeladt (syntetisk DiD kræver komplette serier): {shown}",
    )


def term(key: str, language: str, default: str) -> str:
    """A label in ``language`` from effekt._plotting, or ``default`` if there is none."""
    pair = _LABELS.get(key)
    if pair is None:
        return default
    return pair[1] if language == "da" else pair[0]


def dk_number(x: float, fmt: str) -> str:
    """``format(x, fmt)`` in Danish notation (decimal comma, thousands point)."""
    return format(x, fmt).replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def _num(x: float, language: str) -> str:
    fmt = ".3g" if abs(x) >= 1e-3 or x == 0 else ".2e"
    return dk_number(x, fmt).replace("-", "−") if language == "da" else format(x, fmt)


def _join(items: list[str], language: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    word = " og " if language == "da" else " and "
    return ", ".join(items[:-1]) + word + items[-1]


def _alternatives(items: list[str], language: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    word = " eller " if language == "da" else " or "
    return ", ".join(items[:-1]) + word + items[-1]
