"""Shared plotting helpers: axes creation, labels in Danish or English, house style.

Every public ``plot()`` in effekt draws through these helpers, so labels follow
``effekt.options["language"]`` and figures look alike. No function here calls
``plt.show()``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from effekt.options import options

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes

# key -> (English, Danish)
_LABELS: dict[str, tuple[str, str]] = {
    "period": ("Period", "Periode"),
    "year": ("Year", "År"),
    "units": ("Units", "Enheder"),
    "treated": ("Treated", "Behandlet"),
    "not_treated": ("Not (yet) treated", "Ikke (endnu) behandlet"),
    "treatment_rollout": ("Treatment rollout", "Indfasning af indsatsen"),
    "estimate": ("Estimate", "Estimat"),
    "effect": ("Effect", "Effekt"),
    "event_time": ("Periods since treatment start", "Perioder siden indsatsens start"),
    "ci": ("{level:.0%} confidence interval", "{level:.0%} konfidensinterval"),
    "uniform_band": ("{level:.0%} uniform band", "{level:.0%} simultant bånd"),
    "att": ("Average effect on the treated (ATT)", "Gennemsnitlig effekt for de behandlede (ATT)"),
    "coefficient": ("Coefficient", "Koefficient"),
    "reference_period": ("Reference period", "Referenceperiode"),
    "pre": ("Before", "Før"),
    "post": ("After", "Efter"),
    "outcome": ("Outcome", "Udfaldsmål"),
    "term": ("Term", "Led"),
    "event_study": ("Event study", "Hændelsesstudie"),
    "permutations": ("Permutations", "Permutationer"),
    "randomization_title": (
        "Randomization inference: {outcome}",
        "Randomiseringsinferens: {outcome}",
    ),
    "cohort": ("Cohort", "Kohorte"),
    "att_gt": ("ATT(g,t) by cohort", "ATT(g,t) efter kohorte"),
    "overall": ("Overall", "Samlet"),
}


def label(key: str, **fmt: object) -> str:
    """The label ``key`` in the current language (``effekt.options['language']``)."""
    en, da = _LABELS[key]
    text = da if options["language"] == "da" else en
    return text.format(**fmt) if fmt else text


def new_axes(ax: Axes | None = None, *, figsize: tuple[float, float] = (7.0, 4.0)) -> Axes:
    """Return ``ax``, or the axes of a new figure in the house style."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    ax.spines[["top", "right"]].set_visible(False)
    return ax
