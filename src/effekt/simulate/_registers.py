"""Person tables of the simulated world: the persons panel and the register extracts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from effekt.registers import codes
from effekt.simulate import _dgp as D
from effekt.simulate._build import Builder
from effekt.simulate._engine import CHARGED, CONVICTED, PLACED

_CATEGORIES = np.array(["straffelov", "euf", "vaabenlov", "anden"])
_QUALIFYING = np.array(["straffelov", "euf", "vaabenlov"])  # = codes.CONVICTING_CATEGORIES


def pnr_strings(n: int) -> np.ndarray:
    """Pseudonyms ``P00000001``, ... as a numpy unicode array (vectorised, no Python loop)."""
    width = max(8, len(str(n)))
    num = np.arange(1, n + 1, dtype=np.int64)
    digits = np.empty((n, width + 1), dtype=np.uint8)
    digits[:, 0] = ord("P")
    for j in range(width, 0, -1):  # loop over digit positions
        digits[:, j] = ord("0") + num % 10
        num //= 10
    return digits.view(f"S{width + 1}").ravel().astype(f"U{width + 1}")


class Emitter:
    """Builds the persons table and the registers of a built world."""

    def __init__(self, b: Builder) -> None:
        self.b = b
        ps, rows = b.ps, b.rows
        self.persons = np.flatnonzero(b.member_fact)
        self.pnr = pnr_strings(len(self.persons))
        self.rank = np.full(ps.n, -1, np.int64)
        self.rank[self.persons] = np.arange(len(self.persons))
        self.rows = np.flatnonzero(b.member_fact[rows.pid])
        self.pnr_array = pd.array(self.pnr, dtype="str")

    def parent_pnr(self, parent: np.ndarray) -> pd.api.extensions.ExtensionArray:
        """PNR of each person's parent in ``parent`` (indices), missing where none."""
        ids = pd.array([*list(self.pnr), None], dtype="str")
        rank = np.where(parent >= 0, self.rank.take(np.maximum(parent, 0)), -1)
        return ids.take(np.where(rank >= 0, rank, len(ids) - 1))

    # ------------------------------------------------------------------ persons

    def persons_table(self) -> pd.DataFrame:
        b = self.b
        ps, rows, y0, y1 = b.ps, b.rows, b.cfg.y0, b.cfg.y1
        p = self.persons
        in_area = ps.area[p] >= 0
        first_year = np.where(in_area, ps.in_start[p], ps.out_start[p]).astype(np.int64)
        base_area = np.full(len(p), None, dtype=object)
        base_area[in_area] = b.areas.area_id[ps.area[p[in_area]]]
        born_in = ps.in_start[p] - ps.birth[p] <= 1  # first counted on the 1 January after birth
        entered_later = in_area & (ps.in_start[p] > y0) & ~born_in
        left = in_area & (ps.in_end[p] < np.minimum(ps.alive_end[p], y1))
        status = np.where(entered_later, "in_mover", np.where(left, "out_mover", "stayer"))
        status = status.astype(object)
        status[~in_area] = None
        # exposure: years before 18 in an area while any intervention operated there
        any_on = np.zeros_like(b.progs.active["lbf_helhedsplan"])
        for act in b.progs.active.values():
            any_on |= act
        tl = D.Timeline.of(any_on, y0)
        expo = np.zeros(len(p))
        expo[in_area] = D.ChildhoodWindow.of(ps, p[in_area], y0, y1).exposure(tl)
        # outcomes by age, from the person-years (so that they agree with the registers)
        r = self.rows
        age = rows.age.take(r)
        rank = self.rank.take(rows.pid.take(r))
        n = len(p)

        def at_age(a: int, values: np.ndarray) -> pd.arrays.BooleanArray:
            sel = age == a
            out = np.full(n, -1, np.int8)
            out[rank[sel]] = values[sel]
            return pd.arrays.BooleanArray(out == 1, out < 0)

        f = b.fact
        hf, udd, socio = f.hf.take(r), f.udd.take(r), f.socio.take(r)
        lo, hi = codes.SOCIO13_WORKING
        working = (socio >= lo) & (socio <= hi)
        neet = ~working & (socio != codes.SOCIO13_STUDENT) & (udd == 0)
        youth = np.flatnonzero((age >= 15) & (age <= 20))
        n_obs = np.bincount(rank.take(youth), minlength=n)
        was_charged = (f.flags.take(r.take(youth)) & CHARGED) != 0
        n_ch = np.bincount(rank.take(youth), weights=was_charged, minlength=n)
        charged = pd.arrays.BooleanArray(n_ch > 0, n_obs < 6)
        pe = np.array(["basic", "youth", "higher"])[ps.pe[p]]
        origin = np.array(["", "danish", "western", "nonwestern"])[ps.herk[p]]
        return pd.DataFrame(
            {
                "person_id": self.pnr_array.copy(),
                "birth_year": ps.birth[p].astype(np.int64),
                "sex": pd.array(np.where(ps.female[p], "female", "male"), dtype="str"),
                "origin": pd.array(origin, dtype="str"),
                "parental_education": pd.array(pe, dtype="str"),
                "baseline_area_id": pd.array(base_area, dtype="str"),
                "baseline_year": first_year,
                "mover_status": pd.array(status, dtype="str"),
                "exposure_years": np.minimum(expo, 18).astype(float),
                "youth_edu_by_25": at_age(25, (hf >= 20).astype(np.int8)),
                "neet_at_20": at_age(20, neet.astype(np.int8)),
                "charged_15_20": charged,
            }
        )

    # ------------------------------------------------------------------ registers

    def registers(self) -> dict[str, pd.DataFrame]:
        b = self.b
        ps, rows = b.ps, b.rows
        rng = np.random.default_rng(b.register_seed)
        r = self.rows
        pid = rows.pid.take(r)
        pnr_r = self.pnr_array.take(self.rank.take(pid))
        # Compact integer types (the schemas ask for integers, not their width): registers of a
        # Denmark-sized world have tens of millions of rows. Every column is a new array that
        # only its table holds, so the tables take them without copying (copy=False); a
        # column shared by two tables is copied for the second (a string column only in its
        # wrapper: Arrow buffers are immutable).
        year = rows.year.take(r)
        age = rows.age.take(r)
        fact = b.fact
        flags = fact.flags.take(r)
        area = rows.area.take(r)
        ids = pd.array([*list(b.areas.area_id), None], dtype="str")
        omraade = ids.take(np.where(area >= 0, area, np.int16(len(ids) - 1)))
        bef = pd.DataFrame(
            {
                "PNR": pnr_r,
                "AAR": year,
                "KOM": ps.kom.take(pid),
                "OMRAADE": omraade,
                "FOED_AAR": ps.birth.take(pid),
                "KOEN": ps.female.take(pid).astype(np.int8) + np.int8(1),  # 1 male, 2 female
                "HERKOMST": ps.herk.take(pid),
                # parents' person keys, as in DST's BEF (missing: not in the registers)
                "MOR_PNR": self.parent_pnr(ps.mother).take(pid),
                "FAR_PNR": self.parent_pnr(ps.father).take(pid),
            },
            copy=False,
        )
        udda = pd.DataFrame(
            {
                "PNR": pnr_r.copy(),
                "AAR": year.copy(),
                "HFAUDD_NIVEAU": fact.hf.take(r).astype(np.int16),
                "UDD_IGANG": fact.udd.take(r).astype(np.int16),
            },
            copy=False,
        )
        adult = np.flatnonzero(age >= 15)
        # (ArrowStringArray.take is much faster than indexing it)
        pnr_adult, year_adult, r_adult = pnr_r.take(adult), year.take(adult), r.take(adult)
        ras = pd.DataFrame(
            {"PNR": pnr_adult, "AAR": year_adult, "SOCIO13": fact.socio.take(r_adult)},
            copy=False,
        )
        ind = pd.DataFrame(
            {
                "PNR": pnr_adult.copy(),
                "AAR": year_adult.copy(),
                "PERINDKIALT": fact.income.take(r_adult).astype(np.float64),
            },
            copy=False,
        )
        # charges: every charged youth (15-25) has >= 1 non-traffic charge; convicted persons
        # over 25 have one too; traffic charges (not counted by the indicators) for anyone 15+.
        ch = np.flatnonzero((flags & CHARGED) != 0)
        n_ch = 1 + rng.poisson(0.4, len(ch))
        ch_rows = np.repeat(ch, n_ch)
        ch_cat = D._choice(rng, _CATEGORIES, np.array([0.7, 0.18, 0.07, 0.05]), len(ch_rows))
        conv_all = np.flatnonzero((flags & CONVICTED) != 0)
        old_conv = conv_all[age.take(conv_all) > 25]
        conv_cat = D._choice(rng, _QUALIFYING, np.array([0.75, 0.18, 0.07]), len(conv_all))
        old_cat = conv_cat[np.searchsorted(conv_all, old_conv)]
        traffic = np.flatnonzero((age >= 18) & (rng.random(len(r)) < 0.02))
        krsi_rows = np.r_[ch_rows, old_conv, traffic]
        krsi_cat = np.r_[ch_cat, old_cat, np.full(len(traffic), "faerdsel")]
        order = np.lexsort((krsi_cat, krsi_rows))
        krsi = pd.DataFrame(
            {
                "PNR": pnr_r.take(krsi_rows[order]),
                "AAR": year[krsi_rows[order]],
                "KATEGORI": pd.array(krsi_cat[order], dtype="str"),
            }
        )
        # decisions: convictions (penal code, drugs, weapons); acquittals and withdrawals of
        # some charges; traffic convictions. Only the first count for convicted_share.
        other = ch_rows[rng.random(len(ch_rows)) < 0.15]
        other_dec = np.where(rng.random(len(other)) < 0.5, "frifindelse", "tiltalefrafald")
        other_cat = ch_cat[np.searchsorted(ch_rows, other)]
        # acquittals at ages 15-17 or of the youth indicator's charges do not change anything
        traffic_dom = traffic[rng.random(len(traffic)) < 0.5]
        kraf_rows = np.r_[conv_all, other, traffic_dom]
        kraf_cat = np.r_[conv_cat, other_cat, np.full(len(traffic_dom), "faerdsel")]
        kraf_dec = np.r_[np.full(len(conv_all), "dom"), other_dec, np.full(len(traffic_dom), "dom")]
        order = np.lexsort((kraf_dec, kraf_cat, kraf_rows))
        kraf = pd.DataFrame(
            {
                "PNR": pnr_r.take(kraf_rows[order]),
                "AAR": year[kraf_rows[order]],
                "KATEGORI": pd.array(kraf_cat[order], dtype="str"),
                "AFGOERELSE": pd.array(kraf_dec[order], dtype="str"),
            }
        )
        placed = np.flatnonzero((flags & PLACED) != 0)
        anbringelser = pd.DataFrame({"PNR": pnr_r.take(placed), "AAR": year[placed]})
        return {
            "bef": bef,
            "udda": udda,
            "ras": ras,
            "ind": ind,
            "krsi": krsi,
            "kraf": kraf,
            "anbringelser": anbringelser,
        }
