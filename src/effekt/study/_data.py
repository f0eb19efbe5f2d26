"""From a study and data (a simulated World or canonical tables) to the analysis sample."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt.errors import DataError, IdentificationError, ParameterError
from effekt.schemas import load_schema, validate
from effekt.study._text import Note

if TYPE_CHECKING:  # pragma: no cover - an annotation only; _spec imports the run lazily
    from effekt.study._spec import Study

_OWNER = "Study.run"
_TABLES = ("area_year", "interventions", "areas", "stayer_year")


@dataclass(frozen=True)
class Tables:
    """The canonical tables a study runs on, and the simulated world if there is one."""

    area_year: pd.DataFrame
    interventions: pd.DataFrame
    areas: pd.DataFrame | None
    world: Any = None
    stayer_year: pd.DataFrame | None = None  # area_year rows per baseline_year (stayers)


@dataclass
class Sample:
    """The analysis sample of one study: one row per area and year, with the timing."""

    frame: pd.DataFrame  # area_id, year, kommune_code[, region_code], first_treated, outcomes
    treated: list[str]
    comparison: list[str]  # never treated in the period (after the donor rule)
    cohorts: pd.Series  # first treated year per treated area
    counts: dict[str, str]  # outcome -> column with the persons each value rests on
    notes: list[str] = field(default_factory=list)
    dropped: pd.DataFrame = field(default_factory=pd.DataFrame)  # area_id, reason
    years: tuple[int, int] = (0, 0)
    # population="stayers": the stacked sub-panels, one per treatment cohort g, of the
    # cohort's treated areas and its comparison areas, with indicators over the persons
    # resident in g - 1 (column baseline_year); first_treated as in frame
    stayers: pd.DataFrame | None = None
    # spells of other kinds starting near a treated area's start (see co_starts)
    co_starts: pd.DataFrame = field(default_factory=pd.DataFrame)


def as_tables(data: Any, study: Study | None = None) -> Tables:
    """Accept a World or a mapping of canonical tables; validate the tables.

    With ``study``, each table is validated with the columns the study needs
    (:meth:`Study.required_columns`) and the study's own outcomes, exactly as
    ``effekt validate --study`` does, so the two cannot disagree.
    """
    from effekt.simulate import World

    if isinstance(data, World):
        return Tables(data.area_year, data.interventions, data.areas, data)
    if not isinstance(data, Mapping):
        raise ParameterError(
            f"The 'data' argument of {_OWNER} must be an effekt.simulate.World or a mapping "
            "{'area_year': DataFrame, 'interventions': DataFrame[, 'areas': DataFrame]}. "
            f"Got {type(data).__name__}."
        )
    unknown = [k for k in data if k not in _TABLES]
    if unknown:
        raise ParameterError(
            f"The 'data' mapping of {_OWNER} has unknown table(s) {unknown}; allowed: "
            f"{list(_TABLES)}."
        )
    for need in ("area_year", "interventions"):
        if need not in data:
            raise ParameterError(
                f"The 'data' mapping of {_OWNER} lacks the {need!r} table; a study needs "
                "'area_year' and 'interventions' (and 'areas' for region-based donor rules)."
            )
    for name, table in data.items():
        if not isinstance(table, pd.DataFrame):
            raise ParameterError(
                f"data[{name!r}] must be a pandas DataFrame. Got {type(table).__name__}."
            )
        if name == "stayer_year":
            _validate_stayer_year(table, study)
        else:
            validate(table, name, **_requirements(study, name, table))
    return Tables(
        data["area_year"],
        data["interventions"],
        data.get("areas"),
        stayer_year=data.get("stayer_year"),
    )


_STAYER_HOWTO = (
    "Build it by stacking effekt.registers.area_indicators(registers, population='stayers', "
    "baseline_year=b).assign(baseline_year=b) over the baseline years b = g - 1 of the "
    "treatment cohorts g (pandas.concat), or pass a simulated World (World.stayer_panel)."
)


def _requirements(study: Study | None, name: str, table: pd.DataFrame) -> dict[str, Any]:
    """``validate`` keywords for a study's table (columns it needs, outcomes of its own)."""
    if study is None:
        return {}
    if name != "area_year":
        return {"required": study.required_columns().get(name, [])}
    custom = study.custom_outcomes
    fields = {f["name"] for f in load_schema("area_year")["fields"]}
    for out in study.outcomes:
        if out in table.columns and out not in fields and out not in custom:
            from difflib import get_close_matches

            close = get_close_matches(out, sorted(fields), n=1)
            hint = f" If you meant the canonical {close[0]!r}, fix the name." if close else ""
            raise DataError(
                f"The study's outcome {out!r} is a column of the area_year table but not of the "
                f"area_year schema.{hint} If it is an outcome of your own, declare the person "
                f'count it rests on: denominators = {{{out} = "pop_..."}} in the study file, '
                f"or Study(..., denominators={{{out!r}: 'pop_...'}})."
            )
    # an outcome absent from the table gets its own message in build_sample (with a
    # "did you mean"), so only the columns of the outcomes present are required here
    absent = [o for o in study.outcomes if o not in table.columns]
    skip = {*absent, *(study.denominator(o) for o in absent)} - {
        study.denominator(o) for o in study.outcomes if o not in absent
    }
    required = [c for c in study.required_columns()["area_year"] if c not in skip]
    return {"outcomes": custom, "required": required}


