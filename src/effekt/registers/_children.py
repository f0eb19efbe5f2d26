"""children: person registers to the children table (parents' background, exposure, outcomes)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from effekt.errors import DataError, invalid_parameter, missing_column
from effekt.registers import codes
from effekt.registers._core import (
    RegisterSource,
    _connect,
    _import_duckdb,
    _is_int,
    _register_map,
)
from effekt.registers._inputs import attach, check_values, typed_views
from effekt.registers._sql import CONVICTING, ints

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

OWNER = "children"

#: Intervention kinds in the order of ``data_schemas/interventions.schema.json``.
_KINDS = (
    "lbf_helhedsplan",
    "ungdomscafe",
    "lommepengeprojekt",
    "fritidsjob",
    "skolesamarbejde",
    "familieindsats",
    "fremskudt_beskaeftigelse",
    "anden_kernedrift",
    "fysisk_omdannelse",
)


def children(
    registers: Mapping[str, RegisterSource],
    *,
    interventions: pd.DataFrame,
    window: tuple[int, int] = (6, 17),
    parent_age: int = 15,
    birth_years: Iterable[int] | None = None,
    columns: Mapping[str, str | Mapping[str, str]] | None = None,
    threads: int | None = None,
    memory_limit: str = "50%",
) -> pd.DataFrame:
    """Build the children table: parents' background, childhood exposure and outcomes.

    The children are the persons with at least one ``bef`` row in a housing area
    (``OMRAADE``) at an age in ``window``. For each child the table links the
    parents through ``bef``'s ``MOR_PNR``/``FAR_PNR`` (as in DST's BEF), measures
    their background in their own ``udda`` and ``ras`` rows, counts the childhood
    years lived in an area while an effort of each kind operated there (wherever the
    child lived), and computes the child outcomes of
    :data:`effekt.registers.codes.CHILD_OUTCOMES`, all in DuckDB.

    Definitions:

    - **Parents' education** (``parents_education``): the higher of the two parents'
      HFAUDD_NIVEAU, as ``"basic"`` (10), ``"youth"`` (20-39) or ``"higher"`` (40+),
      each parent measured in the year the child turns ``parent_age`` or, if the
      parent has no ``udda`` row then, in the nearest year with one (the earlier of
      two equally near years): the usual DST practice of measuring the parents at a
      fixed age of the child. ``parents_employed``: at least one parent working
      (SOCIO13 110-139) in the same way. Missing when no parent is found
      (``n_parents`` 0): such children stay in the table; the estimators leave them
      out with a ledger entry and a warning.
    - **Area** (``area_id``, ``kommune_code``, ``area_age``): the first housing area
      the child lived in at an age in ``window``, and the age then.
    - **Exposure** (``exposure_<kind>``, ``exposure_any``): the number of years at
      ages in ``window`` in which the child lived (on 1 January) in an area while an
      effort of the kind operated there (area-wide spells in the area, kommune-wide
      ones in every area of the kommune; an ongoing spell, ``end_year`` missing,
      runs to the last year of ``bef``), counted in every area the child lived in.
    - **Outcomes**: ``youth_edu_21``, ``youth_edu_25`` (HFAUDD_NIVEAU >= 20 at 21, 25),
      ``neet_18_24`` (share of the ages 18-24 NEET), ``charged_by_18``,
      ``charged_by_21`` (a non-traffic charge or a conviction at ages 15-17, 15-20),
      ``employed_30`` (working at 30). NaN where the child is not observed at every
      age the outcome needs (too young, or not in the registers).
    - **Disclosure**: ``cell_children`` is the number of children in the table with
      the same ``area_id`` and ``birth_year``; aggregates over fewer persons than
      the research server's minimum must not leave it (:mod:`effekt.disclosure`).

    Parameters
    ----------
    registers : mapping of str to DataFrame or path
        The registers of the register contract, as for
        :func:`~effekt.registers.area_indicators`; ``bef`` must have ``MOR_PNR``
        and ``FAR_PNR``.
    interventions : DataFrame
        Intervention spells (schema ``interventions``).
    window : (int, int), default (6, 17)
        First and last age of childhood for the exposure.
    parent_age : int, default 15
        The child's age at which the parents' background is measured.
    birth_years : sequence of int, optional
        Keep only these birth cohorts.
    columns, threads, memory_limit
        As for :func:`~effekt.registers.area_indicators`.

    Returns
    -------
    pandas.DataFrame
        One row per child, sorted by ``person_id`` (schema ``children``).

    Raises
    ------
    DataError
        If ``bef`` has no ``MOR_PNR``/``FAR_PNR``, the interventions lack a column,
        or no child is found.
    ParameterError
        For a bad ``window``, ``parent_age`` or ``birth_years``.

    Examples
    --------
    >>> import effekt as ek
    >>> world = ek.simulate.denmark(n_areas=10, years=(2005, 2014), seed=1)
    >>> kids = ek.registers.children(world.registers(), interventions=world.interventions)
    >>> int(kids["n_parents"].max())
    2
    """
    w0, w1 = _window(window)
    if not _is_int(parent_age) or not 0 <= parent_age <= 30:
        raise invalid_parameter("parent_age", OWNER, "an integer age in 0..30", parent_age)
    cohorts: list[int] | None = None
    if birth_years is not None:
        raw: list[Any] = [birth_years] if _is_int(birth_years) else list(birth_years)
        if not raw or not all(_is_int(c) for c in raw):
            raise invalid_parameter(
                "birth_years", OWNER, "a non-empty sequence of integer years", birth_years
            )
        cohorts = [int(c) for c in raw]
    if not isinstance(interventions, pd.DataFrame):
        raise invalid_parameter(
            "interventions", OWNER, "a DataFrame (schema interventions)", interventions
        )
    for col in ("area_id", "kommune_code", "scope", "kind", "start_year", "end_year"):
        if col not in interventions.columns:
            raise missing_column("interventions", OWNER, col, list(interventions.columns))
    named = _register_map(registers)
    duckdb = _import_duckdb()
    with tempfile.TemporaryDirectory(prefix="effekt-duckdb-") as spill:
        con = _connect(duckdb, threads, memory_limit, spill)
        try:
            con.execute("SET enable_progress_bar = false")  # (no bars on a server's log)
            return _compute(con, named, columns, interventions, (w0, w1), parent_age, cohorts)
        finally:
            con.close()


def _window(window: Any) -> tuple[int, int]:
    ok = (
        isinstance(window, tuple | list)
        and len(window) == 2
        and all(_is_int(a) for a in window)
        and 0 <= window[0] <= window[1] <= 25
    )
    if not ok:
        raise invalid_parameter(
            "window", OWNER, "two integer ages (first, last) with 0 <= first <= last <= 25", window
        )
    return int(window[0]), int(window[1])


def activity(interventions: pd.DataFrame, areas: pd.DataFrame, last_year: int) -> pd.DataFrame:
    """Distinct (area, year, kind) in which an effort operated, from the spells.

    ``areas`` has ``area`` and ``kom`` (the areas and their kommune); kommune-wide
    spells count in every area of their kommune.
    """
    iv = interventions
    end = pd.to_numeric(iv["end_year"]).fillna(last_year).to_numpy(np.int64)
    end = np.minimum(np.where(end < 0, last_year, end), last_year)
    start = iv["start_year"].to_numpy(np.int64)
    n = np.maximum(end - start + 1, 0)
    rep = np.repeat(np.arange(len(iv)), n)
    year = np.repeat(start, n) + (np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n))
    spell = pd.DataFrame(
        {
            "kind": iv["kind"].astype(str).to_numpy()[rep],
            "scope": iv["scope"].astype(str).to_numpy()[rep],
            "area": iv["area_id"].astype(object).to_numpy()[rep],
            "kom": iv["kommune_code"].to_numpy()[rep],
            "year": year,
        }
    )
    own = spell[spell["scope"] != "kommune"][["area", "year", "kind"]]
    kw = spell[spell["scope"] == "kommune"].merge(areas, on="kom", suffixes=("_x", ""))
    out = pd.concat([own, kw[["area", "year", "kind"]]], ignore_index=True).dropna()
    out = out.drop_duplicates(ignore_index=True)
    return out.astype({"area": str, "year": np.int64, "kind": str})


def _compute(
    con: duckdb.DuckDBPyConnection,
    registers: dict[str, Any],
    columns: Any,
    interventions: pd.DataFrame,
    window: tuple[int, int],
    parent_age: int,
    cohorts: list[int] | None,
) -> pd.DataFrame:
    sources = attach(con, registers, columns)
    if not {"MOR_PNR", "FAR_PNR"} <= set(sources["bef"].types):
        raise DataError(
            "The children table links children to their parents through bef's MOR_PNR and "
            f"FAR_PNR, but bef has neither or only one of them (its columns: "
            f"{list(sources['bef'].types)}). Add the parents' person keys from BEF (map your "
            "names with columns={'bef': {'MOR_PNR': ..., 'FAR_PNR': ...}})."
        )
    check_values(con, sources)
    typed_views(con, sources)
    w0, w1 = window
    cohort_sql = f"AND FOED_AAR IN ({ints(cohorts)})" if cohorts else ""
    con.execute(f"""
        CREATE TEMP TABLE kid AS
        SELECT PNR, min(FOED_AAR) AS birth_year, arg_min(OMRAADE, AAR) AS area_id,
               arg_min(KOM, AAR) AS kommune_code, min(age) AS area_age
        FROM v_bef
        WHERE OMRAADE IS NOT NULL AND age BETWEEN {w0} AND {w1} {cohort_sql}
        GROUP BY PNR""")
    n_kids = con.execute("SELECT count(*) FROM kid").fetchone()
    if not n_kids or not n_kids[0]:
        raise DataError(
            f"No child in bef: nobody lived in a housing area (OMRAADE) at ages {w0}-{w1}"
            + (f" in the birth cohorts {cohorts}" if cohorts else "")
            + ". Check the window, the birth_years and bef's OMRAADE."
        )
    con.execute("""
        CREATE TEMP TABLE link AS
        SELECT b.PNR, max(b.MOR_PNR) AS mother_id, max(b.FAR_PNR) AS father_id
        FROM v_bef b SEMI JOIN kid k ON b.PNR = k.PNR GROUP BY b.PNR""")
    # each parent in the year the child turns parent_age, or the nearest year (ties: earlier)
    at = f"k.birth_year + {parent_age}"
    order = f"abs(x.AAR - ({at})) * 2 + (x.AAR > {at})::INT"
    lo, hi = codes.SOCIO13_WORKING
    con.execute(f"""
        CREATE TEMP TABLE parent AS
        WITH par AS (
            SELECT PNR, mother_id AS parent FROM link WHERE mother_id IS NOT NULL
            UNION ALL SELECT PNR, father_id FROM link WHERE father_id IS NOT NULL
        ),
        edu AS (
            SELECT p.PNR, p.parent, arg_min(x.HFAUDD_NIVEAU, {order}) AS hf
            FROM par p JOIN kid k ON k.PNR = p.PNR JOIN v_udda x ON x.PNR = p.parent
            GROUP BY p.PNR, p.parent
        ),
        work AS (
            SELECT p.PNR, p.parent, arg_min(x.SOCIO13, {order}) AS socio
            FROM par p JOIN kid k ON k.PNR = p.PNR JOIN v_ras x ON x.PNR = p.parent
            GROUP BY p.PNR, p.parent
        )
        SELECT e.PNR, count(*) AS n_parents,
               max((e.hf >= {codes.YOUTH_EDU_LEVEL})::INT
                   + (e.hf >= {codes.HIGHER_EDU_LEVEL})::INT) AS edu,
               coalesce(bool_or(w.socio BETWEEN {lo} AND {hi}), FALSE) AS employed
        FROM edu e LEFT JOIN work w ON w.PNR = e.PNR AND w.parent = e.parent
        GROUP BY e.PNR""")
    # exposure: the areas' activity by year and kind
    last_year = con.execute("SELECT max(AAR) FROM v_bef").fetchone()
    areas = con.execute(
        "SELECT OMRAADE AS area, min(KOM) AS kom FROM v_bef WHERE OMRAADE IS NOT NULL GROUP BY 1"
    ).df()
    act = activity(interventions, areas, int(last_year[0]) if last_year else 0)
    kinds = [k for k in _KINDS if k in set(act["kind"])] + sorted(set(act["kind"]) - set(_KINDS))
    con.register("act", act)
    expo_cols = ", ".join(
        f"count_if(a.kind = '{k}') AS exposure_{k}" for k in kinds if k.isidentifier()
    )
    con.execute(f"""
        CREATE TEMP TABLE expo AS
        WITH cy AS (
            SELECT b.PNR, b.AAR, b.OMRAADE FROM v_bef b SEMI JOIN kid k ON b.PNR = k.PNR
            WHERE b.OMRAADE IS NOT NULL AND b.age BETWEEN {w0} AND {w1}
        ),
        hit AS (SELECT cy.PNR, cy.AAR, a.kind FROM cy JOIN act a
                ON a.area = cy.OMRAADE AND a.year = cy.AAR)
        SELECT a.PNR, count(DISTINCT a.AAR) AS exposure_any
               {", " + expo_cols if expo_cols else ""}
        FROM hit a GROUP BY a.PNR""")
    # outcomes from the child-years at the outcome ages
    ages = [a for _, lo_a, hi_a in codes.CHILD_OUTCOMES.values() for a in (lo_a, hi_a)]
    traffic = codes.TRAFFIC_CATEGORY
    con.execute(f"""
        CREATE TEMP TABLE cy AS
        WITH crime AS (
            SELECT DISTINCT PNR, AAR FROM (
                SELECT PNR, AAR FROM v_krsi WHERE KATEGORI <> '{traffic}'
                UNION ALL
                SELECT PNR, AAR FROM v_kraf
                WHERE AFGOERELSE = 'dom' AND KATEGORI IN {CONVICTING}
            )
        )
        SELECT b.PNR, b.age, u.HFAUDD_NIVEAU AS hf, u.UDD_IGANG AS udd, r.SOCIO13 AS socio,
               c.PNR IS NOT NULL AS crime
        FROM (SELECT PNR, AAR, age FROM v_bef b SEMI JOIN kid k ON b.PNR = k.PNR
              WHERE age BETWEEN {min(ages)} AND {max(ages)}) b
        LEFT JOIN v_udda u ON u.PNR = b.PNR AND u.AAR = b.AAR
        LEFT JOIN v_ras r ON r.PNR = b.PNR AND r.AAR = b.AAR
        LEFT JOIN crime c ON c.PNR = b.PNR AND c.AAR = b.AAR""")
    working = f"(socio BETWEEN {lo} AND {hi})"
    parts = []
    for name, (rule, a, z) in codes.CHILD_OUTCOMES.items():
        span = f"age BETWEEN {a} AND {z}"
        n = z - a + 1
        if rule == "youth_edu":
            value = f"max(CASE WHEN age = {z} THEN (hf >= {codes.YOUTH_EDU_LEVEL})::DOUBLE END)"
            seen = f"count_if(age = {z} AND hf IS NOT NULL) = 1"
        elif rule == "employed":
            value = f"max(CASE WHEN age = {z} THEN {working}::DOUBLE END)"
            seen = f"count_if(age = {z} AND socio IS NOT NULL) = 1"
        elif rule == "neet":
            neet = f"(NOT {working} AND socio <> {codes.SOCIO13_STUDENT} AND udd = 0)"
            value = f"avg(CASE WHEN {span} THEN {neet}::DOUBLE END)"
            seen = f"count_if({span} AND socio IS NOT NULL AND udd IS NOT NULL) = {n}"
        else:
            value = f"max(CASE WHEN {span} THEN crime::DOUBLE END)"
            seen = f"count_if({span}) = {n}"
        parts.append(f"CASE WHEN {seen} THEN {value} END AS {name}")
    con.execute(f"CREATE TEMP TABLE outc AS SELECT PNR, {', '.join(parts)} FROM cy GROUP BY PNR")
    expo_names = ["exposure_any", *(f"exposure_{k}" for k in kinds if k.isidentifier())]
    expo_sel = ", ".join(f"coalesce(e.{c}, 0) AS {c}" for c in expo_names)
    out_sel = ", ".join(f"o.{c}" for c in codes.CHILD_OUTCOMES)
    result = con.execute(f"""
        SELECT k.PNR AS person_id, k.birth_year, l.mother_id, l.father_id,
               coalesce(p.n_parents, 0) AS n_parents, p.edu, p.employed AS parents_employed,
               k.area_id, k.kommune_code, k.area_age, {expo_sel}, {out_sel}
        FROM kid k LEFT JOIN link l ON l.PNR = k.PNR LEFT JOIN parent p ON p.PNR = k.PNR
        LEFT JOIN expo e ON e.PNR = k.PNR LEFT JOIN outc o ON o.PNR = k.PNR
        ORDER BY k.PNR""").df()
    return finish(result, expo_names)


def finish(result: pd.DataFrame, expo_names: list[str]) -> pd.DataFrame:
    """Give the children table its dtypes and disclosure counts (shared with the simulator)."""
    edu = result.pop("edu") if "edu" in result else None
    out = result.copy()
    if edu is not None:
        labels = np.asarray([None, *codes.PARENT_EDUCATION], dtype=object)
        e = pd.to_numeric(edu).fillna(-1).to_numpy(np.int64)
        out.insert(5, "parents_education", pd.array(labels[e + 1], dtype="str"))
    found = out["n_parents"].to_numpy(np.int64)
    employed = out["parents_employed"].astype("boolean").fillna(False).to_numpy(bool)
    out["parents_employed"] = pd.arrays.BooleanArray(employed, found == 0)
    for col in ("person_id", "mother_id", "father_id", "area_id"):
        out[col] = out[col].astype("str")
    ints_ = ["birth_year", "n_parents", "kommune_code", "area_age", *expo_names]
    out = out.astype(dict.fromkeys(ints_, "int64"))
    for name in codes.CHILD_OUTCOMES:
        out[name] = pd.to_numeric(out[name]).astype("float64")
    out["cell_children"] = (
        out.groupby(["area_id", "birth_year"], sort=False)["person_id"]
        .transform("size")
        .astype("int64")
    )
    return out.reset_index(drop=True)
