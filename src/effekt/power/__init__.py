"""Power and minimum detectable effects, before a study and beside its estimate.

- :func:`mde`: the minimum detectable effect of a difference-in-differences design
  with a given number of treated units and years, analytically (Burlig, Preonas &
  Woerman 2020, serially correlated errors calibrated on the never-treated units'
  residuals) and by placebo simulation on the analyst's own data;
  :class:`PowerResult` also answers the power against a given effect and the number
  of treated units or years needed (:func:`power` for the power alone).
- :func:`pretrends`: the power of an event study's pre-test (Roth 2022): the linear
  violations of parallel trends it would detect with 50 % or 80 % probability
  (:func:`slope_for_power`), and its power against a hypothesised trend.
"""

from effekt.power.design import PowerResult, mde, power
from effekt.power.pretest import PreTrendsResult, pretrends, slope_for_power

__all__ = [
    "PowerResult",
    "PreTrendsResult",
    "mde",
    "power",
    "pretrends",
    "slope_for_power",
]
