"""Difference-in-differences for staggered adoption.

- :class:`TwoWayFE`: two-way fixed-effects regression, static or event study,
  with one- or two-way cluster-robust standard errors (linearmodels' PanelOLS)
  and, for few clusters, a wild cluster bootstrap (:class:`WildClusterBootstrap`).

Heterogeneity-robust staggered estimators (Callaway-Sant'Anna, Sun-Abraham,
imputation), the Bacon decomposition and HonestDiD sensitivity are being added
under issue 4; TWFE is biased under staggered adoption with dynamic or
heterogeneous effects, which those estimators fix.
"""

from effekt.did.randomization import RandomizationResult, randomization_test
from effekt.did.twfe import TwoWayFE, TwoWayFEResult
from effekt.did.wild import WildClusterBootstrap, WildTest

__all__ = [
    "RandomizationResult",
    "randomization_test",
    "TwoWayFE",
    "TwoWayFEResult",
    "WildClusterBootstrap",
    "WildTest",
]
