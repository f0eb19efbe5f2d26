"""The SQL that turns person-year rows into area-year indicators.

The queries read the typed views ``v_<register>`` (see ``_inputs.typed_views``) and
build three temporary tables:

- ``py``: the person-years of ``bef`` that any indicator uses (ages 15-64, for the
  regional income benchmark, and everyone living in an area), with their ``ras`` and
  ``ind`` status. These two joins are the expensive part, so they run once;
- ``pop``: one row per area, person and year of the chosen population, cut from ``py``;
- ``stats`` and ``region_stats``: the area-year and region-year sums.

Year lists are validated Python integers inlined as literals; area identifiers
travel in a registered table, never in the SQL text.

Conventions that follow from the register contract:

- age is ``AAR - FOED_AAR`` (the age reached during the year);
- every contract variable is non-missing (checked beforehand), so a NULL after a
  LEFT JOIN means "the register has no row for this person-year";
- a share's denominator counts the persons whose status is known for it (all of
  the age band when the registers are complete), so a numerator never rests on
  persons outside its denominator.
"""

from __future__ import annotations

from collections.abc import Iterable

from effekt.registers import codes

# the code sets of effekt.registers.codes (shared with the simulator), as SQL
WORKING = "p.SOCIO13 BETWEEN {} AND {}".format(*codes.SOCIO13_WORKING)
STUDENT = f"p.SOCIO13 = {codes.SOCIO13_STUDENT}"
OUTSIDE = "p.SOCIO13 IN ({})".format(", ".join(map(str, codes.SOCIO13_OUTSIDE)))
CONVICTING = "({})".format(", ".join(f"'{c}'" for c in codes.CONVICTING_CATEGORIES))


def ints(values: Iterable[int]) -> str:
    """Render integers for an SQL ``IN (...)`` list."""
    return ", ".join(str(int(v)) for v in sorted(set(values)))


def in_years(column: str, years: Iterable[int]) -> str:
    """SQL condition ``column`` in ``years``.

    A run of consecutive years (the usual case) becomes ``BETWEEN``, which DuckDB
    pushes into Parquet scans and estimates well; an ``IN`` list becomes a join.
    """
    values = sorted({int(v) for v in years})
    if not values:
        return "FALSE"
    if values == list(range(values[0], values[-1] + 1)):
        return f"{column} BETWEEN {values[0]} AND {values[-1]}"
    return f"{column} IN ({ints(values)})"


def person_years(need: Iterable[int]) -> str:
    """``bef`` rows aged 15-64 or in an area, in the years ``need``, with SOCIO13 and income.

    The baseline year of a stayer population must be among ``need``.
    """
    y = in_years("AAR", need)
    return f"""
        SELECT b.PNR, b.AAR, b.KOM, b.OMRAADE, b.age, b.HERKOMST, r.SOCIO13, i.PERINDKIALT
        FROM (SELECT * FROM v_bef WHERE {y} AND (age BETWEEN 15 AND 64 OR OMRAADE IS NOT NULL)) b
        LEFT JOIN (SELECT PNR, AAR, SOCIO13 FROM v_ras WHERE {y}) r
            ON r.PNR = b.PNR AND r.AAR = b.AAR
        LEFT JOIN (SELECT PNR, AAR, PERINDKIALT FROM v_ind WHERE {y}) i
            ON i.PNR = b.PNR AND i.AAR = b.AAR"""


def bef_rows(need: Iterable[int]) -> str:
    """Number of ``bef`` rows behind ``py`` (more rows in ``py`` means duplicates)."""
    return f"""
        SELECT count(*) FROM v_bef
        WHERE {in_years("AAR", need)} AND (age BETWEEN 15 AND 64 OR OMRAADE IS NOT NULL)"""


def population(kind: str, baseline: int) -> str:
    """Rows (area, PNR, AAR, age, HERKOMST, SOCIO13, PERINDKIALT) of the population.

    ``area``: everyone registered in an area in year t. ``stayers``: everyone registered
    in the same area in the baseline year (``baseline``, ignored for ``area``) and in
    year t (the set is fixed at baseline; the years in between are not inspected, so a
    person who leaves and returns counts again from the return).
    """
    columns = "y.OMRAADE AS area, y.PNR, y.AAR, y.age, y.HERKOMST, y.SOCIO13, y.PERINDKIALT"
    if kind == "area":
        return f"SELECT {columns} FROM py y JOIN sel_areas s ON y.OMRAADE = s.area"
    return f"""
        WITH base AS (
            SELECT b.PNR, b.OMRAADE FROM py b JOIN sel_areas s ON b.OMRAADE = s.area
            WHERE b.AAR = {int(baseline)}
        )
        SELECT {columns} FROM py y JOIN base ON y.PNR = base.PNR AND y.OMRAADE = base.OMRAADE"""


