"""area_indicators: person registers to the area_year table, in DuckDB."""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from contextlib import nullcontext
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from effekt.errors import (
    DataError,
    DroppedRowsWarning,
    OptionalDependencyError,
    ParameterError,
    check_choice,
    invalid_parameter,
    missing_column,
)
from effekt.registers import _sql, codes
from effekt.registers._inputs import (
    OWNER,
    REGISTER_NAMES,
    USED_BY,
    attach,
    check_values,
    format_examples,
    typed_views,
)
from effekt.schemas import load_schema

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

RegisterSource = pd.DataFrame | str | os.PathLike[str]


def area_indicators(
    registers: Mapping[str, RegisterSource],
    *,
    areas: Iterable[str] | pd.DataFrame | None = None,
    years: int | Iterable[int] | None = None,
    population: Literal["area", "stayers"] = "area",
    baseline_year: int | None = None,
    columns: Mapping[str, str | Mapping[str, str]] | None = None,
    threads: int | None = None,
    memory_limit: str = "50%",
    temp_directory: str | os.PathLike[str] | None = None,
) -> pd.DataFrame:
    """Aggregate person-level registers to area-year indicators (the ``area_year`` table).

    Reads the seven registers of the register contract (``bef``, ``udda``, ``ras``,
    ``ind``, ``krsi``, ``kraf``, ``anbringelser``; see
    ``data_schemas/register_<name>.schema.json``), checks them, and computes every
    ``area_year`` indicator with the person counts (``pop_*``) each share rests on, in
    DuckDB. Only area-year rows come back to Python.

    Definitions (the register contract's): for area *a* and year *t* the population is
    the ``bef`` rows with ``OMRAADE == a`` and ``AAR == t``; age is ``AAR - FOED_AAR``.

    ================================ ==========================================================
    indicator                        definition (denominator in brackets)
    ================================ ==========================================================
    ``outside_work_edu_share``       SOCIO13 in {210, 330, 410} [18-64]; head-count approximation
                                     of the official full-time measure; sickness/leave (220),
                                     disability pension (321), efterløn (323) and students
                                     (310) are not outside
    ``convicted_share``              >= 1 ``kraf`` row in t with AFGOERELSE 'dom' and KATEGORI
                                     in {straffelov, vaabenlov, euf} [18+]
    ``basic_edu_share``              HFAUDD_NIVEAU == 10 (basic or unknown) [30-59]
    ``income_rel_region``            mean PERINDKIALT of the area's 15-64-year-olds, students
                                     (SOCIO13 310) excluded [``pop_15_64``], divided by the same
                                     mean over everyone in ``bef`` in the area's region (from
                                     KOM), inside and outside the study areas
    ``nonwestern_share``             HERKOMST == 3 [residents]
    ``neet_share``                   SOCIO13 not 110-139, not 310, and UDD_IGANG == 0 [15-24]
    ``youth_edu_20_share``           HFAUDD_NIVEAU >= 20 or UDD_IGANG in {20, 30} [age 20]
    ``youth_edu_25_share``           HFAUDD_NIVEAU >= 20 [age 25]
    ``youth_charged_per_1000``       >= 1 ``krsi`` row in t, KATEGORI not 'faerdsel' [15-25]
    ``children_placed_per_1000``     an ``anbringelser`` row in t [0-17]
    ``moves_in``                     in the population in t, not in t-1; persons absent from
                                     ``bef`` in t-1 count, newborns (born in t-1 or t, i.e.
                                     ``FOED_AAR >= AAR - 1``, and in no ``bef`` row of t-1)
                                     do not
    ``moves_out``                    in the population in t-1, not in t (moved, emigrated or
                                     died)
    ================================ ==========================================================

    A share whose denominator is 0 is missing (NA), and so are the moves of a year whose
    previous year is not in ``bef``. A person-year without a row in a status register
    (``udda``, ``ras``, ``ind``) is left out of the numerators *and* denominators that need
    that register, with a :class:`~effekt.DroppedRowsWarning`; with complete registers the
    ``pop_*`` columns are the plain age-band counts.

    Parameters
    ----------
    registers : mapping of str to DataFrame or path
        The seven registers by name. Each is a pandas DataFrame (registered with DuckDB
        zero-copy through Arrow, never copied or modified) or the path of a Parquet or
        CSV file, or a glob such as ``"bef_*.parquet"`` (scanned by DuckDB without
        loading into pandas, so the data may exceed memory). Further variables in the
        registers are ignored.
    areas : sequence of str or DataFrame, optional
        The housing areas to report (``OMRAADE`` codes, or an ``areas`` table's
        ``area_id`` column). Default: every area in ``bef`` in ``years`` (for
        ``population="stayers"``: in ``baseline_year``). Every area gets a row in every
        year, with ``residents`` 0 where nobody lives there.
    years : int or sequence of int, optional
        Years to report; default every year in ``bef``. Moves of the first year use the
        year before it when ``bef`` holds it.
    population : {"area", "stayers"}, default "area"
        ``"area"``: everyone registered in the area in year *t*. ``"stayers"``: the fixed
        baseline cohort, everyone registered in the area in ``baseline_year`` who is
        registered in the same area in year *t* (in any year, before or after the
        baseline; the years in between are not inspected, so a person who leaves and
        returns counts again after the return). The regional income benchmark stays the
        whole region. ``moves_in``/``moves_out`` then count persons entering and leaving
        the cohort's presence in the area (returners and attrition).
    baseline_year : int, optional
        The year defining the stayer cohort; required for ``population="stayers"`` and
        not allowed otherwise.
    columns : mapping, optional
        Your variable names, as ``{contract name: your name}`` for every register
        (e.g. ``{"PNR": "pnr", "AAR": "aar"}``) and/or per register
        (``{"ras": {"SOCIO13": "socio13_nov"}}``; it wins over the general mapping).
        Names are matched case-insensitively, as in SAS.
    threads : int, optional
        DuckDB worker threads; default all cores.
    memory_limit : str, default "50%"
        DuckDB's memory cap, e.g. ``"8GB"`` or a share of physical memory such as
        ``"50%"``. Beyond it DuckDB spills to ``temp_directory``. Half of memory leaves
        room for the pandas frames passed in, which DuckDB reads in place.
    temp_directory : str or path, optional
        Where DuckDB spills; default a fresh temporary directory removed afterwards.

    Returns
    -------
    pandas.DataFrame
        One row per area and year, sorted, with exactly the columns of the
        ``area_year`` schema (it passes ``effekt.validate(df, "area_year")``): shares as
        float (NaN when missing), counts as int64, moves as nullable Int64.

    Raises
    ------
    OptionalDependencyError
        If DuckDB is not installed (``pip install 'effekt[registers]'``).
    ParameterError
        Invalid arguments: unknown register or contract names, a missing or superfluous
        ``baseline_year``, a file that does not exist, settings DuckDB rejects.
    DataError
        A register or variable is missing (the message shows the ``columns=`` mapping to
        use); values break the contract (codes outside the code lists, missing or
        fractional values, birth after the year), with the offending values; a status
        register is empty; a PNR x AAR key occurs twice in ``bef``, ``udda``, ``ras`` or
        ``ind`` among the person-years used (the years needed; ages 15-64 and area
        residents); an area spans several kommuner; ``areas``, ``years`` or
        ``baseline_year`` are not in ``bef``.

    Warns
    -----
    DroppedRowsWarning
        When person-years of the ages concerned have no row in ``udda``, ``ras`` or
        ``ind`` (they are left out of the indicators needing that register).

    See Also
    --------
    effekt.validate : check the result (``"area_year"``) or a register frame
        (``"register_bef"``, ...).

    Notes
    -----
    Age as ``AAR - FOED_AAR`` is the age reached during the year, not the exact age on
    1 January (a documented simplification of the contract). ``bef`` is a status register
    counted on 1 January (as the official lists count residents), so a child born during
    year t-1 first appears in t, aged 1, and nobody is aged 0; the newborn exception of
    ``moves_in`` therefore covers ages 0 and 1 and checks that the child was in no ``bef``
    row of t-1, so that registers dated later in the year (with children aged 0) give the
    same moves.

    Examples
    --------
    >>> import pandas as pd
    >>> from effekt.registers import area_indicators
    >>> bef = pd.DataFrame({"PNR": ["p1", "p2", "p3"], "AAR": 2020, "KOM": 461,
    ...                     "OMRAADE": ["a1", "a1", None], "FOED_AAR": [1980, 2012, 1990],
    ...                     "KOEN": [1, 2, 2], "HERKOMST": [3, 3, 1]})
    >>> udda = bef[["PNR", "AAR"]].assign(HFAUDD_NIVEAU=[10, 10, 50], UDD_IGANG=0)
    >>> adults = bef.loc[[0, 2], ["PNR", "AAR"]]
    >>> ras = adults.assign(SOCIO13=[330, 131])
    >>> ind = adults.assign(PERINDKIALT=[100_000.0, 300_000.0])
    >>> krsi = pd.DataFrame({"PNR": ["p1"], "AAR": [2019], "KATEGORI": ["straffelov"]})
    >>> kraf = krsi.assign(AFGOERELSE="dom")
    >>> placed = pd.DataFrame({"PNR": ["p2"], "AAR": [2020]})
    >>> out = area_indicators({"bef": bef, "udda": udda, "ras": ras, "ind": ind,
    ...                        "krsi": krsi, "kraf": kraf, "anbringelser": placed})
    >>> row = out.iloc[0]
    >>> row["area_id"], int(row["residents"]), float(row["outside_work_edu_share"])
    ('a1', 2, 1.0)
    >>> float(row["income_rel_region"])  # 100,000 / mean(100,000, 300,000)
    0.5
    >>> float(row["children_placed_per_1000"]), int(row["pop_0_17"])
    (1000.0, 1)
    """
    check_choice("population", OWNER, population, ("area", "stayers"))
    if population == "stayers" and baseline_year is None:
        raise invalid_parameter(
            "baseline_year",
            OWNER,
            "a year when population='stayers'",
            baseline_year,
            hint="The stayer cohort is everyone in the area in that year, e.g. baseline_year=2015.",
        )
    if population == "area" and baseline_year is not None:
        raise invalid_parameter(
            "baseline_year",
            OWNER,
            "None when population='area'",
            baseline_year,
            hint="A baseline only defines stayers; pass population='stayers' to use it.",
        )
    if baseline_year is not None and not _is_int(baseline_year):
        raise invalid_parameter("baseline_year", OWNER, "an integer year", baseline_year)
    year_list = _year_list(years)
    area_list = _area_list(areas)
    if threads is not None and (not _is_int(threads) or threads < 1):
        raise invalid_parameter("threads", OWNER, "a positive integer or None", threads)
    if not isinstance(memory_limit, str) or not memory_limit.strip():
        raise invalid_parameter(
            "memory_limit", OWNER, "a size such as '8GB' or '50%'", memory_limit
        )
    named = _register_map(registers)
    duckdb = _import_duckdb()

    spill = (
        tempfile.TemporaryDirectory(prefix="effekt-duckdb-")
        if temp_directory is None
        else nullcontext(os.fspath(temp_directory))
    )
    with spill as spill_dir:
        con = _connect(duckdb, threads, memory_limit, str(spill_dir))
        try:
            return _compute(con, named, columns, area_list, year_list, population, baseline_year)
        except duckdb.OutOfMemoryException as err:
            err.add_note(
                f"effekt: DuckDB ran out of memory under memory_limit={memory_limit!r}. "
                "Pass the registers as Parquet paths instead of DataFrames (DuckDB then "
                "streams them), raise memory_limit, or lower threads."
            )
            raise
        finally:
            con.close()


