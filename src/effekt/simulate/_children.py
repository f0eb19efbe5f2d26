"""The children of the simulated world: outcomes, parents' background and exposure (internal).

The same definitions as :func:`effekt.registers.children` applies to the register
extracts (``effekt.registers.codes.CHILD_OUTCOMES``), computed here from the
simulated person-years directly, so that a test can check the two against each
other, and so that the truth can compute the outcomes of the same children in the
exact counterfactual worlds (:func:`inheritance_truth`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from effekt.registers import codes
from effekt.simulate._build import Builder
from effekt.simulate._effects import KINDS
from effekt.simulate._engine import CHARGED, CONVICTED, Outcome

#: The definitions of disadvantaged parents the truth is computed for.
BACKGROUNDS = ("basic_education", "no_work")


@dataclass
class Kids:
    """The children of a world and their person-years.

    ``persons``: the children (indices into the persons, sorted); ``rows``: all their
    person-years (sorted); ``rank``: the child (0 .. n - 1) of each of those rows.
    """

    persons: np.ndarray
    rows: np.ndarray
    rank: np.ndarray
    age: np.ndarray

    @property
    def n(self) -> int:
        return len(self.persons)


def kids(b: Builder, window: tuple[int, int]) -> Kids:
    """Persons of the factual world with a year in a study area at ages ``window``."""
    rows = b.rows
    w0, w1 = window
    hit = (rows.area >= 0) & (rows.age >= w0) & (rows.age <= w1)
    hit &= b.member_fact.take(rows.pid)
    pid = rows.pid[hit]
    persons = np.unique(pid).astype(np.int64)
    r = b.engine.rows_of(persons)
    rank = np.repeat(np.arange(len(persons)), b.rows.length.take(persons))
    return Kids(persons, r, rank, rows.age.take(r).astype(np.int64))


def outcomes(
    k: Kids, hf: np.ndarray, udd: np.ndarray, socio: np.ndarray, crime: np.ndarray
) -> dict[str, np.ndarray]:
    """The child outcomes (float, NaN where not observed) from the children's rows' values."""
    out = {}
    lo_w, hi_w = codes.SOCIO13_WORKING
    working = (socio >= lo_w) & (socio <= hi_w)
    neet = ~working & (socio != codes.SOCIO13_STUDENT) & (udd == 0)
    for name, (rule, lo, hi) in codes.CHILD_OUTCOMES.items():
        sel = (k.age >= lo) & (k.age <= hi)
        n_obs = np.bincount(k.rank[sel], minlength=k.n)
        last = sel & (k.age == hi)
        value: np.ndarray
        if rule == "youth_edu":
            value = np.bincount(
                k.rank[last], weights=hf[last] >= codes.YOUTH_EDU_LEVEL, minlength=k.n
            )
        elif rule == "employed":
            value = np.bincount(k.rank[last], weights=working[last], minlength=k.n)
        elif rule == "neet":
            value = np.bincount(k.rank[sel], weights=neet[sel], minlength=k.n) / (hi - lo + 1)
        else:
            value = np.bincount(k.rank[sel], weights=crime[sel], minlength=k.n) > 0
        out[name] = np.where(n_obs == hi - lo + 1, value.astype(float), np.nan)
    return out


def factual_outcomes(b: Builder, k: Kids) -> dict[str, np.ndarray]:
    f = b.fact
    crime = (f.flags.take(k.rows) & (CHARGED | CONVICTED)) != 0
    return outcomes(k, f.hf.take(k.rows), f.udd.take(k.rows), f.socio.take(k.rows), crime)


def counterfactual_outcomes(
    b: Builder, k: Kids, changed: tuple[np.ndarray, Outcome]
) -> dict[str, np.ndarray]:
    """The outcomes with the person-years ``changed`` (row indices, outcomes) replaced."""
    f = b.fact
    hf, udd, socio = f.hf.take(k.rows), f.udd.take(k.rows), f.socio.take(k.rows)
    crime = (f.flags.take(k.rows) & (CHARGED | CONVICTED)) != 0
    idx, new = changed
    if len(idx):
        pos = np.minimum(np.searchsorted(k.rows, idx), len(k.rows) - 1)
        hit = np.flatnonzero(k.rows.take(pos) == idx)
        p = pos[hit]
        hf[p], udd[p], socio[p] = new.hf[hit], new.udd[hit], new.socio[hit]
        crime[p] = new.charged[hit] | new.conv[hit]
    return outcomes(k, hf, udd, socio, crime)


def background(b: Builder, k: Kids, parent_age: int) -> tuple[np.ndarray, ...]:
    """Parents' highest education class (-1: no parent found), any parent working, parents found.

    Each parent is measured in the year the child turns ``parent_age`` or, where the
    parent is not in the registers then, in the nearest year the parent is (the
    earlier of two equally near ones).
    """
    ps, rows = b.ps, b.rows
    key = rows.pid.astype(np.int64) * 4096 + (rows.year.astype(np.int64) - 1800)
    edu = np.full(k.n, -1, np.int64)
    employed = np.zeros(k.n, bool)
    found = np.zeros(k.n, np.int64)
    target = ps.birth.take(k.persons).astype(np.int64) + parent_age
    lo_w, hi_w = codes.SOCIO13_WORKING
    for parent in (ps.mother.take(k.persons), ps.father.take(k.persons)):  # two parents
        has = parent >= 0
        has[has] &= b.member_fact.take(parent[has]) & (rows.length.take(parent[has]) > 0)
        c = np.flatnonzero(has)
        p = parent[c].astype(np.int64)
        first = rows.start.take(p)
        last = first + rows.length.take(p) - 1
        pos = np.searchsorted(key, p * 4096 + (target[c] - 1800))
        after = np.minimum(np.maximum(pos, first), last)
        before = np.minimum(np.maximum(pos - 1, first), last)
        t = target[c]
        d_after = np.abs(rows.year.take(after) - t)
        d_before = np.abs(rows.year.take(before) - t)
        row = np.where(d_before <= d_after, before, after)
        hf = b.fact.hf.take(row).astype(np.int64)
        cls = (hf >= codes.YOUTH_EDU_LEVEL).astype(np.int64) + (hf >= codes.HIGHER_EDU_LEVEL)
        edu[c] = np.maximum(edu[c], cls)
        socio = b.fact.socio.take(row)
        employed[c] |= (socio >= lo_w) & (socio <= hi_w)
        found[c] += 1
    return edu, employed, found


def exposure(
    b: Builder, k: Kids, window: tuple[int, int], kinds: tuple[str, ...] = KINDS
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
    """Years at ages ``window`` in a study area while each kind operated there.

    Also the first study area of the window (index) and the age then.
    """
    rows, y0, T = b.rows, b.cfg.y0, b.T
    w0, w1 = window
    area = rows.area.take(k.rows).astype(np.int64)
    sel = np.flatnonzero((area >= 0) & (k.age >= w0) & (k.age <= w1))
    ay = area[sel] * T + (rows.year.take(k.rows[sel]).astype(np.int64) - y0)
    rank = k.rank[sel]
    expo = {}
    for kind in kinds:  # loop over intervention kinds
        on = b.progs.active[kind].ravel().take(ay)
        expo[kind] = np.bincount(rank, weights=on, minlength=k.n).astype(np.int64)
    # the first row of each child in the window (rows are sorted by person and year)
    first = np.r_[True, rank[1:] != rank[:-1]] if len(rank) else np.zeros(0, bool)
    first_area = np.full(k.n, -1, np.int64)
    first_age = np.full(k.n, -1, np.int64)
    first_area[rank[first]] = area[sel][first]
    first_age[rank[first]] = k.age[sel][first]
    return expo, first_area, first_age


def disadvantaged(edu: np.ndarray, employed: np.ndarray, found: np.ndarray, definition: str):
    """Whether the parents are disadvantaged by ``definition`` (NaN: no parent found)."""
    flag = edu == 0 if definition == "basic_education" else ~employed
    return np.where(found > 0, flag.astype(float), np.nan)


def inheritance_truth(
    b: Builder, person_ids: np.ndarray, window: tuple[int, int] = (6, 17), parent_age: int = 15
) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Change in the gradient by parents' background of every child outcome, by kind.

    For each kind with a planted effect and each child outcome: among the children
    with at least one year of exposure to the kind at the ages ``window`` whose
    outcome is observed, ``with_exposure`` is the mean outcome of the children of
    disadvantaged parents minus that of the other children, as simulated;
    ``without_exposure`` the same for the same children in the exact counterfactual
    world without the kind, and ``change`` the difference (the effect on the
    children of disadvantaged parents minus that on the others).

    Also returns, per kind, every child's own effect on each outcome (outcome minus
    counterfactual outcome, NaN where not observed), keyed by ``person_id``
    (``person_ids``: the PNR of every person of the superset, "" where not emitted).
    """
    k = kids(b, window)
    fact = factual_outcomes(b, k)
    edu, employed, found = background(b, k, parent_age)
    expo, _, _ = exposure(b, k, window)
    rows = []
    effects: dict[str, pd.DataFrame] = {}
    kinds = [kd for kd in KINDS if kd in b._cf_rows and kd != "fysisk_omdannelse"]
    for kind in kinds:  # loop over kinds with planted effects
        cf = counterfactual_outcomes(b, k, b._cf_rows[kind])
        effects[kind] = pd.DataFrame(
            {"person_id": pd.array(person_ids[k.persons], dtype="str")}
            | {name: fact[name] - cf[name] for name in codes.CHILD_OUTCOMES}
        )
        exposed = expo[kind] > 0
        for definition in BACKGROUNDS:
            dis = disadvantaged(edu, employed, found, definition)
            for name in codes.CHILD_OUTCOMES:
                y1, y0 = fact[name], cf[name]
                ok = exposed & ~np.isnan(y1) & ~np.isnan(dis)
                a, c = ok & (dis == 1), ok & (dis == 0)
                if not (a.any() and c.any()):
                    continue
                g1 = y1[a].mean() - y1[c].mean()
                g0 = y0[a].mean() - y0[c].mean()
                rows.append(
                    {
                        "kind": kind,
                        "outcome": name,
                        "contrast": f"{definition}_minus_other",
                        "scale": "probability",
                        "without_exposure": float(g0),
                        "with_exposure": float(g1),
                        "change": float(g1 - g0),
                        "n_children": int(ok.sum()),
                    }
                )
    return pd.DataFrame(rows), effects