def area_catalogue(years: Iterable[int]) -> str:
    """Each area with its kommune (first, last and number of distinct codes) in ``years``."""
    return f"""
        SELECT OMRAADE AS area, min(KOM) AS kom, max(KOM) AS kom_last,
               count(DISTINCT KOM) AS n_kom, list(DISTINCT AAR) AS years
        FROM v_bef
        WHERE OMRAADE IS NOT NULL AND {in_years("AAR", years)}
        GROUP BY OMRAADE"""


def area_stats(years: Iterable[int]) -> str:
    """Numerators and denominators per area and year: ``pop`` with ``udda`` and the events."""
    age = "p.age"
    ras_known = "p.SOCIO13 IS NOT NULL"
    udda_known = "u.HFAUDD_NIVEAU IS NOT NULL"
    income_ok = (
        f"{age} BETWEEN 15 AND 64 AND {ras_known} AND NOT {STUDENT} AND p.PERINDKIALT IS NOT NULL"
    )
    youth = f"{age} BETWEEN 15 AND 24 AND {ras_known} AND {udda_known}"

    # The registers are first cut to the population's person-years with semi joins, which
    # hash the (small) population and stream the register past it.
    def cut(view: str, cols: str, where: str = "TRUE") -> str:
        return (
            f"SELECT {cols} FROM {view} x SEMI JOIN pop ON pop.PNR = x.PNR AND pop.AAR = x.AAR "
            f"WHERE {in_years('x.AAR', years)} AND {where}"
        )

    return f"""
        WITH
        u AS ({cut("v_udda", "x.PNR, x.AAR, x.HFAUDD_NIVEAU, x.UDD_IGANG")}),
        convicted AS ({
        cut(
            "v_kraf",
            "DISTINCT x.PNR, x.AAR",
            f"x.AFGOERELSE = 'dom' AND x.KATEGORI IN {CONVICTING}",
        )
    }),
        charged AS ({cut("v_krsi", "DISTINCT x.PNR, x.AAR", "x.KATEGORI <> 'faerdsel'")}),
        placed AS ({cut("v_anbringelser", "DISTINCT x.PNR, x.AAR")})
        SELECT p.area, p.AAR,
            count(*) AS residents,
            count_if(p.HERKOMST = 3) AS n_nonwestern,
            count_if({age} BETWEEN 18 AND 64 AND {ras_known}) AS pop_18_64,
            count_if({age} BETWEEN 18 AND 64 AND {OUTSIDE}) AS n_outside,
            count_if({age} >= 18) AS pop_18plus,
            count_if({age} >= 18 AND cv.PNR IS NOT NULL) AS n_convicted,
            count_if({age} BETWEEN 30 AND 59 AND {udda_known}) AS pop_30_59,
            count_if({age} BETWEEN 30 AND 59 AND u.HFAUDD_NIVEAU = 10) AS n_basic_edu,
            count_if({income_ok}) AS pop_15_64,
            fsum(p.PERINDKIALT) FILTER (WHERE {income_ok}) AS income_sum,
            count_if({youth}) AS pop_15_24,
            count_if({youth} AND NOT {WORKING} AND NOT {STUDENT} AND u.UDD_IGANG = 0) AS n_neet,
            count_if({age} = 20 AND {udda_known}) AS pop_age20,
            count_if({age} = 20 AND (u.HFAUDD_NIVEAU >= 20 OR u.UDD_IGANG IN (20, 30)))
                AS n_youth_edu_20,
            count_if({age} = 25 AND {udda_known}) AS pop_age25,
            count_if({age} = 25 AND u.HFAUDD_NIVEAU >= 20) AS n_youth_edu_25,
            count_if({age} BETWEEN 15 AND 25) AS pop_15_25,
            count_if({age} BETWEEN 15 AND 25 AND ch.PNR IS NOT NULL) AS n_charged,
            count_if({age} BETWEEN 0 AND 17) AS pop_0_17,
            count_if({age} BETWEEN 0 AND 17 AND pl.PNR IS NOT NULL) AS n_placed,
            count_if({age} BETWEEN 15 AND 59 AND NOT {udda_known}) AS missing_udda
        FROM pop p
        LEFT JOIN u ON u.PNR = p.PNR AND u.AAR = p.AAR
        LEFT JOIN convicted cv ON cv.PNR = p.PNR AND cv.AAR = p.AAR
        LEFT JOIN charged ch ON ch.PNR = p.PNR AND ch.AAR = p.AAR
        LEFT JOIN placed pl ON pl.PNR = p.PNR AND pl.AAR = p.AAR
        WHERE {in_years("p.AAR", years)}
        GROUP BY p.area, p.AAR"""


def region_income(years: Iterable[int]) -> str:
    """Income sums of everyone aged 15-64 but students, per region and year.

    All of bef counts, inside and outside the study areas; the region comes from KOM.
    The counts of missing register rows feed the completeness warning.
    """
    ok = "SOCIO13 <> 310 AND PERINDKIALT IS NOT NULL"
    return f"""
        SELECT k.region, y.AAR,
            fsum(y.PERINDKIALT) FILTER (WHERE {ok}) AS income_sum,
            count_if({ok}) AS n_income,
            count_if(y.SOCIO13 IS NULL) AS missing_ras,
            count_if(y.SOCIO13 <> 310 AND y.PERINDKIALT IS NULL) AS missing_ind,
            count(*) AS n_15_64
        FROM py y JOIN kom_region k ON k.kom = y.KOM
        WHERE {in_years("y.AAR", years)} AND y.age BETWEEN 15 AND 64
        GROUP BY k.region, y.AAR"""


