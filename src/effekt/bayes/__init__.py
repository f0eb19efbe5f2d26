"""Bayesian multilevel models for comparing kinds of intervention (extra ``effekt[bayes]``).

- :class:`HierarchicalDiD`: area-year outcomes, several intervention kinds with
  staggered adoption, effects by kind and event time partially pooled across kinds
  and areas; P(kind A beats kind B), P(effect beyond a threshold).
- :class:`SocialInheritance`: does exposure to an intervention weaken the link
  between parents' and children's education? A multilevel logistic model of
  persons in areas in kommuner, fitted on binomial cells so it scales to registers.

Both sample with nutpie when it is installed (PyMC's NUTS otherwise), check R-hat,
ESS and divergences after every fit (:class:`~effekt.SamplingWarning`), and return
results with the same tidy table as every other effekt design (posterior mean,
posterior SD, equal-tailed credible interval, empty p-value, ``prob_positive``).
Priors are overridable by name (``priors={"sigma_kind": 0.5}``); ``prior_predictive()``
and ``result.posterior_predictive()`` check them against the data, and
``result.prior_sensitivity(scales=(0.5, 1, 2))`` refits with every prior scale halved and
doubled (:class:`PriorSensitivity`: a tidy table and a plot).

Importing this module without PyMC raises :class:`~effekt.OptionalDependencyError`;
install the extra with ``pip install 'effekt[bayes]'``.
"""

from __future__ import annotations

from effekt.bayes._common import Diagnostics, PredictiveCheck, PriorSensitivity
from effekt.bayes._deps import pm as _pm  # noqa: F401  (raises OptionalDependencyError)
from effekt.bayes._prep import treatment_cohorts
from effekt.bayes.did import HierarchicalDiD, HierarchicalDiDResult
from effekt.bayes.inheritance import SocialInheritance, SocialInheritanceResult

__all__ = [
    "Diagnostics",
    "HierarchicalDiD",
    "HierarchicalDiDResult",
    "PredictiveCheck",
    "PriorSensitivity",
    "SocialInheritance",
    "SocialInheritanceResult",
    "treatment_cohorts",
]