def _connect(duckdb: Any, threads: int | None, memory_limit: str, spill_dir: str) -> Any:
    """An in-memory DuckDB connection with the pipeline's settings, or a ParameterError."""
    config: dict[str, Any] = {
        "memory_limit": memory_limit,
        "temp_directory": spill_dir,
        # Row order is restored by ORDER BY; not keeping insertion order saves memory.
        "preserve_insertion_order": False,
    }
    if threads is not None:
        config["threads"] = int(threads)
    try:
        return duckdb.connect(":memory:", config=config)
    except duckdb.Error as err:
        raise ParameterError(
            f"DuckDB rejected the settings threads={threads!r}, memory_limit="
            f"{memory_limit!r}, temp_directory={spill_dir!r}: {err}"
        ) from None


# ---------------------------------------------------------------------------
# Arguments


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def _year_list(years: Any) -> list[int] | None:
    if years is None:
        return None
    values = [years] if _is_int(years) else years
    expected = "an integer year or a non-empty sequence of integer years"
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise invalid_parameter("years", OWNER, expected, years)
    values = list(values)
    if not values or not all(_is_int(v) for v in values):
        raise invalid_parameter("years", OWNER, expected, years)
    return sorted({int(v) for v in values})


def _area_list(areas: Any) -> list[str] | None:
    if areas is None:
        return None
    if isinstance(areas, pd.DataFrame):
        if "area_id" not in areas.columns:
            raise missing_column("areas", OWNER, "area_id", list(areas.columns))
        areas = areas["area_id"]
    values = [areas] if isinstance(areas, str) else areas
    if not isinstance(values, Iterable):
        raise invalid_parameter("areas", OWNER, "a sequence of area ids or an areas table", areas)
    ids = [str(v) for v in values if not pd.isna(v)]
    if not ids:
        raise invalid_parameter("areas", OWNER, "a non-empty sequence of area ids", areas)
    return sorted(set(ids))


