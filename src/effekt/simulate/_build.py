"""Assembling a simulated world: outcomes, lists, transformations and exact counterfactuals."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import pandas as pd

from effekt.simulate import _dgp as D
from effekt.simulate._effects import KINDS

SHARE_OUTCOMES = (
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
COUNT_OUTCOMES = ("residents", "moves_in", "moves_out")
POP_COLUMNS = (
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
_S = D._S
_CHUNK = 1_000_000  # person-years per chunk in the passes over every person-year


def _take(out: D.Outcome, idx: np.ndarray) -> D.Outcome:
    return D.Outcome(*(getattr(out, f.name)[idx] for f in fields(D.Outcome)))


@dataclass
class Sums:
    """Area-year statistics, regional income sums and moves of one world."""

    area: np.ndarray  # (len(STATS), n_areas * T)
    region: np.ndarray  # (2, 5 * T)
    moves: np.ndarray  # (2, n_areas * T), NaN in the first year


class Builder:
    """Runs the data-generating process and keeps what the World needs."""

    def __init__(self, cfg: D.Config) -> None:
        self.cfg = cfg
        ss = np.random.SeedSequence(cfg.seed)
        r_areas, r_prog, r_ten, r_pop, r_eng, r_reg = (
            np.random.default_rng(s) for s in ss.spawn(6)
        )
        self.register_seed = r_reg.integers(0, 2**63 - 1)
        self.areas = D.make_areas(r_areas, cfg)
        self.progs = D.make_programs(r_prog, cfg, self.areas)
        self.tens = D.make_tenancies(r_ten, cfg, self.areas)
        self.ps = D.make_population(r_pop, cfg, self.areas, self.tens)
        self.rows = D.expand_rows(self.ps)
        self.engine = D.Engine(cfg, self.areas, self.ps, self.rows, r_eng)
        self.T = cfg.n_years
        ps, rows = self.ps, self.rows
        length = np.bincount(rows.pid, minlength=ps.n)
        self.row_start = np.cumsum(length) - length
        self.row_len = length
        self._effects()
        self.completed = D.completion(ps, self.d_edu)
        # untruncated probabilities of the factual world, for the counterfactuals (dropped later)
        self.p_raw = {f: np.zeros(rows.n, np.float32) for f in ("out", "ch", "cv", "pl")}
        self.fact = self._factual()
        # the engine's flat area-year index, with -1 for person-years outside the areas
        self.g_area = np.where(rows.area >= 0, self.engine.ay, -1)
        self.g_reg = ps.reg[rows.pid].astype(np.int32) * np.int32(self.T) + (rows.year - cfg.y0)

    def _factual(self) -> D.Outcome:
        """Outcomes of every person-year, in chunks (to keep temporaries small)."""
        n = self.rows.n
        fact = D.Outcome(
            np.zeros(n, np.int16),
            np.zeros(n, np.int16),
            np.zeros(n, np.int16),
            np.zeros(n, np.float32),
            np.zeros(n, bool),
            np.zeros(n, bool),
            np.zeros(n, bool),
        )
        for lo in range(0, n, _CHUNK):  # loop over chunks of a million person-years
            idx = np.arange(lo, min(lo + _CHUNK, n))
            delta = {f: d[lo : lo + _CHUNK] for f, d in self.d_rows.items()}
            part = self.engine.outcome(idx, delta, self.completed, self.p_raw)
            for f in fields(D.Outcome):
                getattr(fact, f.name)[lo : lo + _CHUNK] = getattr(part, f.name)
        return fact

    # ------------------------------------------------------------------ effects

    def rows_of(self, persons: np.ndarray) -> np.ndarray:
        """Row indices of ``persons`` (each person's rows are contiguous)."""
        n = self.row_len[persons]
        start = np.repeat(self.row_start[persons] - (np.cumsum(n) - n), n)
        return start + np.arange(int(n.sum()))

    def _effects(self) -> None:
        cfg, ps, rows, progs = self.cfg, self.ps, self.rows, self.progs
        y0, y1 = cfg.y0, cfg.y1
        self.timelines = {k: D.Timeline.of(progs.active[k], y0) for k in KINDS}
        bg_z = np.array([1.0, 0.0, -1.0])[ps.pe]
        area_p = np.flatnonzero(ps.area >= 0)
        self.d_rows: dict[str, np.ndarray] = {}
        self.d_edu = np.zeros(ps.n, np.float32)
        # (kind, family) -> (row or person indices, contribution)
        self.contrib: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]] = {}
        exposure_cache: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for (kind, outcome), eff in self.cfg.effects.items():
            fam = D.OUTCOME_FAMILY[outcome]
            tl = self.timelines[kind]
            mult = progs.mult[(kind, outcome)]
            if fam == "edu":
                e18 = D.exposure_before_18(tl, ps, area_p, y0, y1)
                sel = area_p[e18 > 0]
                size = (
                    eff.size / (1 - D._P_ENROLLED_20)
                    if outcome == "youth_edu_20_share"
                    else eff.size
                )
                val = (
                    size
                    * mult[ps.area[sel]]
                    * (1 + eff.background * bg_z[sel])
                    * np.minimum(e18[e18 > 0], eff.buildup)
                    / eff.buildup
                )
                self._add(kind, "edu", sel, val)
                continue
            if kind not in exposure_cache:
                # persons ever exposed while in their area, then their rows
                a = ps.area[area_p].astype(np.int64)
                ever = (
                    tl.cum[a, ps.in_end[area_p] - y0 + 1] - tl.cum[a, ps.in_start[area_p] - y0]
                ) > 0
                r = self.rows_of(area_p[ever])
                e, gap = D.exposure(tl, ps, rows, r, y0)
                keep = e > 0
                exposure_cache[kind] = (r[keep], e[keep], gap[keep])
            r, e, gap = exposure_cache[kind]
            p = rows.pid[r]
            if outcome.endswith("_per_1000"):
                scale = eff.size / 1000.0
            elif fam == "neet":
                scale = eff.size / D._NEET_NONSTUDENT
            else:
                scale = eff.size
            val = (
                scale
                * mult[ps.area[p]]
                * (1 + eff.background * bg_z[p])
                * np.minimum(e, eff.buildup)
                / eff.buildup
                * eff.persistence**gap
            )
            self._add(kind, fam, r, val)

    def _add(self, kind: str, fam: str, idx: np.ndarray, val: np.ndarray) -> None:
        val = val.astype(np.float32)
        if fam == "edu":
            self.d_edu[idx] += val
        else:
            if fam not in self.d_rows:
                self.d_rows[fam] = np.zeros(self.rows.n, np.float32)
            self.d_rows[fam][idx] += val
        # each outcome of EFFECT_OUTCOMES has its own family, so (kind, family) is unique
        self.contrib[(kind, fam)] = (idx, val)

    # ------------------------------------------------------------------ sums

    def area_sums(
        self, idx: np.ndarray, out: D.Outcome | None = None, sign: float = 1.0
    ) -> np.ndarray:
        """Area-year sums over rows ``idx`` (factual values unless ``out``), in chunks."""
        n_a = self.areas.n * self.T
        res = np.zeros((len(D.STATS), n_a))
        for lo in range(0, len(idx), _CHUNK):  # loop over chunks of a million person-years
            i = idx[lo : lo + _CHUNK]
            herk = self.ps.herk[self.rows.pid[i]]
            if out is None:
                res += D.sums(self.g_area[i], self.fact, self.rows.age[i], herk, n_a, sign, i)
            else:
                part = _take(out, np.arange(lo, lo + len(i)))
                res += D.sums(self.g_area[i], part, self.rows.age[i], herk, n_a, sign)
        return res

    def sums(
        self, idx: np.ndarray, out: D.Outcome | None = None, sign: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        """Area-year and region-year sums over rows ``idx`` (factual values unless ``out``)."""
        take = idx if out is None else None
        full = self.fact if out is None else out
        r = sign * D.region_sums(self.g_reg[idx], full, self.rows.age[idx], 5 * self.T, take)
        return self.area_sums(idx, out, sign), r

    def moves(self, member: np.ndarray) -> np.ndarray:
        ps, y0, y1, T = self.ps, self.cfg.y0, self.cfg.y1, self.T
        p = np.flatnonzero(member & (ps.area >= 0))
        a = ps.area[p].astype(np.int64)
        s = ps.in_start[p].astype(np.int64)
        e = ps.in_end[p].astype(np.int64)
        moved_in = (s > y0) & (ps.birth[p] != s)
        moved_out = e < y1
        n_a = self.areas.n * T
        res = np.vstack(
            [
                np.bincount(a[moved_in] * T + s[moved_in] - y0, minlength=n_a),
                np.bincount(a[moved_out] * T + e[moved_out] + 1 - y0, minlength=n_a),
            ]
        ).astype(float)
        res[:, np.arange(self.areas.n) * T] = np.nan  # first year: no previous year
        return res

    def member(self, transform_start: np.ndarray) -> np.ndarray:
        """Which persons of the superset exist in the world with these transformations."""
        ps, tens = self.ps, self.tens
        cand = ps.cand
        ten = np.maximum(ps.ten, 0)
        a = tens.area[ten]
        start = transform_start[a]
        use = (
            (start > 0)
            & (tens.start[ten] >= start)
            & (tens.u_mix[ten] < self.cfg.transformation_mix)
        )
        return (cand == 0) | ((cand == 1) & ~use) | ((cand == 2) & use)

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
        """Transformations from the lists, the factual world and every counterfactual."""
        from effekt.lists import classify

        cfg, ps, rows, A, _T = self.cfg, self.ps, self.rows, self.areas, self.T
        cand_r = ps.cand[rows.pid]
        self.rows_c0 = np.flatnonzero(cand_r == 0)
        self.rows_c12 = np.flatnonzero(cand_r > 0)
        self.s_c0 = self.sums(self.rows_c0)
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
        self._counterfactuals()

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

    def _counterfactuals(self) -> None:
        """Indicators of the world without each kind (and without any intervention)."""
        self.cf_sums: dict[str, Sums] = {}
        self._cf_rows: dict[str, tuple[np.ndarray, D.Outcome]] = {}
        kinds_with = sorted({k for k, _ in self.contrib}, key=KINDS.index)
        for kind in kinds_with:
            self.cf_sums[kind] = self._without(self.sums_fact, self.member_fact, {kind})
        base = self.base
        self.cf_sums["fysisk_omdannelse"] = base
        self.cf_sums["all"] = self._without(base, self.member_base, set(KINDS))
        for kind in KINDS:
            self.cf_sums.setdefault(kind, self.sums_fact)

    def _without(self, start: Sums, member: np.ndarray, kinds: set[str]) -> Sums:
        """``start`` with the person effects of ``kinds`` removed (exact, common random numbers).

        A person-year's outcome changes only where its uniform falls between the factual
        and the counterfactual probability (or where a youth education is no longer
        completed), so only those person-years are recomputed; the sums are corrected
        by them.
        """
        ps, rows, eng, fact = self.ps, self.rows, self.engine, self.fact
        removed = {key: val for key, val in self.contrib.items() if key[0] in kinds}
        d_edu = self.d_edu.copy()
        rem: dict[str, np.ndarray] = {}
        cand: dict[str, np.ndarray] = {}
        for (_, f), (r, val) in removed.items():
            if f == "edu":
                d_edu[r] -= val
                continue
            if f not in rem:
                rem[f] = np.zeros(rows.n, np.float32)
            rem[f][r] += val
            part = D.PARTS[f]
            if part not in cand:
                cand[part] = np.zeros(rows.n, bool)
            cand[part][r] = True
        completed = D.completion(ps, d_edu)
        r_edu = self.rows_of(np.flatnonzero((completed != self.completed) & member))
        zero = np.zeros(0, np.float32)

        def removed_at(f: str, r: np.ndarray) -> np.ndarray:
            return rem[f][r] if f in rem else np.zeros(len(r), np.float32)

        changed = np.zeros(rows.n, bool)
        changed[r_edu] = True
        relabour = changed.copy()
        new_crime: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        if "labour" in cand:
            r = np.flatnonzero(cand["labour"] & member[rows.pid])
            r = r[(fact.socio[r] != 0) & (fact.socio[r] != 310) & (fact.socio[r] != 322)]
            age = rows.age[r]
            d = removed_at("out", r) + removed_at("neet", r) * ((age >= 15) & (age <= 24))
            p = self.p_raw["out"][r]
            u = eng.lane(r, 0)
            flip = (u < np.clip(p, 0.002, 0.998)) != (u < np.clip(p - d, 0.002, 0.998))
            changed[r[flip]] = True
            relabour[r[flip]] = True
        if "crime" in cand:
            r = np.flatnonzero(cand["crime"] & member[rows.pid])
            age = rows.age[r]
            conv = (age >= 18) & (eng.lane(r, 2) < self.p_raw["cv"][r] - removed_at("cv", r))
            charged = (
                (age >= 15)
                & (age <= 25)
                & ((eng.lane(r, 1) < self.p_raw["ch"][r] - removed_at("ch", r)) | conv)
            )
            diff = (conv != fact.conv[r]) | (charged != fact.charged[r])
            new_crime["crime"] = (r[diff], charged[diff], conv[diff])
            changed[r[diff]] = True
        if "placed" in cand:
            r = np.flatnonzero(cand["placed"] & member[rows.pid])
            placed = (rows.age[r] <= 17) & (
                eng.lane(r, 2) < self.p_raw["pl"][r] - removed_at("pl", r)
            )
            diff = placed != fact.placed[r]
            new_crime["placed"] = (r[diff], placed[diff], zero)
            changed[r[diff]] = True
        idx = np.flatnonzero(changed)
        key = "+".join(sorted(kinds))
        new = _take(fact, idx)
        if len(idx):
            pos = np.searchsorted(idx, r_edu)
            if len(pos):
                new.hf[pos], new.udd[pos] = eng.education(r_edu, completed)
            pl = np.flatnonzero(relabour[idx])
            if len(pl):
                il = idx[pl]
                delta = {f: v[il] - removed_at(f, il) for f, v in self.d_rows.items()}
                new.socio[pl], new.income[pl] = eng.labour(il, new.hf[pl], new.udd[pl], delta)
            if "crime" in new_crime:
                r, charged, conv = new_crime["crime"]
                pos = np.searchsorted(idx, r)
                new.charged[pos], new.conv[pos] = charged, conv
            if "placed" in new_crime:
                r, placed, _ = new_crime["placed"]
                new.placed[np.searchsorted(idx, r)] = placed
        self._cf_rows[key] = (idx, new)
        if not len(idx):
            return start
        a_old, r_old = self.sums(idx, sign=-1.0)
        a_new, r_new = self.sums(idx, new)
        return Sums(start.area + a_old + a_new, start.region + r_old + r_new, start.moves)

    # ------------------------------------------------------------------ truth

    def _stayer_sums(self, kind: str) -> tuple[Sums, Sums] | None:
        """Sums over baseline stayers of the areas treated by ``kind``: factual, counterfactual."""
        ps, rows = self.ps, self.rows
        coh = self.cohort[kind].astype(np.int16)
        if not hasattr(self, "_in_area"):
            ra = np.flatnonzero((rows.area >= 0) & self.member_fact[rows.pid])
            self._in_area = (ra, rows.area[ra], rows.year[ra], ps.in_start[rows.pid[ra]])
        ra, r_area, r_year, r_start = self._in_area
        c = coh[r_area]
        st = ra[(c > 0) & (r_year >= c) & (r_start < c)]
        if len(st) == 0:
            return None
        a_f = self.area_sums(st)
        a_c = a_f
        cf_rows = self._cf_rows.get(kind)
        if cf_rows is not None and len(cf_rows[0]):
            idx, cf = cf_rows
            pos = np.searchsorted(idx, st)
            hit = (pos < len(idx)) & (idx[np.minimum(pos, len(idx) - 1)] == st)
            common = st[hit]
            if len(common):
                a_old = self.area_sums(common, sign=-1.0)
                a_new = self.area_sums(common, _take(cf, pos[hit]))
                a_c = a_f + a_old + a_new
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
        for (kind, fam), (idx, val) in self.contrib.items():
            if fam != "edu":
                continue
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
