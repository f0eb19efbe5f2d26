"""Participants of an effort followed against matched non-participants from the registers.

VIVE's evaluations of kernedrift efforts (pocket-money jobs for youths, family
efforts) follow the persons who took part and compare them with non-participants
who resembled them before the start:

- :class:`MatchedFollowUp`: propensity-score or Mahalanobis nearest-neighbour
  matching (with or without replacement, caliper, regression bias adjustment),
  coarsened exact matching or entropy balancing within start cohorts, then the
  difference in differences on the matched sample by follow-up year and pooled,
  with Abadie-Imbens or weighted bootstrap standard errors;
  :class:`MatchedFollowUpResult` with the balance table and love plot.
- :mod:`effekt.participants._balance`: the matching, weighting and balance
  functions themselves (:func:`entropy_balance`, :func:`nearest_neighbour`, ...).

``effekt.simulate.participants`` simulates participants with selection on
observables and a known effect.
"""

from effekt.participants._balance import (
    balance_table,
    bias_adjustment,
    coarsened_exact,
    entropy_balance,
    nearest_neighbour,
)
from effekt.participants._result import MatchedFollowUpResult
from effekt.participants.followup import MatchedFollowUp

__all__ = [
    "MatchedFollowUp",
    "MatchedFollowUpResult",
    "balance_table",
    "bias_adjustment",
    "coarsened_exact",
    "entropy_balance",
    "nearest_neighbour",
]
