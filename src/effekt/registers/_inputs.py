"""Register inputs: their contract, the analyst's column names, DuckDB views and value checks.

The contract of every register (variables, types, code lists, keys) is read from
``data_schemas/register_<name>.schema.json``, so the checks here and
:func:`effekt.validate` on a pandas frame enforce the same rules. The checks run as
SQL aggregates inside DuckDB (one scan per register), so they work as well on
Parquet/CSV files larger than memory as on DataFrames.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from effekt.errors import DataError, ParameterError, invalid_parameter, show_value
from effekt.schemas import load_schema

if TYPE_CHECKING:  # pragma: no cover
    import duckdb

OWNER = "area_indicators"

REGISTER_NAMES = ("bef", "udda", "ras", "ind", "krsi", "kraf", "anbringelser")

# Registers holding status rows (one per person and year); an empty one is an error. The event
# registers (charges, decisions, placements) may legitimately hold no rows.
STATUS_REGISTERS = ("bef", "udda", "ras", "ind")

# Which indicators read a register, for the message when a register is missing.
USED_BY = {
    "bef": "every indicator",
    "udda": "basic_edu_share, neet_share, youth_edu_20_share, youth_edu_25_share",
    "ras": "outside_work_edu_share, income_rel_region, neet_share",
    "ind": "income_rel_region",
    "krsi": "youth_charged_per_1000",
    "kraf": "convicted_share",
    "anbringelser": "children_placed_per_1000",
}

_INTEGER_TYPES = {
    "TINYINT",
    "SMALLINT",
    "INTEGER",
    "BIGINT",
    "HUGEINT",
    "UTINYINT",
    "USMALLINT",
    "UINTEGER",
    "UBIGINT",
    "UHUGEINT",
}
_FLOAT_TYPES = {"FLOAT", "DOUBLE"}
_TEXT_TYPES = {"VARCHAR"}
_CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")
_MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Field:
    """One variable of a register contract."""

    name: str
    type: str
    needed: bool  # the indicators read it, so it must be present
    not_null: bool
    enum: tuple[Any, ...] | None
    minimum: float | None
    maximum: float | None
    pattern: str | None


@cache
def contract(register: str) -> tuple[Field, ...]:
    """The fields of ``register`` as declared in its Table Schema."""
    spec = load_schema(f"register_{register}")
    present = set(spec.get("primaryKey", [])) | set(spec.get("requiredColumns", []))
    fields = []
    for f in spec["fields"]:
        cons = f.get("constraints", {})
        fields.append(
            Field(
                name=f["name"],
                type=f.get("type", "string"),
                needed=f["name"] in present or bool(cons.get("required")),
                not_null=bool(cons.get("required")),
                enum=tuple(cons["enum"]) if "enum" in cons else None,
                minimum=cons.get("minimum"),
                maximum=cons.get("maximum"),
                pattern=cons.get("pattern"),
            )
        )
    return tuple(fields)


def all_variables() -> set[str]:
    return {f.name for reg in REGISTER_NAMES for f in contract(reg)}


def quote(identifier: str) -> str:
    """Quote an SQL identifier."""
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    """Quote an SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# ---------------------------------------------------------------------------
# Column mapping


