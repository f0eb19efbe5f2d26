"""The data-generating process of the simulated Denmark (internal).

Everything is vectorised over areas, households, persons or person-years; the
only Python loops run over intervention kinds, funding rounds and outcome
families. The process, in order:

1. areas in the 98 real kommuner with latent deprivation and outcome components
   (area, kommune and year effects, area trends, AR(1) shocks);
2. LBF helhedsplaner in the real funding rounds and kernedrift efforts, selected
   on the latent deprivation;
3. dwellings with back-to-back tenancies; each tenancy is a household drawn from
   the area's in-mover distribution (and, from 2019, a second, richer candidate
   household used if the area is physically transformed);
4. persons: household members, births, children leaving home, deaths, and a
   reference population outside the study areas;
5. person-years; exposure to each intervention kind; outcomes (education path,
   labour-market status, income, charges, convictions, placements) from a linear
   probability model with common random numbers, so that counterfactual outcomes
   without an intervention are exact.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from importlib import resources

import numpy as np
import pandas as pd

from effekt.parallel import thread_map
from effekt.registers import codes
from effekt.simulate._effects import KERNEDRIFT_KINDS, KINDS, Effect

# --------------------------------------------------------------------------- constants

#: LBF funding rounds: (label, {start year: probability}, share of areas granted).
#: Start years follow lbf_rounds.csv / the domain brief section 3: the 2006-10 pool was
#: granted in three rounds up to autumn 2009; the 2011-14 plans ran 2012-19; 66 plans of the
#: 2015-18 funds started 2016-19; the 2019-26 funds are 4-year plans (two rounds).
LBF_ROUNDS: tuple[tuple[str, dict[int, float], float], ...] = (
    ("2006-2010", {2006: 0.2, 2007: 0.35, 2008: 0.25, 2009: 0.2}, 0.30),
    ("2011-2014", {2011: 0.15, 2012: 0.55, 2013: 0.30}, 0.24),
    ("2015-2018", {2016: 0.35, 2017: 0.35, 2018: 0.2, 2019: 0.1}, 0.20),
    ("2019-2022", {2019: 0.3, 2020: 0.5, 2021: 0.2}, 0.22),
    ("2023-2026", {2023: 0.5, 2024: 0.5}, 0.22),
)
PLAN_YEARS = 4  # LBF plans run four years (lbf_rounds.csv, 2019-2026 row)

#: Focus areas (interventions.focus_areas codes) by LBF round (lbf_rounds.csv).
LBF_FOCUS = {
    "2006-2010": ("beskaeftigelse", "kriminalitetsforebyggelse", "skole_uddannelse", "sundhed"),
    "2011-2014": (
        "skole_uddannelse",
        "beskaeftigelse",
        "kriminalitetsforebyggelse",
        "foraeldrekompetencer_boerns_trivsel",
    ),
    "2015-2018": (
        "tryghed_trivsel",
        "kriminalitetsforebyggelse",
        "beskaeftigelse",
        "forebyggelse_foraeldreansvar",
    ),
    "2019-2022": (
        "uddannelse_livschancer",
        "beskaeftigelse",
        "kriminalitetsforebyggelse",
        "sammenhaengskraft_medborgerskab",
    ),
}
LBF_FOCUS["2023-2026"] = LBF_FOCUS["2019-2022"]
KERNEDRIFT_FOCUS = {
    "ungdomscafe": "kriminalitetsforebyggelse;tryghed_trivsel",
    "lommepengeprojekt": "beskaeftigelse;kriminalitetsforebyggelse",
    "fritidsjob": "beskaeftigelse;kriminalitetsforebyggelse",
    "skolesamarbejde": "skole_uddannelse",
    "familieindsats": "forebyggelse_foraeldreansvar;foraeldrekompetencer_boerns_trivsel",
    "fremskudt_beskaeftigelse": "beskaeftigelse",
}
#: First year a physical transformation can start: the day after the first hard-ghetto
#: list (1 December 2018, dk_list_counts.csv).
TRANSFORM_FIRST = 2019

# Person-year outcome families with an area-year component.
FAMILIES = ("out", "ch", "cv", "pl")
# Which family (or the youth-education path, "edu") an effect outcome acts on.
OUTCOME_FAMILY = {
    "outside_work_edu_share": "out",
    "neet_share": "neet",
    "youth_edu_20_share": "edu",
    "youth_edu_25_share": "edu",
    "youth_charged_per_1000": "ch",
    "convicted_share": "cv",
    "children_placed_per_1000": "pl",
}
# Non-completers still enrolled at 20 make youth_edu_20 move by (1 - _P_ENROLLED_20) times the
# completion effect; sizes given for youth_edu_20_share are scaled back by it.
_DROP_AGES = np.array([16, 17, 18, 19, 20, 21])
_DROP_P = np.array([0.35, 0.2, 0.15, 0.12, 0.06, 0.12])
_P_ENROLLED_20 = 0.12
# Share of 15-24-year-olds not in education in treated areas, to turn a NEET effect into a
# shift of their probability of being outside work (approximate, documented on Effect).
_NEET_NONSTUDENT = 0.5

_OUT_CODES = np.array(codes.SOCIO13_OUTSIDE, dtype=np.int16)
_BENEFIT = {
    210: 210_000.0,
    330: 150_000.0,
    410: 110_000.0,
    220: 230_000.0,
    321: 200_000.0,
    322: 190_000.0,
    323: 220_000.0,
}


@functools.cache
def kommuner() -> pd.DataFrame:
    """The 98 kommuner with region codes and a weight for placing study areas."""
    base = resources.files("effekt") / "datasets" / "data"
    with (base / "dk_kommuner.csv").open(encoding="utf-8") as fh:
        kom = pd.read_csv(fh)
    with (base / "dk_lists.csv").open(encoding="utf-8") as fh:
        listed = pd.read_csv(fh, usecols=["area", "kommune_code"])
    # More study areas where real listed areas were (dk_lists.csv), in the big cities and in the
    # Copenhagen suburbs (domain brief, section 2.2: 10 of the 29 first ghettos in Copenhagen).
    n_listed = listed.drop_duplicates().groupby("kommune_code").size()
    weight = 1.0 + 2.0 * kom["kommune_code"].map(n_listed).fillna(0).to_numpy()
    big = {101: 12.0, 751: 6.0, 461: 4.0, 851: 4.0}
    weight += kom["kommune_code"].map(big).fillna(0).to_numpy()
    suburb = (kom["region_code"] == 1084) & kom["kommune_code"].between(147, 190)
    weight += 2.0 * suburb.to_numpy()
    kom = kom.assign(weight=weight)
    return kom


def _logistic(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _choice(rng: np.random.Generator, values: np.ndarray, p: np.ndarray, n: int) -> np.ndarray:
    """Vectorised categorical draw (inverse CDF)."""
    cdf = np.cumsum(p) / np.sum(p)
    u = rng.random(n)
    if len(values) > 12:
        return values[np.minimum(np.searchsorted(cdf, u, side="right"), len(values) - 1)]
    # few categories: count the cumulative probabilities <= u (what searchsorted finds),
    # capped at the last category, by comparisons (faster than a binary search per draw)
    idx = np.zeros(n, np.intp)
    for c in cdf[:-1]:  # loop over the categories
        idx += u >= c
    return values[idx]


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class Config:
    """Validated arguments of :func:`effekt.simulate.denmark`."""

    n_areas: int
    y0: int
    y1: int
    seed: int
    effects: dict[tuple[str, str], Effect]
    selection: str
    transformation_mix: float
    reference_ratio: float

    @property
    def n_years(self) -> int:
        return self.y1 - self.y0 + 1


# --------------------------------------------------------------------------- areas


@dataclass
class Areas:
    """Study areas and their latent structure."""

    kom: np.ndarray  # kommune code per area
    region: np.ndarray  # region code per area
    reg_idx: np.ndarray  # 0..4
    area_id: np.ndarray  # string ids
    name: np.ndarray
    d: np.ndarray  # latent deprivation, N(0, 1)
    e: np.ndarray  # latent non-Western concentration
    size: np.ndarray  # target residents
    turnover: np.ndarray  # yearly probability that a household moves out
    comp: dict[str, np.ndarray]  # family -> (n_areas, n_years) additive component
    comp_dyn: np.ndarray  # time-varying part of the labour component (trend + AR)
    theta: np.ndarray  # youth-education area effect (probability scale)

    @property
    def n(self) -> int:
        return len(self.kom)


REGIONS = np.array([1081, 1082, 1083, 1084, 1085])


def year_shocks(years: np.ndarray) -> dict[str, np.ndarray]:
    """Common year effects (probability scale) by family, shared by everyone."""
    y = years.astype(float)
    # Labour: the 2009-2012 recession and the recovery after (outside share up ~2-3 pp).
    out = np.interp(
        y,
        [2000, 2007, 2008, 2010, 2013, 2019, 2020, 2022, 2040],
        [0.0, -0.015, -0.015, 0.02, 0.02, -0.015, 0.0, -0.02, -0.02],
    )
    # Youth charges fell substantially (CFBU 2015, VIVE 2019; Kraka 2018: as much in the areas
    # as elsewhere); additive, so that trends are parallel in levels.
    ch = np.interp(y, [2000, 2005, 2024, 2040], [0.012, 0.012, -0.012, -0.012])
    cv = np.interp(y, [2000, 2005, 2024, 2040], [0.001, 0.001, -0.001, -0.001])
    pl = np.interp(y, [2000, 2040], [0.0, 0.0])
    return {"out": out, "ch": ch, "cv": cv, "pl": pl}


def make_areas(rng: np.random.Generator, cfg: Config) -> Areas:
    kom = kommuner()
    n = cfg.n_areas
    codes = kom["kommune_code"].to_numpy()
    w = kom["weight"].to_numpy()
    k_idx = _choice(rng, np.arange(len(codes)), w, n)
    k_idx = np.sort(k_idx)
    kom_code = codes[k_idx]
    region = kom["region_code"].to_numpy()[k_idx]
    # id = kommune code and running number within the kommune
    first = np.r_[0, np.flatnonzero(np.diff(kom_code)) + 1]
    within = np.arange(n) - np.repeat(first, np.diff(np.r_[first, n])) + 1
    area_id = np.array([f"a{c:03d}-{j:02d}" for c, j in zip(kom_code, within, strict=True)])
    names = kom["kommune"].to_numpy()[k_idx]
    name = np.array([f"{k} område {j}" for k, j in zip(names, within, strict=True)])
    big = np.isin(kom_code, [101, 751, 461, 851]) | ((region == 1084) & (kom_code <= 190))
    d = rng.standard_normal(n) + 0.25 * big
    e = 0.7 * d + 0.7 * rng.standard_normal(n) + 0.35 * (region == 1084)
    size = np.exp(np.log(1500.0) + 0.5 * rng.standard_normal(n)) * np.where(big, 1.2, 1.0)
    size = np.clip(size, 900, 9500)
    turnover = np.clip(0.10 + 0.012 * d + 0.015 * rng.standard_normal(n), 0.05, 0.2)

    years = np.arange(cfg.y0, cfg.y1 + 1)
    t_mid = (cfg.y0 + cfg.y1) / 2
    shocks = year_shocks(years)
    reg_idx = np.searchsorted(REGIONS, region)
    n_kom = len(codes)
    # family: (deprivation loading, area sd, kommune sd, trend sd per year, AR innovation sd)
    spec = {
        "out": (0.035, 0.02, 0.01, 0.0015, 0.012),
        "ch": (0.016, 0.008, 0.004, 0.0006, 0.008),
        "cv": (0.006, 0.002, 0.001, 0.0001, 0.0012),
        "pl": (0.003, 0.002, 0.001, 0.0001, 0.0015),
    }
    comp: dict[str, np.ndarray] = {}
    comp_dyn = np.zeros((n, len(years)))
    for fam, (load, sd_a, sd_k, sd_tr, sd_ar) in spec.items():
        alpha = load * d + sd_a * rng.standard_normal(n)
        kappa = (sd_k * rng.standard_normal(n_kom))[k_idx]
        trend = sd_tr * rng.standard_normal(n)
        ar = np.zeros((n, len(years)))
        innov = sd_ar * rng.standard_normal((n, len(years)))
        rho = 0.6
        ar[:, 0] = innov[:, 0] / np.sqrt(1 - rho**2)
        for t in range(1, len(years)):  # loop over years only (AR(1) recursion)
            ar[:, t] = rho * ar[:, t - 1] + innov[:, t]
        dyn = trend[:, None] * (years[None, :] - t_mid) + ar
        comp[fam] = (alpha + kappa)[:, None] + shocks[fam][None, :] + dyn
        if fam == "out":
            comp_dyn = dyn
    theta = -0.03 * d + 0.02 * rng.standard_normal(n)
    return Areas(
        kom_code, region, reg_idx, area_id, name, d, e, size, turnover, comp, comp_dyn, theta
    )


# --------------------------------------------------------------------------- interventions


@dataclass
class Programs:
    """Intervention spells and the derived area x year activity."""

    spells: pd.DataFrame  # interventions-table rows (before transformations are added)
    active: dict[str, np.ndarray]  # kind -> (n_areas, n_years) bool
    mult: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)  # area multipliers


def make_programs(rng: np.random.Generator, cfg: Config, areas: Areas) -> Programs:
    n, y0, y1 = areas.n, cfg.y0, cfg.y1
    years = np.arange(y0, y1 + 1)
    active = {k: np.zeros((n, len(years)), dtype=bool) for k in KINDS}
    rows: list[dict[str, object]] = []

    def mark(kind: str, idx: np.ndarray, start: np.ndarray, end: np.ndarray) -> None:
        # end = -1 means ongoing
        last = np.where(end < 0, y1, end)
        on = (years[None, :] >= start[:, None]) & (years[None, :] <= last[:, None])
        np.logical_or.at(active[kind], idx, on)

    previous = np.zeros(n, dtype=bool)
    for label, starts, share in LBF_ROUNDS:
        s_years = np.array(list(starts))
        s_p = np.array(list(starts.values()))
        score = areas.d + 0.8 * previous + 0.6 * rng.standard_normal(n)
        if cfg.selection == "dynamic":
            ref = int(np.clip(s_years.min() - 1 - y0, 0, len(years) - 1))
            score = score + areas.comp_dyn[:, ref] / 0.015
        n_grant = round(share * n)
        chosen = np.sort(np.argsort(-score, kind="stable")[:n_grant])
        start = _choice(rng, s_years, s_p, n_grant)
        keep = (start >= y0) & (start <= y1)
        chosen, start = chosen[keep], start[keep]
        end = start + PLAN_YEARS - 1
        mark("lbf_helhedsplan", chosen, start, end)
        previous = np.zeros(n, dtype=bool)
        previous[chosen] = True
        focus = LBF_FOCUS[label]
        n_focus = rng.integers(2, len(focus) + 1, size=len(chosen))
        for a, s, e, nf in zip(chosen, start, end, n_focus, strict=True):
            rows.append(
                {
                    "intervention_id": f"lbf-{label[:4]}-{areas.area_id[a]}",
                    "area_id": areas.area_id[a],
                    "kommune_code": int(areas.kom[a]),
                    "scope": "area",
                    "kind": "lbf_helhedsplan",
                    "funder": "lbf" if label < "2019" else "both",
                    "funding_round": label,
                    "start_year": int(s),
                    "end_year": int(e) if e <= y1 else -1,
                    "focus_areas": ";".join(focus[:nf]),
                }
            )

    kom_codes = np.unique(areas.kom)
    area_kom_idx = np.searchsorted(kom_codes, areas.kom)
    n_areas_kom = np.bincount(area_kom_idx)
    lo, hi = max(y0 + 1, 2007), min(y1, 2021)
    for kind in KERNEDRIFT_KINDS:
        if lo > hi:
            break
        # Kommune-wide efforts: more likely in kommuner with several study areas.
        p_kom = np.clip(0.06 * np.sqrt(n_areas_kom), 0, 0.5)
        kw = np.flatnonzero(rng.random(len(kom_codes)) < p_kom)
        kw_start = rng.integers(lo, hi + 1, size=len(kw))
        kw_end = np.where(rng.random(len(kw)) < 0.6, -1, kw_start + rng.integers(3, 9, len(kw)))
        kw_end = np.where(kw_end > y1, -1, kw_end)
        for j, (k, s, e) in enumerate(zip(kw, kw_start, kw_end, strict=True)):
            in_kom = np.flatnonzero(area_kom_idx == k)
            mark(kind, in_kom, np.full(len(in_kom), s), np.full(len(in_kom), e))
            rows.append(
                {
                    "intervention_id": f"kd-{kind}-k{kom_codes[k]:03d}-{j:02d}",
                    "area_id": "",
                    "kommune_code": int(kom_codes[k]),
                    "scope": "kommune",
                    "kind": kind,
                    "funder": "kommune",
                    "funding_round": "",
                    "start_year": int(s),
                    "end_year": int(e),
                    "focus_areas": KERNEDRIFT_FOCUS[kind],
                }
            )
        # Area-specific efforts, mildly targeted at deprived areas.
        p_area = np.clip(0.07 * (1 + 0.6 * (areas.d > 0.5)), 0, 1)
        ar = np.flatnonzero(rng.random(n) < p_area)
        ar_start = rng.integers(lo, hi + 1, size=len(ar))
        ar_end = np.where(rng.random(len(ar)) < 0.5, -1, ar_start + rng.integers(3, 9, len(ar)))
        ar_end = np.where(ar_end > y1, -1, ar_end)
        mark(kind, ar, ar_start, ar_end)
        for a, s, e in zip(ar, ar_start, ar_end, strict=True):
            rows.append(
                {
                    "intervention_id": f"kd-{kind}-{areas.area_id[a]}",
                    "area_id": areas.area_id[a],
                    "kommune_code": int(areas.kom[a]),
                    "scope": "area",
                    "kind": kind,
                    "funder": "kommune",
                    "funding_round": "",
                    "start_year": int(s),
                    "end_year": int(e),
                    "focus_areas": KERNEDRIFT_FOCUS[kind],
                }
            )
    spells = pd.DataFrame(rows)
    progs = Programs(spells, active)
    # One standard-normal draw per area for every (kind, outcome) pair in a fixed order, so
    # that worlds with different effects share every other random number (the same Y(0)).
    z_all = rng.standard_normal((len(KINDS), len(OUTCOME_FAMILY), n))
    for (kind, outcome), eff in cfg.effects.items():
        z = z_all[KINDS.index(kind), list(OUTCOME_FAMILY).index(outcome)]
        progs.mult[(kind, outcome)] = np.exp(eff.area_sd * z - eff.area_sd**2 / 2)
    return progs


# --------------------------------------------------------------------------- population


@dataclass
class Persons:
    """Every person of the superset world (both candidates of transformable tenancies)."""

    birth: np.ndarray  # int16
    female: np.ndarray  # bool
    herk: np.ndarray  # int8: 1 Danish, 2 Western, 3 non-Western
    immig: np.ndarray  # bool: immigrated as an adult
    s: np.ndarray  # float32 socio-economic latent
    pe: np.ndarray  # int8 parental education: 0 basic, 1 youth, 2 higher
    area: np.ndarray  # int16 study area (-1: reference population)
    kom: np.ndarray  # int16 kommune of residence (constant)
    reg: np.ndarray  # int8 region index
    in_start: np.ndarray  # int16 first year in the area
    in_end: np.ndarray  # int16 last year in the area (< in_start: never)
    out_start: np.ndarray  # int16 first year followed outside the areas
    out_end: np.ndarray  # int16 last year followed outside (< out_start: not followed)
    alive_end: np.ndarray  # int16 last year alive
    ten: np.ndarray  # int32 tenancy (-1: reference population)
    cand: np.ndarray  # int8 0 always, 1 ordinary candidate, 2 rich candidate
    mother: np.ndarray  # int32 index of the mother among the persons (-1: none)
    father: np.ndarray  # int32 index of the father (-1: none)
    theta: np.ndarray  # float32 childhood-area effect on youth education
    # education path
    u_comp: np.ndarray
    p25: np.ndarray  # float32 baseline probability of youth education by 25 (no exposure)
    ylev: np.ndarray  # int8 20 gymnasial / 30 vocational
    age_done: np.ndarray  # int8 completion age
    age_drop: np.ndarray  # int8 dropout age of non-completers
    hi: np.ndarray  # bool continues to higher education (if completer)
    hi_start: np.ndarray  # int8
    hi_end: np.ndarray  # int8
    hi_lev: np.ndarray  # int8 40/50/70
    unknown: np.ndarray  # bool education unknown (immigrated as adult)
    # labour, crime, placements
    x_emp: np.ndarray  # float32 person part of the outside-work log-odds
    wage: np.ndarray  # float32 person wage effect (log)
    risk: np.ndarray  # float32 relative crime risk
    q_pl: np.ndarray  # float32 placement probability (children)

    @property
    def n(self) -> int:
        return len(self.birth)


@dataclass
class Tenancies:
    area: np.ndarray
    start: np.ndarray
    end: np.ndarray  # may exceed y1
    u_mix: np.ndarray  # uniform deciding the rich candidate after a transformation


def make_tenancies(rng: np.random.Generator, cfg: Config, areas: Areas) -> Tenancies:
    n_dw = np.maximum(np.round(areas.size / 2.25).astype(np.int64), 1)
    dw_area = np.repeat(np.arange(areas.n), n_dw)
    p = areas.turnover[dw_area]
    k = int(cfg.n_years * 0.45) + 4
    dur = rng.geometric(p[:, None], size=(len(p), k))
    ends = cfg.y0 - 1 + np.cumsum(dur, axis=1)
    # Extend dwellings whose k tenancies end before the last year (rare; a loop over batches).
    while ends[:, -1].min() < cfg.y1:
        more = rng.geometric(p[:, None], size=(len(p), k))
        ends = np.hstack([ends, ends[:, -1:] + np.cumsum(more, axis=1)])
        dur = np.hstack([dur, more])
    starts = ends - dur + 1
    keep = starts <= cfg.y1
    t_area = np.broadcast_to(dw_area[:, None], keep.shape)[keep]
    t_start, t_end = starts[keep], ends[keep]
    return Tenancies(
        t_area, t_start.astype(np.int16), t_end.astype(np.int32), rng.random(len(t_area))
    )


def _pe_from_s(rng: np.random.Generator, s: np.ndarray, immig: np.ndarray) -> np.ndarray:
    p_hi = np.where(immig, 0.15, _logistic(-1.1 + 0.8 * s))
    p_ba = np.where(immig, 0.55, _logistic(-0.9 - 0.8 * s))
    u = rng.random(len(s))
    return np.where(u < p_ba, 0, np.where(u < p_ba + p_hi, 2, 1)).astype(np.int8)


def _draw_households(
    rng: np.random.Generator,
    areas: Areas,
    t_idx: np.ndarray,
    tens: Tenancies,
    ref_year: np.ndarray,
    rich: bool,
) -> dict[str, np.ndarray]:
    """Household members (adults and children present at move-in, or at the first year)."""
    a = tens.area[t_idx]
    h = len(t_idx)
    shift = -1.5 if rich else 0.0
    nonw = rng.random(h) < _logistic(-2.1 + 1.2 * areas.e[a] + 0.035 * (ref_year - 2005) + shift)
    western = ~nonw & (rng.random(h) < 0.04)
    s_h = -0.45 * areas.d[a] - 0.25 * nonw + (1.3 if rich else 0.0) + rng.standard_normal(h)
    elderly = rng.random(h) < np.where(nonw, 0.06, 0.13)
    head_age = np.where(
        elderly, rng.integers(65, 91, h), np.minimum(19 + rng.gamma(2.0, 9.0, h), 64)
    ).astype(np.int64)
    p_couple = np.clip(
        0.42 - 0.06 * areas.d[a] + 0.18 * nonw + 0.1 * rich + 0.1 * elderly, 0.1, 0.9
    )
    couple = rng.random(h) < p_couple
    lam = (0.55 + 0.35 * couple + 0.8 * nonw) * (0.6 if rich else 1.0)
    lam = lam * np.where((head_age >= 25) & (head_age <= 50), 1.0, 0.4) * ~elderly
    n_kids = np.minimum(rng.poisson(lam), 5) * (head_age <= 56)
    n_adults = 1 + couple
    size = n_adults + n_kids
    hh = np.repeat(np.arange(h), size)
    pos = np.arange(len(hh)) - np.repeat(np.cumsum(size) - size, size)
    is_adult = pos < n_adults[hh]
    is_partner = pos == 1
    is_partner &= is_adult
    # ages: head, partner around the head's age, children below the head's age minus 18
    kid_max = np.maximum(np.minimum(24, head_age - 18), 0)[hh]
    kid_age = np.floor(rng.random(len(hh)) * (kid_max + 1)).astype(np.int64)
    partner_age = np.clip(head_age[hh] + np.round(rng.normal(-2, 3, len(hh))), 18, 95)
    age = np.where(is_adult, np.where(is_partner, partner_age, head_age[hh]), kid_age)
    single_parent = (~couple & (n_kids > 0))[hh]
    head_female = rng.random(len(hh)) < np.where(single_parent, 0.85, 0.55)
    kid_female = rng.random(len(hh)) < 0.49
    # couples: a male head and a female partner; single heads by the draw above
    female = np.where(is_adult, np.where(is_partner, True, ~couple[hh] & head_female), kid_female)
    leave = _choice(rng, np.arange(18, 27), np.array([8, 15, 20, 18, 14, 10, 7, 5, 3.0]), len(hh))
    leave = np.where(~is_adult & (age >= leave), age + 1, leave)
    herk = np.where(nonw, 3, np.where(western, 2, 1))[hh].astype(np.int8)
    immig = is_adult & (herk > 1) & (rng.random(len(hh)) < np.where(herk == 3, 0.8, 0.5))
    s = s_h[hh] + rng.normal(0, np.where(is_adult, 0.5, 0.7))
    return {
        "hh": hh,
        "t_idx": t_idx[hh],
        "age": age,
        "female": female,
        "is_adult": is_adult,
        "leave": leave,
        "herk": herk,
        "immig": immig,
        "s": s,
        "s_h": s_h[hh],
        "nonw_h": nonw[hh],
        "ref_year": ref_year[hh],
    }


#: Youngest age gap between a parent and a child: a household's adults are the parents of its
#: children only where they are at least this much older (otherwise a step-parent or a
#: partner with no parent link in BEF).
MIN_PARENT_GAP = 15


def _parents(
    part: dict[str, np.ndarray], mom: np.ndarray, base: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mother and father of a part's persons and of its newborns (global indices, -1: none).

    A household's female adult is the mother and its male adult the father of the
    household's children (present at move-in) who are at least ``MIN_PARENT_GAP``
    years younger; a newborn's mother is the woman who gave birth and its father the
    household's male adult. Adults have no parents in the simulated registers.
    No random numbers are drawn, so the rest of the world is unchanged.
    """
    hh, adult, female, age = part["hh"], part["is_adult"], part["female"], part["age"]
    n_hh = int(hh.max(initial=-1)) + 1
    idx = np.arange(len(hh), dtype=np.int64)
    mom_hh = np.full(n_hh, -1, np.int64)
    dad_hh = np.full(n_hh, -1, np.int64)
    mom_hh[hh[adult & female]] = idx[adult & female]
    dad_hh[hh[adult & ~female]] = idx[adult & ~female]

    def link(parent: np.ndarray) -> np.ndarray:
        ok = ~adult & (parent >= 0)
        ok &= age.take(np.maximum(parent, 0)) - age >= MIN_PARENT_GAP
        return np.where(ok, parent + base, -1)

    mother = link(mom_hh[hh])
    father = link(dad_hh[hh])
    mother_b = mom + base
    dad = dad_hh[hh[mom]]
    father_b = np.where(dad >= 0, dad + base, -1)
    return mother, father, mother_b, father_b


