"""Tests of effekt.registers.area_indicators on a hand-made register set.

Every expected value below is counted by hand from the tables in this file (the
persons, their residences and their events), following the definitions of the register
contract; the counts are spelled out in the comments.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

import effekt as ek
from effekt.registers import area_indicators

A1, A2, A3 = "A1", "A2", "A3"
ODENSE, ESBJERG = 461, 561  # region 1083 Syddanmark
KBH, FRB = 101, 147  # region 1084 Hovedstaden
YEARS = (2019, 2020, 2021)

# PNR: (FOED_AAR, HERKOMST, HFAUDD_NIVEAU, UDD_IGANG, SOCIO13, PERINDKIALT). Constant over
# the years. Age in 2020 in the comment; ras/ind rows exist from age 15.
PERSONS = {
    "a": (2003, 1, 10, 20, 310, 20_000.0),  # 17, student
    "b": (2002, 1, 10, 30, 330, 100_000.0),  # 18, cash benefit, enrolled (vocational)
    "c": (1956, 1, 30, 0, 210, 200_000.0),  # 64, unemployed
    "d": (1955, 1, 10, 0, 322, 150_000.0),  # 65, old-age pension
    "e": (1991, 1, 10, 0, 131, 300_000.0),  # 29, employee
    "f": (1990, 3, 10, 0, 220, 250_000.0),  # 30, sick leave
    "g": (1961, 3, 40, 0, 321, 180_000.0),  # 59, disability pension
    "h": (1960, 1, 10, 0, 410, 50_000.0),  # 60, other outside
    "i": (2006, 1, 10, 10, 310, 0.0),  # 14 (15 in 2021)
    "j": (2005, 1, 10, 10, 310, 5_000.0),  # 15, student
    "k": (1996, 1, 20, 0, 410, 60_000.0),  # 24, other outside
    "l": (1995, 2, 30, 0, 135, 280_000.0),  # 25, employee
    "m": (2000, 1, 10, 30, 310, 40_000.0),  # 20, student (vocational)
    "n": (2000, 1, 10, 0, 330, 90_000.0),  # 20, cash benefit
    "o": (1995, 3, 10, 0, 330, 95_000.0),  # 25, cash benefit
    "p": (2020, 1, 10, 0, 420, 0.0),  # 0, born 2020
    "q": (1949, 1, 10, 0, 322, 100_000.0),  # 71, pensioner
    "r": (1980, 1, 30, 0, 131, 310_000.0),  # 40, employee
    "s": (1940, 1, 10, 0, 322, 120_000.0),  # 79 in 2019, dies
    "t": (1980, 1, 50, 0, 131, 400_000.0),  # 40
    "u": (1975, 3, 10, 0, 330, 120_000.0),  # 45
    "v": (1970, 1, 50, 0, 131, 500_000.0),  # 50
    "w": (1985, 1, 40, 50, 310, 10_000.0),  # 35, student
    "x": (1950, 1, 10, 0, 322, 200_000.0),  # 70
    "y": (1970, 1, 30, 0, 131, 330_000.0),  # 50
    "y2": (1998, 1, 20, 40, 310, 1_000_000.0),  # 22, student with a large income
    "z": (1956, 1, 30, 0, 131, 250_000.0),  # 64
}

IN_A1 = (ODENSE, A1)
IN_A2 = (KBH, A2)
RESIDENCE: dict[str, dict[int, tuple[int, str | None]]] = {
    **{pnr: dict.fromkeys(YEARS, IN_A1) for pnr in "abdefgijlmn"},
    "c": {2019: IN_A1, 2020: IN_A1, 2021: IN_A2},  # moves A1 -> A2 in 2021
    "h": {2019: IN_A1, 2020: IN_A1},  # emigrates: absent in 2021
    "k": {2019: IN_A2, 2020: IN_A1, 2021: IN_A1},  # moves A2 -> A1 in 2020
    "o": {2020: IN_A1, 2021: IN_A1},  # immigrates in 2020
    "p": {2020: IN_A1, 2021: IN_A1},  # born in 2020
    "q": {2019: (ODENSE, A3), 2020: (ODENSE, None), 2021: (ODENSE, None)},  # leaves A3
    "r": {2019: IN_A1, 2020: (ODENSE, None), 2021: IN_A1},  # out of the areas and back
    "s": {2019: IN_A1},  # dies
    "t": dict.fromkeys(YEARS, IN_A2),
    "u": dict.fromkeys(YEARS, IN_A2),
    "v": dict.fromkeys(YEARS, (KBH, None)),
    "w": dict.fromkeys(YEARS, (FRB, None)),
    "x": dict.fromkeys(YEARS, (FRB, None)),
    "y": dict.fromkeys(YEARS, (ODENSE, None)),
    "y2": dict.fromkeys(YEARS, (ODENSE, None)),
    "z": dict.fromkeys(YEARS, (ESBJERG, None)),
}

KRAF = [  # PNR, AAR, KATEGORI, AFGOERELSE
    ("b", 2020, "straffelov", "dom"),  # convicted
    ("e", 2020, "vaabenlov", "dom"),  # convicted (two decisions: counts once)
    ("e", 2020, "vaabenlov", "dom"),
    ("g", 2020, "faerdsel", "dom"),  # traffic: not a convicting category
    ("h", 2020, "straffelov", "frifindelse"),  # acquitted
    ("d", 2019, "euf", "dom"),  # another year
    ("v", 2020, "straffelov", "dom"),  # lives outside the areas
]
KRSI = [  # PNR, AAR, KATEGORI
    ("a", 2020, "straffelov"),  # 17: charged
    ("b", 2020, "faerdsel"),  # traffic only: not counted
    ("k", 2020, "euf"),  # 24: charged
    ("l", 2020, "vaabenlov"),  # 25: charged
    ("i", 2020, "straffelov"),  # 14: below the 15-25 band
    ("n", 2021, "straffelov"),  # another year
]
PLACED = [("a", 2020), ("i", 2019)]  # anbringelser: PNR, AAR


def make_registers() -> dict[str, pd.DataFrame]:
    rows = [
        (pnr, year, kom, area)
        for pnr, where in RESIDENCE.items()
        for year, (kom, area) in where.items()
    ]
    bef = pd.DataFrame(rows, columns=["PNR", "AAR", "KOM", "OMRAADE"])
    attrs = (
        pd.DataFrame.from_dict(
            PERSONS,
            orient="index",
            columns=[
                "FOED_AAR",
                "HERKOMST",
                "HFAUDD_NIVEAU",
                "UDD_IGANG",
                "SOCIO13",
                "PERINDKIALT",
            ],
        )
        .rename_axis("PNR")
        .reset_index()
    )
    full = bef.merge(attrs, on="PNR", validate="many_to_one")
    full["KOEN"] = 1
    adult = full[full["AAR"] - full["FOED_AAR"] >= 15]
    return {
        "bef": full[["PNR", "AAR", "KOM", "OMRAADE", "FOED_AAR", "KOEN", "HERKOMST"]],
        "udda": full[["PNR", "AAR", "HFAUDD_NIVEAU", "UDD_IGANG"]],
        "ras": adult[["PNR", "AAR", "SOCIO13"]].reset_index(drop=True),
        "ind": adult[["PNR", "AAR", "PERINDKIALT"]].reset_index(drop=True),
        "krsi": pd.DataFrame(KRSI, columns=["PNR", "AAR", "KATEGORI"]),
        "kraf": pd.DataFrame(KRAF, columns=["PNR", "AAR", "KATEGORI", "AFGOERELSE"]),
        "anbringelser": pd.DataFrame(PLACED, columns=["PNR", "AAR"]),
    }


@pytest.fixture(scope="module")
def regs() -> dict[str, pd.DataFrame]:
    return make_registers()


@pytest.fixture(scope="module")
def out(regs: dict[str, pd.DataFrame]) -> pd.DataFrame:
    return area_indicators(regs, threads=1)


def row(frame: pd.DataFrame, area: str, year: int) -> pd.Series:
    hit = frame[(frame["area_id"] == area) & (frame["year"] == year)]
    assert len(hit) == 1
    return hit.iloc[0]


# Regional income benchmarks in 2020 (everyone 15-64 in bef, students excluded):
# region 1083 (Odense 461, Esbjerg 561): the ten A1 persons b, c, e, f, g, h, k, l, n, o
# (100+200+300+250+180+50+60+280+90+95 = 1,605 thousand) and, outside the areas, r (310),
# y (330) and z (64 years, 250): 2,495,000 over 13 persons. Not counted: the students
# a, j, m, y2 (y2 earns 1,000,000), d (65), q (71), i and p (under 15).
REGION_1083 = 2_495_000 / 13
# region 1084 (101, 147): t (400), u (120) in A2 and v (500) outside: 1,020,000 over 3.
# Not counted: w (student), x (70), and c, who joins only in 2021.
REGION_1084 = 1_020_000 / 3


def test_area_a1_2020_every_indicator(out: pd.DataFrame) -> None:
    r = row(out, A1, 2020)
    # Residents of A1 in 2020: a b c d e f g h i j k l m n o p (16); r lives outside this
    # year, s has died. Ages: a17 b18 c64 d65 e29 f30 g59 h60 i14 j15 k24 l25 m20 n20 o25 p0.
    assert r["kommune_code"] == ODENSE
    assert r["residents"] == 16
    # Non-Western (HERKOMST 3): f, g, o.
    assert r["nonwestern_share"] == pytest.approx(3 / 16, rel=1e-12)
    # 18-64: b c e f g h k l m n o (11; a is 17, d is 65). Outside (210/330/410):
    # b 330, c 210, h 410, k 410, n 330, o 330 -> 6. Not outside: e 131, f 220, g 321,
    # l 135, m 310.
    assert r["pop_18_64"] == 11
    assert r["outside_work_edu_share"] == pytest.approx(6 / 11, rel=1e-12)
    # 18+: the 11 above and d -> 12. Convicted in 2020 (dom; straffelov/vaabenlov/euf):
    # b and e (e's two decisions count once); not g (faerdsel), h (acquitted), d (2019).
    assert r["pop_18plus"] == 12
    assert r["convicted_share"] == pytest.approx(2 / 12, rel=1e-12)
    # 30-59: f (30) and g (59); e is 29, h is 60. Basic education (10): f -> 1/2.
    assert r["pop_30_59"] == 2
    assert r["basic_edu_share"] == pytest.approx(0.5, rel=1e-12)
    # 15-64 without students: b c e f g h k l n o (10; a, j, m are students, d is 65,
    # i is 14). Mean income 1,605,000 / 10 = 160,500.
    assert r["pop_15_64"] == 10
    assert r["income_rel_region"] == pytest.approx(160_500 / REGION_1083, rel=1e-12)
    # 15-24: a17 b18 j15 k24 m20 n20 (6; l is 25, i is 14). NEET (not 110-139, not 310,
    # UDD_IGANG 0): k (410) and n (330); b is on cash benefit but enrolled (UDD_IGANG 30);
    # a, j, m are students.
    assert r["pop_15_24"] == 6
    assert r["neet_share"] == pytest.approx(2 / 6, rel=1e-12)
    # Age 20: m (enrolled in vocational, 30) yes; n (basic, not enrolled) no.
    assert r["pop_age20"] == 2
    assert r["youth_edu_20_share"] == pytest.approx(0.5, rel=1e-12)
    # Age 25: l (HFAUDD 30) yes; o (10) no.
    assert r["pop_age25"] == 2
    assert r["youth_edu_25_share"] == pytest.approx(0.5, rel=1e-12)
    # 15-25: a b j k l m n o (8). Charged in 2020, not traffic: a, k, l (b only faerdsel,
    # i is 14, n's charge is in 2021) -> 3/8 per 1,000 = 375.
    assert r["pop_15_25"] == 8
    assert r["youth_charged_per_1000"] == pytest.approx(375.0, rel=1e-12)
    # 0-17: a17 i14 j15 p0 (4). Placed in 2020: a (i was placed in 2019) -> 250 per 1,000.
    assert r["pop_0_17"] == 4
    assert r["children_placed_per_1000"] == pytest.approx(250.0, rel=1e-12)
    # Moves in: k (from A2), o (absent in 2019: immigrated); p is a newborn (age 0).
    # Moves out: r (to an address outside the areas), s (died).
    assert r["moves_in"] == 2
    assert r["moves_out"] == 2


def test_area_a2_2020_and_zero_denominators(out: pd.DataFrame) -> None:
    r = row(out, A2, 2020)
    # Residents: t (40, employee, HFAUDD 50, 400,000) and u (45, non-Western, cash
    # benefit, basic education, 120,000).
    assert (r["kommune_code"], r["residents"]) == (KBH, 2)
    assert r["nonwestern_share"] == pytest.approx(0.5, rel=1e-12)
    assert r["outside_work_edu_share"] == pytest.approx(0.5, rel=1e-12)
    assert r["convicted_share"] == 0.0  # v's conviction is outside the areas
    assert r["basic_edu_share"] == pytest.approx(0.5, rel=1e-12)
    # Area mean 260,000; region mean 340,000 includes v, who lives outside the areas
    # (without v the ratio would be 1).
    assert r["income_rel_region"] == pytest.approx(260_000 / REGION_1084, rel=1e-12)
    assert REGION_1084 == 340_000
    # No one aged 0-17, 15-24, 15-25, 20 or 25: those indicators are missing.
    for share, count in [
        ("neet_share", "pop_15_24"),
        ("youth_edu_20_share", "pop_age20"),
        ("youth_edu_25_share", "pop_age25"),
        ("youth_charged_per_1000", "pop_15_25"),
        ("children_placed_per_1000", "pop_0_17"),
    ]:
        assert r[count] == 0
        assert np.isnan(r[share]), share
    # k moved to A1: one out, none in.
    assert (r["moves_in"], r["moves_out"]) == (0, 1)


def test_moves_all_years(out: pd.DataFrame) -> None:
    moves = out.set_index(["area_id", "year"])[["residents", "moves_in", "moves_out"]]
    # 2019 is bef's first year: moves are missing.
    assert moves.loc[(A1, 2019), "moves_in"] is pd.NA
    assert moves.loc[(A2, 2019), "moves_out"] is pd.NA
    # A1 2019: a b c d e f g h i j l m n r s (15). 2021: a b d e f g i j k l m n o p r (15).
    assert moves.loc[(A1, 2019), "residents"] == 15
    assert moves.loc[(A1, 2021), "residents"] == 15
    # A1 2021: in r (back from outside); out c (to A2) and h (emigrated).
    assert tuple(moves.loc[(A1, 2021), ["moves_in", "moves_out"]]) == (1, 2)
    # A2: 2019 k t u, 2020 t u, 2021 t u c. 2021: in c.
    assert tuple(moves.loc[(A2, 2021), ["residents", "moves_in", "moves_out"]]) == (3, 1, 0)
    # A3 holds only q in 2019; q lives outside the areas from 2020. The area keeps its rows,
    # with 0 residents, missing shares and q's move out.
    assert tuple(moves.loc[(A3, 2020), ["residents", "moves_in", "moves_out"]]) == (0, 0, 1)
    assert tuple(moves.loc[(A3, 2021), ["residents", "moves_in", "moves_out"]]) == (0, 0, 0)
    assert np.isnan(row(out, A3, 2020)["nonwestern_share"])


def test_newborns_counted_on_1_january_are_not_moves_in() -> None:
    # BEF counts the population on 1 January (domain brief: residents counted 1 January;
    # BEF is a Status register), so a child born in 2019 first appears in 2020, aged 1.
    # Persons in A1 in 2020 and their 2019 rows (counted by hand):
    residence = {  # PNR: (FOED_AAR, {AAR: OMRAADE})
        "adult": (1980, {2019: A1, 2020: A1}),  # stays: no move
        "born19": (2019, {2020: A1}),  # born 2019, first counted 2020 (age 1): newborn
        "born20": (2020, {2020: A1}),  # age 0 (registers dated later in the year): newborn
        "came19": (2019, {2019: None, 2020: A1}),  # in bef 2019 outside the areas: moved in
        "imm18": (2018, {2020: A1}),  # age 2, absent in 2019 (immigrated): moved in
    }
    rows = [
        (pnr, year, ODENSE, area, born, 1, 1)
        for pnr, (born, where) in residence.items()
        for year, area in where.items()
    ]
    cols = ["PNR", "AAR", "KOM", "OMRAADE", "FOED_AAR", "KOEN", "HERKOMST"]
    bef = pd.DataFrame(rows, columns=cols)
    adult = bef[bef["PNR"] == "adult"]
    regs = {
        "bef": bef,
        "udda": bef[["PNR", "AAR"]].assign(HFAUDD_NIVEAU=10, UDD_IGANG=0),
        "ras": adult[["PNR", "AAR"]].assign(SOCIO13=131),
        "ind": adult[["PNR", "AAR"]].assign(PERINDKIALT=300_000.0),
        "krsi": pd.DataFrame(columns=["PNR", "AAR", "KATEGORI"]),
        "kraf": pd.DataFrame(columns=["PNR", "AAR", "KATEGORI", "AFGOERELSE"]),
        "anbringelser": pd.DataFrame(columns=["PNR", "AAR"]),
    }
    got = row(area_indicators(regs, threads=1), A1, 2020)
    assert got["residents"] == 5
    assert (got["moves_in"], got["moves_out"]) == (2, 0)  # came19 and imm18


def test_output_schema_and_dtypes(out: pd.DataFrame) -> None:
    ek.validate(out, "area_year")
    fields = [f["name"] for f in ek.load_schema("area_year")["fields"]]
    assert list(out.columns) == fields
    assert len(out) == 3 * 3  # areas A1, A2, A3 x 2019-2021
    assert out[["area_id", "year"]].equals(
        out[["area_id", "year"]].sort_values(["area_id", "year"]).reset_index(drop=True)
    )
    assert out["moves_in"].dtype == "Int64"
    assert out["residents"].dtype == np.int64
    assert out["income_rel_region"].dtype == np.float64


def test_register_frames_meet_their_schemas(regs: dict[str, pd.DataFrame]) -> None:
    # The same contract, checked by the pandas validator on the Table Schemas.
    for name, frame in regs.items():
        ek.validate(frame, f"register_{name}")
    bad = regs["ras"].assign(SOCIO13=999)
    with pytest.raises(ek.SchemaError, match="SOCIO13"):
        ek.validate(bad, "register_ras")


@pytest.mark.parametrize("name", ek.registers.REGISTER_NAMES)
def test_register_schemas_are_well_formed(name: str) -> None:
    spec = ek.load_schema(f"register_{name}")
    assert spec["name"] == f"register_{name}"
    assert spec["fieldsMatch"] == "subset"  # analysts' further variables are allowed
    names = [f["name"] for f in spec["fields"]]
    assert names[:2] == ["PNR", "AAR"] and len(names) == len(set(names))
    for field in spec["fields"]:
        assert field["type"] in {"string", "integer", "number"}
        assert set(field.get("constraints", {})) <= {
            "required",
            "enum",
            "minimum",
            "maximum",
            "pattern",
        }
        assert field.get("description")
    if name == "bef":
        kom = next(f for f in spec["fields"] if f["name"] == "KOM")["constraints"]["enum"]
        kommuner = ek.datasets.load_dataset("dk_kommuner")["kommune_code"]
        assert sorted(kom) == sorted(kommuner.tolist())


def test_inputs_are_not_mutated(regs: dict[str, pd.DataFrame]) -> None:
    before = {k: v.copy(deep=True) for k, v in regs.items()}
    area_indicators(regs, threads=1)
    for name, frame in regs.items():
        pd.testing.assert_frame_equal(frame, before[name])


def test_students_income_is_irrelevant(regs: dict[str, pd.DataFrame], out: pd.DataFrame) -> None:
    # Change every student's (SOCIO13 310) income: income_rel_region must not move.
    students = regs["ras"].loc[regs["ras"]["SOCIO13"] == 310, ["PNR", "AAR"]]
    key = pd.MultiIndex.from_frame(regs["ind"][["PNR", "AAR"]])
    is_student = key.isin(pd.MultiIndex.from_frame(students))
    ind = regs["ind"].assign(PERINDKIALT=np.where(is_student, 9e6, regs["ind"]["PERINDKIALT"]))
    again = area_indicators({**regs, "ind": ind}, threads=1)
    pd.testing.assert_series_equal(again["income_rel_region"], out["income_rel_region"])


def test_years_subset_keeps_moves_from_previous_year(regs: dict[str, pd.DataFrame]) -> None:
    got = area_indicators(regs, years=[2020], areas=[A1, A2], threads=1)
    assert list(got["year"]) == [2020, 2020]
    # Same moves as the full run: bef holds 2019, so 2020's moves are defined.
    assert list(got["moves_in"]) == [2, 0]
    assert list(got["moves_out"]) == [2, 1]
    first = area_indicators(regs, years=2019, areas=pd.DataFrame({"area_id": [A1]}), threads=1)
    assert first["moves_in"].isna().all()
    assert first["residents"].tolist() == [15]


def test_stayers_baseline_2019(regs: dict[str, pd.DataFrame]) -> None:
    st = area_indicators(regs, population="stayers", baseline_year=2019, areas=[A1, A2], threads=1)
    s = st.set_index(["area_id", "year"])
    # A1 cohort = A1 in 2019: a b c d e f g h i j l m n r s (15).
    # 2020: without r (outside) and s (dead) -> 13; k, o, p are not in the cohort.
    # 2021: a b d e f g i j l m n r -> 12 (c moved, h emigrated, r is back in A1).
    assert s.loc[(A1, 2019), "residents"] == 15
    assert s.loc[(A1, 2020), "residents"] == 13
    assert s.loc[(A1, 2021), "residents"] == 12
    # Cohort moves: 2020 out r, s; 2021 in r (returner), out c, h.
    assert tuple(s.loc[(A1, 2020), ["moves_in", "moves_out"]]) == (0, 2)
    assert tuple(s.loc[(A1, 2021), ["moves_in", "moves_out"]]) == (1, 2)
    a1 = s.loc[(A1, 2020)]
    # Non-Western among the 13: f, g.
    assert a1["nonwestern_share"] == pytest.approx(2 / 13, rel=1e-12)
    # 15-64 non-students among the 13: b c e f g h l n (k and o are not in the cohort):
    # (100+200+300+250+180+50+280+90) thousand / 8 = 181,250; the benchmark stays the
    # whole region.
    assert a1["pop_15_64"] == 8
    assert a1["income_rel_region"] == pytest.approx(181_250 / REGION_1083, rel=1e-12)
    # 15-25: a b j l m n (6), charged a and l -> 2000/6.
    assert a1["youth_charged_per_1000"] == pytest.approx(2000 / 6, rel=1e-12)
    # A2 cohort k t u: 2020 t u (k left), 2021 t u (c is not in the cohort).
    assert s.loc[(A2, 2020), "residents"] == 2
    assert tuple(s.loc[(A2, 2021), ["residents", "moves_in", "moves_out"]]) == (2, 0, 0)
    ek.validate(st, "area_year")


def test_stayers_before_the_baseline(regs: dict[str, pd.DataFrame]) -> None:
    # Cohort = A1 in 2021: a b d e f g i j k l m n o p r. In 2019 those also in A1:
    # a b d e f g i j l m n r (12); in 2020: all but r (outside) -> 14.
    st = area_indicators(regs, population="stayers", baseline_year=2021, areas=A1, threads=1)
    assert st["residents"].tolist() == [12, 14, 15]
    # The baseline need not be among the years reported: cohort of 2019, reported for 2021
    # (a b d e f g i j l m n r, as in test_stayers_baseline_2019).
    later = area_indicators(
        regs, population="stayers", baseline_year=2019, years=2021, areas=A1, threads=1
    )
    assert later["residents"].tolist() == [12]


def test_missing_status_rows_warn_and_shrink_denominators(
    regs: dict[str, pd.DataFrame],
) -> None:
    # Drop c's ras row for 2020 (c: 64, unemployed, in A1).
    ras = regs["ras"][~((regs["ras"]["PNR"] == "c") & (regs["ras"]["AAR"] == 2020))]
    with pytest.warns(ek.DroppedRowsWarning, match="ras has no row for 1 of"):
        got = area_indicators({**regs, "ras": ras}, years=2020, threads=1)
    r = row(got, A1, 2020)
    # c leaves the 18-64 denominator and the outside numerator: 5/10.
    assert r["pop_18_64"] == 10
    assert r["outside_work_edu_share"] == pytest.approx(5 / 10, rel=1e-12)
    # ... and the income means: area (1,605 - 200)/9, region (2,495 - 200)/12 thousand.
    assert r["pop_15_64"] == 9
    assert r["income_rel_region"] == pytest.approx((1_405_000 / 9) / (2_295_000 / 12), rel=1e-12)
    assert r["residents"] == 16  # bef is unaffected


def test_column_mapping(regs: dict[str, pd.DataFrame], out: pd.DataFrame) -> None:
    renamed = {name: f.rename(columns={"PNR": "pnr_id", "AAR": "year"}) for name, f in regs.items()}
    renamed["bef"] = renamed["bef"].rename(columns={"OMRAADE": "omr", "KOM": "komkode"})
    renamed["ras"] = renamed["ras"].rename(columns={"SOCIO13": "socio13_nov"})
    got = area_indicators(
        renamed,
        columns={
            "PNR": "pnr_id",
            "AAR": "year",
            "bef": {"OMRAADE": "omr", "KOM": "komkode"},
            "ras": {"SOCIO13": "socio13_nov"},
        },
        threads=1,
    )
    pd.testing.assert_frame_equal(got, out)


def test_lower_case_names_need_no_mapping(regs: dict[str, pd.DataFrame], out: pd.DataFrame) -> None:
    lower = {name: f.rename(columns=str.lower) for name, f in regs.items()}
    pd.testing.assert_frame_equal(area_indicators(lower, threads=1), out)


def test_parquet_and_csv_paths(tmp_path, regs: dict[str, pd.DataFrame], out: pd.DataFrame) -> None:
    # Numeric-looking PNRs with leading zeros: the CSV must keep them as text to join
    # with the Parquet files.
    codes = {pnr: f"{i:04d}" for i, pnr in enumerate(PERSONS)}
    paths = {}
    for name, frame in regs.items():
        frame = frame.assign(PNR=frame["PNR"].map(codes))
        path = tmp_path / (f"{name}.csv" if name in ("bef", "krsi") else f"{name}.parquet")
        if path.suffix == ".csv":
            frame.to_csv(path, index=False)
        else:
            frame.to_parquet(path, index=False)
        paths[name] = str(path)
    got = area_indicators(paths, threads=1)
    pd.testing.assert_frame_equal(got, out)


# ---------------------------------------------------------------------------
# Errors


def test_missing_register(regs: dict[str, pd.DataFrame]) -> None:
    partial = {k: v for k, v in regs.items() if k not in ("krsi", "kraf")}
    with pytest.raises(ek.DataError, match=r"(?s)lacks 2 register\(s\).*'krsi'.*youth_charged"):
        area_indicators(partial)


def test_unknown_register_name(regs: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ek.ParameterError, match="Did you mean 'udda'"):
        area_indicators({**regs, "uda": regs["udda"]})
    with pytest.raises(ek.ParameterError, match="'registers' parameter"):
        area_indicators([regs["bef"]])  # type: ignore[arg-type]


def test_missing_column_names_register_and_mapping(regs: dict[str, pd.DataFrame]) -> None:
    ras = regs["ras"].rename(columns={"SOCIO13": "socio"})
    with pytest.raises(
        ek.DataError,
        match=r"(?s)register 'ras'.*SOCIO13: looked for column 'SOCIO13'.*"
        r"closest: 'socio'\); map it with columns=\{'ras': \{'SOCIO13': "
        r"'socio'\}\}",
    ):
        area_indicators({**regs, "ras": ras})
    with pytest.raises(ek.DataError, match="SOCIO13: mapped to column 'socio13x'"):
        area_indicators({**regs, "ras": ras}, columns={"ras": {"SOCIO13": "socio13x"}})


def test_bad_columns_argument(regs: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ek.ParameterError, match="Did you mean 'SOCIO13'"):
        area_indicators(regs, columns={"SOCIO12": "x"})
    with pytest.raises(ek.ParameterError, match=r"columns\['ras'\]"):
        area_indicators(regs, columns={"ras": {"HFAUDD_NIVEAU": "x"}})
    with pytest.raises(ek.ParameterError, match="'columns' parameter"):
        area_indicators(regs, columns=[("PNR", "pnr")])  # type: ignore[arg-type]


def test_duplicate_person_years_in_bef(regs: dict[str, pd.DataFrame]) -> None:
    bef = pd.concat([regs["bef"], regs["bef"].iloc[[3]]], ignore_index=True)
    first = regs["bef"].iloc[3]
    with pytest.raises(ek.DataError, match=f"PNR=.{first['PNR']}., AAR={first['AAR']}, rows=2"):
        area_indicators({**regs, "bef": bef})


def test_duplicate_person_years_in_ras(regs: dict[str, pd.DataFrame]) -> None:
    ras = pd.concat([regs["ras"], regs["ras"].query("PNR == 'b' and AAR == 2020")])
    with pytest.raises(ek.DataError, match=r"(?s)more than once.*ras: PNR='b', AAR=2020, rows=2"):
        area_indicators({**regs, "ras": ras})


def test_duplicate_person_years_in_udda(regs: dict[str, pd.DataFrame]) -> None:
    udda = pd.concat([regs["udda"], regs["udda"].query("PNR == 'f' and AAR == 2021")])
    with pytest.raises(ek.DataError, match=r"(?s)more than once.*udda: PNR='f', AAR=2021, rows=2"):
        area_indicators({**regs, "udda": udda})


def test_no_one_in_an_area(regs: dict[str, pd.DataFrame]) -> None:
    bef = regs["bef"].assign(OMRAADE=None)
    with pytest.raises(ek.DataError, match="no person with an OMRAADE"):
        area_indicators({**regs, "bef": bef})


def test_codes_outside_the_contract(regs: dict[str, pd.DataFrame]) -> None:
    # 131 is held by e, r, t, v, y, z in all three years: 18 rows.
    ras = regs["ras"].assign(SOCIO13=regs["ras"]["SOCIO13"].replace({131: 999}))
    krsi = regs["krsi"].assign(KATEGORI="vold")
    with pytest.raises(
        ek.DataError,
        match=r"(?s)'ras', SOCIO13: 18 row\(s\) hold codes outside.*'999'"
        r".*'krsi', KATEGORI.*'vold'",
    ):
        area_indicators({**regs, "ras": ras, "krsi": krsi})


def test_kommune_outside_the_list_and_fractional_year(regs: dict[str, pd.DataFrame]) -> None:
    bef = regs["bef"].assign(KOM=regs["bef"]["KOM"].replace({FRB: 999}))
    udda = regs["udda"].assign(AAR=regs["udda"]["AAR"].astype(float))
    udda.loc[0, "AAR"] = 2019.5
    with pytest.raises(
        ek.DataError,
        match=r"(?s)KOM: 6 row\(s\).*'999'.*AAR: 1 row\(s\) must "
        r"hold whole numbers; values: '2019.5'",
    ):
        area_indicators({**regs, "bef": bef, "udda": udda})


def test_birth_after_year_and_missing_values(regs: dict[str, pd.DataFrame]) -> None:
    bef = regs["bef"].copy()
    bef.loc[0, "FOED_AAR"] = 2030
    bef.loc[1, "HERKOMST"] = np.nan
    with pytest.raises(
        ek.DataError,
        match=r"(?s)HERKOMST: 1 row\(s\) must not be missing.*"
        r"FOED_AAR: 1 row\(s\) have a birth year after AAR"
        r".*'a: AAR 2019, FOED_AAR 2030'",
    ):
        area_indicators({**regs, "bef": bef})


def test_empty_status_register(regs: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ek.DataError, match="register 'bef' \\(DataFrame\\) is empty"):
        area_indicators({**regs, "bef": regs["bef"].iloc[:0]})


def test_empty_event_register_is_fine(regs: dict[str, pd.DataFrame]) -> None:
    got = area_indicators(
        {**regs, "anbringelser": regs["anbringelser"].iloc[:0]}, years=2020, areas=A1, threads=1
    )
    assert got["children_placed_per_1000"].tolist() == [0.0]


def test_area_in_two_kommuner(regs: dict[str, pd.DataFrame]) -> None:
    bef = regs["bef"].copy()
    bef.loc[bef["PNR"] == "t", "KOM"] = FRB
    with pytest.raises(ek.DataError, match=r"'A2': KOM 101\.\.147"):
        area_indicators({**regs, "bef": bef})


def test_years_areas_baseline_not_in_bef(regs: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ek.DataError, match=r"years \[2022\] are not in bef.*2019-2021"):
        area_indicators(regs, years=[2020, 2022])
    with pytest.raises(ek.DataError, match=r"areas \['A9'\] do not occur"):
        area_indicators(regs, areas=["A1", "A9"])
    with pytest.raises(ek.DataError, match="baseline_year 2015 is not in bef"):
        area_indicators(regs, population="stayers", baseline_year=2015)


def test_parameter_errors(regs: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ek.ParameterError, match="'population' parameter"):
        area_indicators(regs, population="movers")  # type: ignore[arg-type]
    with pytest.raises(ek.ParameterError, match=r"'baseline_year'.*population='stayers'"):
        area_indicators(regs, population="stayers")
    with pytest.raises(ek.ParameterError, match=r"'baseline_year'.*None when population='area'"):
        area_indicators(regs, baseline_year=2019)
    with pytest.raises(ek.ParameterError, match="'years' parameter"):
        area_indicators(regs, years=["2020"])
    with pytest.raises(ek.ParameterError, match="'threads' parameter"):
        area_indicators(regs, threads=0)
    with pytest.raises(ek.ParameterError, match="'memory_limit' parameter"):
        area_indicators(regs, memory_limit="")
    with pytest.raises(ek.ParameterError, match="DuckDB rejected"):
        area_indicators(regs, memory_limit="lots")
    with pytest.raises(ek.DataError, match=r"'areas' argument.*'area_id'"):
        area_indicators(regs, areas=pd.DataFrame({"id": [A1]}))


def test_bad_paths(tmp_path, regs: dict[str, pd.DataFrame]) -> None:
    with pytest.raises(ek.ParameterError, match="names no existing file"):
        area_indicators({**regs, "bef": tmp_path / "nope.parquet"})
    sas = tmp_path / "bef.sas7bdat"
    sas.write_bytes(b"")
    with pytest.raises(ek.ParameterError, match="neither Parquet"):
        area_indicators({**regs, "bef": sas})
    broken = tmp_path / "bef.parquet"
    broken.write_bytes(b"not parquet")
    with pytest.raises(ek.DataError, match="DuckDB could not read"):
        area_indicators({**regs, "bef": broken})


def test_missing_duckdb(monkeypatch: pytest.MonkeyPatch, regs: dict[str, pd.DataFrame]) -> None:
    monkeypatch.setitem(sys.modules, "duckdb", None)  # makes `import duckdb` fail
    with pytest.raises(ek.OptionalDependencyError, match=r"pip install 'effekt\[registers\]'"):
        area_indicators(regs)


# ---------------------------------------------------------------------------
# End to end: the simulator's registers give the simulator's area_year


def test_simulated_registers_reproduce_simulated_area_year() -> None:
    # effekt.simulate computes area_year directly from its person-years with its own numpy
    # code (written separately, from the same register contract); the registers it emits
    # must give the same table through area_indicators. Seven years keep the test quick.
    world = ek.simulate.denmark(n_areas=20, seed=1, years=(2016, 2022))
    regs = world.registers()
    got = area_indicators(regs, threads=2)
    want = world.area_year
    key = ["area_id", "year"]
    got = got.sort_values(key).reset_index(drop=True)
    want = want.sort_values(key).reset_index(drop=True)
    assert len(got) == 20 * 7
    pd.testing.assert_frame_equal(got, want, rtol=1e-12)
    # Stayers are a subset of the residents in every area-year.
    stayers = area_indicators(regs, population="stayers", baseline_year=2016, threads=2)
    assert (stayers["residents"].to_numpy() <= got["residents"].to_numpy()).all()
    assert (
        stayers.query("year == 2016")["residents"].to_numpy()
        == got.query("year == 2016")["residents"].to_numpy()
    ).all()


def test_simulator_and_pipeline_share_the_register_codes():
    # one definition (effekt.registers.codes) behind the SQL and the simulator's emitted
    # registers; the conviction categories the simulator draws are exactly the counted ones
    from effekt.registers import _sql, codes
    from effekt.simulate import _dgp, _registers

    assert _sql.OUTSIDE == "p.SOCIO13 IN (210, 330, 410)"
    assert _sql.WORKING == "p.SOCIO13 BETWEEN 110 AND 139"
    assert _sql.CONVICTING == "('straffelov', 'vaabenlov', 'euf')"
    assert tuple(_dgp._OUT_CODES) == codes.SOCIO13_OUTSIDE
    assert set(_registers._QUALIFYING) == set(codes.CONVICTING_CATEGORIES)
    assert set(codes.CONVICTING_CATEGORIES) < set(_registers._CATEGORIES)


def test_indicator_names_follow_the_area_year_schema():
    from effekt.registers import codes

    order = [f["name"] for f in ek.load_schema("area_year")["fields"]]
    shares = [c for c in order if c.endswith(("_share", "_per_1000")) or c == "income_rel_region"]
    assert tuple(shares) == codes.SHARE_INDICATORS
    assert tuple(c for c in order if c.startswith("pop_")) == codes.POPULATION_COUNTS
