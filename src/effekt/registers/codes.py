"""The register codes the indicators rest on: one definition for the pipeline and the simulator.

:mod:`effekt.registers` counts with these codes (in its SQL) and
:mod:`effekt.simulate` emits and counts with the same ones, so the two cannot drift
apart. The definitions follow the register contract (SOCIO13 from AKM/RAS, the
KRSI/KRAF offence categories of the list criteria; Bekendtgørelse om
offentliggørelse af boligområder, the criteria in ``criteria_thresholds.csv``).
"""

from __future__ import annotations

__all__ = [
    "CONVICTING_CATEGORIES",
    "SOCIO13_OUTSIDE",
    "SOCIO13_STUDENT",
    "SOCIO13_WORKING",
]

#: SOCIO13 of the working: 110-139 (self-employed, assisting spouses, employees), inclusive.
SOCIO13_WORKING: tuple[int, int] = (110, 139)
#: SOCIO13 of persons in education.
SOCIO13_STUDENT: int = 310
#: SOCIO13 counted as outside work and education: unemployed (210), cash benefit and
#: similar (330), others outside the labour force (410).
SOCIO13_OUTSIDE: tuple[int, ...] = (210, 330, 410)
#: Offence categories whose convictions count in the crime criterion: the penal code,
#: the weapons act and the euphoriants (drugs) act.
CONVICTING_CATEGORIES: tuple[str, ...] = ("straffelov", "vaabenlov", "euf")