def make_population(
    rng: np.random.Generator, cfg: Config, areas: Areas, tens: Tenancies
) -> Persons:
    y0, y1 = cfg.y0, cfg.y1
    n_t = len(tens.area)
    ref_year = np.maximum(tens.start, y0).astype(np.int64)
    parts = [(_draw_households(rng, areas, np.arange(n_t), tens, ref_year, False), 0)]
    rich_from = max(TRANSFORM_FIRST, y0 + 1)
    if cfg.transformation_mix > 0 and rich_from <= y1:
        late = np.flatnonzero(tens.start >= rich_from)
        parts.append((_draw_households(rng, areas, late, tens, ref_year[late], True), 2))
    cols: dict[str, list[np.ndarray]] = {}
    base = 0  # index of the part's first person among all household persons
    for part, cand in parts:
        c = np.full(len(part["hh"]), cand, dtype=np.int8)
        if cand == 0:
            c[tens.start[part["t_idx"]] >= rich_from] = 1
        part["cand"] = c
        # births during the tenancy to households with a woman aged 18-41
        mother = part["is_adult"] & part["female"] & (part["age"] >= 18) & (part["age"] <= 41)
        t_end = np.minimum(tens.end[part["t_idx"]], y1)
        fert_last = np.minimum(t_end, part["ref_year"] + (42 - part["age"]))
        n_years = np.where(mother, np.maximum(fert_last - part["ref_year"] + 1, 0), 0)
        rate = np.where(part["nonw_h"], 0.085, 0.055) * (0.9 if cand == 2 else 1.0)
        n_birth = np.minimum(rng.poisson(rate * n_years), 3)
        mom = np.repeat(np.arange(len(mother)), n_birth)
        b_year = part["ref_year"][mom] + np.floor(rng.random(len(mom)) * n_years[mom])
        nb = len(mom)
        leave_b = _choice(rng, np.arange(18, 27), np.array([8, 15, 20, 18, 14, 10, 7, 5, 3.0]), nb)
        part_b = {
            "hh": part["hh"][mom],
            "t_idx": part["t_idx"][mom],
            "age": np.zeros(nb, np.int64),
            "female": rng.random(nb) < 0.49,
            "is_adult": np.zeros(nb, bool),
            "leave": leave_b,
            "herk": np.where(part["herk"][mom] == 1, 1, part["herk"][mom]).astype(np.int8),
            "immig": np.zeros(nb, bool),
            "s": part["s_h"][mom] + rng.normal(0, 0.7, nb),
            "s_h": part["s_h"][mom],
            "nonw_h": part["nonw_h"][mom],
            "ref_year": b_year.astype(np.int64),
            "cand": part["cand"][mom],
        }
        mother, father, mother_b, father_b = _parents(part, mom, base)
        part["mother"], part["father"] = mother, father
        part_b["mother"], part_b["father"] = mother_b, father_b
        base += len(part["hh"]) + nb
        for key in (
            "mother",
            "father",
            "hh",
            "t_idx",
            "age",
            "female",
            "is_adult",
            "leave",
            "herk",
            "immig",
            "s",
            "ref_year",
            "cand",
        ):
            cols.setdefault(key, []).extend([part[key], part_b[key]])
        # household id unique across parts: 0 .. n_t - 1, then the rich candidates
        offset = 0 if cand == 0 else n_t
        cols.setdefault("hh_uid", []).extend([part["hh"] + offset, part_b["hh"] + offset])
    P = {k: np.concatenate(v) for k, v in cols.items()}
    del parts, cols, part, part_b  # (keeps the peak memory down: every array is per person)
    n = len(P["age"])
    t_idx = P["t_idx"]
    area = tens.area[t_idx]
    birth = P["ref_year"] - P["age"]
    # The registers count the population on 1 January (BEF): a child born in year b is first
    # counted in b + 1, aged 1 (AAR - FOED_AAR), and no register year has anyone aged 0.
    in_start = np.maximum(P["ref_year"], birth + 1)
    in_end = np.where(
        P["is_adult"], tens.end[t_idx], np.minimum(tens.end[t_idx], birth + P["leave"] - 1)
    )
    death_age = np.clip(rng.normal(82, 8, n), 45, 104).round()
    alive_end = birth + death_age
    alive_end = np.minimum(
        np.maximum(alive_end, in_start + rng.geometric(0.12, n) - 1), birth + 110
    )
    left_alive = (in_end < alive_end) & (in_end < y1)
    in_end = np.minimum(in_end, alive_end)
    # Persons who leave a study area before 26 are followed outside until the year they turn 25
    # (enough for the youth outcomes by 25); older movers leave the simulated registers.
    followed = left_alive & (in_end + 1 - birth <= 25)
    out_start = np.where(followed, in_end + 1, 0)
    out_end = np.where(followed, np.minimum(np.minimum(alive_end, y1), birth + 25), -1)
    in_end = np.minimum(in_end, y1)
    # Children born in the household's last year in the area (or in the last simulated year)
    # are never counted in the area on a 1 January: they are not in the simulated registers.
    keep = np.flatnonzero(in_start <= in_end)
    P = {k: v.take(keep) for k, v in P.items()}
    # parent links to the kept persons (-1: the parent is not in the simulated registers)
    new_index = np.full(n, -1, np.int64)
    new_index[keep] = np.arange(len(keep))
    for key in ("mother", "father"):
        P[key] = np.where(P[key] >= 0, new_index.take(np.maximum(P[key], 0)), -1)
    t_idx, area, birth = t_idx.take(keep), area.take(keep), birth.take(keep)
    in_start, in_end, alive_end = in_start.take(keep), in_end.take(keep), alive_end.take(keep)
    out_start, out_end = out_start.take(keep), out_end.take(keep)
    n = len(keep)

    # Reference population outside the study areas, by region (for regional income means and
    # national comparison levels).
    kom = kommuner()
    reg_sizes = np.bincount(areas.reg_idx, weights=areas.size, minlength=5)
    n_ref = np.where(reg_sizes > 0, np.maximum(1500, cfg.reference_ratio * reg_sizes), 0)
    n_ref = n_ref.astype(np.int64)
    r_reg = np.repeat(np.arange(5), n_ref)
    nr = len(r_reg)
    # Reference persons are drawn aged 1-65 (AAR - FOED_AAR) on 1 January of the first year
    # (older persons enter no indicator); they are better off than the study areas'
    # residents, as the rest of a region is.
    ages = _choice(
        rng,
        np.arange(65),
        np.ones(65),
        nr,
    )
    r_birth0 = y0 - 1 - ages
    # yearly births keep the age structure: the cohorts born y0 .. y1 - 1, each first counted
    # on the 1 January after its birth
    n_new = np.round(n_ref / 65 * (y1 - y0)).astype(np.int64)  # one birth cohort a year
    new_reg = np.repeat(np.arange(5), n_new)
    new_birth = rng.integers(y0, y1, len(new_reg))
    r_reg = np.r_[r_reg, new_reg]
    r_birth = np.r_[r_birth0, new_birth]
    nr = len(r_reg)
    r_female = rng.random(nr) < 0.5
    r_nonw = rng.random(nr) < 0.07
    r_west = ~r_nonw & (rng.random(nr) < 0.05)
    r_herk = np.where(r_nonw, 3, np.where(r_west, 2, 1)).astype(np.int8)
    r_immig = (r_herk > 1) & (y0 - r_birth >= 18) & (rng.random(nr) < 0.7)
    r_s = 0.8 + rng.standard_normal(nr)
    r_death = np.clip(rng.normal(82, 8, nr), 45, 104).round()
    r_first = np.maximum(y0, r_birth + 1)  # first year counted
    r_alive = np.maximum(r_birth + r_death, r_first + rng.geometric(0.12, nr) - 1)
    r_alive = np.minimum(r_alive, r_birth + 110)
    codes = kom["kommune_code"].to_numpy()
    k_reg = np.searchsorted(REGIONS, kom["region_code"].to_numpy())
    r_kom = np.zeros(nr, np.int64)
    for r in range(5):  # loop over the five regions
        sel = np.flatnonzero(r_reg == r)
        if len(sel):
            in_r = np.flatnonzero(k_reg == r)
            r_kom[sel] = _choice(rng, codes[in_r], kom["weight"].to_numpy()[in_r], len(sel))

    def cat(a: np.ndarray, b: np.ndarray, dtype: type) -> np.ndarray:
        return np.concatenate([np.asarray(a), np.asarray(b)]).astype(dtype)

    N = n + nr
    birth_all = cat(birth, r_birth, np.int16)
    herk_all = cat(P["herk"], r_herk, np.int8)
    immig_all = cat(P["immig"], r_immig, bool)
    s_all = cat(P["s"], r_s, np.float32)
    female_all = cat(P["female"], r_female, bool)
    area_all = cat(area, np.full(nr, -1), np.int16)
    persons = Persons(
        birth=birth_all,
        female=female_all,
        herk=herk_all,
        immig=immig_all,
        s=s_all,
        pe=np.zeros(N, np.int8),
        area=area_all,
        kom=cat(areas.kom[area], r_kom, np.int16),
        reg=cat(areas.reg_idx[area], r_reg, np.int8),
        in_start=cat(in_start, np.zeros(nr), np.int16),
        in_end=cat(in_end, np.full(nr, -1), np.int16),
        out_start=cat(out_start, r_first, np.int16),
        out_end=cat(out_end, np.minimum(r_alive, y1), np.int16),
        alive_end=cat(alive_end, r_alive, np.int16),
        ten=cat(t_idx, np.full(nr, -1), np.int32),
        cand=cat(P["cand"], np.zeros(nr), np.int8),
        mother=cat(P["mother"], np.full(nr, -1), np.int32),
        father=cat(P["father"], np.full(nr, -1), np.int32),
        theta=np.zeros(N, np.float32),
        u_comp=rng.random(N).astype(np.float32),
        p25=np.zeros(N, np.float32),
        ylev=np.zeros(N, np.int8),
        age_done=np.zeros(N, np.int8),
        age_drop=np.zeros(N, np.int8),
        hi=np.zeros(N, bool),
        hi_start=np.zeros(N, np.int8),
        hi_end=np.zeros(N, np.int8),
        hi_lev=np.zeros(N, np.int8),
        unknown=np.zeros(N, bool),
        x_emp=np.zeros(N, np.float32),
        wage=np.zeros(N, np.float32),
        risk=np.zeros(N, np.float32),
        q_pl=np.zeros(N, np.float32),
    )
    # childhood area effect for persons who lived in a study area before 18
    child_in = (area_all >= 0) & (persons.in_start.astype(np.int64) - birth_all < 18)
    persons.theta[child_in] = areas.theta[area_all[child_in]]
    is_adult, hh_uid = P["is_adult"], P["hh_uid"]
    del P, area, birth, in_start, in_end, death_age, alive_end, left_alive, followed
    del out_start, out_end, t_idx, child_in
    _education_paths(rng, persons, is_adult, hh_uid)
    _latent_outcomes(rng, persons)
    return persons


