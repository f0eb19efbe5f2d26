"""Synthetic control for one or a few treated areas.

When a single housing area or kommune gets an intervention (a physical
transformation, a joint helhedsplan), there are too few treated units for
difference-in-differences; synthetic control builds the area's counterfactual
from a weighted combination of untreated donor areas.

- :class:`SyntheticControl`: Abadie, Diamond & Hainmueller's method with
  predictors and nested V/W optimisation (exact W, multi-start V), placebo
  studies in space and time, leave-one-out donors and conformal intervals;
  several treated units are fitted separately and pooled by event time.
- :class:`AugmentedSynth`: ridge-augmented synthetic control (Ben-Michael,
  Feller & Rothstein 2021).
- :class:`SyntheticDiD`: synthetic difference-in-differences (Arkhangelsky et
  al. 2021) with placebo, bootstrap and jackknife standard errors, also for
  staggered adoption (per-cohort estimates, aggregated).
- :mod:`effekt.synth.donors`: donor-pool helpers (same kommune or region, most
  similar areas on pre-period indicators).
"""

from effekt.synth.augmented import AugmentedSynth, AugmentedSynthResult
from effekt.synth.donors import donors_in_group, similar_donors
from effekt.synth.inference import (
    ConformalResult,
    LeaveOneOutResult,
    PooledPlaceboResult,
    SynthPlaceboResult,
)
from effekt.synth.results import SyntheticControlResult
from effekt.synth.scm import SyntheticControl
from effekt.synth.sdid import SyntheticDiD, SyntheticDiDResult

__all__ = [
    "AugmentedSynth",
    "AugmentedSynthResult",
    "ConformalResult",
    "LeaveOneOutResult",
    "PooledPlaceboResult",
    "SynthPlaceboResult",
    "SyntheticControl",
    "SyntheticControlResult",
    "SyntheticDiD",
    "SyntheticDiDResult",
    "donors_in_group",
    "similar_donors",
]
