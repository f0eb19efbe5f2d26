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
    "CHILD_OUTCOMES",
    "CONVICTING_CATEGORIES",
    "HIGHER_EDU_LEVEL",
    "PARENT_EDUCATION",
    "POPULATION_COUNTS",
    "SHARE_INDICATORS",
    "SOCIO13_OUTSIDE",
    "SOCIO13_STUDENT",
    "SOCIO13_WORKING",
    "TRAFFIC_CATEGORY",
    "YOUTH_EDU_LEVEL",
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

#: HFAUDD_NIVEAU from which a youth education (upper secondary: gymnasial 20, vocational 30)
#: or more is completed; 10 is basic schooling (or unknown).
YOUTH_EDU_LEVEL: int = 20
#: HFAUDD_NIVEAU from which an education is a higher education (short, medium, long cycle).
HIGHER_EDU_LEVEL: int = 40
#: The KRSI/KRAF category of traffic offences, which no crime outcome counts.
TRAFFIC_CATEGORY: str = "faerdsel"
#: Parents' highest education (the higher of the two parents' HFAUDD_NIVEAU), in classes.
PARENT_EDUCATION: tuple[str, ...] = ("basic", "youth", "higher")

#: Child outcomes at fixed ages, as ``name: (rule, first age, last age)``; age is
#: AAR - FOED_AAR. A child's outcome is observed only when the child is in ``bef`` (and
#: in the register the rule reads) at every age from the first to the last:
#:
#: - ``youth_edu``: HFAUDD_NIVEAU >= YOUTH_EDU_LEVEL at the last age (completed by then);
#: - ``neet``: the share of the ages in which the child is not working (SOCIO13 outside
#:   SOCIO13_WORKING), not a student (SOCIO13 != SOCIO13_STUDENT) and not enrolled
#:   (UDD_IGANG == 0), the ``neet_share`` definition;
#: - ``charged``: at least one charge (a ``krsi`` row not in TRAFFIC_CATEGORY) or a
#:   conviction (a ``kraf`` 'dom' in CONVICTING_CATEGORIES) in one of the ages (the age of
#:   criminal responsibility is 15);
#: - ``employed``: SOCIO13 in SOCIO13_WORKING at the last age.
CHILD_OUTCOMES: dict[str, tuple[str, int, int]] = {
    "youth_edu_21": ("youth_edu", 21, 21),
    "youth_edu_25": ("youth_edu", 25, 25),
    "neet_18_24": ("neet", 18, 24),
    "charged_by_18": ("charged", 15, 17),
    "charged_by_21": ("charged", 15, 20),
    "employed_30": ("employed", 30, 30),
}