def _education_paths(
    rng: np.random.Generator, ps: Persons, hh_adult: np.ndarray, hh_uid: np.ndarray
) -> None:
    """Youth-education path of every person; parents' education gives children's background.

    ``hh_adult`` and ``hh_uid`` say, for the household members (the first persons),
    who is an adult and which household they belong to.
    """
    N = ps.n
    s = ps.s.astype(np.float64)
    birth = ps.birth.astype(np.float64)
    # Own parental education for adults and the reference population: from their latent.
    pe_own = _pe_from_s(rng, s, ps.immig)
    gym = rng.random(N) < np.clip(0.35 + 0.08 * s, 0.1, 0.9)
    ps.ylev[:] = np.where(gym, 20, 30)
    a_gym = _choice(rng, np.array([19, 20, 21]), np.array([0.75, 0.2, 0.05]), N)
    a_voc = _choice(rng, np.arange(20, 26), np.array([0.25, 0.25, 0.2, 0.15, 0.1, 0.05]), N)
    ps.age_done[:] = np.where(gym, a_gym, a_voc)
    ps.age_drop[:] = _choice(rng, _DROP_AGES, _DROP_P, N)
    ps.hi_start[:] = ps.age_done + _choice(rng, np.array([0, 1, 2]), np.array([0.4, 0.35, 0.25]), N)
    lev = _choice(rng, np.array([40, 50, 70]), np.array([0.15, 0.55, 0.30]), N)
    ps.hi_lev[:] = lev
    ps.hi_end[:] = ps.hi_start + np.where(lev == 40, 2, np.where(lev == 50, 4, 5))
    ps.unknown[:] = ps.immig & (rng.random(N) < 0.55)
    u_hi = rng.random(N)
    # cohort trend in youth education: 74 -> 81 % at 20 for the 1988-1993 cohorts (E04)
    trend = np.interp(birth, [1950, 1986, 1993, 2005], [-0.144, 0.0, 0.098, 0.146])
    base = 0.57 + 0.05 * s + 0.05 * ps.female - 0.05 * ps.immig + trend + ps.theta

    def p25_for(pe: np.ndarray) -> np.ndarray:
        return np.clip(base + 0.10 * (pe == 1) + 0.20 * (pe == 2), 0.03, 0.98)

    # adults (and the reference population): their own background
    ps.pe[:] = pe_own
    p_adult = p25_for(pe_own)
    comp = ps.u_comp < p_adult
    p_hi = np.clip(0.2 + 0.35 * gym + 0.1 * (pe_own == 2) + 0.05 * s, 0, 0.9)
    ps.hi[:] = u_hi < p_hi
    final = np.where(ps.unknown | ~comp, 10, np.where(ps.hi, ps.hi_lev, ps.ylev))
    cat = np.where(final >= 40, 2, np.where(final >= 20, 1, 0))
    # children of households: background = the highest education of the household's adults
    hh = hh_uid
    kids = np.flatnonzero(~hh_adult)
    adults = np.flatnonzero(hh_adult)
    best = np.zeros(int(hh.max(initial=-1)) + 1, np.int8)
    np.maximum.at(best, hh[adults], cat[adults].astype(np.int8))
    ps.pe[kids] = best[hh[kids]]
    # reference-population children keep the background drawn from their latent
    ps.p25[:] = p25_for(ps.pe)
    ps.hi[:] = u_hi < np.clip(0.2 + 0.35 * gym + 0.1 * (ps.pe == 2) + 0.05 * s, 0, 0.9)


