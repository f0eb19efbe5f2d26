"""Difference-in-differences for staggered adoption.

- :class:`TwoWayFE`: two-way fixed-effects regression, static or event study,
  with one- or two-way cluster-robust standard errors (linearmodels' PanelOLS)
  and, for few clusters, a wild cluster bootstrap (:class:`WildClusterBootstrap`).
- :class:`SunAbraham`: interaction-weighted event study (Sun & Abraham 2021).
- :class:`Imputation`: the imputation estimator (Borusyak, Jaravel & Spiess 2024).
- :func:`bacon_decomposition`: the Goodman-Bacon (2021) decomposition of TWFE.
- :func:`honest_did`: Rambachan & Roth (2023) sensitivity of event-study effects.
- :class:`CallawaySantAnna`: group-time ATTs and aggregations (Callaway & Sant'Anna 2021).
- :func:`randomization_test`: permutation inference for the TWFE coefficient.
- :class:`ChaisemartinDHaultfoeuille`: event-study DiD for treatments that switch
  on and off or change level (de Chaisemartin & D'Haultfoeuille 2024).
- :class:`ContinuousDiD`: dose-response curves ATT(d), ACRT(d) for a continuous
  treatment (Callaway, Goodman-Bacon & Sant'Anna 2024).

TWFE is biased under staggered adoption with dynamic or heterogeneous effects;
the heterogeneity-robust estimators fix that.
"""

from effekt.did._bootstrap import MultiplierBootstrap
from effekt.did.bacon import BaconDecomposition, bacon_decomposition
from effekt.did.callaway import (
    CallawaySantAnna,
    CallawaySantAnnaAggregate,
    CallawaySantAnnaResult,
)
from effekt.did.chaisemartin import (
    ChaisemartinDHaultfoeuille,
    ChaisemartinDHaultfoeuilleResult,
)
from effekt.did.continuous import ContinuousDiD, ContinuousDiDResult
from effekt.did.honest import HonestDiDResult, honest_did
from effekt.did.imputation import Imputation, ImputationResult
from effekt.did.randomization import RandomizationResult, randomization_test
from effekt.did.sunab import SunAbraham, SunAbrahamResult
from effekt.did.twfe import TwoWayFE, TwoWayFEResult
from effekt.did.wild import WildClusterBootstrap, WildTest

__all__ = [
    "BaconDecomposition",
    "CallawaySantAnna",
    "CallawaySantAnnaAggregate",
    "CallawaySantAnnaResult",
    "ChaisemartinDHaultfoeuille",
    "ChaisemartinDHaultfoeuilleResult",
    "ContinuousDiD",
    "ContinuousDiDResult",
    "HonestDiDResult",
    "Imputation",
    "ImputationResult",
    "MultiplierBootstrap",
    "RandomizationResult",
    "SunAbraham",
    "SunAbrahamResult",
    "TwoWayFE",
    "TwoWayFEResult",
    "WildClusterBootstrap",
    "WildTest",
    "bacon_decomposition",
    "honest_did",
    "randomization_test",
]
