import nbformat as nbf

nb = nbf.v4.new_notebook()
md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell
nb.cells = [
md("""# 01 · A simulated Denmark with known truth

Register data on Statistics Denmark's research servers cannot be shared, so `effekt` ships a
stand-in: `effekt.simulate.denmark()` simulates persons and households in housing areas nested in
the 98 real kommuner, LBF helhedsplaner granted in the real funding rounds, municipal kernedrift
efforts, the official lists, physical transformations after listing, and resident turnover. Because
it is simulated, the **true effect of every intervention is known**, for the area population and
for the residents who stayed.

This notebook shows the world: who is listed and how listed areas differ, how the interventions
roll out, how turnover changes areas without changing anyone, and that the register pipeline used
on the research servers reproduces the world's area indicators exactly."""),
code("""import matplotlib.pyplot as plt
import pandas as pd

import effekt as ek

ek.set_options(progress=False)
world = ek.simulate.denmark(n_areas=60, seed=2026)
world"""),
md("""## The tables

Every table follows one of effekt's schemas (`data_schemas/`): `areas`, `area_year`,
`interventions` and `persons`. Shares are proportions, and every share comes with the person
count it rests on (`pop_*` columns), which disclosure control needs."""),
code("""for name in ("areas", "area_year", "interventions", "persons"):
    ek.validate(getattr(world, name), name)
world.area_year.head()"""),
md("""## Official lists

The lists are computed from the indicators with the official rules (`effekt.lists`), regime by
regime: 2010 (2 of 3 criteria), 2014 (3 of 5), the 2018 law (udsat / ghetto / hard ghetto) and
the 2021 law (parallelsamfund / omdannelsesområde / forebyggelsesområde)."""),
code("""lists = world.lists
status_by_year = lists.groupby(["year", "status"]).size().unstack(fill_value=0)
status_by_year"""),
md("""## Listed and unlisted areas

Areas ever on a ghetto/parallelsamfund list have far more residents outside work and education
and far fewer 20-year-olds in youth education, as in the published figures (about 40–60 % against
about 20 %; about 56–66 % against 74–81 %)."""),
code("""ever_listed = set(lists.loc[lists["status"].notna(), "area_id"])
ay = world.area_year.assign(listed=lambda d: d["area_id"].isin(ever_listed).map(
    {True: "ever listed", False: "never listed"}))
fig, axes = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
for ax, column in zip(axes, ["outside_work_edu_share", "youth_edu_20_share"]):
    ay.groupby(["year", "listed"])[column].mean().unstack().plot(ax=ax)
    ax.set_title(column)
    ax.set_xlabel("year")
axes[0].legend(frameon=False)
axes[1].get_legend().remove()"""),
md("""## Rollout of the interventions

LBF helhedsplaner are granted in the real rounds (2006-10, 2011-14, 2015-18, 2019-22, 2023-26) and
select on poor indicators, so a naive comparison of treated and untreated areas is biased.
Kernedrift efforts start in staggered years, some for a whole kommune."""),
code("""interventions = world.interventions
interventions.pivot_table(index="kind", columns="scope", values="intervention_id",
                          aggfunc="count", fill_value=0)"""),
code("""frame = world.area_panel("lbf_helhedsplan", outcomes=["neet_share"])
panel = ek.Panel.from_frame(frame, unit="area_id", time="year", outcome="neet_share",
                            cohort="first_treated", never_treated=0, cluster="kommune_code")
panel.plot_rollout();"""),
md("""## Turnover: areas change, people need not

Residents move in and out every year. After a physical transformation, better-off households move
in: the area's averages improve although nobody's situation changed. The truth therefore has two
estimands: the effect on the **area population** and the effect on **baseline stayers**. For
transformations the stayer effect is zero by construction while the area effect is not."""),
code("""ay = world.area_year
turnover = (ay.groupby("year")[["moves_in", "moves_out"]].sum()
            .div(ay.groupby("year")["residents"].sum(), axis=0))
turnover.plot(title="Moves in and out, share of residents", figsize=(6, 3));"""),
code("""kind = "fysisk_omdannelse" if (interventions["kind"] == "fysisk_omdannelse").any() \\
    else "lbf_helhedsplan"
truth = pd.concat([world.truth.att(kind=kind, outcome="outside_work_edu_share", by="overall",
                                   population=p) for p in ("area", "stayers")])
truth[["kind", "population", "estimate", "n_units"]]"""),
md("""## The effects the estimators must recover

`world.truth.att(...)` gives the true ATT by event time, cohort, calendar year or overall. Effects
build up over the years after a plan starts."""),
code("""truth = world.truth.att(kind="lbf_helhedsplan", outcome="youth_charged_per_1000",
                        by="event_time")
ax = truth.plot(x="event_time", y="estimate", legend=False, marker="o", figsize=(6, 3))
ax.axhline(0, color="0.6", lw=0.8)
ax.set_ylabel("true effect, charged youths per 1,000");"""),
md("""## From registers to area indicators

On the research server an analyst has person-level registers (BEF, UDDA, RAS, IND, KRSI, KRAF,
placements). `effekt.registers.area_indicators` turns them into the `area_year` table with DuckDB.
The simulator emits its persons in that shape, so the pipeline can be checked end to end: it
reproduces the world's own indicators exactly."""),
code("""registers = world.registers()
{name: len(frame) for name, frame in registers.items()}"""),
code("""rebuilt = ek.registers.area_indicators(registers)
key = ["area_id", "year"]
pd.testing.assert_frame_equal(
    rebuilt.sort_values(key).reset_index(drop=True)[world.area_year.columns],
    world.area_year.sort_values(key).reset_index(drop=True),
    check_dtype=False,
)
"identical\""""),
md("""## Before anything leaves the server: disclosure control

No cell may rest on fewer than 5 persons (`ek.options["min_cell_count"]`)."""),
code("""check = ek.disclosure.check(world.area_year)
check"""),
md("""`suppress` masks those cells, and any cell a published total would reveal, and records why in
`<column>_suppressed` flags; the masked table passes the check."""),
code("""safe = ek.disclosure.suppress(world.area_year)
assert ek.disclosure.check(safe).ok
safe.filter(like="youth_edu_20").head()"""),
]
nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
nbf.write(nb, "notebooks/01_simulated_denmark.ipynb")