def duplicates(view: str, years: Iterable[int], limit: int) -> str:
    """PNR x AAR keys held more than once in ``view`` (in ``years``)."""
    return f"""
        SELECT PNR, AAR, count(*) AS n FROM {view} WHERE {in_years("AAR", years)}
        GROUP BY PNR, AAR HAVING count(*) > 1 ORDER BY PNR, AAR LIMIT {int(limit)}"""


def indicators(years: Iterable[int], with_previous: Iterable[int]) -> str:
    """The area_year table: grid of areas x years, shares, moves and pop_* counts.

    ``with_previous`` holds the years t whose t-1 is in bef; moves are NULL otherwise.
    moves_in counts persons in the population in t but not in t-1, except newborns:
    persons born in t-1 or t (age 1 or 0) who are in no bef row of t-1. BEF counts the
    population on 1 January, so a child born during t-1 first appears in t, aged 1; a
    child of that age who was in bef in t-1 (aged 0, in registers dated later in the
    year) and lived elsewhere did move in. moves_out counts persons in the population in
    t-1 but not in t (moved, emigrated or died).
    """
    y = ints(years)

    def has_previous(column: str) -> str:
        return in_years(column, with_previous)

    def share(num: str, den: str, scale: str = "") -> str:
        return f"CASE WHEN s.{den} > 0 THEN {scale}s.{num} / s.{den} END"

    counts = codes.POPULATION_COUNTS
    return f"""
        WITH
        years AS (SELECT UNNEST([{y}]) AS AAR),
        grid AS (
            SELECT a.area, a.kom, k.region, years.AAR
            FROM sel_areas a JOIN kom_region k ON k.kom = a.kom CROSS JOIN years),
        infants_before AS (
            SELECT DISTINCT PNR, AAR + 1 AS AAR FROM v_bef
            WHERE age <= 0 AND {has_previous("AAR + 1")}),
        moved_in AS (
            SELECT p.area, p.AAR, count(*) AS n FROM pop p
            ANTI JOIN pop q ON q.PNR = p.PNR AND q.area = p.area AND q.AAR = p.AAR - 1
            LEFT JOIN infants_before i ON i.PNR = p.PNR AND i.AAR = p.AAR
            WHERE {has_previous("p.AAR")} AND (p.age > 1 OR i.PNR IS NOT NULL)
            GROUP BY p.area, p.AAR),
        moved_out AS (
            SELECT q.area, q.AAR + 1 AS AAR, count(*) AS n FROM pop q
            ANTI JOIN pop p ON p.PNR = q.PNR AND p.area = q.area AND p.AAR = q.AAR + 1
            WHERE {has_previous("q.AAR + 1")}
            GROUP BY q.area, q.AAR)
        SELECT
            g.area AS area_id,
            g.AAR AS year,
            g.kom AS kommune_code,
            coalesce(s.residents, 0) AS residents,
            {share("n_outside", "pop_18_64")} AS outside_work_edu_share,
            {share("n_convicted", "pop_18plus")} AS convicted_share,
            {share("n_basic_edu", "pop_30_59")} AS basic_edu_share,
            CASE WHEN s.pop_15_64 > 0 AND reg.n_income > 0 AND reg.income_sum > 0
                THEN (s.income_sum / s.pop_15_64) / (reg.income_sum / reg.n_income)
            END AS income_rel_region,
            {share("n_nonwestern", "residents")} AS nonwestern_share,
            {share("n_neet", "pop_15_24")} AS neet_share,
            {share("n_youth_edu_20", "pop_age20")} AS youth_edu_20_share,
            {share("n_youth_edu_25", "pop_age25")} AS youth_edu_25_share,
            {share("n_charged", "pop_15_25", "1000.0 * ")} AS youth_charged_per_1000,
            {share("n_placed", "pop_0_17", "1000.0 * ")} AS children_placed_per_1000,
            CASE WHEN {has_previous("g.AAR")} THEN coalesce(mi.n, 0) END AS moves_in,
            CASE WHEN {has_previous("g.AAR")} THEN coalesce(mo.n, 0) END AS moves_out,
            {", ".join(f"coalesce(s.{c}, 0) AS {c}" for c in counts)}
        FROM grid g
        LEFT JOIN stats s ON s.area = g.area AND s.AAR = g.AAR
        LEFT JOIN region_stats reg ON reg.region = g.region AND reg.AAR = g.AAR
        LEFT JOIN moved_in mi ON mi.area = g.area AND mi.AAR = g.AAR
        LEFT JOIN moved_out mo ON mo.area = g.area AND mo.AAR = g.AAR
        ORDER BY area_id, year"""