def _latent_outcomes(rng: np.random.Generator, ps: Persons) -> None:
    N = ps.n
    s = ps.s.astype(np.float64)
    nonw = ps.herk == 3
    ps.x_emp[:] = -1.45 - 0.6 * s + 0.5 * ps.immig + 0.3 * (nonw & ps.female)
    ps.wage[:] = 0.45 * s + rng.normal(0, 0.25, N) - 0.3 * ps.immig
    ps.risk[:] = (
        np.exp(rng.normal(0, 0.7, N) - 0.245)
        * np.where(ps.female, 0.4, 1.6)
        * np.exp(-0.3 * s)
        * np.where(nonw, 1.25, 1.0)
    )
    ps.q_pl[:] = np.clip(0.006 * np.exp(rng.normal(0, 1.0, N) - 0.5 - 0.6 * s), 0, 0.6)


# --------------------------------------------------------------------------- person-years


@dataclass
class Rows:
    """Person-years of the superset world, sorted by person, then year."""

    pid: np.ndarray  # int32
    year: np.ndarray  # int16
    area: np.ndarray  # int16, -1 outside the study areas
    age: np.ndarray  # int8 (year - birth year)
    length: np.ndarray  # int64 per person: number of rows (a person's rows are contiguous)
    start: np.ndarray  # int64 per person and one more: first row (and the number of rows)

    @property
    def n(self) -> int:
        return len(self.pid)


