"""True effects of the simulated interventions: the :class:`Effect` specification and defaults."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from effekt.errors import ParameterError, invalid_parameter, show_value

__all__ = ["EFFECT_OUTCOMES", "KERNEDRIFT_KINDS", "KINDS", "Effect", "default_effects"]

#: Kernedrift (municipal core-service) effort kinds the simulator generates
#: (codes of ``data_schemas/interventions.schema.json``).
KERNEDRIFT_KINDS: tuple[str, ...] = (
    "ungdomscafe",
    "lommepengeprojekt",
    "fritidsjob",
    "skolesamarbejde",
    "familieindsats",
    "fremskudt_beskaeftigelse",
)

#: Every intervention kind the simulator generates. ``fysisk_omdannelse`` has no
#: effect on any person; it changes who moves in (see ``denmark(transformation_mix=)``).
KINDS: tuple[str, ...] = ("lbf_helhedsplan", *KERNEDRIFT_KINDS, "fysisk_omdannelse")

#: Outcomes whose true effects can be set, with the unit of ``Effect.size``.
#: ``youth_edu_20_share`` and ``youth_edu_25_share`` are two views of one person-level
#: outcome (completing a youth education by 25); set at most one of them per kind.
EFFECT_OUTCOMES: Mapping[str, str] = MappingProxyType(
    {
        "outside_work_edu_share": "proportion of 18-64-year-olds (e.g. -0.05 = -5 pp)",
        "neet_share": "proportion of 15-24-year-olds",
        "youth_edu_20_share": "proportion of a birth cohort (completion of youth education)",
        "youth_edu_25_share": "proportion of a birth cohort (completion of youth education)",
        "youth_charged_per_1000": "charged persons per 1,000 aged 15-25",
        "convicted_share": "proportion of persons aged 18+",
        "children_placed_per_1000": "placed children per 1,000 aged 0-17",
    }
)

_OWNER = "effekt.simulate.Effect"


@dataclass(frozen=True)
class Effect:
    """True effect of one intervention kind on one outcome.

    The simulator adds the effect to each exposed person's probability of the
    outcome (a linear probability model, so that effects and common shocks are
    additive on the scale of the area shares). For a person exposed for ``x``
    years it is::

        size * area_multiplier * (1 + background * z) * min(x, buildup) / buildup
             * persistence ** (years since the person's last exposed year)

    where ``z`` is +1, 0, -1 for basic, youth, higher parental education. For
    youth education the exposure ``x`` is the number of years before age 18 spent
    in an area where the intervention operated.

    Parameters
    ----------
    size : float
        Effect at full build-up on a person with average heterogeneity, in the
        outcome's units (``EFFECT_OUTCOMES``): proportions for shares (``-0.05`` is
        -5 percentage points), counts per 1,000 for ``*_per_1000`` rates. The
        realised ATT in :attr:`World.truth` differs from ``size`` through partial
        build-up, in-movers with short exposure, heterogeneity and truncation of
        probabilities at 0 and 1; ``truth`` is exact, ``size`` is the knob. Two
        outcomes act through a person-level probability: ``youth_edu_*`` shifts the
        probability of completing a youth education by 25 (for ``youth_edu_20_share``
        scaled so that the share at 20 moves by about ``size``), ``neet_share`` shifts
        the probability that a 15-24-year-old not in education is outside work by
        ``2 * size`` (about half of them are in education).
    buildup : float, default 3.0
        Years of exposure after which the full effect is reached (linear ramp);
        ``1`` means the full effect from the first year.
    persistence : float, default 0.5
        Share of the effect that remains each year after a person's exposure
        stops (the plan ended or the person moved away); ``0`` means none.
    area_sd : float, default 0.25
        Standard deviation of the log of the area multiplier (log-normal with
        mean 1), i.e. how much the effect differs between areas.
    background : float, default 0.3
        Heterogeneity by parental background, in (-1, 1): the effect is
        ``1 + background`` times as large for persons whose parents have basic
        education only and ``1 - background`` times for those with higher
        education. Positive values make an intervention weaken the link between
        parents' and children's outcomes.

    Raises
    ------
    ParameterError
        If a field is not finite or out of range.

    Examples
    --------
    >>> from effekt.simulate import Effect
    >>> Effect(-11.0, buildup=2)
    Effect(size=-11.0, buildup=2, persistence=0.5, area_sd=0.25, background=0.3)
    """

    size: float
    buildup: float = 3.0
    persistence: float = 0.5
    area_sd: float = 0.25
    background: float = 0.3

    def __post_init__(self) -> None:
        for name in ("size", "buildup", "persistence", "area_sd", "background"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise invalid_parameter(name, _OWNER, "a real number", value)
            if not math.isfinite(value):
                raise invalid_parameter(name, _OWNER, "finite", value)
        if self.buildup < 1:
            raise invalid_parameter("buildup", _OWNER, "at least 1 (years)", self.buildup)
        if not 0 <= self.persistence <= 1:
            raise invalid_parameter("persistence", _OWNER, "in [0, 1]", self.persistence)
        if self.area_sd < 0:
            raise invalid_parameter("area_sd", _OWNER, "non-negative", self.area_sd)
        if not -1 < self.background < 1:
            raise invalid_parameter("background", _OWNER, "in (-1, 1)", self.background)


# Defaults, with where their magnitudes come from (rows of datasets/data/published_effects.csv).
_DEFAULTS: dict[tuple[str, str], Effect] = {
    # BL / Vasiljeva (2020), Samfundsøkonomen 2020(3):32-44,
    # doi:10.7146/samfundsokonomen.v0i3.122592 (E09): +5 to +8 pp full-time employment in
    # Fredericia's helhedsplan afdelinger; we take the lower end.
    ("lbf_helhedsplan", "outside_work_edu_share"): Effect(-0.05, buildup=3),
    # CFBU (2015) Helhedsplaner og kriminalitetsforebyggelse (E02): treated ~88 -> 67, control
    # ~60 -> 50 charged youths per 1,000 (2009-2013), a DiD of about -11 per 1,000.
    ("lbf_helhedsplan", "youth_charged_per_1000"): Effect(-11.0, buildup=2),
    # CFBU (2015) På vej frem (E04): 20-year-olds in youth education +10 pp in the areas vs +7 pp
    # nationally (2008-2013), a naive DiD of +3 pp; here the effect of full childhood exposure.
    # background=0.5: twice the effect for children of basic-educated parents as for those of
    # higher-educated ones (illustrative), so that the gradient narrows on both scales.
    ("lbf_helhedsplan", "youth_edu_20_share"): Effect(0.03, buildup=4, background=0.5),
    # CFBU (2013) Beskæftigelse på hjemmebane (E03) evaluated outreach job consultants but the
    # sizes were not retrieved: an illustrative -3 pp.
    ("fremskudt_beskaeftigelse", "outside_work_edu_share"): Effect(-0.03, buildup=2),
    # VIVE (2021) (E06): ~3x the chance of a leisure job among participants; the area-level
    # effects below are illustrative (no area-level estimate was found).
    ("fritidsjob", "neet_share"): Effect(-0.02, buildup=2),
    ("fritidsjob", "youth_charged_per_1000"): Effect(-4.0, buildup=2),
    ("lommepengeprojekt", "youth_charged_per_1000"): Effect(-3.0, buildup=2),
    # No quantitative evaluation of youth cafés was found (domain brief, fact 10): small and
    # illustrative.
    ("ungdomscafe", "youth_charged_per_1000"): Effect(-2.0, buildup=2),
    # Pocket-money jobs and youth cafés as a first step towards work or education (the flagship
    # question of the demo): no published effect on NEET shares; small and illustrative.
    ("lommepengeprojekt", "neet_share"): Effect(-0.01, buildup=2),
    ("ungdomscafe", "neet_share"): Effect(-0.005, buildup=2),
    # School collaboration and holistic family efforts (KORA 2017): no sizes published;
    # illustrative.
    ("skolesamarbejde", "youth_edu_20_share"): Effect(0.02, buildup=4, background=0.5),
    ("familieindsats", "children_placed_per_1000"): Effect(-3.0, buildup=2),
}


def default_effects() -> dict[tuple[str, str], Effect]:
    """The default true effects, keyed by ``(kind, outcome)``.

    Magnitudes follow published Danish evaluations where one exists
    (``datasets/data/published_effects.csv``): LBF helhedsplaner -5 pp outside
    work/education (BL/Vasiljeva 2020, E09), -11 charged youths per 1,000 (CFBU
    2015, E02) and +3 pp youth education (CFBU 2015, E04). Kernedrift effects are
    small and illustrative: no area-level estimates were found for them.

    Returns
    -------
    dict
        A new dict; modify it and pass it as ``denmark(effects=...)``.

    References
    ----------
    Vasiljeva, K. (2020). Medvirker helhedsplaner til at løfte udsatte
    boligområder? Samfundsøkonomen 2020(3), 32-44. doi:10.7146/samfundsokonomen.v0i3.122592

    Examples
    --------
    >>> from effekt.simulate import default_effects
    >>> default_effects()["lbf_helhedsplan", "youth_charged_per_1000"].size
    -11.0
    """
    return dict(_DEFAULTS)


def resolve_effects(effects: Any, owner: str) -> dict[tuple[str, str], Effect]:
    """Check the ``effects`` argument of ``denmark`` and return the effects to plant."""
    if effects is None:
        return default_effects()
    if isinstance(effects, str):
        if effects != "none":
            raise invalid_parameter(
                "effects", owner, "None (defaults), 'none' (no effects) or a mapping", effects
            )
        return {}
    if not isinstance(effects, Mapping):
        raise invalid_parameter(
            "effects",
            owner,
            "None (defaults), 'none' (no effects) or a mapping {(kind, outcome): Effect}",
            type(effects).__name__,
        )
    out: dict[tuple[str, str], Effect] = {}
    for key, value in effects.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise invalid_parameter(
                "effects",
                owner,
                "keyed by (kind, outcome) tuples",
                key,
                "For example {('lbf_helhedsplan', 'youth_charged_per_1000'): Effect(-11.0)}.",
            )
        kind, outcome = key
        if kind == "fysisk_omdannelse":
            raise ParameterError(
                f"The 'effects' parameter of {owner} cannot set an effect of 'fysisk_omdannelse': "
                "a physical transformation affects no person in the simulator, only who moves in. "
                "Use the 'transformation_mix' parameter instead."
            )
        if kind not in KINDS:
            raise invalid_parameter("effects", owner, f"keyed by kinds in {KINDS[:-1]}", kind)
        if outcome not in EFFECT_OUTCOMES:
            raise invalid_parameter(
                "effects",
                owner,
                f"keyed by outcomes in {tuple(EFFECT_OUTCOMES)}",
                outcome,
                "Other indicators (income, education of adults, composition) move only "
                "through these.",
            )
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = Effect(float(value))
        if not isinstance(value, Effect):
            raise invalid_parameter(
                "effects",
                owner,
                "a mapping to Effect objects or numbers (sizes)",
                f"{key}: {show_value(value)}",
            )
        if value.size != 0:
            out[(kind, outcome)] = value
    for kind in KINDS:
        if (kind, "youth_edu_20_share") in out and (kind, "youth_edu_25_share") in out:
            raise ParameterError(
                f"The 'effects' parameter of {owner} sets both 'youth_edu_20_share' and "
                f"'youth_edu_25_share' for {kind!r}; both are views of one outcome (completing a "
                "youth education), so set only one of them."
            )
    return out