def _register_map(registers: Any) -> dict[str, Any]:
    if not isinstance(registers, Mapping):
        raise invalid_parameter(
            "registers",
            OWNER,
            f"a mapping from register names ({', '.join(REGISTER_NAMES)}) to DataFrames or "
            "file paths",
            type(registers).__name__,
        )
    named: dict[str, Any] = {}
    for key, value in registers.items():
        name = str(key).lower()
        if name not in REGISTER_NAMES:
            close = get_close_matches(name, REGISTER_NAMES, n=1)
            raise invalid_parameter(
                "registers",
                OWNER,
                f"keyed by the register names {', '.join(REGISTER_NAMES)}",
                key,
                hint=f"Did you mean {close[0]!r}?" if close else None,
            )
        if name in named:
            raise invalid_parameter("registers", OWNER, "free of duplicate register names", key)
        named[name] = value
    absent = [r for r in REGISTER_NAMES if r not in named]
    if absent:
        lines = "\n".join(f"  - {r!r} (needed for {USED_BY[r]})" for r in absent)
        raise DataError(
            f"The registers argument lacks {len(absent)} register(s):\n{lines}\n"
            "Pass every register of the contract, e.g. registers={'bef': bef, 'udda': udda, "
            "'ras': ras, 'ind': ind, 'krsi': krsi, 'kraf': kraf, 'anbringelser': anb}; an "
            "event register without events may be an empty table with its columns."
        )
    return named


