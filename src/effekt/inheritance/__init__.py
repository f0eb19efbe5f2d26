"""Designs for negative social inheritance: does an effort narrow the parent-child gradient?

The question CFBU asks of boligsocial efforts: does growing up with an LBF
helhedsplan or a kernedrift effort weaken the link between parents' disadvantage
(basic education, no work) and their children's outcomes? The designs here take the
children table (:func:`effekt.registers.children`, or ``World.children`` in the
simulator) and compare children of disadvantaged and other parents:

- :class:`CohortExposure`: birth cohorts still children when an effort started in
  their area against cohorts who had grown up before, in effort areas against areas
  without it (a triple difference), with an event study by cohort relative to the
  start, a pre-trend test and a dose-response in years of exposure;
- :class:`SiblingExposure`: siblings with different years of exposure, within
  families (family fixed effects).

Examples
--------
>>> import effekt as ek
>>> sorted(ek.inheritance.__all__)
['CohortExposure', 'CohortExposureResult', 'SiblingExposure', 'SiblingExposureResult']
"""

from __future__ import annotations

from effekt.inheritance.cohort import CohortExposure, CohortExposureResult
from effekt.inheritance.sibling import SiblingExposure, SiblingExposureResult

__all__ = ["CohortExposure", "CohortExposureResult", "SiblingExposure", "SiblingExposureResult"]
