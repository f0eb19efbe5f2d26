"""Yearly management information on a kommune's deprived housing areas.

KL's recommendation "styrk dokumentationen" asks kommuner for yearly management
information on their deprived areas. :func:`kommune_report` gives it in one call (and
``effekt områderapport`` on the command line): each area against the official list
criteria of the regime in force (value, threshold, margin, 5-year trend, the national
conviction share behind the crime threshold), a list outlook (what would take an area
off the list), the areas against the kommune's other areas and against areas of the
same type nationally on Landsbyggefonden's monitoring indicators, and the efforts
running in each area, all after disclosure control, in Danish by default, as HTML or
PDF.

Examples
--------
>>> import effekt as ek
>>> world = ek.simulate.denmark(n_areas=20, seed=1)
>>> rep = ek.indicators.kommune_report(world.area_year, kommune=101)
>>> sorted(rep.criteria["criterion"].unique())[:2]
['crime', 'education']
"""

from effekt.indicators._criteria import criteria_table, list_outlook
from effekt.indicators.report import MONITORING, KommuneReport, kommune_report

__all__ = ["MONITORING", "KommuneReport", "criteria_table", "kommune_report", "list_outlook"]
