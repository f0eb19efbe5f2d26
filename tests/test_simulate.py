"""Tests of effekt.simulate: the simulated Denmark with known truth."""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt import simulate
from effekt.simulate import Effect

# Ranges from the domain brief (shared/domain/BRIEF.md, published_effects.csv):
# listed areas 40-60 % of 18-64 outside work/education vs about 20 % nationally (section 0.6,
# criteria); 20-year-olds in youth education 56-66 % in the areas vs 74-81 % nationally (E04).
LISTED_OUTSIDE = (0.40, 0.62)
NATIONAL_OUTSIDE = (0.15, 0.25)
LISTED_EDU20 = (0.50, 0.75)
NATIONAL_EDU20 = (0.72, 0.90)


@pytest.fixture(scope="module")
def world() -> simulate.World:
    # seed 2 gives listed areas and at least one physical transformation with 25 areas
    return simulate.denmark(n_areas=25, seed=2)


@pytest.fixture(scope="module")
def tiny() -> simulate.World:
    return simulate.denmark(n_areas=10, years=(2008, 2016), seed=5)


@pytest.fixture(scope="module")
def tiny_registers(tiny: simulate.World) -> dict[str, pd.DataFrame]:
    return tiny.registers()


# --------------------------------------------------------------------------- tables


def test_tables_pass_their_schemas(world):
    for name in ("areas", "area_year", "interventions", "persons"):
        ek.validate(getattr(world, name), name)


def test_registers_pass_their_schemas(tiny_registers):
    assert sorted(tiny_registers) == ["anbringelser", "bef", "ind", "kraf", "krsi", "ras", "udda"]
    for name, frame in tiny_registers.items():
        ek.validate(frame, f"register_{name}")
    # persons outside the study areas are in bef (for the regional income means)
    assert tiny_registers["bef"]["OMRAADE"].isna().any()


def test_areas_nest_in_real_kommuner_and_have_realistic_sizes(world):
    kommuner = pd.read_csv(
        ek.datasets.__path__[0] + "/data/dk_kommuner.csv", usecols=["kommune_code", "region_code"]
    )
    areas = world.areas.merge(kommuner, on="kommune_code", suffixes=("", "_real"))
    assert len(areas) == 25
    assert (areas["region_code"] == areas["region_code_real"]).all()
    first = world.area_year.query("year == 2005")["residents"]
    # brief section 5.7: typical area 1,000-4,000 residents, few above 4,000
    assert first.between(700, 10_000).all()
    assert first.median() > 1000
    assert (first > 4000).mean() < 0.2


def test_world_returns_copies(world):
    ay = world.area_year
    ay["residents"] = -1
    assert (world.area_year["residents"] >= 0).all()


def test_repr_shows_counts(world):
    text = repr(world)
    assert "areas: 25 in" in text
    assert "lbf_helhedsplan" in text
    assert "<table>" in world._repr_html_()


# --------------------------------------------------------------------------- registers