def expand_rows(ps: Persons) -> Rows:
    """Person-years: the years in the study area, then the years followed outside.

    Built block by block of persons (into the final arrays), so that the temporaries
    stay small.
    """
    l1 = np.where(ps.area >= 0, np.maximum(ps.in_end.astype(np.int32) - ps.in_start + 1, 0), 0)
    l2 = np.maximum(ps.out_end.astype(np.int32) - ps.out_start + 1, 0)
    length = (l1 + l2).astype(np.int64)
    start = np.r_[0, np.cumsum(length)]
    first = np.where(l1 > 0, ps.in_start, ps.out_start).astype(np.int16)
    # years outside follow those inside directly, except where a gap is left
    jump = np.where(l1 > 0, ps.out_start - (ps.in_start + l1), 0).astype(np.int16)
    any_jump = bool(jump[(l1 > 0) & (l2 > 0)].any())
    n = int(start[-1])
    pid = np.empty(n, np.int32)
    year = np.empty(n, np.int16)
    area = np.empty(n, np.int16)
    age = np.empty(n, np.int8)
    cuts = np.r_[0, np.searchsorted(start, np.arange(1 << 20, n, 1 << 20)), ps.n]

    def fill(block: tuple[int, int]) -> None:
        p0, p1 = block
        lo, hi = int(start[p0]), int(start[p1])
        cnt = length[p0:p1]
        who = np.repeat(np.arange(p0, p1, dtype=np.int32), cnt)
        pid[lo:hi] = who
        # position within the person's rows
        j = np.arange(lo, hi, dtype=np.int64) - start.take(who)
        second = j >= l1.take(who)
        y = first.take(who) + j.astype(np.int16)
        if any_jump:
            y += jump.take(who) * second
        year[lo:hi] = y
        area[lo:hi] = np.where(second, np.int16(-1), ps.area.take(who))
        # ages are 1-110 (first counted the year after birth; alive_end <= birth + 110)
        age[lo:hi] = y - ps.birth.take(who)

    for _ in thread_map(fill, itertools.pairwise(cuts)):  # blocks of persons: disjoint rows
        pass
    return Rows(pid, year, area, age, length, start)