def parse_columns(
    columns: Mapping[str, Any] | None,
) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """Split ``columns=`` into a mapping for every register and per-register mappings."""
    if columns is None:
        return {}, {}
    expected = (
        "a mapping from contract variable names to your column names, e.g. {'PNR': 'pnr'}, "
        "optionally per register, e.g. {'ras': {'SOCIO13': 'socio'}}"
    )
    if not isinstance(columns, Mapping):
        raise invalid_parameter("columns", OWNER, expected, columns)
    known = all_variables()
    everywhere: dict[str, str] = {}
    per_register: dict[str, dict[str, str]] = {}
    for key, value in columns.items():
        if key in REGISTER_NAMES:
            if not isinstance(value, Mapping):
                raise invalid_parameter(f"columns[{key!r}]", OWNER, expected, value)
            fields = {f.name for f in contract(key)}
            for var, col in value.items():
                if var not in fields:
                    raise invalid_parameter(
                        f"columns[{key!r}]",
                        OWNER,
                        f"keyed by variables of the {key!r} register ({', '.join(sorted(fields))})",
                        var,
                    )
                _check_column_name(f"columns[{key!r}][{var!r}]", col)
            per_register[key] = dict(value)
        elif key in known:
            _check_column_name(f"columns[{key!r}]", value)
            everywhere[key] = value
        else:
            close = get_close_matches(str(key), [*sorted(known), *REGISTER_NAMES], n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise invalid_parameter(
                "columns",
                OWNER,
                "keyed by contract variable names (e.g. 'PNR', 'SOCIO13') or register names "
                f"({', '.join(REGISTER_NAMES)})",
                key,
                hint=hint.strip() or None,
            )
    return everywhere, per_register


def _check_column_name(name: str, value: Any) -> None:
    if not isinstance(value, str) or not value:
        raise invalid_parameter(name, OWNER, "a column name (a non-empty string)", value)


# ---------------------------------------------------------------------------
# Sources


@dataclass
class Source:
    """A register attached to the DuckDB connection as view ``raw_<register>``.

    The view has the contract's variable names and the input's own types.
    """

    register: str
    label: str  # for messages: 'DataFrame' or the path
    columns: dict[str, str]  # contract variable -> the analyst's column name
    types: dict[str, str]  # contract variable -> DuckDB type of the raw column


def _reader(register: str, value: str | os.PathLike[str]) -> tuple[str, str]:
    """Return (DuckDB table function call, kind) for a file path or glob."""
    text = os.fspath(value)
    lower = text.lower()
    if lower.endswith(_PARQUET_SUFFIXES):
        kind = "parquet"
    elif lower.endswith(_CSV_SUFFIXES):
        kind = "csv"
    else:
        raise ParameterError(
            f"registers[{register!r}] names the file {text!r}, whose suffix is neither Parquet "
            f"({', '.join(_PARQUET_SUFFIXES)}) nor CSV ({', '.join(_CSV_SUFFIXES)}). Convert it "
            "(e.g. SAS data with effekt.read_table(...).to_parquet(...)) or pass a DataFrame."
        )
    if not any(ch in text for ch in "*?[") and not Path(text).is_file():
        raise ParameterError(f"registers[{register!r}] names no existing file: {text!r}.")
    return (f"read_{kind}({literal(text)})", kind)


def _available(con: duckdb.DuckDBPyConnection, register: str, value: Any) -> tuple[list[str], Any]:
    """Column names of a source, and what is needed to attach it later."""
    import duckdb

    if isinstance(value, pd.DataFrame):
        return [str(c) for c in value.columns], None
    if isinstance(value, str | os.PathLike):
        call, kind = _reader(register, value)
        try:
            described = con.execute(f"DESCRIBE SELECT * FROM {call}").fetchall()
        except duckdb.Error as err:
            raise DataError(
                f"registers[{register!r}]: DuckDB could not read {os.fspath(value)!r} as {kind} "
                f"({err}). Check that the file is a valid {kind} file."
            ) from None
        return [row[0] for row in described], (call, kind)
    raise invalid_parameter(
        f"registers[{register!r}]",
        OWNER,
        "a pandas DataFrame or the path of a Parquet/CSV file (globs such as 'bef_*.parquet' "
        "are allowed)",
        type(value).__name__,
    )


def _match(
    register: str,
    names: list[str],
    everywhere: dict[str, str],
    per_register: dict[str, dict[str, str]],
) -> tuple[dict[str, str], list[str]]:
    """Find each contract variable's column; return the matches and messages for misses."""
    found: dict[str, str] = {}
    missing: list[str] = []
    explicit = {**everywhere, **per_register.get(register, {})}
    by_fold: dict[str, list[str]] = {}
    for name in names:
        by_fold.setdefault(name.casefold(), []).append(name)
    for field in contract(register):
        wanted = explicit.get(field.name, field.name)
        if wanted in names:
            found[field.name] = wanted
            continue
        # SAS and its exports do not keep the case of names, so match case-insensitively
        candidates = by_fold.get(wanted.casefold(), [])
        if len(candidates) == 1:
            found[field.name] = candidates[0]
            continue
        if not field.needed and field.name not in explicit:
            continue
        if len(candidates) > 1:
            missing.append(
                f"{field.name}: the columns {candidates} differ only in case; map one with "
                f"columns={{{register!r}: {{{field.name!r}: ...}}}}"
            )
            continue
        folded = {n.casefold(): n for n in names}
        close = get_close_matches(wanted.casefold(), list(folded), n=1, cutoff=0.5)
        guess = folded[close[0]] if close else "<your column>"
        how = "mapped to" if field.name in explicit else "looked for"
        missing.append(
            f"{field.name}: {how} column {wanted!r}, not found"
            + (f" (closest: {guess!r})" if close else "")
            + f"; map it with columns={{{register!r}: {{{field.name!r}: {guess!r}}}}}"
        )
    return found, missing


def attach(
    con: duckdb.DuckDBPyConnection,
    registers: Mapping[str, Any],
    columns: Mapping[str, Any] | None,
) -> dict[str, Source]:
    """Attach every register as view ``raw_<name>`` (contract names, raw types)."""
    everywhere, per_register = parse_columns(columns)
    opened: dict[str, tuple[list[str], Any]] = {
        reg: _available(con, reg, registers[reg]) for reg in REGISTER_NAMES
    }
    problems = []
    matches: dict[str, dict[str, str]] = {}
    for reg in REGISTER_NAMES:
        names = opened[reg][0]
        found, missing = _match(reg, names, everywhere, per_register)
        matches[reg] = found
        if missing:
            shown = ", ".join(repr(n) for n in names[:15]) + (", ..." if len(names) > 15 else "")
            problems.append(
                f"  - register {reg!r} (its columns: {shown}):\n      " + "\n      ".join(missing)
            )
    if problems:
        raise DataError(
            "Some registers lack variables the indicators need:\n"
            + "\n".join(problems)
            + "\nNames are matched case-insensitively. A variable named alike in every register "
            "can be mapped once, e.g. columns={'PNR': 'pnr'}."
        )
    sources = {}
    for reg in REGISTER_NAMES:
        value = registers[reg]
        found = matches[reg]
        view = f"raw_{reg}"
        if isinstance(value, pd.DataFrame):
            label = "DataFrame"
            _register_frame(con, view, value, found)
        else:
            call, kind = opened[reg][1]
            label = os.fspath(value)
            if kind == "csv":
                # Identifiers stay text: '0101' must not become the number 101.
                text_cols = [
                    found[f.name] for f in contract(reg) if f.type == "string" and f.name in found
                ]
                csv_types = ", ".join(f"{literal(c)}: 'VARCHAR'" for c in text_cols)
                call = call[:-1] + f", types={{{csv_types}}})"
            select = ", ".join(f"{quote(col)} AS {quote(var)}" for var, col in found.items())
            con.execute(f"CREATE TEMP VIEW {view} AS SELECT {select} FROM {call}")
        described = con.execute(f"DESCRIBE {view}").fetchall()
        types = {row[0]: str(row[1]) for row in described}
        sources[reg] = Source(reg, label, found, types)
    return sources


def _register_frame(
    con: duckdb.DuckDBPyConnection, view: str, frame: pd.DataFrame, found: dict[str, str]
) -> None:
    """Register the needed columns of a DataFrame without copying them.

    Converting to Arrow is zero-copy for numeric columns and for pandas' Arrow-backed
    strings, and DuckDB scans Arrow faster than pandas object columns.
    """
    positions = [list(map(str, frame.columns)).index(col) for col in found.values()]
    subset = frame.iloc[:, positions].set_axis(list(found), axis=1)  # CoW: no data copied
    try:
        import pyarrow as pa

        table: Any = pa.Table.from_pandas(subset, preserve_index=False)
    except (ImportError, ValueError, TypeError):  # pyarrow missing, or mixed object columns
        table = subset
    con.register(view, table)


# ---------------------------------------------------------------------------
# Value checks


@dataclass(frozen=True)
class _Check:
    variable: str
    condition: str  # SQL, true on offending rows
    what: str
    show: str  # SQL expression shown as the offending value


def _numeric(var: str, raw_type: str) -> str:
    return (
        quote(var)
        if raw_type in _INTEGER_TYPES | _FLOAT_TYPES
        else (f"TRY_CAST({quote(var)} AS DOUBLE)")
    )


def _checks(source: Source) -> list[_Check]:
    checks: list[_Check] = []
    for field in contract(source.register):
        if field.name not in source.types:
            continue
        var, raw = field.name, source.types[field.name]
        col = quote(var)
        num = _numeric(var, raw)
        numeric_field = field.type in ("integer", "number")
        if numeric_field and not (
            raw in _INTEGER_TYPES | _FLOAT_TYPES | _TEXT_TYPES or raw.startswith("DECIMAL")
        ):
            checks.append(
                _Check(
                    var,
                    "TRUE",
                    f"must be numeric, but the column has type {raw}",
                    f"CAST({col} AS VARCHAR)",
                )
            )
            continue
        if field.not_null:
            missing = f"{col} IS NULL"
            if raw in _TEXT_TYPES:
                missing = f"({col} IS NULL OR {col} = '')"
            checks.append(_Check(var, missing, "must not be missing", f"CAST({col} AS VARCHAR)"))
        if field.type == "integer" and raw not in _INTEGER_TYPES:
            checks.append(
                _Check(
                    var,
                    f"{col} IS NOT NULL AND ({num} IS NULL OR NOT isfinite({num}) "
                    f"OR {num} <> round({num}))",
                    "must hold whole numbers",
                    f"CAST({col} AS VARCHAR)",
                )
            )
        if field.type == "number" and raw not in _INTEGER_TYPES:
            checks.append(
                _Check(
                    var,
                    f"{col} IS NOT NULL AND ({num} IS NULL OR NOT isfinite({num}))",
                    "must hold finite numbers",
                    f"CAST({col} AS VARCHAR)",
                )
            )
        if field.enum is not None:
            if field.type == "string":
                value = f"CAST({col} AS VARCHAR)"
                codes = ", ".join(literal(str(c)) for c in field.enum)
            else:
                value = num
                codes = ", ".join(str(c) for c in field.enum)
            # A long IN list is tested code by code; a subquery becomes one hash lookup.
            listed_sql = f"SELECT UNNEST([{codes}])" if len(field.enum) > 8 else codes
            cond = f"{value} NOT IN ({listed_sql})"
            listed = (
                f"one of {list(field.enum)}"
                if len(field.enum) <= 25
                else f"one of the {len(field.enum)} codes of the contract"
            )
            checks.append(
                _Check(
                    var,
                    cond,
                    f"hold codes outside the contract's list ({listed})",
                    f"CAST({col} AS VARCHAR)",
                )
            )
        if numeric_field and field.minimum is not None:
            checks.append(
                _Check(
                    var,
                    f"{num} < {field.minimum}",
                    f"must be >= {field.minimum}",
                    f"CAST({col} AS VARCHAR)",
                )
            )
        if numeric_field and field.maximum is not None:
            checks.append(
                _Check(
                    var,
                    f"{num} > {field.maximum}",
                    f"must be <= {field.maximum}",
                    f"CAST({col} AS VARCHAR)",
                )
            )
        if field.pattern is not None and field.type == "string":
            text = f"CAST({col} AS VARCHAR)"
            checks.append(
                _Check(
                    var,
                    f"NULLIF({text}, '') IS NOT NULL AND NOT regexp_full_match({text}, "
                    f"{literal(field.pattern)})",
                    f"must match the pattern {field.pattern!r}",
                    text,
                )
            )
    if source.register == "bef":
        aar, foed = (
            _numeric("AAR", source.types["AAR"]),
            _numeric("FOED_AAR", source.types["FOED_AAR"]),
        )
        checks.append(
            _Check(
                "FOED_AAR",
                f"{foed} > {aar}",
                "have a birth year after AAR (no one in bef is born after the year)",
                "CAST(PNR AS VARCHAR) || ': AAR ' || CAST(AAR AS VARCHAR) "
                "|| ', FOED_AAR ' || CAST(FOED_AAR AS VARCHAR)",
            )
        )
    return checks


def check_values(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> None:
    """Check every register against its contract; raise one DataError listing all problems."""
    problems: list[str] = []
    for reg, source in sources.items():
        checks = _checks(source)
        view = f"raw_{reg}"
        counts_sql = ", ".join(["count(*)", *(f"count_if({c.condition})" for c in checks)])
        n_rows, *counts = con.execute(f"SELECT {counts_sql} FROM {view}").fetchone() or (0,)
        if n_rows == 0 and reg in STATUS_REGISTERS:
            problems.append(f"  - register {reg!r} ({source.label}) is empty")
            continue
        for check, n_bad in zip(checks, counts, strict=True):
            if not n_bad:
                continue
            examples = con.execute(
                f"SELECT {check.show} AS v, count(*) AS n FROM {view} WHERE {check.condition} "
                f"GROUP BY v ORDER BY n DESC, v LIMIT {_MAX_EXAMPLES}"
            ).fetchall()
            shown = ", ".join(f"{v!r} ({n} row{'s' if n > 1 else ''})" for v, n in examples)
            column = source.columns[check.variable]
            yours = f" (your column {column!r})" if column != check.variable else ""
            problems.append(
                f"  - register {reg!r}, {check.variable}{yours}: {n_bad} row(s) {check.what}; "
                f"values: {shown}"
            )
    if problems:
        raise DataError(
            "The registers do not meet the register contract:\n"
            + "\n".join(problems)
            + "\nFix or recode these rows (the contract is in data_schemas/register_<name>"
            ".schema.json, e.g. effekt.load_schema('register_ras'))."
        )


def typed_views(con: duckdb.DuckDBPyConnection, sources: dict[str, Source]) -> None:
    """Create ``v_<register>``: the contract's variables with their contract types.

    PNR keeps an integer type when every register stores it as an integer (faster joins);
    otherwise it becomes text in all registers so that they join.
    """
    pnr_types = {s.types["PNR"] for s in sources.values()}
    pnr_integer = pnr_types <= _INTEGER_TYPES
    for reg, source in sources.items():
        parts = []
        for field in contract(reg):
            if field.name not in source.types:
                continue
            col, raw = quote(field.name), source.types[field.name]
            if field.name in ("PNR", "MOR_PNR", "FAR_PNR"):  # the parents' keys join PNR
                if pnr_integer:
                    expr = f"CAST({col} AS BIGINT)"
                elif raw in _FLOAT_TYPES or raw.startswith("DECIMAL"):
                    expr = f"CAST(CAST({col} AS BIGINT) AS VARCHAR)"
                else:
                    expr = f"CAST({col} AS VARCHAR)"
            elif field.name == "OMRAADE":
                expr = f"NULLIF(TRIM(CAST({col} AS VARCHAR)), '')"
            elif field.type == "integer":
                inner = f"CAST({col} AS DOUBLE)" if raw in _TEXT_TYPES else col
                expr = f"CAST({inner} AS INTEGER)"
            elif field.type == "number":
                expr = f"CAST({col} AS DOUBLE)"
            else:
                expr = f"CAST({col} AS VARCHAR)"
            parts.append(f"{expr} AS {col}")
        if reg == "bef":
            parts.append("CAST(AAR AS INTEGER) - CAST(FOED_AAR AS INTEGER) AS age")
        con.execute(f"CREATE TEMP VIEW v_{reg} AS SELECT {', '.join(parts)} FROM raw_{reg}")


def format_examples(rows: list[tuple[Any, ...]], names: tuple[str, ...]) -> str:
    """Render a few offending rows for a message."""
    return "; ".join(
        ", ".join(f"{n}={show_value(v, 40)}" for n, v in zip(names, row, strict=True))
        for row in rows[:_MAX_EXAMPLES]
    )
