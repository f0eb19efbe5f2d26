"""Register codes and indicator names: one definition for the pipeline and the simulator.

:mod:`effekt.registers` counts with these codes (in its SQL) and
:mod:`effekt.simulate` emits and counts with the same ones, so the two cannot drift
apart; both produce the ``area_year`` columns named here (in the order of
``data_schemas/area_year.schema.json``, which a test checks). The codes follow the
register contract (SOCIO13 from AKM/RAS, the KRSI/KRAF offence categories of the list
criteria; Bekendtgørelse om offentliggørelse af boligområder, the criteria in
``criteria_thresholds.csv``).
"""

from __future__ import annotations

__all__ = [
    "CONVICTING_CATEGORIES",
    "POPULATION_COUNTS",
    "SHARE_INDICATORS",
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

#: The share indicators of ``area_year`` (shares, a relative income, rates per 1,000).
SHARE_INDICATORS: tuple[str, ...] = (
    "outside_work_edu_share",
    "convicted_share",
    "basic_edu_share",
    "income_rel_region",
    "nonwestern_share",
    "neet_share",
    "youth_edu_20_share",
    "youth_edu_25_share",
    "youth_charged_per_1000",
    "children_placed_per_1000",
)
#: The person counts each share rests on (its denominator), for disclosure control.
POPULATION_COUNTS: tuple[str, ...] = (
    "pop_18_64",
    "pop_18plus",
    "pop_30_59",
    "pop_15_64",
    "pop_15_24",
    "pop_age20",
    "pop_age25",
    "pop_15_25",
    "pop_0_17",
)