@dataclass
class Timeline:
    """Per area: cumulative count of active years and the last active year up to each year."""

    cum: np.ndarray  # (n_areas, T + 1), cum[:, i] = active years among the first i years
    last: np.ndarray  # (n_areas, T) last active year <= year, 0 if none

    @classmethod
    def of(cls, active: np.ndarray, y0: int) -> Timeline:
        n, t = active.shape
        cum = np.zeros((n, t + 1), np.int32)
        cum[:, 1:] = np.cumsum(active, axis=1)
        years = np.where(active, np.arange(y0, y0 + t)[None, :], 0)
        return cls(cum, np.maximum.accumulate(years, axis=1))


@dataclass
class ChildhoodWindow:
    """Each person's years in their area before 18, as flat indices into ``Timeline.cum``.

    Computed once for a set of persons, it gives their exposure to any kind's timeline
    with two gathers (:meth:`exposure`).
    """

    hi: np.ndarray  # index of cum at the last year before 18 in the area (+ 1)
    lo: np.ndarray  # index of cum at the first year in the area
    ok: np.ndarray  # whether any year in the area is before 18

    @classmethod
    def of(cls, ps: Persons, persons: np.ndarray, y0: int, y1: int) -> ChildhoodWindow:
        a = ps.area.take(persons).astype(np.int64)
        s = ps.in_start.take(persons).astype(np.int64)
        stop = np.minimum(
            np.minimum(ps.in_end.take(persons), ps.birth.take(persons) + 17), y1
        ).astype(np.int64)
        # flat indices into cum (n_areas, T + 1): gathers, much faster than 2-d indexing
        row = a * (y1 - y0 + 2)
        hi = row + np.maximum(stop, y0 - 1) - (y0 - 1)
        lo = row + np.minimum(np.maximum(s, y0), y1) - y0
        return cls(hi, lo, stop >= s)

    def exposure(self, tl: Timeline) -> np.ndarray:
        """Years before age 18 lived in the person's area while the activity was on."""
        cum = tl.cum.ravel()
        return np.where(self.ok, cum.take(self.hi) - cum.take(self.lo), 0)