def _import_duckdb() -> Any:
    try:
        import duckdb
    except ImportError:
        raise OptionalDependencyError(
            "effekt.registers computes the indicators in DuckDB, which is not installed. "
            "Install it with pip install 'effekt[registers]'."
        ) from None
    return duckdb


# ---------------------------------------------------------------------------
# Computation


def _scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    return None if row is None else row[0]


def _compute(
    con: duckdb.DuckDBPyConnection,
    registers: dict[str, Any],
    columns: Mapping[str, Any] | None,
    area_list: list[str] | None,
    year_list: list[int] | None,
    population: str,
    baseline_year: int | None,
) -> pd.DataFrame:
    sources = attach(con, registers, columns)
    check_values(con, sources)
    typed_views(con, sources)

    bef_years = [
        int(r[0]) for r in con.execute("SELECT DISTINCT AAR FROM v_bef ORDER BY 1").fetchall()
    ]
    years = year_list if year_list is not None else bef_years
    absent = [y for y in years if y not in bef_years]
    if absent:
        raise DataError(
            f"The years {absent} are not in bef, which holds {_span(bef_years)}. "
            "Pass years within bef's years (the 'years' argument)."
        )
    if baseline_year is not None and baseline_year not in bef_years:
        raise DataError(
            f"The baseline_year {baseline_year} is not in bef, which holds {_span(bef_years)}."
        )
    with_previous = [y for y in years if y - 1 in bef_years]
    need = sorted(set(years) | {y - 1 for y in with_previous})
    scanned = sorted(set(need) | ({baseline_year} if baseline_year is not None else set()))

    _register_regions(con)
    _select_areas(con, area_list, years, scanned, population, baseline_year)

    con.execute("CREATE TEMP TABLE py AS " + _sql.person_years(scanned))
    # More rows in py than in the bef rows behind it means duplicates in ras or ind; then
    # duplicates in py are duplicates in bef (among the rows used: ages 15-64 and areas).
    if _scalar(con, "SELECT count(*) FROM py") != _scalar(con, _sql.bef_rows(scanned)):
        _raise_register_duplicates(con, ("ras", "ind"), scanned)
    dups = con.execute(_sql.duplicates("py", scanned, 6)).fetchall()
    if dups:
        raise DataError(
            "bef must hold one row per person and year, but some PNR x AAR occur more than "
            f"once (first: {format_examples(dups, ('PNR', 'AAR', 'rows'))}). Remove the "
            "duplicates (e.g. keep one address per person on 1 January)."
        )
    con.execute("CREATE TEMP TABLE pop AS " + _sql.population(population, baseline_year or 0))
    con.execute("CREATE TEMP TABLE stats AS " + _sql.area_stats(years))
    n_pop = _scalar(con, f"SELECT count(*) FROM pop WHERE {_sql.in_years('AAR', years)}")
    if _scalar(con, "SELECT coalesce(sum(residents), 0) FROM stats") != n_pop:
        _raise_register_duplicates(con, ("udda",), years)
    con.execute("CREATE TEMP TABLE region_stats AS " + _sql.region_income(years))
    _warn_incomplete(con, years)
    result = con.execute(_sql.indicators(years, with_previous)).df()
    return _finish(result)


