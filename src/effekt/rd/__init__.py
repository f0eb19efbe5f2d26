"""Regression discontinuity designs, above all at the Danish list thresholds (extra ``effekt[rd]``).

Being put on the ghetto / parallelsamfund list is the most consequential
treatment of a Danish housing area (sanctions, allocation rules, demolition
plans), and the lists are drawn by sharp thresholds on register statistics.

- :class:`ListThreshold`: the effect of being listed (or of meeting one
  criterion) on an area's outcome ``horizon`` years later, with the running
  variable built from :mod:`effekt.lists` (:func:`list_running_variable`: the
  distance to the binding threshold; for the "2 of 4 criteria plus the
  non-Western share" rule, the binding score).
- :class:`SharpRD`: the same estimator on any frame with a running variable.
- Diagnostics on every result: :meth:`RDResult.density_test` (Cattaneo, Jansson
  & Ma, via rddensity), :meth:`RDResult.balance` (pre-determined covariates),
  :meth:`RDResult.placebo_cutoffs`, and the RD plot (``result.plot()``).

Estimation, bandwidth selection and robust bias-corrected inference are
rdrobust's (Calonico, Cattaneo, Farrell & Titiunik), called, not re-implemented.
rdrobust and rddensity come with the extra: ``pip install 'effekt[rd]'``; this
module imports without them and raises :class:`~effekt.OptionalDependencyError`
on first use.
"""

from effekt.rd.diagnostics import BalanceResult, DensityTestResult, PlaceboResult, density_test
from effekt.rd.results import RDResult
from effekt.rd.running import list_running_variable, rd_targets
from effekt.rd.sharp import SharpRD
from effekt.rd.threshold import ListThreshold, ListThresholdResult

__all__ = [
    "BalanceResult",
    "DensityTestResult",
    "ListThreshold",
    "ListThresholdResult",
    "PlaceboResult",
    "RDResult",
    "SharpRD",
    "density_test",
    "list_running_variable",
    "rd_targets",
]
