"""Study(population="stayers"): the stayer panels, the stacked designs and their truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt.study import Comparison, Study, Treatment

KIND = "lbf_helhedsplan"
OUTCOME = "outside_work_edu_share"


@pytest.fixture(scope="module")
def small():
    return ek.simulate.denmark(n_areas=10, years=(2005, 2012), seed=3)


@pytest.fixture(scope="module")
def world():
    return ek.simulate.denmark(n_areas=40, years=(2005, 2016), seed=1)


# ------------------------------------------------------------------ the stayer panel
def test_stayer_panel_equals_the_registers_route(small):
    regs = small.registers()
    fast = small.stayer_panel([2009, 2005])
    assert list(fast.columns) == [*small.area_year.columns, "baseline_year"]
    assert fast["baseline_year"].unique().tolist() == [2009, 2005]
    for base in (2009,):  # one baseline here (about 2 s each); more in the slow test
        slow = ek.registers.area_indicators(regs, population="stayers", baseline_year=base)
        mine = fast[fast["baseline_year"] == base].drop(columns="baseline_year")
        pd.testing.assert_frame_equal(mine.reset_index(drop=True), slow)


@pytest.mark.slow
def test_stayer_panel_equals_the_registers_route_with_transformations():
    # physical transformations (2020, 2021) swap the candidate households that move in
    world = ek.simulate.denmark(n_areas=20, years=(2014, 2021), seed=2)
    assert (world.interventions["kind"] == "fysisk_omdannelse").sum() == 2
    regs = world.registers()
    for base in (2017, 2020):
        slow = ek.registers.area_indicators(regs, population="stayers", baseline_year=base)
        mine = world.stayer_panel(base).drop(columns="baseline_year")
        pd.testing.assert_frame_equal(mine, slow)


def test_stayer_panel_agrees_with_the_truths_observed_values(small):
    # Truth's stayer rows carry the observed stayer indicator of each treated area from
    # its start year g on, over the residents of g - 1 (computed by a different pass)
    truth = small.truth.att(kind=KIND, population="stayers", by="unit_time")
    assert len(truth)
    checked = 0
    for g, rows in truth.groupby("cohort"):
        panel = small.stayer_panel(int(g) - 1)
        for outcome, r in rows.groupby("outcome"):
            mine = panel.set_index(["area_id", "year"])[outcome]
            got = mine.reindex(pd.MultiIndex.from_arrays([r["unit"], r["time"]])).to_numpy()
            np.testing.assert_allclose(got, r["observed"].to_numpy(), rtol=1e-12)
            checked += len(r)
    assert checked > 50


def test_stayers_in_the_baseline_year_are_the_residents(small):
    # everyone resident in b is a stayer of b in b itself; fewer remain later
    st = small.stayer_panel(2008)
    ay = small.area_year
    same = st[st["year"] == 2008].set_index("area_id")["residents"]
    pd.testing.assert_series_equal(same, ay[ay["year"] == 2008].set_index("area_id")["residents"])
    later = st[st["year"] == 2012].set_index("area_id")["residents"]
    assert (later < same).all()


@pytest.mark.parametrize("bad", [2004, 2013, "2008", True, 2008.0, []])
def test_stayer_panel_rejects_bad_baselines(small, bad):
    with pytest.raises(ek.ParameterError, match="'baseline_year' parameter of World.stayer_panel"):
        small.stayer_panel(bad)


# ------------------------------------------------------------------ by hand: the stacked DiD
def _hand_tables() -> dict[str, pd.DataFrame]:
    """Areas t1, t2 start in 2012, t3 in 2013, c1-c3 never; years 2010-2014.

    In the stayer table of baseline b (= g - 1) every area's outcome is
    0.1 + 0.01 * (year - 2010) + level, plus for the cohort's own treated areas
    tau_g * (1 + year - g) from g on (tau_2012 = -0.02, tau_2013 = -0.05). Noise
    +-eps that cancels within the controls' and within cohort 2012's mean each year
    gives standard errors without changing any mean. The area_year table and the
    treated areas' rows in the other baseline hold other numbers: a design that read
    them would miss the hand-computed effects.
    """
    years = np.arange(2010, 2015)
    ids = ["t1", "t2", "t3", "c1", "c2", "c3"]
    level = {"t1": 0.05, "t2": 0.0, "t3": 0.03, "c1": 0.0, "c2": 0.02, "c3": 0.04}
    eps = np.array([0.003, -0.002, 0.004, -0.001, 0.002])
    sign = {"t1": 1, "t2": -1, "t3": 0, "c1": 1, "c2": -1, "c3": 0}
    cohort = {"t1": 2012, "t2": 2012, "t3": 2013}
    tau = {2012: -0.02, 2013: -0.05}
    parts = []
    for b in (2011, 2012):
        for a in ids:
            y = 0.1 + 0.01 * (years - 2010) + level[a] + sign[a] * eps
            g = cohort.get(a)
            if g == b + 1:
                y = y + np.where(years >= g, tau[g] * (1 + years - g), 0.0)
            elif g is not None:
                y = y + 0.3  # another cohort's baseline: never used for this area
            parts.append(
                pd.DataFrame(
                    {
                        "area_id": a,
                        "year": years,
                        "kommune_code": 101,
                        "neet_share": y,
                        "pop_15_24": 150,
                        "baseline_year": b,
                    }
                )
            )
    stayer = pd.concat(parts, ignore_index=True)
    rng = np.random.default_rng(5)
    area = stayer[stayer["baseline_year"] == 2011].drop(columns="baseline_year")
    area = area.assign(neet_share=rng.uniform(0.1, 0.4, len(area)), pop_15_24=200)
    iv = pd.DataFrame(
        {
            "intervention_id": ["u1", "u2", "u3"],
            "area_id": ["t1", "t2", "t3"],
            "kommune_code": 101,
            "scope": "area",
            "kind": "ungdomscafe",
            "funder": "kommune",
            "start_year": [2012, 2012, 2013],
        }
    )
    return {"area_year": area.reset_index(drop=True), "interventions": iv, "stayer_year": stayer}


HAND = Study(
    outcomes=("neet_share",), treatment=Treatment(kinds=("ungdomscafe",)), population="stayers"
)


def test_stacked_did_matches_the_hand_computation():
    tables = _hand_tables()
    before = {k: v.copy() for k, v in tables.items()}
    res = HAND.run(tables, designs=("did",), event_window=(-2, 2))
    for k, v in tables.items():  # the caller's tables are untouched
        pd.testing.assert_frame_equal(v, before[k])
    t = res.to_frame().set_index("event_time", drop=False)
    # ATT(2012, e) = -0.02 (1 + e), ATT(2013, e) = -0.05 (1 + e); cohort sizes 2 and 1:
    # e = 0: (2 * -0.02 + -0.05) / 3; e = 1: (2 * -0.04 + -0.10) / 3; e = 2: cohort 2012 only.
    # Overall: every post cell weighted by its cohort's size,
    # (2 * (-0.02 - 0.04 - 0.06) + (-0.05 - 0.10)) / (2 * 3 + 1 * 2).
    expected = {0: -0.03, 1: -0.06, 2: -0.06, -2: 0.0, -1: 0.0}
    for e, v in expected.items():
        assert t.loc[e, "estimate"] == pytest.approx(v, abs=1e-12)
    overall = t[t["aggregation"] == "overall"]["estimate"].iloc[0]
    assert overall == pytest.approx(-0.39 / 8, abs=1e-12)
    assert (t["population"] == "stayers").all()
    assert t.loc[0, "std_error"] > 0 and np.isnan(t.loc[-1, "std_error"])
    # persons behind e = 0: the stayer denominators of the three treated areas
    assert t.loc[0, "n_units"] == 3 and t.loc[0, "n_persons"] == 450


def test_stacked_designs_equal_the_area_designs_when_everyone_stays(world):
    # If every baseline's table is the area_year table itself, each cohort's sub-panel
    # holds the same numbers as the area panel: Callaway-Sant'Anna's ATT(g, t) against
    # never-treated areas and SDID's per-cohort fits do not depend on the other cohorts,
    # so the stacked estimates must equal the area design's (and the SDID placebo draws,
    # made with one permutation per draw as SDID's Algorithm 4, too).
    ay = world.area_year
    cohorts = world.truth.cohorts.set_index("area_id")[KIND]
    bases = sorted({int(g) - 1 for g in cohorts[cohorts > 0]})
    stayer = pd.concat([ay.assign(baseline_year=b) for b in bases], ignore_index=True)
    tables = {"area_year": ay, "interventions": world.interventions, "stayer_year": stayer}
    kw = {"designs": ("did", "synth"), "event_window": (-2, 2), "synth_reps": 10}
    area = Study(outcomes=(OUTCOME,), treatment=Treatment(kinds=(KIND,))).run(tables, **kw)
    stay = Study(outcomes=(OUTCOME,), treatment=Treatment(kinds=(KIND,)), population="stayers").run(
        tables, **kw
    )
    a, s = area.to_frame(), stay.to_frame()
    np.testing.assert_allclose(s["estimate"], a["estimate"], rtol=1e-9, atol=1e-12)
    assert list(s["event_time"]) == list(a["event_time"])
    synth = (s["design"] == "synth") & (s["aggregation"] == "overall")
    np.testing.assert_allclose(s.loc[synth, "std_error"], a.loc[synth, "std_error"], rtol=1e-9)
    np.testing.assert_allclose(s.loc[synth, "p_value"], a.loc[synth, "p_value"], rtol=1e-12)
    # DiD standard errors too: the same influence functions, summed over the sub-panels,
    # with the estimated-cohort-share term over the same areas
    did = s["design"] == "did"
    np.testing.assert_allclose(
        s.loc[did, "std_error"], a.loc[did, "std_error"], rtol=1e-9, equal_nan=True
    )
    assert s.loc[did, "std_error"].notna().sum() == 5  # overall, e = -2, 0, 1, 2


# ------------------------------------------------------------------ recovery of the truth
@pytest.fixture(scope="module")
def stayer_result(world):
    study = Study(outcomes=(OUTCOME,), treatment=Treatment(kinds=(KIND,)), population="stayers")
    return study.run(world, designs=("did", "bayes"), event_window=(-3, 3))


def test_did_recovers_the_stayer_truth(world, stayer_result):
    t = stayer_result.to_frame()
    overall = t[(t["design"] == "did") & (t["aggregation"] == "overall")].iloc[0]
    # the truth: mean over the treated area-years from the start year on of the simulator's
    # stayer effect (Truth: observed minus counterfactual over the same stayers)
    u = world.truth.att(kind=KIND, outcome=OUTCOME, population="stayers", by="unit_time")
    assert overall["truth"] == pytest.approx(u.loc[u["event_time"] >= 0, "estimate"].mean())
    assert overall["ci_lower"] <= overall["truth"] <= overall["ci_upper"]
    assert overall["ci_upper"] < 0  # the effect (about -0.04) is found
    # the stayer truth is not the area truth (in-movers and leavers differ)
    area = world.truth.att(kind=KIND, outcome=OUTCOME, by="overall")["estimate"].iloc[0]
    assert overall["truth"] != pytest.approx(area, rel=1e-3)
    # the Bayesian design is skipped with a reason
    assert set(t["design"]) == {"did"}
    assert any("Bayesian design was skipped" in n for n in stayer_result.notes)


def test_narrative_states_the_stayer_estimand(stayer_result):
    en = stayer_result.narrative("en")
    da = stayer_result.narrative("da")
    assert "baseline stayers" in en and "year before its treatment started" in en
    assert "In-movers do not enter it" in en
    assert "blivere" in da and "året før indsatsen startede" in da
    assert "Tilflyttere indgår ikke" in da


# ------------------------------------------------------------------ bad input
def test_tables_without_a_stayer_table_are_refused_with_directions(world):
    study = Study(outcomes=(OUTCOME,), treatment=Treatment(kinds=(KIND,)), population="stayers")
    tables = {"area_year": world.area_year, "interventions": world.interventions}
    with pytest.raises(ek.ParameterError, match="'stayer_year'.*area_indicators.*baseline_year"):
        study.run(tables, designs=("did",))


def test_a_missing_baseline_year_is_named():
    tables = _hand_tables()
    tables["stayer_year"] = tables["stayer_year"][tables["stayer_year"]["baseline_year"] == 2011]
    with pytest.raises(ek.DataError, match=r"lacks the baseline year\(s\) \[2012\]"):
        HAND.run(tables, designs=("did",))


def test_a_stayer_table_without_baseline_year_or_with_gaps_is_refused():
    tables = _hand_tables()
    no_base = dict(tables, stayer_year=tables["stayer_year"].drop(columns="baseline_year"))
    with pytest.raises(ek.DataError, match="no 'baseline_year' column"):
        HAND.run(no_base, designs=("did",))
    st = tables["stayer_year"]
    gap = dict(tables, stayer_year=st[~((st["area_id"] == "c2") & (st["year"] == 2014))])
    with pytest.raises(ek.DataError, match=r"baseline year 2011 lacks rows for area\(s\) \['c2'\]"):
        HAND.run(gap, designs=("did",))
    bad = dict(tables, stayer_year=st.assign(neet_share=st["neet_share"] + 5))
    with pytest.raises(ek.DataError, match="baseline_year == 2011 are not a valid area_year"):
        HAND.run(bad, designs=("did",))


def test_bayes_alone_is_refused_for_stayers():
    with pytest.raises(ek.ParameterError, match="does not support population = 'stayers'"):
        HAND.run(_hand_tables(), designs=("bayes",))


# ------------------------------------------------------------------ two estimands
@pytest.mark.slow
def test_in_movers_separate_the_area_and_the_stayer_estimands():
    # Physical transformations act on no person: they bring richer, fewer non-Western
    # in-movers. A person's origin never changes, so the stayers' non-Western share is
    # untouched by any intervention (stayer truth exactly 0, and no other kind confounds
    # it), while the area's share falls. Each population's study recovers its own truth.
    world = ek.simulate.denmark(n_areas=120, years=(2012, 2024), seed=4, transformation_mix=1.0)
    got = {}
    for pop in ("area", "stayers"):
        study = Study(
            outcomes=("nonwestern_share",),
            treatment=Treatment(kinds=("fysisk_omdannelse",)),
            comparison=Comparison(group="never_treated"),
            population=pop,
        )
        t = study.run(world, designs=("did",), event_window=(-3, 3)).to_frame()
        got[pop] = t[t["aggregation"] == "overall"].iloc[0]
    assert got["stayers"]["truth"] == 0.0
    assert got["area"]["truth"] < -0.05
    for row in got.values():
        assert row["ci_lower"] <= row["truth"] <= row["ci_upper"]
    # the composition effect is detected in the area and absent among the stayers
    assert got["area"]["ci_upper"] < got["stayers"]["ci_lower"]