def _register_regions(con: duckdb.DuckDBPyConnection) -> None:
    """Register the kommune -> region table (``kom_region``) of the 98 kommuner."""
    from effekt.datasets import load_dataset

    kommuner = load_dataset("dk_kommuner")
    frame = pd.DataFrame(
        {"kom": kommuner["kommune_code"].to_numpy(), "region": kommuner["region_code"].to_numpy()}
    )
    con.register("kom_region", frame)


def _select_areas(
    con: duckdb.DuckDBPyConnection,
    area_list: list[str] | None,
    years: list[int],
    scanned: list[int],
    population: str,
    baseline_year: int | None,
) -> None:
    """Check the areas and register the reported ones with their kommune (``sel_areas``)."""
    catalogue = con.execute(_sql.area_catalogue(scanned)).fetchall()
    split = [row for row in catalogue if row[3] > 1]
    if split:
        shown = "; ".join(f"{r[0]!r}: KOM {r[1]}..{r[2]}" for r in split[:5])
        raise DataError(
            f"An area must lie in one kommune, but {len(split)} area(s) have several KOM "
            f"codes in bef ({shown}). Fix KOM or OMRAADE of those rows."
        )
    wanted_years = set(years) if population == "area" else {baseline_year}
    kom = {r[0]: int(r[1]) for r in catalogue}
    if area_list is None:
        chosen = sorted(r[0] for r in catalogue if wanted_years & set(r[4]))
        if not chosen:
            where = (
                f"the years {_span(years)}"
                if population == "area"
                else (f"the baseline year {baseline_year}")
            )
            raise DataError(f"bef has no person with an OMRAADE (housing area) in {where}.")
    else:
        unknown = [a for a in area_list if a not in kom]
        if unknown:
            close = get_close_matches(unknown[0], list(kom), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise DataError(
                f"The areas {unknown[:10]} do not occur in bef's OMRAADE in the years used "
                f"({_span(scanned)}).{hint} Check the 'areas' argument against the OMRAADE "
                "coding."
            )
        chosen = area_list
    con.register("sel_areas", pd.DataFrame({"area": chosen, "kom": [kom[a] for a in chosen]}))


def _span(years: list[int]) -> str:
    if not years:
        return "no years"
    if years == list(range(years[0], years[-1] + 1)):
        return f"{years[0]}-{years[-1]}" if len(years) > 1 else str(years[0])
    return str(years)


def _raise_register_duplicates(
    con: duckdb.DuckDBPyConnection, registers: tuple[str, ...], years: list[int]
) -> None:
    lines = []
    for reg in registers:
        rows = con.execute(_sql.duplicates(f"v_{reg}", years, 6)).fetchall()
        if rows:
            lines.append(f"  - {reg}: {format_examples(rows, ('PNR', 'AAR', 'rows'))}")
    raise DataError(
        "The status registers must hold at most one row per person and year, but some "
        "PNR x AAR occur more than once (first rows):\n"
        + "\n".join(lines)
        + "\nRemove the duplicates, e.g. keep the status valid on 1 January."
    )


def _warn_incomplete(con: duckdb.DuckDBPyConnection, years: list[int]) -> None:
    row = con.execute(
        "SELECT coalesce(sum(missing_ras), 0), coalesce(sum(missing_ind), 0), "
        "coalesce(sum(n_15_64), 0) FROM region_stats"
    ).fetchone()
    missing_ras, missing_ind, n_15_64 = row if row is not None else (0, 0, 0)
    missing_udda = _scalar(con, "SELECT coalesce(sum(missing_udda), 0) FROM stats")
    span = _span(years)
    notes = []
    if missing_ras:
        notes.append(
            f"ras has no row for {missing_ras:,} of the {n_15_64:,} person-years aged 15-64 in "
            f"bef ({span}); they are left out of outside_work_edu_share, neet_share and "
            "income_rel_region (regional benchmark included) and of pop_18_64, pop_15_24 "
            "and pop_15_64"
        )
    if missing_ind:
        notes.append(
            f"ind has no row for {missing_ind:,} person-years aged 15-64 (students excluded) "
            f"in bef ({span}); they are left out of income_rel_region (regional benchmark "
            "included) and of pop_15_64"
        )
    if missing_udda:
        notes.append(
            f"udda has no row for {missing_udda:,} person-years aged 15-59 in the areas "
            f"({span}); they are left out of basic_edu_share, neet_share, youth_edu_20_share, "
            "youth_edu_25_share and of the pop_* counts those rest on"
        )
    if notes:
        warnings.warn(
            "Incomplete registers: " + "; ".join(notes) + ". Check the PNR/AAR coding of "
            "these registers, or accept the smaller denominators.",
            DroppedRowsWarning,
            stacklevel=4,
        )


def _finish(result: pd.DataFrame) -> pd.DataFrame:
    """Give the columns the area_year schema's order and effekt's dtypes."""
    order = [f["name"] for f in load_schema("area_year")["fields"]]
    out = result.loc[:, order]
    integer = ["year", "kommune_code", "residents", *[c for c in order if c.startswith("pop_")]]
    out = out.astype(
        {
            "area_id": "str",
            **dict.fromkeys(integer, "int64"),
            "moves_in": "Int64",
            "moves_out": "Int64",
            **dict.fromkeys(codes.SHARE_INDICATORS, "float64"),
        }
    )
    return out.reset_index(drop=True)