def _validate_stayer_year(table: pd.DataFrame, study: Study | None = None) -> None:
    """A stacked stayer table: area_year rows for each value of ``baseline_year``."""
    if "baseline_year" not in table.columns:
        raise DataError(
            "data['stayer_year'] has no 'baseline_year' column: it must hold area_year rows "
            f"for each baseline year, with that year in 'baseline_year'. {_STAYER_HOWTO}"
        )
    base = table["baseline_year"]
    if not pd.api.types.is_integer_dtype(base) or bool(base.isna().any()):
        raise DataError(
            "data['stayer_year']['baseline_year'] must hold integer years without missing "
            f"values. Got dtype {base.dtype} with values {base.drop_duplicates().head(5).tolist()}."
        )
    rows = table.drop(columns="baseline_year")
    for b, part in rows.groupby(base.to_numpy(), sort=True):  # loop over baseline years
        try:
            validate(part, "area_year", **_requirements(study, "area_year", part))
        except DataError as err:
            raise DataError(
                f"The rows of data['stayer_year'] with baseline_year == {b} are not a valid "
                f"area_year table:\n{err}"
            ) from None


def _area_spells(iv: pd.DataFrame, areas: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per spell and area it reaches: its own area, or (``area_id`` missing, a
    kommune-wide spell) every area of its kommune; ``area_id`` then ``columns``."""
    own = iv[iv["area_id"].notna()][["area_id", *columns]]
    wide = iv[iv["area_id"].isna()][["kommune_code", *columns]].merge(
        areas[["area_id", "kommune_code"]], on="kommune_code"
    )[["area_id", *columns]]
    return pd.concat([own, wide], ignore_index=True)


def _first_starts(iv: pd.DataFrame, areas: pd.DataFrame) -> pd.Series:
    """First start year per area of the given spells; kommune-wide spells reach every area."""
    first = _area_spells(iv, areas, ["start_year"]).groupby("area_id")["start_year"].min()
    return first.reindex(areas["area_id"]).astype("Float64")


#: Years either side of a treated area's start within which another intervention's start
#: counts as co-occurring: the designs' base period is the year before the start, and
#: effects build up over the first years, so a start in g - 1, g or g + 1 lands in the
#: same before/after contrast as the treatment's own.
CO_START_WINDOW = 1


def co_starts(
    iv: pd.DataFrame,
    areas: pd.DataFrame,
    cohorts: pd.Series,
    kinds: tuple[str, ...],
    base: str | None,
) -> pd.DataFrame:
    """Spells of other kinds that start within ``CO_START_WINDOW`` years of a treated start.

    Parameters
    ----------
    iv : DataFrame
        The interventions table (``area_id`` missing for kommune-wide spells).
    areas : DataFrame
        ``area_id`` and ``kommune_code`` of the areas (a kommune-wide spell reaches
        every area of its kommune).
    cohorts : Series
        Treatment start year, indexed by the treated areas' ids.
    kinds : tuple of str
        The treatment's kinds (never co-occurring: they are the treatment).
    base : str or None
        The base kind; a spell of it co-occurs only if it starts in the treatment's
        start year or the year after, since the treated areas have the base by
        design before or when the treatment starts, but a plan starting with (or
        just after) the treatment puts its own start into the treatment's contrast.

    Returns
    -------
    DataFrame
        ``area_id, kind, start_year, treatment_start, lag`` (``lag`` = spell start
        minus treatment start), one row per co-occurring spell and treated area,
        sorted by area, kind and start year.
    """
    both = _area_spells(iv[~iv["kind"].isin(kinds)], areas, ["kind", "start_year"])
    both = both.assign(
        area_id=both["area_id"].astype(str),
        kind=both["kind"].astype(str),
        start_year=both["start_year"].astype(np.int64),
    )
    g = both["area_id"].map(cohorts.rename(index=str))
    both = both.assign(treatment_start=g)[g.notna().to_numpy()]
    both["treatment_start"] = both["treatment_start"].astype(np.int64)
    both["lag"] = both["start_year"] - both["treatment_start"]
    near = both["lag"].abs() <= CO_START_WINDOW
    if base is not None:
        near &= (both["kind"] != base) | (both["lag"] >= 0)
    out = both[near.to_numpy()].sort_values(["area_id", "kind", "start_year"], kind="stable")
    return out.reset_index(drop=True)


def _kind_check(kind: str, present: list[str], key: str) -> None:
    if kind not in present:
        raise DataError(
            f"The study's {key} names the intervention kind {kind!r}, which does not occur in "
            f"the interventions table. Kinds present: {', '.join(present)}. Fix {key} in the "
            "study (spelling?), or pass data that contain that kind."
        )


def build_sample(study: Study, tables: Tables) -> Sample:
    """Apply the study's period, treatment, base and comparison rules to the tables."""
    ay = tables.area_year
    years = ay["year"].to_numpy()
    y_min, y_max = int(years.min()), int(years.max())
    first, last = study.period if study.period is not None else (y_min, y_max)
    if first < y_min or last > y_max:
        raise DataError(
            f"The study's period {[first, last]} lies outside the data, which cover "
            f"{y_min}-{y_max}. Set period within those years (or leave it out to use them all)."
        )
    if last - first < 2:
        raise ParameterError(
            f"The study's period {[first, last]} is too short: a before/after comparison needs "
            "at least three years."
        )
    for out in study.outcomes:
        if out not in ay.columns:
            from difflib import get_close_matches

            names = [str(c) for c in ay.columns]
            close = get_close_matches(out, names, n=1) or [c for c in names if out in c][:1]
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise DataError(
                f"The study's outcome {out!r} is not a column of the area_year table.{hint} "
                f"Columns: {', '.join(map(str, ay.columns))}."
            )
    notes: list[str] = []
    ay = ay[(ay["year"] >= first) & (ay["year"] <= last)]
    counts = {out: study.denominator(out) for out in study.outcomes}

    iv = tables.interventions
    present = sorted(iv["kind"].dropna().astype(str).unique().tolist())
    tr = study.treatment
    for k in tr.kinds:
        _kind_check(k, present, "treatment.kinds")
    if tr.base is not None:
        _kind_check(tr.base, present, "treatment.base")
    spells = iv[iv["kind"].isin(tr.kinds)]
    for name, col in (("funder", "funder"), ("round", "funding_round")):
        value = getattr(tr, name)
        if value is not None:
            kept = spells[spells[col] == value]
            if kept.empty:
                shown = sorted(spells[col].dropna().astype(str).unique().tolist())
                raise DataError(
                    f"No intervention of kinds {list(tr.kinds)} has {col} == {value!r} "
                    f"(treatment.{name}). Values present for these kinds: {shown}."
                )
            spells = kept

    area_tab = ay.groupby("area_id", sort=True)["kommune_code"].first().reset_index()
    if tables.areas is not None:
        area_tab = area_tab.merge(
            tables.areas[["area_id", "region_code"]], on="area_id", how="left"
        )
    x_start = _first_starts(spells, area_tab)
    dropped: list[tuple[str, str, str]] = []  # area, reason in English and in Danish
    keep = pd.Series(True, index=area_tab["area_id"].to_numpy())
    if tr.base is not None:
        base_start = _first_starts(iv[iv["kind"] == tr.base], area_tab)
        has_base = (base_start <= last).fillna(False).to_numpy(dtype=bool)
        keep &= has_base
        before_base = (x_start < base_start).fillna(False).to_numpy(dtype=bool) & has_base
        before_base &= (x_start <= last).fillna(False).to_numpy(dtype=bool)
        kinds = "/".join(tr.kinds)
        for a in area_tab["area_id"].to_numpy()[before_base]:
            dropped.append(
                (a, f"{kinds} started before {tr.base}", f"{kinds} startede før {tr.base}")
            )
        keep &= ~before_base
        n_base = int(has_base.sum())
        notes.append(
            Note(
                f"Sample: the {n_base} areas with {tr.base} by {last}; treated areas get "
                f"{' or '.join(tr.kinds)} no earlier than {tr.base} starts, comparison areas "
                f"have {tr.base} but not {' or '.join(tr.kinds)} in {first}-{last}.",
                f"Stikprøve: de {n_base} områder med {tr.base} senest i {last}; behandlede "
                f"områder får {' eller '.join(tr.kinds)} tidligst samtidig med {tr.base}, "
                f"sammenligningsområder har {tr.base} men ikke {' eller '.join(tr.kinds)} i "
                f"{first}-{last}.",
            )
        )
    cohort = x_start.where(x_start <= last).fillna(0).astype(int).to_numpy()
    no_pre = (cohort > 0) & (cohort <= first) & keep.to_numpy()
    for a in area_tab["area_id"].to_numpy()[no_pre]:
        dropped.append(
            (
                a,
                f"treated from {first}, the first year of the period (no pre-period)",
                f"behandlet fra {first}, periodens første år (ingen førperiode)",
            )
        )
    keep &= ~no_pre
    cohorts = pd.Series(cohort, index=area_tab["area_id"].to_numpy())
    never = keep & (cohorts == 0)
    treated_mask = keep & (cohorts > 0)
    never_ids = _apply_donor_rule(study, ay, area_tab, cohorts, treated_mask, never, notes)
    keep &= treated_mask | cohorts.index.isin(never_ids)

    treated = cohorts.index[treated_mask].tolist()
    if not treated:
        raise IdentificationError(
            f"No area in the sample gets {' or '.join(tr.kinds)} in {first + 1}-{last}"
            + (f" on top of {tr.base}" if tr.base else "")
            + ", so there is no treated area. Widen the period, change treatment.kinds, or "
            "check the interventions table."
        )
    if not never_ids and (study.comparison.group == "never_treated" or len(set(cohort)) < 3):
        raise IdentificationError(
            f"The comparison group is empty: every area in the sample "
            f"({len(treated)} area(s)) gets {' or '.join(tr.kinds)} in {first}-{last}"
            + (f" and the donor rule {study.comparison.donors!r} left none" if never.any() else "")
            + ". Use comparison.group = 'not_yet_treated' (needs several start years), a "
            "wider donor rule, or a shorter period."
        )
    if dropped:
        more = " ..." if len(dropped) > 5 else ""
        notes.append(
            Note(
                f"{len(dropped)} area(s) left out: "
                + "; ".join(f"{a} ({why})" for a, why, _ in dropped[:5])
                + f"{more}.",
                f"{len(dropped)} område(r) udeladt: "
                + "; ".join(f"{a} ({why})" for a, _, why in dropped[:5])
                + f"{more}.",
            )
        )
    treated_cohorts = cohorts[treated_mask].astype(int)
    near = co_starts(iv, area_tab, treated_cohorts, tr.kinds, tr.base)
    sel = ay[ay["area_id"].isin(cohorts.index[keep])]
    cols = ["area_id", "year", "kommune_code"]
    frame = sel[cols].copy()
    frame["area_id"] = frame["area_id"].astype(str)
    if "region_code" in area_tab:
        frame["region_code"] = frame["area_id"].map(area_tab.set_index("area_id")["region_code"])
    frame["first_treated"] = frame["area_id"].map(cohorts).astype(np.int64)
    for c in dict.fromkeys([*study.outcomes, *counts.values()]):
        frame[c] = sel[c].to_numpy()
    return Sample(
        frame=frame.reset_index(drop=True),
        treated=[str(a) for a in treated],
        comparison=[str(a) for a in never_ids],
        cohorts=treated_cohorts,
        counts=counts,
        notes=notes,
        dropped=pd.DataFrame([d[:2] for d in dropped], columns=["area_id", "reason"]),
        years=(int(first), int(last)),
        co_starts=near,
    )


def _apply_donor_rule(
    study: Study,
    ay: pd.DataFrame,
    area_tab: pd.DataFrame,
    cohorts: pd.Series,
    treated: pd.Series,
    never: pd.Series,
    notes: list[str],
) -> list[str]:
    rule = study.comparison.donors
    pool = cohorts.index[never].tolist()
    if rule == "all" or not pool:
        return pool
    info = area_tab.set_index("area_id")
    if rule in ("same_region", "same_kommune"):
        col = "region_code" if rule == "same_region" else "kommune_code"
        if col not in info:
            raise DataError(
                f"The donor rule {rule!r} needs each area's {col}, which comes from the 'areas' "
                "table; pass data={'area_year': ..., 'interventions': ..., 'areas': ...}."
            )
        groups = set(info.loc[cohorts.index[treated], col])
        chosen = [a for a in pool if info.at[a, col] in groups]
        unit = "region" if col == "region_code" else "kommune"
        notes.append(
            Note(
                f"Comparison areas restricted to the {len(chosen)} never-treated area(s) in a "
                f"{unit} with a treated area.",
                f"Sammenligningsområderne er begrænset til de {len(chosen)} aldrig behandlede "
                f"område(r) i en {unit} med et behandlet område.",
            )
        )
        return chosen
    # most_similar: standardised pre-treatment means of the study's outcomes
    wide = ay.groupby(["area_id", "year"])[list(study.outcomes)].mean()
    units = cohorts.index[treated].tolist()
    start = cohorts[units]
    chosen_set: set[str] = set()
    n = study.comparison.n_donors
    year_idx = wide.index.get_level_values("year")
    for g in sorted(set(start.tolist())):  # one pass per start year, not per area
        before = wide[year_idx < g].groupby(level="area_id").mean()
        sd = before.std(ddof=1).replace(0, 1.0).fillna(1.0)
        z = (before - before.mean()) / sd
        zp = z.reindex(pool).dropna()
        for unit in start.index[start == g]:
            if unit not in z.index or z.loc[unit].isna().any():
                continue
            d = ((zp - z.loc[unit]) ** 2).sum(axis=1).sort_values(kind="stable")
            chosen_set.update(d.index[:n].tolist())
    chosen = [a for a in pool if a in chosen_set]
    outcomes = ", ".join(study.outcomes)
    notes.append(
        Note(
            f"Comparison areas restricted to the {len(chosen)} never-treated area(s) among the "
            f"{n} most similar to each treated area (mean of {outcomes} before its start, "
            "standardised).",
            f"Sammenligningsområderne er begrænset til de {len(chosen)} aldrig behandlede "
            f"område(r) blandt de {n} mest lignende for hvert behandlet område (gennemsnit af "
            f"{outcomes} før dets start, standardiseret).",
        )
    )
    return chosen


def build_stayers(study: Study, tables: Tables, sample: Sample) -> None:
    """Attach the stacked stayer sub-panels (``population="stayers"``) to ``sample``.

    For each treatment cohort ``g`` the sub-panel holds the cohort's treated areas and
    its comparison areas (the never-treated comparison areas and, with
    ``comparison.group = "not_yet_treated"``, the areas treated after ``g``, which keep
    their own start year), every year of the period, with each indicator computed over
    the persons resident in the area in ``g - 1`` (the same baseline year for treated
    and comparison areas). ``region_code`` follows ``sample.frame``.
    """
    first, last = sample.years
    cohorts = sample.cohorts
    starts = sorted({int(g) for g in cohorts.unique()})
    bases = [g - 1 for g in starts]
    if tables.world is not None:
        st = tables.world.stayer_panel(bases)
    elif tables.stayer_year is not None:
        st = tables.stayer_year
        have = {int(b) for b in st["baseline_year"].unique()}
        missing = [b for b in bases if b not in have]
        if missing:
            raise DataError(
                f"data['stayer_year'] lacks the baseline year(s) {missing}: the study's treated "
                f"areas start in {starts}, so it needs the stayers of each start year minus one "
                f"({bases}); it holds baseline years {sorted(have)}. {_STAYER_HOWTO}"
            )
    else:
        raise ParameterError(
            f"population = 'stayers' needs indicators over the baseline stayers (the persons "
            f"resident in each area in the year before its treatment cohort starts), which the "
            f"area_year table does not have. Pass data = {{'area_year': ..., 'interventions': "
            f"..., 'stayer_year': ...}} with a stayer table for the baseline years {bases}. "
            f"{_STAYER_HOWTO}"
        )
    counts = list(dict.fromkeys([*study.outcomes, *sample.counts.values()]))
    absent = [c for c in counts if c not in st.columns]
    if absent:
        raise DataError(
            f"The stayer table lacks the column(s) {absent} that the study's outcomes need."
        )
    st = st[(st["year"] >= first) & (st["year"] <= last)]
    region = None
    if "region_code" in sample.frame:
        region = sample.frame.groupby("area_id")["region_code"].first()
    later_ok = study.comparison.group == "not_yet_treated"
    n_years = last - first + 1
    parts = []
    for g, b in zip(starts, bases, strict=True):  # loop over treatment cohorts
        ids = [*cohorts.index[cohorts == g], *sample.comparison]
        if later_ok:
            ids += list(cohorts.index[cohorts > g])
        part = st[(st["baseline_year"] == b) & st["area_id"].astype(str).isin(ids)]
        seen = part.groupby(part["area_id"].astype(str))["year"].nunique()
        short = [a for a in ids if seen.get(a, 0) < n_years]
        if short:
            raise DataError(
                f"The stayer table for baseline year {b} lacks rows for area(s) "
                f"{short[:5]}{' ...' if len(short) > 5 else ''} in some of the years "
                f"{first}-{last} (the treatment cohort {g} and its comparison areas need "
                f"every year of the period). {_STAYER_HOWTO}"
            )
        frame = pd.DataFrame(
            {
                "area_id": part["area_id"].astype(str).to_numpy(),
                "year": part["year"].to_numpy(np.int64),
                "kommune_code": part["kommune_code"].to_numpy(np.int64),
            }
        )
        if region is not None:
            frame["region_code"] = frame["area_id"].map(region).to_numpy()
        frame["first_treated"] = frame["area_id"].map(cohorts).fillna(0).to_numpy(np.int64)
        for c in counts:
            frame[c] = part[c].to_numpy()
        frame["baseline_year"] = np.int64(b)
        parts.append(frame)
    sample.stayers = pd.concat(parts, ignore_index=True)
    years = ", ".join(map(str, starts))
    sample.notes.append(
        Note(
            "Population: the baseline stayers of each treatment cohort g (persons resident in "
            "the area in g - 1 and still there in the year analysed; in the years before, "
            "those who live there then and are still there in g - 1), in treated and "
            f"comparison areas alike; one sub-panel per start year ({years}), stacked.",
            "Population: bliverne i hver behandlingsårgang g (personer, der boede i området i "
            "g - 1 og stadig bor der i det analyserede år; i årene før de personer, der boede "
            "der dengang og stadig boede der i g - 1), i behandlede områder og "
            f"sammenligningsområder ens; ét delpanel pr. startår ({years}), stablet.",
        )
    )


def truth_table(world: Any, sample: Sample, study: Study, outcome: str) -> pd.DataFrame | None:
    """The true effect of the study's treatment, by event time and overall (None if unknown).

    For ``population="stayers"`` it is the effect on the baseline stayers of each
    treated area's cohort (defined from the start year on); it is unknown (None) when
    a kind reaches a treated area later than the study's start year there, since the
    simulator keeps each kind's stayer effect for the stayers before its own start.
    The simulator's counterfactual removes one kind at a time; with several treatment
    kinds their area-year effects are added (effects are additive in the simulator's
    linear probability model, up to truncation of probabilities at 0 and 1).
    """
    truth = world.truth
    parts = []
    for kind in study.treatment.kinds:
        try:
            u = truth.att(kind=kind, outcome=outcome, population=study.population, by="unit_time")
        except ParameterError:
            return None  # an outcome the simulator keeps no truth for
        parts.append(u[["unit", "cohort", "time", "estimate"]])
    units = pd.concat(parts, ignore_index=True)
    units = units[units["unit"].isin(sample.treated)]
    # the simulator's stayers of a kind are those of the year before the kind's own first
    # year; the study's are those before the first start of any of its kinds
    if study.population == "stayers" and bool(
        (units["cohort"] != units["unit"].map(sample.cohorts)).any()
    ):
        return None
    effect = units.groupby(["unit", "time"])["estimate"].sum(min_count=1).dropna().reset_index()
    effect["event_time"] = effect["time"] - effect["unit"].map(sample.cohorts).astype(int)
    first, last = sample.years
    effect = effect[(effect["time"] >= first) & (effect["time"] <= last)]
    by_e = effect.groupby("event_time")["estimate"].mean()
    post = effect[effect["event_time"] >= 0]
    rows = pd.DataFrame(
        {
            "event_time": pd.array([pd.NA, *by_e.index.tolist()], dtype="Int64"),
            "truth": [float(post["estimate"].mean()), *by_e.to_numpy(float)],
        }
    )
    return rows
