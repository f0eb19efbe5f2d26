"""Outcomes and statistics of person-years (internal).

The row-level part of the data-generating process: each person-year's education,
labour-market status (SOCIO13), income, charges, convictions and placements, from
person attributes, the area-year components, the planted effects and four 16-bit
uniforms per person-year (common random numbers). The same code computes a block of
whole persons (rows by slicing: the factual pass over every person-year) and any
subset of a block (rows by gathering: the few person-years that change in a
counterfactual world); the operations are elementwise, so both give bit-identical
values.

Aggregation to area-year statistics works on a 16-bit word of flags per person-year
(which numerators of :data:`STATS` it counts in) and a 10-class age code (which
population bands it is in), so that any subset of person-years is summed with a few
``bincount`` calls. Counts are exact; so are, in practice, the float64 sums of the
float32 incomes (they are multiples of 2**-13 DKK and stay far below 2**40 DKK), so
the order of summation does not change them.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from scipy.special import ndtri

from effekt.registers import codes
from effekt.simulate._dgp import _BENEFIT, _OUT_CODES, FAMILIES, Areas, Config, Persons, Rows
from effekt.simulate._dgp import year_shocks as _year_shocks

# --------------------------------------------------------------------------- outcomes


@dataclass
class Outcome:
    """Register values of a set of person-years."""

    hf: np.ndarray  # int8 HFAUDD_NIVEAU
    udd: np.ndarray  # int8 UDD_IGANG
    socio: np.ndarray  # int16 SOCIO13 (0 for ages under 15)
    income: np.ndarray  # float32 PERINDKIALT (0 under 15)
    charged: np.ndarray  # bool, ages 15-25: at least one (non-traffic) charge
    conv: np.ndarray  # bool, ages 18+: convicted (penal code, weapons, drugs)
    placed: np.ndarray  # bool, ages 0-17: placed out of home

    def take(self, idx: np.ndarray | slice) -> Outcome:
        return Outcome(*(getattr(self, f.name)[idx] for f in fields(self)))


# Age profiles indexed by age (0-149): charges 15-25, convictions 18+, outside work, wages.
_AGE_CH = np.r_[
    np.zeros(15), [0.8, 1.0, 1.2, 1.25, 1.2, 1.1, 1.0, 0.9, 0.8, 0.7, 0.6], np.zeros(124)
].astype(np.float32)
_AGE_CV = np.r_[
    np.zeros(18),
    np.full(7, 1.8),
    np.full(10, 1.1),
    np.full(15, 0.6),
    np.full(15, 0.25),
    np.full(85, 0.05),
].astype(np.float32)
_AGE_EMP = np.r_[
    np.full(18, 0.8),
    np.full(7, 0.4),
    np.full(5, 0.1),
    np.zeros(25),
    np.full(5, 0.3),
    np.full(5, 0.8),
    np.zeros(85),
].astype(np.float32)
_AGE_WAGE = np.r_[np.full(18, 0.15), np.full(7, 0.55), np.full(5, 0.85), np.ones(120)].astype(
    np.float32
)

# Lookup tables over the 65,536 values of a 16-bit lane: the uniform, a scrambled copy of it
# (an odd multiplier is a bijection modulo 2**16) and the standard-normal quantile.
_K16 = np.arange(65536, dtype=np.uint32)
_U16 = ((_K16.astype(np.float64) + 0.5) / 65536.0).astype(np.float32)
_SUB16 = _U16[(_K16 * np.uint32(40503) + np.uint32(12345)) & np.uint32(0xFFFF)]
_Z16 = ndtri(_U16.astype(np.float64)).astype(np.float32)
# Functions of a lane value, tabulated once (the same float32 operations as per person-year):
# the benefit multiplier exp(0.08 z), the outside-work status, and the status that overrides
# the employee level by age class (0: under 25, 1: 25-59, 2: 60-64; 0 = no override).
_E08 = np.exp(np.float32(0.08) * _Z16)
_Z02 = np.float32(0.2) * _Z16
_OUT_BY_LANE = _OUT_CODES[(_SUB16 >= 0.3).astype(np.int8) + (_SUB16 >= 0.75)]


def _override(age_class: int) -> np.ndarray:
    code = np.zeros(65536, np.int16)
    if age_class >= 1:
        code[_SUB16 < 0.04] = 110  # self-employed
    code[_SUB16 > 0.89] = 220  # temporarily out (sickness, leave)
    code[_SUB16 > 0.94] = 321  # disability pension
    if age_class == 2:
        code[_SUB16 > 0.75] = 323  # efterløn
    return code


_WORK_OVERRIDE = np.concatenate([_override(0), _override(1), _override(2)])
# SOCIO13 lookups: benefit level by code, and the codes that count as outside work/education
_BENEFIT_TABLE = np.zeros(500, np.float32)
for _code, _amount in _BENEFIT.items():
    _BENEFIT_TABLE[_code] = _amount
# the amount times exp(0.08 z) of persons not working, by SOCIO13 (+ 500 under 18): benefits,
# and student grants (12,000 under 18, 95,000 from 18)
_AMOUNT = np.r_[_BENEFIT_TABLE, _BENEFIT_TABLE].astype(np.float32)
_AMOUNT[310], _AMOUNT[500 + 310] = 95_000, 12_000
_IS_OUT = np.zeros(500, bool)
_IS_OUT[_OUT_CODES] = True
_MU_WAGE = np.zeros(100, np.float32)  # log wage level by HFAUDD_NIVEAU
_MU_WAGE[10], _MU_WAGE[20], _MU_WAGE[30] = 12.45, 12.72, 12.72
_MU_WAGE[40], _MU_WAGE[50], _MU_WAGE[70] = 12.95, 12.95, 13.24
_WORK_CODE = np.full(100, 135, np.int16)  # SOCIO13 employee level by education
_WORK_CODE[20:40], _WORK_CODE[40:70], _WORK_CODE[70:] = 134, 133, 132
# education term of the outside-work log-odds by HFAUDD_NIVEAU
_HF = np.arange(100)
_HF_TERM = np.float32(0.65) * (_HF == 10) - np.float32(0.55) * (_HF >= 40)


@dataclass
class EduPaths:
    """Each person's education path as ages (int8) at which HFAUDD_NIVEAU / UDD_IGANG change.

    HFAUDD_NIVEAU is 10 before ``t1``, the youth level from ``t1`` and the higher level
    from ``t2``; UDD_IGANG is 10 at ages 6-15, the youth level at ages ``16 .. e1 - 1``,
    the higher level at ages ``hs .. he - 1`` and 0 otherwise (127 and 0 mean never).
    """

    t1: np.ndarray
    t2: np.ndarray
    e1: np.ndarray
    hs: np.ndarray
    he: np.ndarray

    @classmethod
    def of(cls, ps: Persons, completed: np.ndarray) -> EduPaths:
        known = ~ps.unknown
        comp = completed & known
        hi = comp & ps.hi
        never, zero = np.int8(127), np.int8(0)
        return cls(
            np.where(comp, ps.age_done, never),
            np.where(hi, ps.hi_end, never),
            np.where(known, np.where(completed, ps.age_done, ps.age_drop), zero),
            np.where(hi, ps.hi_start, zero),
            np.where(hi, ps.hi_end, zero),
        )


def completion(ps: Persons, delta_edu: np.ndarray | None) -> np.ndarray:
    """Whether each person completes a youth education by 25 (common random numbers)."""
    p = ps.p25 if delta_edu is None else np.clip(ps.p25 + delta_edu, 0.03, 0.98)
    return ps.u_comp < p


# --------------------------------------------------------------------------- selections


class At:
    """Person-years to compute: a block of whole persons or a subset of a block.

    ``rows`` are the row indices (a slice for a block), ``pid`` the persons (intp, to
    gather person attributes), ``ay`` the flat area-year index of the components
    (persons outside the study areas: an extra last area), ``lanes`` the four 16-bit
    random lanes (drawn for blocks that need them) and ``persons`` the persons of a
    block (a slice).
    """

    def __init__(
        self,
        rows: slice | np.ndarray,
        pid: np.ndarray,
        ay: np.ndarray,
        lanes: np.ndarray | None = None,
        persons: slice | None = None,
    ) -> None:
        self.rows, self.pid, self.ay, self.lanes, self.persons = rows, pid, ay, lanes, persons
        self.n = len(pid)

    @property
    def start(self) -> int:
        """First row of a block."""
        assert isinstance(self.rows, slice)
        return int(self.rows.start)

    def row(self, a: np.ndarray) -> np.ndarray:
        return a[self.rows]

    def person(self, a: np.ndarray) -> np.ndarray:
        return np.take(a, self.pid)

    def sub(self, local: np.ndarray) -> At:
        """The person-years at positions ``local`` of this selection."""
        rows = self.rows.start + local if isinstance(self.rows, slice) else self.rows[local]
        lanes = None if self.lanes is None else self.lanes[:, local]
        return At(rows, self.pid[local], self.ay[local], lanes)


def union(arrays: list[np.ndarray]) -> np.ndarray:
    """Sorted distinct values of integer arrays (``np.unique`` hashes, which is slow here)."""
    if len(arrays) <= 1:
        return arrays[0] if arrays else np.zeros(0, np.int64)
    a = np.sort(np.concatenate(arrays))
    return a[np.r_[True, a[1:] != a[:-1]]] if len(a) else a


class Facts:
    """The factual outcomes of every person-year, compactly.

    The flags of :func:`stat_flags` stand in for the charged, convicted and placed
    booleans (which they include).
    """

    def __init__(self, n: int) -> None:
        self.hf = np.zeros(n, np.int8)
        self.udd = np.zeros(n, np.int8)
        self.socio = np.zeros(n, np.int16)
        self.income = np.zeros(n, np.float32)
        self.flags = np.zeros(n, np.uint16)

    def put(self, rows: slice | np.ndarray, out: Outcome, flags: np.ndarray) -> None:
        self.hf[rows], self.udd[rows], self.socio[rows] = out.hf, out.udd, out.socio
        self.income[rows], self.flags[rows] = out.income, flags

    def take(self, idx: np.ndarray | slice) -> Outcome:
        flags = self.flags[idx]
        return Outcome(
            self.hf[idx],
            self.udd[idx],
            self.socio[idx],
            self.income[idx],
            (flags & CHARGED) != 0,
            (flags & CONVICTED) != 0,
            (flags & PLACED) != 0,
        )


# --------------------------------------------------------------------------- engine

# person-years per block of the random lanes (about a million; blocks hold whole persons)
_LANE_BLOCK = 1 << 20


class Engine:
    """Computes outcomes of any selection of person-years, given the effects to apply.

    One 64-bit draw per person-year gives four 16-bit uniforms (common random numbers):
    lane 0 labour status, 1 charges, 2 convictions (18+) or placements (0-17), 3 income.
    They are not stored: each large block of persons draws its lanes when a pass needs
    them, the first time from the generator (in order) and later from the generator
    state saved at the block's start. Drawing in blocks gives the same numbers as one
    draw of every person-year (each bounded 64-bit value is drawn on its own).
    """

    def __init__(
        self, cfg: Config, areas: Areas, ps: Persons, rows: Rows, rng: np.random.Generator
    ) -> None:
        self.cfg, self.ps, self.rows = cfg, ps, rows
        self.n_areas = areas.n
        self._rng = rng
        self._states: list[Mapping[str, Any]] = []
        years = np.arange(cfg.y0, cfg.y1 + 1)
        shocks = _year_shocks(years)
        # area components with an extra last row for persons outside the study areas
        self.comp = {
            f: np.vstack([areas.comp[f], shocks[f][None, :]]).astype(np.float32).ravel()
            for f in FAMILIES
        }
        self.growth = (1.02 ** (years - 2015.0)).astype(np.float32)
        # person parts of the charge and conviction probabilities (the first product)
        self.risk_cv = np.float32(0.011) * ps.risk
        self.risk_ch = np.float32(0.045) * ps.risk
        self.row_len, self.row_start = rows.length, rows.start
        self.big = self._bounds(_LANE_BLOCK, 0, ps.n)  # the large blocks (first, last person)

    # ------------------------------------------------------------------ selections

    def ay_of(self, area: np.ndarray, year: np.ndarray) -> np.ndarray:
        """Flat area-year index (int32); persons outside the areas: an extra last area."""
        a = np.where(area >= 0, area, np.int16(self.n_areas)).astype(np.int32)
        return a * np.int32(self.cfg.n_years) + (year - np.int16(self.cfg.y0))

    def block(self, p0: int, p1: int, within: At | None = None) -> At:
        """The person-years of persons ``p0:p1`` (slices of ``within``, if given)."""
        rows = slice(int(self.row_start[p0]), int(self.row_start[p1]))
        if within is not None:
            lo, hi = rows.start - within.start, rows.stop - within.start
            lanes = None if within.lanes is None else within.lanes[:, lo:hi]
            return At(rows, within.pid[lo:hi], within.ay[lo:hi], lanes, slice(p0, p1))
        ay = self.ay_of(self.rows.area[rows], self.rows.year[rows])
        pid = self.rows.pid[rows].astype(np.intp)
        return At(rows, pid, ay, None, slice(p0, p1))

    def _bounds(self, size: int, p0: int, p1: int) -> list[tuple[int, int]]:
        lo, hi = int(self.row_start[p0]), int(self.row_start[p1])
        cuts = np.searchsorted(self.row_start, np.arange(lo + size, hi, size))
        b = np.r_[p0, cuts, p1]
        b = b[np.r_[True, b[1:] != b[:-1]]]
        return [(int(x), int(y)) for x, y in itertools.pairwise(b)]

    def blocks(self, size: int, within: At | None = None) -> list[At]:
        """Blocks of whole persons with about ``size`` person-years each (of ``within``)."""
        if within is None:
            p0, p1 = 0, self.ps.n
        else:
            assert within.persons is not None
            p0, p1 = within.persons.start, within.persons.stop
        return [self.block(a, b, within) for a, b in self._bounds(size, p0, p1)]

    def big_blocks(self, lanes: bool = False) -> Iterator[At]:
        """The large blocks of whole persons, with their random lanes if ``lanes``."""
        top = np.iinfo(np.int64).max
        for i, (p0, p1) in enumerate(self.big):  # loop over large blocks
            at = self.block(p0, p1)
            if lanes:
                if i == len(self._states):  # first pass: draw on from the generator
                    self._states.append(self._rng.bit_generator.state)
                    rng = self._rng
                else:
                    rng = np.random.Generator(np.random.PCG64())
                    rng.bit_generator.state = self._states[i]
                bits = rng.integers(0, top, at.n, dtype=np.int64)
                at.lanes = bits.view(np.uint16).reshape(-1, 4).T
            yield at

    def rows_of(self, persons: np.ndarray) -> np.ndarray:
        """Row indices of ``persons`` (each person's rows are contiguous)."""
        n = self.row_len[persons]
        start = np.repeat(self.row_start[persons] - (np.cumsum(n) - n), n)
        return start + np.arange(int(n.sum()))

    def uniform(self, at: At, k: int) -> np.ndarray:
        """The uniforms (k + 1/2) / 2**16 of lane ``k`` (float32, exact: as ``_U16``)."""
        assert at.lanes is not None
        return (at.lanes[k].astype(np.float32) + np.float32(0.5)) * np.float32(2**-16)

    # ------------------------------------------------------------------ outcomes

    def education(self, at: At, paths: EduPaths) -> tuple[np.ndarray, np.ndarray]:
        """HFAUDD_NIVEAU and UDD_IGANG (int8)."""
        # Selections by arithmetic on disjoint 0/1 masks: exact, and much faster than
        # np.where on masks that change from row to row.
        ps = self.ps
        age = at.row(self.rows.age)
        ylev, hlev = at.person(ps.ylev), at.person(ps.hi_lev)
        hf = (
            np.int8(10)
            + (age >= at.person(paths.t1)) * (ylev - np.int8(10))
            + (age >= at.person(paths.t2)) * (hlev - ylev)
        )
        udd = (
            ((age >= 6) & (age <= 15)) * np.int8(10)
            + ((age >= 16) & (age < at.person(paths.e1))) * ylev
            + ((age >= at.person(paths.hs)) & (age < at.person(paths.he))) * hlev
        )
        return hf, udd

    def p_out(self, at: At, hf: np.ndarray, delta: dict[str, np.ndarray]) -> np.ndarray:
        """Probability of being outside work/education (before truncation to (0, 1))."""
        age = at.row(self.rows.age)
        x = at.person(self.ps.x_emp) + np.take(_AGE_EMP, age)
        x += np.take(_HF_TERM, hf)
        p = np.float32(1.0) / (np.float32(1.0) + np.exp(-x))
        p += np.take(self.comp["out"], at.ay)
        if "out" in delta:
            p += delta["out"]
        if "neet" in delta:
            p += delta["neet"] * ((age >= 15) & (age <= 24))
        return p

    def labour(
        self, at: At, hf: np.ndarray, udd: np.ndarray, delta: dict[str, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray]:
        """SOCIO13 and income.

        Whether a person aged 15-64 not in education is outside work/education compares
        the row's uniform with the probability; which status code (and so which income)
        a person gets within the two groups uses a scrambled copy of the same uniform, so
        that a changed probability changes only the outside/inside split (common random
        numbers).
        """
        assert at.lanes is not None
        age = at.row(self.rows.age)
        k = at.lanes[0]
        out = self.uniform(at, 0) < np.clip(self.p_out(at, hf, delta), 0.002, 0.998)
        age_class = (age >= 25).astype(np.int32) + (age >= 60)
        override = np.take(_WORK_OVERRIDE, k + (age_class << 16))
        code = np.take(_WORK_CODE, hf)
        code += (override > 0) * (override - code)
        outside = np.take(_OUT_BY_LANE, k)
        code += out * (outside - code)
        # the groups are disjoint: 65+, students 15-64, the labour force 15-64, children
        socio = (
            (age >= 65) * np.int16(322)
            + ((age >= 15) & (age < 65) & (udd > 0)) * np.int16(310)
            + ((age >= 15) & (age < 65) & (udd == 0)) * code
        )
        # income (DKK), growing 2 % a year: a wage for the working, else a benefit or student
        # grant (0 for children) times exp(0.08 z); one term is non-zero, so the sum is exact
        k3 = at.lanes[3]
        wage = np.exp(
            np.take(_MU_WAGE, hf) + at.person(self.ps.wage) + np.take(_Z02, k3)
        ) * np.take(_AGE_WAGE, age)
        amount = np.take(_AMOUNT, socio + (age < 18) * np.int16(500))
        income = amount * np.take(_E08, k3) + wage * ((socio >= 100) & (socio < 200))
        income *= np.take(self.growth, at.row(self.rows.year) - self.cfg.y0)
        return socio, income

    def p_crime(self, at: At, delta: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Probabilities of a charge and of a conviction (before truncation)."""
        age = at.row(self.rows.age)
        ay = at.ay
        p_cv = at.person(self.risk_cv) * np.take(_AGE_CV, age) + np.take(self.comp["cv"], ay)
        p_ch = at.person(self.risk_ch) * np.take(_AGE_CH, age) + np.take(self.comp["ch"], ay)
        if "cv" in delta:
            p_cv += delta["cv"]
        if "ch" in delta:
            p_ch += delta["ch"]
        return p_ch, p_cv

    def crime(self, at: At, delta: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Charged (15-25) and convicted (18+) flags."""
        age = at.row(self.rows.age)
        p_ch, p_cv = self.p_crime(at, delta)
        conv = (age >= 18) & (self.uniform(at, 2) < p_cv)
        charged = (age >= 15) & (age <= 25) & ((self.uniform(at, 1) < p_ch) | conv)
        return charged, conv

    def p_placed(self, at: At, delta: dict[str, np.ndarray]) -> np.ndarray:
        p = at.person(self.ps.q_pl) + np.take(self.comp["pl"], at.ay)
        if "pl" in delta:
            p += delta["pl"]
        return p

    def placed(self, at: At, delta: dict[str, np.ndarray]) -> np.ndarray:
        """Placed-out-of-home flags (ages 0-17)."""
        return (at.row(self.rows.age) <= 17) & (self.uniform(at, 2) < self.p_placed(at, delta))

    def outcome(self, at: At, paths: EduPaths, delta: dict[str, np.ndarray]) -> Outcome:
        """Every outcome of the person-years, with the effects ``delta`` per family."""
        hf, udd = self.education(at, paths)
        socio, income = self.labour(at, hf, udd, delta)
        charged, conv = self.crime(at, delta)
        return Outcome(hf, udd, socio, income, charged, conv, self.placed(at, delta))


# --------------------------------------------------------------------------- statistics

# Statistics accumulated per area-year (numerators and denominators of area_year).
STATS = (
    "residents",
    "pop_18_64",
    "out_num",
    "pop_18plus",
    "conv_num",
    "pop_30_59",
    "basic_num",
    "pop_15_64",
    "inc_sum",
    "nonw_num",
    "pop_15_24",
    "neet_num",
    "pop_age20",
    "edu20_num",
    "pop_age25",
    "edu25_num",
    "pop_15_25",
    "charged_num",
    "pop_0_17",
    "placed_num",
)
_S = {name: i for i, name in enumerate(STATS)}

# Statistics counted from a person-year's flags, in the order of the flag bits. pop_15_64 is
# the income population (ages 15-64 not in education), so it is a flag rather than a band.
FLAG_STATS = (
    "out_num",
    "conv_num",
    "basic_num",
    "pop_15_64",
    "nonw_num",
    "neet_num",
    "edu20_num",
    "edu25_num",
    "charged_num",
    "placed_num",
)
_BIT = {name: np.uint16(1 << i) for i, name in enumerate(FLAG_STATS)}
INC = _BIT["pop_15_64"]
CHARGED, CONVICTED, PLACED = _BIT["charged_num"], _BIT["conv_num"], _BIT["placed_num"]

# Population bands (first age, last age) and the age classes that make them up.
_POP_BANDS = {
    "residents": (0, 149),
    "pop_18_64": (18, 64),
    "pop_18plus": (18, 149),
    "pop_30_59": (30, 59),
    "pop_15_24": (15, 24),
    "pop_age20": (20, 20),
    "pop_age25": (25, 25),
    "pop_15_25": (15, 25),
    "pop_0_17": (0, 17),
}
_CUTS = sorted({lo for lo, _ in _POP_BANDS.values()} | {hi + 1 for _, hi in _POP_BANDS.values()})
AGE_CLASS = (np.searchsorted(_CUTS, np.arange(150), side="right") - 1).astype(np.int32)
N_CLASSES = len(_CUTS) - 1
_CLASS_IN_BAND = np.array(
    [
        [lo <= _CUTS[c] and _CUTS[c + 1] - 1 <= hi for c in range(N_CLASSES)]
        for lo, hi in _POP_BANDS.values()
    ],
    dtype=np.int64,
)
_BAND_ROWS = [_S[name] for name in _POP_BANDS]


def stat_flags(age: np.ndarray, herk: np.ndarray, out: Outcome) -> np.ndarray:
    """Flags of the numerators each person-year counts in (register-contract definitions)."""
    socio, hf, udd = out.socio, out.hf, out.udd
    nonstud = socio != codes.SOCIO13_STUDENT
    lo, hi = codes.SOCIO13_WORKING
    working = (socio >= lo) & (socio <= hi)
    conds = {
        "out_num": (age >= 18) & (age <= 64) & np.take(_IS_OUT, socio),
        "conv_num": out.conv,
        "basic_num": (age >= 30) & (age <= 59) & (hf == 10),
        "pop_15_64": (age >= 15) & (age <= 64) & nonstud,
        "nonw_num": herk == 3,
        "neet_num": (age >= 15) & (age <= 24) & ~working & nonstud & (udd == 0),
        "edu20_num": (age == 20) & ((hf >= 20) | (udd == 20) | (udd == 30)),
        "edu25_num": (age == 25) & (hf >= 20),
        "charged_num": out.charged,
        "placed_num": out.placed,
    }
    flags = np.zeros(len(age), np.uint16)
    for name, cond in conds.items():  # loop over the ten flags
        flags += cond * _BIT[name]
    return flags


class GroupSums:
    """Running sums of each statistic of STATS per group (``group`` in ``0 .. n_groups - 1``)."""

    def __init__(self, n_groups: int) -> None:
        self.n = n_groups
        self.by_class = np.zeros(n_groups * N_CLASSES, np.int64)
        self.counts = np.zeros((len(FLAG_STATS), n_groups), np.int64)
        self.income = np.zeros(n_groups)

    def add(
        self, group: np.ndarray, age: np.ndarray, flags: np.ndarray, income: np.ndarray
    ) -> None:
        n = self.n
        self.by_class += np.bincount(
            group * N_CLASSES + np.take(AGE_CLASS, age), minlength=n * N_CLASSES
        )
        for j, bit in enumerate(_BIT.values()):  # loop over the ten flags
            sel = np.flatnonzero((flags & bit) != 0)
            g = group.take(sel)
            self.counts[j] += np.bincount(g, minlength=n)
            if bit == INC:
                self.income += np.bincount(g, weights=income.take(sel), minlength=n)

    def merge(self, other: GroupSums) -> None:
        """Add the sums of ``other`` (over the same groups)."""
        self.by_class += other.by_class
        self.counts += other.counts
        self.income += other.income

    def result(self) -> np.ndarray:
        """The sums, shape ``(len(STATS), n_groups)`` (float; counts are exact)."""
        res = np.zeros((len(STATS), self.n))
        res[_BAND_ROWS] = _CLASS_IN_BAND @ self.by_class.reshape(self.n, N_CLASSES).T
        for j, name in enumerate(FLAG_STATS):
            res[_S[name]] = self.counts[j]
        res[_S["inc_sum"]] = self.income
        return res


def group_sums(
    group: np.ndarray,
    age: np.ndarray,
    flags: np.ndarray,
    income: np.ndarray,
    n_groups: int,
) -> np.ndarray:
    """Sum each statistic of STATS per group (``group`` in ``0 .. n_groups - 1``)."""
    acc = GroupSums(n_groups)
    acc.add(group, age, flags, income)
    return acc.result()


def region_sums(
    group: np.ndarray, flags: np.ndarray, income: np.ndarray, n_groups: int
) -> np.ndarray:
    """Count and income sum of persons 15-64 not in education, per group."""
    sel = np.flatnonzero((flags & INC) != 0)
    g = group[sel]
    return np.vstack(
        [
            np.bincount(g, minlength=n_groups),
            np.bincount(g, weights=income[sel], minlength=n_groups),
        ]
    )