def _pandas_indicators(regs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """A few area_year indicators computed independently, in pandas, from the registers,
    with the register contract's definitions (helper_notes/REGISTER_CONTRACT.md)."""
    bef = regs["bef"].assign(age=lambda d: d["AAR"] - d["FOED_AAR"])
    bef = bef.merge(regs["ras"], on=["PNR", "AAR"], how="left")
    bef = bef.merge(regs["ind"], on=["PNR", "AAR"], how="left")
    krsi = regs["krsi"].query("KATEGORI != 'faerdsel'")[["PNR", "AAR"]].drop_duplicates()
    bef = bef.merge(krsi.assign(charged=True), on=["PNR", "AAR"], how="left")
    kraf = (
        regs["kraf"]
        .query("AFGOERELSE == 'dom' and KATEGORI in ['straffelov', 'vaabenlov', 'euf']")[
            ["PNR", "AAR"]
        ]
        .drop_duplicates()
    )
    bef = bef.merge(kraf.assign(convicted=True), on=["PNR", "AAR"], how="left")
    bef[["charged", "convicted"]] = bef[["charged", "convicted"]].fillna(False).astype(bool)
    regions = pd.read_csv(ek.datasets.__path__[0] + "/data/dk_kommuner.csv")
    bef["region"] = bef["KOM"].map(regions.set_index("kommune_code")["region_code"])
    earner = bef["age"].between(15, 64) & (bef["SOCIO13"] != 310)
    reg_mean = bef[earner].groupby(["region", "AAR"])["PERINDKIALT"].mean().rename("reg")
    area = bef[bef["OMRAADE"].notna()]
    key = ["OMRAADE", "AAR"]
    out = area.groupby(key).size().rename("residents").to_frame()
    adults = area[area["age"].between(18, 64)]
    out["outside_work_edu_share"] = (
        adults["SOCIO13"].isin([210, 330, 410]).groupby([adults["OMRAADE"], adults["AAR"]]).mean()
    )
    youth = area[area["age"].between(15, 25)]
    out["youth_charged_per_1000"] = 1000 * youth.groupby(key)["charged"].mean()
    grown = area[area["age"] >= 18]
    out["convicted_share"] = grown.groupby(key)["convicted"].mean()
    own = area[earner.loc[area.index]].groupby(["OMRAADE", "AAR", "region"])["PERINDKIALT"].mean()
    own = own.reset_index().merge(
        reg_mean.reset_index(), left_on=["region", "AAR"], right_on=["region", "AAR"]
    )
    out["income_rel_region"] = (own["PERINDKIALT"] / own["reg"]).to_numpy()[
        pd.MultiIndex.from_frame(own[key]).get_indexer(out.index)
    ]
    # moves in: in the area in t and not in it in t-1 (absent counts), newborns excluded:
    # BEF counts the population on 1 January, so a child born in t-1 first appears in t
    # (FOED_AAR >= AAR - 1, absent from bef in t-1)
    prev = bef[["PNR", "AAR", "OMRAADE"]].assign(AAR=lambda d: d["AAR"] + 1, present=True)
    cur = area[["PNR", "AAR", "OMRAADE", "FOED_AAR"]].merge(
        prev, on=["PNR", "AAR"], how="left", suffixes=("", "_prev")
    )
    present = cur["present"].fillna(False).astype(bool)
    newborn = ~present & (cur["FOED_AAR"] >= cur["AAR"] - 1)
    moved = ((cur["OMRAADE_prev"] != cur["OMRAADE"]).fillna(True) | ~present) & ~newborn
    out["moves_in"] = moved.groupby([cur["OMRAADE"], cur["AAR"]]).sum()
    first_year = bef["AAR"].min()
    out.loc[out.index.get_level_values("AAR") == first_year, "moves_in"] = np.nan
    return out.reset_index().rename(columns={"OMRAADE": "area_id", "AAR": "year"})


def test_register_tables_share_no_data(tiny):
    # the tables are built without copying their columns: writing to one must not show in
    # another (or in the next call)
    regs = tiny.registers()
    first_udda = regs["udda"].iloc[0].copy()
    first_ind = regs["ind"].iloc[0].copy()
    regs["bef"].loc[0, ["PNR", "AAR"]] = ["changed", 1900]
    regs["ras"].loc[0, ["PNR", "AAR"]] = ["changed", 1900]
    pd.testing.assert_series_equal(regs["udda"].iloc[0], first_udda)
    pd.testing.assert_series_equal(regs["ind"].iloc[0], first_ind)
    again = tiny.registers()
    assert again["bef"].loc[0, "PNR"] != "changed"
    assert again["ras"].loc[0, "AAR"] != 1900


def test_registers_reproduce_area_year(tiny, tiny_registers):
    ours = _pandas_indicators(tiny_registers)
    ay = tiny.area_year.merge(ours, on=["area_id", "year"], suffixes=("", "_pd"))
    assert len(ay) == len(tiny.area_year)
    for col in (
        "residents",
        "outside_work_edu_share",
        "youth_charged_per_1000",
        "convicted_share",
        "income_rel_region",
        "moves_in",
    ):
        np.testing.assert_allclose(
            ay[col].astype(float),
            ay[f"{col}_pd"].astype(float),
            rtol=1e-9,
            atol=1e-12,
            err_msg=col,
        )


def test_stayer_truth_rests_on_the_registers_stayers(tiny, tiny_registers):
    # stayers of an area treated from g: persons in the area in g - 1 and again in t >= g
    units = tiny.truth.att(
        kind="lbf_helhedsplan",
        outcome="outside_work_edu_share",
        by="unit_time",
        population="stayers",
    )
    assert len(units)
    row = units.iloc[0]
    bef = tiny_registers["bef"].merge(tiny_registers["ras"], on=["PNR", "AAR"], how="left")
    base = set(bef.query("OMRAADE == @row.unit and AAR == @row.cohort - 1")["PNR"])
    now = bef.query("OMRAADE == @row.unit and AAR == @row.time")
    now = now[now["PNR"].isin(base) & (now["AAR"] - now["FOED_AAR"]).between(18, 64)]
    assert row["observed"] == pytest.approx(now["SOCIO13"].isin([210, 330, 410]).mean())


def test_persons_agree_with_registers(tiny, tiny_registers):
    persons = tiny.persons
    bef = tiny_registers["bef"]
    assert set(persons["person_id"]) == set(bef["PNR"])
    udda = tiny_registers["udda"].merge(bef[["PNR", "AAR", "FOED_AAR"]], on=["PNR", "AAR"])
    at25 = udda[udda["AAR"] - udda["FOED_AAR"] == 25]
    expected = at25.set_index("PNR")["HFAUDD_NIVEAU"] >= 20
    got = persons.set_index("person_id").loc[expected.index, "youth_edu_by_25"]
    assert (got.astype(bool) == expected).all()
    # not observed at 25 -> missing
    assert persons["youth_edu_by_25"].isna().sum() == len(persons) - len(expected)


def test_registers_count_the_population_on_1_january(tiny, tiny_registers):
    # BEF is a status register counted on 1 January (domain brief: residents are counted
    # 1 January; BEF is a Status register): a child born during year b is first counted in
    # b + 1, aged AAR - FOED_AAR = 1, and no one is aged 0.
    bef = tiny_registers["bef"]
    age = bef["AAR"] - bef["FOED_AAR"]
    assert age.min() == 1
    first = bef.groupby("PNR")[["AAR", "FOED_AAR"]].min()
    born_inside = first[first["FOED_AAR"] >= 2008]  # born in the simulated years
    assert len(born_inside) > 0
    assert (born_inside["AAR"] > born_inside["FOED_AAR"]).all()
    # most of them are counted from the 1 January after their birth (the others moved in
    # later with their household)
    assert (born_inside["AAR"] == born_inside["FOED_AAR"] + 1).mean() > 0.5
    # persons' baseline year is their first register year, so at least a year after birth
    persons = tiny.persons
    assert (persons["baseline_year"] - persons["birth_year"]).min() == 1
    # newborns are no moves in: a person first counted at age 1 has no row the year before
    counted_at_1 = bef[(age == 1) & (bef["AAR"] > 2008)]
    before = set(zip(bef["PNR"], bef["AAR"] + 1, strict=True))
    assert not any(k in before for k in zip(counted_at_1["PNR"], counted_at_1["AAR"], strict=True))


def test_persons_movers_and_exposure(world):
    persons = world.persons
    outside = persons["baseline_area_id"].isna()
    # the reference population never lived in a study area: no mover status, no exposure
    assert persons.loc[outside, "mover_status"].isna().all()
    assert (persons.loc[outside, "exposure_years"] == 0).all()
    assert set(persons.loc[~outside, "mover_status"]) == {"stayer", "in_mover", "out_mover"}
    # exposure is counted before age 18 only
    adults_at_start = persons["birth_year"] < 2005 - 18
    assert (persons.loc[adults_at_start, "exposure_years"] == 0).all()
    assert persons.loc[~outside, "exposure_years"].max() > 0


# --------------------------------------------------------------------------- determinism


def test_same_seed_gives_identical_world(tiny):
    again = simulate.denmark(n_areas=10, years=(2008, 2016), seed=5)
    pd.testing.assert_frame_equal(tiny.area_year, again.area_year)
    pd.testing.assert_frame_equal(tiny.interventions, again.interventions)
    pd.testing.assert_frame_equal(tiny.truth.att(by="unit_time"), again.truth.att(by="unit_time"))
    pd.testing.assert_frame_equal(tiny.persons, again.persons)


def test_different_seeds_differ(tiny):
    other = simulate.denmark(n_areas=10, years=(2008, 2016), seed=6)
    assert not tiny.area_year["residents"].equals(other.area_year["residents"])


def test_blocks_do_not_change_the_world(tiny, monkeypatch):
    # The simulator works on blocks of whole persons and draws the random lanes block by
    # block (redrawing them from saved generator states for the counterfactuals). Much
    # smaller blocks must give exactly the same world, truth and registers.
    from effekt.simulate import _build, _engine

    monkeypatch.setattr(_build, "_CHUNK", 997)
    monkeypatch.setattr(_engine, "_LANE_BLOCK", 5003)
    small = simulate.denmark(n_areas=10, years=(2008, 2016), seed=5)
    assert len(small._b.engine.big) > 3
    pd.testing.assert_frame_equal(small.area_year, tiny.area_year)
    pd.testing.assert_frame_equal(small.truth.att(by="unit_time"), tiny.truth.att(by="unit_time"))
    pd.testing.assert_frame_equal(
        small.truth.att(by="unit_time", population="stayers"),
        tiny.truth.att(by="unit_time", population="stayers"),
    )
    pd.testing.assert_frame_equal(small.counterfactual("all"), tiny.counterfactual("all"))
    pd.testing.assert_frame_equal(small.registers()["ras"], tiny.registers()["ras"])


def test_threads_do_not_change_the_world(tiny, monkeypatch):
    # The passes over person-years run their blocks on threads (effekt.options["threads"]):
    # blocks write disjoint rows and their sums are exact, so any number of threads gives
    # the same world, truth, stayer panel and registers as one thread.
    from effekt.simulate import _engine

    monkeypatch.setattr(_engine, "_LANE_BLOCK", 5003)  # many blocks, so threads interleave
    with ek.set_options(threads=1):
        one = simulate.denmark(n_areas=10, years=(2008, 2016), seed=5)
        one_truth = one.truth.att(by="unit_time", population="stayers")
    with ek.set_options(threads=3):
        three = simulate.denmark(n_areas=10, years=(2008, 2016), seed=5)
        assert ek.options["threads"] == 3 and len(three._b.engine.big) > 6
        pd.testing.assert_frame_equal(three.area_year, tiny.area_year)
        pd.testing.assert_frame_equal(
            three.truth.att(by="unit_time", population="stayers"), one_truth
        )
        pd.testing.assert_frame_equal(three.stayer_panel(2010), one.stayer_panel(2010))
        pd.testing.assert_frame_equal(three.registers()["udda"], one.registers()["udda"])
    np.testing.assert_array_equal(three._b.fact.income, one._b.fact.income)


def test_lanes_redrawn_from_saved_states_are_the_same():
    from effekt.simulate._build import Builder
    from effekt.simulate.world import _config

    b = Builder(_config(10, (2008, 2016), 5, "none", "level", 0.5, 0.5))
    eng = b.engine
    # every person-year's four 16-bit lanes are one 64-bit draw of the engine's generator,
    # drawn in person-aligned blocks: redrawn blocks equal the first draw
    first = np.concatenate([at.lanes for at in eng.big_blocks(lanes=True)], axis=1)
    again = np.concatenate([at.lanes for at in eng.big_blocks(lanes=True)], axis=1)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (4, b.rows.n)


def test_truth_is_computed_on_first_use_and_does_not_depend_on_order():
    a = simulate.denmark(n_areas=10, years=(2008, 2016), seed=7)
    b = simulate.denmark(n_areas=10, years=(2008, 2016), seed=7)
    assert a._truth is None  # building the world does not compute the truth
    regs = b.registers()  # registers first, then the truth
    b_units = b.truth.att(by="unit_time")
    pd.testing.assert_frame_equal(a.truth.att(by="unit_time"), b_units)
    pd.testing.assert_frame_equal(a.registers()["ind"], regs["ind"])
    pd.testing.assert_frame_equal(a.persons, b.persons)


@pytest.mark.parametrize("kind", ["lbf_helhedsplan", "fritidsjob", "familieindsats"])
def test_counterfactual_equals_a_world_simulated_without_the_kind(kind):
    # Independent oracle: the world without one kind's effects, simulated from scratch (every
    # other random draw is the same), equals the counterfactual the world computes by
    # removing that kind's effects from its person-years. No transformation happens before
    # 2019, so both worlds have the same residents. lbf_helhedsplan acts on youth education,
    # labour and charges; fritidsjob on NEET and charges; familieindsats on placements.
    kw = {"n_areas": 15, "years": (2005, 2016), "seed": 4}
    world = simulate.denmark(**kw)
    without = {k: e for k, e in simulate.default_effects().items() if k[0] != kind}
    pd.testing.assert_frame_equal(
        world.counterfactual(kind), simulate.denmark(**kw, effects=without).area_year
    )
    assert not world.counterfactual(kind).equals(world.area_year)


def test_effects_change_no_other_random_draw():
    # The placebo world has the same untreated outcomes as the default world up to the first
    # year in which physical transformations (which follow the lists, hence the effects) act.
    default = simulate.denmark(n_areas=12, years=(2005, 2016), seed=9)
    placebo = simulate.denmark(n_areas=12, years=(2005, 2016), seed=9, effects="none")
    pd.testing.assert_frame_equal(default.counterfactual("all"), placebo.area_year)
    assert not default.area_year.equals(placebo.area_year)


# --------------------------------------------------------------------------- truth


def test_truth_is_observed_minus_counterfactual(world):
    # the oracle: Y - Y(0) from the kept counterfactual world reproduces the truth exactly
    kind, outcome = "lbf_helhedsplan", "outside_work_edu_share"
    units = world.truth.att(kind=kind, outcome=outcome, by="unit_time")
    y = world.area_year.set_index(["area_id", "year"])[outcome]
    y0 = world.counterfactual(kind).set_index(["area_id", "year"])[outcome]
    idx = pd.MultiIndex.from_arrays([units["unit"], units["time"]])
    np.testing.assert_allclose(units["estimate"], (y - y0).loc[idx].to_numpy(), atol=1e-12)
    # before treatment nothing differs
    assert (units.loc[units["event_time"] < 0, "estimate"] == 0).all()


def test_aggregations_are_means_over_treated_areas(world):
    t = world.truth
    units = t.att(kind="lbf_helhedsplan", outcome="youth_charged_per_1000", by="unit_time")
    ev = t.att(kind="lbf_helhedsplan", outcome="youth_charged_per_1000", by="event_time")
    manual = units.groupby("event_time")["estimate"].mean()
    np.testing.assert_allclose(ev.set_index("event_time")["estimate"], manual)
    overall = t.att(kind="lbf_helhedsplan", outcome="youth_charged_per_1000", by="overall")
    post = units[units["event_time"] >= 0]["estimate"].mean()
    assert overall["estimate"].iloc[0] == pytest.approx(post)
    gt = t.att(kind="lbf_helhedsplan", outcome="youth_charged_per_1000", by="group_time")
    cohort = t.att(kind="lbf_helhedsplan", outcome="youth_charged_per_1000", by="cohort")
    g = cohort["cohort"].iloc[0]
    expected = gt[(gt["cohort"] == g) & (gt["time"] >= g)]["estimate"].mean()
    assert cohort["estimate"].iloc[0] == pytest.approx(expected)
    assert {"kind", "outcome", "population", "aggregation", "estimate"} <= set(ev.columns)
    # n_units counts distinct areas: every LBF-treated area enters the overall mean
    n_treated = (t.cohorts["lbf_helhedsplan"] > 0).sum()
    assert overall["n_units"].iloc[0] == n_treated
    assert ev.set_index("event_time").loc[0, "n_units"] == n_treated


def test_planted_effects_have_the_right_sign_and_size(world):
    # CFBU 2015 (E02): about -11 charged youths per 1,000; built up over 2 years
    ev = world.truth.att(kind="lbf_helhedsplan", outcome="youth_charged_per_1000").set_index(
        "event_time"
    )["estimate"]
    assert -20 < ev.loc[2:8].mean() < -3
    assert ev.loc[-1] == 0


def test_selection_makes_naive_comparison_biased(world):
    # LBF grants go to the most deprived areas: after treatment the treated areas still have
    # more residents outside work/education than never-treated ones, although the true effect
    # is a reduction.
    df = world.area_panel("lbf_helhedsplan", outcomes=["outside_work_edu_share"])
    naive = (
        df.loc[df["treated"] == 1, "outside_work_edu_share"].mean()
        - df.loc[df["first_treated"] == 0, "outside_work_edu_share"].mean()
    )
    truth = world.truth.att(kind="lbf_helhedsplan", outcome="outside_work_edu_share", by="overall")[
        "estimate"
    ].iloc[0]
    assert truth < 0
    assert naive > 0.05
    # the untreated potential outcomes the world keeps recover the truth
    y0 = world.counterfactual("lbf_helhedsplan").set_index(["area_id", "year"])[
        "outside_work_edu_share"
    ]
    treated = df[df["treated"] == 1].set_index(["area_id", "year"])["outside_work_edu_share"]
    oracle = (treated - y0.loc[treated.index]).mean()
    assert oracle == pytest.approx(truth, abs=1e-12)


def test_stayer_and_area_estimands_differ(world):
    t = world.truth
    kinds = set(t.cohorts.columns[1:][(t.cohorts.iloc[:, 1:] > 0).any()])
    assert "fysisk_omdannelse" in kinds
    # A physical transformation affects nobody: its stayer effect is exactly zero, but richer
    # in-movers lower the area's share outside work/education.
    fo = dict.fromkeys(("area", "stayers"), 0.0)
    for pop in fo:
        fo[pop] = t.att(
            kind="fysisk_omdannelse", outcome="outside_work_edu_share", by="overall", population=pop
        )["estimate"].iloc[0]
    assert fo["stayers"] == 0
    assert fo["area"] < 0
    # LBF: stayers have been exposed longer than in-movers, so their effect is larger
    lbf = {
        pop: t.att(
            kind="lbf_helhedsplan", outcome="outside_work_edu_share", by="overall", population=pop
        )["estimate"].iloc[0]
        for pop in ("area", "stayers")
    }
    assert lbf["stayers"] < lbf["area"] < 0


def test_kommune_wide_efforts_have_no_area_and_treat_every_area_of_the_kommune(world):
    iv = world.interventions
    assert (iv["area_id"].isna() == (iv["scope"] == "kommune")).all()
    kw = iv[iv["scope"] == "kommune"]
    assert len(kw)
    cohorts = world.truth.cohorts.merge(world.areas, on="area_id")
    for _, row in kw.iterrows():
        in_kom = cohorts[cohorts["kommune_code"] == row["kommune_code"]]
        assert (in_kom[row["kind"]].between(1, row["start_year"])).all()


def test_lbf_grants_only_in_real_rounds(world):
    lbf = world.interventions.query("kind == 'lbf_helhedsplan'")
    # the real funding periods (lbf_rounds.csv; brief section 3: 2019-26 in two 4-year rounds)
    rounds = {"2006-2010", "2011-2014", "2015-2018", "2019-2022", "2023-2026"}
    assert set(lbf["funding_round"]) <= rounds
    first = lbf["funding_round"].str[:4].astype(int)
    last = lbf["funding_round"].str[5:].astype(int)
    # a plan starts within its period, or (2015-18: "66 plans started 2016-19") the year after
    assert lbf["start_year"].between(first, last + 1).all()
    # 4-year plans
    assert ((lbf["end_year"].dropna() - lbf.loc[lbf["end_year"].notna(), "start_year"]) == 3).all()


def test_transformations_follow_the_hard_ghetto_lists(world):
    lists = world.lists
    hard = lists[
        (lists["haardt_ghetto"].fillna(False) | lists["omdannelsesomraade"].fillna(False)).astype(
            bool
        )
    ]
    first_list = hard.groupby("area_id")["year"].min()
    fo = world.interventions.query("kind == 'fysisk_omdannelse'").set_index("area_id")
    assert set(fo.index) == set(first_list[first_list + 1 <= 2024].index)
    assert (fo["start_year"] == first_list.loc[fo.index] + 1).all()
    assert (fo["start_year"] >= 2019).all()


def test_inheritance_truth_weakens_the_parental_gradient(world):
    inh = world.truth.inheritance.query(
        "kind == 'lbf_helhedsplan' and outcome == 'youth_edu_by_25'"
    )
    assert set(inh["scale"]) == {"probability", "log_odds"}
    hb = inh[inh["contrast"] == "higher_vs_basic"].set_index("scale")
    # children of higher-educated parents do better, and exposure narrows the gap
    assert (hb["without_exposure"] > 0).all()
    assert (hb["change"] < 0).all()
    np.testing.assert_allclose(hb["change"], hb["with_exposure"] - hb["without_exposure"])


def test_world_without_interventions_has_an_empty_truth():
    # 2030-2034: after the last LBF round (2023-2026) and the kernedrift efforts (to 2021)
    world = simulate.denmark(n_areas=10, years=(2030, 2034), seed=3)
    assert world.interventions.empty
    units = world.truth.att(by="unit_time")
    assert units.empty
    assert {"estimate", "observed", "counterfactual"} <= set(units.columns)
    assert world.truth.att(by="overall").empty


def test_placebo_world_has_zero_person_effects():
    placebo = simulate.denmark(n_areas=12, years=(2005, 2014), seed=3, effects="none")
    att = placebo.truth.att(by="unit_time")
    person_kinds = att[att["kind"] != "fysisk_omdannelse"]
    assert len(person_kinds)
    assert (person_kinds["estimate"] == 0).all()
    assert placebo.truth.inheritance.empty


def test_custom_effects_are_planted():
    w = simulate.denmark(
        n_areas=12,
        years=(2005, 2014),
        seed=3,
        effects={("lbf_helhedsplan", "children_placed_per_1000"): -20.0},
    )
    assert set(w.truth.effects) == {("lbf_helhedsplan", "children_placed_per_1000")}
    ev = w.truth.att(kind="lbf_helhedsplan", outcome="children_placed_per_1000", by="overall")
    assert ev["estimate"].iloc[0] < 0
    other = w.truth.att(kind="lbf_helhedsplan", outcome="youth_charged_per_1000", by="overall")
    assert other["estimate"].iloc[0] == 0


# --------------------------------------------------------------------------- realism


def test_listed_areas_have_realistic_levels(world):
    lists = world.lists[["area_id", "year", "status"]]
    ghetto = lists[
        lists["status"].isin(["ghetto", "haardt_ghetto", "parallelsamfund", "omdannelsesomraade"])
    ]
    data = world.area_year.merge(ghetto.assign(year=ghetto["year"] - 1), on=["area_id", "year"])
    assert len(data) > 10
    assert LISTED_OUTSIDE[0] < data["outside_work_edu_share"].mean() < LISTED_OUTSIDE[1]
    assert LISTED_EDU20[0] < data["youth_edu_20_share"].mean() < LISTED_EDU20[1]
    # CFBU 2015 (E02): about 88 charged youths per 1,000 in treated areas around 2009
    lbf = world.area_panel("lbf_helhedsplan").query("year == 2009 and first_treated > 0")
    assert 50 < lbf["youth_charged_per_1000"].mean() < 130


def test_national_levels_in_the_reference_population(tiny_registers):
    bef = tiny_registers["bef"]
    outside = bef[bef["OMRAADE"].isna()].assign(age=lambda d: d["AAR"] - d["FOED_AAR"])
    adults = outside[outside["age"].between(18, 64)].merge(tiny_registers["ras"])
    share = adults["SOCIO13"].isin([210, 330, 410]).mean()
    assert NATIONAL_OUTSIDE[0] < share < NATIONAL_OUTSIDE[1]
    twenty = outside[outside["age"] == 20].merge(tiny_registers["udda"])
    edu20 = ((twenty["HFAUDD_NIVEAU"] >= 20) | twenty["UDD_IGANG"].isin([20, 30])).mean()
    assert NATIONAL_EDU20[0] < edu20 < NATIONAL_EDU20[1]


# --------------------------------------------------------------------------- area panel


def test_area_panel_codes_never_treated_as_zero(world):
    df = world.area_panel("lbf_helhedsplan", outcomes=["youth_charged_per_1000"])
    assert list(df.columns) == [
        "area_id",
        "year",
        "kommune_code",
        "region_code",
        "first_treated",
        "treated",
        "youth_charged_per_1000",
    ]
    never = df["first_treated"] == 0
    assert never.any() and (~never).any()
    assert (df.loc[never, "treated"] == 0).all()
    assert (df["treated"] == (~never & (df["year"] >= df["first_treated"]))).all()
    panel = ek.Panel.from_frame(
        df,
        unit="area_id",
        time="year",
        outcome="youth_charged_per_1000",
        cohort="first_treated",
        never_treated=0,
        cluster="kommune_code",
    )
    assert panel.n_units == 25


def test_area_panel_round_drops_areas_first_treated_earlier(world):
    full = world.area_panel("lbf_helhedsplan", outcomes=["residents"])
    sub = world.area_panel("lbf_helhedsplan", outcomes=["residents"], round="2011-2014")
    lbf = world.interventions.query("kind == 'lbf_helhedsplan'").sort_values("start_year")
    first_round = lbf.groupby("area_id")["funding_round"].first()
    dropped = set(full["area_id"]) - set(sub["area_id"])
    assert dropped == set(first_round[first_round == "2006-2010"].index)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_areas": 5}, "'n_areas' parameter"),
        ({"n_areas": 10.0}, "'n_areas' parameter"),
        ({"years": (2005, 2007)}, "'years' parameter"),
        ({"years": 2005}, "'years' parameter"),
        ({"seed": -1}, "'seed' parameter"),
        ({"selection": "random"}, "'selection' parameter"),
        ({"transformation_mix": 1.5}, "'transformation_mix' parameter"),
        ({"reference_ratio": 0}, "'reference_ratio' parameter"),
        ({"effects": "all"}, "'effects' parameter"),
        ({"effects": [1, 2]}, "'effects' parameter"),
        ({"effects": {"lbf_helhedsplan": 1.0}}, "keyed by"),
        ({"effects": {("lbf", "neet_share"): 1.0}}, "kinds in"),
        ({"effects": {("lbf_helhedsplan", "income_rel_region"): 1.0}}, "outcomes in"),
        ({"effects": {("fysisk_omdannelse", "neet_share"): 1.0}}, "transformation_mix"),
        ({"effects": {("lbf_helhedsplan", "neet_share"): "big"}}, "Effect objects"),
        (
            {
                "effects": {
                    ("lbf_helhedsplan", "youth_edu_20_share"): 0.01,
                    ("lbf_helhedsplan", "youth_edu_25_share"): 0.01,
                }
            },
            "only one of them",
        ),
    ],
)
def test_denmark_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ek.ParameterError, match=re.escape(match) if "'" in match else match):
        simulate.denmark(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"size": float("nan")}, "finite"),
        ({"size": True}, "real number"),
        ({"size": 1.0, "buildup": 0.5}, "at least 1"),
        ({"size": 1.0, "persistence": 2.0}, r"in \[0, 1\]"),
        ({"size": 1.0, "area_sd": -1.0}, "non-negative"),
        ({"size": 1.0, "background": 1.0}, r"in \(-1, 1\)"),
    ],
)
def test_effect_rejects_bad_fields(kwargs, match):
    with pytest.raises(ek.ParameterError, match=match):
        Effect(**kwargs)


