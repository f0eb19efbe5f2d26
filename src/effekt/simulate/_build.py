"""Assembling a simulated world: outcomes, lists, transformations and exact counterfactuals."""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field, fields
from functools import partial

import numpy as np
import pandas as pd

from effekt.options import resolve_threads
from effekt.parallel import thread_map
from effekt.registers import codes
from effekt.simulate import _dgp as D
from effekt.simulate._effects import KINDS
from effekt.simulate._engine import (
    _S,
    INC,
    STATS,
    At,
    EduPaths,
    Engine,
    Facts,
    GroupSums,
    Outcome,
    completion,
    group_sums,
    region_sums,
    stat_flags,
    union,
)

SHARE_OUTCOMES = codes.SHARE_INDICATORS
COUNT_OUTCOMES = ("residents", "moves_in", "moves_out")
POP_COLUMNS = codes.POPULATION_COUNTS
AREA_YEAR_COLUMNS = (
    "area_id",
    "year",
    "kommune_code",
    "residents",
    *SHARE_OUTCOMES[:5],
    *SHARE_OUTCOMES[5:],
    "moves_in",
    "moves_out",
    *POP_COLUMNS,
)
# share outcome -> (numerator stat, denominator stat, scale)
_RATIOS = {
    "outside_work_edu_share": ("out_num", "pop_18_64", 1.0),
    "convicted_share": ("conv_num", "pop_18plus", 1.0),
    "basic_edu_share": ("basic_num", "pop_30_59", 1.0),
    "nonwestern_share": ("nonw_num", "residents", 1.0),
    "neet_share": ("neet_num", "pop_15_24", 1.0),
    "youth_edu_20_share": ("edu20_num", "pop_age20", 1.0),
    "youth_edu_25_share": ("edu25_num", "pop_age25", 1.0),
    "youth_charged_per_1000": ("charged_num", "pop_15_25", 1000.0),
    "children_placed_per_1000": ("placed_num", "pop_0_17", 1000.0),
}
_CHUNK = 100_000  # person-years per block in the pass over every person-year (cache-sized)


@dataclass
class Sums:
    """Area-year statistics, regional income sums and moves of one world."""

    area: np.ndarray  # (len(STATS), n_areas * T)
    region: np.ndarray  # (2, 5 * T)
    moves: np.ndarray  # (2, n_areas * T), NaN in the first year


@dataclass
class _World:
    """A counterfactual world: which kinds' effects are removed, from which world."""

    key: str
    kinds: set[str]
    member: np.ndarray  # persons in the world
    start: Sums  # the sums of the world with the effects
    edu: np.ndarray | None  # persons whose youth education changes (None: nobody)
    paths: EduPaths | None  # their education paths without the effects
    rows: list[np.ndarray] = field(default_factory=list)  # changed person-years, by block
    new: list[tuple[np.ndarray, ...]] = field(default_factory=list)  # and their outcomes

    @classmethod
    def of(cls, b: Builder, key: str, kinds: set[str], member: np.ndarray, start: Sums) -> _World:
        d_edu = b.d_edu.copy()
        for kind, (persons, val) in b.edu_contrib.items():  # in the order of the effects
            if kind in kinds:
                d_edu[persons] -= val
        completed = completion(b.ps, d_edu)
        edu = (completed != b.completed) & member
        if not edu.any():
            return cls(key, kinds, member, start, None, None)
        return cls(key, kinds, member, start, edu, EduPaths.of(b.ps, completed))