def children_frame(
    b: Builder,
    pnr: np.ndarray,
    rank: np.ndarray,
    kinds: tuple[str, ...],
    window: tuple[int, int] = (6, 17),
    parent_age: int = 15,
) -> pd.DataFrame:
    """The children table of the factual world (``effekt.registers.children``'s columns)."""
    from effekt.registers._children import finish

    ps = b.ps
    k = kids(b, window)
    out = factual_outcomes(b, k)
    edu, employed, found = background(b, k, parent_age)
    expo, area, area_age = exposure(b, k, window, kinds)
    any_on = np.zeros_like(b.progs.active[KINDS[0]])
    for kind in kinds:  # loop over intervention kinds
        any_on |= b.progs.active[kind]
    rows = b.rows
    w_rows = np.flatnonzero(
        (rows.area.take(k.rows) >= 0) & (k.age >= window[0]) & (k.age <= window[1])
    )
    ay = rows.area.take(k.rows[w_rows]).astype(np.int64) * b.T + (
        rows.year.take(k.rows[w_rows]).astype(np.int64) - b.cfg.y0
    )
    expo_any = np.bincount(k.rank[w_rows], weights=any_on.ravel().take(ay), minlength=k.n)
    ids = np.asarray([*list(pnr), None], dtype=object)

    def pnr_of(parent: np.ndarray) -> np.ndarray:
        r = np.where(parent >= 0, rank.take(np.maximum(parent, 0)), -1)
        return ids[np.where(r >= 0, r, len(ids) - 1)]

    frame: dict[str, object] = {
        "person_id": ids[rank.take(k.persons)],
        "birth_year": ps.birth.take(k.persons).astype(np.int64),
        "mother_id": pnr_of(ps.mother.take(k.persons)),
        "father_id": pnr_of(ps.father.take(k.persons)),
        "n_parents": found,
        "edu": np.where(found > 0, edu, np.nan),
        "parents_employed": employed,
        "area_id": b.areas.area_id[area],
        "kommune_code": b.areas.kom[area].astype(np.int64),
        "area_age": area_age,
        "exposure_any": expo_any.astype(np.int64),
    }
    for kind in kinds:
        frame[f"exposure_{kind}"] = expo[kind]
    for name in codes.CHILD_OUTCOMES:
        frame[name] = out[name]
    return finish(pd.DataFrame(frame), ["exposure_any", *(f"exposure_{k}" for k in kinds)])