def test_world_methods_reject_bad_arguments(world):
    with pytest.raises(ek.ParameterError, match="'kind' parameter of World.counterfactual"):
        world.counterfactual("ghetto")
    with pytest.raises(ek.ParameterError, match="applies only to kind='lbf_helhedsplan'"):
        world.area_panel("ungdomscafe", round="2011-2014")
    with pytest.raises(ek.ParameterError, match="'round' parameter"):
        world.area_panel(round="2011-2015")
    with pytest.raises(ek.ParameterError, match="'outcomes' parameter"):
        world.area_panel(outcomes=["employment"])
    with pytest.raises(ek.ParameterError, match="'outcomes' parameter"):
        world.area_panel(outcomes="residents")
    with pytest.raises(ek.ParameterError, match="'by' parameter of Truth.att"):
        world.truth.att(by="year")
    with pytest.raises(ek.ParameterError, match="'population' parameter"):
        world.truth.att(population="movers")
    with pytest.raises(ek.ParameterError, match="'kind' parameter"):
        world.truth.att(kind="lbf")
    with pytest.raises(ek.ParameterError, match="'outcome' parameter"):
        world.truth.att(outcome="employment")


@pytest.mark.slow
def test_small_world_builds(capsys):
    # Timing is reported, not asserted (machines differ). Slow: the 100-area default world is a
    # person-level microsimulation of about 7 million person-years (a few seconds with the
    # truth, which is computed on first use).
    start, cpu = time.perf_counter(), time.process_time()
    w = simulate.denmark(n_areas=100, seed=0)
    built, built_cpu = time.perf_counter() - start, time.process_time() - cpu
    assert len(w.truth.att(by="overall"))
    total, total_cpu = time.perf_counter() - start, time.process_time() - cpu
    with capsys.disabled():
        print(
            f"\nsimulate.denmark(n_areas=100): {built:.2f} s ({built_cpu:.2f} s CPU), with the "
            f"truth {total:.2f} s ({total_cpu:.2f} s CPU); "
            f"{int(w.area_year['residents'].sum() / 20):,} residents per year"
        )
    assert w.area_year.shape == (100 * 20, 25)


@pytest.mark.slow
def test_denmark_sized_world_builds(capsys):
    start, cpu = time.perf_counter(), time.process_time()
    w = simulate.denmark(n_areas=500, seed=0)
    elapsed, elapsed_cpu = time.perf_counter() - start, time.process_time() - cpu
    with capsys.disabled():
        print(f"\nsimulate.denmark(n_areas=500): {elapsed:.2f} s ({elapsed_cpu:.2f} s CPU)")
    residents = w.area_year.groupby("year")["residents"].sum()
    assert residents.between(700_000, 1_300_000).all()
    ek.validate(w.area_year, "area_year")