class Builder:
    """Runs the data-generating process and keeps what the World needs.

    Construction computes the factual world and its ``area_year`` table (with the
    physical transformations that the lists imply); :meth:`counterfactuals`, needed
    only for the truth, runs on demand. The passes over person-years work on blocks
    of whole persons, so that temporaries stay small.
    """

    def __init__(self, cfg: D.Config) -> None:
        self.cfg = cfg
        ss = np.random.SeedSequence(cfg.seed)
        r_areas, r_prog, r_ten, r_pop, r_eng, r_reg = (
            np.random.default_rng(s) for s in ss.spawn(6)
        )
        self.register_seed = r_reg.integers(0, 2**63 - 1)
        # wall seconds of each step (benchmarks/bench_simulate.py reports them)
        self.seconds: dict[str, float] = {}
        clock = time.perf_counter()

        def step(name: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            self.seconds[name] = now - clock
            clock = now

        self.areas = D.make_areas(r_areas, cfg)
        self.progs = D.make_programs(r_prog, cfg, self.areas)
        self.tens = D.make_tenancies(r_ten, cfg, self.areas)
        step("areas, efforts, tenancies")
        self.ps = D.make_population(r_pop, cfg, self.areas, self.tens)
        step("population")
        self.rows = D.expand_rows(self.ps)
        self.engine = Engine(cfg, self.areas, self.ps, self.rows, r_eng)
        self.T = cfg.n_years
        step("person-years")
        self._effects()
        self.completed = completion(self.ps, self.d_edu)
        step("effects")
        self._factual()
        step("outcomes")

    # ------------------------------------------------------------------ effects

    def _effects(self) -> None:
        """The planted effects: on youth education (by person) and the plan for the rest.

        Effects on person-year probabilities are computed block by block
        (:meth:`_effect_values`); here each kind's exposed persons are found.
        """
        cfg, ps, progs = self.cfg, self.ps, self.progs
        y0, y1, T = cfg.y0, cfg.y1, self.T
        self.timelines = {k: D.Timeline.of(progs.active[k], y0) for k in KINDS}
        self._bg_z = np.array([1.0, 0.0, -1.0])  # by parental education (basic, youth, higher)
        area_p = np.flatnonzero(ps.area >= 0)
        self.d_edu = np.zeros(ps.n, np.float32)
        # kind -> (persons, contribution) of the effects on youth education, in order
        self.edu_contrib: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        # the other effects, in order: (kind, family, scale, area multiplier, background,
        # build-up, persistence ** years since the last exposed year)
        self._plan: list[tuple[str, str, float, np.ndarray, float, float, np.ndarray]] = []
        self._kind_exposure: dict[str, tuple[np.ndarray, ...]] = {}
        childhood = D.ChildhoodWindow.of(ps, area_p, y0, y1)
        # the area persons' spells: area, first and last year (from y0)
        spells = (
            ps.area.take(area_p).astype(np.int32),
            ps.in_start.take(area_p).astype(np.int32) - np.int32(y0),
            ps.in_end.take(area_p).astype(np.int32) - np.int32(y0),
        )
        for (kind, outcome), eff in self.cfg.effects.items():
            fam = D.OUTCOME_FAMILY[outcome]
            tl = self.timelines[kind]
            mult = progs.mult[(kind, outcome)]
            if fam == "edu":
                e18 = childhood.exposure(tl)
                sel = area_p[e18 > 0]
                size = (
                    eff.size / (1 - D._P_ENROLLED_20)
                    if outcome == "youth_edu_20_share"
                    else eff.size
                )
                val = (
                    size
                    * mult[ps.area[sel]]
                    * (1 + eff.background * self._bg_z[ps.pe[sel]])
                    * np.minimum(e18[e18 > 0], eff.buildup)
                    / eff.buildup
                ).astype(np.float32)
                self.d_edu[sel] += val
                self.edu_contrib[kind] = (sel, val)  # one youth-education effect per kind
                continue
            if kind not in self._kind_exposure:
                self._kind_exposure[kind] = self._exposed_persons(tl, area_p, spells)
            if outcome.endswith("_per_1000"):
                scale = eff.size / 1000.0
            elif fam == "neet":
                scale = eff.size / D._NEET_NONSTUDENT
            else:
                scale = eff.size
            # persistence ** gap, tabulated (the same power function per element)
            fade = eff.persistence ** np.arange(T + 1)
            plan = (kind, fam, scale, mult, eff.background, float(eff.buildup), fade)
            self._plan.append(plan)
        self.families = list(dict.fromkeys(fam for _, fam, *_ in self._plan))

    def _exposed_persons(
        self, tl: D.Timeline, area_p: np.ndarray, spells: tuple[np.ndarray, ...]
    ) -> tuple[np.ndarray, ...]:
        """Persons exposed to a kind while in their area.

        ``spells`` holds the area, first and last year (from ``y0``) of the persons
        ``area_p``. Returns the persons (int64), the number of years from moving in to
        their first year of exposure, the kind's cumulative activity (``Timeline.cum``)
        and last active year (``Timeline.last``), flattened.
        """
        T = self.T
        a, s, end = spells
        # the first active year from each year on (T: none)
        active = np.diff(tl.cum, axis=1) > 0
        on = np.where(active, np.arange(T, dtype=np.int32), np.int32(T))
        nxt = np.minimum.accumulate(on[:, ::-1], axis=1)[:, ::-1].ravel()
        first = nxt.take(a * np.int32(T) + s)
        ever = np.flatnonzero(first <= end)
        skip = (first.take(ever) - s.take(ever)).astype(np.int16)
        return area_p.take(ever), skip, tl.cum.ravel(), tl.last.astype(np.int32).ravel()

    def _block_exposure(self, kind: str, at: At) -> tuple[np.ndarray, ...]:
        """Exposure of a block's person-years to a kind.

        A person's exposure in year ``t`` is the number of years from moving in to
        ``min(t, last year in the area)`` in which the kind operated in the area; the gap
        is the number of years since the last of them (0 while it operates). Returns the
        kind's exposed persons in the block, their numbers of rows from the first year of
        exposure on, the positions of those rows in the block, their years of exposure
        (at least 1) and their gaps.
        """
        assert at.persons is not None
        ps, eng, T, y0 = self.ps, self.engine, self.T, self.cfg.y0
        persons, skip, cum, last_year = self._kind_exposure[kind]
        j0, j1 = np.searchsorted(persons, [at.persons.start, at.persons.stop])
        pk = persons[j0:j1]
        sk = skip[j0:j1]
        # (intp indices: numpy gathers with them directly)
        a = ps.area.take(pk).astype(np.intp)
        s = ps.in_start.take(pk).astype(np.intp) - y0
        end = ps.in_end.take(pk).astype(np.intp) - y0
        n = eng.row_len.take(pk) - sk
        offset = eng.row_start.take(pk) + sk - at.start - (np.cumsum(n) - n)
        li = np.repeat(offset, n) + np.arange(int(n.sum()))
        t = at.row(self.rows.year).take(li).astype(np.intp) - y0
        t_eff = np.minimum(t, np.repeat(end, n))
        row0 = a * (T + 1)
        e = cum.take(np.repeat(row0 + 1, n) + t_eff) - np.repeat(cum.take(row0 + s), n)
        last = last_year.take(np.repeat(a * T, n) + t_eff)
        gap = (last >= np.repeat(s + y0, n)) * (t + y0 - last)
        return pk, n, li, e, gap

    def _effect_values(self, at: At) -> list[tuple[str, str, np.ndarray, np.ndarray]]:
        """The effects on a block's person-years, in the order of the effects.

        Returns ``(kind, family, rows, values)``: the positions in the block of the
        person-years with at least one year of exposure (one array per kind) and the
        float32 effects (:class:`~effekt.simulate.Effect`: size, area and background
        heterogeneity, build-up and persistence).
        """
        ps = self.ps
        local: dict[str, tuple[np.ndarray, ...]] = {}
        out = []
        for kind, fam, scale, mult, background, buildup, fade in self._plan:
            if kind not in local:
                local[kind] = self._block_exposure(kind, at)
            pk, n, li, e, gap = local[kind]
            # the person part, then per person-year (the float64 operations in this order)
            person = (
                scale
                * mult.take(ps.area.take(pk))
                * (1 + background * self._bg_z.take(ps.pe.take(pk)))
            )
            val = np.repeat(person, n) * np.minimum(e, buildup) / buildup * fade.take(gap)
            out.append((kind, fam, li, val.astype(np.float32)))
        return out

    def _deltas(
        self, at: At, values: list[tuple[str, str, np.ndarray, np.ndarray]]
    ) -> dict[str, np.ndarray]:
        """The summed effects per family on a block (dense float32, added in order)."""
        delta = {f: np.zeros(at.n, np.float32) for f in self.families}
        for _, fam, li, val in values:
            delta[fam][li] += val
        return delta

    # ------------------------------------------------------------------ the factual world

    def _factual(self) -> None:
        """Outcomes and statistic flags of every person-year, block by block.

        Each large block of whole persons gets its random lanes (drawn in order, in
        this thread) and the effects of the interventions on its person-years; its
        outcomes are computed in small, cache-sized blocks. The large blocks run on the
        ``threads`` option's threads (they write disjoint rows; their sums are exact,
        so the order of adding them does not matter). The same pass sums the
        statistics of the persons present in every world (all but the two candidate
        households of transformable tenancies).
        """
        self.fact = Facts(self.rows.n)
        paths = EduPaths.of(self.ps, self.completed)
        parts = thread_map(partial(self._factual_block, paths), self.engine.big_blocks(lanes=True))
        area = GroupSums(self.areas.n * self.T)
        region = np.zeros((2, 5 * self.T))
        for a, r in parts:  # loop over large blocks
            area.merge(a)
            region += r
        self.s_c0 = (area.result(), region)

    def _factual_block(self, paths: EduPaths, big: At) -> tuple[GroupSums, np.ndarray]:
        """The factual pass over one large block: outcomes stored, sums returned."""
        eng, ps, rows, T, y0 = self.engine, self.ps, self.rows, self.T, self.cfg.y0
        area = GroupSums(self.areas.n * T)
        region = np.zeros((2, 5 * T))
        big_delta = self._deltas(big, self._effect_values(big))
        for at in eng.blocks(_CHUNK, within=big):  # loop over small blocks
            lo = at.start - big.start
            delta = {f: v[lo : lo + at.n] for f, v in big_delta.items()}
            out = eng.outcome(at, paths, delta)
            age = at.row(rows.age)
            flags = stat_flags(age, at.person(ps.herk), out)
            self.fact.put(at.rows, out, flags)
            always = at.person(ps.cand) == 0
            sel = np.flatnonzero(always & (at.row(rows.area) >= 0))
            area.add(at.ay.take(sel), age.take(sel), flags.take(sel), out.income.take(sel))
            sel = np.flatnonzero(always & ((flags & INC) != 0))
            reg = at.person(ps.reg).take(sel).astype(np.int32) * np.int32(T) + (
                at.row(rows.year).take(sel) - y0
            )
            income = out.income.take(sel)
            region[0] += np.bincount(reg, minlength=5 * T)
            region[1] += np.bincount(reg, weights=income, minlength=5 * T)
        return area, region

    # ------------------------------------------------------------------ sums

    def sums(self, idx: np.ndarray, out: Outcome | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Area-year and region-year sums over rows ``idx`` (factual values unless ``out``)."""
        ps, rows, T = self.ps, self.rows, self.T
        flags, income = self._flags(idx, out)
        pid = rows.pid[idx]
        reg = ps.reg[pid].astype(np.int32) * np.int32(T) + (rows.year[idx] - self.cfg.y0)
        return self._area_sums(idx, flags, income), region_sums(reg, flags, income, 5 * T)

    def area_sums(self, idx: np.ndarray, out: Outcome | None = None) -> np.ndarray:
        """Area-year sums over rows ``idx`` (factual values unless ``out``)."""
        return self._area_sums(idx, *self._flags(idx, out))

    def _flags(self, idx: np.ndarray, out: Outcome | None) -> tuple[np.ndarray, np.ndarray]:
        if out is None:
            return self.fact.flags[idx], self.fact.income[idx]
        herk = self.ps.herk[self.rows.pid[idx]]
        return stat_flags(self.rows.age[idx], herk, out), out.income

    def _area_sums(self, idx: np.ndarray, flags: np.ndarray, income: np.ndarray) -> np.ndarray:
        # rows outside the areas fall in an extra last area, dropped
        n_a = self.areas.n * self.T
        ay = self.engine.ay_of(self.rows.area[idx], self.rows.year[idx])
        res = group_sums(ay, self.rows.age[idx], flags, income, n_a + self.T)
        return res[:, :n_a]

    def moves(self, member: np.ndarray) -> np.ndarray:
        """Moves in and out per area-year of the persons in ``member`` (NaN in the first year)."""
        if not hasattr(self, "_moves_c0"):  # the persons in every world, once
            self._moves_c0 = self._moves(np.flatnonzero((self.ps.cand == 0) & (self.ps.area >= 0)))
        c12 = self._c12[0]
        res = self._moves_c0 + self._moves(c12[member[c12]])
        res[:, np.arange(self.areas.n) * self.T] = np.nan  # first year: no previous year
        return res

    def _moves(self, p: np.ndarray) -> np.ndarray:
        ps, y0, y1, T = self.ps, self.cfg.y0, self.cfg.y1, self.T
        a = ps.area[p].astype(np.int64)
        s = ps.in_start[p].astype(np.int64)
        e = ps.in_end[p].astype(np.int64)
        # newborns (first counted on the 1 January after their birth, absent before) are no
        # moves in: the registers' rule (FOED_AAR >= AAR - 1 and not in bef in AAR - 1)
        moved_in = (s > y0) & (ps.birth[p] < s - 1)
        moved_out = e < y1
        n_a = self.areas.n * T
        return np.vstack(
            [
                np.bincount(a[moved_in] * T + s[moved_in] - y0, minlength=n_a),
                np.bincount(a[moved_out] * T + e[moved_out] + 1 - y0, minlength=n_a),
            ]
        ).astype(float)

    def member(self, transform_start: np.ndarray) -> np.ndarray:
        """Which persons of the superset exist in the world with these transformations."""
        c12, cand, area, t_start, u_mix = self._c12
        start = transform_start[area]
        use = (start > 0) & (t_start >= start) & (u_mix < self.cfg.transformation_mix)
        member = self.ps.cand == 0
        member[c12] = np.where(cand == 1, ~use, use)
        return member

    # ------------------------------------------------------------------ indicators

    def indicators(self, s: Sums) -> dict[str, np.ndarray]:
        """area_year indicator arrays (n_areas * T) from sums."""
        A, T = self.areas, self.T
        res: dict[str, np.ndarray] = {}
        st = s.area
        with np.errstate(invalid="ignore", divide="ignore"):
            for name, (num, den, scale) in _RATIOS.items():
                d = st[_S[den]]
                res[name] = np.where(d > 0, scale * st[_S[num]] / np.where(d > 0, d, 1), np.nan)
            reg_mean = s.region[1] / s.region[0]
            area_reg = np.repeat(A.reg_idx.astype(np.int64), T) * T + np.tile(np.arange(T), A.n)
            d = st[_S["pop_15_64"]]
            own = np.where(d > 0, st[_S["inc_sum"]] / np.where(d > 0, d, 1), np.nan)
            res["income_rel_region"] = own / reg_mean[area_reg]
        res["residents"] = st[_S["residents"]]
        res["moves_in"], res["moves_out"] = s.moves[0], s.moves[1]
        for col in POP_COLUMNS:
            res[col] = st[_S[col]]
        return res

    def frame(self, s: Sums) -> pd.DataFrame:
        """The area_year table of a world with these sums (schema column order)."""
        A, T, y0 = self.areas, self.T, self.cfg.y0
        ind = self.indicators(s)
        out: dict[str, object] = {
            "area_id": pd.array(np.repeat(A.area_id, T), dtype="str"),
            "year": np.tile(np.arange(y0, y0 + T, dtype=np.int64), A.n),
            "kommune_code": np.repeat(A.kom.astype(np.int64), T),
            "residents": ind["residents"].astype(np.int64),
        }
        for col in AREA_YEAR_COLUMNS[4:]:
            if col in ("moves_in", "moves_out"):
                out[col] = pd.Series(ind[col]).astype("Int64").array
            elif col in POP_COLUMNS:
                out[col] = ind[col].astype(np.int64)
            else:
                out[col] = ind[col]
        return pd.DataFrame(out)

    # ------------------------------------------------------------------ the world

    def run(self) -> None:
        """Transformations from the lists and the factual world."""
        from effekt.lists import classify

        clock = time.perf_counter()

        cfg, ps, A, tens = self.cfg, self.ps, self.areas, self.tens
        # the candidate households of transformable tenancies: persons, candidate (1 ordinary,
        # 2 rich), area, tenancy start and the uniform choosing the rich one
        c12 = np.flatnonzero(ps.cand > 0)
        ten = ps.ten[c12]
        self._c12 = (c12, ps.cand[c12], tens.area[ten], tens.start[ten], tens.u_mix[ten])
        self.rows_c12 = self.engine.rows_of(c12)
        none = np.zeros(A.n, np.int64)
        self.base = self._world_sums(none)
        start = none
        self.iterations = 0
        # Physical transformations follow the hard-ghetto / omdannelse lists, which depend on
        # the areas' indicators, which depend (through who moves in) on the transformations:
        # iterate to a fixed point (in practice reached on the second pass).
        for _ in range(6):
            self.iterations += 1
            sums = self.base if not start.any() else self._world_sums(start)
            frame = self.frame(sums)
            lists = classify(frame, regime="auto")
            new = self._transform_starts(lists)
            if np.array_equal(new, start):
                break
            start = new
        self.transform_start = start
        self.lists = lists
        self.sums_fact = sums
        self.area_year = frame
        self.member_fact = self.member(start)
        self.member_base = self.member(none)
        self.progs.active["fysisk_omdannelse"][:] = (start[:, None] > 0) & (
            np.arange(cfg.y0, cfg.y1 + 1)[None, :] >= start[:, None]
        )
        self.timelines["fysisk_omdannelse"] = D.Timeline.of(
            self.progs.active["fysisk_omdannelse"], cfg.y0
        )
        self.cohort = {k: self._first_year(self.progs.active[k]) for k in KINDS}
        self.seconds["lists, transformations"] = time.perf_counter() - clock

    def _world_sums(self, start: np.ndarray) -> Sums:
        member = self.member(start)
        idx = self.rows_c12[member[self.rows.pid[self.rows_c12]]]
        a, r = self.sums(idx)
        return Sums(self.s_c0[0] + a, self.s_c0[1] + r, self.moves(member))

    def _transform_starts(self, lists: pd.DataFrame) -> np.ndarray:
        cfg = self.cfg
        hard = np.zeros(len(lists), bool)
        for col in ("haardt_ghetto", "omdannelsesomraade"):
            if col in lists:
                hard |= lists[col].fillna(False).to_numpy(dtype=bool)
        hard &= lists["year"].to_numpy() >= D.TRANSFORM_FIRST - 1
        sel = lists.loc[hard, ["area_id", "year"]]
        first = sel.groupby("area_id", sort=False)["year"].min() + 1
        first = first[first <= cfg.y1]
        start = np.zeros(self.areas.n, np.int64)
        pos = pd.Index(self.areas.area_id).get_indexer(first.index)
        start[pos] = first.to_numpy()
        return start

    def _first_year(self, active: np.ndarray) -> np.ndarray:
        any_on = active.any(axis=1)
        return np.where(any_on, self.cfg.y0 + np.argmax(active, axis=1), 0)

    # ------------------------------------------------------------------ counterfactuals

    def counterfactuals(self) -> None:
        """Sums of the world without each kind (and without any intervention).

        Counterfactual ``all`` removes every effect from the world without
        transformations. Worlds are exact (common random numbers): a person-year's
        outcome changes only where its uniform falls between the factual and the
        counterfactual probability, or where a youth education is no longer completed.
        One pass over the blocks finds those person-years for every world; the sums are
        corrected by them.
        """
        eng = self.engine
        kinds_with = sorted({k for k, *_ in self._plan} | set(self.edu_contrib), key=KINDS.index)
        worlds = [_World.of(self, k, {k}, self.member_fact, self.sums_fact) for k in kinds_with]
        worlds.append(_World.of(self, "all", set(KINDS), self.member_base, self.base))

        def block(big: At) -> list[tuple[np.ndarray, tuple[np.ndarray, ...]] | None]:
            values = self._effect_values(big)
            delta = self._deltas(big, values)
            return [self._changes(big, values, delta, w) for w in worlds]

        # the large blocks on the threads option's threads; their changes kept in order
        for changes in thread_map(block, eng.big_blocks(lanes=True)):  # loop over blocks
            for w, change in zip(worlds, changes, strict=True):
                if change is not None:
                    w.rows.append(change[0])
                    w.new.append(change[1])
        self.cf_sums: dict[str, Sums] = {}
        self._cf_rows: dict[str, tuple[np.ndarray, Outcome]] = {}
        for w in worlds:
            idx = np.concatenate(w.rows) if w.rows else np.zeros(0, np.int64)
            if w.new:
                new = Outcome(*(np.concatenate(p) for p in zip(*w.new, strict=True)))
            else:
                new = self.fact.take(idx)  # nothing changes
            self._cf_rows[w.key] = (idx, new)
            if not len(idx):
                self.cf_sums[w.key] = w.start
                continue
            a_old, r_old = self.sums(idx)
            a_new, r_new = self.sums(idx, new)
            s = w.start
            self.cf_sums[w.key] = Sums(s.area - a_old + a_new, s.region - r_old + r_new, s.moves)
        self.cf_sums["fysisk_omdannelse"] = self.base
        for kind in KINDS:
            self.cf_sums.setdefault(kind, self.sums_fact)

    def _changes(
        self,
        big: At,
        values: list[tuple[str, str, np.ndarray, np.ndarray]],
        delta: dict[str, np.ndarray],
        w: _World,
    ) -> tuple[np.ndarray, tuple[np.ndarray, ...]] | None:
        """The person-years of a block whose outcomes differ in world ``w``, and theirs.

        Returns their row indices and their outcomes (the fields of :class:`Outcome`),
        or None where nothing changes.
        """
        eng, rows, fact = self.engine, self.rows, self.fact
        lo = big.start
        # the removed effects' rows (candidates) and values per family on them (added in
        # order, as in the factual)
        mine = [(kind, fam, li, val) for kind, fam, li, val in values if kind in w.kinds]
        kinds = {kind: li for kind, _, li, _ in mine}
        if len(kinds) == 1:  # one kind: its families share the rows
            cand = next(iter(kinds.values()))
            rem = {fam: val for _, fam, _, val in mine}
        elif kinds:
            hit = np.zeros(big.n, bool)
            for li in kinds.values():
                hit[li] = True
            cand = np.flatnonzero(hit)
            loc = np.cumsum(hit, dtype=np.int32) - np.int32(1)
            rem = {}
            for _, fam, li, val in mine:
                if fam not in rem:
                    rem[fam] = np.zeros(len(cand), np.float32)
                rem[fam][loc.take(li)] += val
        changed, relabour = [], []
        if w.edu is not None:  # persons whose youth education changes: all their rows
            assert big.persons is not None
            p = np.flatnonzero(w.edu[big.persons]) + big.persons.start
            r_edu = eng.rows_of(p) - lo
            changed.append(r_edu)
            relabour.append(r_edu)
        else:
            r_edu = np.zeros(0, np.int64)
        new_crime: dict[str, tuple[np.ndarray, ...]] = {}
        if kinds:
            c_age = rows.age[lo + cand]
            c_keep = w.member.take(big.pid.take(cand))

            def removed(f: str, i: np.ndarray) -> np.ndarray:
                return rem[f].take(i) if f in rem else np.zeros(len(i), np.float32)

            def nonzero(*fs: str) -> np.ndarray:
                out = np.zeros(len(cand), bool)
                for f in fs:
                    if f in rem:
                        out |= rem[f] != 0
                return out

            # where a removed effect is zero nothing changes (p - 0 == p): skip those rows
            if "out" in rem or "neet" in rem:
                soc = fact.socio[lo + cand]
                sel = c_keep & (soc != 0) & (soc != 310) & (soc != 322) & nonzero("out", "neet")
                if "out" not in rem:  # a NEET effect acts at ages 15-24 only
                    sel &= (c_age >= 15) & (c_age <= 24)
                i = np.flatnonzero(sel)
                r, age = cand.take(i), c_age.take(i)
                d = removed("out", i) + removed("neet", i) * ((age >= 15) & (age <= 24))
                at = big.sub(r)
                # the factual, untruncated probability (recomputed: bit-identical)
                fd: dict[str, np.ndarray] = {
                    f: delta[f].take(r) for f in ("out", "neet") if f in delta
                }
                p = eng.p_out(at, fact.hf[lo + r], fd)
                u = eng.uniform(at, 0)
                flip = (u < np.clip(p, 0.002, 0.998)) != (u < np.clip(p - d, 0.002, 0.998))
                changed.append(r[flip])
                relabour.append(r[flip])
            if "ch" in rem or "cv" in rem:
                sel = c_keep & (c_age >= 15) & nonzero("ch", "cv")
                if "cv" not in rem:  # convictions unchanged: only the charges of 15-25
                    sel &= c_age <= 25
                i = np.flatnonzero(sel)
                r, age = cand.take(i), c_age.take(i)
                at = big.sub(r)
                fd = {f: delta[f].take(r) for f in ("ch", "cv") if f in delta}
                p_ch, p_cv = eng.p_crime(at, fd)
                conv = (age >= 18) & (eng.uniform(at, 2) < p_cv - removed("cv", i))
                charged = (
                    (age >= 15)
                    & (age <= 25)
                    & ((eng.uniform(at, 1) < p_ch - removed("ch", i)) | conv)
                )
                old = fact.take(lo + r)
                diff = (conv != old.conv) | (charged != old.charged)
                new_crime["crime"] = (r[diff], charged[diff], conv[diff])
                changed.append(r[diff])
            if "pl" in rem:
                i = np.flatnonzero(c_keep & (c_age <= 17) & nonzero("pl"))
                r = cand.take(i)
                at = big.sub(r)
                p_pl = eng.p_placed(at, {"pl": delta["pl"].take(r)})
                placed = eng.uniform(at, 2) < p_pl - rem["pl"].take(i)
                diff = placed != fact.take(lo + r).placed
                new_crime["placed"] = (r[diff], placed[diff])
                changed.append(r[diff])
        if not changed:
            return None
        idx = union(changed)
        if not len(idx):
            return None
        new = fact.take(lo + idx)
        if len(r_edu):
            assert w.paths is not None
            pos = np.searchsorted(idx, r_edu)
            new.hf[pos], new.udd[pos] = eng.education(big.sub(r_edu), w.paths)
        rl = union(relabour)
        if len(rl):
            pl = np.searchsorted(idx, rl)
            fd = {f: v.take(rl) for f, v in delta.items()}
            if kinds:  # the effects without the removed ones, where removed
                loc = np.minimum(np.searchsorted(cand, rl), len(cand) - 1)
                hit = cand.take(loc) == rl
                for f in rem:
                    fd[f] = fd[f] - np.where(hit, rem[f].take(loc), np.float32(0))
            new.socio[pl], new.income[pl] = eng.labour(big.sub(rl), new.hf[pl], new.udd[pl], fd)
        if "crime" in new_crime:
            r, charged, conv = new_crime["crime"]
            pos = np.searchsorted(idx, r)
            new.charged[pos], new.conv[pos] = charged, conv
        if "placed" in new_crime:
            r, placed = new_crime["placed"]
            new.placed[np.searchsorted(idx, r)] = placed
        return lo + idx, tuple(getattr(new, f.name) for f in fields(Outcome))

    def release(self) -> None:
        """Drop what only the counterfactuals and the truth needed."""
        del self._cf_rows, self._kind_exposure, self._plan
        self.__dict__.pop("_stayers", None)

    # ------------------------------------------------------------------ truth

    def _stayer_table(self) -> np.ndarray:
        """Sums of the residents by area, year and first year in the area, cumulated.

        ``table[:, a, t, j]`` sums the statistics over the persons living in area ``a``
        in year ``y0 + t`` who have lived there since before ``y0 + j``: the baseline
        stayers for a cohort ``y0 + j``, for every cohort from one pass.
        """
        eng, ps, rows, T = self.engine, self.ps, self.rows, self.T
        n_a = self.areas.n

        def task(blocks: list[tuple[int, int]]) -> GroupSums:
            # one accumulator per task (its groups are large: area x year x first year)
            acc = GroupSums(n_a * T * T)
            for p0, p1 in blocks:  # loop over this task's large blocks
                at = eng.block(p0, p1)
                keep = np.flatnonzero((at.row(rows.area) >= 0) & at.person(self.member_fact))
                since = at.person(ps.in_start).take(keep).astype(np.int64) - self.cfg.y0
                group = at.ay.take(keep).astype(np.int64) * T + since
                flags = at.row(self.fact.flags).take(keep)
                income = at.row(self.fact.income).take(keep)
                acc.add(group, at.row(rows.age).take(keep), flags, income)
            return acc

        # the large blocks in one contiguous run per thread
        n = min(resolve_threads(), len(eng.big))
        cut = np.linspace(0, len(eng.big), n + 1).round().astype(int)
        tasks = [eng.big[a:b] for a, b in itertools.pairwise(cut)]
        acc, *rest = thread_map(task, tasks, n)
        for part in rest:  # loop over the other tasks' sums
            acc.merge(part)
        table = np.zeros((len(STATS), n_a, T, T + 1))
        np.cumsum(acc.result().reshape(len(STATS), n_a, T, T), axis=3, out=table[..., 1:])
        return table

    def _stayer_sums(self, kind: str) -> tuple[Sums, Sums] | None:
        """Sums over baseline stayers of the areas treated by ``kind``: factual, counterfactual."""
        ps, rows, T, y0 = self.ps, self.rows, self.T, self.cfg.y0
        if not hasattr(self, "_stayers"):
            self._stayers = self._stayer_table()
        coh = self.cohort[kind]
        a, t = np.nonzero((coh[:, None] > 0) & (np.arange(y0, y0 + T)[None, :] >= coh[:, None]))
        a_f = np.zeros((len(STATS), self.areas.n * T))
        a_f[:, a * T + t] = self._stayers[:, a, t, coh[a] - y0]
        if not a_f[_S["residents"]].any():
            return None
        a_c = a_f
        cf_rows = self._cf_rows.get(kind)
        if cf_rows is not None and len(cf_rows[0]):
            idx, cf = cf_rows
            area = rows.area[idx]
            c = np.where(area >= 0, coh[area], 0)
            pid = rows.pid[idx]
            hit = np.flatnonzero(
                (c > 0) & (rows.year[idx] >= c) & (ps.in_start[pid] < c) & self.member_fact[pid]
            )
            if len(hit):
                a_old = self.area_sums(idx[hit])
                a_new = self.area_sums(idx[hit], cf.take(hit))
                a_c = a_f - a_old + a_new
        nan_moves = np.full_like(self.sums_fact.moves, np.nan)
        fact = Sums(a_f, self.sums_fact.region, nan_moves)
        cfw = Sums(a_c, self.cf_sums[kind].region, nan_moves)
        return fact, cfw

    def truth_frame(self) -> pd.DataFrame:
        """Unit-level truth: one row per kind, outcome, population, treated area and year."""
        A, T, y0 = self.areas, self.T, self.cfg.y0
        years = np.arange(y0, y0 + T)
        ind_f = self.indicators(self.sums_fact)
        frames = []
        for kind in KINDS:
            coh = self.cohort[kind]
            treated = np.flatnonzero(coh > 0)
            if not len(treated):
                continue
            ind_c = self.indicators(self.cf_sums[kind])
            pops: list[tuple[str, dict[str, np.ndarray], dict[str, np.ndarray], tuple[str, ...]]]
            pops = [("area", ind_f, ind_c, SHARE_OUTCOMES + COUNT_OUTCOMES)]
            st = self._stayer_sums(kind)
            if st is not None:
                pops.append(
                    ("stayers", self.indicators(st[0]), self.indicators(st[1]), SHARE_OUTCOMES)
                )
            unit = np.repeat(treated, T)
            cohort = np.repeat(coh[treated], T)
            time = np.tile(years, len(treated))
            for population, f, c, outcomes in pops:
                keep = np.ones(len(unit), bool) if population == "area" else time >= cohort
                obs = np.stack([f[o].reshape(A.n, T)[treated].ravel() for o in outcomes])
                cfv = np.stack([c[o].reshape(A.n, T)[treated].ravel() for o in outcomes])
                ok = keep[None, :] & ~(np.isnan(obs) | np.isnan(cfv))
                o_idx, cell = np.nonzero(ok)
                frames.append(
                    pd.DataFrame(
                        {
                            "kind": np.full(len(cell), KINDS.index(kind), np.int8),
                            "outcome": np.asarray(outcomes, dtype=object)[o_idx],
                            "population": population,
                            "unit": unit[cell],
                            "cohort": cohort[cell],
                            "time": time[cell],
                            "event_time": (time - cohort)[cell],
                            "estimate": obs[ok] - cfv[ok],
                            "observed": obs[ok],
                            "counterfactual": cfv[ok],
                        }
                    )
                )
        if not frames:
            return pd.DataFrame()
        out = pd.concat(frames, ignore_index=True)
        out["kind"] = np.asarray(KINDS, dtype=object)[out["kind"].to_numpy()]
        out["unit"] = A.area_id[out["unit"].to_numpy()]
        for col in ("kind", "outcome", "population", "unit"):
            out[col] = out[col].astype("str")
        return out.sort_values(
            ["kind", "population", "outcome", "unit", "time"], kind="stable", ignore_index=True
        )

    def inheritance(self) -> pd.DataFrame:
        """Parental-education gradient in youth education by 25, with and without exposure."""
        ps = self.ps
        rows = []
        p_with_all = np.clip(ps.p25 + self.d_edu, 0.03, 0.98).astype(float)
        for kind, (idx, val) in self.edu_contrib.items():
            sel = self.member_fact[idx]
            p = idx[sel]
            with_ = p_with_all[p]
            without = np.clip(ps.p25[p] + self.d_edu[p] - val[sel], 0.03, 0.98).astype(float)
            pe = ps.pe[p]
            for contrast, grp in (("higher_vs_basic", 2), ("youth_vs_basic", 1)):
                a, b = pe == grp, pe == 0
                if not (a.any() and b.any()):
                    continue
                for scale in ("probability", "log_odds"):

                    def grad(
                        x: np.ndarray, a: np.ndarray = a, b: np.ndarray = b, scale: str = scale
                    ) -> float:
                        ma, mb = x[a].mean(), x[b].mean()
                        if scale == "probability":
                            return float(ma - mb)
                        return float(np.log(ma / (1 - ma)) - np.log(mb / (1 - mb)))

                    g1, g0 = grad(with_), grad(without)
                    rows.append(
                        {
                            "kind": kind,
                            "outcome": "youth_edu_by_25",
                            "contrast": contrast,
                            "scale": scale,
                            "without_exposure": g0,
                            "with_exposure": g1,
                            "change": g1 - g0,
                            "n_children": int(a.sum() + b.sum()),
                        }
                    )
        cols = [
            "kind",
            "outcome",
            "contrast",
            "scale",
            "without_exposure",
            "with_exposure",
            "change",
            "n_children",
        ]
        return pd.DataFrame(rows, columns=cols)
