"""A simulated Denmark with known truth, for testing estimators and for tutorials.

Register microdata cannot leave Statistics Denmark, so effekt ships a stand-in:
:func:`denmark` simulates households and persons in housing areas nested in the
98 kommuner, LBF helhedsplaner in the real funding rounds, kernedrift efforts,
the official lists and physical transformations, and keeps the exact truth of
every intervention's effect (:class:`Truth`), for the area population and for
baseline stayers.

Examples
--------
>>> from effekt import simulate
>>> world = simulate.denmark(n_areas=10, years=(2005, 2014), seed=1)
>>> df = world.area_panel("lbf_helhedsplan", outcomes=["youth_charged_per_1000"])
>>> truth = world.truth.att(kind="lbf_helhedsplan", outcome="youth_charged_per_1000")
>>> int(truth["event_time"].min()) < 0
True
"""

from __future__ import annotations

from effekt.simulate._effects import (
    EFFECT_OUTCOMES,
    KERNEDRIFT_KINDS,
    KINDS,
    Effect,
    default_effects,
)
from effekt.simulate.monte_carlo import MonteCarloResult, monte_carlo
from effekt.simulate.participants import ParticipantSimulation, participants
from effekt.simulate.truth import Truth
from effekt.simulate.world import World, denmark

__all__ = [
    "EFFECT_OUTCOMES",
    "KERNEDRIFT_KINDS",
    "KINDS",
    "Effect",
    "MonteCarloResult",
    "ParticipantSimulation",
    "Truth",
    "World",
    "default_effects",
    "denmark",
    "monte_carlo",
    "participants",
]
