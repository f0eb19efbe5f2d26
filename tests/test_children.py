"""The children table: family links, parents' background, exposure and child outcomes.

Expected values come from hand-built registers (worked out by hand in the comments) and
from the simulator's own person-years, which must equal what effekt.registers.children
computes from the register extracts (two implementations of one definition).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt.errors import DataError, ParameterError
from effekt.registers import codes

pytest.importorskip("duckdb")


@pytest.fixture(scope="module")
def tiny():
    return ek.simulate.denmark(n_areas=10, years=(2005, 2016), seed=5)


@pytest.fixture(scope="module")
def regs(tiny):
    return tiny.registers()


def test_bef_has_parent_links_and_real_families(tiny, regs):
    bef = regs["bef"]
    assert {"MOR_PNR", "FAR_PNR"} <= set(bef.columns)
    ek.validate(bef, "register_bef")
    kids = bef.dropna(subset=["MOR_PNR"]).drop_duplicates("PNR")
    born = bef.drop_duplicates("PNR").set_index("PNR")["FOED_AAR"]
    # every linked parent is a person of the registers, and at least 15 years older
    assert kids["MOR_PNR"].isin(born.index).all()
    gap = born.loc[kids["MOR_PNR"]].to_numpy() - kids["FOED_AAR"].to_numpy()
    assert (gap <= -15).all()
    # siblings: mothers with several children born in different years
    per_mother = kids.groupby("MOR_PNR")["FOED_AAR"].agg(["size", "nunique"])
    assert (per_mother["size"] >= 2).sum() > 100
    assert (per_mother["nunique"] >= 2).sum() > 100
    # children live with their mother in the area while she lives there (same area, year)
    both = bef.merge(
        bef[["PNR", "AAR", "OMRAADE"]].rename(columns={"PNR": "MOR_PNR", "OMRAADE": "mom_area"}),
        on=["MOR_PNR", "AAR"],
    )
    young = both[both["AAR"] - both["FOED_AAR"] <= 17]
    assert len(young) > 1000
    same = young["OMRAADE"].fillna("outside") == young["mom_area"].fillna("outside")
    assert same.mean() > 0.99


def test_simulator_and_register_pipeline_give_the_same_children(tiny, regs):
    sim = tiny.children()
    pipe = ek.registers.children(regs, interventions=tiny.interventions)
    pd.testing.assert_frame_equal(sim, pipe)
    ek.validate(pipe, "children")
    assert sim["n_parents"].gt(0).mean() > 0.9
    assert set(sim["parents_education"].dropna()) == {"basic", "youth", "higher"}


def test_windows_and_parent_age_are_honoured(tiny, regs):
    kw = {"window": (10, 15), "parent_age": 12}
    sim = tiny.children(**kw)
    pipe = ek.registers.children(regs, interventions=tiny.interventions, **kw)
    pd.testing.assert_frame_equal(sim, pipe)
    assert sim["exposure_any"].max() <= 6


def _hand_registers():
    # child c1 (born 1990) with mother m1 and father f1; child c2 (born 1990) without
    # parents; everyone lives in area a1 (kommune 101) 2000-2016.
    years = np.arange(2000, 2017)
    people = {"c1": 1990, "c2": 1990, "m1": 1960, "f1": 1958}
    bef = pd.DataFrame(
        [
            {
                "PNR": p,
                "AAR": y,
                "KOM": 101,
                "OMRAADE": "a1",
                "FOED_AAR": b,
                "KOEN": 1,
                "HERKOMST": 1,
                "MOR_PNR": "m1" if p == "c1" else None,
                "FAR_PNR": "f1" if p == "c1" else None,
            }
            for p, b in people.items()
            for y in years
            # the father is only in the registers up to 2003 and from 2007 on
            if not (p == "f1" and 2004 <= y <= 2006)
        ]
    )
    hf = {"c1": 10, "c2": 10, "m1": 10, "f1": 10}
    udda = bef[["PNR", "AAR"]].assign(
        HFAUDD_NIVEAU=[
            # the father completes a higher education in 2007 (measured in 2005 for c1 at
            # 15: 2005 is missing, 2003 and 2007 are equally near, the earlier counts)
            50 if (p == "f1" and y >= 2007) else (30 if (p == "c1" and y >= 2011) else hf[p])
            for p, y in zip(bef["PNR"], bef["AAR"], strict=True)
        ],
        UDD_IGANG=0,
    )
    adult = bef[bef["AAR"] - bef["FOED_AAR"] >= 15][["PNR", "AAR"]]
    socio = np.where(adult["PNR"] == "m1", 131, np.where(adult["PNR"] == "f1", 210, 330))
    ras = adult.assign(SOCIO13=socio)
    ind = adult.assign(PERINDKIALT=100_000.0)
    # c1 charged in 2006 (aged 16), a traffic charge of c2 in 2007 (not counted)
    krsi = pd.DataFrame(
        {"PNR": ["c1", "c2"], "AAR": [2006, 2007], "KATEGORI": ["straffelov", "faerdsel"]}
    )
    kraf = pd.DataFrame(columns=["PNR", "AAR", "KATEGORI", "AFGOERELSE"]).astype(
        {"PNR": str, "AAR": int, "KATEGORI": str, "AFGOERELSE": str}
    )
    anb = pd.DataFrame({"PNR": pd.Series(dtype=str), "AAR": pd.Series(dtype=int)})
    iv = pd.DataFrame(
        {
            "area_id": ["a1", None],
            "kommune_code": [101, 101],
            "scope": ["area", "kommune"],
            "kind": ["lbf_helhedsplan", "ungdomscafe"],
            "start_year": [2003, 2006],
            "end_year": pd.array([2004, pd.NA], dtype="Int64"),
        }
    )
    return {
        "bef": bef,
        "udda": udda,
        "ras": ras,
        "ind": ind,
        "krsi": krsi,
        "kraf": kraf,
        "anbringelser": anb,
    }, iv


def test_hand_built_children():
    regs, iv = _hand_registers()
    out = ek.registers.children(regs, interventions=iv).set_index("person_id")
    assert list(out.index) == ["c1", "c2"]  # the parents were adults in every year
    c1, c2 = out.loc["c1"], out.loc["c2"]
    assert c1["n_parents"] == 2 and c2["n_parents"] == 0
    # father measured in 2003 (tie with 2007, earlier wins): basic; mother basic -> basic
    assert c1["parents_education"] == "basic"
    assert bool(c1["parents_employed"])  # the mother works (131)
    assert pd.isna(c2["parents_education"]) and pd.isna(c2["parents_employed"])
    # ages 6-17 are 1996-2007, observed 2000-2007: LBF 2003-2004 -> 2 years; the
    # kommune-wide youth cafe from 2006 (ongoing) -> 2006, 2007 -> 2 years; any: 4
    assert c1["exposure_lbf_helhedsplan"] == 2
    assert c1["exposure_ungdomscafe"] == 2
    assert c1["exposure_any"] == 4
    assert c1["area_id"] == "a1" and c1["area_age"] == 10  # first year 2000, aged 10
    # outcomes: youth education (30 from 2011, age 21) completed by 21 and 25
    assert c1["youth_edu_21"] == 1.0 and c1["youth_edu_25"] == 1.0
    assert c2["youth_edu_21"] == 0.0
    # charged at 16 counts by 18 and by 21; a traffic charge does not
    assert c1["charged_by_18"] == 1.0 and c1["charged_by_21"] == 1.0
    assert c2["charged_by_18"] == 0.0
    # NEET 18-24 (2008-2014): c1 SOCIO13 330, not enrolled -> NEET every year
    assert c1["neet_18_24"] == 1.0
    # age 30 is 2020, after the registers: not observed
    assert np.isnan(c1["employed_30"])
    assert (out["cell_children"] == 2).all()


def test_parent_age_moves_the_measurement():
    regs, iv = _hand_registers()
    # at the child's age 17 (2007) the father has a higher education
    out = ek.registers.children(regs, interventions=iv, parent_age=17).set_index("person_id")
    assert out.loc["c1", "parents_education"] == "higher"


def test_codes_define_the_outcomes():
    assert set(codes.CHILD_OUTCOMES) == {
        "youth_edu_21",
        "youth_edu_25",
        "neet_18_24",
        "charged_by_18",
        "charged_by_21",
        "employed_30",
    }
    schema = {f["name"] for f in ek.load_schema("children")["fields"]}
    assert set(codes.CHILD_OUTCOMES) <= schema


def test_bad_input():
    regs, iv = _hand_registers()
    no_links = dict(regs, bef=regs["bef"].drop(columns=["MOR_PNR", "FAR_PNR"]))
    with pytest.raises(DataError, match="MOR_PNR"):
        ek.registers.children(no_links, interventions=iv)
    with pytest.raises(ParameterError, match="window"):
        ek.registers.children(regs, interventions=iv, window=(17, 6))
    with pytest.raises(ParameterError, match="parent_age"):
        ek.registers.children(regs, interventions=iv, parent_age=-1)
    with pytest.raises(DataError, match="No child"):
        ek.registers.children(regs, interventions=iv, birth_years=[1800])
    with pytest.raises(DataError, match="start_year"):
        ek.registers.children(regs, interventions=iv.drop(columns="start_year"))
    before = regs["bef"].copy()
    ek.registers.children(regs, interventions=iv)
    pd.testing.assert_frame_equal(regs["bef"], before)


def test_inheritance_truth_from_the_counterfactual(tiny):
    inh = tiny.truth.inheritance
    new = inh[inh["contrast"].str.endswith("_minus_other")]
    assert set(new["outcome"]) <= set(codes.CHILD_OUTCOMES)
    np.testing.assert_allclose(new["change"], new["with_exposure"] - new["without_exposure"])
    lbf = new.query("kind == 'lbf_helhedsplan' and contrast == 'basic_education_minus_other'")
    # the planted effects are larger for children of basic-educated parents: fewer charges
    assert lbf.set_index("outcome").loc["charged_by_18", "change"] < 0
    # kinds without a planted effect on children's outcomes change nothing
    fam = new.query("kind == 'familieindsats'")
    assert (fam["change"] == 0).all()


def test_child_effects_are_outcome_minus_counterfactual(tiny):
    eff = tiny.truth.child_effects("lbf_helhedsplan")
    kids = tiny.children()
    assert list(eff["person_id"]) == list(kids["person_id"])
    # an effect exists only where the outcome is observed, and is -1, 0 or 1 for binaries
    for name in ("youth_edu_21", "charged_by_18"):
        assert (eff[name].isna() == kids[name].isna()).all()
        assert set(eff[name].dropna().unique()) <= {-1.0, 0.0, 1.0}
    assert (eff["charged_by_18"] != 0).sum() > 0
    # the effects fall mostly on children exposed at ages 6-17 (the simulator's own
    # exposure also counts ages 0-5, so unexposed children can be affected a little)
    exposed = kids["exposure_lbf_helhedsplan"].gt(0).to_numpy()
    hit = eff["youth_edu_21"].fillna(0).ne(0).to_numpy()
    assert hit[exposed].mean() > 3 * hit[~exposed].mean()
    with pytest.raises(ParameterError, match="kind"):
        tiny.truth.child_effects("anden_kernedrift")


def test_placebo_world_has_no_inheritance_truth():
    placebo = ek.simulate.denmark(n_areas=10, years=(2005, 2014), seed=3, effects="none")
    assert placebo.truth.inheritance.empty
